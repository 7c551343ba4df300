/** The alert handler (every channel independently) and the Alerts component. */
// @ts-nocheck

import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { handler } from "../functions/alert";
import { consoleLink, formatAlert, readableCause } from "../functions/lib/alert";
import { Alerts, alertStatements, parseWebhookList } from "../components/alerts";
import { PolicyDocument, wildcardActions } from "../components/iam";
import { FakeAlerts, SLACK_SECRET_ARN, TOPIC_ARN } from "./fakeAlerts";
import { RecordingMocks } from "./mocks";
import { readStackConfig, runProgram } from "./program";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:pl-restore:run-42";
const FAILURE = {
    kind: "failure",
    source: "restore",
    database: "wordpress",
    task: "db_restore",
    failedStep: "Restored",
    error: "WaitTimeoutError",
    cause: JSON.stringify({ errorType: "WaitTimeoutError", errorMessage: "not ready after 180 polls: wordpress: creating", trace: [] }),
    rollback: { outcome: "original-restored", detail: "wordpress is the original and available" },
    executionArn: EXECUTION,
};

describe("alert handler", () => {
    let alerts: FakeAlerts;
    const env = {
        TOPIC_ARN,
        EMAIL_SENDER: "dr@example.com",
        EMAIL_RECIPIENTS: "ops@example.com,dba@example.com",
        SLACK_SECRET_ARN,
    };
    beforeEach(() => {
        alerts = new FakeAlerts();
        alerts.setSlackWebhooks(["https://hooks.slack.com/services/A", "https://hooks.slack.com/services/B"]);
        Object.assign(process.env, env);
    });
    afterEach(() => {
        alerts.restore();
        for (const k of Object.keys(env)) delete process.env[k];
    });

    it("sends one message naming database, task, step, error, cause, rollback and console link to every channel", async () => {
        const result = await handler(FAILURE);
        assert.deepStrictEqual(result, { sns: "sent", email: "sent", slack: ["sent", "sent"], delivered: 4 });
        const text = alerts.published[0].message;
        for (const line of [
            "Database: wordpress",
            "Task: db_restore",
            "Failed step: Restored",
            "Error: WaitTimeoutError",
            "Cause: not ready after 180 polls: wordpress: creating",
            "Rollback: original-restored - wordpress is the original and available",
            `Execution: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION}`,
        ]) {
            assert.ok(text.includes(line), `missing "${line}" in:\n${text}`);
        }
        assert.strictEqual(alerts.published[0].subject, "pilotlight restore: db_restore on wordpress FAILED");
        assert.deepStrictEqual(alerts.emails[0].to, ["ops@example.com", "dba@example.com"]);
        assert.strictEqual(alerts.emails[0].body, text);
        assert.deepStrictEqual(alerts.slackPosts.map((p) => p.url), ["https://hooks.slack.com/services/A", "https://hooks.slack.com/services/B"]);
        assert.strictEqual(alerts.slackPosts[0].text, text);
    });

    it("keeps going when channels fail, and reports each outcome", async () => {
        alerts.failSns = true;
        alerts.brokenWebhooks.add("https://hooks.slack.com/services/A");
        const result = await handler(FAILURE);
        assert.match(result.sns, /^failed: InternalErrorException: SNS is down/);
        assert.strictEqual(result.email, "sent");
        assert.deepStrictEqual(result.slack, ["failed: HTTP 500", "sent"]);
        assert.strictEqual(result.delivered, 2);
    });

    it("reports an unreadable Slack secret as a failed channel, not a failed alert", async () => {
        alerts.secrets.set(SLACK_SECRET_ARN, JSON.stringify({ webhooks: ["http://insecure.example"] }));
        const result = await handler(FAILURE);
        assert.match(result.slack[0], /must hold \{"webhooks": \["https:\/\/\.\.\."\]\}/);
        assert.strictEqual(result.delivered, 2);
    });

    it("fails only when no channel delivered", async () => {
        alerts.failSns = true;
        alerts.failSes = true;
        alerts.secrets.clear();
        await assert.rejects(handler(FAILURE), { name: "AlertDeliveryError" });
    });

    it("takes database and task from the raw input when the request was invalid", () => {
        const msg = formatAlert({ kind: "failure", source: "restore", failedStep: "Validate", error: "InvalidInputError", input: { identifier: "wordpress", task: "nuke" } });
        assert.match(msg.subject, /nuke on wordpress FAILED/);
        assert.match(formatAlert({ kind: "failure", source: "restore", input: "garbage" }).text, /Database: \(unknown database\)/);
    });

    it("accepts the outcome/severity shorthand other machines send", async () => {
        const result = await handler({
            source: "aurora-failover",
            outcome: "failed",
            severity: "error",
            subject: "orders-aurora could not be recovered",
            clusterIdentifier: "orders-aurora",
            execution: EXECUTION,
            details: { step: "AddReader" },
        });
        assert.strictEqual(result.sns, "sent");
        assert.strictEqual(alerts.published[0].subject, "orders-aurora could not be recovered");
        assert.match(alerts.published[0].message, /Database: orders-aurora/);
        assert.match(alerts.published[0].message, /step: AddReader/);
        assert.match(alerts.published[0].message, /executions\/details\/arn:aws:states/);
        await handler({ source: "aurora-failover", outcome: "recovered", clusterIdentifier: "orders-aurora" });
        assert.match(alerts.published[1].subject, /succeeded/);
    });

    it("formats success without failure lines, and refuses malformed events", async () => {
        const msg = formatAlert({ kind: "success", source: "backup", database: "shop", task: "snapshot" });
        assert.strictEqual(msg.subject, "pilotlight backup: snapshot on shop succeeded");
        assert.ok(!msg.text.includes("Failed step"));
        await assert.rejects(handler({ source: "restore" }), { name: "InvalidInputError" });
        assert.strictEqual(readableCause("plain words"), "plain words");
        assert.strictEqual(consoleLink(EXECUTION).startsWith("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"), true);
    });
});

describe("Alerts component", () => {
    let mocks: RecordingMocks;
    function value<T>(o: pulumi.Output<T>): Promise<T> {
        return new Promise((resolve) => o.apply((v) => resolve(v)));
    }
    before(async () => {
        mocks = new RecordingMocks("us-east-1", "111111111111");
        await pulumi.runtime.setMocks(mocks, "pilotlight", "unit", false);
    });

    it("encrypts the topic, stores Slack webhooks as a secret and gives the Lambda only its channels", async () => {
        const a = new Alerts("alerts", {
            namePrefix: "pilotlight",
            accountId: "111111111111",
            region: "us-east-1",
            kmsKeyArn: "arn:aws:kms:us-east-1:111111111111:key/mrk-shared",
            emailSender: "dr@example.com",
            emailRecipients: ["ops@example.com"],
            slackWebhookUrls: pulumi.secret(["https://hooks.slack.com/services/T/B/X"]),
        });
        const policy = JSON.parse(await value(a.function.policy)) as PolicyDocument;
        await value(a.functionArn);
        const topic = mocks.resources.find((r) => r.type === "aws:sns/topic:Topic")!;
        assert.strictEqual(topic.inputs.kmsMasterKeyId, "arn:aws:kms:us-east-1:111111111111:key/mrk-shared");
        const version = mocks.resources.find((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion")!;
        // Recorded as a secret: the engine would encrypt it in state.
        const secretString = version.inputs.secretString as { value: string } | string;
        assert.strictEqual(typeof secretString, "object", "the secret string stays a Pulumi secret");
        assert.deepStrictEqual(JSON.parse((secretString as { value: string }).value), { webhooks: ["https://hooks.slack.com/services/T/B/X"] });
        const fn = mocks.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name === "alerts-fn")!;
        const vars = fn.inputs.environment.variables as Record<string, string>;
        assert.ok(!JSON.stringify(vars).includes("hooks.slack.com"), "webhooks never in the environment");
        assert.strictEqual(vars.SLACK_SECRET_ARN, "arn:aws:secretsmanager:us-east-1:111111111111:alerts-slack");
        assert.strictEqual(vars.EMAIL_RECIPIENTS, "ops@example.com");
        assert.deepStrictEqual(wildcardActions(policy), []);
        const sids = policy.Statement.map((s) => s.Sid);
        assert.deepStrictEqual(sids, ["WriteOwnLogs", "PublishToAlertTopic", "SendAlertEmail", "ReadSlackWebhooks", "UseAlertKeyThroughSnsAndSecrets"]);
    });

    it("asks for nothing it does not use", () => {
        const statements = alertStatements({ accountId: "1", region: "us-east-1", topicArn: "arn:t" });
        assert.deepStrictEqual(statements.map((s) => s.Sid), ["PublishToAlertTopic"]);
        assert.throws(() => new Alerts("bad", { namePrefix: "p", accountId: "1", region: "us-east-1", emailRecipients: ["a@b.c"] }), /need an emailSender/);
    });

    it("reads webhook lists as JSON or comma-separated", () => {
        assert.deepStrictEqual(parseWebhookList('["https://a", "https://b"]'), ["https://a", "https://b"]);
        assert.deepStrictEqual(parseWebhookList("https://a, https://b"), ["https://a", "https://b"]);
    });
});

describe("alerts config", () => {
    const URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";

    it("refuses Slack webhooks stored in plaintext, without echoing them", async () => {
        const { config } = readStackConfig("prod");
        config["pilotlight:slackWebhookUrls"] = JSON.stringify([URL]);
        await assert.rejects(runProgram("prod", { config }), (e: Error) => {
            assert.match(e.message, /pilotlight:slackWebhookUrls is stored in plaintext \(value not shown\); store it encrypted: pulumi config set --secret slackWebhookUrls/);
            assert.ok(!e.message.includes("XXXXSECRETXXXX"), "the secret must not be echoed");
            return true;
        });
    });

    it("accepts them as a secret and keeps them out of the program's plain inputs", async () => {
        const { config } = readStackConfig("prod");
        config["pilotlight:slackWebhookUrls"] = JSON.stringify([URL]);
        const run = await runProgram("prod", { config, secretKeys: ["pilotlight:slackWebhookUrls"] });
        const holders = run.resources.filter((r) => JSON.stringify(r.inputs).includes("XXXXSECRETXXXX")).map((r) => r.type);
        assert.deepStrictEqual(holders, ["aws:secretsmanager/secretVersion:SecretVersion"], "only the secret's version holds the webhook");
        assert.ok(run.resources.some((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion"), "stored in Secrets Manager");
    });
});
