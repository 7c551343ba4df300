// Cross-account copy of one RDS instance. Source side (primary): a machine snapshots
// the instance, copies it under the shared key to the target's region, shares that copy
// with the target account and announces it on a topic in the target's region (where the
// shared copy is), which the target account may subscribe to. Target side (dr): the stack
// subscribes its trigger Lambda to that topic from its own region (the topic's ARN is
// computed from the peer config), so no dr `pulumi up` calls the primary region; the trigger
// starts a machine that copies the shared snapshot under the DR key, restores `<name>-v<N>`,
// turns on its RDS-managed password, points a secret at it and keeps the newest copies.
// While the dr stack is failed over it adds the hold secret: the machine then touches
// neither the secret nor any copy.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COPY_SOURCE_JOB, COPY_TARGET_JOB } from "../functions/lib/backup";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { machineWithSchedule, SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS, SnapshotPolicyContext, snapshotJobStatements } from "./backupSchedule";
import { PolicyDocument, policyDocument, PolicyStatement } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { copyTargetDefinition, TARGET_LAMBDA_TIMEOUT_SECONDS } from "./machines/copyTarget";
import { MachineDefinition, snapshotMachineDefinition } from "./machines/snapshotMachine";
import { accountRoot, copyTopicName, jobName, keysInRegion, partitionOf, rdsArn, topicArn } from "./naming";

/**
 * Policy of the copy topic: the owning account publishes and manages it; the peer
 * account (only when it is another account) may subscribe Lambda endpoints and read
 * the topic's attributes, nothing else. Publishing requires TLS. Exported for testing.
 */
export function copyTopicPolicy(topic: string, accountId: string, region: string, peerAccountId?: string): PolicyDocument {
    const statements: PolicyStatement[] = [
        {
            Sid: "OwnerManagesAndPublishes",
            Effect: "Allow",
            Principal: { AWS: accountRoot(accountId, region) },
            Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListSubscriptionsByTopic"],
            Resource: topic,
        },
        // A Deny: every principal, this topic only, only when the request is not over TLS.
        { Sid: "PublishOverTlsOnly", Effect: "Deny", Principal: { AWS: "*" }, Action: ["sns:Publish"], Resource: topic, Condition: { Bool: { "aws:SecureTransport": false } } },
    ];
    if (peerAccountId && peerAccountId !== accountId) {
        statements.push({
            Sid: "PeerSubscribesLambda",
            Effect: "Allow",
            Principal: { AWS: accountRoot(peerAccountId, region) },
            Action: ["sns:Subscribe", "sns:GetTopicAttributes"],
            Resource: topic,
            Condition: { StringEquals: { "sns:Protocol": "lambda" } },
        });
    }
    return policyDocument(statements);
}

/** What the target's policies are made of. */
export interface CopyTargetPolicyContext {
    namePrefix: string;
    accountId: string;
    region: string;
    /** The source account (owner of the shared snapshots and of the replica key they are under). */
    sourceAccountId: string;
    sourceIdentifier: string;
    targetName: string;
    drKeyArn: string;
    secretArn: string;
    /** Name of the hold secret (`holdSecretName`). */
    holdSecretName: string;
}

/** Name of the secret whose existence holds the copy target: `<secretName>/hold`. */
export function holdSecretName(secretName: string): string {
    return `${secretName}/hold`;
}

/** IAM statements of the copy target Lambda. Exported for testing. */
export function copyTargetStatements(ctx: CopyTargetPolicyContext): PolicyStatement[] {
    const own = { accountId: ctx.accountId, region: ctx.region };
    const shared = rdsArn({ accountId: ctx.sourceAccountId, region: ctx.region }, "snapshot", `${ctx.sourceIdentifier}-*`);
    const copies = rdsArn(own, "db", `${ctx.targetName}-v*`);
    const copySnapshots = rdsArn(own, "snapshot", `${ctx.targetName}-v*`);
    return [
        // Numbering reads every instance and snapshot name of the account: listing is authorized on the wildcard ARN.
        { Sid: "ListInstancesAndSnapshots", Effect: "Allow", Action: ["rds:DescribeDBInstances", "rds:DescribeDBSnapshots"], Resource: [rdsArn(own, "db", "*"), rdsArn(own, "snapshot", "*"), shared] },
        { Sid: "CopySharedSnapshot", Effect: "Allow", Action: ["rds:CopyDBSnapshot"], Resource: [shared, copySnapshots] },
        { Sid: "TagOwnCopies", Effect: "Allow", Action: ["rds:AddTagsToResource"], Resource: [copySnapshots, copies] },
        // Turning on the RDS-managed master password of its own copies, nothing else.
        {
            Sid: "ManagePasswordOfOwnCopies",
            Effect: "Allow",
            Action: ["rds:ModifyDBInstance"],
            Resource: [copies],
            Condition: { StringEquals: { [`rds:db-tag/${CREATED_BY_TAG}`]: COPY_TARGET_JOB } },
        },
        // RDS creates the managed secret (named rds!db-<uuid>) on the caller's authority (RDS user guide, "Permissions required for Secrets Manager integration").
        { Sid: "CreateManagedPasswordSecret", Effect: "Allow", Action: ["secretsmanager:CreateSecret", "secretsmanager:TagResource"], Resource: [`arn:${partitionOf(ctx.region)}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:rds!db-*`] },
        // The hold exists while the dr stack is failed over; only its metadata is read.
        { Sid: "ReadHold", Effect: "Allow", Action: ["secretsmanager:DescribeSecret"], Resource: [`arn:${partitionOf(ctx.region)}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${ctx.holdSecretName}-??????`] },
        {
            Sid: "RestoreCopies",
            Effect: "Allow",
            Action: ["rds:RestoreDBInstanceFromDBSnapshot"],
            Resource: [copies, copySnapshots, ...(["subgrp", "pg", "og", "secgrp"] as const).map((k) => rdsArn(own, k, "*"))],
        },
        {
            Sid: "DeleteOnlyOwnCopies",
            Effect: "Allow",
            Action: ["rds:DeleteDBInstance"],
            Resource: [copies],
            Condition: { StringEquals: { [`rds:db-tag/${CREATED_BY_TAG}`]: COPY_TARGET_JOB } },
        },
        // Deleting with a final snapshot creates it.
        { Sid: "FinalSnapshotOfCopies", Effect: "Allow", Action: ["rds:CreateDBSnapshot"], Resource: [copies, rdsArn(own, "snapshot", `${ctx.targetName}-v*-final`)] },
        {
            Sid: "DeleteOnlyOwnCopySnapshots",
            Effect: "Allow",
            Action: ["rds:DeleteDBSnapshot"],
            Resource: [copySnapshots],
            Condition: { StringEquals: { [`rds:snapshot-tag/${CREATED_BY_TAG}`]: COPY_TARGET_JOB } },
        },
        {
            Sid: "UseDrKeyThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: [ctx.drKeyArn],
            Condition: { StringEquals: { "kms:ViaService": `rds.${ctx.region}.amazonaws.com` } },
        },
        {
            // The source's replica key has a random id: admitted by its alias, only through RDS.
            Sid: "ReadSourceReplicaKeyThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"],
            Resource: [keysInRegion({ accountId: ctx.sourceAccountId, region: ctx.region })],
            Condition: {
                StringEquals: { "kms:ViaService": `rds.${ctx.region}.amazonaws.com` },
                "ForAnyValue:StringEquals": { "kms:ResourceAliases": `alias/${ctx.namePrefix}-shared` },
            },
        },
        { Sid: "PointSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], Resource: [ctx.secretArn] },
        // The secret and the copies' managed passwords are encrypted with the DR key, through Secrets Manager
        // ("the user who specifies the customer managed key ... kms:Decrypt, kms:GenerateDataKey, kms:CreateGrant").
        {
            Sid: "SecretKeyThroughSecretsManager",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"],
            Resource: [ctx.drKeyArn],
            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${ctx.region}.amazonaws.com` } },
        },
    ];
}

/** Source side (primary). */
export interface SnapshotCopySourceArgs {
    side: "source";
    /** Prefix of physical names: machine and Lambda `<namePrefix>-copy-source`, topic `<namePrefix>-snapshot-copy` (in `peerRegion`). */
    namePrefix: string;
    accountId: string;
    region: string;
    /** The target's account; equal to `accountId` in a same-account setup (then nothing is shared). */
    peerAccountId: string;
    /** The target's region: where the shared copy is made. */
    peerRegion: string;
    /** The instance copied. */
    sourceIdentifier: string;
    /** ARN of the shared key. */
    sharedKeyArn: pulumi.Input<string>;
    /** ARN of the shared key's replica in the target's region (it also encrypts the topic). */
    drKeyArn: pulumi.Input<string>;
    /** Provider of this account in the target's region: the topic lives there, beside the shared copies. */
    peerRegionProvider: pulumi.ProviderResource;
    /** ARN of the alert Lambda. */
    alertFunctionArn: pulumi.Input<string>;
    /** Shared snapshots kept in each region. Defaults to 2. */
    keep?: number;
    /** EventBridge schedule. Defaults to `rate(1 day)`. */
    schedule?: string;
    /** Whether the schedule runs. Defaults to false. */
    scheduleEnabled?: boolean;
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait. Defaults to 180. */
    maxAttempts?: number;
    /** Run the Lambdas in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** Target side (dr). */
export interface SnapshotCopyTargetArgs {
    side: "target";
    /** Prefix of physical names: machine and Lambda `<namePrefix>-copy-target`, trigger `<namePrefix>-copy-trigger`. */
    namePrefix: string;
    accountId: string;
    region: string;
    /** The source account. */
    sourceAccountId: string;
    /** The instance the shared snapshots are of. */
    sourceIdentifier: string;
    /** Copies are `<targetName>-v<N>`. */
    targetName: string;
    /** ARN of this account's DR key: copies and the secret are encrypted with it. */
    drKeyArn: pulumi.Input<string>;
    /** Name of the secret holding `{host, port, identifier, version, engine, masterUserSecretArn, sourceSnapshotArn, sourceCreatedAt}`. */
    secretName: string;
    /** The dr stack is failed over: creates the hold secret, so the machine leaves the secret and the copies alone. Defaults to false. */
    failedOver?: boolean;
    /** Copies kept. Defaults to 2. */
    keep?: number;
    /** Restore settings of each copy. */
    restore: {
        /** Instance class. */
        instanceClass: string;
        /** DB subnet group name. */
        subnetGroupName: pulumi.Input<string>;
        /** VPC security groups. */
        securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
        /** DB parameter group. Defaults to the engine's default. */
        parameterGroupName?: string;
        /** Multi-AZ. Defaults to false. */
        multiAz?: boolean;
        /** Extra tags on each copy. Defaults to none. */
        tags?: Record<string, string>;
    };
    /** ARN of the alert Lambda. */
    alertFunctionArn: pulumi.Input<string>;
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait. Defaults to 180. */
    maxAttempts?: number;
    /** Run the Lambdas in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

export type SnapshotCopyArgs = SnapshotCopySourceArgs | SnapshotCopyTargetArgs;

/** One side of the cross-account copy. */
export class SnapshotCopy extends pulumi.ComponentResource {
    /** The side's state machine. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** ARN of the state machine. */
    public readonly stateMachineArn: pulumi.Output<string>;
    /** The deployed definition. */
    public readonly definition: pulumi.Output<MachineDefinition>;
    /** Source: the topic announcing shared snapshots. */
    public readonly topicArn?: pulumi.Output<string>;
    /** Target: the secret pointing at the current copy. */
    public readonly secretArn?: pulumi.Output<string>;
    /** Source: the schedule rule (disabled unless enabled). */
    public readonly rule?: aws.cloudwatch.EventRule;

    constructor(name: string, args: SnapshotCopyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:copy:SnapshotCopy", name, {}, opts);
        const tags = args.tags ?? {};
        const keep = args.keep ?? 2;
        if (!Number.isInteger(keep) || keep < 1 || keep > 20) throw new Error(`SnapshotCopy: keep must be a whole number from 1 to 20, got ${keep}`);
        const poll = { pollIntervalSeconds: args.pollIntervalSeconds, maxAttempts: args.maxAttempts };

        if (args.side === "source") {
            const sameAccount = args.peerAccountId === args.accountId;
            const topicName = copyTopicName(args.namePrefix);
            // In the target's region: the dr stack subscribes from its own region, never needing this one.
            const topic = topicArn({ accountId: args.accountId, region: args.peerRegion }, topicName);
            const inPeerRegion = { parent: this, provider: args.peerRegionProvider };
            const t = new aws.sns.Topic(`${name}-topic`, { name: topicName, kmsMasterKeyId: args.drKeyArn, tags }, inPeerRegion);
            new aws.sns.TopicPolicy(`${name}-topic-policy`, { arn: t.arn, policy: JSON.stringify(copyTopicPolicy(topic, args.accountId, args.peerRegion, args.peerAccountId)) }, inPeerRegion);
            this.topicArn = t.arn;
            const base = jobName(args.namePrefix, "copy-source");
            const databases = [{ identifier: args.sourceIdentifier, isCluster: false }];
            const ctx = pulumi.all([args.sharedKeyArn, args.drKeyArn]).apply(
                ([sharedKeyArn, drKeyArn]): SnapshotPolicyContext => ({
                    job: COPY_SOURCE_JOB,
                    machineName: base,
                    accountId: args.accountId,
                    homeRegion: args.region,
                    drRegion: args.peerRegion,
                    databases,
                    sharedKeyArn,
                    drKeyArn,
                    peerAccountId: sameAccount ? undefined : args.peerAccountId,
                    topicArn: topic,
                }),
            );
            const fn = new BundledFunction(
                `${name}-fn`,
                {
                    job: "copy-source",
                    functionName: base,
                    description: "pilotlight copy source: snapshot, copy to the target's region, share, announce",
                    accountId: args.accountId,
                    region: args.region,
                    statements: ctx.apply(snapshotJobStatements),
                    environment: {
                        HOME_REGION: args.region,
                        DR_REGION: args.peerRegion,
                        SHARED_KEY_ARN: args.sharedKeyArn,
                        DR_KEY_ARN: args.drKeyArn,
                        DATABASES: JSON.stringify(databases),
                        KEEP: String(keep),
                        PEER_ACCOUNT_ID: sameAccount ? "" : args.peerAccountId,
                        TOPIC_ARN: t.arn,
                    },
                    timeoutSeconds: SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS,
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            this.definition = pulumi
                .all([fn.arn, args.alertFunctionArn])
                .apply(([job, alert]) => snapshotMachineDefinition({ job, alert }, { kind: "copy-source", ...poll }));
            const { machine, rule } = machineWithSchedule(
                name,
                {
                    machineName: base,
                    accountId: args.accountId,
                    region: args.region,
                    definition: this.definition,
                    functionArns: [fn.arn, args.alertFunctionArn],
                    schedule: { expression: args.schedule ?? "rate(1 day)", enabled: args.scheduleEnabled ?? false, input: {} },
                    distributedMap: true,
                    tags,
                },
                this,
            );
            this.stateMachine = machine;
            this.rule = rule;
        } else {
            const base = jobName(args.namePrefix, "copy-target");
            const machineName = base;
            const p = partitionOf(args.region);
            const machineArn = `arn:${p}:states:${args.region}:${args.accountId}:stateMachine:${machineName}`;
            const secret = new aws.secretsmanager.Secret(
                `${name}-secret`,
                {
                    name: args.secretName,
                    description: "pilotlight: the current cross-account copy {host, port, identifier, version}",
                    kmsKeyId: args.drKeyArn,
                    // The pointer is what readers use to find the current copy: deleted by mistake it stays
                    // restorable (`aws secretsmanager restore-secret`) for the longest window AWS offers.
                    // Turning the copy target off and on within those 30 days needs that restore first.
                    recoveryWindowInDays: 30,
                    tags,
                },
                { parent: this },
            );
            this.secretArn = secret.arn;
            const hold = holdSecretName(args.secretName);
            if (args.failedOver) {
                // Only its existence matters; no recovery window, so failing over again can re-create it at once.
                new aws.secretsmanager.Secret(
                    `${name}-hold`,
                    { name: hold, description: "the dr stack is failed over (failover: true): the copy target leaves its secret and every copy alone", recoveryWindowInDays: 0, kmsKeyId: args.drKeyArn, tags },
                    { parent: this },
                );
            }
            const ctx = pulumi.all([args.drKeyArn, secret.arn]).apply(
                ([drKeyArn, secretArn]): CopyTargetPolicyContext => ({
                    namePrefix: args.namePrefix,
                    accountId: args.accountId,
                    region: args.region,
                    sourceAccountId: args.sourceAccountId,
                    sourceIdentifier: args.sourceIdentifier,
                    targetName: args.targetName,
                    drKeyArn,
                    secretArn,
                    holdSecretName: hold,
                }),
            );
            const fn = new BundledFunction(
                `${name}-fn`,
                {
                    job: "copy-target",
                    functionName: base,
                    description: "pilotlight copy target: copy, restore <name>-v<N>, manage its password, point the secret, keep the newest",
                    accountId: args.accountId,
                    region: args.region,
                    statements: ctx.apply(copyTargetStatements),
                    timeoutSeconds: TARGET_LAMBDA_TIMEOUT_SECONDS,
                    environment: {
                        TARGET_NAME: args.targetName,
                        TARGET_REGION: args.region,
                        SOURCE_ACCOUNT_ID: args.sourceAccountId,
                        SOURCE_IDENTIFIER: args.sourceIdentifier,
                        DR_KEY_ARN: args.drKeyArn,
                        SECRET_ID: secret.arn,
                        HOLD_SECRET_ID: hold,
                        KEEP: String(keep),
                        INSTANCE_CLASS: args.restore.instanceClass,
                        SUBNET_GROUP_NAME: args.restore.subnetGroupName,
                        SECURITY_GROUP_IDS: pulumi.output(args.restore.securityGroupIds).apply((ids) => ids.join(",")),
                        PARAMETER_GROUP_NAME: args.restore.parameterGroupName ?? "",
                        MULTI_AZ: String(args.restore.multiAz ?? false),
                        COPY_TAGS: JSON.stringify(args.restore.tags ?? {}),
                    },
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            this.definition = pulumi.all([fn.arn, args.alertFunctionArn]).apply(([job, alert]) => copyTargetDefinition({ job, alert }, poll));
            const { machine } = machineWithSchedule(
                name,
                { machineName, accountId: args.accountId, region: args.region, definition: this.definition, functionArns: [fn.arn, args.alertFunctionArn], tags },
                this,
            );
            this.stateMachine = machine;

            const trigger = new BundledFunction(
                `${name}-trigger`,
                {
                    job: "copy-trigger",
                    functionName: jobName(args.namePrefix, "copy-trigger"),
                    description: "pilotlight copy trigger: starts the copy target machine once per shared snapshot",
                    accountId: args.accountId,
                    region: args.region,
                    statements: [{ Sid: "StartCopyTarget", Effect: "Allow", Action: ["states:StartExecution"], Resource: [machineArn] }],
                    environment: { STATE_MACHINE_ARN: machineArn, SOURCE_ACCOUNT_ID: args.sourceAccountId, SOURCE_IDENTIFIER: args.sourceIdentifier, TARGET_REGION: args.region },
                    vpc: args.vpc,
                    tags,
                },
                { parent: this },
            );
            // The source announces in this region: subscribing needs nothing from the primary region.
            const sourceTopic = topicArn({ accountId: args.sourceAccountId, region: args.region }, copyTopicName(args.namePrefix));
            const permission = new aws.lambda.Permission(
                `${name}-trigger-from-topic`,
                { function: trigger.functionName, action: "lambda:InvokeFunction", principal: "sns.amazonaws.com", sourceArn: sourceTopic },
                { parent: this },
            );
            new aws.sns.TopicSubscription(
                `${name}-subscription`,
                { topic: sourceTopic, protocol: "lambda", endpoint: trigger.arn },
                { parent: this, dependsOn: [permission] },
            );
        }
        this.stateMachineArn = this.stateMachine.arn;
        this.registerOutputs({ stateMachineArn: this.stateMachineArn, topicArn: this.topicArn, secretArn: this.secretArn });
    }
}
