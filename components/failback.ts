// Failback of the workload database, the reverse of the copy direction. Source side (dr,
// while failed over): a machine snapshots the DR database as `<db>-fb-<timestamp>` and
// shares it with the primary's account. Target side (primary): a machine copies that
// snapshot within the DR region under the shared key's replica, copies it home under the
// shared key, and refreshes the primary's database in place with the restore machine
// (`db_restore`). The target side exists only where the restore machine covers the workload
// database (`pilotlight:restore.databases` lists it: `pilotlight:database.existing`, else
// `<namePrefix>-db`): it is what changes the database. The copies are named after the home
// database, the only snapshots the restore machine restores it from. Both machines are started by an operator; neither has a schedule.
//
// The source side is statically stable: its roles and policies (IAM, a global control plane)
// are part of the pilot light on dr always; only its function, machine and log groups
// (regional) come with `failover: true`, so switching failover on needs no IAM call.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FAILBACK_JOB, FAILBACK_SOURCE_JOB, FailbackSettings, FailbackSourceSettings } from "../functions/lib/failback";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { PolicyStatement } from "./iam";
import { BundledFunction, functionRole, LambdaVpcConfig } from "./lambdaFunction";
import { FailbackArns, failbackDefinition, failbackSourceDefinition } from "./machines/failback";
import { MachineDefinition } from "./machines/snapshotMachine";
import { drKeyAlias, executionsOf, jobName, keysInRegion, partitionOf, rdsArn, stateMachineArn } from "./naming";
import { LambdaStateMachine, machineRole } from "./stateMachine";

/** RDS names of one database kind: instance (`db`, `snapshot`) or Aurora cluster (`cluster`, `cluster-snapshot`). */
function rdsKind(isCluster: boolean) {
    return isCluster
        ? { db: "cluster" as const, snapshot: "cluster-snapshot" as const, tag: "cluster-snapshot-tag", action: (a: string) => a.replace("DBSnapshot", "DBClusterSnapshot") }
        : { db: "db" as const, snapshot: "snapshot" as const, tag: "snapshot-tag", action: (a: string) => a };
}

/** What the source side's policy is made of: the Lambda's settings plus names. */
export interface FailbackSourcePolicyContext extends FailbackSourceSettings {
    accountId: string;
    /** Physical name of the machine (its running executions are read by the plan). */
    machineName: string;
}

/**
 * IAM statements of the failback source Lambda: describe and snapshot the one database,
 * as `<db>-fb-*` only, and share only the snapshots it tagged. No KMS: RDS snapshots and
 * shares an encrypted database on its own grant, and the DR key's policy already lets
 * the peer account use it through RDS. Exported for testing.
 */
export function failbackSourceStatements(ctx: FailbackSourcePolicyContext): PolicyStatement[] {
    const own = { accountId: ctx.accountId, region: ctx.region };
    const k = rdsKind(ctx.isCluster);
    const db = rdsArn(own, k.db, ctx.identifier);
    const snapshots = rdsArn(own, k.snapshot, `${ctx.identifier}-fb-*`);
    const statements: PolicyStatement[] = [
        { Sid: "DescribeDatabase", Effect: "Allow", Action: [ctx.isCluster ? "rds:DescribeDBClusters" : "rds:DescribeDBInstances"], Resource: [db] },
        { Sid: "DescribeFailbackSnapshots", Effect: "Allow", Action: [`rds:${k.action("DescribeDBSnapshots")}`], Resource: [snapshots] },
        { Sid: "SnapshotDatabase", Effect: "Allow", Action: [`rds:${k.action("CreateDBSnapshot")}`], Resource: [db, snapshots] },
        { Sid: "TagFailbackSnapshots", Effect: "Allow", Action: ["rds:AddTagsToResource"], Resource: [snapshots] },
    ];
    if (ctx.peerAccountId) {
        statements.push({ Sid: "ReadSharing", Effect: "Allow", Action: [`rds:${k.action("DescribeDBSnapshotAttributes")}`], Resource: [snapshots] });
        statements.push({
            Sid: "ShareWithPrimary",
            Effect: "Allow",
            Action: [`rds:${k.action("ModifyDBSnapshotAttribute")}`],
            Resource: [snapshots],
            Condition: { StringEquals: { [`rds:${k.tag}/${CREATED_BY_TAG}`]: FAILBACK_SOURCE_JOB } },
        });
    }
    // Any other running execution of the machine stops the plan; listing shows them all.
    statements.push({ Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [stateMachineArn(own, ctx.machineName)] });
    return statements;
}

/** What the target side's policy is made of: the Lambda's settings, less the restore machine's ARN, plus names. */
export interface FailbackPolicyContext extends Omit<FailbackSettings, "restoreMachineArn"> {
    namePrefix: string;
    /** Physical name of the machine. */
    machineName: string;
    /** Physical name of the restore machine it starts. */
    restoreMachineName: string;
}

/**
 * IAM statements of the failback Lambda: read the dr side's `<db>-fb-*` snapshots, copy
 * them as `<db>-fb-*-sk` in the DR region and at home, delete only its own DR-region
 * copies, start and watch the restore machine. Keys only through RDS, each in its region.
 * Exported for testing.
 */
export function failbackStatements(ctx: FailbackPolicyContext): PolicyStatement[] {
    const home = { accountId: ctx.accountId, region: ctx.homeRegion };
    const dr = { accountId: ctx.accountId, region: ctx.drRegion };
    const peer = { accountId: ctx.drAccountId, region: ctx.drRegion };
    const k = rdsKind(ctx.isCluster);
    const rds = (a: string) => `rds:${k.action(a)}`;
    // The source is named after dr's database, which the failback source snapshots; the copies
    // after the home database, the only snapshots the restore machine restores it from.
    const source = rdsArn(peer, k.snapshot, `${ctx.drIdentifier}-fb-*`);
    const drCopies = rdsArn(dr, k.snapshot, `${ctx.identifier}-fb-*-sk`);
    const homeCopies = rdsArn(home, k.snapshot, `${ctx.identifier}-fb-*-sk`);
    const useKey = ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];
    const viaRds = (region: string) => ({ "kms:ViaService": `rds.${region}.amazonaws.com` });
    return [
        { Sid: "DescribeDatabase", Effect: "Allow", Action: [ctx.isCluster ? "rds:DescribeDBClusters" : "rds:DescribeDBInstances"], Resource: [rdsArn(home, k.db, ctx.identifier)] },
        // Finding the dr side's snapshots lists the DR region (listing is authorized on the wildcard ARN); copies are read by name.
        { Sid: "FindSnapshots", Effect: "Allow", Action: [rds("DescribeDBSnapshots")], Resource: [rdsArn(dr, k.snapshot, "*"), source, homeCopies] },
        // A copy is authorized on its source and on the new snapshot.
        { Sid: "CopyFailbackSnapshots", Effect: "Allow", Action: [rds("CopyDBSnapshot")], Resource: [source, drCopies, homeCopies] },
        { Sid: "TagOwnCopies", Effect: "Allow", Action: ["rds:AddTagsToResource"], Resource: [drCopies, homeCopies] },
        {
            Sid: "DeleteOnlyOwnDrCopies",
            Effect: "Allow",
            Action: [rds("DeleteDBSnapshot")],
            Resource: [drCopies],
            Condition: { StringEquals: { [`rds:${k.tag}/${CREATED_BY_TAG}`]: FAILBACK_JOB } },
        },
        {
            // The DR key has a random id: admitted by its alias, only through RDS, only to read the source.
            Sid: "ReadDrKeyThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"],
            Resource: [keysInRegion(peer)],
            Condition: { StringEquals: viaRds(ctx.drRegion), "ForAnyValue:StringEquals": { "kms:ResourceAliases": drKeyAlias(ctx.namePrefix) } },
        },
        { Sid: "UseReplicaKeyThroughRds", Effect: "Allow", Action: useKey, Resource: [ctx.replicaKeyArn], Condition: { StringEquals: viaRds(ctx.drRegion) } },
        { Sid: "UseSharedKeyThroughRds", Effect: "Allow", Action: useKey, Resource: [ctx.sharedKeyArn], Condition: { StringEquals: viaRds(ctx.homeRegion) } },
        { Sid: "StartRestore", Effect: "Allow", Action: ["states:StartExecution"], Resource: [stateMachineArn(home, ctx.restoreMachineName)] },
        { Sid: "WatchRestore", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: [executionsOf(home, ctx.restoreMachineName)] },
        // The plan refuses while another restore runs on the database.
        { Sid: "ListRestores", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [stateMachineArn(home, ctx.restoreMachineName)] },
        // Any other running execution of the machine stops the plan; listing shows them all.
        { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [stateMachineArn(home, ctx.machineName)] },
    ];
}

/** Options both sides share. */
interface FailbackCommonArgs {
    /** Prefix of physical names. */
    namePrefix: string;
    /** This stack's account and region. */
    accountId: string;
    region: string;
    /** The workload database (`<namePrefix>-db`). */
    databaseIdentifier: string;
    /** True when it is an Aurora cluster. */
    isCluster: boolean;
    /** ARN of the alert Lambda. */
    alertFunctionArn: pulumi.Input<string>;
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per snapshot wait. Defaults to 180. */
    maxAttempts?: number;
    /** Whole-execution timeout. Defaults to the longest path through the waits plus one hour. */
    timeoutSeconds?: number;
    /** Days to keep the Lambda's and the machine's logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Run the Lambda in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** Source side (dr, while failed over): machine and Lambda `<namePrefix>-failback-source`. */
export interface FailbackSourceArgs extends FailbackCommonArgs {
    side: "source";
    /** The primary's account: the snapshot is shared with it. Equal to `accountId` in a same-account setup (then nothing is shared). */
    peerAccountId: string;
    /**
     * The DR database exists (`failover: true`): create the function, the machine and their log
     * groups. Their roles and policies exist either way. Defaults to true.
     */
    failedOver?: boolean;
}

/**
 * Target side (primary): machine and Lambda `<namePrefix>-failback`. Create it only where
 * the restore machine `<namePrefix>-restore` covers `databaseIdentifier`.
 */
export interface FailbackTargetArgs extends FailbackCommonArgs {
    side: "target";
    /** The dr stack's account: the owner of the snapshots it copies. */
    drAccountId: string;
    /** The dr stack's region. */
    drRegion: string;
    /**
     * dr's database (`<namePrefix>-db`), whose snapshots the failback source takes. Defaults to
     * `databaseIdentifier`; differs when the primary protects an existing database.
     */
    drDatabaseIdentifier?: string;
    /** ARN of the shared key: the home copy's key. */
    sharedKeyArn: pulumi.Input<string>;
    /** ARN of the shared key's replica in the DR region: the DR-region copy's key. */
    replicaKeyArn: pulumi.Input<string>;
    /** TimeoutSeconds of the restore machine (its `timeoutSeconds`): the wait for its execution outlasts it. Defaults to the restore machine's default. */
    restoreTimeoutSeconds?: number;
}

export type FailbackArgs = FailbackSourceArgs | FailbackTargetArgs;

/** One side of the failback. */
export class Failback extends pulumi.ComponentResource {
    /** The side's state machine; none on dr until it fails over. */
    public readonly stateMachine?: aws.sfn.StateMachine;
    /** ARN of the state machine: start executions here. */
    public readonly stateMachineArn?: pulumi.Output<string>;
    /** The function's and the machine's roles: there always, also before failover. */
    public readonly roles: { function: aws.iam.Role; machine: aws.iam.Role };
    /** The deployed definition. */
    public readonly definition: pulumi.Output<MachineDefinition>;

    constructor(name: string, args: FailbackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:failback:Failback", name, {}, opts);
        const tags = args.tags ?? {};
        const poll = { pollIntervalSeconds: args.pollIntervalSeconds, maxAttempts: args.maxAttempts, timeoutSeconds: args.timeoutSeconds };
        const logRetentionDays = args.logRetentionDays ?? 30;
        let job: { name: string; description: string; statements: pulumi.Input<PolicyStatement[]>; environment: Record<string, pulumi.Input<string>> };
        let definition: (arns: FailbackArns) => MachineDefinition;

        if (args.side === "source") {
            const machineName = jobName(args.namePrefix, FAILBACK_SOURCE_JOB);
            const sameAccount = args.peerAccountId === args.accountId;
            job = {
                name: machineName,
                description: "pilotlight failback source: snapshot the DR database, share it with the primary",
                statements: failbackSourceStatements({
                    accountId: args.accountId,
                    region: args.region,
                    identifier: args.databaseIdentifier,
                    isCluster: args.isCluster,
                    machineName,
                    peerAccountId: sameAccount ? undefined : args.peerAccountId,
                }),
                environment: { REGION: args.region, DATABASE: args.databaseIdentifier, IS_CLUSTER: String(args.isCluster), PEER_ACCOUNT_ID: sameAccount ? "" : args.peerAccountId },
            };
            definition = (arns) => failbackSourceDefinition(arns, { share: !sameAccount, ...poll });
        } else {
            const machineName = jobName(args.namePrefix, FAILBACK_JOB);
            const restoreMachineName = jobName(args.namePrefix, "restore");
            const target = args;
            job = {
                name: machineName,
                description: "pilotlight failback: copy the dr snapshot home, refresh the database with the restore machine",
                statements: pulumi.all([args.sharedKeyArn, args.replicaKeyArn]).apply(([sharedKeyArn, replicaKeyArn]) =>
                    failbackStatements({
                        namePrefix: target.namePrefix,
                        accountId: target.accountId,
                        homeRegion: target.region,
                        drRegion: target.drRegion,
                        drAccountId: target.drAccountId,
                        identifier: target.databaseIdentifier,
                        drIdentifier: target.drDatabaseIdentifier ?? target.databaseIdentifier,
                        isCluster: target.isCluster,
                        machineName,
                        restoreMachineName,
                        sharedKeyArn,
                        replicaKeyArn,
                    }),
                ),
                environment: {
                    ACCOUNT_ID: args.accountId,
                    HOME_REGION: args.region,
                    DR_REGION: args.drRegion,
                    DR_ACCOUNT_ID: args.drAccountId,
                    DATABASE: args.databaseIdentifier,
                    DR_DATABASE: args.drDatabaseIdentifier ?? args.databaseIdentifier,
                    IS_CLUSTER: String(args.isCluster),
                    SHARED_KEY_ARN: args.sharedKeyArn,
                    REPLICA_KEY_ARN: args.replicaKeyArn,
                    RESTORE_MACHINE_ARN: stateMachineArn(args, restoreMachineName),
                },
            };
            definition = (arns) => failbackDefinition(arns, { restoreTimeoutSeconds: target.restoreTimeoutSeconds, ...poll });
        }

        // IAM first, always, under the names the function and machine components gave them
        // before (aliases keep a stack deployed that way from replacing them).
        const fnName = `${name}-fn`;
        const machineComponent = `${name}-machine`;
        const aliasUnder = (component: string, type: string) => ({ aliases: [{ parent: pulumi.createUrn(component, type, this) }] });
        const fnRole = functionRole(
            fnName,
            { functionName: job.name, statements: job.statements, vpc: args.vpc, accountId: args.accountId, region: args.region, tags },
            { parent: this, ...aliasUnder(fnName, "pilotlight:lambda:BundledFunction") },
        );
        // The function's ARN is known from its name, so the machine's policy needs no function.
        const jobArn = `arn:${partitionOf(args.region)}:lambda:${args.region}:${args.accountId}:function:${job.name}`;
        const role = machineRole(
            machineComponent,
            { accountId: args.accountId, functionArns: [jobArn, args.alertFunctionArn], logRetentionDays, tags },
            { parent: this, ...aliasUnder(machineComponent, "pilotlight:sfn:LambdaStateMachine") },
        );
        this.roles = { function: fnRole.role, machine: role.role };
        this.definition = pulumi.output(args.alertFunctionArn).apply((alert) => definition({ job: jobArn, alert }));

        if (args.side === "target" || (args.failedOver ?? true)) {
            const fn = new BundledFunction(
                fnName,
                {
                    job: args.side === "source" ? "failback-source" : "failback",
                    functionName: job.name,
                    description: job.description,
                    statements: job.statements,
                    environment: job.environment,
                    role: fnRole,
                    accountId: args.accountId,
                    region: args.region,
                    logRetentionDays: args.logRetentionDays,
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            const definitionWithFunction = pulumi.all([fn.arn, this.definition]).apply(([, d]) => d);
            this.stateMachine = new LambdaStateMachine(
                machineComponent,
                { machineName: job.name, accountId: args.accountId, definition: definitionWithFunction, functionArns: [jobArn, args.alertFunctionArn], logRetentionDays, role, tags },
                { parent: this },
            ).stateMachine;
            this.stateMachineArn = this.stateMachine.arn;
        }
        this.registerOutputs({ stateMachineArn: this.stateMachineArn });
    }
}
