/**
 * Every step of the failback source machine (dr, while failed over): snapshot the DR
 * database as `<db>-fb-<timestamp>` and share it with the primary's account.
 *
 * Environment: REGION, DATABASE, IS_CLUSTER, PEER_ACCOUNT_ID (empty in a same-account setup).
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { asTask } from "../lib/errors";
import { Assessment, FailbackSourceJob, runSourceStep, sourceSettingsFromEnv } from "../lib/failback";

const clients = new Map<string, RDSClient>();
const rds = (region: string) => clients.get(region) ?? clients.set(region, new RDSClient({ region })).get(region)!;
const sfn = new SFNClient({});

export async function handler(event: Parameters<typeof runSourceStep>[2]): Promise<FailbackSourceJob | Assessment> {
    return asTask(() => runSourceStep({ rds, sfn }, sourceSettingsFromEnv(process.env), event));
}
