/**
 * Every step of the backup machine (scheduled snapshots copied to the DR region):
 * the machine passes `{step, item}` (or `{step: "plan"|"report", ...}`).
 *
 * Environment: HOME_REGION, DR_REGION, SHARED_KEY_ARN, DR_KEY_ARN, DATABASES (JSON list of
 * {identifier, isCluster}), KEEP.
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { BACKUP_JOB } from "../lib/backup";
import { asTask } from "../lib/errors";
import { runStep, settingsFromEnv } from "../lib/snapshotJobs";

const clients = new Map<string, RDSClient>();
const rds = (region: string) => clients.get(region) ?? clients.set(region, new RDSClient({ region })).get(region)!;
const sfn = new SFNClient({});

export async function handler(event: Parameters<typeof runStep>[2]): Promise<unknown> {
    return asTask(() => runStep({ rds, sfn }, settingsFromEnv(process.env, BACKUP_JOB), event));
}
