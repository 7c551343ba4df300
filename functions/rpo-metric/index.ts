/**
 * Publishes the age of the newest recovery point the dr stack could restore from, per database
 * (functions/lib/readiness.ts), on a schedule. An alarm on the metric treats missing data as
 * breaching, so a lookup that fails or finds nothing is never read as "OK".
 *
 * Environment: TARGETS (JSON list of recovery targets); AWS_REGION (set by Lambda: the region
 * whose shared snapshots the failover would restore).
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { parseTargets, publishReadiness, ReadinessReport } from "../lib/readiness";

const rds = new RDSClient({});
const cloudwatch = new CloudWatchClient({});

export async function handler(): Promise<ReadinessReport> {
    const region = process.env.AWS_REGION;
    if (!region) throw new Error("environment variable AWS_REGION is not set");
    return publishReadiness({ rds, cloudwatch }, parseTargets(process.env.TARGETS), region);
}
