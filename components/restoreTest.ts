// Restore tests (dr stack): a scheduled machine that restores the newest recovery point the failover
// would use into a throwaway database in the DR network, proves it answers on its port, records the
// time from the restore call to available as the measured database RTO, and deletes the throwaway.
// The throwaway has its own security group that admits only the probe Lambda: the app can never
// reach it, and it is never public. Its schedule is created disabled, like every other schedule.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RecoveryTarget } from "../functions/lib/readiness";
import { RESTORE_TEST_JOB } from "../functions/lib/restoreTest";
import { machineWithSchedule } from "./backupSchedule";
import { PolicyStatement } from "./iam";
import { BundledFunction } from "./lambdaFunction";
import { restoreTestDefinition } from "./machines/restoreTest";
import { jobName, partitionOf, stateMachineArn } from "./naming";
import { readinessStatements } from "./readiness";

export interface RestoreTestArgs {
    /** Prefix of physical names: the machine is `<namePrefix>-restore-test`, throwaways `<namePrefix>-rtest-<time>`. */
    namePrefix: string;
    accountId: string;
    region: string;
    /** The recovery point the dr stack's failover would restore (not replicated automated backups). */
    target: Exclude<RecoveryTarget, { kind: "automatedBackups" }>;
    /** Class of the throwaway (and of an Aurora throwaway's writer). Defaults to `db.t4g.medium`. */
    instanceClass?: string;
    /** The DR network: VPC, DB subnet group, and the subnets the probe runs in. */
    vpcId: pulumi.Input<string>;
    subnetGroupName: pulumi.Input<string>;
    probeSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Port the engine listens on. */
    port: number;
    /** This account's DR key: an Aurora throwaway is encrypted with it. */
    kmsKeyArn: pulumi.Input<string>;
    /** The shared alert Lambda. */
    alertFunctionArn: pulumi.Input<string>;
    /** Schedule of the test. Defaults to weekly (`rate(7 days)`), disabled. */
    schedule?: { expression: string; enabled: boolean };
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait. Defaults to 180. */
    maxAttempts?: number;
    tags?: Record<string, string>;
}

/** What the restore-test job may do: only throwaways by their name pattern, and only read the rest. Exported for testing. */
export function restoreTestStatements(args: {
    namePrefix: string;
    accountId: string;
    region: string;
    target: RecoveryTarget;
    machineName: string;
    subnetGroupName: string;
    kmsKeyArn: string;
}): PolicyStatement[] {
    const p = partitionOf(args.region);
    const own = (kind: string, id: string) => `arn:${p}:rds:${args.region}:${args.accountId}:${kind}:${id}`;
    const throwaway = `${args.namePrefix}-rtest-*`;
    const snapshotKind = args.target.isCluster ? "cluster-snapshot" : "snapshot";
    const sourceSnapshots = [own(snapshotKind, "*"), ...(args.target.kind === "snapshots" && args.target.sharedFrom ? [`arn:${p}:rds:${args.region}:${args.target.sharedFrom}:${snapshotKind}:*`] : [])];
    const keyOwners = [args.accountId, ...(args.target.kind === "snapshots" && args.target.sharedFrom ? [args.target.sharedFrom] : [])];
    const statements: PolicyStatement[] = [
        ...readinessStatements({ accountId: args.accountId, region: args.region, databases: [{ target: args.target, rpoMinutes: 0 }] }).filter((s) => s.Sid === "ReadRecoveryPoints" || s.Sid === "PublishReadinessMetrics"),
        // Listing finds leftovers of earlier runs, which are reported and never touched.
        { Sid: "ListDatabases", Effect: "Allow", Action: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ListTagsForResource"], Resource: [own("db", "*"), own("cluster", "*")] },
        { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [stateMachineArn({ accountId: args.accountId, region: args.region }, args.machineName)] },
        {
            Sid: "TagThrowawaysAtCreation",
            Effect: "Allow",
            Action: ["rds:AddTagsToResource"],
            Resource: [own("db", throwaway), own("cluster", throwaway)],
        },
        {
            Sid: "DeleteOnlyThrowaways",
            Effect: "Allow",
            Action: args.target.isCluster ? ["rds:DeleteDBInstance", "rds:DeleteDBCluster"] : ["rds:DeleteDBInstance"],
            Resource: args.target.isCluster ? [own("db", throwaway), own("cluster", throwaway)] : [own("db", throwaway)],
        },
        {
            // A restore needs the throwaway's new ARN, the snapshot, the subnet group and the default groups it takes.
            Sid: "RestoreThrowaways",
            Effect: "Allow",
            Action: args.target.isCluster ? ["rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance"] : ["rds:RestoreDBInstanceFromDBSnapshot"],
            Resource: [
                ...(args.target.isCluster ? [own("cluster", throwaway), own("db", throwaway), own("cluster-pg", "*")] : [own("db", throwaway)]),
                ...sourceSnapshots,
                own("subgrp", args.subnetGroupName),
                own("og", "*"),
                own("pg", "*"),
            ],
        },
        {
            // RDS uses the caller's KMS permissions for the snapshot's key and (Aurora) the DR key.
            Sid: "UseSnapshotKeysThroughRds",
            Effect: "Allow",
            Action: ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: [args.kmsKeyArn, ...keyOwners.filter((a) => a !== args.accountId).map((a) => `arn:${p}:kms:${args.region}:${a}:key/*`)],
            Condition: { StringEquals: { "kms:ViaService": `rds.${args.region}.amazonaws.com` } },
        },
    ];
    return statements;
}

/** The restore-test machine, its two Lambdas, the throwaway's and the probe's security groups, and the schedule. */
export class RestoreTest extends pulumi.ComponentResource {
    /** ARN of the machine. */
    public readonly stateMachineArn: pulumi.Output<string>;
    /** The schedule rule (disabled unless enabled). */
    public readonly rule?: aws.cloudwatch.EventRule;
    /** Security group of the throwaway: admits the probe only. */
    public readonly testSecurityGroupId: pulumi.Output<string>;

    constructor(name: string, args: RestoreTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:readiness:RestoreTest", name, {}, opts);
        const tags = args.tags ?? {};
        const child = { parent: this };
        const machineName = jobName(args.namePrefix, RESTORE_TEST_JOB);

        const testSg = new aws.ec2.SecurityGroup(
            `${name}-db`,
            { vpcId: args.vpcId, description: "Restore-test throwaway: from the restore-test probe only", revokeRulesOnDelete: true, tags: { ...tags, Name: `${args.namePrefix}-restore-test-db` } },
            child,
        );
        const probeSg = new aws.ec2.SecurityGroup(
            `${name}-probe`,
            { vpcId: args.vpcId, description: "Restore-test probe: to the throwaway's port only", revokeRulesOnDelete: true, tags: { ...tags, Name: `${args.namePrefix}-restore-test-probe` } },
            child,
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-db-from-probe`,
            { securityGroupId: testSg.id, referencedSecurityGroupId: probeSg.id, ipProtocol: "tcp", fromPort: args.port, toPort: args.port, description: "the probe's connection", tags },
            child,
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-probe-to-db`,
            { securityGroupId: probeSg.id, referencedSecurityGroupId: testSg.id, ipProtocol: "tcp", fromPort: args.port, toPort: args.port, description: "to the throwaway only", tags },
            child,
        );
        this.testSecurityGroupId = testSg.id;

        const job = new BundledFunction(
            `${name}-fn`,
            {
                job: RESTORE_TEST_JOB,
                functionName: machineName,
                description: "pilotlight restore test: plan, restore, wait, record, delete a throwaway",
                accountId: args.accountId,
                region: args.region,
                statements: pulumi.all([args.subnetGroupName, args.kmsKeyArn]).apply(([subnetGroupName, kmsKeyArn]) =>
                    restoreTestStatements({ namePrefix: args.namePrefix, accountId: args.accountId, region: args.region, target: args.target, machineName, subnetGroupName, kmsKeyArn }),
                ),
                environment: {
                    NAME_PREFIX: args.namePrefix,
                    TARGET: JSON.stringify([args.target]),
                    INSTANCE_CLASS: args.instanceClass ?? "db.t4g.medium",
                    SUBNET_GROUP_NAME: args.subnetGroupName,
                    SECURITY_GROUP_ID: testSg.id,
                    KMS_KEY_ARN: args.kmsKeyArn,
                },
                timeoutSeconds: 60,
                tags,
            },
            child,
        );
        const probe = new BundledFunction(
            `${name}-probe-fn`,
            {
                job: "restore-test-probe",
                functionName: `${machineName}-probe`,
                description: "pilotlight restore test: a TCP connection to the throwaway, from the DR network",
                accountId: args.accountId,
                region: args.region,
                timeoutSeconds: 30,
                vpc: { subnetIds: args.probeSubnetIds, securityGroupIds: [probeSg.id] },
                tags,
            },
            child,
        );
        const definition = pulumi
            .all([job.arn, probe.arn, args.alertFunctionArn])
            .apply(([jobArn, probeArn, alert]) =>
                restoreTestDefinition({ job: jobArn, probe: probeArn, alert }, { isCluster: args.target.isCluster, pollIntervalSeconds: args.pollIntervalSeconds, maxAttempts: args.maxAttempts }),
            );
        const { machine, rule } = machineWithSchedule(
            name,
            {
                machineName,
                accountId: args.accountId,
                region: args.region,
                definition,
                functionArns: [job.arn, probe.arn, args.alertFunctionArn],
                schedule: { expression: args.schedule?.expression ?? "rate(7 days)", enabled: args.schedule?.enabled ?? false, input: {} },
                tags,
            },
            this,
        );
        this.rule = rule;
        this.stateMachineArn = machine.arn;
        this.registerOutputs({ stateMachineArn: this.stateMachineArn, testSecurityGroupId: this.testSecurityGroupId });
    }
}
