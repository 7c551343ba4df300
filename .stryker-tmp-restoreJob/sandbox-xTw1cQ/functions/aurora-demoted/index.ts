/**
 * Optional last step of a successful recovery: deletes the demoted smaller
 * instance, or resizes it to the intended class.
 *
 * Environment: CLUSTER_IDENTIFIER.
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { handleDemoted, settingsFromEnv } from "../lib/auroraFailover";
import { asTask } from "../lib/errors";

const rds = new RDSClient({});

export async function handler(event: { clusterIdentifier?: unknown; demotedIdentifier?: unknown; intendedClass?: unknown; action?: unknown }): Promise<unknown> {
    return asTask(() => handleDemoted(rds, settingsFromEnv(), event ?? {}));
}
