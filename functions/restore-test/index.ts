/**
 * Every step of the restore-test machine (dr stack) but the probe: `{step: "plan", input, ...context}`
 * or `{step, job}` (functions/lib/restoreTest.ts).
 *
 * Environment: NAME_PREFIX, TARGET (JSON list of one recovery target), INSTANCE_CLASS,
 * SUBNET_GROUP_NAME, SECURITY_GROUP_ID, KMS_KEY_ARN.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { asTask } from "../lib/errors";
import { runStep, settingsFromEnv, TestJob } from "../lib/restoreTest";

const rds = new RDSClient({});
const sfn = new SFNClient({});
const cloudwatch = new CloudWatchClient({});

export async function handler(event: Parameters<typeof runStep>[2]): Promise<TestJob> {
    return asTask(() => runStep({ rds, sfn, cloudwatch }, settingsFromEnv(process.env), event));
}
