/**
 * Restore machine step, called until `done`: deletes the renamed original
 * with a final snapshot, keeping its automated backups (deletion protection off
 * first; a cluster's members before the cluster). Touches only resources with the original's resource id.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { AdvanceResult, deleteOld, RestoreResult } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<AdvanceResult & { result?: RestoreResult }> {
    return asTask(async () => deleteOld(rds, requireJob(event)));
}
