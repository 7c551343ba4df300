/**
 * Fails the cluster over to the recovery reader (`failover`) and reports
 * whether it became the writer (`check`).
 *
 * Environment: CLUSTER_IDENTIFIER.
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { failoverTo, settingsFromEnv, writerStatus } from "../lib/auroraFailover";
import { asTask, InvalidInputError } from "../lib/errors";

const rds = new RDSClient({});

export async function handler(event: { op?: unknown; clusterIdentifier?: unknown; readerIdentifier?: unknown }): Promise<unknown> {
    return asTask(async () => {
        const settings = settingsFromEnv();
        switch (event?.op) {
            case "failover":
                return failoverTo(rds, settings, event);
            case "check":
                return writerStatus(rds, settings, event);
            default:
                throw new InvalidInputError(`op ${JSON.stringify(event?.op)} is not one of "failover", "check"`);
        }
    });
}
