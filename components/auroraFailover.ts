// Aurora failover recovery for one cluster (primary stack): EventBridge rules
// that match only this cluster's failover events, the recovery state machine
// and its Lambdas, and the DynamoDB table holding the once-per-window guard.
// When Aurora fails over to a reader smaller than the intended writer, the
// machine adds a reader of the intended class at promotion tier 0, fails over
// to it, confirms it became the writer, and alerts.
import * as crypto from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AfterRecovery, recoveryInstancePrefix } from "../functions/lib/auroraFailover";
import { GUARD_KEY } from "../functions/lib/recoveryGuard";
import { PolicyStatement } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { auroraFailoverDefinition, RecoveryWaits } from "./machines/auroraFailover";
import { partitionOf } from "./naming";
import { LambdaStateMachine, startExecutionRole } from "./stateMachine";

/** RDS event that starts a recovery: "completed failover to DB instance". */
export const FAILOVER_COMPLETED = "RDS-EVENT-0071";
/** RDS events that are only recorded: "started same-AZ failover" and "started cross-AZ failover". */
export const FAILOVER_STARTED = ["RDS-EVENT-0072", "RDS-EVENT-0073"];

/** An EventBridge event pattern (the subset pilotlight uses: exact values). */
export interface EventPattern {
    source: string[];
    "detail-type": string[];
    detail: { EventID: string[]; SourceIdentifier: string[] };
}

/**
 * Pattern matching the given RDS cluster events of one cluster only.
 * `detail.SourceIdentifier` arrives bare or as `rds:<id>`; both are listed.
 */
export function clusterEventPattern(cluster: string, eventIds: string[]): EventPattern {
    if (eventIds.length === 0) throw new Error("an event pattern needs at least one RDS event ID");
    return {
        source: ["aws.rds"],
        "detail-type": ["RDS DB Cluster Event"],
        detail: { EventID: [...eventIds], SourceIdentifier: [cluster, `rds:${cluster}`] },
    };
}

/** The pattern of the rule that starts recovery. */
export function recoveryEventPattern(cluster: string): EventPattern {
    return clusterEventPattern(cluster, [FAILOVER_COMPLETED]);
}

/** The pattern of the rule that records failover starts. */
export function startedEventPattern(cluster: string): EventPattern {
    return clusterEventPattern(cluster, FAILOVER_STARTED);
}

/** What the recovery rule passes to the machine: the cluster as configured (never parsed from the event) plus the event for the record. */
export function recoveryInputTransformer(cluster: string): { inputPaths: Record<string, string>; inputTemplate: string } {
    return {
        inputPaths: { id: "$.id", time: "$.time", eventId: "$.detail.EventID", message: "$.detail.Message", source: "$.detail.SourceIdentifier" },
        inputTemplate: `{"clusterIdentifier": ${JSON.stringify(cluster)}, "event": {"id": <id>, "time": <time>, "eventId": <eventId>, "message": <message>, "sourceIdentifier": <source>}}`,
    };
}

/** Longest suffix added to the base name (`-completed`). */
const LONGEST_SUFFIX = 10;
const MAX_NAME = 64;

/**
 * Base of the physical names of one cluster's recovery: `<prefix>-aurora-<cluster>`,
 * shortened with a hash of the cluster when a name would pass AWS's 64 characters.
 */
export function recoveryBaseName(prefix: string, cluster: string): string {
    const full = `${prefix}-aurora-${cluster}`.toLowerCase();
    if (full.length + LONGEST_SUFFIX <= MAX_NAME) return full;
    const hash = crypto.createHash("sha256").update(cluster).digest("hex").slice(0, 6);
    const keep = MAX_NAME - LONGEST_SUFFIX - hash.length - 1;
    return `${full.slice(0, keep).replace(/-+$/, "")}-${hash}`;
}

/** Longest component name whose children's logical names keep auto-named IAM roles within 64 characters. */
export const MAX_CHILD_BASE = 40;

/**
 * The base of the children's logical names: the component's name, or for a long one (a cluster
 * id of up to 63 characters) `aurora-<hash>`, unique per name. Short names stay as they are, so
 * existing deployments keep their resources.
 */
export function recoveryChildName(name: string): string {
    if (name.length <= MAX_CHILD_BASE) return name;
    return `aurora-${crypto.createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
}

/** ARNs the recovery's policies are scoped to. */
export interface RecoveryScope {
    accountId: string;
    region: string;
    clusterIdentifier: string;
}

function rdsArn(s: RecoveryScope, kind: string, name: string): string {
    return `arn:${partitionOf(s.region)}:rds:${s.region}:${s.accountId}:${kind}:${name}`;
}

/** IAM statements of each recovery Lambda. Pure; exported for testing. */
export function recoveryStatements(
    s: RecoveryScope,
    opts: { tableArn: pulumi.Input<string>; writerClass?: string; monitoringRoleArn?: string; afterRecovery: AfterRecovery },
): Record<"assess" | "guard" | "record" | "reader" | "switch" | "demoted", PolicyStatement[]> {
    const cluster = rdsArn(s, "cluster", s.clusterIdentifier);
    const recoveryReaders = rdsArn(s, "db", `${recoveryInstancePrefix(s.clusterIdentifier)}*`);
    const members = rdsArn(s, "db", `${s.clusterIdentifier}-*`);
    const readCluster: PolicyStatement = { Sid: "ReadCluster", Effect: "Allow", Action: ["rds:DescribeDBClusters"], Resource: [cluster] };
    // Members may be named anything, so reads cover the account's instances in this region; reads change nothing.
    const readInstances: PolicyStatement = { Sid: "ReadInstances", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: [rdsArn(s, "db", "*")] };
    const claim = (sid: string): PolicyStatement => ({
        Sid: sid,
        Effect: "Allow",
        Action: ["dynamodb:UpdateItem"],
        Resource: [opts.tableArn],
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [s.clusterIdentifier] } },
    });
    const createReader: PolicyStatement = {
        Sid: "CreateRecoveryReader",
        Effect: "Allow",
        Action: ["rds:CreateDBInstance"],
        Resource: [recoveryReaders],
    };
    if (opts.writerClass) createReader.Condition = { StringEquals: { "rds:DatabaseClass": opts.writerClass } };
    const reader: PolicyStatement[] = [
        readCluster,
        readInstances,
        // The subnet group's name comes from the cluster at run time; describing it changes nothing.
        { Sid: "ReadSubnetGroups", Effect: "Allow", Action: ["rds:DescribeDBSubnetGroups"], Resource: [rdsArn(s, "subgrp", "*")] },
        createReader,
        {
            Sid: "CreateReaderInCluster",
            Effect: "Allow",
            Action: ["rds:CreateDBInstance"],
            Resource: [cluster, rdsArn(s, "pg", "*"), rdsArn(s, "og", "*"), rdsArn(s, "subgrp", "*")],
        },
        { Sid: "TagAndDiscardRecoveryReader", Effect: "Allow", Action: ["rds:AddTagsToResource", "rds:DeleteDBInstance"], Resource: [recoveryReaders] },
    ];
    // The new reader copies the template member's Performance Insights key; when a call names a
    // customer key, RDS uses the caller's KMS permissions. The key is the cluster's, read at run
    // time, so any key of this account and region, and only through RDS, only to grant RDS.
    reader.push({
        Sid: "UsePerformanceInsightsKeyThroughRds",
        Effect: "Allow",
        Action: ["kms:CreateGrant", "kms:DescribeKey"],
        Resource: [`arn:${partitionOf(s.region)}:kms:${s.region}:${s.accountId}:key/*`],
        Condition: { StringEquals: { "kms:ViaService": `rds.${s.region}.amazonaws.com` }, Bool: { "kms:GrantIsForAWSResource": "true" } },
    });
    if (opts.monitoringRoleArn) {
        reader.push({
            Sid: "PassMonitoringRole",
            Effect: "Allow",
            Action: ["iam:PassRole"],
            Resource: [opts.monitoringRoleArn],
            Condition: { StringEquals: { "iam:PassedToService": "monitoring.rds.amazonaws.com" } },
        });
    }
    const demoted: PolicyStatement[] = [readCluster, { Sid: "ReadMembers", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: [members] }];
    const demotedSid = { keep: "MoveDemotedMemberToLastTier", delete: "DeleteDemotedMember", resize: "ResizeDemotedMember" }[opts.afterRecovery];
    demoted.push({ Sid: demotedSid, Effect: "Allow", Action: [opts.afterRecovery === "delete" ? "rds:DeleteDBInstance" : "rds:ModifyDBInstance"], Resource: [members] });
    return {
        assess: [{ ...readCluster, Action: ["rds:DescribeDBClusters", "rds:ListTagsForResource"] }, readInstances],
        guard: [claim("ClaimRecoveryWindow")],
        // Reads only: which member is the writer as the failover starts, and its AZ.
        record: [claim("RecordFailoverStart"), readCluster, readInstances],
        reader,
        switch: [
            readCluster,
            { Sid: "ReadRecoveryReader", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: [recoveryReaders] },
            { Sid: "FailOverToRecoveryReader", Effect: "Allow", Action: ["rds:FailoverDBCluster"], Resource: [cluster] },
        ],
        demoted,
    };
}

export interface AuroraFailoverRecoveryArgs {
    /** Identifier of the Aurora cluster to watch. */
    clusterIdentifier: string;
    /** Intended writer instance class. Defaults to the cluster's `pilotlight:writer-class` tag, read at run time. */
    writerClass?: string;
    /** Enhanced-monitoring role the new reader may be given (the only role the Lambdas may pass). Defaults to none: no enhanced monitoring on the new reader. */
    monitoringRoleArn?: string;
    /** At most one recovery within this many hours. Defaults to 24. */
    windowHours?: number;
    /** After success: `keep`, `delete` or `resize` the demoted smaller instance. Defaults to `keep`. */
    afterRecovery?: AfterRecovery;
    /** Alert after a successful recovery too. Defaults to true. */
    notifyOnSuccess?: boolean;
    /** ARN of the shared alert Lambda (the Alerts component's `functionArn`). */
    alertFunctionArn: pulumi.Input<string>;
    /** Prefix of physical names. */
    namePrefix: string;
    /** Account and region of the cluster. */
    accountId: string;
    region: string;
    /** Run the Lambdas in the VPC (the network's `lambdaVpc`: RDS through its interface endpoint, DynamoDB through its gateway endpoint). Defaults to outside (they only call AWS APIs). */
    vpc?: LambdaVpcConfig;
    /** Polling limits of the machine. Defaults to `DEFAULT_RECOVERY_WAITS`. */
    waits?: RecoveryWaits;
    /** Days to keep Lambda and machine logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** Failover recovery for one Aurora cluster. */
export class AuroraFailoverRecovery extends pulumi.ComponentResource {
    /** The recovery state machine. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** Its ARN. */
    public readonly stateMachineArn: pulumi.Output<string>;
    /** The machine's definition (for review and tests). */
    public readonly definition: pulumi.Output<object>;
    /** The guard table (one item per cluster). */
    public readonly table: aws.dynamodb.Table;
    /** The rule on "failover completed" that starts the machine. */
    public readonly recoveryRule: aws.cloudwatch.EventRule;
    /** The rule on "failover started" that records it. */
    public readonly startedRule: aws.cloudwatch.EventRule;
    /** The Lambdas by job. */
    public readonly functions: Record<string, BundledFunction>;

    constructor(name: string, args: AuroraFailoverRecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:auroraFailover:AuroraFailoverRecovery", name, {}, opts);
        // Children's logical names feed auto-named physical names (IAM roles: logical name + 8, at most 64).
        const n = recoveryChildName(name);
        const tags = { ...(args.tags ?? {}), "pilotlight:cluster": args.clusterIdentifier };
        const after = args.afterRecovery ?? "keep";
        const windowHours = args.windowHours ?? 24;
        const base = recoveryBaseName(args.namePrefix, args.clusterIdentifier);
        const scope: RecoveryScope = { accountId: args.accountId, region: args.region, clusterIdentifier: args.clusterIdentifier };

        this.table = new aws.dynamodb.Table(
            `${n}-guard`,
            {
                name: `${base}-guard`,
                billingMode: "PAY_PER_REQUEST",
                hashKey: GUARD_KEY,
                attributes: [{ name: GUARD_KEY, type: "S" }],
                serverSideEncryption: { enabled: true },
                tags,
            },
            { parent: this },
        );

        const statements = recoveryStatements(scope, { tableArn: this.table.arn, writerClass: args.writerClass, monitoringRoleArn: args.monitoringRoleArn, afterRecovery: after });
        const env: Record<string, pulumi.Input<string>> = { CLUSTER_IDENTIFIER: args.clusterIdentifier };
        if (args.writerClass) env.WRITER_CLASS = args.writerClass;
        const jobs: { key: keyof typeof statements; job: string; description: string; environment: Record<string, pulumi.Input<string>> }[] = [
            { key: "assess", job: "aurora-assess", description: "Aurora failover recovery: decide wait / nothing / recover", environment: env },
            { key: "guard", job: "aurora-guard", description: "Aurora failover recovery: claim the once-per-window guard", environment: { ...env, TABLE_NAME: this.table.name, WINDOW_HOURS: String(windowHours) } },
            { key: "record", job: "aurora-record", description: "Aurora failover recovery: record failover starts", environment: { ...env, TABLE_NAME: this.table.name } },
            {
                key: "reader",
                job: "aurora-reader",
                description: "Aurora failover recovery: create, check, discard and tag the recovery reader",
                environment: args.monitoringRoleArn ? { ...env, MONITORING_ROLE_ARN: args.monitoringRoleArn } : env,
            },
            { key: "switch", job: "aurora-switch", description: "Aurora failover recovery: fail over to the recovery reader", environment: env },
        ];
        jobs.push({
            key: "demoted",
            job: "aurora-demoted",
            description: after === "keep" ? "Aurora failover recovery: move the demoted instance to the last promotion tier" : `Aurora failover recovery: ${after} the demoted instance`,
            environment: env,
        });
        this.functions = {};
        for (const j of jobs) {
            this.functions[j.key] = new BundledFunction(
                `${n}-${j.key}`,
                {
                    job: j.job,
                    functionName: `${base}-${j.key}`,
                    description: j.description,
                    statements: statements[j.key],
                    environment: j.environment,
                    vpc: args.vpc,
                    logRetentionDays: args.logRetentionDays,
                    accountId: args.accountId,
                    region: args.region,
                    tags,
                },
                { parent: this },
            );
        }

        const fns = this.functions;
        this.definition = pulumi
            .all([fns.assess.arn, fns.guard.arn, fns.reader.arn, fns.switch.arn, fns.demoted.arn, pulumi.output(args.alertFunctionArn)])
            .apply(([assessArn, guardArn, readerArn, switchArn, demotedArn, alertArn]) =>
                auroraFailoverDefinition({
                    assessArn,
                    guardArn,
                    readerArn,
                    switchArn,
                    demotedArn,
                    alertArn,
                    afterRecovery: after,
                    notifyOnSuccess: args.notifyOnSuccess ?? true,
                    waits: args.waits,
                }),
            );

        const machineName = `${base}-recovery`;
        this.stateMachine = new LambdaStateMachine(
            `${n}-machine`,
            {
                machineName,
                roleName: `${base}-machine`,
                accountId: args.accountId,
                definition: this.definition,
                functionArns: [fns.assess.arn, fns.guard.arn, fns.reader.arn, fns.switch.arn, fns.demoted.arn, pulumi.output(args.alertFunctionArn)],
                invokeSid: "InvokeRecoveryLambdas",
                logRetentionDays: args.logRetentionDays ?? 30,
                tags,
            },
            { parent: this },
        ).stateMachine;
        this.stateMachineArn = this.stateMachine.arn;

        // "Failover completed" starts the machine.
        this.recoveryRule = new aws.cloudwatch.EventRule(
            `${n}-completed`,
            {
                name: `${base}-completed`,
                description: `Aurora ${args.clusterIdentifier}: failover completed (${FAILOVER_COMPLETED}) starts recovery`,
                eventPattern: JSON.stringify(recoveryEventPattern(args.clusterIdentifier)),
                tags,
            },
            { parent: this },
        );
        const eventsRole = startExecutionRole(`${n}-events`, { roleName: `${base}-events`, accountId: args.accountId, sid: "StartRecovery", machineArn: this.stateMachine.arn, tags }, this);
        new aws.cloudwatch.EventTarget(
            `${n}-completed-target`,
            {
                rule: this.recoveryRule.name,
                targetId: "recovery-machine",
                arn: this.stateMachine.arn,
                roleArn: eventsRole.arn,
                inputTransformer: recoveryInputTransformer(args.clusterIdentifier),
                retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
            },
            { parent: this },
        );

        // "Failover started" is only recorded.
        this.startedRule = new aws.cloudwatch.EventRule(
            `${n}-started`,
            {
                name: `${base}-started`,
                description: `Aurora ${args.clusterIdentifier}: failover started (${FAILOVER_STARTED.join(", ")}) is recorded`,
                eventPattern: JSON.stringify(startedEventPattern(args.clusterIdentifier)),
                tags,
            },
            { parent: this },
        );
        const invokeRecord = new aws.lambda.Permission(
            `${n}-started-invoke`,
            { action: "lambda:InvokeFunction", function: fns.record.functionName, principal: "events.amazonaws.com", sourceArn: this.startedRule.arn },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${n}-started-target`,
            { rule: this.startedRule.name, targetId: "record-start", arn: fns.record.arn, retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 } },
            { parent: this, dependsOn: [invokeRecord] },
        );

        this.registerOutputs({ stateMachineArn: this.stateMachineArn, tableName: this.table.name, recoveryRule: this.recoveryRule.name, startedRule: this.startedRule.name });
    }
}
