/**
 * Restore machine rollback, called until `done`. Before the point of no return it removes a
 * half-made restore and renames the original back; with `"afterCutover": true` (a failure once
 * the restored database served under the identifier) it keeps both databases and reports where
 * each one is (see keepBoth).
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { keepBoth, rollback, RollbackResult } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<RollbackResult> {
    return asTask(async () => {
        const job = requireJob(event);
        return (event as { afterCutover?: unknown }).afterCutover === true ? keepBoth(rds, job) : rollback(rds, job);
    });
}
