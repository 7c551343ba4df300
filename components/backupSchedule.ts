// Scheduled RDS snapshots that reach the DR region (primary stack): a state machine
// snapshots each configured database, copies the snapshot to the DR region under the
// shared key's replica, and keeps the newest `keep` in both regions. Started by an
// EventBridge rule, disabled until enabled in config.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_JOB, COPY_SOURCE_JOB, SnapshotJob } from "../functions/lib/backup";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { assumeRolePolicy, policyDocument, PolicyStatement, renderPolicy } from "./iam";
import { BundledFunction } from "./lambdaFunction";
import { MachineDefinition, snapshotMachineDefinition } from "./machines/snapshotMachine";
import { jobName, partitionOf, rdsArn } from "./naming";

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
        {
            Sid: "UseSharedKeyAndReplicaThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: [ctx.sharedKeyArn, ctx.drKeyArn],
            Condition: { StringEquals: { "kms:ViaService": regions.map((r) => `rds.${r}.amazonaws.com`) } },
        },
    ];
    if (ctx.job === COPY_SOURCE_JOB) {
        if (ctx.peerAccountId) {
            statements.push({ Sid: "ShareDrCopyWithPeer", Effect: "Allow", Action: ["rds:ModifyDBSnapshotAttribute"], Resource: snaps(ctx.drRegion).filter((a) => a.includes(":snapshot:")) });
        }
        if (ctx.topicArn) statements.push({ Sid: "AnnounceSharedSnapshots", Effect: "Allow", Action: ["sns:Publish"], Resource: [ctx.topicArn] });
    }
    return statements;
}

/** Role statements of a state machine that only invokes its own Lambdas. */
export function invokeStatements(functionArns: string[]): PolicyStatement[] {
    return [{ Sid: "InvokeOwnLambdas", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: functionArns }];
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
    tags: Record<string, string>;
}

/** Creates the machine, its role and the schedule rule under `parent`; returns the machine and rule. */
export function machineWithSchedule(name: string, args: MachineWithScheduleArgs, parent: pulumi.Resource): { machine: aws.sfn.StateMachine; rule?: aws.cloudwatch.EventRule } {
    const role = new aws.iam.Role(`${name}-machine-role`, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("states.amazonaws.com", args.accountId)), tags: args.tags }, { parent });
    const rolePolicy = new aws.iam.RolePolicy(
        `${name}-machine-policy`,
        { role: role.id, policy: renderPolicy(pulumi.all(args.functionArns).apply((arns) => policyDocument(invokeStatements(arns)))) },
        { parent },
    );
    const machine = new aws.sfn.StateMachine(
        `${name}-machine`,
        { name: args.machineName, roleArn: role.arn, definition: pulumi.output(args.definition).apply((d) => JSON.stringify(d)), tags: args.tags },
        { parent, dependsOn: [rolePolicy] },
    );
    if (!args.schedule) return { machine };
    const p = partitionOf(args.region);
    const eventsRole = new aws.iam.Role(`${name}-schedule-role`, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("events.amazonaws.com", args.accountId)), tags: args.tags }, { parent });
    new aws.iam.RolePolicy(
        `${name}-schedule-policy`,
        {
            role: eventsRole.id,
            policy: JSON.stringify(
                policyDocument([
                    { Sid: "StartOwnMachine", Effect: "Allow", Action: ["states:StartExecution"], Resource: [`arn:${p}:states:${args.region}:${args.accountId}:stateMachine:${args.machineName}`] },
                ]),
            ),
        },
        { parent },
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
    /** Databases to snapshot each run (at least one). */
    databases: BackupDatabaseArgs[];
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
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait before it counts as a failure. Defaults to 180. */
    maxAttempts?: number;
    /** Days to keep the Lambda's logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** Scheduled snapshots of the configured databases, copied to the DR region, with retention. */
export class BackupSchedule extends pulumi.ComponentResource {
    /** The Lambda running every step. */
    public readonly function: BundledFunction;
    /** The state machine. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** ARN of the state machine. */
    public readonly stateMachineArn: pulumi.Output<string>;
    /** The schedule rule (disabled unless enabled). */
    public readonly rule: aws.cloudwatch.EventRule;
    /** The deployed definition. */
    public readonly definition: pulumi.Output<MachineDefinition>;

    constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:backup:BackupSchedule", name, {}, opts);
        const tags = args.tags ?? {};
        const keep = args.keep ?? 12;
        if (!Number.isInteger(keep) || keep < 1 || keep > 100) throw new Error(`BackupSchedule: keep must be a whole number from 1 to 100, got ${keep}`);
        if (args.databases.length === 0) throw new Error("BackupSchedule: databases must list at least one database");
        const base = jobName(args.namePrefix, "backup");
        const ctx = pulumi.all([args.sharedKeyArn, args.drKeyArn]).apply(
            ([sharedKeyArn, drKeyArn]): SnapshotPolicyContext => ({ job: BACKUP_JOB, accountId: args.accountId, homeRegion: args.region, drRegion: args.drRegion, databases: args.databases, sharedKeyArn, drKeyArn }),
        );
        this.function = new BundledFunction(
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
                    DATABASES: JSON.stringify(args.databases),
                    KEEP: String(keep),
                },
                logRetentionDays: args.logRetentionDays,
                tags,
            },
            { parent: this },
        );
        this.definition = pulumi
            .all([this.function.arn, args.alertFunctionArn])
            .apply(([job, alert]) => snapshotMachineDefinition({ job, alert }, { kind: "backup", pollIntervalSeconds: args.pollIntervalSeconds, maxAttempts: args.maxAttempts }));
        const { machine, rule } = machineWithSchedule(
            name,
            {
                machineName: base,
                accountId: args.accountId,
                region: args.region,
                definition: this.definition,
                functionArns: [this.function.arn, args.alertFunctionArn],
                schedule: { expression: args.schedule ?? "rate(2 hours)", enabled: args.scheduleEnabled ?? false, input: { databases: args.databases } },
                tags,
            },
            this,
        );
        this.stateMachine = machine;
        this.stateMachineArn = machine.arn;
        this.rule = rule!;
        this.registerOutputs({ stateMachineArn: this.stateMachineArn, functionArn: this.function.arn });
    }
}
