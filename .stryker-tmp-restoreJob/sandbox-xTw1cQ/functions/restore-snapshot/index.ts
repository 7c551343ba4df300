/** Restore machine step: takes a pilotlight-tagged snapshot of the database (`<identifier>-<timestamp>`). */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { createSnapshot } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ snapshotIdentifier: string }> {
    return asTask(async () => createSnapshot(rds, requireJob(event)));
}
