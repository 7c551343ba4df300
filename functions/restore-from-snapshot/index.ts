/**
 * Restore machine step, called until `done`: restores the snapshot under the original identifier
 * with the captured configuration (a cluster: once it is available its writer, then its readers).
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { RestoreProgress, startRestore } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<RestoreProgress> {
    return asTask(async () => startRestore(rds, requireJob(event)));
}
