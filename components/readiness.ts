// DR readiness you can see: the age of the newest recovery point the dr stack could restore from
// (published by functions/rpo-metric on a schedule), an alarm per database at its RPO target that
// treats missing data as breaching, alarms on the media bucket's replication, and one dashboard
// that also shows every machine's failed executions and which schedules are off. Alarms invoke the
// alert Lambda directly (a CloudWatch Lambda alarm action), so they reach every alert channel.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { READINESS_NAMESPACE, RECOVERY_POINT_AGE_METRIC, RecoveryTarget } from "../functions/lib/readiness";
import { RESTORE_TEST_MINUTES_METRIC, RESTORE_TEST_SUCCEEDED_METRIC } from "../functions/lib/restoreTest";
import { PolicyStatement } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { partitionOf } from "./naming";

/** One database whose recovery point age is measured, and its target. */
export interface ReadinessDatabase {
    /** Where the dr stack's failover would restore it from. */
    target: RecoveryTarget;
    /** Alarm when the newest recovery point is older than this many minutes. */
    rpoMinutes: number;
}

/** A machine shown on the dashboard, and its schedule when it has one. */
export interface ReadinessMachine {
    /** Short name shown on the dashboard, e.g. "backup". */
    label: string;
    /** ARN of the state machine. */
    arn: pulumi.Input<string>;
    /** Whether its schedule rule is enabled; undefined when it has no schedule. */
    scheduleEnabled?: boolean;
}

/** Alarms on this stack's outgoing media replication (needs S3 replication metrics on the rule). */
export interface ReadinessReplication {
    sourceBucket: pulumi.Input<string>;
    destinationBucket: pulumi.Input<string>;
    /** Id of the replication rule (the metrics' RuleId dimension). */
    ruleId: string;
    /** Alarm when replication latency exceeds this many seconds. Defaults to 900 (the S3 RTC threshold). */
    latencyThresholdSeconds?: number;
}

export interface ReadinessArgs {
    /** Prefix of physical names (`<namePrefix>-readiness-...`). */
    namePrefix: string;
    accountId: string;
    region: string;
    /** Databases whose recovery point age is measured. Defaults to none (no function, no RPO alarms). */
    databases?: ReadinessDatabase[];
    /** How often the age is published. Defaults to `rate(15 minutes)`; always enabled (it only reads). */
    schedule?: string;
    /** Alarms on the media bucket's replication. Defaults to none. */
    replication?: ReadinessReplication;
    /** Machines whose failed, timed-out and aborted executions the dashboard shows. Defaults to none. */
    machines?: ReadinessMachine[];
    /** Databases whose restore tests (components/restoreTest.ts) the dashboard shows. Defaults to none. */
    restoreTests?: string[];
    /** The alert Lambda every alarm invokes. */
    alertFunctionArn: pulumi.Input<string>;
    /** Run the metric Lambda in the VPC. Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags of every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** Minutes between runs of a `rate(...)` schedule; undefined for a cron expression. Exported for testing. */
export function rateMinutes(expression: string): number | undefined {
    const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2].startsWith("minute") ? n : m[2].startsWith("hour") ? n * 60 : n * 1440;
}

/**
 * The default RPO alarm threshold for recovery points made on `schedule`: one interval plus half
 * an interval (at least an hour) for the run and its copy to finish. One missed run alarms; a
 * cron schedule (no fixed interval) defaults to a day and a half. Exported for testing.
 */
export function defaultRpoMinutes(schedule: string | undefined): number {
    const interval = schedule ? rateMinutes(schedule) : undefined;
    if (interval === undefined) return 2160;
    return interval + Math.max(60, Math.ceil(interval / 2));
}

/**
 * Default RPO target of a point-in-time failover: "The latest restorable time for a DB instance is
 * typically within 5 minutes of the current time" (RDS User Guide, point-in-time restore), and backup
 * replication copies "all snapshots and transaction logs as soon as they are ready on the DB
 * instance"; the metric publishes every 15 minutes. Those 5 minutes, the cross-region copy and a
 * late publication fit in half an hour, so an alarm means the replication has stalled.
 */
export const POINT_IN_TIME_RPO_MINUTES = 30;

/**
 * The default RPO target for a dr stack whose failover restores from `source`, from the schedules
 * that make its recovery points (the dr stack cannot read the primary's config when it runs; its
 * own file carries `copy.schedule` and, where it has `backups`, `backups.schedule`, which default
 * to the primary's defaults). `latestCopy`: the more frequent of the primary's copy source and
 * backups (both share into dr, or copy there in one account); `adopt`: the copy source only (the
 * copy target restores what it shares); `snapshot`: a named snapshot never gets newer, so a day
 * and a half; `pointInTime`: see `POINT_IN_TIME_RPO_MINUTES`. Exported for testing.
 */
export function defaultRpoForSource(
    source: "latestCopy" | "snapshot" | "pointInTime" | "adopt",
    schedules: { copySchedule?: string; backupsSchedule?: string },
): number {
    if (source === "pointInTime") return POINT_IN_TIME_RPO_MINUTES;
    const producers = source === "latestCopy" ? [schedules.copySchedule, schedules.backupsSchedule] : source === "adopt" ? [schedules.copySchedule] : [];
    const stated = producers.filter((x): x is string => x !== undefined).map(defaultRpoMinutes);
    return stated.length > 0 ? Math.min(...stated) : defaultRpoMinutes(undefined);
}

/** What the metric Lambda may do: read snapshots and automated backups, publish its namespace. Exported for testing. */
export function readinessStatements(args: { accountId: string; region: string; databases: ReadinessDatabase[] }): PolicyStatement[] {
    const p = partitionOf(args.region);
    const rds = (account: string, kind: string, id: string) => `arn:${p}:rds:${args.region}:${account}:${kind}:${id}`;
    const resources = new Set<string>();
    for (const { target } of args.databases) {
        const owners = [args.accountId, ...(target.kind === "snapshots" && target.sharedFrom ? [target.sharedFrom] : [])];
        if (target.kind === "automatedBackups") {
            resources.add(target.automatedBackupsArn);
            continue;
        }
        resources.add(rds(args.accountId, target.isCluster ? "cluster" : "db", target.database));
        for (const owner of owners) resources.add(rds(owner, target.isCluster ? "cluster-snapshot" : "snapshot", "*"));
    }
    const statements: PolicyStatement[] = [];
    if (resources.size > 0) {
        statements.push({
            Sid: "ReadRecoveryPoints",
            Effect: "Allow",
            Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots", "rds:DescribeDBInstanceAutomatedBackups"],
            Resource: [...resources].sort(),
        });
    }
    // PutMetricData has no resource-level permissions; the namespace condition scopes it.
    statements.push({
        Sid: "PublishReadinessMetrics",
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": READINESS_NAMESPACE } },
    });
    return statements;
}

/** Physical alarm name of one readiness alarm; every one starts with `<prefix>-readiness-`. Exported for testing. */
export function alarmName(namePrefix: string, what: string): string {
    return `${namePrefix}-readiness-${what}`;
}

type Widget = Record<string, unknown>;

/**
 * The dashboard: RPO age against its target per database, replication latency and failures, every
 * machine's failed/timed-out/aborted executions, and a table of schedules that says which are
 * off. Pure: ARNs in, dashboard JSON out. Exported for testing.
 */
export function dashboardBody(args: {
    region: string;
    databases: ReadinessDatabase[];
    replication?: { sourceBucket: string; destinationBucket: string; ruleId: string; latencyThresholdSeconds: number };
    machines: { label: string; arn: string; scheduleEnabled?: boolean }[];
    restoreTests?: string[];
}): string {
    const widgets: Widget[] = [];
    const at = (w: Widget, i: number, width = 12, height = 6): Widget => ({ ...w, width, height, x: (i % 2) * 12, y: Math.floor(i / 2) * height });
    const scheduled = args.machines.filter((m) => m.scheduleEnabled !== undefined);
    const off = scheduled.filter((m) => m.scheduleEnabled === false).map((m) => m.label);
    const lines = [
        "## pilotlight readiness",
        "Green: every recovery point younger than its target, no replication failures, no failed executions, every schedule on.",
        "",
        "| schedule | state |",
        "|---|---|",
        ...scheduled.map((m) => `| ${m.label} | ${m.scheduleEnabled ? "on" : "**OFF**: nothing new is made"} |`),
    ];
    if (scheduled.length === 0) lines.push("| (none on this stack) | |");
    if (off.length > 0) lines.push("", `**Off:** ${off.join(", ")}. Turn them on in the stack file (see docs/monitoring.md).`);
    const panels: Widget[] = [{ type: "text", properties: { markdown: lines.join("\n") } }];
    for (const d of args.databases) {
        panels.push({
            type: "metric",
            properties: {
                title: `Recovery point age: ${d.target.database} (minutes, target ${d.rpoMinutes})`,
                region: args.region,
                stat: "Maximum",
                period: 900,
                metrics: [[READINESS_NAMESPACE, RECOVERY_POINT_AGE_METRIC, "Database", d.target.database]],
                annotations: { horizontal: [{ label: "RPO target", value: d.rpoMinutes }] },
                yAxis: { left: { min: 0 } },
            },
        });
    }
    for (const database of args.restoreTests ?? []) {
        panels.push({
            type: "metric",
            properties: {
                title: `Restore test: ${database} (measured database RTO in minutes; result 1 = passed)`,
                region: args.region,
                stat: "Maximum",
                period: 86400,
                metrics: [
                    [READINESS_NAMESPACE, RESTORE_TEST_MINUTES_METRIC, "Database", database],
                    [READINESS_NAMESPACE, RESTORE_TEST_SUCCEEDED_METRIC, "Database", database, { stat: "Minimum", yAxis: "right" }],
                ],
            },
        });
    }
    if (args.replication) {
        const r = args.replication;
        const dims = ["SourceBucket", r.sourceBucket, "DestinationBucket", r.destinationBucket, "RuleId", r.ruleId];
        panels.push({
            type: "metric",
            properties: {
                title: "Media replication: latency (s) and failed operations",
                region: args.region,
                period: 300,
                metrics: [
                    ["AWS/S3", "ReplicationLatency", ...dims, { stat: "Maximum" }],
                    ["AWS/S3", "OperationsFailedReplication", ...dims, { stat: "Sum", yAxis: "right" }],
                ],
                annotations: { horizontal: [{ label: "latency threshold", value: r.latencyThresholdSeconds }] },
            },
        });
    }
    if (args.machines.length > 0) {
        panels.push({
            type: "metric",
            properties: {
                title: "Machines: failed, timed-out and aborted executions",
                region: args.region,
                stat: "Sum",
                period: 3600,
                metrics: args.machines.flatMap((m) =>
                    ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"].map((metric) => ["AWS/States", metric, "StateMachineArn", m.arn, { label: `${m.label} ${metric.slice(10).toLowerCase()}` }]),
                ),
            },
        });
    }
    panels.forEach((p, i) => widgets.push(at(p, i)));
    return JSON.stringify({ widgets });
}

/** The readiness function, its schedule, the alarms and the dashboard of one stack. */
export class Readiness extends pulumi.ComponentResource {
    /** The recovery point age publisher, when any database is measured. */
    public readonly function?: BundledFunction;
    /** Every alarm, by what it watches ("rpo-<db>", "replication-latency", "replication-failed"). */
    public readonly alarms: Record<string, aws.cloudwatch.MetricAlarm>;
    /** The dashboard. */
    public readonly dashboard: aws.cloudwatch.Dashboard;
    /** Name of the dashboard. */
    public readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: ReadinessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:readiness:Readiness", name, {}, opts);
        const tags = args.tags ?? {};
        const databases = args.databases ?? [];
        const p = partitionOf(args.region);
        const base = `${args.namePrefix}-${name}`;
        const child = { parent: this };
        this.alarms = {};

        // Alarms invoke the alert Lambda; this permission admits exactly this stack's readiness alarms.
        new aws.lambda.Permission(
            `${name}-alarms-invoke-alert`,
            {
                action: "lambda:InvokeFunction",
                function: args.alertFunctionArn,
                principal: "lambda.alarms.cloudwatch.amazonaws.com",
                sourceAccount: args.accountId,
                sourceArn: `arn:${p}:cloudwatch:${args.region}:${args.accountId}:alarm:${alarmName(args.namePrefix, "*")}`,
            },
            child,
        );
        const actions = [args.alertFunctionArn];

        if (databases.length > 0) {
            const targets = databases.map((d) => d.target);
            this.function = new BundledFunction(
                `${name}-fn`,
                {
                    job: "rpo-metric",
                    functionName: `${base}-rpo`,
                    description: "pilotlight readiness: age of the newest recovery point the dr stack can restore from",
                    accountId: args.accountId,
                    region: args.region,
                    statements: readinessStatements({ accountId: args.accountId, region: args.region, databases }),
                    environment: { TARGETS: JSON.stringify(targets) },
                    timeoutSeconds: 120,
                    vpc: args.vpc,
                    tags,
                },
                child,
            );
            const rule = new aws.cloudwatch.EventRule(
                `${name}-schedule`,
                { name: `${base}-rpo`, description: "Publish the recovery point age", scheduleExpression: args.schedule ?? "rate(15 minutes)", state: "ENABLED", tags },
                child,
            );
            new aws.lambda.Permission(
                `${name}-schedule-invoke`,
                { action: "lambda:InvokeFunction", function: this.function.arn, principal: "events.amazonaws.com", sourceArn: rule.arn, sourceAccount: args.accountId },
                child,
            );
            new aws.cloudwatch.EventTarget(`${name}-schedule-target`, { rule: rule.name, arn: this.function.arn }, child);

            for (const d of databases) {
                const id = d.target.database;
                this.alarms[`rpo-${id}`] = new aws.cloudwatch.MetricAlarm(
                    `${name}-rpo-${id}`,
                    {
                        name: alarmName(args.namePrefix, `rpo-${id}`),
                        alarmDescription: `The newest recovery point of ${id} that the dr stack can restore from is older than ${d.rpoMinutes} minutes, or nothing reports its age: a failover now would lose more than the target. See docs/monitoring.md.`,
                        namespace: READINESS_NAMESPACE,
                        metricName: RECOVERY_POINT_AGE_METRIC,
                        dimensions: { Database: id },
                        statistic: "Maximum",
                        period: 3600,
                        evaluationPeriods: 1,
                        datapointsToAlarm: 1,
                        comparisonOperator: "GreaterThanThreshold",
                        threshold: d.rpoMinutes,
                        // Silence is not "OK": no age published means no restorable recovery point or a broken publisher.
                        treatMissingData: "breaching",
                        alarmActions: actions,
                        okActions: actions,
                        tags,
                    },
                    child,
                );
            }
        }

        if (args.replication) {
            const r = args.replication;
            const dimensions = { SourceBucket: r.sourceBucket, DestinationBucket: r.destinationBucket, RuleId: r.ruleId };
            this.alarms["replication-latency"] = new aws.cloudwatch.MetricAlarm(
                `${name}-replication-latency`,
                {
                    name: alarmName(args.namePrefix, "replication-latency"),
                    alarmDescription: `Media replication (${r.ruleId}) lags more than ${r.latencyThresholdSeconds ?? 900} seconds: objects written now may be missing in DR. See docs/monitoring.md.`,
                    namespace: "AWS/S3",
                    metricName: "ReplicationLatency",
                    dimensions,
                    statistic: "Maximum",
                    period: 300,
                    evaluationPeriods: 3,
                    datapointsToAlarm: 3,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: r.latencyThresholdSeconds ?? 900,
                    // S3 publishes replication metrics only while there is something to replicate.
                    treatMissingData: "notBreaching",
                    alarmActions: actions,
                    okActions: actions,
                    tags,
                },
                child,
            );
            this.alarms["replication-failed"] = new aws.cloudwatch.MetricAlarm(
                `${name}-replication-failed`,
                {
                    name: alarmName(args.namePrefix, "replication-failed"),
                    alarmDescription: `Media objects failed to replicate (${r.ruleId}): they are not in DR until rewritten or replicated with S3 Batch Replication. See docs/monitoring.md.`,
                    namespace: "AWS/S3",
                    metricName: "OperationsFailedReplication",
                    dimensions,
                    statistic: "Sum",
                    period: 300,
                    evaluationPeriods: 1,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: 0,
                    treatMissingData: "notBreaching",
                    alarmActions: actions,
                    tags,
                },
                child,
            );
        }

        const machines = args.machines ?? [];
        const body = pulumi
            .all([
                pulumi.all(machines.map((m) => pulumi.output(m.arn))),
                args.replication ? pulumi.all([args.replication.sourceBucket, args.replication.destinationBucket]) : pulumi.output(undefined),
            ])
            .apply(([arns, buckets]) =>
                dashboardBody({
                    region: args.region,
                    databases,
                    replication:
                        args.replication && buckets
                            ? { sourceBucket: buckets[0], destinationBucket: buckets[1], ruleId: args.replication.ruleId, latencyThresholdSeconds: args.replication.latencyThresholdSeconds ?? 900 }
                            : undefined,
                    machines: machines.map((m, i) => ({ label: m.label, arn: arns[i], scheduleEnabled: m.scheduleEnabled })),
                    restoreTests: args.restoreTests,
                }),
            );
        this.dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: base, dashboardBody: body }, child);
        this.dashboardName = this.dashboard.dashboardName;
        this.registerOutputs({ dashboardName: this.dashboardName });
    }
}
