/**
 * Every step of the copy source machine: snapshot, copy under the shared key to the
 * target's region, share with the target account, announce on the topic.
 *
 * Environment: HOME_REGION, DR_REGION, SHARED_KEY_ARN, DR_KEY_ARN, DATABASES (JSON, the one
 * source instance), KEEP, PEER_ACCOUNT_ID (empty in a same-account setup), TOPIC_ARN.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { COPY_SOURCE_JOB } from "../lib/backup";
import { asTask } from "../lib/errors";
import { runStep, settingsFromEnv } from "../lib/snapshotJobs";

const clients = new Map<string, RDSClient>();
const rds = (region: string) => clients.get(region) ?? clients.set(region, new RDSClient({ region })).get(region)!;
const sfn = new SFNClient({});
// The topic lives in the target's region, beside the shared copies (SNS is called in the topic's region).
const sns = new SNSClient({ region: process.env.TOPIC_ARN?.split(":")[3] || undefined });

export async function handler(event: Parameters<typeof runStep>[2]): Promise<unknown> {
    return asTask(() => runStep({ rds, sfn, sns }, settingsFromEnv(process.env, COPY_SOURCE_JOB), event));
}
