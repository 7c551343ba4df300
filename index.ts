// pilotlight: one program, one stack per region/account. This file composes the
// components for the stack's role (see Pulumi.<stack>.yaml) and exports what the
// peer stack and the operators need.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isAuroraEngine, isSameAccount, loadConfig, workloadIdentifier } from "./config";
import { AppTier } from "./components/appTier";
import { Database, enhancedMonitoringRole, restoreSource } from "./components/database";
import { FailoverDns } from "./components/failoverDns";
import {
    accountRoot,
    databaseIdentifier as workloadDatabaseIdentifier,
    dnsFailoverRoleName,
    drKeyAlias,
    failbackReplicationRoleName,
    jobName,
    stateMachineArn,
    mediaBucketName,
    NameScope,
    replicationRoleName,
    roleArn,
    sharedKeyAlias,
} from "./components/naming";
import { Alerts, parseWebhookList } from "./components/alerts";
import { AuroraFailoverRecovery } from "./components/auroraFailover";
import { AutomatedBackupsReplication, BackupSchedule } from "./components/backupSchedule";
import { SnapshotCopy } from "./components/copyMachine";
import { Failback } from "./components/failback";
import { Network } from "./components/network";
import { RestoreMachine } from "./components/restoreMachine";
import { peerBucketTarget, ReplicatedBucket } from "./components/replicatedBucket";
import { SharedKey } from "./components/sharedKey";
import { defaultRpoMinutes, Readiness, ReadinessMachine } from "./components/readiness";
import { RestoreTest } from "./components/restoreTest";
import { RecoveryTarget } from "./functions/lib/readiness";
import { FAILBACK_SOURCE_JOB } from "./functions/lib/failback";
import { registerProtection } from "./components/protection";

// First, before any resource: keys, buckets, databases and data-holding secrets get Pulumi's
// `protect` (and `retainOnDelete` where the data must outlive the stack); docs/teardown.md.
registerProtection();

const cfg = loadConfig();
const primary = cfg.role === "primary";
const tags: Record<string, string> = { ...cfg.tags, "pilotlight:stack": cfg.stack, "pilotlight:role": cfg.role };
const own: NameScope = { prefix: cfg.namePrefix, accountId: cfg.accountId, region: cfg.region };
const peer: NameScope = { prefix: cfg.namePrefix, accountId: cfg.peer.accountId, region: cfg.peer.region };

// What `failover: true` adds on dr is regional only (RDS, EC2, ElastiCache, NAT, Lambda, Step
// Functions, its own bucket's configuration): every IAM role, instance profile, service-linked role,
// Route 53 record and health check the failed-over stack uses exists in the pilot light, so a
// failover needs neither a global control plane nor the primary region (tests/failoverStatic.test.ts).

// The primary's machines copy into the peer region; alerts reach SES and Slack. No VPC endpoint serves these.
const lambdasReachOutside = primary || cfg.alerts.emailRecipients.length > 0 || new pulumi.Config().getSecret("slackWebhookUrls") !== undefined;
// NAT: on the primary, and on dr only while failed over (additive either way), for the app tier and
// for in-VPC Lambdas that reach outside; nothing else of the program's needs it. An existing VPC
// (pilotlight:network.existing) keeps its own routes: the program adds security groups and subnet groups only.
const network = new Network("network", {
    existing: cfg.network.existing,
    vpcCidr: cfg.network.vpcCidr,
    availabilityZones: cfg.network.availabilityZones,
    nat: !cfg.network.existing && (primary || cfg.failover) && (cfg.app.enabled || (cfg.network.lambdasInVpc && lambdasReachOutside)),
    natGateways: cfg.network.natGateways,
    databasePort: cfg.database.port,
    databaseClients: cfg.network.databaseClients,
    appTier: cfg.app.enabled,
    appPort: cfg.network.appPort,
    lambdasInVpc: cfg.network.lambdasInVpc,
    lambdasReachOutside,
    region: cfg.region,
    namePrefix: cfg.namePrefix,
    tags,
});

// The peer's role that replicates media into this stack's bucket: into dr's, the primary's
// replication role; into the primary's, dr's failback role (admitted always, so either stack
// may be deployed first and failing over changes nothing on the primary).
const peerReplicationRoleArn = roleArn(peer.accountId, primary ? failbackReplicationRoleName(peer) : replicationRoleName(peer), cfg.region);

// The primary also manages resources in the DR region of its own account (the key replica).
const drRegion = primary
    ? new aws.Provider("dr-region", { region: cfg.peer.region as aws.Region, stsRegion: cfg.peer.region, allowedAccountIds: [cfg.accountId] })
    : undefined;

// Service-linked roles the serving half needs, made before any disaster (IAM is a global control
// plane; RDS, ElastiCache and Auto Scaling would otherwise create theirs during the failover). One
// per account: those already there are left out of pilotlight:serviceLinkedRoles. Kept on delete:
// other workloads of the account use them.
const serviceLinkedRoles = cfg.serviceLinkedRoles.map(
    (service) => new aws.iam.ServiceLinkedRole(`slr-${service.split(".")[0]}`, { awsServiceName: service }, { retainOnDelete: true }),
);

const key = primary
    ? new SharedKey("shared", {
          role: "primary",
          alias: sharedKeyAlias(cfg.namePrefix),
          accountId: cfg.accountId,
          region: cfg.region,
          peerAccountId: cfg.peer.accountId,
          peerRegion: cfg.peer.region,
          replicaProvider: drRegion,
          // Image backups are copied under the replica and shared with a dr account (BackupSchedule below).
          imagesSharedWithPeer: !!cfg.backups?.images && !isSameAccount(cfg),
          replicationRoleArn: peerReplicationRoleArn,
          tags,
      })
    : new SharedKey("dr", {
          role: "dr",
          alias: drKeyAlias(cfg.namePrefix),
          accountId: cfg.accountId,
          region: cfg.region,
          peerAccountId: cfg.peer.accountId,
          peerRegion: cfg.peer.region,
          replicationRoleArn: peerReplicationRoleArn,
          tags,
      });

// Media: the primary replicates to dr's replica bucket; dr, only while failed over, replicates
// what the DR app writes back to the primary's bucket under the shared key (two-way replication),
// unless `media.replicateBack` is false (a drill, which must not write into prod). dr's failback
// role exists always; the switch turns only the bucket's replication configuration on.
const media = new ReplicatedBucket("media", {
    role: cfg.role,
    bucketName: mediaBucketName(own),
    accountId: cfg.accountId,
    region: cfg.region,
    kmsKeyArn: key.keyArn,
    replicateTo: primary ? peerBucketTarget(peer, drKeyAlias(cfg.namePrefix), "DrKey") : peerBucketTarget(peer, sharedKeyAlias(cfg.namePrefix), "SharedKey"),
    replicationEnabled: primary || (cfg.failover && cfg.media.replicateBack),
    replicationRoleName: primary ? replicationRoleName(own) : failbackReplicationRoleName(own),
    replicationTimeControl: cfg.media.replicationTimeControl,
    peerReplicationRoleArn,
    peerAccountRoot: accountRoot(peer.accountId, cfg.region),
    noncurrentVersionDays: cfg.media.noncurrentVersionDays,
    tags,
});

// The serving half: always on the primary; on dr only with `failover: true`, where it is
// purely additive (nothing above depends on it, so switching never touches the pilot light).
const serving = primary || cfg.failover;
// dr: the Enhanced Monitoring role is IAM, so the pilot light keeps it ready.
const monitoringRole =
    !primary && cfg.database.monitoringIntervalSeconds > 0 ? enhancedMonitoringRole("database-monitoring", cfg.accountId, cfg.region, tags) : undefined;
// An existing primary database (pilotlight:database.existing) is protected, never created or changed here.
const workload = workloadIdentifier(cfg);
const database =
    serving && !(primary && cfg.database.existing)
        ? new Database("database", {
              identifier: workloadDatabaseIdentifier(cfg.namePrefix),
              engine: cfg.database.engine,
              engineVersion: cfg.database.engineVersion,
              port: cfg.database.port,
              instanceClass: cfg.database.instanceClass,
              readerClass: cfg.database.readerClass,
              instanceCount: cfg.database.instanceCount,
              allocatedStorage: cfg.database.allocatedStorage,
              maxAllocatedStorage: cfg.database.maxAllocatedStorage,
              multiAz: cfg.database.multiAz,
              backupRetentionDays: cfg.database.backupRetentionDays,
              backupWindow: cfg.database.backupWindow,
              maintenanceWindow: cfg.database.maintenanceWindow,
              performanceInsights: cfg.database.performanceInsights,
              monitoringIntervalSeconds: cfg.database.monitoringIntervalSeconds,
              monitoringRoleArn: monitoringRole?.arn,
              databaseName: cfg.database.name,
              masterUsername: cfg.database.masterUsername,
              deletionProtection: cfg.database.deletionProtection,
              kmsKeyArn: key.keyArn,
              subnetGroupName: network.dbSubnetGroup.name,
              securityGroupIds: [network.dbSecurityGroup.id],
              // Config validation guarantees a failoverDatabase section on a failed-over dr stack.
              // Two accounts: `latestCopy` restores the newest snapshot the primary's account shared with this one.
              source: primary ? { kind: "new" } : restoreSource(cfg.failoverDatabase!, cfg.peer.accountId !== cfg.accountId ? cfg.peer.accountId : undefined),
              accountId: cfg.accountId,
              region: cfg.region,
              tags,
          })
        : undefined;

// The app tier exists on both stacks unless pilotlight:app.enabled is false: on the dr pilot light
// it is the load balancer the SECONDARY record points at (no targets), the instance role and
// profile, the Redis AUTH secret and the volume key grant; serving adds Redis, the launch template
// and the Auto Scaling group.
const app = cfg.app.enabled
    ? new AppTier("app", {
          namePrefix: cfg.namePrefix,
          serving: !!database,
          vpcId: network.vpcId,
          publicSubnetIds: network.publicSubnetIds,
          appSubnetIds: network.appSubnetIds,
          // The network makes these whenever the app tier is on.
          lbSecurityGroupId: network.lbSecurityGroup!.id,
          appSecurityGroupId: network.appSecurityGroup!.id,
          cacheSecurityGroupId: network.dbSecurityGroup.id,
          cacheSubnetGroupName: network.cacheSubnetGroup!.name,
          egress: network.natRoutes,
          appPort: cfg.network.appPort,
          instanceType: cfg.app.instanceType,
          amiId: cfg.app.amiId,
          minSize: cfg.app.minSize,
          maxSize: cfg.app.maxSize,
          desiredCapacity: cfg.app.desiredCapacity,
          healthCheckPath: cfg.app.healthCheckPath,
          certificateArn: cfg.app.certificateArn,
          volumeSizeGb: cfg.app.volumeSizeGb,
          redisNodeType: cfg.app.redisNodeType,
          redisNodes: cfg.app.redisNodes,
          redisEngineVersion: cfg.app.redisEngineVersion,
          redis: cfg.app.redis,
          kmsKeyArn: key.keyArn,
          mediaBucketName: mediaBucketName(own),
          database: database
              ? {
                    engine: cfg.database.engine,
                    endpoint: database.endpoint,
                    port: database.port,
                    name: cfg.database.name,
                    secretArn: database.masterUserSecretArn,
                }
              : undefined,
          grantDependsOn: serviceLinkedRoles.filter((_, i) => cfg.serviceLinkedRoles[i] === "autoscaling.amazonaws.com"),
          accountId: cfg.accountId,
          region: cfg.region,
          // The primary's instances are imaged by the backups (and the images copied to dr).
          instanceTags: primary && cfg.backups?.images ? { [cfg.backups.images.tagKey]: cfg.backups.images.tagValue } : undefined,
          tags,
      })
    : undefined;

// Both records and every health check exist before a disaster (dr's SECONDARY points at the DR load
// balancer of the pilot light): DNS fails over by health check, a data-plane decision. Config
// refuses pilotlight:dns without an app tier.
const dns = cfg.dns && app
    ? new FailoverDns("dns", {
          role: primary ? "PRIMARY" : "SECONDARY",
          namePrefix: cfg.namePrefix,
          hostedZoneId: cfg.dns.hostedZoneId,
          recordName: cfg.dns.recordName,
          targetDnsName: app.dnsName,
          targetZoneId: app.zoneId,
          https: app.https,
          healthCheckPath: cfg.app.healthCheckPath,
          holdOnDr: cfg.dns.holdOnDr,
          hold: primary && drRegion ? { provider: drRegion, region: cfg.peer.region } : undefined,
          // dr in another account reaches the zone through the role prod creates for it.
          roleArn: cfg.dns.roleArn ?? (!primary && !isSameAccount(cfg) ? roleArn(peer.accountId, dnsFailoverRoleName(cfg.namePrefix), cfg.region) : undefined),
          peer: primary && !cfg.dns.roleArn && !isSameAccount(cfg) ? { accountId: cfg.peer.accountId, roleName: dnsFailoverRoleName(cfg.namePrefix) } : undefined,
          region: cfg.region,
          tags,
      })
    : undefined;

// Alerts every machine shares. Slack webhooks come only from a Pulumi secret
// (pulumi config set --secret slackWebhookUrls '["https://hooks.slack.com/..."]').
const slackWebhooks = new pulumi.Config().getSecret("slackWebhookUrls");
const alerts = new Alerts("alerts", {
    namePrefix: cfg.namePrefix,
    accountId: cfg.accountId,
    region: cfg.region,
    kmsKeyArn: key.keyArn,
    emailSender: cfg.alerts.emailSender,
    emailRecipients: cfg.alerts.emailRecipients,
    slackWebhookUrls: slackWebhooks?.apply(parseWebhookList),
    vpc: network.lambdaVpc,
    tags,
});

// Restore machine (primary): refresh a database in place from a snapshot, with rollback.
const restore =
    primary && cfg.restore
        ? new RestoreMachine("restore", {
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              databases: cfg.restore.databases,
              alertFunctionArn: alerts.functionArn,
              pollIntervalSeconds: cfg.restore.pollIntervalSeconds,
              maxAttempts: cfg.restore.maxAttempts,
              keepSnapshots: cfg.restore.keepSnapshots,
              notifyOnSuccess: cfg.restore.notifyOnSuccess,
              export: cfg.restore.exportPrefix ? { bucketName: media.bucketName, kmsKeyArn: key.keyArn, prefix: cfg.restore.exportPrefix } : undefined,
              schedules: cfg.restore.schedules,
              vpc: network.lambdaVpc,
              tags,
          })
        : undefined;

// Scheduled backups (primary): snapshots of the listed databases, copied to the DR
// region under the shared key's replica, retention in both regions.
const backups =
    primary && cfg.backups && (cfg.backups.databases.length > 0 || cfg.backups.images)
        ? new BackupSchedule("backup", {
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              drRegion: cfg.peer.region,
              databases: cfg.backups.databases,
              sharedKeyArn: key.keyArn,
              drKeyArn: key.replicaKeyArn!,
              alertFunctionArn: alerts.functionArn,
              schedule: cfg.backups.schedule,
              scheduleEnabled: cfg.backups.scheduleEnabled,
              keep: cfg.backups.keep,
              images: cfg.backups.images,
              // Two-account layout: the DR-region snapshot copies (found there by `latestCopy`) and image copies are shared with the dr account.
              peerAccountId: isSameAccount(cfg) ? undefined : cfg.peer.accountId,
              vpc: network.lambdaVpc,
              tags,
          })
        : undefined;

// Automated backups replication (dr, same account): point-in-time restore in the DR region.
const replicatedInstances = (cfg.backups?.databases ?? []).filter((d) => !d.isCluster).map((d) => d.identifier);
const backupReplication =
    !primary && cfg.backups?.automatedBackupReplication && replicatedInstances.length > 0
        ? new AutomatedBackupsReplication("backup-replication", {
              sourceAccountId: cfg.peer.accountId,
              sourceRegion: cfg.peer.region,
              instances: replicatedInstances,
              kmsKeyArn: key.keyArn,
              retentionDays: cfg.backups.replicationRetentionDays,
          })
        : undefined;

// Cross-account copy: the source side on the primary, the target side on dr, wired to
// each other by computed names (either stack may be deployed first).
const copy = cfg.copy
    ? primary
        ? new SnapshotCopy("copy", {
              side: "source",
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              peerAccountId: cfg.peer.accountId,
              peerRegion: cfg.peer.region,
              sourceIdentifier: cfg.copy.source,
              sharedKeyArn: key.keyArn,
              drKeyArn: key.replicaKeyArn!,
              peerRegionProvider: drRegion!,
              alertFunctionArn: alerts.functionArn,
              keep: cfg.copy.keep,
              schedule: cfg.copy.schedule,
              scheduleEnabled: cfg.copy.scheduleEnabled,
              vpc: network.lambdaVpc,
              tags,
          })
        : new SnapshotCopy("copy", {
              side: "target",
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              sourceAccountId: cfg.peer.accountId,
              sourceIdentifier: cfg.copy.source,
              targetName: cfg.copy.targetName,
              drKeyArn: key.keyArn,
              secretName: cfg.copy.secretName,
              // Failed over: the copy target must not move the secret off, nor prune, what the stack serves from.
              failedOver: cfg.failover,
              keep: cfg.copy.keep,
              restore: {
                  instanceClass: cfg.copy.restore.instanceClass,
                  subnetGroupName: cfg.copy.restore.subnetGroupName ?? network.dbSubnetGroup.name,
                  securityGroupIds: cfg.copy.restore.securityGroupIds ?? [network.dbSecurityGroup.id],
                  parameterGroupName: cfg.copy.restore.parameterGroupName,
                  multiAz: cfg.copy.restore.multiAz,
                  tags: cfg.copy.restore.tags,
              },
              alertFunctionArn: alerts.functionArn,
              vpc: network.lambdaVpc,
              tags,
          })
    : undefined;

// Failback, dr side: snapshot the DR database and share it with the primary. Its roles are
// part of the pilot light (IAM is global); its function and machine come with failover.
const failbackSource = !primary
    ? new Failback("failback-source", {
          side: "source",
          namePrefix: cfg.namePrefix,
          accountId: cfg.accountId,
          region: cfg.region,
          peerAccountId: cfg.peer.accountId,
          databaseIdentifier: workloadDatabaseIdentifier(cfg.namePrefix),
          isCluster: isAuroraEngine(cfg.database.engine),
          failedOver: cfg.failover,
          alertFunctionArn: alerts.functionArn,
          vpc: network.lambdaVpc,
          tags,
      })
    : undefined;

// Failback, primary side: bring that snapshot home and refresh the database in place through
// the restore machine; only where the restore machine covers the workload database.
const workloadRestore = cfg.restore?.databases.find((d) => d.identifier === workload);
const failback =
    restore && workloadRestore
        ? new Failback("failback", {
              side: "target",
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              drAccountId: cfg.peer.accountId,
              drRegion: cfg.peer.region,
              databaseIdentifier: workloadRestore.identifier,
              // dr restores the workload as its own `<namePrefix>-db`, which the failback source snapshots.
              drDatabaseIdentifier: workloadDatabaseIdentifier(cfg.namePrefix),
              isCluster: workloadRestore.isCluster,
              sharedKeyArn: key.keyArn,
              replicaKeyArn: key.replicaKeyArn!,
              restoreTimeoutSeconds: restore.timeoutSeconds,
              alertFunctionArn: alerts.functionArn,
              vpc: network.lambdaVpc,
              tags,
          })
        : undefined;

// Aurora failover recovery (primary): one watcher per listed cluster brings back a writer
// of the intended class after a failover to a smaller reader.
const auroraRecoveries = primary
    ? cfg.auroraFailover.clusters.map(
          (cluster) =>
              new AuroraFailoverRecovery(`aurora-${cluster.identifier}`, {
                  clusterIdentifier: cluster.identifier,
                  writerClass: cluster.writerClass,
                  monitoringRoleArn: cluster.monitoringRoleArn,
                  windowHours: cfg.auroraFailover.windowHours,
                  afterRecovery: cfg.auroraFailover.afterRecovery,
                  notifyOnSuccess: cfg.auroraFailover.notifyOnSuccess,
                  alertFunctionArn: alerts.functionArn,
                  namePrefix: cfg.namePrefix,
                  accountId: cfg.accountId,
                  region: cfg.region,
                  vpc: network.lambdaVpc,
                  tags,
              }),
      )
    : [];

// Readiness: on dr, the age of the newest recovery point its failover would restore (an alarm at
// rpoMinutes, missing data breaching); on both, media replication alarms (where S3 publishes
// replication metrics, i.e. with Replication Time Control) and one dashboard of every machine.
function recoveryTarget(): RecoveryTarget | undefined {
    const f = cfg.failoverDatabase;
    if (primary || !f) return undefined;
    const isCluster = isAuroraEngine(cfg.database.engine);
    switch (f.source) {
        case "latestCopy":
        case "adopt":
            return { database: f.sourceIdentifier, isCluster, kind: "snapshots", sharedFrom: isSameAccount(cfg) ? undefined : cfg.peer.accountId };
        case "snapshot":
            return { database: f.sourceIdentifier, isCluster, kind: "snapshot", snapshotIdentifier: f.snapshotIdentifier! };
        case "pointInTime":
            return { database: f.sourceIdentifier, isCluster: false, kind: "automatedBackups", automatedBackupsArn: f.automatedBackupsArn! };
    }
}
const target = recoveryTarget();
const replicating = cfg.media.replicationTimeControl && (primary || (cfg.failover && cfg.media.replicateBack));
const machines: ReadinessMachine[] = [
    ...(restore ? [{ label: "restore", arn: restore.stateMachineArn, scheduleEnabled: cfg.restore!.schedules.length > 0 ? cfg.restore!.schedules.some((x) => x.enabled) : undefined }] : []),
    ...(backups?.stateMachineArn ? [{ label: "backup", arn: backups.stateMachineArn, scheduleEnabled: cfg.backups!.scheduleEnabled }] : []),
    ...(backups?.imageMachineArn ? [{ label: "image backup", arn: backups.imageMachineArn, scheduleEnabled: cfg.backups!.scheduleEnabled }] : []),
    ...(copy ? [{ label: primary ? "copy source" : "copy target", arn: copy.stateMachineArn, scheduleEnabled: primary ? cfg.copy!.scheduleEnabled : undefined }] : []),
    // By its computed ARN on every dr stack, so failing over does not change the dashboard.
    ...(!primary ? [{ label: "failback source", arn: stateMachineArn(own, jobName(cfg.namePrefix, FAILBACK_SOURCE_JOB)) }] : []),
    ...(failback?.stateMachineArn ? [{ label: "failback", arn: failback.stateMachineArn }] : []),
    ...auroraRecoveries.map((r, i) => ({ label: `aurora ${cfg.auroraFailover.clusters[i].identifier}`, arn: r.stateMachineArn })),
];
// Restore tests (dr): measure the database RTO on a throwaway restored from what failover would use.
const restoreTest =
    target && target.kind !== "automatedBackups"
        ? new RestoreTest("restore-test", {
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              target,
              instanceClass: cfg.readiness.restoreTest.instanceClass,
              vpcId: network.vpcId,
              subnetGroupName: network.dbSubnetGroup.name,
              probeSubnetIds: network.appSubnetIds,
              port: cfg.database.port,
              kmsKeyArn: key.keyArn,
              alertFunctionArn: alerts.functionArn,
              schedule: { expression: cfg.readiness.restoreTest.schedule, enabled: cfg.readiness.restoreTest.enabled },
              tags,
          })
        : undefined;
if (restoreTest) machines.push({ label: "restore test", arn: restoreTest.stateMachineArn, scheduleEnabled: cfg.readiness.restoreTest.enabled });

const readiness = new Readiness("readiness", {
    namePrefix: cfg.namePrefix,
    accountId: cfg.accountId,
    region: cfg.region,
    databases: target ? [{ target, rpoMinutes: cfg.readiness.rpoMinutes ?? defaultRpoMinutes(undefined) }] : [],
    restoreTests: restoreTest && target ? [target.database] : [],
    replication: replicating
        ? {
              sourceBucket: media.bucketName,
              destinationBucket: mediaBucketName(peer),
              ruleId: primary ? "media-to-dr" : "media-to-primary",
              latencyThresholdSeconds: cfg.readiness.replicationLatencySeconds,
          }
        : undefined,
    machines,
    alertFunctionArn: alerts.functionArn,
    vpc: network.lambdaVpc,
    tags,
});

export const role = cfg.role;
export const sameAccount = isSameAccount(cfg);
export const vpcId = network.vpcId;
export const publicSubnetIds = network.publicSubnetIds;
export const appSubnetIds = network.appSubnetIds;
export const dbSubnetIds = network.dbSubnetIds;
export const dbSubnetGroupName = network.dbSubnetGroup.name;
export const cacheSubnetGroupName = network.cacheSubnetGroup?.name;
export const keyArn = key.keyArn;
export const replicaKeyArn = key.replicaKeyArn;
export const mediaBucket = media.bucketName;
export const mediaReplicaBucket = primary ? mediaBucketName(peer) : undefined;
export const mediaFailbackReplicationRoleArn = primary ? undefined : media.replicationRole?.arn;
export const failover = cfg.failover;
export const databaseSource = database?.sourceDescription;
export const databaseIdentifier = database?.identifier;
export const databaseEndpoint = database?.endpoint;
export const databasePort = database?.port;
export const databaseArn = database?.arn;
export const databaseIsCluster = database?.isCluster;
export const databaseSecretArn = database?.masterUserSecretArn;
export const databaseRestoredFrom = database?.restoredFrom;
export const databaseEngineVersion = database?.engineVersionActual;
export const workloadDatabase = workload;
export const appUrl = app?.url;
export const loadBalancerDnsName = app?.dnsName;
export const redisEndpoint = app?.redisEndpoint;
export const redisAuthSecretArn = app?.redisAuthSecretArn;
export const appAutoScalingGroup = app?.autoScalingGroupName;
export const dnsRecord = dns?.fqdn;
export const dnsPeerRoleArn = dns?.peerRoleArn;
export const dnsFailoverRole = dns ? (primary ? "PRIMARY" : "SECONDARY") : undefined;
export const dnsHoldAlarm = dns?.holdAlarmName ? { name: dns.holdAlarmName, region: cfg.peer.region, namespace: "pilotlight", metricName: "HoldOnDr" } : undefined;
export const alertTopicArn = alerts.topicArn;
export const restoreMachineArn = restore?.stateMachineArn;
export const backupMachineArn = backups?.stateMachineArn;
export const imageBackupMachineArn = backups?.imageMachineArn;
export const backupReplicationArns = backupReplication?.replicationArns;
export const copyMachineArn = copy?.stateMachineArn;
export const failbackSourceMachineArn = failbackSource?.stateMachineArn;
export const failbackMachineArn = failback?.stateMachineArn;
export const copyTopicArn = copy?.topicArn;
export const copySecretArn = copy?.secretArn;
export const auroraRecoveryMachineArns =
    auroraRecoveries.length > 0 ? pulumi.all(Object.fromEntries(auroraRecoveries.map((r, i) => [cfg.auroraFailover.clusters[i].identifier, r.stateMachineArn]))) : undefined;
export const readinessDashboard = readiness.dashboardName;
export const restoreTestMachineArn = restoreTest?.stateMachineArn;
