/**
 * First step of Aurora failover recovery: reads the cluster and decides
 * whether to wait (still settling), do nothing (the writer is right) or
 * recover. Reads only.
 *
 * Environment: CLUSTER_IDENTIFIER, WRITER_CLASS (optional; else the cluster's tag).
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { Assessment, assessCluster, settingsFromEnv } from "../lib/auroraFailover";
import { asTask } from "../lib/errors";

const rds = new RDSClient({});

export async function handler(event: { clusterIdentifier?: unknown }): Promise<Assessment> {
    return asTask(() => assessCluster(rds, settingsFromEnv(), event ?? {}));
}
