/**
 * Restore machine step: restores the snapshot under the original identifier
 * with the captured configuration (a cluster: then its members, writer first).
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { startRestore } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ restored: string; members: string[] }> {
    return asTask(async () => startRestore(rds, requireJob(event)));
}
