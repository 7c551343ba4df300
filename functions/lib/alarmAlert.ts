/**
 * CloudWatch alarms invoke the alert Lambda directly (a Lambda alarm action) with their state
 * change: `{source: "aws.cloudwatch", alarmArn, region, time, alarmData: {alarmName, state,
 * previousState, configuration}}` (CloudWatch user guide, "Lambda alarm action payload"). This
 * turns that payload into the alert every channel sends, so a readiness alarm reaches e-mail,
 * Slack and the topic like a machine's failure does.
 */
import { AlertEvent } from "./alert";

interface AlarmState {
    value?: unknown;
    reason?: unknown;
    timestamp?: unknown;
}

/** Whether `event` is a CloudWatch alarm's Lambda action payload. */
export function isAlarmEvent(event: unknown): event is { alarmArn: string; alarmData: { alarmName?: unknown; state?: AlarmState; previousState?: AlarmState; configuration?: { description?: unknown } } } {
    const e = event as Record<string, unknown> | null;
    return !!e && typeof e === "object" && e.source === "aws.cloudwatch" && typeof e.alarmArn === "string" && !!e.alarmData && typeof e.alarmData === "object";
}

/** The alert for an alarm's state change: ALARM is a failure, OK (or anything else) a recovery. */
export function alarmAlert(event: unknown): AlertEvent | undefined {
    if (!isAlarmEvent(event)) return undefined;
    const data = event.alarmData;
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const name = str(data.alarmName) ?? event.alarmArn.split(":").pop() ?? event.alarmArn;
    const state = str(data.state?.value) ?? "UNKNOWN";
    const failing = state === "ALARM" || state === "INSUFFICIENT_DATA";
    const details: Record<string, unknown> = {
        Alarm: name,
        State: `${str(data.previousState?.value) ?? "?"} -> ${state}`,
        Reason: str(data.state?.reason) ?? "(none given)",
    };
    const description = str(data.configuration?.description);
    if (description) details["What it means"] = description;
    details["Alarm ARN"] = event.alarmArn;
    return {
        kind: failing ? "failure" : "success",
        source: "readiness",
        task: "alarm",
        subject: `pilotlight alarm ${name}: ${state}`,
        failedStep: failing ? name : undefined,
        error: failing ? state : undefined,
        cause: failing ? str(data.state?.reason) : undefined,
        details,
    };
}
