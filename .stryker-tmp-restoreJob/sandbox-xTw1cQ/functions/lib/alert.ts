/**
 * Alerts for any pilotlight workflow: one message, sent independently to
 * every configured channel (SNS topic, SES e-mail, Slack webhooks). A failing
 * channel is reported, never allowed to stop the others.
 */
// @ts-nocheck

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
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
    /** Subject line to use instead of the generated one (at most 100 characters are kept). */
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

/** The one message every channel sends. */
export function formatAlert(e: AlertEvent): AlertMessage {
    const database = e.database ?? fromInput(e.input, "identifier") ?? "(unknown database)";
    const task = e.task ?? fromInput(e.input, "task") ?? "(unknown task)";
    const verb = e.kind === "failure" ? "FAILED" : "succeeded";
    const subject = (e.subject ?? `pilotlight ${e.source}: ${task} on ${database} ${verb}`).slice(0, 100);
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
                    Content: { Simple: { Subject: { Data: msg.subject }, Body: { Text: { Data: msg.text } } } },
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
                    const status = await deps.post(url, JSON.stringify({ text: msg.text }));
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
