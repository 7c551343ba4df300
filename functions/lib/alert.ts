/**
 * Alerts for any pilotlight workflow: one message, sent independently to
 * every configured channel (SNS topic, SES e-mail, Slack webhooks). A failing
 * channel is reported, never allowed to stop the others.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetExecutionHistoryCommand, HistoryEvent, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { InvalidInputError, PilotlightError } from "./errors";

/** What a machine sends to the alert Lambda. Every field but `kind` and `source` is optional. */
export interface AlertEvent {
    /** "failure" or "success". */
    kind: "failure" | "success";
    /** The workflow speaking, e.g. "restore", "backup", "aurora-failover". */
    source: string;
    /** Database (instance or cluster identifier) concerned. */
    database?: string;
    /** Task or operation, e.g. "db_restore". */
    task?: string;
    /** Name of the state that failed. */
    failedStep?: string;
    /** Error name, as Step Functions reports it. */
    error?: string;
    /** Error cause: plain text, or the JSON Step Functions builds from a Lambda error. */
    cause?: string;
    /** What the rollback did: its outcome and detail, or a sentence. */
    rollback?: { outcome?: string; detail?: string } | string;
    /** ARN of the execution, for the console link. */
    executionArn?: string;
    /** The execution input; fills `database`/`task` when the machine could not (e.g. the input itself was bad). */
    input?: unknown;
    /** Anything else worth showing, as key/value lines. */
    details?: Record<string, unknown>;
    /** Subject line to use instead of the generated one (line breaks become spaces; one longer than 99 characters is cut before its last word). */
    subject?: string;
}

export interface AlertMessage {
    subject: string;
    text: string;
}

export type ChannelOutcome = "sent" | "not-configured" | `failed: ${string}`;

export interface AlertResult {
    sns: ChannelOutcome;
    email: ChannelOutcome;
    slack: ChannelOutcome[];
    /** How many channels delivered. */
    delivered: number;
}

/** Every configured channel failed: the alert reached nobody. */
export class AlertDeliveryError extends PilotlightError {
    readonly name = "AlertDeliveryError";
}

/** Lambda errors reach Step Functions as `{"errorType","errorMessage","trace"}` JSON; keep the message. */
export function readableCause(cause: string | undefined): string {
    if (!cause) return "";
    try {
        const parsed = JSON.parse(cause) as { errorMessage?: unknown };
        if (parsed && typeof parsed.errorMessage === "string") return parsed.errorMessage;
    } catch {
        // plain text
    }
    return cause;
}

/** Step Functions console page of an execution. */
export function consoleLink(executionArn: string): string {
    const region = executionArn.split(":")[3];
    return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

function fromInput(input: unknown, key: string): string | undefined {
    const v = input && typeof input === "object" ? (input as Record<string, unknown>)[key] : undefined;
    return typeof v === "string" ? v : undefined;
}

/**
 * Reads an alert event. Besides the fields of AlertEvent it accepts the
 * shorthand some machines send: `outcome` ("failed"/"failure" = failure,
 * anything else success) or `severity: "error"` instead of `kind`,
 * `clusterIdentifier`/`identifier` for `database`, `execution` for
 * `executionArn`, and a ready-made `subject`.
 */
export function parseAlertEvent(event: unknown): AlertEvent {
    const e = (event && typeof event === "object" ? event : {}) as Partial<AlertEvent> & Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    let kind = e.kind;
    if (kind === undefined && (typeof e.outcome === "string" || typeof e.severity === "string")) {
        kind = ["failed", "failure"].includes(String(e.outcome)) || e.severity === "error" ? "failure" : "success";
    }
    if ((kind !== "failure" && kind !== "success") || typeof e.source !== "string") {
        throw new InvalidInputError(`alert event needs kind ("failure"|"success") and source; got ${JSON.stringify(event)?.slice(0, 300)}`);
    }
    return {
        ...e,
        kind,
        source: e.source,
        database: e.database ?? str(e.clusterIdentifier) ?? str(e.identifier),
        executionArn: e.executionArn ?? str(e.execution),
        subject: str(e.subject),
    } as AlertEvent;
}

/**
 * SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
 * 100 characters long." A subject breaking that is refused, and the alert with it. Line breaks become
 * spaces; a longer subject keeps its start and its last word (the verdict: FAILED, succeeded, ALARM...).
 * The text keeps everything whole.
 */
function fitSubject(subject: string): string {
    const line = subject.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
    if (line.length <= 99) return line;
    const verdict = line.slice(line.lastIndexOf(" ") + 1).slice(-20);
    return `${line.slice(0, 97 - verdict.length)}\u2026 ${verdict}`;
}

/** The one message every channel sends. */
export function formatAlert(e: AlertEvent): AlertMessage {
    const database = e.database ?? fromInput(e.input, "identifier") ?? "(unknown database)";
    const task = e.task ?? fromInput(e.input, "task") ?? "(unknown task)";
    const verb = e.kind === "failure" ? "FAILED" : "succeeded";
    const subject = fitSubject(e.subject ?? `pilotlight ${e.source}: ${task} on ${database} ${verb}`);
    const lines = [`${subject}.`, "", `Database: ${database}`, `Task: ${task}`];
    if (e.kind === "failure") {
        lines.push(`Failed step: ${e.failedStep ?? "(unknown)"}`);
        lines.push(`Error: ${e.error ?? "(unknown)"}`);
        lines.push(`Cause: ${readableCause(e.cause) || "(none given)"}`);
    }
    if (e.rollback !== undefined) {
        const r = e.rollback;
        lines.push(`Rollback: ${typeof r === "string" ? r : [r.outcome, r.detail].filter(Boolean).join(" - ")}`);
    }
    for (const [k, v] of Object.entries(e.details ?? {})) lines.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    if (e.executionArn) lines.push("", `Execution: ${consoleLink(e.executionArn)}`);
    return { subject, text: lines.join("\n") };
}

export interface AlertSettings {
    topicArn?: string;
    emailSender?: string;
    emailRecipients: string[];
    /** Secrets Manager secret holding `{"webhooks": ["https://hooks.slack.com/..."]}`. */
    slackSecretArn?: string;
}

export interface AlertDeps {
    sns: SNSClient;
    ses: SESv2Client;
    secrets: SecretsManagerClient;
    /** POSTs a JSON body; resolves with the HTTP status. */
    post: (url: string, body: string) => Promise<number>;
}

function failed(err: unknown): ChannelOutcome {
    const e = err as Error;
    return `failed: ${e?.name ?? "Error"}: ${e?.message ?? String(err)}`;
}

/**
 * Slack reads `&`, `<` and `>` as control characters (links, `<!channel>` mentions): "they must be
 * converted to HTML entities if they're not going to be used for their parsing purpose".
 */
function slackText(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Reads the Slack webhook URLs from Secrets Manager at run time. */
export async function slackWebhooks(secrets: SecretsManagerClient, secretArn: string): Promise<string[]> {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const parsed = JSON.parse(out.SecretString ?? "{}") as { webhooks?: unknown };
    if (!Array.isArray(parsed.webhooks) || !parsed.webhooks.every((u) => typeof u === "string" && u.startsWith("https://"))) {
        throw new Error(`secret ${secretArn} must hold {"webhooks": ["https://..."]}`);
    }
    return parsed.webhooks as string[];
}

/** Sends `event` to every configured channel, each independently; throws only if none delivered. */
export async function sendAlert(deps: AlertDeps, event: AlertEvent, settings: AlertSettings): Promise<AlertResult> {
    const msg = formatAlert(event);

    const sns = async (): Promise<ChannelOutcome> => {
        if (!settings.topicArn) return "not-configured";
        try {
            await deps.sns.send(new PublishCommand({ TopicArn: settings.topicArn, Subject: msg.subject, Message: msg.text }));
            return "sent";
        } catch (err) {
            return failed(err);
        }
    };
    const email = async (): Promise<ChannelOutcome> => {
        if (!settings.emailSender || settings.emailRecipients.length === 0) return "not-configured";
        try {
            await deps.ses.send(
                new SendEmailCommand({
                    FromEmailAddress: settings.emailSender,
                    Destination: { ToAddresses: settings.emailRecipients },
                    // Content.Charset: "If the text includes characters outside of the ASCII range, you have to specify a character set."
                    Content: { Simple: { Subject: { Data: msg.subject, Charset: "UTF-8" }, Body: { Text: { Data: msg.text, Charset: "UTF-8" } } } },
                }),
            );
            return "sent";
        } catch (err) {
            return failed(err);
        }
    };
    const slack = async (): Promise<ChannelOutcome[]> => {
        if (!settings.slackSecretArn) return [];
        let urls: string[];
        try {
            urls = await slackWebhooks(deps.secrets, settings.slackSecretArn);
        } catch (err) {
            return [failed(err)];
        }
        return Promise.all(
            urls.map(async (url): Promise<ChannelOutcome> => {
                try {
                    const status = await deps.post(url, JSON.stringify({ text: slackText(msg.text) }));
                    return status >= 200 && status < 300 ? "sent" : `failed: HTTP ${status}`;
                } catch (err) {
                    return failed(err);
                }
            }),
        );
    };

    const [snsOutcome, emailOutcome, slackOutcomes] = await Promise.all([sns(), email(), slack()]);
    const all = [snsOutcome, emailOutcome, ...slackOutcomes];
    const delivered = all.filter((o) => o === "sent").length;
    const result: AlertResult = { sns: snsOutcome, email: emailOutcome, slack: slackOutcomes, delivered };
    if (delivered === 0) {
        throw new AlertDeliveryError(`alert reached no channel: ${JSON.stringify(result)}`);
    }
    return result;
}

/** `detail-type` of the events Step Functions sends to EventBridge when an execution's status changes. */
export const EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change";
/** Execution statuses that alert: every way a run can end other than SUCCEEDED. */
export const ALERTED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;

/** The part of a "Step Functions Execution Status Change" event the alert reads. */
export interface ExecutionStatusEvent {
    source: "aws.states";
    "detail-type": typeof EXECUTION_STATUS_CHANGE;
    detail: {
        executionArn: string;
        stateMachineArn: string;
        name?: string;
        status: string;
        startDate?: number;
        stopDate?: number | null;
        input?: string | null;
        error?: string | null;
        cause?: string | null;
    };
}

/** True for an execution status change event as EventBridge delivers it (the rule passes the whole event). */
export function isExecutionStatusEvent(event: unknown): event is ExecutionStatusEvent {
    const e = event as Partial<ExecutionStatusEvent> | null;
    return (
        !!e &&
        typeof e === "object" &&
        e.source === "aws.states" &&
        e["detail-type"] === EXECUTION_STATUS_CHANGE &&
        typeof e.detail?.executionArn === "string" &&
        typeof e.detail?.stateMachineArn === "string" &&
        typeof e.detail?.status === "string"
    );
}

const STATUS_MEANING: Record<string, string> = {
    FAILED: "the execution failed",
    TIMED_OUT: "the execution ran past its TimeoutSeconds and was stopped wherever it was",
    ABORTED: "the execution was stopped (StopExecution, or a console or CLI stop)",
};

/**
 * The alert for an execution that ended FAILED, TIMED_OUT or ABORTED. Such an end never
 * passes the machine's own failure alert (or it did and failed for another reason), so the
 * message says where to look: the execution's history.
 */
export function executionStatusAlert(event: ExecutionStatusEvent): AlertEvent {
    const d = event.detail;
    const machine = d.stateMachineArn.split(":").pop() ?? d.stateMachineArn;
    let input: unknown = d.input ?? undefined;
    try {
        if (typeof d.input === "string") input = JSON.parse(d.input);
    } catch {
        // not JSON: keep the text
    }
    const when = (ms: number | null | undefined) => (typeof ms === "number" ? new Date(ms).toISOString() : "(unknown)");
    return {
        kind: "failure",
        source: machine,
        task: `execution ${d.name ?? d.executionArn.split(":").pop()}`,
        database: fromInput(input, "identifier") ?? fromInput(input, "clusterIdentifier"),
        failedStep: `(execution ended ${d.status})`,
        error: d.error || d.status,
        cause: d.cause || `${STATUS_MEANING[d.status] ?? `status ${d.status}`}; nothing after that point ran (no rollback, no clean-up): read the execution's history, then re-run or finish by hand`,
        executionArn: d.executionArn,
        input,
        details: { status: d.status, started: when(d.startDate), stopped: when(d.stopDate) },
        subject: `pilotlight ${machine}: execution ${d.status}`,
    };
}

/** `arn:...:function:<name>` without a version or alias qualifier. */
function unqualified(functionArn: string): string {
    return functionArn.split(":").slice(0, 7).join(":");
}

/**
 * Whether the execution already delivered a failure alert through this alert Lambda: a
 * call of the Lambda that succeeded among the execution's last events (the machines'
 * failure paths end alert -> Fail). Reads the newest `window` events only.
 */
export async function alertAlreadyDelivered(sfn: SFNClient, executionArn: string, alertFunctionArn: string, window = 100): Promise<boolean> {
    const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: window, includeExecutionData: false }));
    const events = out.events ?? [];
    const byId = new Map<number, HistoryEvent>(events.map((e) => [e.id!, e]));
    const own = unqualified(alertFunctionArn);
    return events.some((e) => {
        if (e.type !== "LambdaFunctionSucceeded") return false;
        const started = byId.get(e.previousEventId!);
        const scheduled = started?.type === "LambdaFunctionStarted" ? byId.get(started.previousEventId!) : undefined;
        const resource = scheduled?.type === "LambdaFunctionScheduled" ? scheduled.lambdaFunctionScheduledEventDetails?.resource : undefined;
        return resource !== undefined && unqualified(resource) === own;
    });
}

/** What the alert Lambda did with an execution status change. */
export type ExecutionStatusOutcome = AlertResult | { skipped: string };

/**
 * Handles an execution status change: alerts, unless the execution FAILED after its own
 * failure alert was delivered (then that alert, with the details, already went out). When
 * the history cannot be read the alert is sent anyway: a duplicate is better than silence.
 */
export async function alertExecutionStatus(
    deps: AlertDeps & { sfn: SFNClient },
    event: ExecutionStatusEvent,
    settings: AlertSettings,
    alertFunctionArn: string | undefined,
): Promise<ExecutionStatusOutcome> {
    const alert = executionStatusAlert(event);
    if (event.detail.status === "FAILED" && alertFunctionArn) {
        let delivered = false;
        try {
            delivered = await alertAlreadyDelivered(deps.sfn, event.detail.executionArn, alertFunctionArn);
        } catch (err) {
            alert.details = { ...alert.details, note: `could not read the execution history (${(err as Error).name}: ${(err as Error).message}); this may repeat an alert the machine already sent` };
        }
        if (delivered) return { skipped: `${event.detail.executionArn} FAILED after its own failure alert was delivered` };
    }
    return sendAlert(deps, alert, settings);
}
