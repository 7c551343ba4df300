/**
 * Fakes for the alert channels: SNS, SES and Secrets Manager through
 * aws-sdk-client-mock, and Slack webhooks through a replaced global fetch.
 * Each channel records what it was sent and can be made to fail.
 */
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { BadRequestException, SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { InvalidParameterException, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";

export const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:pl-alerts";
export const SLACK_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pl-slack-AbCdEf";

export class FakeAlerts {
    readonly published: { subject: string; message: string }[] = [];
    readonly emails: { from: string; to: string[]; subject: string; body: string }[] = [];
    readonly slackPosts: { url: string; text: string }[] = [];
    /** Secret id -> secret string. */
    readonly secrets = new Map<string, string>();
    failSns = false;
    failSes = false;
    /** Webhook URLs that answer HTTP 500. */
    readonly brokenWebhooks = new Set<string>();

    private readonly sns = mockClient(SNSClient);
    private readonly ses = mockClient(SESv2Client);
    private readonly sm = mockClient(SecretsManagerClient);
    private readonly realFetch = globalThis.fetch;

    constructor() {
        this.sns.on(PublishCommand).callsFake(async (input) => {
            if (this.failSns) throw Object.assign(new Error("SNS is down"), { name: "InternalErrorException" });
            // "Constraints: Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."
            if (input.Subject !== undefined && (input.Subject.length >= 100 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(input.Subject))) {
                throw new InvalidParameterException({ $metadata: {}, message: "Invalid parameter: Subject" });
            }
            this.published.push({ subject: input.Subject ?? "", message: input.Message ?? "" });
            return { MessageId: `m-${this.published.length}` };
        });
        this.ses.on(SendEmailCommand).callsFake(async (input) => {
            if (this.failSes) throw Object.assign(new Error("Email address is not verified."), { name: "MessageRejected" });
            // Content.Charset: "If the text includes characters outside of the ASCII range, you have to specify a character set."
            for (const part of [input.Content?.Simple?.Subject, input.Content?.Simple?.Body?.Text]) {
                if (part && /[^\x00-\x7f]/.test(part.Data ?? "") && !part.Charset) throw new BadRequestException({ $metadata: {}, message: "non-ASCII content without a Charset" });
            }
            this.emails.push({
                from: input.FromEmailAddress ?? "",
                to: input.Destination?.ToAddresses ?? [],
                subject: input.Content?.Simple?.Subject?.Data ?? "",
                body: input.Content?.Simple?.Body?.Text?.Data ?? "",
            });
            return { MessageId: `e-${this.emails.length}` };
        });
        this.sm.on(GetSecretValueCommand).callsFake(async (input) => {
            const value = this.secrets.get(input.SecretId ?? "");
            if (value === undefined) throw new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret." });
            return { SecretString: value };
        });
        globalThis.fetch = (async (url: string | URL, init?: { body?: unknown }) => {
            const u = String(url);
            if (this.brokenWebhooks.has(u)) return new Response("oops", { status: 500 });
            this.slackPosts.push({ url: u, text: (JSON.parse(String(init?.body ?? "{}")) as { text: string }).text });
            return new Response("ok", { status: 200 });
        }) as typeof fetch;
    }

    /** Stores the Slack webhooks secret as the alerts component writes it. */
    setSlackWebhooks(urls: string[]): void {
        this.secrets.set(SLACK_SECRET_ARN, JSON.stringify({ webhooks: urls }));
    }

    restore(): void {
        this.sns.restore();
        this.ses.restore();
        this.sm.restore();
        globalThis.fetch = this.realFetch;
    }
}
