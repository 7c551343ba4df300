// The restore machine: a Step Functions state machine (definition from
// components/machines/restore.ts) and its Lambdas, each with a role allowing
// only the RDS actions its handler calls on the managed databases; the
// machine's own role, log group and optional EventBridge schedules.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, policyDocument, PolicyStatement, renderPolicy } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { keysInRegion, partitionOf } from "./naming";
import { RestoreFunctionArns, restoreMachineDefinition, RestoreMachineDefinition, RestoreMachineOptions, resolveRestoreOptions } from "./machines/restore";
import { LambdaStateMachine, startExecutionRole } from "./stateMachine";
import { formatManagedKinds, parseRequest, RestoreRequest } from "../functions/lib/restoreJob";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { FINAL_INFIX, OLD_INFIX, SNAPSHOT_TAG_VALUE } from "../functions/lib/naming";

/** A scheduled run: an EventBridge rule that starts the machine with `input`. */
export interface RestoreSchedule {
    /** Rule name suffix (lowercase letters, digits, hyphens). */
    name: string;
    /** `cron(...)` or `rate(...)` EventBridge schedule expression. */
    expression: string;
    /** The execution input, e.g. `{"identifier": "wordpress", "task": "create_snapshot_only", "isCluster": false}`. */
    input: RestoreRequest;
    /** Whether the rule runs. Defaults to false: a schedule is created DISABLED unless enabled explicitly. */
    enabled?: boolean;
}

/** Where export_snapshot writes. */
export interface RestoreExportArgs {
    /** Bucket name the Parquet export goes to. */
    bucketName: pulumi.Input<string>;
    /** KMS key (ARN) the export is encrypted with. */
    kmsKeyArn: pulumi.Input<string>;
    /** Key prefix inside the bucket; the database identifier is appended. Defaults to "rds-exports". */
    prefix?: string;
}

/** A database the machine may touch, and whether it is an Aurora cluster. */
export interface RestoreDatabase {
    /** RDS instance or Aurora cluster identifier. */
    identifier: string;
    /** True for an Aurora cluster, false for an RDS instance. */
    isCluster: boolean;
}

export interface RestoreMachineArgs {
    /** Prefix of physical names: the machine is `<namePrefix>-<name>`, its Lambdas `<namePrefix>-<name>-<job>`. */
    namePrefix: string;
    /** Account and region the machine runs in. */
    accountId: string;
    region: string;
    /**
     * The databases (instances or Aurora clusters) the machine may touch. IAM scopes every Lambda to
     * `<identifier>` itself, the names the machine gives (`<identifier>-pl-old-<ts>`; for clusters only,
     * members `<identifier>-<suffix>` and their renamed forms) and `<identifier>-*` snapshots; anything
     * else is refused. The validate step refuses a run whose isCluster disagrees with the kind here.
     */
    databases: RestoreDatabase[];
    /** ARN of the alert Lambda (the Alerts component's `functionArn`). */
    alertFunctionArn: pulumi.Input<string>;
    /** Seconds between polls in every wait loop. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait loop before it counts as a failure and rolls back. Defaults to 180. */
    maxAttempts?: number;
    /** Whole-execution timeout in seconds. Defaults to the longest path through every loop plus one hour. */
    timeoutSeconds?: number;
    /** Alert on success too. Defaults to false. */
    notifyOnSuccess?: boolean;
    /** Pilotlight snapshots kept per database after create_snapshot*. Defaults to 2. */
    keepSnapshots?: number;
    /** export_snapshot destination. Defaults to none: export_snapshot is refused. */
    export?: RestoreExportArgs;
    /** Scheduled runs. Defaults to none. */
    schedules?: RestoreSchedule[];
    /** Days to keep the machine's and Lambdas' logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Run the Lambdas in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** The jobs under functions/ the machine runs, keyed like RestoreFunctionArns (alert comes from Alerts). */
export const RESTORE_JOBS = {
    validate: "restore-validate",
    snapshot: "restore-snapshot",
    prune: "restore-prune",
    status: "restore-status",
    rename: "restore-rename",
    restore: "restore-from-snapshot",
    applySettings: "restore-apply-settings",
    deleteOld: "restore-delete-old",
    rollback: "restore-rollback",
    export: "restore-export",
} as const;
export type RestoreJobKey = keyof typeof RESTORE_JOBS;

/** Everything the policy builder needs to know; plain strings so tests can call it directly. */
export interface RestorePolicyContext {
    accountId: string;
    region: string;
    databases: RestoreDatabase[];
    machineName: string;
    /** export role and key, when export is configured. */
    exportRoleArn?: string;
    exportKmsKeyArn?: string;
}

const SCHEDULE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Checks schedules at preview time: an invalid input or expression fails `pulumi up`, not 3 a.m. Exported for testing. */
export function validateSchedules(schedules: RestoreSchedule[], databases: RestoreDatabase[]): void {
    const seen = new Set<string>();
    for (const s of schedules) {
        if (!SCHEDULE_NAME_RE.test(s.name)) throw new Error(`restore schedule name "${s.name}": expected 1-40 lowercase letters, digits or hyphens`);
        if (seen.has(s.name)) throw new Error(`restore schedule name "${s.name}" is used twice`);
        seen.add(s.name);
        if (!/^(cron|rate)\(.+\)$/.test(s.expression)) {
            throw new Error(`restore schedule "${s.name}": expression "${s.expression}" must be cron(...) or rate(...)`);
        }
        let request: RestoreRequest;
        try {
            request = parseRequest(s.input);
        } catch (err) {
            throw new Error(`restore schedule "${s.name}": input is invalid: ${(err as Error).message}`);
        }
        const db = databases.find((d) => d.identifier === request.identifier);
        if (!db) {
            throw new Error(`restore schedule "${s.name}": '${request.identifier}' is not one of the managed databases (${databases.map((d) => d.identifier).join(", ")})`);
        }
        if (db.isCluster !== request.isCluster) {
            throw new Error(`restore schedule "${s.name}": input isCluster is ${request.isCluster} but '${db.identifier}' is configured as ${db.isCluster ? "an Aurora cluster" : "an RDS instance"}`);
        }
    }
}

/** IAM statements for one restore Lambda: only the actions its handler calls, on managed databases. Exported for testing. */
export function restoreLambdaStatements(job: RestoreJobKey, ctx: RestorePolicyContext): PolicyStatement[] {
    const p = partitionOf(ctx.region);
    const arnsFor = (ids: string[], type: string, suffix: string) => ids.map((d) => `arn:${p}:rds:${ctx.region}:${ctx.accountId}:${type}:${d}${suffix}`);
    const all = ctx.databases.map((d) => d.identifier);
    const instances = ctx.databases.filter((d) => !d.isCluster).map((d) => d.identifier);
    const clusters = ctx.databases.filter((d) => d.isCluster).map((d) => d.identifier);
    const rds = (type: string, suffix: string) => arnsFor(all, type, suffix);
    // The managed databases under their own names, never `<id>*`: that would match other databases (`<id>2`).
    const live = [...rds("db", ""), ...rds("cluster", "")];
    // Aurora clusters only: members, which validation requires to be `<id>` or `<id>-<suffix>`, under
    // their own names and renamed (`<member>-pl-old-<ts>`). An instance gets no `<id>-*` pattern.
    const members = arnsFor(clusters, "db", "-*");
    // The renamed original (runNames().old, oldMembers): all that delete-old may touch. An instance is
    // renamed `<id>-pl-old-<ts>`; a cluster `<id>-pl-old-<ts>` and its members `<member>-pl-old-<ts>`.
    const renamedInstances = arnsFor(instances, "db", `${OLD_INFIX}*`);
    const renamedClusters = arnsFor(clusters, "cluster", `${OLD_INFIX}*`);
    const renamedMembers = [...arnsFor(clusters, "db", `${OLD_INFIX}*`), ...arnsFor(clusters, "db", `-*${OLD_INFIX}*`)];
    const renamed = [...renamedInstances, ...renamedMembers, ...renamedClusters];
    const dbs = [...live, ...members, ...renamedInstances, ...renamedClusters];
    const snapshots = [...rds("snapshot", "-*"), ...rds("cluster-snapshot", "-*")];
    // Settings a restore or modify applies name these groups; RDS authorizes each one.
    const groups = ["pg", "cluster-pg", "og", "subgrp", "secgrp"].map((t) => `arn:${p}:rds:${ctx.region}:${ctx.accountId}:${t}:*`);
    const describe: PolicyStatement = {
        Sid: "DescribeManagedDatabases",
        Effect: "Allow",
        Action: ["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
        Resource: dbs,
    };
    const describeSnapshots: PolicyStatement = {
        Sid: "DescribeManagedSnapshots",
        Effect: "Allow",
        Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"],
        Resource: [...live, ...snapshots],
    };
    // RDS-managed master passwords: RDS creates or deletes the `rds!` secret on the caller's behalf.
    const managedSecret = (actions: string[]): PolicyStatement => ({
        Sid: "RdsManagedMasterSecret",
        Effect: "Allow",
        Action: actions,
        Resource: [`arn:${p}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:rds!*`],
    });
    // Encrypted snapshots, Performance Insights and managed secrets use KMS keys only through RDS.
    const keysViaRds: PolicyStatement = {
        Sid: "UseKeysThroughRds",
        Effect: "Allow",
        Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"],
        Resource: [keysInRegion({ accountId: ctx.accountId, region: ctx.region })],
        Condition: { StringEquals: { "kms:ViaService": `rds.${ctx.region}.amazonaws.com` } },
    };
    // Enhanced monitoring: the captured monitoring role is passed back to RDS.
    const passMonitoringRole: PolicyStatement = {
        Sid: "PassMonitoringRoleToRds",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: [`arn:${p}:iam::${ctx.accountId}:role/*`],
        Condition: { StringEquals: { "iam:PassedToService": "monitoring.rds.amazonaws.com" } },
    };
    const machineArn = `arn:${p}:states:${ctx.region}:${ctx.accountId}:stateMachine:${ctx.machineName}`;
    const executions = `arn:${p}:states:${ctx.region}:${ctx.accountId}:execution:${ctx.machineName}:*`;

    switch (job) {
        case "validate":
            return [
                describe,
                describeSnapshots,
                { Sid: "ReadManagedTags", Effect: "Allow", Action: ["rds:ListTagsForResource"], Resource: [...live, ...members, ...snapshots] },
                { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [machineArn] },
                { Sid: "ReadOwnExecutions", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: [executions] },
            ];
        case "snapshot":
            return [
                describeSnapshots,
                {
                    Sid: "SnapshotManagedDatabases",
                    Effect: "Allow",
                    Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"],
                    Resource: [...live, ...snapshots],
                },
            ];
        case "prune":
            return [
                describeSnapshots,
                {
                    Sid: "DeleteOnlyPilotlightSnapshots",
                    Effect: "Allow",
                    Action: ["rds:DeleteDBSnapshot"],
                    Resource: rds("snapshot", "-*"),
                    Condition: { StringEquals: { [`rds:snapshot-tag/${CREATED_BY_TAG}`]: SNAPSHOT_TAG_VALUE } },
                },
                {
                    Sid: "DeleteOnlyPilotlightClusterSnapshots",
                    Effect: "Allow",
                    Action: ["rds:DeleteDBClusterSnapshot"],
                    Resource: rds("cluster-snapshot", "-*"),
                    Condition: { StringEquals: { [`rds:cluster-snapshot-tag/${CREATED_BY_TAG}`]: SNAPSHOT_TAG_VALUE } },
                },
            ];
        case "status":
            return [
                describe,
                describeSnapshots,
                // DescribeExportTasks has no resource-level permissions.
                { Sid: "DescribeExportTasks", Effect: "Allow", Action: ["rds:DescribeExportTasks"], Resource: "*" },
            ];
        case "rename":
            return [describe, { Sid: "RenameManagedDatabases", Effect: "Allow", Action: ["rds:ModifyDBInstance", "rds:ModifyDBCluster"], Resource: dbs }];
        case "restore":
            return [
                describe,
                {
                    Sid: "RestoreManagedDatabases",
                    Effect: "Allow",
                    Action: ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance", "rds:AddTagsToResource"],
                    Resource: [...live, ...members, ...snapshots, ...groups],
                },
                keysViaRds,
                passMonitoringRole,
                managedSecret(["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"]),
            ];
        case "applySettings":
            return [
                // It looks before it modifies: only what the restored database does not have yet.
                describe,
                { Sid: "ModifyManagedDatabases", Effect: "Allow", Action: ["rds:ModifyDBInstance", "rds:ModifyDBCluster"], Resource: [...live, ...groups] },
                keysViaRds,
                passMonitoringRole,
                managedSecret(["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"]),
            ];
        case "deleteOld":
            return [
                // The renamed original, and the restored database whose new secret and key it reports when done.
                { ...describe, Sid: "DescribeRenamedOriginalAndRestore", Resource: [...renamed, ...live] },
                // Only the final snapshot it took counts as proof that the original's data is kept.
                { ...describeSnapshots, Resource: [...rds("snapshot", `${FINAL_INFIX}*`), ...rds("cluster-snapshot", `${FINAL_INFIX}*`)] },
                {
                    Sid: "DeleteRenamedOriginal",
                    Effect: "Allow",
                    Action: ["rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance", "rds:DeleteDBCluster"],
                    Resource: renamed,
                },
                // The final snapshot is created by the delete call, on the caller's authority.
                {
                    Sid: "TakeFinalSnapshot",
                    Effect: "Allow",
                    Action: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot"],
                    Resource: [...renamed, ...rds("snapshot", `${FINAL_INFIX}*`), ...rds("cluster-snapshot", `${FINAL_INFIX}*`)],
                },
                managedSecret(["secretsmanager:DeleteSecret"]),
            ];
        case "rollback":
            return [
                describe,
                // After the point of no return it reports the original's final snapshot, if one exists.
                { ...describeSnapshots, Resource: [...rds("snapshot", `${FINAL_INFIX}*`), ...rds("cluster-snapshot", `${FINAL_INFIX}*`)] },
                {
                    Sid: "RemoveHalfMadeRestoreAndRenameBack",
                    Effect: "Allow",
                    Action: ["rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance", "rds:DeleteDBCluster"],
                    Resource: dbs,
                },
                // After the point of no return it finishes deleting an original cluster whose members are already going.
                {
                    Sid: "TakeFinalSnapshotOfOriginalCluster",
                    Effect: "Allow",
                    Action: ["rds:CreateDBClusterSnapshot"],
                    Resource: [...renamedClusters, ...rds("cluster-snapshot", `${FINAL_INFIX}*`)],
                },
                managedSecret(["secretsmanager:DeleteSecret"]),
            ];
        case "export": {
            const statements: PolicyStatement[] = [describeSnapshots];
            if (ctx.exportRoleArn && ctx.exportKmsKeyArn) {
                // StartExportTask has no resource-level permissions: AWS authorizes it on "*" only.
                statements.push({ Sid: "StartSnapshotExport", Effect: "Allow", Action: ["rds:StartExportTask"], Resource: "*" });
                statements.push({ Sid: "PassExportRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: [ctx.exportRoleArn] });
                statements.push({
                    Sid: "UseExportKey",
                    Effect: "Allow",
                    Action: ["kms:CreateGrant", "kms:DescribeKey"],
                    Resource: [ctx.exportKmsKeyArn],
                });
            }
            return statements;
        }
        default: {
            const unknown: never = job;
            throw new Error(`no policy for restore job ${unknown as string}`);
        }
    }
}

/** The statements of the role RDS assumes to write an export into the bucket. Exported for testing. */
export function exportRoleStatements(bucketName: string, prefix: string, kmsKeyArn: string, region: string): PolicyStatement[] {
    const p = partitionOf(region);
    return [
        { Sid: "FindBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [`arn:${p}:s3:::${bucketName}`] },
        {
            Sid: "WriteExport",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            Resource: [`arn:${p}:s3:::${bucketName}/${prefix}/*`],
        },
        {
            Sid: "EncryptExport",
            Effect: "Allow",
            Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:ReEncrypt*"],
            Resource: [kmsKeyArn],
        },
    ];
}

/** The restore state machine, its Lambdas, roles, log group and schedules. */
export class RestoreMachine extends pulumi.ComponentResource {
    /** The state machine. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** ARN of the state machine: start executions here. */
    public readonly stateMachineArn: pulumi.Output<string>;
    /** The definition object deployed (`JSON.stringify` of exactly this object is the machine's definition). */
    public readonly definition: pulumi.Output<RestoreMachineDefinition>;
    /** The Lambdas, by job. */
    public readonly functions: Record<RestoreJobKey, BundledFunction>;
    /** The schedule rules, by schedule name. */
    public readonly rules: Record<string, aws.cloudwatch.EventRule>;
    /** The machine's TimeoutSeconds: what waits on one of its executions must outlast. */
    public readonly timeoutSeconds: number;

    constructor(name: string, args: RestoreMachineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:restore:RestoreMachine", name, {}, opts);
        const tags = args.tags ?? {};
        const p = partitionOf(args.region);
        if (args.databases.length === 0) throw new Error("RestoreMachine: databases must list at least one identifier");
        const schedules = args.schedules ?? [];
        const ids = args.databases.map((d) => d.identifier);
        const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
        if (duplicate !== undefined) throw new Error(`RestoreMachine: database '${duplicate}' is listed twice`);
        validateSchedules(schedules, args.databases);
        const machineOptions: RestoreMachineOptions = {
            pollIntervalSeconds: args.pollIntervalSeconds,
            maxAttempts: args.maxAttempts,
            timeoutSeconds: args.timeoutSeconds,
            notifyOnSuccess: args.notifyOnSuccess,
        };
        this.timeoutSeconds = resolveRestoreOptions(machineOptions).timeoutSeconds; // bad options fail at preview, not at deploy
        const base = `${args.namePrefix}-${name}`;
        const machineName = base;

        // The export role RDS assumes to write Parquet into the bucket.
        let exportRole: aws.iam.Role | undefined;
        const exportPrefix = args.export?.prefix ?? "rds-exports";
        if (args.export) {
            // `rds-export`: the export Lambda's own role and policy are `${name}-export-role`/`-policy`.
            exportRole = new aws.iam.Role(
                `${name}-rds-export-role`,
                { name: `${base}-export`, assumeRolePolicy: JSON.stringify(assumeRolePolicy("export.rds.amazonaws.com", args.accountId)), tags },
                { parent: this },
            );
            const exp = args.export;
            new aws.iam.RolePolicy(
                `${name}-rds-export-policy`,
                {
                    role: exportRole.id,
                    policy: renderPolicy(
                        pulumi.all([exp.bucketName, exp.kmsKeyArn]).apply(([bucket, key]) => policyDocument(exportRoleStatements(bucket, exportPrefix, key, args.region))),
                    ),
                },
                { parent: this },
            );
        }

        const ctx = pulumi
            .all([exportRole?.arn ?? pulumi.output(undefined), args.export?.kmsKeyArn ?? pulumi.output(undefined)])
            .apply(([exportRoleArn, exportKmsKeyArn]): RestorePolicyContext => ({
                accountId: args.accountId,
                region: args.region,
                databases: args.databases,
                machineName,
                exportRoleArn,
                exportKmsKeyArn,
            }));

        const environment: Record<RestoreJobKey, Record<string, pulumi.Input<string>> | undefined> = {
            validate: {
                MANAGED_IDENTIFIERS: ids.join(","),
                MANAGED_KINDS: formatManagedKinds(args.databases),
                EXPORT_ENABLED: args.export ? "true" : "false",
            },
            snapshot: undefined,
            prune: { KEEP_SNAPSHOTS: String(args.keepSnapshots ?? 2) },
            status: undefined,
            rename: undefined,
            restore: undefined,
            applySettings: undefined,
            deleteOld: undefined,
            rollback: undefined,
            export:
                args.export && exportRole
                    ? {
                          EXPORT_BUCKET: args.export.bucketName,
                          EXPORT_PREFIX: exportPrefix,
                          EXPORT_KMS_KEY_ARN: args.export.kmsKeyArn,
                          EXPORT_ROLE_ARN: exportRole.arn,
                      }
                    : undefined,
        };
        if ((args.keepSnapshots ?? 2) < 1 || !Number.isInteger(args.keepSnapshots ?? 2)) {
            throw new Error(`RestoreMachine: keepSnapshots must be a whole number of at least 1, got ${args.keepSnapshots}`);
        }

        const functions = {} as Record<RestoreJobKey, BundledFunction>;
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            const job = RESTORE_JOBS[key];
            functions[key] = new BundledFunction(
                `${name}-${job.replace(/^restore-/, "")}`,
                {
                    job,
                    functionName: `${base}-${job.replace(/^restore-/, "")}`,
                    description: `pilotlight restore machine: ${job}`,
                    accountId: args.accountId,
                    region: args.region,
                    statements: ctx.apply((c) => restoreLambdaStatements(key, c)),
                    environment: environment[key],
                    logRetentionDays: args.logRetentionDays,
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
        }
        this.functions = functions;

        const arns: pulumi.Output<RestoreFunctionArns> = pulumi
            .all({
            validate: functions.validate.arn,
            snapshot: functions.snapshot.arn,
            prune: functions.prune.arn,
            status: functions.status.arn,
            rename: functions.rename.arn,
            restore: functions.restore.arn,
            applySettings: functions.applySettings.arn,
            deleteOld: functions.deleteOld.arn,
            rollback: functions.rollback.arn,
            export: functions.export.arn,
            alert: args.alertFunctionArn,
        })
            .apply((a) => a as unknown as RestoreFunctionArns);
        this.definition = arns.apply((a) => restoreMachineDefinition(a, machineOptions));

        this.stateMachine = new LambdaStateMachine(
            `${name}-machine`,
            {
                machineName,
                roleName: `${base}-machine`,
                accountId: args.accountId,
                definition: this.definition,
                functionArns: arns.apply((a) => Object.values(a)),
                logRetentionDays: args.logRetentionDays ?? 30,
                tags,
            },
            { parent: this },
        ).stateMachine;
        this.stateMachineArn = this.stateMachine.arn;

        // Schedules: one rule each, DISABLED unless enabled in config.
        this.rules = {};
        if (schedules.length > 0) {
            const eventsRole = startExecutionRole(
                `${name}-schedule`,
                {
                    roleName: `${base}-schedules`,
                    accountId: args.accountId,
                    sid: "StartRestoreMachine",
                    machineArn: `arn:${p}:states:${args.region}:${args.accountId}:stateMachine:${machineName}`,
                    tags,
                },
                this,
            );
            for (const s of schedules) {
                const rule = new aws.cloudwatch.EventRule(
                    `${name}-${s.name}`,
                    {
                        name: `${base}-${s.name}`,
                        description: `pilotlight restore schedule ${s.name}: ${s.input.task} on ${s.input.identifier}`,
                        scheduleExpression: s.expression,
                        state: s.enabled === true ? "ENABLED" : "DISABLED",
                        tags,
                    },
                    { parent: this },
                );
                new aws.cloudwatch.EventTarget(
                    `${name}-${s.name}`,
                    { rule: rule.name, arn: this.stateMachine.arn, roleArn: eventsRole.arn, input: JSON.stringify(s.input) },
                    { parent: this },
                );
                this.rules[s.name] = rule;
            }
        }

        this.registerOutputs({ stateMachineArn: this.stateMachineArn, definition: this.definition });
    }
}
