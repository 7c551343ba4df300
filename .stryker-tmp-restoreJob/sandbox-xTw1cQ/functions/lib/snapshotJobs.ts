/**
 * Steps of the backup machine and of the copy source machine. Each step takes
 * the item (one database's progress) and returns it updated; the machine keeps
 * it between steps and loops on `status`/`attempt` for the waits. Every step is
 * safe to run twice: it looks before it creates.
 */
// @ts-nocheck

import {
    CopyDBClusterSnapshotCommand,
    CopyDBSnapshotCommand,
    CreateDBClusterSnapshotCommand,
    CreateDBSnapshotCommand,
    DeleteDBClusterSnapshotCommand,
    DeleteDBSnapshotCommand,
    ModifyDBSnapshotAttributeCommand,
    RDSClient,
} from "@aws-sdk/client-rds";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { BACKUP_JOB, BackupFailedError, CopyMessage, jobTags, runSnapshotName, sharedKeyCopyName, SnapshotJob } from "./backup";
import { ConcurrentRunError, DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, ResourceFailedError, SnapshotNotFoundError } from "./errors";
import { FAILED_SNAPSHOT_STATUSES, findCluster, findInstance, findSnapshot, isPilotlightSnapshot, listSnapshots, selectSnapshotsToPrune } from "./rds";
import { requireEnv, requirePositiveIntEnv } from "./env";
import { checkExecutionContext, ExecutionContext, runningExecutionsOf } from "./executions";

/** A database the job may work on. */
export interface JobDatabase {
    identifier: string;
    isCluster: boolean;
}

/** What a job is configured with (the Lambda's environment). */
export interface SnapshotJobSettings {
    job: SnapshotJob;
    /** Region of the databases (the primary's). */
    homeRegion: string;
    /** Region the snapshots are copied to. */
    drRegion: string;
    /** ARN of the shared key in the home region. */
    sharedKeyArn: string;
    /** ARN of the key the DR-region copies are encrypted with (the shared key's replica). */
    drKeyArn: string;
    /** The only databases the job may touch. */
    databases: JobDatabase[];
    /** pilotlight snapshots kept per database in each region. */
    keep: number;
    /** copy-source: the account to share with; undefined in a same-account setup. */
    peerAccountId?: string;
    /** copy-source: topic the shared snapshot is announced on. */
    topicArn?: string;
}

/** Clients by region, Step Functions (the concurrent-run check) and SNS for the copy source. */
export interface JobClients {
    rds(region: string): RDSClient;
    sfn: SFNClient;
    sns?: SNSClient;
}

/** One database's progress through a run. */
export interface SnapshotItem {
    identifier: string;
    isCluster: boolean;
    /** Engine of the database (for the copy message). */
    engine: string;
    /** The run's snapshot in the home region (after re-encryption: the shared-key copy). */
    snapshotId: string;
    /** The default-key snapshot replaced by `snapshotId`, until it is deleted. */
    original?: string;
    /** Set when the snapshot had to be copied under the shared key first. */
    reencrypting?: boolean;
    /** What the machine is waiting for. */
    current?: { region: string; id: string };
    /** Status of `current` at the last poll. */
    status?: string;
    /** Polls of `current` so far. */
    attempt: number;
    /** ARN of the copy in the DR region. */
    drSnapshotArn?: string;
    /** When the snapshot was taken (ISO). */
    createdAt?: string;
    /** Snapshots retention deleted, by region. */
    pruned?: Record<string, string[]>;
    /** Set on the item when it failed (by the machine's Catch). */
    error?: { Error?: string; Cause?: string };
}

/** The plan of a run: one item per database. */
export interface SnapshotPlan {
    startedAt: string;
    items: SnapshotItem[];
}

/** Execution input, as given by the schedule rule or an operator, with the execution context. */
export interface PlanEvent extends ExecutionContext {
    /** Databases to back up; defaults to every configured one. */
    databases?: unknown;
}

/** Statuses of a snapshot that is still being taken or copied. */
const IN_PROGRESS_SNAPSHOT_STATUSES = new Set(["creating", "pending", "copying"]);

/**
 * Refuses to start while another run of this job works on one of the databases: a
 * snapshot of the database tagged as this job's and still being taken or copied, in
 * either region, belongs to a run that has not finished (a run waits on its snapshot
 * and on its DR copy for most of its time). The run's own snapshots are not counted.
 * Reads only.
 */
export async function assertNoRunInProgress(c: JobClients, s: SnapshotJobSettings, databases: JobDatabase[], startedAt: string): Promise<void> {
    for (const db of databases) {
        const own = runSnapshotName(s.job, db.identifier, startedAt);
        for (const region of [s.homeRegion, s.drRegion]) {
            const busy = (await listSnapshots(c.rds(region), db.identifier, db.isCluster)).filter(
                (x) => isPilotlightSnapshot(x, s.job) && IN_PROGRESS_SNAPSHOT_STATUSES.has(x.status) && x.identifier !== own && x.identifier !== sharedKeyCopyName(own),
            );
            if (busy.length > 0) {
                const what = busy.map((x) => `${x.identifier} (${x.status})`).join(", ");
                throw new ConcurrentRunError(`another ${s.job} run is in progress on ${db.identifier}: its snapshot ${what} in ${region} is not finished; this run changes nothing`);
            }
        }
    }
}

/**
 * Refuses to start while another running execution of this machine covers one of the
 * databases (its input's `databases`, or every configured one). Two executions started
 * at the same moment see each other and both stop: it fails closed. Reads only.
 */
export async function assertNoOtherExecution(c: JobClients, s: SnapshotJobSettings, databases: JobDatabase[], event: PlanEvent): Promise<void> {
    const running = await runningExecutionsOf(c.sfn, event.stateMachineArn);
    const mine = new Set(databases.map((d) => d.identifier));
    for (const other of running) {
        if (other.executionArn === event.executionArn) continue;
        const described = await c.sfn.send(new DescribeExecutionCommand({ executionArn: other.executionArn }));
        let requested: unknown;
        try {
            requested = (JSON.parse(described.input ?? "{}") as { databases?: unknown }).databases;
        } catch {
            continue; // not a valid request: that execution fails its own plan
        }
        const covers = Array.isArray(requested) ? requested.map((d) => (d as { identifier?: unknown } | null)?.identifier).filter((id): id is string => typeof id === "string") : s.databases.map((d) => d.identifier);
        const overlap = covers.filter((id) => mine.has(id));
        if (overlap.length > 0) {
            throw new ConcurrentRunError(`execution '${other.name}' (${other.executionArn}) of this ${s.job} machine is already running on ${overlap.join(", ")}; this run changes nothing`);
        }
    }
}

/** Validates the request, checks every database exists and is available and that no other run works on it; reads only. */
export async function plan(c: JobClients, s: SnapshotJobSettings, event: PlanEvent): Promise<SnapshotPlan> {
    checkExecutionContext(event);
    let wanted: JobDatabase[] = s.databases;
    if (event.databases !== undefined) {
        if (!Array.isArray(event.databases) || event.databases.length === 0) {
            throw new InvalidInputError(`databases must be a non-empty list of {identifier, isCluster}; got ${JSON.stringify(event.databases)}`);
        }
        wanted = event.databases.map((d: unknown) => {
            const req = (d ?? {}) as Record<string, unknown>;
            const known = s.databases.find((k) => k.identifier === req.identifier);
            if (!known) {
                throw new InvalidInputError(`database ${JSON.stringify(req.identifier)} is not configured for ${s.job}; configured: ${s.databases.map((k) => k.identifier).join(", ")}`);
            }
            if (req.isCluster !== undefined && req.isCluster !== known.isCluster) {
                throw new InvalidInputError(`database ${known.identifier} has isCluster ${known.isCluster}, not ${JSON.stringify(req.isCluster)}`);
            }
            return known;
        });
    }
    if (wanted.length === 0) throw new InvalidInputError(`no databases configured for ${s.job}`);
    const rds = c.rds(s.homeRegion);
    const items: SnapshotItem[] = [];
    for (const db of wanted) {
        let status: string | undefined;
        let engine = "";
        if (db.isCluster) {
            const cl = await findCluster(rds, db.identifier);
            status = cl?.Status;
            engine = cl?.Engine ?? "";
        } else {
            const inst = await findInstance(rds, db.identifier);
            if (inst?.DBClusterIdentifier) throw new InvalidInputError(`${db.identifier} is a member of cluster ${inst.DBClusterIdentifier}; configure the cluster with isCluster: true`);
            status = inst?.DBInstanceStatus;
            engine = inst?.Engine ?? "";
        }
        if (status === undefined) throw new DatabaseNotFoundError(`${db.isCluster ? "cluster" : "instance"} ${db.identifier} does not exist in ${s.homeRegion}`);
        if (status !== "available" && status !== "backing-up") throw new DatabaseNotReadyError(`${db.identifier} is ${status}; snapshots start from available`);
        items.push({ ...db, engine, snapshotId: runSnapshotName(s.job, db.identifier, event.startedAt), attempt: 0 });
    }
    await assertNoOtherExecution(c, s, wanted, event);
    await assertNoRunInProgress(c, s, wanted, event.startedAt);
    return { startedAt: event.startedAt, items };
}

/** Takes the run's snapshot (unless it exists already) and starts waiting for it. */
export async function snapshot(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const rds = c.rds(s.homeRegion);
    if (!(await findSnapshot(rds, item.snapshotId, item.isCluster))) {
        const Tags = jobTags(s.job, item.identifier);
        if (item.isCluster) {
            await rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: item.identifier, DBClusterSnapshotIdentifier: item.snapshotId, Tags }));
        } else {
            await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: item.identifier, DBSnapshotIdentifier: item.snapshotId, Tags }));
        }
    }
    return { ...item, current: { region: s.homeRegion, id: item.snapshotId }, status: "creating", attempt: 0 };
}

/** Polls the snapshot the item waits for. */
export async function status(c: JobClients, _s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    if (!item.current) throw new InvalidInputError("nothing to wait for: the item has no current snapshot");
    const snap = await findSnapshot(c.rds(item.current.region), item.current.id, item.isCluster);
    if (!snap) throw new SnapshotNotFoundError(`snapshot ${item.current.id} disappeared from ${item.current.region}`);
    if (FAILED_SNAPSHOT_STATUSES.has(snap.status)) throw new ResourceFailedError(`snapshot ${item.current.id} in ${item.current.region} is ${snap.status}`);
    return { ...item, status: snap.status, attempt: item.attempt + 1, createdAt: snap.createdAt || item.createdAt };
}

/**
 * A snapshot under the account's default `aws/rds` key can be neither shared nor
 * copied to another account: copy it under the shared key first.
 */
export async function ensureSharedKey(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const rds = c.rds(s.homeRegion);
    const snap = await findSnapshot(rds, item.snapshotId, item.isCluster);
    if (!snap) throw new SnapshotNotFoundError(`snapshot ${item.snapshotId} does not exist in ${s.homeRegion}`);
    if (snap.kmsKeyId === s.sharedKeyArn) return { ...item, reencrypting: false };
    const target = sharedKeyCopyName(item.snapshotId);
    if (!(await findSnapshot(rds, target, item.isCluster))) {
        const Tags = jobTags(s.job, item.identifier);
        if (item.isCluster) {
            await rds.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: item.snapshotId, TargetDBClusterSnapshotIdentifier: target, KmsKeyId: s.sharedKeyArn, Tags }));
        } else {
            await rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: item.snapshotId, TargetDBSnapshotIdentifier: target, KmsKeyId: s.sharedKeyArn, Tags }));
        }
    }
    return { ...item, reencrypting: true, original: item.snapshotId, snapshotId: target, current: { region: s.homeRegion, id: target }, status: "creating", attempt: 0 };
}

/** Deletes the default-key snapshot once its shared-key copy is available. */
export async function dropOriginal(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    if (!item.original) return item;
    const rds = c.rds(s.homeRegion);
    const copy = await findSnapshot(rds, item.snapshotId, item.isCluster);
    if (copy?.status !== "available") throw new ResourceFailedError(`shared-key copy ${item.snapshotId} is ${copy?.status ?? "missing"}; keeping ${item.original}`);
    const original = await findSnapshot(rds, item.original, item.isCluster);
    if (original && isPilotlightSnapshot(original, s.job) && original.status === "available") {
        if (item.isCluster) await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: item.original }));
        else await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: item.original }));
    }
    return { ...item, original: undefined };
}

/** Copies the run's snapshot to the DR region under the shared key's replica. */
export async function copyToDr(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const home = await findSnapshot(c.rds(s.homeRegion), item.snapshotId, item.isCluster);
    if (!home || home.status !== "available") throw new SnapshotNotFoundError(`snapshot ${item.snapshotId} is ${home?.status ?? "missing"} in ${s.homeRegion}`);
    const dr = c.rds(s.drRegion);
    let copy = await findSnapshot(dr, item.snapshotId, item.isCluster);
    if (!copy) {
        const Tags = jobTags(s.job, item.identifier);
        // The source is named by ARN: the SDK presigns the source-region request from it.
        const common = { KmsKeyId: s.drKeyArn, CopyTags: true, Tags };
        if (item.isCluster) {
            const out = await dr.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: home.arn, TargetDBClusterSnapshotIdentifier: item.snapshotId, ...common }));
            copy = { ...home, arn: out.DBClusterSnapshot?.DBClusterSnapshotArn ?? "" };
        } else {
            const out = await dr.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn, TargetDBSnapshotIdentifier: item.snapshotId, ...common }));
            copy = { ...home, arn: out.DBSnapshot?.DBSnapshotArn ?? "" };
        }
    }
    return { ...item, drSnapshotArn: copy.arn, createdAt: home.createdAt, current: { region: s.drRegion, id: item.snapshotId }, status: "creating", attempt: 0 };
}

/** Shares the DR-region copy with the peer account (restore attribute). Nothing to do in a same-account setup. */
export async function share(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    if (!s.peerAccountId) return item;
    if (item.isCluster) throw new InvalidInputError(`${item.identifier} is a cluster; cross-account copies are of instances only`);
    await c.rds(s.drRegion).send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: item.snapshotId, AttributeName: "restore", ValuesToAdd: [s.peerAccountId] }));
    return item;
}

/** The message announcing a shared snapshot. */
export function copyMessage(item: SnapshotItem): CopyMessage {
    if (!item.drSnapshotArn || !item.createdAt) throw new InvalidInputError(`${item.snapshotId} has not been copied to the DR region yet`);
    return { snapshotArn: item.drSnapshotArn, sourceIdentifier: item.identifier, engine: item.engine, createdAt: item.createdAt };
}

/** Announces the shared snapshot on the topic the target side subscribes to. */
export async function publish(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    if (!c.sns || !s.topicArn) throw new InvalidInputError("publish needs a topic (TOPIC_ARN)");
    await c.sns.send(new PublishCommand({ TopicArn: s.topicArn, Subject: `pilotlight snapshot ${item.snapshotId}`, Message: JSON.stringify(copyMessage(item)) }));
    return item;
}

/** Retention in both regions: keeps the newest `keep` of this job's snapshots of the database, never the run's own. */
export async function prune(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const pruned: Record<string, string[]> = {};
    for (const region of [s.homeRegion, s.drRegion]) {
        const rds = c.rds(region);
        const all = await listSnapshots(rds, item.identifier, item.isCluster);
        const doomed = selectSnapshotsToPrune(all, s.keep, s.job).filter((x) => x.identifier !== item.snapshotId);
        for (const snap of doomed) {
            if (item.isCluster) await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snap.identifier }));
            else await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snap.identifier }));
        }
        pruned[region] = doomed.map((x) => x.identifier);
    }
    return { ...item, pruned };
}

/** Ends a run: fails (so the machine alerts) when any database failed, after the others completed. */
export function report(s: SnapshotJobSettings, items: SnapshotItem[]): { job: string; snapshots: string[] } {
    const failed = items.filter((i) => i.error);
    if (failed.length > 0) {
        const what = failed.map((i) => `${i.identifier}: ${i.error?.Error ?? "error"} ${i.error?.Cause ?? ""}`.trim()).join("; ");
        throw new BackupFailedError(`${s.job} failed for ${failed.length} of ${items.length} database(s): ${what}`);
    }
    return { job: s.job, snapshots: items.map((i) => i.snapshotId) };
}

/** Step names the machines call, each with its function. */
export const SNAPSHOT_STEPS = {
    snapshot,
    status,
    ensure_shared_key: ensureSharedKey,
    drop_original: dropOriginal,
    copy_to_dr: copyToDr,
    share,
    publish,
    prune,
} as const;
export type SnapshotStep = keyof typeof SNAPSHOT_STEPS | "plan" | "report";

/** Reads a job's settings from the Lambda environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv, job: SnapshotJob): SnapshotJobSettings {
    const need = (k: string) => requireEnv(k, env);
    const databases = JSON.parse(need("DATABASES")) as JobDatabase[];
    const keep = requirePositiveIntEnv("KEEP", env);
    return {
        job,
        homeRegion: need("HOME_REGION"),
        drRegion: need("DR_REGION"),
        sharedKeyArn: need("SHARED_KEY_ARN"),
        drKeyArn: need("DR_KEY_ARN"),
        databases,
        keep,
        peerAccountId: env.PEER_ACCOUNT_ID || undefined,
        topicArn: env.TOPIC_ARN || undefined,
    };
}

/** Runs one step of a job; the handlers of both machines are this with their own settings. */
export async function runStep(c: JobClients, s: SnapshotJobSettings, event: { step?: unknown; item?: SnapshotItem; items?: SnapshotItem[]; input?: unknown; startedAt?: string; executionArn?: string; stateMachineArn?: string }): Promise<unknown> {
    const step = event.step;
    if (step === "plan") {
        const input = (event.input && typeof event.input === "object" ? event.input : {}) as Record<string, unknown>;
        return plan(c, s, { databases: input.databases, startedAt: event.startedAt ?? "", executionArn: event.executionArn ?? "", stateMachineArn: event.stateMachineArn ?? "" });
    }
    if (step === "report") return report(s, event.items ?? []);
    if (typeof step !== "string" || !(step in SNAPSHOT_STEPS)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(step)}; expected plan, report or ${Object.keys(SNAPSHOT_STEPS).join(", ")}`);
    }
    if (!event.item) throw new InvalidInputError(`step ${step} needs an item`);
    if (s.job === BACKUP_JOB && (step === "share" || step === "publish")) throw new InvalidInputError(`step ${step} belongs to the copy source, not to ${s.job}`);
    return SNAPSHOT_STEPS[step as keyof typeof SNAPSHOT_STEPS](c, s, event.item);
}
