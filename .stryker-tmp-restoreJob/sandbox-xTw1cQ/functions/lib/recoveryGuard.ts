/**
 * The once-per-window guard of Aurora failover recovery: one DynamoDB item per
 * cluster, claimed with a conditional write. DynamoDB applies a conditional
 * write to one item atomically, so of any number of concurrent claims exactly
 * one succeeds, and the claim holds for the whole window, whatever the
 * calendar date (no "once a day" that resets at UTC midnight).
 *
 * The same item records the last "failover started" event (RDS-EVENT-0072/0073),
 * newest wins, so late or duplicated events cannot roll it back.
 */
// @ts-nocheck

import { AttributeValue, DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { InvalidInputError } from "./errors";

/** Partition key of the guard table. */
export const GUARD_KEY = "clusterIdentifier";

/** The outcome of a claim. */
export interface GuardDecision {
    /** True when this execution holds the window (it just claimed it, or it already did on an earlier attempt). */
    acquired: boolean;
    clusterIdentifier: string;
    /** Execution that holds the window. */
    holder: string;
    /** When the holder claimed it (ISO); the recovery reader's name is derived from it. */
    startedAt: string;
    /** When the window ends (ISO). */
    expiresAt: string;
    /** The last recorded failover start, if any. */
    lastFailoverStartedAt?: string;
    lastFailoverEventId?: string;
    /**
     * The writer the cluster failed over from, as recorded at the last
     * "failover started" event; null when none was recorded, or when that
     * start was more than `FAILED_WRITER_MAX_AGE_SECONDS` before the claim
     * (then it belongs to some earlier failover).
     */
    failedWriter: FailedWriter | null;
}

/** The writer a failover started from, and its AZ (the one to avoid). */
export interface FailedWriter {
    identifier: string;
    availabilityZone: string;
    /** When its failover started (ISO). */
    failoverStartedAt: string;
}

/** How long before a claim a recorded failover start still counts as the one being recovered from. */
export const FAILED_WRITER_MAX_AGE_SECONDS = 3600;

function s(item: Record<string, AttributeValue> | undefined, key: string): string | undefined {
    return item?.[key]?.S;
}

function isConditionFailure(err: unknown): err is { name: string; Item?: Record<string, AttributeValue> } {
    return (err as { name?: string })?.name === "ConditionalCheckFailedException";
}

/** Validates the window: whole hours from 1 to 720 (30 days). */
export function windowProblem(hours: unknown): string | undefined {
    if (typeof hours !== "number" || !Number.isInteger(hours) || hours < 1 || hours > 720) {
        return `window ${JSON.stringify(hours)} must be a whole number of hours from 1 to 720`;
    }
    return undefined;
}

/**
 * Claims the recovery window of `cluster` for `execution` at `now`. Free when
 * no claim exists or the last one expired; a retry by the holder gets its own
 * claim back unchanged.
 */
export async function acquireGuard(
    ddb: DynamoDBClient,
    args: { table: string; cluster: string; execution: string; now: Date; windowHours: number },
): Promise<GuardDecision> {
    const problem = windowProblem(args.windowHours);
    if (problem) throw new InvalidInputError(problem);
    if (!args.execution) throw new InvalidInputError("execution name is missing");
    const nowSeconds = Math.floor(args.now.getTime() / 1000);
    const expiresSeconds = nowSeconds + args.windowHours * 3600;
    const startedAt = new Date(nowSeconds * 1000).toISOString();
    try {
        const out = await ddb.send(
            new UpdateItemCommand({
                TableName: args.table,
                Key: { [GUARD_KEY]: { S: args.cluster } },
                UpdateExpression: "SET lockExecution = :exec, lockStartedAt = :start, lockExpiresAt = :expires",
                ConditionExpression: "attribute_not_exists(lockExpiresAt) OR lockExpiresAt <= :now",
                ExpressionAttributeValues: {
                    ":exec": { S: args.execution },
                    ":start": { S: startedAt },
                    ":expires": { N: String(expiresSeconds) },
                    ":now": { N: String(nowSeconds) },
                },
                ReturnValues: "ALL_NEW",
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
        );
        return decision(true, args.cluster, out.Attributes);
    } catch (err) {
        if (!isConditionFailure(err)) throw err;
        const held = err.Item;
        // A retry after a claim whose response was lost: the claim is ours.
        return decision(s(held, "lockExecution") === args.execution, args.cluster, held);
    }
}

function decision(acquired: boolean, cluster: string, item: Record<string, AttributeValue> | undefined): GuardDecision {
    const expires = Number(item?.lockExpiresAt?.N ?? 0);
    return {
        acquired,
        clusterIdentifier: cluster,
        holder: s(item, "lockExecution") ?? "",
        startedAt: s(item, "lockStartedAt") ?? "",
        expiresAt: new Date(expires * 1000).toISOString(),
        lastFailoverStartedAt: s(item, "failoverStartedAt"),
        lastFailoverEventId: s(item, "failoverEventId"),
        failedWriter: failedWriterOf(item),
    };
}

function failedWriterOf(item: Record<string, AttributeValue> | undefined): FailedWriter | null {
    const identifier = s(item, "failoverFromWriter");
    const availabilityZone = s(item, "failoverFromAz");
    const started = s(item, "failoverStartedAt");
    const claimed = s(item, "lockStartedAt");
    if (!identifier || !availabilityZone || !started || !claimed) return null;
    const age = (Date.parse(claimed) - Date.parse(started)) / 1000;
    if (!(age >= 0 && age <= FAILED_WRITER_MAX_AGE_SECONDS)) return null;
    return { identifier, availabilityZone, failoverStartedAt: started };
}

/**
 * Records that a failover started, unless a newer start is already recorded.
 * Never touches the claim. `fromWriter` is the writer the failover starts
 * from, when it could be told (the recovery avoids its AZ); a start without
 * one clears the previous start's.
 */
export async function recordFailoverStart(
    ddb: DynamoDBClient,
    args: { table: string; cluster: string; eventId: string; time: string; message: string; fromWriter?: { identifier: string; availabilityZone: string } },
): Promise<{ recorded: boolean; clusterIdentifier: string; time: string; eventId: string; fromWriter?: { identifier: string; availabilityZone: string } }> {
    const t = Date.parse(args.time);
    if (Number.isNaN(t)) throw new InvalidInputError(`event time ${JSON.stringify(args.time)} is not an ISO timestamp`);
    const time = new Date(t).toISOString();
    try {
        await ddb.send(
            new UpdateItemCommand({
                TableName: args.table,
                Key: { [GUARD_KEY]: { S: args.cluster } },
                UpdateExpression: "SET failoverStartedAt = :time, failoverEventId = :id, failoverMessage = :msg, failoverFromWriter = :writer, failoverFromAz = :az",
                ConditionExpression: "attribute_not_exists(failoverStartedAt) OR failoverStartedAt < :time",
                ExpressionAttributeValues: {
                    ":time": { S: time },
                    ":id": { S: args.eventId },
                    ":msg": { S: args.message.slice(0, 1000) },
                    ":writer": { S: args.fromWriter?.identifier ?? "" },
                    ":az": { S: args.fromWriter?.availabilityZone ?? "" },
                },
            }),
        );
        return { recorded: true, clusterIdentifier: args.cluster, time, eventId: args.eventId, ...(args.fromWriter ? { fromWriter: args.fromWriter } : {}) };
    } catch (err) {
        if (!isConditionFailure(err)) throw err;
        return { recorded: false, clusterIdentifier: args.cluster, time, eventId: args.eventId };
    }
}
