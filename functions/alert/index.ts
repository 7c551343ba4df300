/**
 * Alert Lambda shared by every pilotlight machine: sends one message to the
 * SNS topic, SES recipients and Slack webhooks, each independently, and
 * reports what each channel did.
 *
 * Environment: TOPIC_ARN, EMAIL_SENDER, EMAIL_RECIPIENTS (comma-separated),
 * SLACK_SECRET_ARN (the webhook URLs are read from Secrets Manager at run
 * time, never from the environment).
 *
 * Also the target of the stack's execution-status rule: a "Step Functions Execution Status
 * Change" event (FAILED, TIMED_OUT, ABORTED) becomes an alert, unless the execution FAILED
 * right after delivering its own failure alert.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { alarmAlert } from "../lib/alarmAlert";
import { alertExecutionStatus, AlertResult, AlertSettings, ExecutionStatusOutcome, isExecutionStatusEvent, parseAlertEvent, sendAlert } from "../lib/alert";
import { listEnv } from "../lib/env";

const sns = new SNSClient({});
const ses = new SESv2Client({});
const secrets = new SecretsManagerClient({});
const sfn = new SFNClient({});

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

export async function handler(event: unknown, context?: { invokedFunctionArn?: string }): Promise<AlertResult | ExecutionStatusOutcome> {
    const settings: AlertSettings = {
        topicArn: process.env.TOPIC_ARN || undefined,
        emailSender: process.env.EMAIL_SENDER || undefined,
        emailRecipients: listEnv("EMAIL_RECIPIENTS"),
        slackSecretArn: process.env.SLACK_SECRET_ARN || undefined,
    };
    const deps = { sns, ses, secrets, post };
    if (isExecutionStatusEvent(event)) return alertExecutionStatus({ ...deps, sfn }, event, settings, context?.invokedFunctionArn);
    // A CloudWatch alarm action sends its own payload; every other caller sends an AlertEvent.
    return sendAlert(deps, alarmAlert(event) ?? parseAlertEvent(event), settings);
}
