/**
 * Claims the cluster's recovery window (DynamoDB conditional write): at most
 * one recovery per cluster per window, and of concurrent executions only one
 * gets it.
 *
 * Environment: CLUSTER_IDENTIFIER, TABLE_NAME, WINDOW_HOURS.
 */
// @ts-nocheck

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { settingsFromEnv } from "../lib/auroraFailover";
import { intEnv, requireEnv } from "../lib/env";
import { asTask, InvalidInputError } from "../lib/errors";
import { acquireGuard, GuardDecision } from "../lib/recoveryGuard";

const ddb = new DynamoDBClient({});

export async function handler(event: { clusterIdentifier?: unknown; executionName?: unknown }): Promise<GuardDecision> {
    return asTask(async () => {
        const { clusterIdentifier } = settingsFromEnv();
        if (event?.clusterIdentifier !== clusterIdentifier) {
            throw new InvalidInputError(`clusterIdentifier ${JSON.stringify(event?.clusterIdentifier)} is not the cluster this recovery manages ('${clusterIdentifier}')`);
        }
        if (typeof event.executionName !== "string" || event.executionName === "") {
            throw new InvalidInputError(`executionName ${JSON.stringify(event.executionName)} is missing`);
        }
        return acquireGuard(ddb, {
            table: requireEnv("TABLE_NAME"),
            cluster: clusterIdentifier,
            execution: event.executionName,
            now: new Date(),
            windowHours: intEnv("WINDOW_HOURS", 24),
        });
    });
}
