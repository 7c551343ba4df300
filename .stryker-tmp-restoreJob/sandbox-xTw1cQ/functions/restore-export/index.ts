/**
 * Restore machine step: starts exporting the job's snapshot to S3 in Parquet.
 *
 * Environment: EXPORT_BUCKET, EXPORT_PREFIX (may be empty), EXPORT_KMS_KEY_ARN, EXPORT_ROLE_ARN.
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { requireEnv } from "../lib/env";
import { asTask } from "../lib/errors";
import { requireJob } from "../lib/restoreJob";
import { startExport } from "../lib/restoreSteps";

const rds = new RDSClient({});

export async function handler(event: unknown): Promise<{ exportTask: string; s3Uri: string }> {
    return asTask(async () =>
        startExport(rds, requireJob(event), {
            bucket: requireEnv("EXPORT_BUCKET"),
            prefix: process.env.EXPORT_PREFIX ?? "",
            kmsKeyArn: requireEnv("EXPORT_KMS_KEY_ARN"),
            roleArn: requireEnv("EXPORT_ROLE_ARN"),
        }),
    );
}
