/** The alert handler (every channel independently) and the Alerts component. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { handler as alertHandler } from "../functions/alert";
import { GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { AlertResult, consoleLink, executionStatusAlert, formatAlert, isExecutionStatusEvent, readableCause } from "../functions/lib/alert";

/** The handler on a machine's own alert event (never skipped). */
const handler = (event: unknown) => alertHandler(event) as Promise<AlertResult>;
import { Alerts, alertStatements, executionStatusPattern, parseWebhookList, stackMachineArnPrefix } from "../components/alerts";
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
        assert.deepStrictEqual(sids, ["WriteOwnLogs", "PublishToAlertTopic", "ReadOwnMachinesHistory", "SendAlertEmail", "ReadSlackWebhooks", "UseAlertKeyThroughSnsAndSecrets"]);
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

/**
 * EventBridge matching for the pattern subset the execution-status rule uses: exact values
 * and `prefix`. Any other operator throws, so no pattern passes untested.
 */
function matchesPattern(pattern: unknown, event: unknown): boolean {
    if (Array.isArray(pattern)) {
        const values = Array.isArray(event) ? event : [event];
        return pattern.some((p) => {
            if (p && typeof p === "object") {
                const keys = Object.keys(p);
                if (keys.length !== 1 || keys[0] !== "prefix") throw new Error(`unsupported pattern operator ${JSON.stringify(p)}`);
                return values.some((v) => typeof v === "string" && v.startsWith((p as { prefix: string }).prefix));
            }
            return values.includes(p);
        });
    }
    if (pattern && typeof pattern === "object") {
        if (!event || typeof event !== "object") return false;
        return Object.entries(pattern).every(([k, p]) => k in (event as object) && matchesPattern(p, (event as Record<string, unknown>)[k]));
    }
    throw new Error(`pattern leaves must be lists, got ${JSON.stringify(pattern)}`);
}

/**
 * The Step Functions developer guide's example "Step Functions Execution Status Change" event
 * (execution failed), with the account, region and machine of a pilotlight stack.
 */
function statusEvent(machine: string, status: string, extra: Record<string, unknown> = {}) {
    const executionArn = `arn:aws:states:us-east-1:111111111111:execution:${machine}:run-7`;
    return {
        version: "0",
        id: "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        source: "aws.states",
        account: "111111111111",
        time: "2019-02-26T19:42:21Z",
        region: "us-east-1",
        resources: [executionArn],
        detail: {
            executionArn,
            stateMachineArn: `arn:aws:states:us-east-1:111111111111:stateMachine:${machine}`,
            name: "run-7",
            status,
            startDate: 1551225014968,
            stopDate: 1551225017576,
            input: JSON.stringify({ identifier: "wordpress", task: "db_restore" }),
            inputDetails: { included: true },
            output: null,
            outputDetails: null,
            ...extra,
        },
    };
}

describe("execution-status rule", () => {
    const scope = { accountId: "111111111111", region: "us-east-1", namePrefix: "pilotlight" };

    it("matches this stack's machines' executions that end FAILED, TIMED_OUT or ABORTED, and nothing else", () => {
        const pattern = executionStatusPattern(scope);
        for (const status of ["FAILED", "TIMED_OUT", "ABORTED"]) {
            assert.ok(matchesPattern(pattern, statusEvent("pilotlight-restore", status)), status);
            assert.ok(matchesPattern(pattern, statusEvent("pilotlight-aurora-orders-aurora-recovery", status)), status);
        }
        for (const status of ["RUNNING", "SUCCEEDED", "PENDING_REDRIVE"]) assert.ok(!matchesPattern(pattern, statusEvent("pilotlight-restore", status)), status);
        // Another program's machines, and a prefix that only starts like ours, are not ours.
        assert.ok(!matchesPattern(pattern, statusEvent("billing-etl", "FAILED")));
        assert.ok(!matchesPattern(pattern, statusEvent("pilotlightx-restore", "FAILED")));
        const otherRegion = statusEvent("pilotlight-restore", "FAILED");
        otherRegion.detail.stateMachineArn = otherRegion.detail.stateMachineArn.replace("us-east-1", "us-west-2");
        assert.ok(!matchesPattern(pattern, otherRegion));
        const cn = stackMachineArnPrefix({ ...scope, region: "cn-north-1" });
        assert.ok(cn.startsWith("arn:aws-cn:states:cn-north-1:"), cn);
    });

    it("covers every state machine of every stack, failed over or not", async function () {
        this.timeout(300000);
        for (const [stack, sets] of [["prod", []], ["dr", []], ["dr", ["failover=true"]]] as [string, string[]][]) {
            const run = await runProgram(stack, { sets });
            const { config } = readStackConfig(stack);
            const prefix = config["pilotlight:namePrefix"] ?? "pilotlight";
            const account = JSON.parse(JSON.stringify(config["pilotlight:accountId"]));
            const region = config["aws:region"];
            const pattern = executionStatusPattern({ accountId: account, region, namePrefix: prefix });
            const machines = run.resources.filter((r) => r.type === "aws:sfn/stateMachine:StateMachine");
            assert.ok(machines.length >= 1, `${stack}: ${machines.length} machines`);
            for (const m of machines) {
                const arn = `arn:aws:states:${region}:${account}:stateMachine:${m.inputs.name}`;
                assert.ok(matchesPattern(pattern, { ...statusEvent("x", "TIMED_OUT"), detail: { ...statusEvent("x", "TIMED_OUT").detail, stateMachineArn: arn } }), `${stack}: ${m.inputs.name}`);
            }
            const rules = run.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.name === "alerts-executions");
            assert.strictEqual(rules.length, 1, stack);
            assert.deepStrictEqual(JSON.parse(rules[0].inputs.eventPattern), pattern);
        }
    });

    describe("alert Lambda on the rule's events", () => {
        let alerts: FakeAlerts;
        let sfn: ReturnType<typeof mockClient>;
        let history: any[];
        const ALERT_ARN = "arn:aws:lambda:us-east-1:111111111111:function:pilotlight-alerts";
        beforeEach(() => {
            alerts = new FakeAlerts();
            process.env.TOPIC_ARN = TOPIC_ARN;
            history = [];
            sfn = mockClient(SFNClient);
            sfn.on(GetExecutionHistoryCommand).callsFake(async (input) => {
                assert.strictEqual(input.reverseOrder, true);
                return { events: history.slice().reverse().slice(0, input.maxResults) };
            });
        });
        afterEach(() => {
            alerts.restore();
            sfn.restore();
            delete process.env.TOPIC_ARN;
        });
        const failedAfter = (resource: string, succeeded: boolean) => [
            { id: 1, type: "ExecutionStarted" },
            { id: 2, type: "TaskStateEntered", previousEventId: 1 },
            { id: 3, type: "LambdaFunctionScheduled", previousEventId: 2, lambdaFunctionScheduledEventDetails: { resource } },
            { id: 4, type: "LambdaFunctionStarted", previousEventId: 3 },
            { id: 5, type: succeeded ? "LambdaFunctionSucceeded" : "LambdaFunctionFailed", previousEventId: 4 },
            { id: 6, type: "FailStateEntered", previousEventId: 5 },
            { id: 7, type: "ExecutionFailed", previousEventId: 6 },
        ];

        it("alerts a timed-out run with its machine, status, input and console link, without reading its history", async () => {
            const result = (await alertHandler(statusEvent("pilotlight-backup", "TIMED_OUT"), { invokedFunctionArn: ALERT_ARN })) as AlertResult;
            assert.strictEqual(result.sns, "sent");
            assert.strictEqual(alerts.published[0].subject, "pilotlight pilotlight-backup: execution TIMED_OUT");
            const text = alerts.published[0].message;
            for (const line of ["Database: wordpress", "Error: TIMED_OUT", "Failed step: (execution ended TIMED_OUT)", "status: TIMED_OUT", "started: 2019-02-26T23:50:14.968Z", "executions/details/arn:aws:states:us-east-1:111111111111:execution:pilotlight-backup:run-7"]) {
                assert.ok(text.includes(line), `missing "${line}" in:\n${text}`);
            }
            assert.match(text, /Cause: the execution ran past its TimeoutSeconds/);
            assert.strictEqual(sfn.commandCalls(GetExecutionHistoryCommand).length, 0);
        });

        it("alerts a run that failed outside its Catch (e.g. the history limit) with the event's error and cause", async () => {
            history = [{ id: 1, type: "ExecutionStarted" }, { id: 2, type: "ExecutionFailed", previousEventId: 1 }];
            const event = statusEvent("pilotlight-image-backup", "FAILED", { error: "States.Runtime", cause: "The execution reached the maximum number of history events (25000)." });
            const result = (await alertHandler(event, { invokedFunctionArn: `${ALERT_ARN}:$LATEST` })) as AlertResult;
            assert.strictEqual(result.delivered, 1);
            assert.match(alerts.published[0].message, /Error: States.Runtime/);
            assert.match(alerts.published[0].message, /Cause: The execution reached the maximum number of history events/);
        });

        it("stays quiet when the run failed right after delivering its own failure alert, and alerts when that alert failed or was another Lambda", async () => {
            history = failedAfter(ALERT_ARN, true);
            const skipped = await alertHandler(statusEvent("pilotlight-restore", "FAILED"), { invokedFunctionArn: `${ALERT_ARN}:$LATEST` });
            assert.deepStrictEqual(Object.keys(skipped), ["skipped"]);
            assert.strictEqual(alerts.published.length, 0);
            history = failedAfter(ALERT_ARN, false);
            await alertHandler(statusEvent("pilotlight-restore", "FAILED"), { invokedFunctionArn: ALERT_ARN });
            history = failedAfter(ALERT_ARN.replace("alerts", "restore-status"), true);
            await alertHandler(statusEvent("pilotlight-restore", "FAILED"), { invokedFunctionArn: ALERT_ARN });
            assert.strictEqual(alerts.published.length, 2);
        });

        it("alerts anyway, saying so, when the history cannot be read", async () => {
            sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
            const result = (await alertHandler(statusEvent("pilotlight-restore", "ABORTED"), { invokedFunctionArn: ALERT_ARN })) as AlertResult;
            assert.strictEqual(result.delivered, 1, "ABORTED never reads the history");
            await alertHandler(statusEvent("pilotlight-restore", "FAILED"), { invokedFunctionArn: ALERT_ARN });
            assert.match(alerts.published[1].message, /note: could not read the execution history \(AccessDeniedException: not authorized\)/);
        });

        it("keeps non-JSON input as text and names an unknown status", () => {
            const a = executionStatusAlert(statusEvent("pilotlight-x", "WEIRD", { input: "not json", stopDate: null }) as any);
            assert.strictEqual(a.input, "not json");
            assert.match(a.cause!, /^status WEIRD/);
            assert.strictEqual((a.details as any).stopped, "(unknown)");
            assert.ok(!isExecutionStatusEvent({ source: "aws.states", "detail-type": "Step Functions Execution Status Change", detail: {} }));
            assert.ok(!isExecutionStatusEvent(FAILURE));
        });
    });

    it("the component targets the alert Lambda with the whole event, allowed from this rule only, and may read only its machines' history", async () => {
        const mocks = new RecordingMocks("us-east-1", "111111111111");
        await pulumi.runtime.setMocks(mocks, "pilotlight", "unit-rule", false);
        const a = new Alerts("alerts", { namePrefix: "pilotlight", accountId: "111111111111", region: "us-east-1" });
        const policy = JSON.parse(await new Promise<string>((r) => a.function.policy.apply((v) => r(v)))) as PolicyDocument;
        await new Promise((r) => a.executionStatusRule.arn.apply(r));
        const rule = mocks.resources.find((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.name === "alerts-executions")!;
        assert.strictEqual(rule.inputs.name, "pilotlight-alerts-executions");
        for (let i = 0; i < 100 && !mocks.resources.some((r) => r.name === "alerts-executions-target"); i++) await new Promise((r) => setTimeout(r, 20));
        const target = mocks.resources.find((r) => r.type === "aws:cloudwatch/eventTarget:EventTarget" && r.name === "alerts-executions-target")!;
        assert.strictEqual(target.inputs.input, undefined);
        assert.strictEqual(target.inputs.inputTransformer, undefined);
        assert.strictEqual(target.inputs.arn, "arn:aws:lambda:us-east-1:111111111111:function:pilotlight-alerts");
        const permission = mocks.resources.find((r) => r.type === "aws:lambda/permission:Permission" && r.name === "alerts-executions-invoke")!;
        assert.strictEqual(permission.inputs.principal, "events.amazonaws.com");
        assert.strictEqual(permission.inputs.sourceArn, rule.state?.arn ?? permission.inputs.sourceArn);
        assert.ok(permission.inputs.sourceArn, "scoped to the rule");
        const read = policy.Statement.find((s) => s.Sid === "ReadOwnMachinesHistory")!;
        assert.deepStrictEqual(read.Action, ["states:GetExecutionHistory"]);
        assert.deepStrictEqual(read.Resource, ["arn:aws:states:us-east-1:111111111111:execution:pilotlight-*"]);
    });
});
