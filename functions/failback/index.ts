/**
 * Every step of the failback machine (primary): copy the dr side's snapshot within the DR
 * region, copy it home, refresh the database in place with the restore machine, delete
 * the DR-region intermediate.
 *
 * Environment: ACCOUNT_ID, HOME_REGION, DR_REGION, DR_ACCOUNT_ID, DATABASE, DR_DATABASE, IS_CLUSTER,
 * SHARED_KEY_ARN, REPLICA_KEY_ARN, RESTORE_MACHINE_ARN.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { asTask } from "../lib/errors";
import { Assessment, failbackSettingsFromEnv, FailbackJob, runFailbackStep } from "../lib/failback";

const clients = new Map<string, RDSClient>();
const rds = (region: string) => clients.get(region) ?? clients.set(region, new RDSClient({ region })).get(region)!;
const sfn = new SFNClient({});

export async function handler(event: Parameters<typeof runFailbackStep>[2]): Promise<FailbackJob | Assessment> {
    return asTask(() => runFailbackStep({ rds, sfn }, failbackSettingsFromEnv(process.env), event));
}
