/**
 * Restore machine step: deletes pilotlight snapshots of the database beyond
 * the newest KEEP_SNAPSHOTS (default 2). Runs only once the new one is available.
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { intEnv } from "../lib/env";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { pruneSnapshots } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ deleted: string[]; kept: number }> {
    return asTask(async () => pruneSnapshots(rds, requireJob(event), intEnv("KEEP_SNAPSHOTS", 2)));
}
