/** Restore machine step: renames the original (and a cluster's members) to its temporary `-pl-old-` name. */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { renameOriginal } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ renamedTo: string }> {
    return asTask(async () => renameOriginal(rds, requireJob(event)));
}
