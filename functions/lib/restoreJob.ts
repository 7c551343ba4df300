/**
 * The restore machine's job: what one execution will do, worked out and
 * checked before anything changes. Validation only ever reads (RDS
 * Describe/List, Step Functions List/Describe); it throws a typed error for
 * every bad request so the execution fails with zero mutating calls.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import {
    ConcurrentRunError,
    DatabaseNotFoundError,
    DatabaseNotReadyError,
    InvalidInputError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
} from "./errors";
import { runningExecutionsOf } from "./executions";
import { identifierProblem, RunNames, runNames, snapshotIdentifierProblem } from "./naming";
import { clusterMembers, findCluster, findInstance, findSnapshot, listSnapshots, newestPilotlightSnapshot, tagsOf } from "./rds";
import {
    ClusterPlan,
    clusterRefusals,
    InstancePlan,
    instanceRefusals,
    planClusterRestore,
    planInstanceRestore,
    SnapshotFacts,
    versionProblem,
} from "./restorePlan";

export const TASKS = ["create_snapshot_only", "create_snapshot", "db_restore", "export_snapshot"] as const;
export type Task = (typeof TASKS)[number];

/** The execution input, as a user writes it. */
export interface RestoreRequest {
    identifier: string;
    task: Task;
    isCluster: boolean;
    /** db_restore / export_snapshot only: the snapshot to use instead of the newest pilotlight one. */
    snapshotIdentifier?: string;
    /**
     * db_restore with `snapshotIdentifier` only: the database that snapshot was taken from, when it
     * is not `identifier` (a failback brings dr's `<namePrefix>-db` home into an existing database
     * of another name). Without it a snapshot of another database is refused.
     */
    sourceIdentifier?: string;
}

const REQUEST_KEYS = new Set(["identifier", "task", "isCluster", "snapshotIdentifier", "sourceIdentifier"]);

/** Checks the shape of an execution input; no AWS calls. */
export function parseRequest(input: unknown): RestoreRequest {
    if (!input || typeof input !== "object" || Array.isArray(input)) {
        throw new InvalidInputError(`input must be a JSON object like {"identifier": "wordpress", "task": "db_restore", "isCluster": false}`);
    }
    const o = input as Record<string, unknown>;
    const unknownKeys = Object.keys(o).filter((k) => !REQUEST_KEYS.has(k));
    if (unknownKeys.length > 0) {
        throw new InvalidInputError(`unknown input field(s) ${unknownKeys.join(", ")}; allowed: ${[...REQUEST_KEYS].join(", ")}`);
    }
    if (typeof o.task !== "string" || !(TASKS as readonly string[]).includes(o.task)) {
        throw new InvalidInputError(`task must be one of ${TASKS.join(", ")}; got ${JSON.stringify(o.task)}`);
    }
    if (typeof o.identifier !== "string" || o.identifier.length === 0) {
        throw new InvalidInputError(`identifier must be a non-empty string; got ${JSON.stringify(o.identifier)}`);
    }
    const identifier = o.identifier.toLowerCase();
    const problem = identifierProblem(identifier);
    if (problem) throw new InvalidInputError(`identifier '${o.identifier}' ${problem}`);
    if (typeof o.isCluster !== "boolean") {
        throw new InvalidInputError(`isCluster must be true (Aurora cluster) or false (DB instance); got ${JSON.stringify(o.isCluster)}`);
    }
    let snapshotIdentifier: string | undefined;
    if (o.snapshotIdentifier !== undefined) {
        if (o.task !== "db_restore" && o.task !== "export_snapshot") {
            throw new InvalidInputError(`snapshotIdentifier is only accepted with db_restore or export_snapshot, not ${o.task}`);
        }
        if (typeof o.snapshotIdentifier !== "string") {
            throw new InvalidInputError(`snapshotIdentifier must be a string; got ${JSON.stringify(o.snapshotIdentifier)}`);
        }
        snapshotIdentifier = o.snapshotIdentifier.toLowerCase();
        const snapProblem = snapshotIdentifierProblem(snapshotIdentifier);
        if (snapProblem) throw new InvalidInputError(`snapshotIdentifier '${o.snapshotIdentifier}' ${snapProblem}`);
    }
    let sourceIdentifier: string | undefined;
    if (o.sourceIdentifier !== undefined) {
        if (o.task !== "db_restore" || snapshotIdentifier === undefined) {
            throw new InvalidInputError(`sourceIdentifier is only accepted with db_restore and snapshotIdentifier: it names the database the given snapshot was taken from`);
        }
        if (typeof o.sourceIdentifier !== "string" || identifierProblem(o.sourceIdentifier.toLowerCase()) !== undefined) {
            throw new InvalidInputError(`sourceIdentifier must be a database identifier; got ${JSON.stringify(o.sourceIdentifier)}`);
        }
        sourceIdentifier = o.sourceIdentifier.toLowerCase();
    }
    return { identifier, task: o.task as Task, isCluster: o.isCluster, snapshotIdentifier, ...(sourceIdentifier ? { sourceIdentifier } : {}) };
}

/** The original database, remembered so rollback can tell it apart from a restore by resource id. */
export interface OriginalDatabase {
    /** DbiResourceId (instance) or DbClusterResourceId (cluster): survives renames, new on restore. */
    resourceId: string;
    /** Whether it had deletion protection: what the machine puts back on it if it keeps it. */
    deletionProtection?: boolean;
    members: { identifier: string; resourceId: string }[];
}

/** Everything later steps need; travels through the machine as `$.job`. */
export interface RestoreJob {
    task: Task;
    identifier: string;
    isCluster: boolean;
    executionArn: string;
    startedAt: string;
    /** Snapshot to restore from or export: the given one, the newest pilotlight one, or the one create_snapshot takes. */
    snapshotIdentifier: string;
    names: RunNames;
    original: OriginalDatabase;
    /** Restore tasks only: the calls that bring the database back with all its settings. */
    plan: InstancePlan | ClusterPlan | null;
    /** Identifiers of the restored cluster's members (empty for instances). */
    restoredMembers: string[];
    /** Temporary identifiers of the renamed original's members (empty for instances). */
    oldMembers: string[];
}

export interface ValidateEvent {
    request: unknown;
    executionArn: string;
    stateMachineArn: string;
    startedAt: string;
}

/** Whether a managed identifier is an RDS instance or an Aurora cluster. */
export type DatabaseKind = "instance" | "cluster";

/** Renders the validate Lambda's MANAGED_KINDS variable: `<identifier>=instance|cluster`, comma-separated. */
export function formatManagedKinds(databases: { identifier: string; isCluster: boolean }[]): string {
    return databases.map((d) => `${d.identifier}=${d.isCluster ? "cluster" : "instance"}`).join(",");
}

/** Parses MANAGED_KINDS (see formatManagedKinds); a malformed entry is a deployment error. */
export function parseManagedKinds(raw: string | undefined): Record<string, DatabaseKind> {
    const kinds: Record<string, DatabaseKind> = {};
    for (const entry of (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
        const m = /^([^=]+)=(instance|cluster)$/.exec(entry);
        if (!m) throw new Error(`MANAGED_KINDS entry '${entry}' is not <identifier>=instance or <identifier>=cluster`);
        kinds[m[1]] = m[2] as DatabaseKind;
    }
    return kinds;
}

export interface ValidateSettings {
    /** Identifiers the machine may touch; anything else is refused. */
    managedIdentifiers: string[];
    /** Configured kind of each managed identifier: a request whose isCluster disagrees is refused. */
    managedKinds: Record<string, DatabaseKind>;
    /** Whether export_snapshot is configured (bucket, key, role). */
    exportEnabled: boolean;
}

const RESTORES: Task[] = ["create_snapshot", "db_restore"];

/** Validates a request against RDS and Step Functions and returns the job; reads only. */
export async function buildJob(deps: { rds: RDSClient; sfn: SFNClient }, event: ValidateEvent, settings: ValidateSettings): Promise<RestoreJob> {
    const request = parseRequest(event.request);
    const { identifier, isCluster, task } = request;
    if (!settings.managedIdentifiers.includes(identifier)) {
        throw new InvalidInputError(
            `'${identifier}' is not a database this machine manages; managed: ${settings.managedIdentifiers.join(", ") || "(none)"}`,
        );
    }
    const kind = Object.prototype.hasOwnProperty.call(settings.managedKinds, identifier) ? settings.managedKinds[identifier] : undefined;
    if (kind === undefined) {
        throw new Error(`the restore machine's configuration does not say whether '${identifier}' is an instance or a cluster (MANAGED_KINDS)`);
    }
    if (kind === "cluster" && !isCluster) {
        throw new InvalidInputError(`'${identifier}' is an Aurora cluster; set "isCluster": true (pilotlight:restore.databases lists it as a cluster)`);
    }
    if (kind === "instance" && isCluster) {
        throw new InvalidInputError(`'${identifier}' is a DB instance, not an Aurora cluster; set "isCluster": false (pilotlight:restore.databases lists it as an instance)`);
    }
    if (task === "export_snapshot" && !settings.exportEnabled) {
        throw new InvalidInputError("export_snapshot is not configured for this stack (no export bucket/key in the restore config)");
    }

    // Exporting reads only a snapshot: the database need not be available for it.
    const requireAvailable = task !== "export_snapshot";
    const { original, memberIds, plan: planFor, refusals, engineVersion } = isCluster
        ? await inspectCluster(deps.rds, identifier, requireAvailable)
        : await inspectInstance(deps.rds, identifier, requireAvailable);
    for (const m of memberIds) {
        if (m !== identifier && !m.startsWith(`${identifier}-`)) {
            throw new InvalidInputError(
                `member '${m}' of cluster '${identifier}' is not named '${identifier}' or '${identifier}-<suffix>'; the machine's permissions cover only those member names`,
            );
        }
        const problem = identifierProblem(m);
        if (problem) throw new InvalidInputError(`member '${m}' of cluster '${identifier}': identifier ${problem}`);
    }

    if (RESTORES.includes(task) && refusals.length > 0) {
        throw new InvalidInputError(`'${identifier}' cannot be restored in place: ${refusals.join("; ")}`);
    }

    const names = runNames(identifier, event.startedAt, memberIds);
    let snapshotIdentifier: string;
    // What the snapshot fixes about the restore; a snapshot create_snapshot takes is of the database as it is.
    let facts: SnapshotFacts = {};
    if (task === "create_snapshot" || task === "create_snapshot_only") {
        snapshotIdentifier = names.newSnapshot;
    } else if (request.snapshotIdentifier) {
        // The machine's permissions cover `<identifier>-*` snapshots only; say so rather than fail with AccessDenied.
        if (!request.snapshotIdentifier.startsWith(`${identifier}-`)) {
            throw new InvalidInputError(
                `snapshotIdentifier '${request.snapshotIdentifier}' must start with '${identifier}-' (the snapshots this machine may use are named after their database); copy the snapshot to such a name first`,
            );
        }
        const snap = await findSnapshot(deps.rds, request.snapshotIdentifier, isCluster);
        if (!snap) {
            throw new SnapshotNotFoundError(`${isCluster ? "cluster snapshot" : "snapshot"} '${request.snapshotIdentifier}' does not exist`);
        }
        const from = request.sourceIdentifier ?? identifier;
        if (snap.databaseIdentifier !== from) {
            throw new SnapshotMismatchError(`snapshot '${snap.identifier}' was taken from '${snap.databaseIdentifier}', not from '${from}'`);
        }
        if (snap.status !== "available") {
            throw new SnapshotMismatchError(`snapshot '${snap.identifier}' is '${snap.status}', not available`);
        }
        snapshotIdentifier = snap.identifier;
        facts = { engineVersion: snap.engineVersion, allocatedStorage: snap.allocatedStorage };
    } else {
        // Only the machine's own snapshots: its name pattern and its tag (a tag alone is copied by copies).
        const own = (await listSnapshots(deps.rds, identifier, isCluster)).filter((s) => isOwnSnapshotName(identifier, s.identifier));
        const newest = newestPilotlightSnapshot(own);
        if (!newest) {
            throw new SnapshotNotFoundError(
                `'${identifier}' has no available pilotlight snapshot; run create_snapshot_only first or pass snapshotIdentifier`,
            );
        }
        snapshotIdentifier = newest.identifier;
        facts = { engineVersion: newest.engineVersion, allocatedStorage: newest.allocatedStorage };
    }
    const problem = RESTORES.includes(task) ? versionProblem(engineVersion, facts.engineVersion) : undefined;
    if (problem) throw new SnapshotMismatchError(`snapshot '${snapshotIdentifier}' cannot be restored over '${identifier}': ${problem}`);

    await assertNoConcurrentRun(deps.sfn, event, identifier);

    const plan = RESTORES.includes(task) ? planFor(snapshotIdentifier, facts) : null;
    return {
        task,
        identifier,
        isCluster,
        executionArn: event.executionArn,
        startedAt: event.startedAt,
        snapshotIdentifier,
        names,
        original,
        plan,
        restoredMembers: memberIds,
        oldMembers: memberIds.map((m) => names.oldMembers[m]),
    };
}

interface Inspection {
    original: OriginalDatabase;
    memberIds: string[];
    plan: (snapshotIdentifier: string, snapshot: SnapshotFacts) => InstancePlan | ClusterPlan;
    /** Why an in-place restore of it is refused (empty: none). */
    refusals: string[];
    engineVersion?: string;
}

/** The names create_snapshot gives: `<identifier>-<14-digit UTC timestamp>`. */
export function isOwnSnapshotName(identifier: string, snapshotIdentifier: string): boolean {
    return snapshotIdentifier.startsWith(`${identifier}-`) && /^\d{14}$/.test(snapshotIdentifier.slice(identifier.length + 1));
}

async function inspectInstance(rds: RDSClient, identifier: string, requireAvailable: boolean): Promise<Inspection> {
    const db = await findInstance(rds, identifier);
    if (!db) {
        if (await findCluster(rds, identifier)) {
            throw new InvalidInputError(`'${identifier}' is an Aurora cluster; set "isCluster": true`);
        }
        throw new DatabaseNotFoundError(`no DB instance '${identifier}' exists`);
    }
    if (db.DBClusterIdentifier) {
        throw new InvalidInputError(
            `'${identifier}' is a member of Aurora cluster '${db.DBClusterIdentifier}'; restore the cluster with "isCluster": true`,
        );
    }
    if (requireAvailable && db.DBInstanceStatus !== "available") {
        throw new DatabaseNotReadyError(`DB instance '${identifier}' is '${db.DBInstanceStatus}', not available`);
    }
    const tags = db.TagList ?? (await tagsOf(rds, db.DBInstanceArn!));
    return {
        original: { resourceId: db.DbiResourceId!, deletionProtection: db.DeletionProtection === true, members: [] },
        memberIds: [],
        plan: (snap, facts) => planInstanceRestore(db, tags, snap, facts),
        refusals: instanceRefusals(db),
        engineVersion: db.EngineVersion,
    };
}

async function inspectCluster(rds: RDSClient, identifier: string, requireAvailable: boolean): Promise<Inspection> {
    const cluster = await findCluster(rds, identifier);
    if (!cluster) {
        if (await findInstance(rds, identifier)) {
            throw new InvalidInputError(`'${identifier}' is a DB instance, not an Aurora cluster; set "isCluster": false`);
        }
        throw new DatabaseNotFoundError(`no Aurora cluster '${identifier}' exists`);
    }
    if (requireAvailable && cluster.Status !== "available") {
        throw new DatabaseNotReadyError(`Aurora cluster '${identifier}' is '${cluster.Status}', not available`);
    }
    const members = await clusterMembers(rds, cluster);
    const notReady = members.filter((m) => m.DBInstanceStatus !== "available");
    if (requireAvailable && notReady.length > 0) {
        throw new DatabaseNotReadyError(
            `members of '${identifier}' not available: ${notReady.map((m) => `${m.DBInstanceIdentifier} (${m.DBInstanceStatus})`).join(", ")}`,
        );
    }
    const tags = cluster.TagList ?? (await tagsOf(rds, cluster.DBClusterArn!));
    const withTags = await Promise.all(
        members.map(async (m) => ({ ...m, TagList: m.TagList ?? (await tagsOf(rds, m.DBInstanceArn!)) })),
    );
    return {
        original: {
            resourceId: cluster.DbClusterResourceId!,
            deletionProtection: cluster.DeletionProtection === true,
            members: members.map((m) => ({ identifier: m.DBInstanceIdentifier!, resourceId: m.DbiResourceId! })),
        },
        memberIds: members.map((m) => m.DBInstanceIdentifier!),
        plan: (snap, facts) => planClusterRestore(cluster, tags, withTags, snap, facts),
        refusals: clusterRefusals(cluster, members),
        engineVersion: cluster.EngineVersion,
    };
}

/**
 * Refuses to start while another execution of this machine works on the same
 * database. Reads the machine's running executions rather than holding a lock
 * tag on the database: nothing to leak when an execution dies, no mutating
 * call before validation ends, and two executions started at the same moment
 * both see each other and both stop (it fails closed).
 */
export async function assertNoConcurrentRun(sfn: SFNClient, event: ValidateEvent, identifier: string): Promise<void> {
    for (const other of await runningExecutionsOf(sfn, event.stateMachineArn)) {
        if (other.executionArn === event.executionArn) continue;
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: other.executionArn }));
        let otherIdentifier: unknown;
        try {
            otherIdentifier = (JSON.parse(described.input ?? "{}") as { identifier?: unknown }).identifier;
        } catch {
            continue; // not a valid request: that execution fails its own validation
        }
        if (typeof otherIdentifier === "string" && otherIdentifier.toLowerCase() === identifier) {
            throw new ConcurrentRunError(`execution '${other.name}' (${other.executionArn}) is already running on '${identifier}'`);
        }
    }
}

/** The `{ job }` every step after validation receives; a malformed one is a wiring bug, reported as such. */
export function requireJob(event: unknown): RestoreJob {
    const job = (event as { job?: RestoreJob } | undefined)?.job;
    if (!job || typeof job.identifier !== "string" || typeof job.isCluster !== "boolean" || !job.names || !job.original) {
        throw new InvalidInputError(`expected {"job": <output of the validation step>}, got ${JSON.stringify(event)?.slice(0, 300)}`);
    }
    return job;
}
