/** Restore machine step, called until `done`: applies the captured settings a restore call cannot take, sending only what is still missing. */
import { RDSClient } from "@aws-sdk/client-rds";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { AdvanceResult, applySettings } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<AdvanceResult & { applied: string[] }> {
    return asTask(async () => applySettings(rds, requireJob(event)));
}
