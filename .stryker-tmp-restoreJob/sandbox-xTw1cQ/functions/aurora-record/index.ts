/**
 * Target of the "failover started" rule (RDS-EVENT-0072 same-AZ, 0073
 * cross-AZ): records the newest start in the guard table, with the writer
 * the failover moves away from when it can still be told (the recovery puts
 * its reader in another AZ). Starts nothing; recovery starts only on the
 * "failover completed" event.
 *
 * Environment: CLUSTER_IDENTIFIER, TABLE_NAME.
 */
// @ts-nocheck

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { RDSClient } from "@aws-sdk/client-rds";
import { eventClusterIdentifier, settingsFromEnv, writerBeforeFailover } from "../lib/auroraFailover";
import { requireEnv } from "../lib/env";
import { asTask, InvalidInputError } from "../lib/errors";
import { recordFailoverStart } from "../lib/recoveryGuard";

const ddb = new DynamoDBClient({});
const rds = new RDSClient({});

/** The failover-start events this handler records. */
export const RECORDED_EVENTS = ["RDS-EVENT-0072", "RDS-EVENT-0073"];

export interface RdsEvent {
    time?: string;
    detail?: { EventID?: string; SourceIdentifier?: string; SourceArn?: string; Message?: string; Date?: string };
}

export async function handler(event: RdsEvent): Promise<{ recorded: boolean; clusterIdentifier: string; time: string; eventId: string; fromWriter?: { identifier: string; availabilityZone: string } }> {
    return asTask(async () => {
        const { clusterIdentifier } = settingsFromEnv();
        const eventId = event?.detail?.EventID ?? "";
        if (!RECORDED_EVENTS.includes(eventId)) {
            throw new InvalidInputError(`EventID ${JSON.stringify(eventId)} is not a failover start (${RECORDED_EVENTS.join(", ")})`);
        }
        const source = eventClusterIdentifier(event.detail);
        if (source !== clusterIdentifier) {
            throw new InvalidInputError(`event is about ${JSON.stringify(source)}, not the cluster this recovery manages ('${clusterIdentifier}')`);
        }
        // Best effort: the start is recorded even when the cluster cannot be read.
        let fromWriter: { identifier: string; availabilityZone: string } | undefined;
        try {
            fromWriter = await writerBeforeFailover(rds, clusterIdentifier, event.detail?.Message);
        } catch (err) {
            console.warn(`could not read the writer of ${clusterIdentifier}: ${(err as Error).name}: ${(err as Error).message}`);
        }
        return recordFailoverStart(ddb, {
            table: requireEnv("TABLE_NAME"),
            cluster: clusterIdentifier,
            eventId,
            time: event.detail?.Date ?? event.time ?? "",
            message: event.detail?.Message ?? "",
            fromWriter,
        });
    });
}
