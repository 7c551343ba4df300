/**
 * Publishes the age of the newest recovery point the dr stack could restore from, per database
 * (functions/lib/readiness.ts), on a schedule. An alarm on the metric treats missing data as
 * breaching, so a lookup that fails or finds nothing is never read as "OK".
 *
 * Environment: TARGETS (JSON list of recovery targets).
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { parseTargets, publishReadiness, ReadinessReport } from "../lib/readiness";

const rds = new RDSClient({});
const cloudwatch = new CloudWatchClient({});

export async function handler(): Promise<ReadinessReport> {
    return publishReadiness({ rds, cloudwatch }, parseTargets(process.env.TARGETS));
}
