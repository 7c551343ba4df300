/**
 * Steps of the backup machine and of the copy source machine. Each step takes
 * the item (one database's progress) and returns it updated; the machine keeps
 * it between steps and loops on `status`/`attempt` for the waits. Every step is
 * safe to run twice: it looks before it creates.
 */
import {
    AddTagsToResourceCommand,
    CopyDBClusterSnapshotCommand,
    CopyDBSnapshotCommand,
    CreateDBClusterSnapshotCommand,
    CreateDBSnapshotCommand,
    DeleteDBClusterSnapshotCommand,
    DeleteDBSnapshotCommand,
    DescribeAccountAttributesCommand,
    ModifyDBClusterSnapshotAttributeCommand,
    ModifyDBSnapshotAttributeCommand,
    RDSClient,
} from "@aws-sdk/client-rds";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { BACKUP_JOB, BackupFailedError, CopyMessage, isRunSnapshotName, jobTags, runSnapshotName, sharedKeyCopyName, SnapshotJob, SnapshotQuotaError } from "./backup";
import { ConcurrentRunError, DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, ResourceFailedError, SnapshotNotFoundError, UnexpectedStateError } from "./errors";
import { FAILED_SNAPSHOT_STATUSES, findCluster, findInstance, findSnapshot, isPilotlightSnapshot, listSnapshots, selectSnapshotsToPrune, SnapshotInfo } from "./rds";
import { CREATED_BY_TAG, SOURCE_TAG } from "./tags";
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
    /** Why this run works on nothing (an older execution covers its databases). */
    skipped?: string;
}

/** Execution input, as given by the schedule rule or an operator, with the execution context. */
export interface PlanEvent extends ExecutionContext {
    /** The execution input, whatever it is: validated whole before anything else. */
    input?: unknown;
}

/** Statuses of a snapshot that is still being taken or copied. */
const IN_PROGRESS_SNAPSHOT_STATUSES = new Set(["creating", "pending", "copying"]);

/** Keys an execution input may have. */
const INPUT_KEYS = ["databases"];
/** Keys an entry of `databases` may have. */
const DATABASE_KEYS = ["identifier", "isCluster"];

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The databases an execution input asks for, validated whole: an object whose only key is
 * `databases` (optional: every configured database), a non-empty list of `{identifier, isCluster?}`
 * naming configured databases once each. Anything else is refused with the value and what
 * would be right; nothing is guessed.
 */
export function requestedDatabases(s: SnapshotJobSettings, input: unknown): JobDatabase[] {
    const example = `e.g. {} (every configured database) or {"databases": [{"identifier": "${s.databases[0]?.identifier ?? "app-db"}"}]}`;
    if (!isPlainObject(input)) throw new InvalidInputError(`the execution input must be a JSON object, ${example}; got ${JSON.stringify(input) ?? String(input)}`);
    const unknown = Object.keys(input).filter((k) => !INPUT_KEYS.includes(k));
    if (unknown.length > 0) throw new InvalidInputError(`unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")} in the execution input; the only key is "databases", ${example}`);
    if (input.databases === undefined) return s.databases;
    const list = input.databases;
    if (!Array.isArray(list) || list.length === 0) throw new InvalidInputError(`databases must be a non-empty list of {identifier, isCluster}; got ${JSON.stringify(list)}`);
    const seen = new Set<string>();
    return list.map((entry: unknown, i: number) => {
        if (!isPlainObject(entry)) throw new InvalidInputError(`databases[${i}] must be an object {identifier, isCluster}; got ${JSON.stringify(entry)}`);
        const extra = Object.keys(entry).filter((k) => !DATABASE_KEYS.includes(k));
        if (extra.length > 0) throw new InvalidInputError(`databases[${i}] has unknown key(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}; an entry has only "identifier" and "isCluster"`);
        const known = s.databases.find((k) => k.identifier === entry.identifier);
        if (!known) {
            throw new InvalidInputError(`database ${JSON.stringify(entry.identifier)} is not configured for ${s.job}; configured: ${s.databases.map((k) => k.identifier).join(", ")}`);
        }
        if (entry.isCluster !== undefined && entry.isCluster !== known.isCluster) {
            throw new InvalidInputError(`database ${known.identifier} has isCluster ${known.isCluster}, not ${JSON.stringify(entry.isCluster)}`);
        }
        if (seen.has(known.identifier)) throw new InvalidInputError(`database ${known.identifier} is listed twice in databases; list each once`);
        seen.add(known.identifier);
        return known;
    });
}

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

/** True when execution `a` (start time, ARN) started before `b`: the earlier start wins, then the smaller ARN. */
export function startedBefore(a: { startedAt: number; arn: string }, b: { startedAt: number; arn: string }): boolean {
    return a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.arn < b.arn);
}

/**
 * The running execution of this machine, started before this one, that covers one of the
 * databases (its input's `databases`, or every configured one), if any. That execution does
 * the work: this one (a duplicate delivery, a racing twin, an overlap) changes nothing. Two
 * twins agree on which of them is older, so exactly one of them works. Reads only.
 */
export async function olderExecutionCovering(c: JobClients, s: SnapshotJobSettings, databases: JobDatabase[], event: PlanEvent): Promise<string | undefined> {
    const running = await runningExecutionsOf(c.sfn, event.stateMachineArn);
    const mine = new Set(databases.map((d) => d.identifier));
    const me = { startedAt: Date.parse(event.startedAt), arn: event.executionArn };
    // A distributed Map's child executions (`execution:<machine>/<label>:<id>`) belong to their parent run.
    const ownRuns = `${event.stateMachineArn.replace(":stateMachine:", ":execution:")}:`;
    for (const other of running) {
        if (other.executionArn === event.executionArn || !other.executionArn?.startsWith(ownRuns)) continue;
        if (!startedBefore({ startedAt: other.startDate ? new Date(other.startDate).getTime() : Number.NEGATIVE_INFINITY, arn: other.executionArn ?? "" }, me)) continue;
        const described = await c.sfn.send(new DescribeExecutionCommand({ executionArn: other.executionArn }));
        let covers: JobDatabase[];
        try {
            covers = requestedDatabases(s, JSON.parse(described.input ?? "{}"));
        } catch {
            continue; // not a valid request: that execution fails its own plan and changes nothing
        }
        const overlap = covers.filter((d) => mine.has(d.identifier)).map((d) => d.identifier);
        if (overlap.length > 0) return `execution '${other.name}' (${other.executionArn}), started before this one, is already running ${s.job} on ${overlap.join(", ")}; this run changes nothing`;
    }
    return undefined;
}

/**
 * Validates the whole request, checks every database exists and is available and that no
 * other run works on it; reads only. A run covered by an older running execution plans
 * nothing and says why (`skipped`).
 */
export async function plan(c: JobClients, s: SnapshotJobSettings, event: PlanEvent): Promise<SnapshotPlan> {
    checkExecutionContext(event);
    const wanted = requestedDatabases(s, event.input);
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
            // "If you copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId
            // parameter, an error is returned" (CopyDBClusterSnapshot): it could never reach the DR region.
            if (cl?.StorageEncrypted === false) {
                throw new InvalidInputError(
                    `${db.identifier} is an unencrypted Aurora cluster: its snapshots cannot be copied under the shared key, which is how backups reach the DR region; encrypt it first (restore it from a snapshot copy under a key) or leave it out of ${s.job}`,
                );
            }
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
    const skipped = await olderExecutionCovering(c, s, wanted, event);
    if (skipped) return { startedAt: event.startedAt, items: [], skipped };
    await assertNoRunInProgress(c, s, wanted, event.startedAt);
    return { startedAt: event.startedAt, items };
}

/** True for the error a create or copy raises when its target name is taken (e.g. by the same call whose response was lost). */
export function isAlreadyExists(err: unknown): boolean {
    return /AlreadyExists(Fault)?$/.test((err as { name?: string } | null)?.name ?? "");
}

/** Refuses a snapshot this job did not make under a name it uses: of another database, or without the job's tag. */
function assertOwn(s: SnapshotJobSettings, item: SnapshotItem, snap: SnapshotInfo, region: string): SnapshotInfo {
    if (snap.databaseIdentifier !== item.identifier || !isPilotlightSnapshot(snap, s.job)) {
        throw new UnexpectedStateError(
            `snapshot ${snap.identifier} in ${region} exists but was not made by ${s.job} from ${item.identifier} (it is of ${snap.databaseIdentifier || "unknown"}, tags ${JSON.stringify(snap.tags)}); this run does not use or delete it`,
        );
    }
    return snap;
}

/**
 * Refuses to create a manual snapshot in a region whose quota is used up, before the call:
 * the account's `ManualSnapshots` (instances) or `ManualClusterSnapshots` quota, read from RDS.
 */
export async function assertRoomForSnapshot(c: JobClients, s: SnapshotJobSettings, isCluster: boolean, region: string): Promise<void> {
    const out = await c.rds(region).send(new DescribeAccountAttributesCommand({}));
    const name = isCluster ? "ManualClusterSnapshots" : "ManualSnapshots";
    const quota = out.AccountQuotas?.find((q) => q.AccountQuotaName === name);
    if (quota?.Used !== undefined && quota.Max !== undefined && quota.Used >= quota.Max) {
        throw new SnapshotQuotaError(
            `${region} holds ${quota.Used} of its ${quota.Max} manual ${isCluster ? "cluster " : ""}snapshots (RDS quota ${name}); ${s.job} keeps ${s.keep} per database: lower keep, delete manual snapshots nobody needs, or ask AWS to raise the quota`,
        );
    }
}

/**
 * The snapshot `id` of the item's database in `region`, made by this job: found, or created by
 * `create` when missing (after checking the quota). A create whose earlier response was lost,
 * or a racing twin's, ends in `...AlreadyExists`: then the snapshot found is used, if it is ours.
 * Undefined when this call created it.
 */
async function ensureSnapshot(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem, region: string, id: string, create: () => Promise<unknown>): Promise<SnapshotInfo | undefined> {
    const rds = c.rds(region);
    const found = await findSnapshot(rds, id, item.isCluster);
    if (found) return assertOwn(s, item, found, region);
    await assertRoomForSnapshot(c, s, item.isCluster, region);
    try {
        await create();
        return undefined;
    } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const raced = await findSnapshot(rds, id, item.isCluster);
        if (!raced) throw err;
        return assertOwn(s, item, raced, region);
    }
}

/** Takes the run's snapshot (unless it exists already) and starts waiting for it. */
export async function snapshot(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const rds = c.rds(s.homeRegion);
    const Tags = jobTags(s.job, item.identifier);
    await ensureSnapshot(c, s, item, s.homeRegion, item.snapshotId, () =>
        item.isCluster
            ? rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: item.identifier, DBClusterSnapshotIdentifier: item.snapshotId, Tags }))
            : rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: item.identifier, DBSnapshotIdentifier: item.snapshotId, Tags })),
    );
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
    const found = await findSnapshot(rds, item.snapshotId, item.isCluster);
    if (!found) throw new SnapshotNotFoundError(`snapshot ${item.snapshotId} does not exist in ${s.homeRegion}`);
    const snap = assertOwn(s, item, found, s.homeRegion);
    if (snap.kmsKeyId === s.sharedKeyArn) return { ...item, reencrypting: false };
    const target = sharedKeyCopyName(item.snapshotId);
    const Tags = jobTags(s.job, item.identifier);
    await ensureSnapshot(c, s, item, s.homeRegion, target, () =>
        item.isCluster
            ? rds.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: item.snapshotId, TargetDBClusterSnapshotIdentifier: target, KmsKeyId: s.sharedKeyArn, Tags }))
            : rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: item.snapshotId, TargetDBSnapshotIdentifier: target, KmsKeyId: s.sharedKeyArn, Tags })),
    );
    return { ...item, reencrypting: true, original: item.snapshotId, snapshotId: target, current: { region: s.homeRegion, id: target }, status: "creating", attempt: 0 };
}

/**
 * Deletes the default-key snapshot once its shared-key copy is available (a source deleted
 * before its copy is available can make the copy fail). Gone already (a retry) is done.
 */
export async function dropOriginal(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    if (!item.original) return item;
    const rds = c.rds(s.homeRegion);
    const copy = await findSnapshot(rds, item.snapshotId, item.isCluster);
    if (copy?.status !== "available") throw new ResourceFailedError(`shared-key copy ${item.snapshotId} is ${copy?.status ?? "missing"}; keeping ${item.original}`);
    assertOwn(s, item, copy, s.homeRegion);
    const original = await findSnapshot(rds, item.original, item.isCluster);
    if (original && isPilotlightSnapshot(original, s.job) && original.databaseIdentifier === item.identifier && original.status === "available") {
        await deleteSnapshot(c, s.homeRegion, item.original, item.isCluster);
    }
    return { ...item, original: undefined };
}

/**
 * Copies the run's snapshot to the DR region under the shared key's replica. The copy carries
 * only the job's tag until it is available: `share` adds `pilotlight:source` then, so the dr
 * stack's `latestCopy` (which filters on that tag) never picks a copy still being made.
 */
export async function copyToDr(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const found = await findSnapshot(c.rds(s.homeRegion), item.snapshotId, item.isCluster);
    if (!found || found.status !== "available") throw new SnapshotNotFoundError(`snapshot ${item.snapshotId} is ${found?.status ?? "missing"} in ${s.homeRegion}`);
    const home = assertOwn(s, item, found, s.homeRegion);
    const dr = c.rds(s.drRegion);
    const Tags = [{ Key: CREATED_BY_TAG, Value: s.job }];
    // The source is named by ARN: the SDK presigns the source-region request from it.
    const common = { KmsKeyId: s.drKeyArn, CopyTags: false, Tags };
    let arn = (await ensureSnapshot(c, s, item, s.drRegion, item.snapshotId, async () => {
        if (item.isCluster) {
            const out = await dr.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: home.arn, TargetDBClusterSnapshotIdentifier: item.snapshotId, ...common }));
            return out.DBClusterSnapshot?.DBClusterSnapshotArn;
        }
        const out = await dr.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn, TargetDBSnapshotIdentifier: item.snapshotId, ...common }));
        return out.DBSnapshot?.DBSnapshotArn;
    }))?.arn;
    arn ??= (await findSnapshot(dr, item.snapshotId, item.isCluster))?.arn;
    return { ...item, drSnapshotArn: arn ?? "", createdAt: home.createdAt, current: { region: s.drRegion, id: item.snapshotId }, status: "creating", attempt: 0 };
}

/**
 * Once the DR-region copy is available: shares it with the peer account (two-account layout:
 * the dr stack's `latestCopy` finds shared snapshots of the source) and tags it
 * `pilotlight:source` (same-account layout: `latestCopy` finds it by that tag). Both are
 * idempotent, so a retry after a lost response changes nothing more.
 */
export async function share(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    const dr = c.rds(s.drRegion);
    const found = await findSnapshot(dr, item.snapshotId, item.isCluster);
    if (!found || found.status !== "available") throw new SnapshotNotFoundError(`DR copy ${item.snapshotId} is ${found?.status ?? "missing"} in ${s.drRegion}; only an available copy is shared`);
    const copy = assertOwn(s, item, found, s.drRegion);
    if (s.peerAccountId) {
        const ValuesToAdd = [s.peerAccountId];
        if (item.isCluster) await dr.send(new ModifyDBClusterSnapshotAttributeCommand({ DBClusterSnapshotIdentifier: item.snapshotId, AttributeName: "restore", ValuesToAdd }));
        else await dr.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: item.snapshotId, AttributeName: "restore", ValuesToAdd }));
    }
    if (!copy.tags.some((t) => t.Key === SOURCE_TAG && t.Value === item.identifier)) {
        await dr.send(new AddTagsToResourceCommand({ ResourceName: copy.arn, Tags: [{ Key: SOURCE_TAG, Value: item.identifier }] }));
    }
    return { ...item, drSnapshotArn: copy.arn };
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

/** Deletes a snapshot; one already gone, or already being deleted (a twin, a retry), is done. */
async function deleteSnapshot(c: JobClients, region: string, id: string, isCluster: boolean): Promise<void> {
    const rds = c.rds(region);
    try {
        if (isCluster) await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: id }));
        else await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    } catch (err) {
        const name = (err as { name?: string }).name ?? "";
        if (/NotFound(Fault)?$/.test(name)) return;
        if (/^Invalid.*SnapshotState(Fault)?$/.test(name)) {
            const now = await findSnapshot(rds, id, isCluster);
            if (!now || now.status === "deleting") return;
        }
        throw err;
    }
}

/**
 * Retention in `regions` (both by default): keeps the newest `keep` available snapshots this
 * job made of the database, and deletes older ones; never the run's own. "Made by this job"
 * is its name pattern (`<identifier>-bk-<timestamp>`, `-cp-` for copies, `-sk` for shared-key
 * copies) and its tag, both: an operator's copy made with copy-tags carries the tag too.
 */
export async function prune(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem, regions: string[] = [s.homeRegion, s.drRegion]): Promise<SnapshotItem> {
    const pruned: Record<string, string[]> = {};
    const own = new Set([item.snapshotId, sharedKeyCopyName(item.snapshotId), item.original].filter((x): x is string => !!x));
    for (const region of regions) {
        const all = await listSnapshots(c.rds(region), item.identifier, item.isCluster);
        const made = all.filter((x) => isRunSnapshotName(s.job, item.identifier, x.identifier) && x.databaseIdentifier === item.identifier);
        const doomed = selectSnapshotsToPrune(made, s.keep, s.job).filter((x) => !own.has(x.identifier));
        for (const snap of doomed) await deleteSnapshot(c, region, snap.identifier, item.isCluster);
        pruned[region] = doomed.map((x) => x.identifier);
    }
    return { ...item, pruned };
}

/**
 * After an item failed: retention in the home region only, so the home region does not pile up
 * a snapshot per run while DR copies keep failing (the DR region gains nothing then). The
 * item keeps its error; the run still fails and alerts.
 */
export async function pruneHome(c: JobClients, s: SnapshotJobSettings, item: SnapshotItem): Promise<SnapshotItem> {
    return prune(c, s, item, [s.homeRegion]);
}

/** Ends a run: fails (so the machine alerts) when any database failed, after the others completed. */
export function report(s: SnapshotJobSettings, items: SnapshotItem[], skipped?: string): { job: string; snapshots: string[]; skipped?: string } {
    const failed = items.filter((i) => i.error);
    if (failed.length > 0) {
        const what = failed.map((i) => `${i.identifier}: ${i.error?.Error ?? "error"} ${i.error?.Cause ?? ""}`.trim()).join("; ");
        throw new BackupFailedError(`${s.job} failed for ${failed.length} of ${items.length} database(s): ${what}`);
    }
    const out = { job: s.job, snapshots: items.map((i) => i.snapshotId) };
    return skipped ? { ...out, skipped } : out;
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
    prune_home: pruneHome,
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

/** Refuses an item that is not one the plan of this job could have made. */
function checkItem(s: SnapshotJobSettings, item: unknown): SnapshotItem {
    const i = item as Partial<SnapshotItem> | null;
    const known = isPlainObject(i) ? s.databases.find((d) => d.identifier === i.identifier && d.isCluster === i.isCluster) : undefined;
    if (!known || typeof i?.snapshotId !== "string" || !isRunSnapshotName(s.job, known.identifier, i.snapshotId) || typeof i.attempt !== "number") {
        throw new InvalidInputError(`not an item of a ${s.job} plan: ${JSON.stringify(item)}`);
    }
    return i as SnapshotItem;
}

/** Runs one step of a job; the handlers of both machines are this with their own settings. */
export async function runStep(
    c: JobClients,
    s: SnapshotJobSettings,
    event: { step?: unknown; item?: unknown; items?: SnapshotItem[]; skipped?: string; input?: unknown; startedAt?: string; executionArn?: string; stateMachineArn?: string },
): Promise<unknown> {
    const step = event.step;
    if (step === "plan") {
        const planned = await plan(c, s, { input: event.input, startedAt: event.startedAt ?? "", executionArn: event.executionArn ?? "", stateMachineArn: event.stateMachineArn ?? "" });
        // Always present: the Report state reads it.
        return { ...planned, skipped: planned.skipped ?? "" };
    }
    if (step === "report") return report(s, event.items ?? [], event.skipped || undefined);
    if (typeof step !== "string" || !(step in SNAPSHOT_STEPS)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(step)}; expected plan, report or ${Object.keys(SNAPSHOT_STEPS).join(", ")}`);
    }
    if (!event.item) throw new InvalidInputError(`step ${step} needs an item`);
    if (s.job === BACKUP_JOB && step === "publish") throw new InvalidInputError(`step ${step} belongs to the copy source, not to ${s.job}`);
    return SNAPSHOT_STEPS[step as keyof typeof SNAPSHOT_STEPS](c, s, checkItem(s, event.item));
}
