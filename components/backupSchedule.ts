// Scheduled RDS snapshots that reach the DR region (primary stack): a state machine
// snapshots each configured database, copies the snapshot to the DR region under the
// shared key's replica, and keeps the newest `keep` in both regions. Started by an
// EventBridge rule, disabled until enabled in config.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_JOB, COPY_SOURCE_JOB, SnapshotJob } from "../functions/lib/backup";
import { IMAGE_JOB } from "../functions/lib/images";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { PolicyStatement } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { distributedMapStatements, imageMachineDefinition, MachineDefinition, snapshotMachineDefinition } from "./machines/snapshotMachine";
import { jobName, keysInRegion, partitionOf, rdsArn, stateMachineArn } from "./naming";
import { LambdaStateMachine, startExecutionRole } from "./stateMachine";

/** A database the backups cover. */
export interface BackupDatabaseArgs {
    /** Instance or cluster identifier. */
    identifier: string;
    /** True for an Aurora cluster. */
    isCluster: boolean;
}

/** What the snapshot jobs' policies are made of; plain strings so tests call the builder directly. */
export interface SnapshotPolicyContext {
    job: SnapshotJob;
    accountId: string;
    homeRegion: string;
    drRegion: string;
    databases: BackupDatabaseArgs[];
    sharedKeyArn: string;
    drKeyArn: string;
    /** Physical name of the job's state machine (its running executions are read by the plan step). */
    machineName: string;
    /** copy-source: the account the DR copy is shared with (undefined when same account). */
    peerAccountId?: string;
    /** copy-source: the topic announcing shared snapshots. */
    topicArn?: string;
}

/**
 * IAM statements of the backup / copy-source Lambda: only what its steps call, on the
 * configured databases and their `<identifier>-*` snapshots in the two regions; deletes
 * only of snapshots the job tagged. Exported for testing.
 */
export function snapshotJobStatements(ctx: SnapshotPolicyContext): PolicyStatement[] {
    const regions = [ctx.homeRegion, ctx.drRegion];
    const scope = (region: string) => ({ accountId: ctx.accountId, region });
    const ids = ctx.databases.map((d) => d.identifier);
    const dbs = (region: string) => ctx.databases.map((d) => rdsArn(scope(region), d.isCluster ? "cluster" : "db", d.identifier));
    const snaps = (region: string) => ctx.databases.map((d) => rdsArn(scope(region), d.isCluster ? "cluster-snapshot" : "snapshot", `${d.identifier}-*`));
    const allDbs = regions.flatMap(dbs);
    const allSnaps = regions.flatMap(snaps);
    const statements: PolicyStatement[] = [
        { Sid: "DescribeConfiguredDatabases", Effect: "Allow", Action: ["rds:DescribeDBInstances", "rds:DescribeDBClusters"], Resource: dbs(ctx.homeRegion) },
        { Sid: "DescribeTheirSnapshots", Effect: "Allow", Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"], Resource: [...allDbs, ...allSnaps] },
        // The manual-snapshot quota is checked before each create or copy; DescribeAccountAttributes has no resource-level permissions: AWS requires "*".
        { Sid: "ReadSnapshotQuotas", Effect: "Allow", Action: ["rds:DescribeAccountAttributes"], Resource: "*" },
        {
            Sid: "SnapshotConfiguredDatabases",
            Effect: "Allow",
            Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"],
            Resource: [...dbs(ctx.homeRegion), ...snaps(ctx.homeRegion)],
        },
        // A cross-region copy is authorized in the DR region on both the source and the new snapshot.
        { Sid: "CopyTheirSnapshots", Effect: "Allow", Action: ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot", "rds:AddTagsToResource"], Resource: allSnaps },
        {
            Sid: "DeleteOnlyOwnSnapshots",
            Effect: "Allow",
            Action: ["rds:DeleteDBSnapshot"],
            Resource: regions.flatMap((r) => ids.map((id) => rdsArn(scope(r), "snapshot", `${id}-*`))),
            Condition: { StringEquals: { [`rds:snapshot-tag/${CREATED_BY_TAG}`]: ctx.job } },
        },
        {
            Sid: "DeleteOnlyOwnClusterSnapshots",
            Effect: "Allow",
            Action: ["rds:DeleteDBClusterSnapshot"],
            Resource: regions.flatMap((r) => ids.map((id) => rdsArn(scope(r), "cluster-snapshot", `${id}-*`))),
            Condition: { StringEquals: { [`rds:cluster-snapshot-tag/${CREATED_BY_TAG}`]: ctx.job } },
        },
        // A database the program did not create may be under any key of the home region: re-encrypting
        // its snapshot under the shared key decrypts with that key, which RDS does with the caller's
        // permissions. Only through RDS, only in the home region, never to encrypt.
        {
            Sid: "DecryptSourceSnapshotsThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt"],
            Resource: [keysInRegion(scope(ctx.homeRegion))],
            Condition: { StringEquals: { "kms:ViaService": `rds.${ctx.homeRegion}.amazonaws.com` } },
        },
        {
            Sid: "UseSharedKeyAndReplicaThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: [ctx.sharedKeyArn, ctx.drKeyArn],
            Condition: { StringEquals: { "kms:ViaService": regions.map((r) => `rds.${r}.amazonaws.com`) } },
        },
    ];
    // The plan step refuses to start while another execution of the machine covers the same database.
    const states = (kind: string, name: string) => `arn:${partitionOf(ctx.homeRegion)}:states:${ctx.homeRegion}:${ctx.accountId}:${kind}:${name}`;
    statements.push(
        { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [states("stateMachine", ctx.machineName)] },
        { Sid: "ReadOwnExecutions", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: [states("execution", `${ctx.machineName}:*`)] },
    );
    if (ctx.peerAccountId) {
        // Only the job's own DR copies (tagged when copied) can be shared, never another `<identifier>-*` snapshot.
        const dr = snaps(ctx.drRegion);
        if (dr.some((a) => a.includes(":snapshot:"))) {
            statements.push({
                Sid: "ShareDrCopyWithPeer",
                Effect: "Allow",
                Action: ["rds:ModifyDBSnapshotAttribute"],
                Resource: dr.filter((a) => a.includes(":snapshot:")),
                Condition: { StringEquals: { [`rds:snapshot-tag/${CREATED_BY_TAG}`]: ctx.job } },
            });
        }
        if (dr.some((a) => a.includes(":cluster-snapshot:"))) {
            statements.push({
                Sid: "ShareDrClusterCopyWithPeer",
                Effect: "Allow",
                Action: ["rds:ModifyDBClusterSnapshotAttribute"],
                Resource: dr.filter((a) => a.includes(":cluster-snapshot:")),
                Condition: { StringEquals: { [`rds:cluster-snapshot-tag/${CREATED_BY_TAG}`]: ctx.job } },
            });
        }
    }
    if (ctx.job === COPY_SOURCE_JOB) {
        if (ctx.topicArn) {
            statements.push(
                { Sid: "AnnounceSharedSnapshots", Effect: "Allow", Action: ["sns:Publish"], Resource: [ctx.topicArn] },
                // The topic is encrypted with the key of its region: the shared key at home, its replica in the DR region.
                {
                    Sid: "EncryptAnnouncementsThroughSns",
                    Effect: "Allow",
                    Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                    Resource: [ctx.topicArn.split(":")[3] === ctx.homeRegion ? ctx.sharedKeyArn : ctx.drKeyArn],
                    Condition: { StringEquals: { "kms:ViaService": `sns.${ctx.topicArn.split(":")[3]}.amazonaws.com` } },
                },
            );
        }
    }
    return statements;
}

/** The snapshot job Lambdas' timeout; their Tasks time out later (TASK_TIMEOUT_SECONDS), never sooner. */
export const SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS = 60;

/**
 * Why `keep` snapshots of each database cannot fit the region's manual snapshot quota, or
 * undefined: per kind (instances, clusters), each database holds its `keep`, the run's new one
 * and, for a default-key database, its shared-key copy for a while. Exported for testing.
 */
export function snapshotQuotaProblem(databases: BackupDatabaseArgs[], keep: number, quota: number): string | undefined {
    for (const isCluster of [false, true]) {
        const n = databases.filter((d) => d.isCluster === isCluster).length;
        const needed = n * (keep + 2);
        if (needed > quota) {
            return `${n} ${isCluster ? "cluster(s)" : "instance(s)"} keeping ${keep} snapshots each need up to ${needed} manual ${isCluster ? "cluster " : ""}snapshots per region (keep + the run's own + its shared-key copy), more than the quota of ${quota}: lower keep to ${Math.max(0, Math.floor(quota / n) - 2)} or raise the RDS quota and set manualSnapshotQuota`;
        }
    }
    return undefined;
}

/** What the image job's policy is made of. */
export interface ImagePolicyContext {
    accountId: string;
    homeRegion: string;
    drRegion: string;
    tagKey: string;
    tagValue: string;
    sharedKeyArn: string;
    drKeyArn: string;
    /** Physical name of the image machine (its running executions are read by the plan step). */
    machineName: string;
    /** The peer account the DR copies are shared with; undefined in a same-account setup. */
    peerAccountId?: string;
}

/** IAM statements of the image backup Lambda. Exported for testing. */
export function imageJobStatements(ctx: ImagePolicyContext): PolicyStatement[] {
    const p = partitionOf(ctx.homeRegion);
    const regions = [ctx.homeRegion, ctx.drRegion];
    const images = regions.map((r) => `arn:${p}:ec2:${r}::image/*`);
    const snapshots = regions.map((r) => `arn:${p}:ec2:${r}::snapshot/*`);
    const ours = { [`aws:ResourceTag/${CREATED_BY_TAG}`]: IMAGE_JOB };
    return [
        // DescribeInstances, DescribeImages and DescribeSnapshots support no resource-level permissions: AWS requires "*".
        { Sid: "FindInstancesAndImages", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeSnapshots"], Resource: "*" },
        {
            Sid: "ImageOnlyTaggedInstances",
            Effect: "Allow",
            Action: ["ec2:CreateImage"],
            Resource: [`arn:${p}:ec2:${ctx.homeRegion}:${ctx.accountId}:instance/*`],
            Condition: { StringEquals: { [`aws:ResourceTag/${ctx.tagKey}`]: ctx.tagValue } },
        },
        {
            Sid: "CreateOwnImagesAndSnapshots",
            Effect: "Allow",
            Action: ["ec2:CreateImage"],
            Resource: [`arn:${p}:ec2:${ctx.homeRegion}::image/*`, `arn:${p}:ec2:${ctx.homeRegion}::snapshot/*`],
            Condition: { StringEquals: { [`aws:RequestTag/${CREATED_BY_TAG}`]: IMAGE_JOB } },
        },
        {
            Sid: "TagOnCreateOrCopy",
            Effect: "Allow",
            Action: ["ec2:CreateTags"],
            Resource: [...images, ...snapshots],
            Condition: { StringEquals: { "ec2:CreateAction": ["CreateImage", "CopyImage"] } },
        },
        // CopyImage is authorized on the source and new image and on their snapshots (AWS's example policy for CopyImage).
        { Sid: "CopyImagesToDr", Effect: "Allow", Action: ["ec2:CopyImage"], Resource: [...images, ...snapshots] },
        { Sid: "DeregisterOnlyOwnImages", Effect: "Allow", Action: ["ec2:DeregisterImage"], Resource: images, Condition: { StringEquals: ours } },
        // DeregisterImage with DeleteAssociatedSnapshots deletes with the caller's DeleteSnapshot permission, and the
        // sweep deletes leftovers: CreateImage and CopyImage tag the snapshots they make, and only those may be deleted.
        { Sid: "DeleteSnapshotsOfDeregisteredImages", Effect: "Allow", Action: ["ec2:DeleteSnapshot"], Resource: snapshots, Condition: { StringEquals: ours } },
        ...(ctx.peerAccountId
            ? [
                  {
                      Sid: "ShareOwnDrCopiesWithPeer",
                      Effect: "Allow" as const,
                      Action: ["ec2:ModifyImageAttribute"],
                      Resource: [`arn:${p}:ec2:${ctx.drRegion}::image/*`],
                      Condition: { StringEquals: ours },
                  },
              ]
            : []),
        {
            Sid: "EncryptCopiesThroughEc2",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: [ctx.sharedKeyArn, ctx.drKeyArn],
            Condition: { StringEquals: { "kms:ViaService": regions.map((r) => `ec2.${r}.amazonaws.com`) } },
        },
        // The plan step refuses to overlap another execution; every run covers every instance, so it lists and never describes.
        { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [stateMachineArn({ accountId: ctx.accountId, region: ctx.homeRegion }, ctx.machineName)] },
    ];
}

/** A state machine with its own role, and optionally a schedule rule (disabled by default) that starts it. */
export interface MachineWithScheduleArgs {
    /** Physical name of the machine (and of its role and rule). */
    machineName: string;
    accountId: string;
    region: string;
    /** The definition (Lambda ARNs resolved). */
    definition: pulumi.Input<MachineDefinition>;
    /** Lambdas the machine invokes. */
    functionArns: pulumi.Input<string>[];
    /** EventBridge schedule; no rule when undefined. */
    schedule?: { expression: string; enabled: boolean; input: unknown };
    /** Days to keep the machine's execution logs (errors, with their data). Defaults to 30. */
    logRetentionDays?: number;
    /** The definition runs a distributed Map: the role may start, read and stop the machine's own child executions. Defaults to false. */
    distributedMap?: boolean;
    tags: Record<string, string>;
}

/** Creates the machine, its role and the schedule rule under `parent`; returns the machine and rule. */
export function machineWithSchedule(name: string, args: MachineWithScheduleArgs, parent: pulumi.Resource): { machine: aws.sfn.StateMachine; rule?: aws.cloudwatch.EventRule } {
    const p = partitionOf(args.region);
    const ownArn = `arn:${p}:states:${args.region}:${args.accountId}:stateMachine:${args.machineName}`;
    const { stateMachine: machine } = new LambdaStateMachine(
        `${name}-machine`,
        {
            machineName: args.machineName,
            accountId: args.accountId,
            definition: args.definition,
            functionArns: args.functionArns,
            logRetentionDays: args.logRetentionDays ?? 30,
            statements: args.distributedMap ? distributedMapStatements(ownArn) : undefined,
            tags: args.tags,
        },
        { parent },
    );
    if (!args.schedule) return { machine };
    const eventsRole = startExecutionRole(
        `${name}-schedule`,
        { accountId: args.accountId, sid: "StartOwnMachine", machineArn: `arn:${p}:states:${args.region}:${args.accountId}:stateMachine:${args.machineName}`, tags: args.tags },
        parent,
    );
    const rule = new aws.cloudwatch.EventRule(
        `${name}-schedule`,
        {
            name: args.machineName,
            description: `starts ${args.machineName}`,
            scheduleExpression: args.schedule.expression,
            state: args.schedule.enabled ? "ENABLED" : "DISABLED",
            tags: args.tags,
        },
        { parent },
    );
    new aws.cloudwatch.EventTarget(`${name}-schedule-target`, { rule: rule.name, arn: machine.arn, roleArn: eventsRole.arn, input: JSON.stringify(args.schedule.input) }, { parent });
    return { machine, rule };
}

export interface BackupScheduleArgs {
    /** Prefix of physical names: machine, Lambda and rule are `<namePrefix>-backup`. */
    namePrefix: string;
    /** Account and region of the databases. */
    accountId: string;
    region: string;
    /** Region the snapshots are copied to (the peer's). */
    drRegion: string;
    /** Databases to snapshot each run. Defaults to none (then `images` must be set). */
    databases?: BackupDatabaseArgs[];
    /** AMI backups of tagged instances. Defaults to none. */
    images?: {
        /** Tag key selecting the instances. */
        tagKey: string;
        /** Tag value selecting the instances. */
        tagValue: string;
        /** Image without reboot. Defaults to true. */
        noReboot?: boolean;
        /** Images kept per source (Auto Scaling group, launch template or lone instance) in each region. Defaults to 7. */
        keep?: number;
        /** Days the images of a source that is no longer imaged are kept. Defaults to 30. */
        goneSourceDays?: number;
    };
    /** The peer account the DR-region snapshot and image copies are shared with (two-account layout). Defaults to none (same account). */
    peerAccountId?: string;
    /** ARN of the shared key (snapshots that are not under it are copied under it first). */
    sharedKeyArn: pulumi.Input<string>;
    /** ARN of the shared key's replica in the DR region: the copies' key. */
    drKeyArn: pulumi.Input<string>;
    /** ARN of the alert Lambda (the Alerts component's `functionArn`). */
    alertFunctionArn: pulumi.Input<string>;
    /** EventBridge schedule. Defaults to `rate(2 hours)`. */
    schedule?: string;
    /** Whether the schedule rule runs. Defaults to false. */
    scheduleEnabled?: boolean;
    /** Snapshots kept per database in each region, 1-100. Defaults to 12. */
    keep?: number;
    /** Databases backed up at once, 1-19 (RDS allows 20 copy requests in progress per destination region). Defaults to 10. */
    maxConcurrency?: number;
    /** The account's manual snapshot quota per region (RDS `ManualSnapshots` / `ManualClusterSnapshots`). Defaults to 100. */
    manualSnapshotQuota?: number;
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait before it counts as a failure. Defaults to 180. */
    maxAttempts?: number;
    /** Days to keep the Lambda's logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Run the Lambdas in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** Scheduled snapshots of the configured databases and AMIs of tagged instances, copied to the DR region, with retention. */
export class BackupSchedule extends pulumi.ComponentResource {
    /** The snapshot machine, when databases are configured. */
    public readonly stateMachine?: aws.sfn.StateMachine;
    /** ARN of the snapshot machine. */
    public readonly stateMachineArn?: pulumi.Output<string>;
    /** The snapshot machine's schedule rule (disabled unless enabled). */
    public readonly rule?: aws.cloudwatch.EventRule;
    /** The deployed snapshot machine definition. */
    public readonly definition?: pulumi.Output<MachineDefinition>;
    /** The image machine, when images are configured. */
    public readonly imageMachine?: aws.sfn.StateMachine;
    /** ARN of the image machine. */
    public readonly imageMachineArn?: pulumi.Output<string>;
    /** The image machine's schedule rule. */
    public readonly imageRule?: aws.cloudwatch.EventRule;

    constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:backup:BackupSchedule", name, {}, opts);
        const tags = args.tags ?? {};
        const keep = args.keep ?? 12;
        if (!Number.isInteger(keep) || keep < 1 || keep > 100) throw new Error(`BackupSchedule: keep must be a whole number from 1 to 100, got ${keep}`);
        const databases = args.databases ?? [];
        if (databases.length === 0 && !args.images) throw new Error("BackupSchedule: nothing to back up; list databases or configure images");
        const schedule = (input: unknown) => ({ expression: args.schedule ?? "rate(2 hours)", enabled: args.scheduleEnabled ?? false, input });
        const poll = { pollIntervalSeconds: args.pollIntervalSeconds, maxAttempts: args.maxAttempts };

        if (databases.length > 0) {
            const problem = snapshotQuotaProblem(databases, keep, args.manualSnapshotQuota ?? 100);
            if (problem) throw new Error(`BackupSchedule: ${problem}`);
            const base = jobName(args.namePrefix, "backup");
            const peerAccountId = args.peerAccountId && args.peerAccountId !== args.accountId ? args.peerAccountId : undefined;
            const ctx = pulumi.all([args.sharedKeyArn, args.drKeyArn]).apply(
                ([sharedKeyArn, drKeyArn]): SnapshotPolicyContext => ({ job: BACKUP_JOB, machineName: base, accountId: args.accountId, homeRegion: args.region, drRegion: args.drRegion, databases, sharedKeyArn, drKeyArn, peerAccountId }),
            );
            const fn = new BundledFunction(
                `${name}-fn`,
                {
                    job: "backup",
                    functionName: base,
                    description: "pilotlight backups: snapshot, copy to the DR region, retention",
                    accountId: args.accountId,
                    region: args.region,
                    statements: ctx.apply(snapshotJobStatements),
                    environment: {
                        HOME_REGION: args.region,
                        DR_REGION: args.drRegion,
                        SHARED_KEY_ARN: args.sharedKeyArn,
                        DR_KEY_ARN: args.drKeyArn,
                        DATABASES: JSON.stringify(databases),
                        KEEP: String(keep),
                        PEER_ACCOUNT_ID: peerAccountId ?? "",
                    },
                    timeoutSeconds: SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS,
                    logRetentionDays: args.logRetentionDays,
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            this.definition = pulumi
                .all([fn.arn, args.alertFunctionArn])
                .apply(([job, alert]) => snapshotMachineDefinition({ job, alert }, { kind: "backup", databases: databases.length, maxConcurrency: args.maxConcurrency, ...poll }));
            const made = machineWithSchedule(
                name,
                {
                    machineName: base,
                    accountId: args.accountId,
                    region: args.region,
                    definition: this.definition,
                    functionArns: [fn.arn, args.alertFunctionArn],
                    schedule: schedule({ databases: databases.map((d) => ({ identifier: d.identifier, isCluster: d.isCluster })) }),
                    distributedMap: true,
                    tags,
                },
                this,
            );
            this.stateMachine = made.machine;
            this.stateMachineArn = made.machine.arn;
            this.rule = made.rule;
        }

        if (args.images) {
            const imageKeep = args.images.keep ?? 7;
            if (!Number.isInteger(imageKeep) || imageKeep < 1 || imageKeep > 100) throw new Error(`BackupSchedule: images.keep must be a whole number from 1 to 100, got ${imageKeep}`);
            const images = args.images;
            const goneSourceDays = images.goneSourceDays ?? 30;
            if (!Number.isInteger(goneSourceDays) || goneSourceDays < 1 || goneSourceDays > 3650) throw new Error(`BackupSchedule: images.goneSourceDays must be a whole number from 1 to 3650, got ${goneSourceDays}`);
            if (args.peerAccountId !== undefined && !/^\d{12}$/.test(args.peerAccountId)) throw new Error(`BackupSchedule: peerAccountId must be a 12-digit account id, got ${args.peerAccountId}`);
            const base = jobName(args.namePrefix, "image-backup");
            const ctx = pulumi.all([args.sharedKeyArn, args.drKeyArn]).apply(
                ([sharedKeyArn, drKeyArn]): ImagePolicyContext => ({
                    machineName: base,
                    accountId: args.accountId,
                    homeRegion: args.region,
                    drRegion: args.drRegion,
                    tagKey: images.tagKey,
                    tagValue: images.tagValue,
                    sharedKeyArn,
                    drKeyArn,
                    peerAccountId: args.peerAccountId,
                }),
            );
            const fn = new BundledFunction(
                `${name}-image-fn`,
                {
                    job: "image-backup",
                    functionName: base,
                    description: "pilotlight image backups: AMIs of tagged instances, copied to the DR region, retention",
                    accountId: args.accountId,
                    region: args.region,
                    statements: ctx.apply(imageJobStatements),
                    environment: {
                        HOME_REGION: args.region,
                        DR_REGION: args.drRegion,
                        TAG_KEY: images.tagKey,
                        TAG_VALUE: images.tagValue,
                        NO_REBOOT: String(images.noReboot ?? true),
                        DR_KEY_ARN: args.drKeyArn,
                        KEEP: String(imageKeep),
                        GONE_SOURCE_DAYS: String(goneSourceDays),
                        ...(args.peerAccountId ? { PEER_ACCOUNT_ID: args.peerAccountId } : {}),
                    },
                    logRetentionDays: args.logRetentionDays,
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            const definition = pulumi.all([fn.arn, args.alertFunctionArn]).apply(([job, alert]) => imageMachineDefinition({ job, alert }, { ...poll, share: args.peerAccountId !== undefined }));
            const made = machineWithSchedule(
                `${name}-images`,
                { machineName: base, accountId: args.accountId, region: args.region, definition, functionArns: [fn.arn, args.alertFunctionArn], schedule: schedule({}), distributedMap: true, tags },
                this,
            );
            this.imageMachine = made.machine;
            this.imageMachineArn = made.machine.arn;
            this.imageRule = made.rule;
        }
        this.registerOutputs({ stateMachineArn: this.stateMachineArn, imageMachineArn: this.imageMachineArn });
    }
}

export interface AutomatedBackupsReplicationArgs {
    /** The primary's account: must be this stack's (RDS replicates automated backups only within an account). */
    sourceAccountId: string;
    /** The primary's region. */
    sourceRegion: string;
    /** Identifiers of the primary's instances whose automated backups are replicated here. */
    instances: string[];
    /** ARN of the key the replicated backups are encrypted with (the dr key). */
    kmsKeyArn: pulumi.Input<string>;
    /** Days the replicated backups are kept, 1-35. Defaults to 7. */
    retentionDays?: number;
}

/**
 * Cross-region automated backups replication (dr stack): point-in-time restore in the DR
 * region with an RPO of minutes. The source instance ARNs are computed from the peer config.
 */
export class AutomatedBackupsReplication extends pulumi.ComponentResource {
    /** ARNs of the replicated automated backups, by source instance. */
    public readonly replicationArns: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: AutomatedBackupsReplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:backup:AutomatedBackupsReplication", name, {}, opts);
        const retention = args.retentionDays ?? 7;
        if (!Number.isInteger(retention) || retention < 1 || retention > 35) throw new Error(`AutomatedBackupsReplication: retentionDays must be 1-35, got ${retention}`);
        for (const id of args.instances) {
            const r = new aws.rds.InstanceAutomatedBackupsReplication(
                `${name}-${id}`,
                {
                    sourceDbInstanceArn: rdsArn({ accountId: args.sourceAccountId, region: args.sourceRegion }, "db", id),
                    kmsKeyId: args.kmsKeyArn,
                    retentionPeriod: retention,
                },
                { parent: this },
            );
            this.replicationArns[id] = r.id;
        }
        this.registerOutputs({ replicationArns: this.replicationArns });
    }
}
