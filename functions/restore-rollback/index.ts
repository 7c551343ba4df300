/**
 * Restore machine rollback, called until `done`: removes a half-made restore
 * and renames the original back under its identifier.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { rollback, RollbackResult } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<RollbackResult> {
    return asTask(async () => rollback(rds, requireJob(event)));
}
