// Alerts shared by every pilotlight machine: an encrypted SNS topic, optional SES
// e-mail and Slack webhooks, and the alert Lambda (functions/alert) that sends
// one message to every channel independently. Machines invoke `functionArn`
// with an AlertEvent (functions/lib/alert.ts): database, task, failed step,
// error, cause, rollback outcome and the execution's ARN for a console link.
// An EventBridge rule sends it every execution of this stack's machines that ends
// FAILED, TIMED_OUT or ABORTED: those ends never pass a machine's own failure alert.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALERTED_STATUSES, EXECUTION_STATUS_CHANGE } from "../functions/lib/alert";
import { PolicyStatement } from "./iam";
import { BundledFunction, LambdaVpcConfig } from "./lambdaFunction";
import { partitionOf } from "./naming";

export interface AlertsArgs {
    /** Prefix of physical names (`<namePrefix>-<name>-...`). */
    namePrefix: string;
    /** Account and region the alerts live in. */
    accountId: string;
    region: string;
    /** KMS key (ARN) encrypting the topic and the Slack secret. Defaults to the AWS-managed keys `alias/aws/sns` and `aws/secretsmanager`. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Verified SES identity (address) alerts are sent from. Defaults to none: no e-mail. */
    emailSender?: string;
    /** Addresses alerts are e-mailed to. Defaults to none. */
    emailRecipients?: string[];
    /** Slack incoming-webhook URLs, as a Pulumi secret. Stored in Secrets Manager; the Lambda reads them at run time. Defaults to none. */
    slackWebhookUrls?: pulumi.Input<string[]>;
    /** Days to keep the alert Lambda's logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Run the alert Lambda in the VPC (the network's `lambdaVpc`). Defaults to outside. */
    vpc?: LambdaVpcConfig;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/** Domain of an e-mail address (SES authorizes sending on the address or its domain identity). */
export function emailDomain(address: string): string {
    const at = address.lastIndexOf("@");
    if (at < 1 || at === address.length - 1) throw new Error(`"${address}" is not an e-mail address`);
    return address.slice(at + 1);
}

/**
 * Prefix of the ARN of every state machine of a stack: every machine's physical name starts
 * with `<namePrefix>-` (tests/alerts.test.ts checks this over the whole program).
 */
export function stackMachineArnPrefix(args: { accountId: string; region: string; namePrefix: string }): string {
    return `arn:${partitionOf(args.region)}:states:${args.region}:${args.accountId}:stateMachine:${args.namePrefix}-`;
}

/** The execution-status rule's pattern: this stack's machines' executions that end other than SUCCEEDED. */
export function executionStatusPattern(args: { accountId: string; region: string; namePrefix: string }): object {
    return {
        source: ["aws.states"],
        "detail-type": [EXECUTION_STATUS_CHANGE],
        detail: { status: [...ALERTED_STATUSES], stateMachineArn: [{ prefix: stackMachineArnPrefix(args) }] },
    };
}

/** What the alert Lambda may do: publish to its topic, send as its sender, read its secret. Exported for testing. */
export function alertStatements(args: {
    accountId: string;
    region: string;
    /** The stack's name prefix: the alert reads the history of its machines' failed executions. Defaults to none. */
    namePrefix?: string;
    topicArn: pulumi.Input<string>;
    emailSender?: string;
    slackSecretArn?: pulumi.Input<string>;
    kmsKeyArn?: pulumi.Input<string>;
}): PolicyStatement[] {
    const p = partitionOf(args.region);
    const statements: PolicyStatement[] = [{ Sid: "PublishToAlertTopic", Effect: "Allow", Action: ["sns:Publish"], Resource: [args.topicArn] }];
    if (args.namePrefix) {
        // Executions are named at run time (`<machine>:<execution>`): "*" covers the names under this stack's machines only.
        const executions = `arn:${p}:states:${args.region}:${args.accountId}:execution:${args.namePrefix}-*`;
        statements.push({ Sid: "ReadOwnMachinesHistory", Effect: "Allow", Action: ["states:GetExecutionHistory"], Resource: [executions] });
    }
    if (args.emailSender) {
        const identity = (name: string) => `arn:${p}:ses:${args.region}:${args.accountId}:identity/${name}`;
        statements.push({
            Sid: "SendAlertEmail",
            Effect: "Allow",
            Action: ["ses:SendEmail"],
            Resource: [identity(args.emailSender), identity(emailDomain(args.emailSender))],
            Condition: { StringEquals: { "ses:FromAddress": args.emailSender } },
        });
    }
    if (args.slackSecretArn) {
        statements.push({ Sid: "ReadSlackWebhooks", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [args.slackSecretArn] });
    }
    if (args.kmsKeyArn) {
        statements.push({
            Sid: "UseAlertKeyThroughSnsAndSecrets",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [args.kmsKeyArn],
            Condition: {
                StringEquals: { "kms:ViaService": [`sns.${args.region}.amazonaws.com`, `secretsmanager.${args.region}.amazonaws.com`] },
            },
        });
    }
    return statements;
}

/**
 * Reads webhook URLs from the secret config value: a JSON list or comma-separated URLs.
 * Not validated here (offline runs see a stand-in); the alert Lambda refuses anything but https:// URLs.
 */
export function parseWebhookList(value: string): string[] {
    const t = value.trim();
    if (t.startsWith("[")) {
        try {
            const list = JSON.parse(t) as unknown;
            if (Array.isArray(list)) return list.map(String);
        } catch {
            // not JSON: treat as a comma-separated list
        }
    }
    return t
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/** SNS topic, optional SES and Slack channels, and the alert Lambda that fans out to them. */
export class Alerts extends pulumi.ComponentResource {
    /** The alert topic; subscribe whatever should hear about failures. */
    public readonly topic: aws.sns.Topic;
    /** ARN of the alert topic. */
    public readonly topicArn: pulumi.Output<string>;
    /** The alert Lambda. */
    public readonly function: BundledFunction;
    /** ARN of the alert Lambda: what machines invoke (and may be allowed to invoke). */
    public readonly functionArn: pulumi.Output<string>;
    /** ARN of the Secrets Manager secret holding the Slack webhooks, when any are configured. */
    public readonly slackSecretArn?: pulumi.Output<string>;
    /** The rule that alerts on every execution of this stack's machines that ends FAILED, TIMED_OUT or ABORTED. */
    public readonly executionStatusRule: aws.cloudwatch.EventRule;

    constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:alerts:Alerts", name, {}, opts);
        const tags = args.tags ?? {};
        const recipients = args.emailRecipients ?? [];
        if (recipients.length > 0 && !args.emailSender) throw new Error("Alerts: emailRecipients need an emailSender (a verified SES identity)");
        if (args.emailSender) emailDomain(args.emailSender);
        for (const r of recipients) emailDomain(r);
        const base = `${args.namePrefix}-${name}`;

        this.topic = new aws.sns.Topic(
            `${name}-topic`,
            { name: base, kmsMasterKeyId: args.kmsKeyArn ?? "alias/aws/sns", tags },
            { parent: this },
        );
        this.topicArn = this.topic.arn;

        let secretArn: pulumi.Output<string> | undefined;
        if (args.slackWebhookUrls !== undefined) {
            const secret = new aws.secretsmanager.Secret(
                `${name}-slack`,
                {
                    name: `${base}-slack-webhooks`,
                    description: "Slack incoming-webhook URLs for pilotlight alerts: {\"webhooks\": [...]}",
                    kmsKeyId: args.kmsKeyArn,
                    tags,
                },
                { parent: this },
            );
            new aws.secretsmanager.SecretVersion(
                `${name}-slack`,
                {
                    secretId: secret.id,
                    secretString: pulumi.secret(pulumi.output(args.slackWebhookUrls).apply((webhooks) => JSON.stringify({ webhooks }))),
                },
                { parent: this },
            );
            secretArn = secret.arn;
            this.slackSecretArn = secret.arn;
        }

        const environment: Record<string, pulumi.Input<string>> = { TOPIC_ARN: this.topic.arn };
        if (args.emailSender) environment.EMAIL_SENDER = args.emailSender;
        if (recipients.length > 0) environment.EMAIL_RECIPIENTS = recipients.join(",");
        if (secretArn) environment.SLACK_SECRET_ARN = secretArn;

        this.function = new BundledFunction(
            `${name}-fn`,
            {
                job: "alert",
                functionName: `${base}`,
                description: "pilotlight alerts: SNS, SES e-mail and Slack, each channel independently",
                accountId: args.accountId,
                region: args.region,
                statements: pulumi
                    .all([this.topic.arn, secretArn ?? pulumi.output(undefined), args.kmsKeyArn ?? pulumi.output(undefined)])
                    .apply(([topicArn, slack, key]) =>
                        alertStatements({ accountId: args.accountId, region: args.region, namePrefix: args.namePrefix, topicArn, emailSender: args.emailSender, slackSecretArn: slack, kmsKeyArn: key }),
                    ),
                environment,
                timeoutSeconds: 30,
                logRetentionDays: args.logRetentionDays,
                vpc: args.vpc,
                tags,
            },
            { parent: this },
        );
        this.functionArn = this.function.arn;

        // No silent failure: a run that times out, is stopped, hits a Step Functions limit or
        // fails outside its Catch never reaches its own alert; this rule does.
        this.executionStatusRule = new aws.cloudwatch.EventRule(
            `${name}-executions`,
            {
                name: `${base}-executions`,
                description: `alerts on every ${args.namePrefix}-* state machine execution that ends ${ALERTED_STATUSES.join(", ")}`,
                eventPattern: JSON.stringify(executionStatusPattern(args)),
                tags,
            },
            { parent: this },
        );
        const invoke = new aws.lambda.Permission(
            `${name}-executions-invoke`,
            { action: "lambda:InvokeFunction", function: this.function.functionName, principal: "events.amazonaws.com", sourceArn: this.executionStatusRule.arn },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-executions-target`,
            {
                rule: this.executionStatusRule.name,
                targetId: "alert",
                arn: this.function.arn,
                // The whole event: the alert Lambda reads "Step Functions Execution Status Change" events itself.
                retryPolicy: { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 },
            },
            { parent: this, dependsOn: [invoke] },
        );
        this.registerOutputs({ topicArn: this.topicArn, functionArn: this.functionArn, slackSecretArn: this.slackSecretArn, executionStatusRule: this.executionStatusRule.name });
    }
}
