/**
 * Every step of the copy target machine (dr account): `{step: "plan", input}` or `{step, job}`.
 *
 * Environment: TARGET_NAME, TARGET_REGION, SOURCE_ACCOUNT_ID, SOURCE_IDENTIFIER, DR_KEY_ARN,
 * SECRET_ID, HOLD_SECRET_ID, KEEP, INSTANCE_CLASS, SUBNET_GROUP_NAME, SECURITY_GROUP_IDS (comma-separated),
 * PARAMETER_GROUP_NAME (optional), MULTI_AZ, COPY_TAGS (JSON map).
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CopyJob, runTargetStep, targetSettingsFromEnv } from "../lib/copyTarget";
import { asTask } from "../lib/errors";

const rds = new RDSClient({});
const secrets = new SecretsManagerClient({});

export async function handler(event: Parameters<typeof runTargetStep>[2]): Promise<CopyJob> {
    return asTask(() => runTargetStep({ rds, secrets }, targetSettingsFromEnv(process.env), event));
}
