/**
 * pilotlight's components, for use from another Pulumi program: `import { RestoreMachine, Alerts }
 * from "pilotlight"`. Importing this module creates nothing and reads no stack config; the program
 * in index.ts is one composition of these components, and yours can be another.
 *
 * The components bundle their Lambda handlers with esbuild when they are constructed, from the
 * package's own `functions/` folder: `esbuild` is a runtime dependency for that reason.
 */
export { Alerts, type AlertsArgs } from "./alerts";
export { AppTier, type AppTierArgs } from "./appTier";
export { AuroraFailoverRecovery, type AuroraFailoverRecoveryArgs } from "./auroraFailover";
export { AutomatedBackupsReplication, type AutomatedBackupsReplicationArgs, type BackupDatabaseArgs, BackupSchedule, type BackupScheduleArgs } from "./backupSchedule";
export { SnapshotCopy, type SnapshotCopyArgs, type SnapshotCopySourceArgs, type SnapshotCopyTargetArgs } from "./copyMachine";
export { Database, type DatabaseArgs, type DatabaseSource } from "./database";
export { Failback, type FailbackArgs, type FailbackSourceArgs, type FailbackTargetArgs } from "./failback";
export { FailoverDns, type FailoverDnsArgs } from "./failoverDns";
export { type PolicyDocument, type PolicyStatement } from "./iam";
export { BundledFunction, type BundledFunctionArgs, type LambdaVpcConfig } from "./lambdaFunction";
export { Network, type NetworkArgs } from "./network";
export { Readiness, type ReadinessArgs, type ReadinessDatabase, type ReadinessMachine, type ReadinessReplication } from "./readiness";
export { ReplicatedBucket, type ReplicatedBucketArgs, type ReplicationTarget, peerBucketTarget } from "./replicatedBucket";
export { type RestoreDatabase, RestoreMachine, type RestoreMachineArgs, type RestoreSchedule } from "./restoreMachine";
export { RestoreTest, type RestoreTestArgs } from "./restoreTest";
export { SharedKey, type SharedKeyArgs } from "./sharedKey";
export { LambdaStateMachine, type LambdaStateMachineArgs } from "./stateMachine";
export * as naming from "./naming";
