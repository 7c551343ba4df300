/**
 * The recovery reader's life: `create` it (intended class, promotion tier 0,
 * an AZ other than the failed writer's), `check` whether it is available,
 * `discard` it when it never became usable, `mark` its recovery status tag.
 *
 * Environment: CLUSTER_IDENTIFIER, MONITORING_ROLE_ARN (optional).
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { createReader, discardReader, markReader, readerStatus, settingsFromEnv } from "../lib/auroraFailover";
import { asTask, InvalidInputError } from "../lib/errors";

const rds = new RDSClient({});

export type ReaderEvent = { op?: unknown; clusterIdentifier?: unknown; readerIdentifier?: unknown; intendedClass?: unknown; startedAt?: unknown; currentWriter?: unknown; status?: unknown };

export async function handler(event: ReaderEvent): Promise<unknown> {
    return asTask(async () => {
        const settings = settingsFromEnv();
        switch (event?.op) {
            case "create":
                return createReader(rds, settings, event);
            case "check":
                return readerStatus(rds, settings, event);
            case "discard":
                return discardReader(rds, settings, event);
            case "mark":
                return markReader(rds, settings, event);
            default:
                throw new InvalidInputError(`op ${JSON.stringify(event?.op)} is not one of "create", "check", "discard", "mark"`);
        }
    });
}
