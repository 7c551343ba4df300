/** Restore machine step: one poll of a wait loop (database, snapshot or export task). Reads only. */
// @ts-nocheck

import { RDSClient } from "@aws-sdk/client-rds";
import { asTask, InvalidInputError } from "../lib/errors";
import { checkStatus, StatusRequest, StatusResult } from "../lib/restoreSteps";

const rds = new RDSClient({});

function parse(event: unknown): StatusRequest {
    const e = (event ?? {}) as Partial<StatusRequest>;
    if (!["database", "snapshot", "export"].includes(e.target as string)) {
        throw new InvalidInputError(`target must be database, snapshot or export; got ${JSON.stringify(e.target)}`);
    }
    if (typeof e.identifier !== "string" || !e.identifier) throw new InvalidInputError("identifier must be a non-empty string");
    if (typeof e.isCluster !== "boolean") throw new InvalidInputError("isCluster must be a boolean");
    if (e.members !== undefined && !(Array.isArray(e.members) && e.members.every((m) => typeof m === "string"))) {
        throw new InvalidInputError("members must be a list of identifiers");
    }
    return { target: e.target!, identifier: e.identifier, isCluster: e.isCluster, members: e.members };
}

export async function handler(event: unknown): Promise<StatusResult> {
    return asTask(async () => checkStatus(rds, parse(event)));
}
