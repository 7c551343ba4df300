/** Restore machine step: applies the captured settings a restore call cannot take, once the restore is available. */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { applySettings } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ applied: string[] }> {
    return asTask(async () => applySettings(rds, requireJob(event)));
}
