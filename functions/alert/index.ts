/**
 * Alert Lambda shared by every pilotlight machine: sends one message to the
 * SNS topic, SES recipients and Slack webhooks, each independently, and
 * reports what each channel did.
 *
 * Environment: TOPIC_ARN, EMAIL_SENDER, EMAIL_RECIPIENTS (comma-separated),
 * SLACK_SECRET_ARN (the webhook URLs are read from Secrets Manager at run
 * time, never from the environment).
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SNSClient } from "@aws-sdk/client-sns";
import { alarmAlert } from "../lib/alarmAlert";
import { AlertResult, parseAlertEvent, sendAlert } from "../lib/alert";
import { listEnv } from "../lib/env";

const sns = new SNSClient({});
const ses = new SESv2Client({});
const secrets = new SecretsManagerClient({});

const SLACK_TIMEOUT_MS = 5000;

async function post(url: string, body: string): Promise<number> {
    const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(SLACK_TIMEOUT_MS),
    });
    return res.status;
}

export async function handler(event: unknown): Promise<AlertResult> {
    // A CloudWatch alarm action sends its own payload; every other caller sends an AlertEvent.
    return sendAlert({ sns, ses, secrets, post }, alarmAlert(event) ?? parseAlertEvent(event), {
        topicArn: process.env.TOPIC_ARN || undefined,
        emailSender: process.env.EMAIL_SENDER || undefined,
        emailRecipients: listEnv("EMAIL_RECIPIENTS"),
        slackSecretArn: process.env.SLACK_SECRET_ARN || undefined,
    });
}
