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
import type { RestoreJob } from "./restoreJob";
import type { ClusterPlan, InstancePlan } from "./restorePlan";

function alreadyExists(err: unknown): boolean {
    return /AlreadyExists(Fault)?$/.test((err as { name?: string })?.name ?? "");
}

function notFound(err: unknown): boolean {
    return /NotFound(Fault)?$/.test((err as { name?: string })?.name ?? "");
}

// ------------------------------------------------------------------ snapshot

/** Takes the job's new snapshot, tagged as pilotlight's. A retry finding it already there is fine. */
export async function createSnapshot(rds: RDSClient, job: RestoreJob): Promise<{ snapshotIdentifier: string }> {
    const Tags = [{ Key: SNAPSHOT_TAG_KEY, Value: SNAPSHOT_TAG_VALUE }];
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
    const all = await listSnapshots(rds, job.identifier, job.isCluster);
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

async function renameInstance(rds: RDSClient, from: string, to: string, resourceId: string): Promise<void> {
    const atTarget = await findInstance(rds, to);
    if (atTarget?.DbiResourceId === resourceId) return; // done by an earlier attempt
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
    if (atTarget?.DbClusterResourceId !== job.original.resourceId) {
        await rds.send(
            new ModifyDBClusterCommand({ DBClusterIdentifier: job.identifier, NewDBClusterIdentifier: job.names.old, ApplyImmediately: true }),
        );
    }
    return { renamedTo: job.names.old };
}

// ------------------------------------------------------------------- restore

/** Starts the restore under the original identifier (cluster: then creates each member, writer first). */
export async function startRestore(rds: RDSClient, job: RestoreJob): Promise<{ restored: string; members: string[] }> {
    if (!job.plan) throw new Error(`task ${job.task} has no restore plan`);
    if (!job.isCluster) {
        const plan = job.plan as InstancePlan;
        const existing = await findInstance(rds, job.identifier);
        if (!existing) {
            await rds.send(new RestoreDBInstanceFromDBSnapshotCommand(plan.restore));
        } else if (existing.DbiResourceId === job.original.resourceId) {
            throw new UnexpectedStateError(`the original '${job.identifier}' is still under its identifier; refusing to restore over it`);
        }
        return { restored: job.identifier, members: [] };
    }
    const plan = job.plan as ClusterPlan;
    const existing = await findCluster(rds, job.identifier);
    if (!existing) {
        await rds.send(new RestoreDBClusterFromSnapshotCommand(plan.restore));
    } else if (existing.DbClusterResourceId === job.original.resourceId) {
        throw new UnexpectedStateError(`the original cluster '${job.identifier}' is still under its identifier; refusing to restore over it`);
    }
    for (const member of plan.members) {
        if (!(await findInstance(rds, member.DBInstanceIdentifier!))) {
            await rds.send(new CreateDBInstanceCommand(member));
        }
    }
    return { restored: job.identifier, members: plan.members.map((m) => m.DBInstanceIdentifier!) };
}

/** Applies the settings a restore cannot take (monitoring, Performance Insights, maintenance window, deletion protection...). */
export async function applySettings(rds: RDSClient, job: RestoreJob): Promise<{ applied: string[] }> {
    const modify = job.plan?.modify;
    if (!modify) return { applied: [] };
    const applied = Object.keys(modify).filter((k) => !["DBInstanceIdentifier", "DBClusterIdentifier", "ApplyImmediately"].includes(k));
    if (job.isCluster) {
        await rds.send(new ModifyDBClusterCommand(modify as ClusterPlan["modify"] & object));
    } else {
        await rds.send(new ModifyDBInstanceCommand(modify as InstancePlan["modify"] & object));
    }
    return { applied };
}

// ------------------------------------------------------------ delete the old

export interface AdvanceResult {
    done: boolean;
    detail: string;
}

function isDeleting(status: string | undefined): boolean {
    return status === "deleting";
}

/**
 * Deletes the renamed original, with a final snapshot, after the restore is
 * available: deletion protection off first, then (cluster) the members, then
 * the database itself. Only ever touches resources whose resource id is the
 * original's.
 */
export async function deleteOld(rds: RDSClient, job: RestoreJob): Promise<AdvanceResult> {
    if (!job.isCluster) {
        const old = await findInstance(rds, job.names.old);
        if (!old) return { done: true, detail: `${job.names.old} deleted; final snapshot ${job.names.finalSnapshot}` };
        if (old.DbiResourceId !== job.original.resourceId) {
            throw new UnexpectedStateError(`${job.names.old} is not the original database (resource id ${old.DbiResourceId}); not deleting it`);
        }
        if (isDeleting(old.DBInstanceStatus)) return { done: false, detail: `${job.names.old} is deleting` };
        if (old.DeletionProtection) {
            await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: job.names.old, DeletionProtection: false, ApplyImmediately: true }));
            return { done: false, detail: `turned deletion protection off on ${job.names.old}` };
        }
        if (old.DBInstanceStatus !== "available") return { done: false, detail: `${job.names.old} is ${old.DBInstanceStatus}` };
        await rds.send(
            new DeleteDBInstanceCommand({
                DBInstanceIdentifier: job.names.old,
                FinalDBSnapshotIdentifier: job.names.finalSnapshot,
                SkipFinalSnapshot: false,
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
        return { done: true, detail: `${job.names.old} deleted; final snapshot ${job.names.finalSnapshot}` };
    }
    if (cluster.DbClusterResourceId !== job.original.resourceId) {
        throw new UnexpectedStateError(`${job.names.old} is not the original cluster (resource id ${cluster.DbClusterResourceId}); not deleting it`);
    }
    if (isDeleting(cluster.Status)) return { done: false, detail: `${job.names.old} is deleting` };
    if (cluster.DeletionProtection) {
        await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, DeletionProtection: false, ApplyImmediately: true }));
        return { done: false, detail: `turned deletion protection off on ${job.names.old}` };
    }
    let waiting = 0;
    for (const m of job.original.members) {
        const oldName = job.names.oldMembers[m.identifier];
        const member = await findInstance(rds, oldName);
        if (!member) continue;
        if (member.DbiResourceId !== m.resourceId) throw new UnexpectedStateError(`${oldName} is not the original member; not deleting it`);
        if (!isDeleting(member.DBInstanceStatus)) {
            // Aurora members take no final snapshot: the cluster's final snapshot holds the data.
            await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: oldName }));
        }
        waiting++;
    }
    if (cluster.Status !== "available") return { done: false, detail: `${job.names.old} is ${cluster.Status}` };
    await rds.send(
        new DeleteDBClusterCommand({
            DBClusterIdentifier: job.names.old,
            FinalDBSnapshotIdentifier: job.names.finalSnapshot,
            SkipFinalSnapshot: false,
        }),
    );
    return { done: false, detail: `deleting ${job.names.old} (${waiting} member(s) deleting) with final snapshot ${job.names.finalSnapshot}` };
}

// ------------------------------------------------------------------ rollback

export type RollbackOutcome =
    /** The original is back, available, under its identifier; any half-made restore is gone. */
    | "original-restored"
    /** The original's deletion had already begun: the restored database is kept, the final snapshot holds the original. */
    | "restore-kept"
    /** Still working. */
    | "in-progress";

export interface RollbackResult extends AdvanceResult {
    outcome: RollbackOutcome;
}

/**
 * One round of rollback. Finds the original by resource id (under its
 * identifier or its temporary name), deletes whatever else sits under the
 * identifier (the half-made restore: no final snapshot, its data is the
 * snapshot's), then renames the original back. If the original is already
 * being deleted, it keeps the restore instead: nothing is lost either way.
 */
export async function rollback(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    return job.isCluster ? rollbackCluster(rds, job) : rollbackInstance(rds, job);
}

const progress = (detail: string): RollbackResult => ({ done: false, outcome: "in-progress", detail });

async function rollbackInstance(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    const atId = await findInstance(rds, job.identifier);
    if (atId?.DbiResourceId === job.original.resourceId) {
        if (atId.DBInstanceStatus === "available") {
            return { done: true, outcome: "original-restored", detail: `${job.identifier} is the original and available` };
        }
        return progress(`original ${job.identifier} is ${atId.DBInstanceStatus}`);
    }
    const old = await findInstance(rds, job.names.old);
    if (!old || old.DbiResourceId !== job.original.resourceId) {
        return progress(`original not found under ${job.identifier} or ${job.names.old} yet`);
    }
    if (isDeleting(old.DBInstanceStatus)) {
        return {
            done: true,
            outcome: "restore-kept",
            detail: `the original (${job.names.old}) was already being deleted with final snapshot ${job.names.finalSnapshot}; kept the restored ${job.identifier}`,
        };
    }
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
    if (inst.DeletionProtection) {
        await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, DeletionProtection: false, ApplyImmediately: true }));
        return;
    }
    try {
        // Aurora members take no final snapshot; a standalone half-made restore holds only the snapshot's data.
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: inst.DBClusterIdentifier ? undefined : true }));
    } catch (err) {
        // Still creating or modifying: try again next round.
        if ((err as Error).name !== "InvalidDBInstanceStateFault") throw err;
    }
}

async function rollbackCluster(rds: RDSClient, job: RestoreJob): Promise<RollbackResult> {
    const atId = await findCluster(rds, job.identifier);
    const old = atId?.DbClusterResourceId === job.original.resourceId ? undefined : await findCluster(rds, job.names.old);
    const original = atId?.DbClusterResourceId === job.original.resourceId ? atId : old?.DbClusterResourceId === job.original.resourceId ? old : undefined;
    if (!original) return progress(`original cluster not found under ${job.identifier} or ${job.names.old} yet`);

    // Where each original member is now.
    const members: { identifier: string; oldName: string; at?: DBInstance; where: "home" | "old" | "missing" }[] = [];
    for (const m of job.original.members) {
        const oldName = job.names.oldMembers[m.identifier];
        const home = await findInstance(rds, m.identifier);
        if (home?.DbiResourceId === m.resourceId) {
            members.push({ identifier: m.identifier, oldName, at: home, where: "home" });
            continue;
        }
        const away = await findInstance(rds, oldName);
        members.push({ identifier: m.identifier, oldName, at: away?.DbiResourceId === m.resourceId ? away : undefined, where: away?.DbiResourceId === m.resourceId ? "old" : "missing" });
    }
    if (isDeleting(original.Status) || members.some((m) => isDeleting(m.at?.DBInstanceStatus))) {
        return {
            done: true,
            outcome: "restore-kept",
            detail: `the original cluster (${original.DBClusterIdentifier}) was already being deleted with final snapshot ${job.names.finalSnapshot}; kept the restored ${job.identifier}`,
        };
    }
    if (members.some((m) => m.where === "missing")) {
        return progress(`original members not found yet: ${members.filter((m) => m.where === "missing").map((m) => m.identifier).join(", ")}`);
    }

    if (original === old) {
        if (atId) {
            await removeHalfMadeCluster(rds, atId);
            return progress(`removing the half-made restore ${job.identifier} (${atId.Status})`);
        }
        if (original.Status !== "available") return progress(`original ${job.names.old} is ${original.Status}`);
        await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: job.names.old, NewDBClusterIdentifier: job.identifier, ApplyImmediately: true }));
        return progress(`renaming ${job.names.old} back to ${job.identifier}`);
    }

    // The cluster is home; bring its members home too.
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
    return { done: true, outcome: "original-restored", detail: `${job.identifier} and its members are the originals and available` };
}

async function removeHalfMadeCluster(rds: RDSClient, cluster: DBCluster): Promise<void> {
    const id = cluster.DBClusterIdentifier!;
    if (isDeleting(cluster.Status)) return;
    if (cluster.DeletionProtection) {
        await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: id, DeletionProtection: false, ApplyImmediately: true }));
        return;
    }
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
        // The half-made restore holds only the snapshot's data, and that snapshot still exists.
        await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true }));
    } catch (err) {
        if ((err as Error).name !== "InvalidDBClusterStateFault") throw err;
    }
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
