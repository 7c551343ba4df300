/**
 * The restore machine's mutating steps. Each takes the job validation
 * produced and is idempotent: Step Functions may run it again after a
 * transient error, so every step first looks at where things stand.
 *
 * Steps that need several rounds (deleting a cluster's members then the
 * cluster, rolling back) "advance": each call does what can be done now and
 * returns `done`; the machine waits and calls again, counting attempts.
 */
import {
    CreateDBClusterSnapshotCommand,
    CreateDBInstanceCommand,
    CreateDBSnapshotCommand,
    DBCluster,
    DBInstance,
    DeleteDBClusterCommand,
    DeleteDBClusterSnapshotCommand,
    DeleteDBInstanceCommand,
    DeleteDBSnapshotCommand,
    DescribeExportTasksCommand,
    ModifyDBClusterCommand,
    ModifyDBInstanceCommand,
    RDSClient,
    RestoreDBClusterFromSnapshotCommand,
    RestoreDBInstanceFromDBSnapshotCommand,
    StartExportTaskCommand,
} from "@aws-sdk/client-rds";
import { ResourceFailedError, SnapshotNotFoundError, UnexpectedStateError } from "./errors";
import { SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE } from "./naming";
import {
    FAILED_DB_STATUSES,
    FAILED_SNAPSHOT_STATUSES,
    findCluster,
    findInstance,
    findSnapshot,
    listSnapshots,
    selectSnapshotsToPrune,
} from "./rds";
import { isOwnSnapshotName, type RestoreJob } from "./restoreJob";
import { settingsStillToApply, type ClusterPlan, type InstancePlan } from "./restorePlan";

function alreadyExists(err: unknown): boolean {
    return /AlreadyExists(Fault)?$/.test((err as { name?: string })?.name ?? "");
}

function notFound(err: unknown): boolean {
    return /NotFound(Fault)?$/.test((err as { name?: string })?.name ?? "");
}

// ------------------------------------------------------------------ snapshot

/** Takes the job's new snapshot, tagged as pilotlight's. A retry finding it already there (taken from this database) is fine. */
export async function createSnapshot(rds: RDSClient, job: RestoreJob): Promise<{ snapshotIdentifier: string }> {
    const Tags = [{ Key: SNAPSHOT_TAG_KEY, Value: SNAPSHOT_TAG_VALUE }];
    // Look first: after a lost response the database may be busy with the snapshot an earlier attempt started.
    const before = await findSnapshot(rds, job.names.newSnapshot, job.isCluster);
    if (before) {
        if (before.databaseIdentifier !== job.identifier) {
            throw new UnexpectedStateError(`snapshot ${job.names.newSnapshot} exists but was taken from '${before.databaseIdentifier}', not '${job.identifier}'`);
        }
        return { snapshotIdentifier: job.names.newSnapshot };
    }
    try {
        if (job.isCluster) {
            await rds.send(
                new CreateDBClusterSnapshotCommand({
                    DBClusterIdentifier: job.identifier,
                    DBClusterSnapshotIdentifier: job.names.newSnapshot,
                    Tags,
                }),
            );
        } else {
            await rds.send(
                new CreateDBSnapshotCommand({ DBInstanceIdentifier: job.identifier, DBSnapshotIdentifier: job.names.newSnapshot, Tags }),
            );
        }
    } catch (err) {
        if (!alreadyExists(err)) throw err;
        const existing = await findSnapshot(rds, job.names.newSnapshot, job.isCluster);
        if (existing?.databaseIdentifier !== job.identifier) throw err;
    }
    return { snapshotIdentifier: job.names.newSnapshot };
}

/**
 * Deletes pilotlight snapshots of the database beyond the newest `keep`.
 * Runs only after the new snapshot is available, and never deletes the
 * snapshot this job took or uses.
 */
export async function pruneSnapshots(rds: RDSClient, job: RestoreJob, keep: number): Promise<{ deleted: string[]; kept: number }> {
    // Only what this machine made: its own name pattern and its tag (a tag alone is copied by operators' copies).
    const all = (await listSnapshots(rds, job.identifier, job.isCluster)).filter((s) => isOwnSnapshotName(job.identifier, s.identifier));
    const victims = selectSnapshotsToPrune(all, keep).filter((s) => s.identifier !== job.snapshotIdentifier);
    const deleted: string[] = [];
    for (const s of victims) {
        try {
            if (job.isCluster) {
                await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: s.identifier }));
            } else {
                await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: s.identifier }));
            }
            deleted.push(s.identifier);
        } catch (err) {
            if (!notFound(err)) throw err;
        }
    }
    return { deleted, kept: all.length - victims.length };
}

// -------------------------------------------------------------------- status

export interface StatusRequest {
    /** What to look at. */
    target: "database" | "snapshot" | "export";
    isCluster: boolean;
    identifier: string;
    /** database + cluster: member instances that must all be available too. */
    members?: string[];
}

export interface StatusResult {
    status: string;
    /** Available (or export complete): the wait is over. */
    ready: boolean;
    /** Will never become ready: stop waiting and fail. */
    failed: boolean;
    detail: string;
}

/** One poll of a wait loop. Not found counts as "not ready yet" (a rename or create may not be visible yet). */
export async function checkStatus(rds: RDSClient, req: StatusRequest): Promise<StatusResult> {
    if (req.target === "snapshot") {
        const s = await findSnapshot(rds, req.identifier, req.isCluster);
        const status = s?.status ?? "not-found";
        return {
            status,
            ready: status === "available",
            failed: FAILED_SNAPSHOT_STATUSES.has(status),
            detail: `snapshot ${req.identifier} is ${status}`,
        };
    }
    if (req.target === "export") {
        let status = "not-found";
        let reason = "";
        try {
            const out = await rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: req.identifier }));
            status = out.ExportTasks?.[0]?.Status ?? "not-found";
            reason = out.ExportTasks?.[0]?.FailureCause ?? "";
        } catch (err) {
            if (!notFound(err)) throw err;
        }
        return {
            status,
            ready: status === "COMPLETE",
            failed: status === "FAILED" || status === "CANCELED" || status === "CANCELING",
            detail: `export ${req.identifier} is ${status}${reason ? `: ${reason}` : ""}`,
        };
    }
    const parts: { id: string; status: string }[] = [];
    if (req.isCluster) {
        const c = await findCluster(rds, req.identifier);
        parts.push({ id: req.identifier, status: c?.Status ?? "not-found" });
    } else {
        const i = await findInstance(rds, req.identifier);
        parts.push({ id: req.identifier, status: i?.DBInstanceStatus ?? "not-found" });
    }
    for (const m of req.members ?? []) {
        const i = await findInstance(rds, m);
        parts.push({ id: m, status: i?.DBInstanceStatus ?? "not-found" });
    }
    const ready = parts.every((p) => p.status === "available");
    const failedParts = parts.filter((p) => FAILED_DB_STATUSES.has(p.status));
    return {
        status: ready ? "available" : (failedParts[0]?.status ?? parts.find((p) => p.status !== "available")!.status),
        ready,
        failed: failedParts.length > 0,
        detail: parts.map((p) => `${p.id}: ${p.status}`).join(", "),
    };
}

// -------------------------------------------------------------------- rename

/** Renames `from` to `to` unless an earlier attempt did (the resource id tells the original apart from anything else). */
async function renameInstance(rds: RDSClient, from: string, to: string, resourceId: string): Promise<void> {
    const atTarget = await findInstance(rds, to);
    if (atTarget?.DbiResourceId === resourceId) return; // done by an earlier attempt
    const atSource = await findInstance(rds, from);
    if (atSource?.DbiResourceId !== resourceId) {
        throw new UnexpectedStateError(`the original is neither under ${from} nor under ${to}; not renaming anything`);
    }
    if (atSource.DBInstanceStatus === "renaming") return; // an earlier attempt's rename is under way
    if (atTarget) throw new UnexpectedStateError(`${to} is taken by another database (resource id ${atTarget.DbiResourceId}); not renaming ${from}`);
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: from, NewDBInstanceIdentifier: to, ApplyImmediately: true }));
}

/** Renames the original (cluster: every member, then the cluster) to its temporary name. */
export async function renameOriginal(rds: RDSClient, job: RestoreJob): Promise<{ renamedTo: string }> {
    if (!job.isCluster) {
        await renameInstance(rds, job.identifier, job.names.old, job.original.resourceId);
        return { renamedTo: job.names.old };
    }
    for (const m of job.original.members) {
        await renameInstance(rds, m.identifier, job.names.oldMembers[m.identifier], m.resourceId);
    }
    const atTarget = await findCluster(rds, job.names.old);
    if (atTarget?.DbClusterResourceId === job.original.resourceId) return { renamedTo: job.names.old };
    const atSource = await findCluster(rds, job.identifier);
    if (atSource?.DbClusterResourceId !== job.original.resourceId) {
        throw new UnexpectedStateError(`the original cluster is neither under ${job.identifier} nor under ${job.names.old}; not renaming anything`);
    }
    if (atSource.Status === "renaming") return { renamedTo: job.names.old };
    if (atTarget) throw new UnexpectedStateError(`${job.names.old} is taken by another cluster (resource id ${atTarget.DbClusterResourceId}); not renaming ${job.identifier}`);
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.identifier, NewDBClusterIdentifier: job.names.old, ApplyImmediately: true }));
    return { renamedTo: job.names.old };
}

// ------------------------------------------------------------------- restore

export interface AdvanceResult {
    done: boolean;
    detail: string;
}

export interface RestoreProgress extends AdvanceResult {
    restored: string;
    members: string[];
}

/**
 * One round of the restore under the original identifier. An instance: the restore call, once.
 * A cluster: the cluster; once it is available, the writer (the first instance created in a
 * cluster is its writer); once the writer is available, the readers. A round that finds a step
 * done by an earlier attempt goes on to the next.
 */
export async function startRestore(rds: RDSClient, job: RestoreJob): Promise<RestoreProgress> {
    if (!job.plan) throw new Error(`task ${job.task} has no restore plan`);
    if (!job.isCluster) {
        const plan = job.plan as InstancePlan;
        const existing = await findInstance(rds, job.identifier);
        if (!existing) {
            await rds.send(new RestoreDBInstanceFromDBSnapshotCommand(plan.restore));
        } else if (existing.DbiResourceId === job.original.resourceId) {
            throw new UnexpectedStateError(`the original '${job.identifier}' is still under its identifier; refusing to restore over it`);
        }
        return { done: true, detail: `restoring ${job.identifier} from ${job.snapshotIdentifier}`, restored: job.identifier, members: [] };
    }
    const plan = job.plan as ClusterPlan;
    const ids = plan.members.map((m) => m.DBInstanceIdentifier!);
    const round = (done: boolean, detail: string): RestoreProgress => ({ done, detail, restored: job.identifier, members: ids });
    const existing = await findCluster(rds, job.identifier);
    if (!existing) {
        await rds.send(new RestoreDBClusterFromSnapshotCommand(plan.restore));
        return round(false, `restoring cluster ${job.identifier} from ${job.snapshotIdentifier}`);
    }
    if (existing.DbClusterResourceId === job.original.resourceId) {
        throw new UnexpectedStateError(`the original cluster '${job.identifier}' is still under its identifier; refusing to restore over it`);
    }
    if (FAILED_DB_STATUSES.has(existing.Status ?? "")) throw new ResourceFailedError(`the restored cluster ${job.identifier} is ${existing.Status}`);
    // "You can create DB instances only after the RestoreDBClusterFromSnapshot operation has completed and the DB cluster is available."
    if (existing.Status !== "available") return round(false, `cluster ${job.identifier} is ${existing.Status}`);
    const [writer, ...readers] = plan.members;
    for (const member of [writer, ...readers]) {
        const id = member.DBInstanceIdentifier!;
        const inst = await findInstance(rds, id);
        if (!inst) {
            await rds.send(new CreateDBInstanceCommand(member));
            if (member === writer) return round(false, `creating the writer ${id}`);
            continue;
        }
        if (inst.DBClusterIdentifier !== job.identifier) {
            throw new UnexpectedStateError(`${id} exists but belongs to ${inst.DBClusterIdentifier ?? "no cluster"}, not the restored ${job.identifier}`);
        }
        if (member === writer && inst.DBInstanceStatus !== "available") {
            if (FAILED_DB_STATUSES.has(inst.DBInstanceStatus ?? "")) throw new ResourceFailedError(`the restored writer ${id} is ${inst.DBInstanceStatus}`);
            return round(false, `writer ${id} is ${inst.DBInstanceStatus}`);
        }
    }
    return round(true, `cluster ${job.identifier}, its writer and readers created`);
}

/**
 * One round of applying the settings a restore cannot take (monitoring, Performance Insights,
 * maintenance window, deletion protection, managed password...). It looks first: only what the
 * database does not have yet is sent, and only while it is available, so a retry after a lost
 * response waits for the first modify instead of failing on `modifying`.
 */
export async function applySettings(rds: RDSClient, job: RestoreJob): Promise<AdvanceResult & { applied: string[] }> {
    const modify = job.plan?.modify ?? null;
    const db = job.isCluster ? await findCluster(rds, job.identifier) : await findInstance(rds, job.identifier);
    const status = job.isCluster ? (db as DBCluster | undefined)?.Status : (db as DBInstance | undefined)?.DBInstanceStatus;
    if (!db) throw new UnexpectedStateError(`the restored ${job.identifier} is not there`);
    if (status !== "available") return { done: false, detail: `${job.identifier} is ${status}`, applied: [] };
    const missing = settingsStillToApply(modify, db);
    const applied = Object.keys(missing);
    if (applied.length === 0) return { done: true, detail: `${job.identifier} has every captured setting`, applied };
    if (job.isCluster) {
        await rds.send(new ModifyDBClusterCommand({ ...missing, DBClusterIdentifier: job.identifier, ApplyImmediately: true }));
    } else {
        await rds.send(new ModifyDBInstanceCommand({ ...missing, DBInstanceIdentifier: job.identifier, ApplyImmediately: true }));
    }
    return { done: false, detail: `applying ${applied.join(", ")} to ${job.identifier}`, applied };
}

// ------------------------------------------------------------ delete the old

function isDeleting(status: string | undefined): boolean {
    return status === "deleting";
}

/** What the execution leaves behind, for its output and alerts. */
export interface RestoreResult {
    identifier: string;
    /** Resource id of the restored database (new: the program that manages it must re-adopt it). */
    resourceId: string;
    /** Secrets Manager ARN of the restored database's RDS-managed master password; "none" without one. Changed by every restore. */
    masterUserSecretArn: string;
    /** KMS key the restored database is encrypted with; "none" if not encrypted. */
    kmsKeyId: string;
    /** Where the original's data is kept: its final snapshot. */
    finalSnapshot: string;
}

async function restoreResult(rds: RDSClient, job: RestoreJob): Promise<RestoreResult> {
    const db = job.isCluster ? await findCluster(rds, job.identifier) : await findInstance(rds, job.identifier);
    const resourceId = job.isCluster ? (db as DBCluster | undefined)?.DbClusterResourceId : (db as DBInstance | undefined)?.DbiResourceId;
    return {
        identifier: job.identifier,
        resourceId: resourceId ?? "unknown",
        masterUserSecretArn: db?.MasterUserSecret?.SecretArn ?? "none",
        kmsKeyId: db?.KmsKeyId ?? "none",
        finalSnapshot: job.names.finalSnapshot,
    };
}

/** The final snapshot of the original exists (any status but failed): only then may anything say it holds the original. */
async function finalSnapshotTaken(rds: RDSClient, job: RestoreJob): Promise<string | undefined> {
    const snap = await findSnapshot(rds, job.names.finalSnapshot, job.isCluster);
    if (!snap || FAILED_SNAPSHOT_STATUSES.has(snap.status)) return undefined;
    return snap.status;
}

/**
 * Deletes the renamed original, with a final snapshot and keeping its automated backups, after the
 * restore is available with its settings: deletion protection off first, then (cluster) the
 * members, then the database itself. Only ever touches resources whose resource id is the original's.
 */
export async function deleteOld(rds: RDSClient, job: RestoreJob): Promise<AdvanceResult & { result?: RestoreResult }> {
    const gone = async (): Promise<AdvanceResult & { result?: RestoreResult }> => {
        const final = await finalSnapshotTaken(rds, job);
        if (!final) throw new UnexpectedStateError(`${job.names.old} is gone but its final snapshot ${job.names.finalSnapshot} is not there`);
        return { done: true, detail: `${job.names.old} deleted; its data is in the final snapshot ${job.names.finalSnapshot} (${final})`, result: await restoreResult(rds, job) };
    };
    if (!job.isCluster) {
        const old = await findInstance(rds, job.names.old);
        if (!old) return gone();
        if (old.DbiResourceId !== job.original.resourceId) {
            throw new UnexpectedStateError(`${job.names.old} is not the original database (resource id ${old.DbiResourceId}); not deleting it`);
        }
        if (isDeleting(old.DBInstanceStatus)) return { done: false, detail: `${job.names.old} is deleting` };
        if (old.DBInstanceStatus !== "available") return { done: false, detail: `${job.names.old} is ${old.DBInstanceStatus}` };
        if (old.DeletionProtection) {
            await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: job.names.old, DeletionProtection: false, ApplyImmediately: true }));
            return { done: false, detail: `turned deletion protection off on ${job.names.old}` };
        }
        await rds.send(
            new DeleteDBInstanceCommand({
                DBInstanceIdentifier: job.names.old,
                FinalDBSnapshotIdentifier: job.names.finalSnapshot,
                SkipFinalSnapshot: false,
                // Keep its point-in-time history for its retention period (the default removes it at once).
                DeleteAutomatedBackups: false,
            }),
        );
        return { done: false, detail: `deleting ${job.names.old} with final snapshot ${job.names.finalSnapshot}` };
    }

    const cluster = await findCluster(rds, job.names.old);
    if (!cluster) {
        const left: string[] = [];
        for (const m of job.original.members) {
            const oldName = job.names.oldMembers[m.identifier];
            if ((await findInstance(rds, oldName))?.DbiResourceId === m.resourceId) left.push(oldName);
        }
        if (left.length > 0) return { done: false, detail: `${job.names.old} deleted; members still deleting: ${left.join(", ")}` };
        return gone();
    }
    if (cluster.DbClusterResourceId !== job.original.resourceId) {
        throw new UnexpectedStateError(`${job.names.old} is not the original cluster (resource id ${cluster.DbClusterResourceId}); not deleting it`);
    }
    if (isDeleting(cluster.Status)) return { done: false, detail: `${job.names.old} is deleting` };
    if (cluster.Status !== "available") return { done: false, detail: `${job.names.old} is ${cluster.Status}` };
    if (cluster.DeletionProtection) {
        await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, DeletionProtection: false, ApplyImmediately: true }));
        return { done: false, detail: `turned deletion protection off on ${job.names.old}` };
    }
    const members = await originalMembersAway(rds, job);
    for (const m of members) {
        if (!isDeleting(m.DBInstanceStatus)) {
            // Aurora members take no final snapshot: the cluster's final snapshot holds the data.
            await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: m.DBInstanceIdentifier! }));
        }
    }
    await deleteOriginalCluster(rds, job);
    return { done: false, detail: `deleting ${job.names.old} (${members.length} member(s) deleting) with final snapshot ${job.names.finalSnapshot}` };
}

/** The original's members under their temporary names (anything else there is an error). */
async function originalMembersAway(rds: RDSClient, job: RestoreJob): Promise<DBInstance[]> {
    const out: DBInstance[] = [];
    for (const m of job.original.members) {
        const oldName = job.names.oldMembers[m.identifier];
        const member = await findInstance(rds, oldName);
        if (!member) continue;
        if (member.DbiResourceId !== m.resourceId) throw new UnexpectedStateError(`${oldName} is not the original member; not deleting it`);
        out.push(member);
    }
    return out;
}

async function deleteOriginalCluster(rds: RDSClient, job: RestoreJob): Promise<void> {
    await rds.send(
        new DeleteDBClusterCommand({
            DBClusterIdentifier: job.names.old,
            FinalDBSnapshotIdentifier: job.names.finalSnapshot,
            SkipFinalSnapshot: false,
            DeleteAutomatedBackups: false,
        }),
    );
}

// ------------------------------------------------------------------ rollback

export type RollbackOutcome =
    /** The original is back, available, under its identifier, as it was; any half-made restore is gone. */
    | "original-restored"
    /** Past the point of no return: the restored database serves under the identifier, the original is kept under its temporary name. */
    | "kept-both"
    /** The restored database serves; the original was deleted and its final snapshot exists. */
    | "restore-kept"
    /** The restored database serves; neither the original nor its final snapshot could be found. */
    | "restore-kept-original-missing"
    /** Still working. */
    | "in-progress";

export interface RollbackResult extends AdvanceResult {
    outcome: RollbackOutcome;
    /** True once the restored database has served under the identifier: the execution did not put things back. */
    cutover: boolean;
}

const progress = (detail: string, cutover = false): RollbackResult => ({ done: false, outcome: "in-progress", detail, cutover });

/** A half-made restore that may have served connections: `available` (or later) rather than still being created or failed. */
function hasServed(status: string | undefined): boolean {
    return !["creating", "backing-up", "deleting"].includes(status ?? "") && !FAILED_DB_STATUSES.has(status ?? "");
}

/**
 * One round of rollback, before the point of no return. Finds the original by resource id (under
 * its identifier or its temporary name), deletes whatever else sits under the identifier (the
 * half-made restore, still being created or failed: its data is the snapshot's), then renames the
 * original back. A restore that already became available is past the point of no return: it is
 * never deleted, both are kept (see keepBoth).
 */
export async function rollback(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    return job.isCluster ? rollbackCluster(rds, job) : rollbackInstance(rds, job);
}

async function rollbackInstance(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    const atId = await findInstance(rds, job.identifier);
    if (atId?.DbiResourceId === job.original.resourceId) {
        if (atId.DBInstanceStatus === "available") {
            return { done: true, outcome: "original-restored", detail: `${job.identifier} is the original and available`, cutover: false };
        }
        return progress(`original ${job.identifier} is ${atId.DBInstanceStatus}`);
    }
    const old = await findInstance(rds, job.names.old);
    if (!old || old.DbiResourceId !== job.original.resourceId) {
        return progress(`original not found under ${job.identifier} or ${job.names.old} yet`);
    }
    if (atId && hasServed(atId.DBInstanceStatus)) return keepBoth(rds, job);
    if (isDeleting(old.DBInstanceStatus)) return keepBoth(rds, job);
    if (atId) {
        await removeHalfMadeInstance(rds, atId);
        return progress(`removing the half-made restore ${job.identifier} (${atId.DBInstanceStatus})`);
    }
    if (old.DBInstanceStatus !== "available") return progress(`original ${job.names.old} is ${old.DBInstanceStatus}`);
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: job.names.old, NewDBInstanceIdentifier: job.identifier, ApplyImmediately: true }));
    return progress(`renaming ${job.names.old} back to ${job.identifier}`);
}

async function removeHalfMadeInstance(rds: RDSClient, inst: DBInstance): Promise<void> {
    const id = inst.DBInstanceIdentifier!;
    if (isDeleting(inst.DBInstanceStatus)) return;
    try {
        // Never available, so never written to: it holds only the snapshot's data, and that snapshot still exists.
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: inst.DBClusterIdentifier ? undefined : true }));
    } catch (err) {
        // Still creating: try again next round.
        if ((err as Error).name !== "InvalidDBInstanceStateFault") throw err;
    }
}

async function rollbackCluster(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    const atId = await findCluster(rds, job.identifier);
    const home = atId?.DbClusterResourceId === job.original.resourceId;
    const old = home ? undefined : await findCluster(rds, job.names.old);
    const original = home ? atId : old?.DbClusterResourceId === job.original.resourceId ? old : undefined;
    if (!original) return progress(`original cluster not found under ${job.identifier} or ${job.names.old} yet`);

    // Where each original member is now.
    const members: { identifier: string; oldName: string; at?: DBInstance; where: "home" | "old" | "missing" }[] = [];
    for (const m of job.original.members) {
        const oldName = job.names.oldMembers[m.identifier];
        const atHome = await findInstance(rds, m.identifier);
        if (atHome?.DbiResourceId === m.resourceId) {
            members.push({ identifier: m.identifier, oldName, at: atHome, where: "home" });
            continue;
        }
        const away = await findInstance(rds, oldName);
        const isOriginal = away?.DbiResourceId === m.resourceId;
        members.push({ identifier: m.identifier, oldName, at: isOriginal ? away : undefined, where: isOriginal ? "old" : "missing" });
    }
    if (isDeleting(original.Status) || members.some((m) => isDeleting(m.at?.DBInstanceStatus))) return keepBoth(rds, job);
    if (members.some((m) => m.where === "missing")) {
        return progress(`original members not found yet: ${members.filter((m) => m.where === "missing").map((m) => m.identifier).join(", ")}`);
    }

    if (!home) {
        if (atId) {
            const writer = (atId.DBClusterMembers ?? []).find((m) => m.IsClusterWriter)?.DBInstanceIdentifier;
            const writerStatus = writer ? (await findInstance(rds, writer))?.DBInstanceStatus : undefined;
            if (atId.Status === "available" && writerStatus !== undefined && hasServed(writerStatus)) return keepBoth(rds, job);
            await removeHalfMadeCluster(rds, atId);
            return progress(`removing the half-made restore ${job.identifier} (${atId.Status})`);
        }
        if (original.Status !== "available") return progress(`original ${job.names.old} is ${original.Status}`);
        await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, NewDBClusterIdentifier: job.identifier, ApplyImmediately: true }));
        return progress(`renaming ${job.names.old} back to ${job.identifier}`);
    }

    // The cluster is home; bring its members home too (never leave it without them).
    const away = members.filter((m) => m.where === "old");
    for (const m of away) {
        const squatter = await findInstance(rds, m.identifier);
        if (squatter) {
            await removeHalfMadeInstance(rds, squatter);
            continue;
        }
        if (m.at?.DBInstanceStatus === "available") {
            await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: m.oldName, NewDBInstanceIdentifier: m.identifier, ApplyImmediately: true }));
        }
    }
    if (away.length > 0) return progress(`renaming members back: ${away.map((m) => m.identifier).join(", ")}`);
    const notReady = [original.Status, ...members.map((m) => m.at?.DBInstanceStatus)].some((s) => s !== "available");
    if (notReady) return progress(`original ${job.identifier} and its members are not all available yet`);
    return { done: true, outcome: "original-restored", detail: `${job.identifier} and its members are the originals and available`, cutover: false };
}

async function removeHalfMadeCluster(rds: RDSClient, cluster: DBCluster): Promise<void> {
    const id = cluster.DBClusterIdentifier!;
    if (isDeleting(cluster.Status)) return;
    let remaining = 0;
    for (const m of cluster.DBClusterMembers ?? []) {
        const inst = await findInstance(rds, m.DBInstanceIdentifier!);
        if (!inst) continue;
        if (!isDeleting(inst.DBInstanceStatus)) {
            await removeHalfMadeInstance(rds, inst);
            remaining++;
        }
    }
    if (remaining > 0) return;
    try {
        // The half-made restore never served: it holds only the snapshot's data, and that snapshot still exists.
        await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true }));
    } catch (err) {
        if ((err as Error).name !== "InvalidDBClusterStateFault") throw err;
    }
}

// ------------------------------------------------------ after the cutover

/**
 * One round after a failure past the point of no return (the restored database is available
 * under the identifier and may have taken writes): never deletes it, never renames anything.
 * It puts deletion protection back on a kept original that had it, finishes deleting an original
 * cluster whose members are already going (a cluster is never left without members), and says
 * exactly where each database is.
 */
export async function keepBoth(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    const restored = job.isCluster ? await findCluster(rds, job.identifier) : await findInstance(rds, job.identifier);
    const restoredStatus = job.isCluster ? (restored as DBCluster | undefined)?.Status : (restored as DBInstance | undefined)?.DBInstanceStatus;
    const secret = restored?.MasterUserSecret?.SecretArn;
    const serving = `the restored database serves as ${job.identifier} (${restoredStatus ?? "not found"}${secret ? `, master password in secret ${secret}` : ""})`;
    const original = job.isCluster ? await findCluster(rds, job.names.old) : await findInstance(rds, job.names.old);
    const resourceId = job.isCluster ? (original as DBCluster | undefined)?.DbClusterResourceId : (original as DBInstance | undefined)?.DbiResourceId;
    const status = job.isCluster ? (original as DBCluster | undefined)?.Status : (original as DBInstance | undefined)?.DBInstanceStatus;
    if (original && resourceId !== job.original.resourceId) {
        throw new UnexpectedStateError(`${job.names.old} is not the original (resource id ${resourceId}); ${serving}; find the original by resource id ${job.original.resourceId}`);
    }
    if (original && !isDeleting(status)) {
        if (job.isCluster) {
            const members = await originalMembersAway(rds, job);
            if (members.length < job.original.members.length || members.some((m) => isDeleting(m.DBInstanceStatus))) {
                // Its members are going: finish what was started, so the original lives on in its final snapshot.
                if (original.DeletionProtection) {
                    if (status !== "available") return progress(`${job.names.old} is ${status}`, true);
                    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, DeletionProtection: false, ApplyImmediately: true }));
                    return progress(`turned deletion protection off on ${job.names.old} to finish deleting it`, true);
                }
                for (const m of members) {
                    if (!isDeleting(m.DBInstanceStatus)) await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: m.DBInstanceIdentifier! }));
                }
                try {
                    await deleteOriginalCluster(rds, job);
                } catch (err) {
                    if ((err as Error).name !== "InvalidDBClusterStateFault") throw err;
                }
                return progress(`finishing the deletion of ${job.names.old} with final snapshot ${job.names.finalSnapshot}`, true);
            }
        }
        if (job.original.deletionProtection && !original.DeletionProtection) {
            if (status !== "available") return progress(`${job.names.old} is ${status}; deletion protection goes back on once it is available`, true);
            if (job.isCluster) {
                await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, DeletionProtection: true, ApplyImmediately: true }));
            } else {
                await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: job.names.old, DeletionProtection: true, ApplyImmediately: true }));
            }
            return progress(`putting deletion protection back on ${job.names.old}`, true);
        }
        return {
            done: true,
            outcome: "kept-both",
            cutover: true,
            detail:
                `${serving}; the original is kept as ${job.names.old} (${status}, resource id ${job.original.resourceId}, deletion protection ${original.DeletionProtection ? "on" : "off"}). ` +
                `Check the restored database, then delete ${job.names.old} with a final snapshot, or rename the databases back by hand`,
        };
    }
    const final = await finalSnapshotTaken(rds, job);
    if (final) {
        return {
            done: true,
            outcome: "restore-kept",
            cutover: true,
            detail: `${serving}; the original (${job.names.old}) ${original ? "is being deleted" : "was deleted"}, its data is in the final snapshot ${job.names.finalSnapshot} (${final})`,
        };
    }
    if (original) return progress(`${job.names.old} is deleting; its final snapshot ${job.names.finalSnapshot} is not visible yet`, true);
    return {
        done: true,
        outcome: "restore-kept-original-missing",
        cutover: true,
        detail: `${serving}; neither the original (${job.names.old}, resource id ${job.original.resourceId}) nor its final snapshot ${job.names.finalSnapshot} was found`,
    };
}

// -------------------------------------------------------------------- export

export interface ExportSettings {
    bucket: string;
    prefix: string;
    kmsKeyArn: string;
    roleArn: string;
}

/** Starts exporting the job's snapshot to S3 (Parquet, encrypted with the export key). A retry finding the task started is fine. */
export async function startExport(rds: RDSClient, job: RestoreJob, settings: ExportSettings): Promise<{ exportTask: string; s3Uri: string }> {
    const snap = await findSnapshot(rds, job.snapshotIdentifier, job.isCluster);
    if (!snap) throw new SnapshotNotFoundError(`snapshot ${job.snapshotIdentifier} no longer exists`);
    if (snap.status !== "available") throw new ResourceFailedError(`snapshot ${job.snapshotIdentifier} is ${snap.status}, not available`);
    const prefix = [settings.prefix, job.identifier].filter(Boolean).join("/");
    try {
        await rds.send(
            new StartExportTaskCommand({
                ExportTaskIdentifier: job.names.exportTask,
                SourceArn: snap.arn,
                S3BucketName: settings.bucket,
                S3Prefix: prefix,
                IamRoleArn: settings.roleArn,
                KmsKeyId: settings.kmsKeyArn,
            }),
        );
    } catch (err) {
        if (!alreadyExists(err)) throw err;
    }
    return { exportTask: job.names.exportTask, s3Uri: `s3://${settings.bucket}/${prefix}/${job.names.exportTask}` };
}
