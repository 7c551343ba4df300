/**
 * First step of the restore machine: checks the request against RDS and the
 * machine's running executions, captures the database's configuration, and
 * returns the job every later step works from. Reads only.
 *
 * Environment: MANAGED_IDENTIFIERS (comma-separated), MANAGED_KINDS (`<identifier>=instance|cluster`,
 * comma-separated), EXPORT_ENABLED ("true"/"false").
 */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { asTask } from "../lib/errors";
import { listEnv } from "../lib/env";
import { buildJob, parseManagedKinds, RestoreJob, ValidateEvent } from "../lib/restoreJob";

const rds = new RDSClient({});
const sfn = new SFNClient({});

export async function handler(event: ValidateEvent): Promise<RestoreJob> {
    return asTask(() =>
        buildJob({ rds, sfn }, event, {
            managedIdentifiers: listEnv("MANAGED_IDENTIFIERS"),
            managedKinds: parseManagedKinds(process.env.MANAGED_KINDS),
            exportEnabled: process.env.EXPORT_ENABLED === "true",
        }),
    );
}
