/**
 * The alert library, channel by channel: what is sent where, what counts as delivered, and how
 * events are read. Every alert of every machine goes through here, so a channel that is wrongly
 * reported as sent, or an event read as the wrong kind, is a failure nobody hears of.
 */
import * as assert from "assert";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import {
    AlertDeps,
    AlertEvent,
    alertAlreadyDelivered,
    alertExecutionStatus,
    AlertSettings,
    executionStatusAlert,
    ExecutionStatusEvent,
    formatAlert,
    isExecutionStatusEvent,
    parseAlertEvent,
    readableCause,
    sendAlert,
    slackWebhooks,
} from "../functions/lib/alert";
import { FakeAlerts, SLACK_SECRET_ARN, TOPIC_ARN } from "./fakeAlerts";

const EVENT: AlertEvent = { kind: "failure", source: "restore", database: "wordpress", task: "db_restore", failedStep: "Restored", error: "WaitTimeoutError" };
const HOOK_A = "https://hooks.slack.com/services/A";
const HOOK_B = "https://hooks.slack.com/services/B";

describe("alert library", () => {
    let alerts: FakeAlerts;
    let posts: { url: string; body: string }[];
    /** Webhook URL -> what its POST does instead of answering 200. */
    let answers: Map<string, () => Promise<number>>;
    let deps: AlertDeps;
    beforeEach(() => {
        alerts = new FakeAlerts();
        posts = [];
        answers = new Map();
        deps = {
            sns: new SNSClient({}),
            ses: new SESv2Client({}),
            secrets: new SecretsManagerClient({}),
            post: async (url, body) => {
                const answer = answers.get(url);
                if (answer) return answer();
                posts.push({ url, body });
                return 200;
            },
        };
    });
    afterEach(() => alerts.restore());

    describe("sendAlert", () => {
        const ALL: AlertSettings = { topicArn: TOPIC_ARN, emailSender: "dr@example.com", emailRecipients: ["ops@example.com"], slackSecretArn: SLACK_SECRET_ARN };

        it("sends the same subject and text by SNS, e-mail and every Slack webhook", async () => {
            alerts.setSlackWebhooks([HOOK_A, HOOK_B]);
            const msg = formatAlert(EVENT);
            const result = await sendAlert(deps, EVENT, ALL);
            assert.deepStrictEqual(result, { sns: "sent", email: "sent", slack: ["sent", "sent"], delivered: 4 });
            assert.deepStrictEqual(alerts.published, [{ subject: msg.subject, message: msg.text }]);
            assert.deepStrictEqual(alerts.emails, [{ from: "dr@example.com", to: ["ops@example.com"], subject: msg.subject, body: msg.text }]);
            assert.deepStrictEqual(posts, [HOOK_A, HOOK_B].map((url) => ({ url, body: JSON.stringify({ text: msg.text }) })));
        });

        it("uses no channel that is not configured, and never counts one as delivered", async () => {
            alerts.setSlackWebhooks([HOOK_A]);
            const result = await sendAlert(deps, EVENT, { emailSender: "dr@example.com", emailRecipients: [], slackSecretArn: SLACK_SECRET_ARN });
            assert.deepStrictEqual(result, { sns: "not-configured", email: "not-configured", slack: ["sent"], delivered: 1 });
            assert.strictEqual(alerts.published.length, 0);
            assert.strictEqual(alerts.emails.length, 0);

            const noSlack = await sendAlert(deps, EVENT, { topicArn: TOPIC_ARN, emailRecipients: ["ops@example.com"] });
            assert.deepStrictEqual(noSlack, { sns: "sent", email: "not-configured", slack: [], delivered: 1 });
            assert.strictEqual(alerts.emails.length, 0, "recipients without a sender send nothing");
            assert.strictEqual(posts.length, 1, "no Slack secret, no webhook read");

            await assert.rejects(sendAlert(deps, EVENT, { emailRecipients: [] }), { name: "AlertDeliveryError", message: /alert reached no channel/ });
        });

        it("reports a refused e-mail as failed and still delivers elsewhere", async () => {
            alerts.failSes = true;
            const result = await sendAlert(deps, EVENT, { ...ALL, slackSecretArn: undefined });
            assert.strictEqual(result.email, "failed: MessageRejected: Email address is not verified.");
            assert.strictEqual(result.sns, "sent");
            assert.strictEqual(result.delivered, 1);
        });

        it("posts to Slack what an error said, not mentions or links made of its <, > and &", async () => {
            alerts.setSlackWebhooks([HOOK_A]);
            await sendAlert(deps, { ...EVENT, cause: "bad value <!channel> & <https://evil.example|here> > 3" }, { emailRecipients: [], slackSecretArn: SLACK_SECRET_ARN });
            const text = (JSON.parse(posts[0].body) as { text: string }).text;
            assert.ok(text.split("\n").includes("Cause: bad value &lt;!channel&gt; &amp; &lt;https://evil.example|here&gt; &gt; 3"), text);
            assert.strictEqual(text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"), formatAlert({ ...EVENT, cause: "bad value <!channel> & <https://evil.example|here> > 3" }).text);
        });

        it("counts only a 2xx webhook answer as sent", async () => {
            const hooks = [199, 200, 299, 300, 500].map((status) => `https://hooks.slack.com/services/S${status}`);
            alerts.setSlackWebhooks(hooks);
            hooks.forEach((url, i) => answers.set(url, async () => [199, 200, 299, 300, 500][i]));
            const result = await sendAlert(deps, EVENT, { emailRecipients: [], slackSecretArn: SLACK_SECRET_ARN });
            assert.deepStrictEqual(result.slack, ["failed: HTTP 199", "sent", "sent", "failed: HTTP 300", "failed: HTTP 500"]);
            assert.strictEqual(result.delivered, 2);
        });

        it("reports a webhook that cannot be reached, or throws anything at all, as failed without losing the other channels", async () => {
            alerts.setSlackWebhooks([HOOK_A, HOOK_B]);
            answers.set(HOOK_A, () => Promise.reject(Object.assign(new Error("fetch failed"), { name: "TypeError" })));
            answers.set(HOOK_B, () => Promise.reject(null));
            const result = await sendAlert(deps, EVENT, ALL);
            assert.deepStrictEqual(result, { sns: "sent", email: "sent", slack: ["failed: TypeError: fetch failed", "failed: Error: null"], delivered: 2 });
        });

        it("refuses a webhook secret with any URL that is not https, or not text, and posts to none of it", async () => {
            for (const webhooks of [[HOOK_A, "http://hooks.example/plain"], [HOOK_A, 42], "https://one.example"]) {
                alerts.secrets.set(SLACK_SECRET_ARN, JSON.stringify({ webhooks }));
                const result = await sendAlert(deps, EVENT, { topicArn: TOPIC_ARN, emailRecipients: [], slackSecretArn: SLACK_SECRET_ARN });
                assert.deepStrictEqual(result.slack, [`failed: Error: secret ${SLACK_SECRET_ARN} must hold {"webhooks": ["https://..."]}`], JSON.stringify(webhooks));
                assert.strictEqual(result.delivered, 1);
            }
            assert.strictEqual(posts.length, 0);
            await assert.rejects(slackWebhooks(deps.secrets, "arn:aws:secretsmanager:us-east-1:123456789012:secret:none"), { name: "ResourceNotFoundException" });
        });

        it("keeps a long or multi-line subject acceptable to SNS, so the alert is not refused", async () => {
            const long = { ...EVENT, database: "d".repeat(120) };
            const spoken = { ...EVENT, subject: "restore of\nwordpress\tfailed\u2028badly\r" };
            for (const event of [long, spoken]) {
                const result = await sendAlert(deps, event, { topicArn: TOPIC_ARN, emailRecipients: [] });
                assert.strictEqual(result.sns, "sent", JSON.stringify(result));
            }
            assert.strictEqual(alerts.published[0].subject, `pilotlight restore: db_restore on ${"d".repeat(57)}\u2026 FAILED`, "keeps the verdict");
            assert.strictEqual(alerts.published[0].subject.length, 99);
            assert.strictEqual(alerts.published[1].subject, "restore of wordpress failed badly ");
            const exactly99 = "s".repeat(99);
            assert.strictEqual(formatAlert({ ...EVENT, subject: exactly99 }).subject, exactly99);
            assert.strictEqual(formatAlert({ ...EVENT, subject: "s".repeat(120) }).subject, `${"s".repeat(77)}\u2026 ${"s".repeat(20)}`);
            assert.match(alerts.published[0].message, new RegExp(`Database: ${"d".repeat(120)}\n`), "the text keeps the whole name");
        });

        it("e-mails text beyond ASCII (a shortened subject, an error's own words) as UTF-8", async () => {
            const event = { ...EVENT, database: "d".repeat(120), cause: "Zugriff verweigert f\u00fcr \u201cwordpress\u201d" };
            const result = await sendAlert(deps, event, { emailSender: "dr@example.com", emailRecipients: ["ops@example.com"] });
            assert.strictEqual(result.email, "sent", JSON.stringify(result));
            assert.match(alerts.emails[0].subject, /\u2026 FAILED$/);
            assert.match(alerts.emails[0].body, /Cause: Zugriff verweigert f\u00fcr \u201cwordpress\u201d/);
        });
    });

    describe("parseAlertEvent", () => {
        it("reads the failure/success shorthand: outcome failed or failure, or severity error", () => {
            const kind = (e: Record<string, unknown>) => parseAlertEvent({ source: "aurora-failover", ...e }).kind;
            assert.strictEqual(kind({ outcome: "failed" }), "failure");
            assert.strictEqual(kind({ outcome: "failure" }), "failure");
            assert.strictEqual(kind({ severity: "error" }), "failure");
            assert.strictEqual(kind({ severity: "info" }), "success");
            assert.strictEqual(kind({ outcome: "recovered", severity: "warning" }), "success");
            assert.strictEqual(kind({ kind: "failure", outcome: "recovered" }), "failure", "an explicit kind wins");
            assert.strictEqual(kind({ kind: "success", severity: "error" }), "success", "an explicit kind wins");
        });

        it("takes only text for the database, execution and subject shorthands", () => {
            const e = parseAlertEvent({ kind: "failure", source: "x", clusterIdentifier: 42, identifier: "orders", execution: 7, subject: 9 });
            assert.strictEqual(e.database, "orders");
            assert.strictEqual(e.executionArn, undefined);
            assert.strictEqual(e.subject, undefined);
            assert.strictEqual(parseAlertEvent({ kind: "failure", source: "x", identifier: ["a"] }).database, undefined);
        });

        it("refuses an event without kind or source, naming it, in at most 300 characters of it", () => {
            assert.throws(() => parseAlertEvent({ kind: "failure" }), { name: "InvalidInputError", message: /needs kind .* and source; got \{"kind":"failure"\}/ });
            assert.throws(() => parseAlertEvent({ kind: "boom", source: "x" }), { name: "InvalidInputError" });
            assert.throws(() => parseAlertEvent(undefined), { name: "InvalidInputError", message: /got undefined$/ });
            const big = { source: "x", blob: "z".repeat(1000) };
            assert.throws(
                () => parseAlertEvent(big),
                (err: Error) => err.name === "InvalidInputError" && err.message.endsWith(JSON.stringify(big).slice(0, 300)) && err.message.length < 400,
            );
        });
    });

    describe("formatAlert and readableCause", () => {
        it("keeps a Lambda error's message, and any other cause as given", () => {
            assert.strictEqual(readableCause(undefined), "");
            assert.strictEqual(readableCause(JSON.stringify({ errorType: "E", errorMessage: "the message" })), "the message");
            for (const cause of ['{"errorType":"E"}', '{"errorMessage":42}', "null", "17", "not json"]) assert.strictEqual(readableCause(cause), cause);
        });

        it("shows a rollback given as a sentence, or as its outcome and detail without gaps", () => {
            const rollback = (r: AlertEvent["rollback"]) => formatAlert({ ...EVENT, rollback: r }).text.split("\n").find((l) => l.startsWith("Rollback:"));
            assert.strictEqual(rollback("nothing to roll back"), "Rollback: nothing to roll back");
            assert.strictEqual(rollback({ outcome: "original-restored" }), "Rollback: original-restored");
            assert.strictEqual(rollback({ detail: "left as is" }), "Rollback: left as is");
            assert.strictEqual(rollback({ outcome: "failed", detail: "rename refused" }), "Rollback: failed - rename refused");
            assert.strictEqual(rollback(undefined), undefined);
        });

        it("shows details as text or JSON, and takes database and task from the input only when they are text", () => {
            const text = formatAlert({ ...EVENT, details: { step: "AddReader", polls: 3, members: ["a", "b"], where: { az: "a" } } }).text;
            for (const line of ["step: AddReader", "polls: 3", 'members: ["a","b"]', 'where: {"az":"a"}']) assert.ok(text.split("\n").includes(line), `${line} in\n${text}`);
            const fromBadInput = formatAlert({ kind: "failure", source: "restore", input: { identifier: 42, task: { t: 1 } } });
            assert.strictEqual(fromBadInput.subject, "pilotlight restore: (unknown task) on (unknown database) FAILED");
            assert.strictEqual(formatAlert({ kind: "failure", source: "restore", input: null }).subject, "pilotlight restore: (unknown task) on (unknown database) FAILED");
        });
    });

    describe("execution status events", () => {
        const ARN = "arn:aws:states:eu-west-1:111111111111:execution:pilotlight-restore:run-9";
        const status = (detail: Partial<ExecutionStatusEvent["detail"]> = {}): ExecutionStatusEvent => ({
            source: "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            detail: { executionArn: ARN, stateMachineArn: "arn:aws:states:eu-west-1:111111111111:stateMachine:pilotlight-restore", status: "FAILED", ...detail },
        });

        it("recognises only a complete Step Functions status change", () => {
            const good = status();
            assert.ok(isExecutionStatusEvent(good));
            const broken: unknown[] = [
                null,
                undefined,
                "aws.states",
                { ...good, source: "aws.events" },
                { ...good, "detail-type": "Step Functions State Machine Status Change" },
                { source: "aws.states", "detail-type": "Step Functions Execution Status Change" },
                { ...good, detail: { ...good.detail, executionArn: 1 } },
                { ...good, detail: { ...good.detail, stateMachineArn: undefined } },
                { ...good, detail: { ...good.detail, status: null } },
            ];
            for (const e of broken) assert.strictEqual(isExecutionStatusEvent(e), false, JSON.stringify(e));
        });

        it("names the run from its ARN when the event has no name, and the cluster when the input names one", () => {
            const a = executionStatusAlert(status({ input: JSON.stringify({ clusterIdentifier: "orders-aurora" }) }));
            assert.strictEqual(a.task, "execution run-9");
            assert.strictEqual(a.database, "orders-aurora");
            assert.strictEqual(executionStatusAlert(status({ input: JSON.stringify({ identifier: "shop", clusterIdentifier: "c" }) })).database, "shop");
            assert.strictEqual(executionStatusAlert(status({ input: null })).input, undefined);
        });

        describe("alertAlreadyDelivered", () => {
            const ALERT = "arn:aws:lambda:eu-west-1:111111111111:function:pilotlight-alerts";
            let sfn: ReturnType<typeof mockClient>;
            let events: unknown[] | undefined;
            beforeEach(() => {
                sfn = mockClient(SFNClient);
                sfn.on(GetExecutionHistoryCommand).callsFake(async () => ({ events }));
            });
            afterEach(() => sfn.restore());
            const delivered = () => alertAlreadyDelivered(new SFNClient({}), ARN, ALERT);

            it("reads the newest events only, without their data", async () => {
                events = undefined;
                assert.strictEqual(await delivered(), false);
                assert.deepStrictEqual(sfn.commandCalls(GetExecutionHistoryCommand)[0].args[0].input, { executionArn: ARN, reverseOrder: true, maxResults: 100, includeExecutionData: false });
            });

            it("answers no, without failing, when the chain back to the scheduled call is cut or incomplete", async () => {
                const succeeded = { id: 9, type: "LambdaFunctionSucceeded", previousEventId: 8 };
                const started = { id: 8, type: "LambdaFunctionStarted", previousEventId: 7 };
                const scheduled = { id: 7, type: "LambdaFunctionScheduled", previousEventId: 6, lambdaFunctionScheduledEventDetails: { resource: ALERT } };
                events = [succeeded, started, scheduled];
                assert.strictEqual(await delivered(), true);
                for (const cut of [[succeeded], [succeeded, started], [succeeded, started, { ...scheduled, lambdaFunctionScheduledEventDetails: undefined }], [succeeded, { ...started, type: "TaskStarted" }, scheduled]]) {
                    events = cut;
                    assert.strictEqual(await delivered(), false, JSON.stringify(cut));
                }
            });

            it("alerts a FAILED run whose history shows no delivered alert, and never reads it for another status or without the Lambda's ARN", async () => {
                events = [];
                const sfnClient = new SFNClient({});
                const settings = { topicArn: TOPIC_ARN, emailRecipients: [] };
                assert.strictEqual(((await alertExecutionStatus({ ...deps, sfn: sfnClient }, status(), settings, ALERT)) as { delivered: number }).delivered, 1);
                await alertExecutionStatus({ ...deps, sfn: sfnClient }, status(), settings, undefined);
                await alertExecutionStatus({ ...deps, sfn: sfnClient }, status({ status: "TIMED_OUT" }), settings, ALERT);
                assert.strictEqual(sfn.commandCalls(GetExecutionHistoryCommand).length, 1);
                assert.strictEqual(alerts.published.length, 3);
            });
        });
    });
});
