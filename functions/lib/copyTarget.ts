/**
 * Steps of the copy target machine (dr account): copy the shared snapshot under the DR key,
 * restore it as `<name>-v<N>`, turn on the RDS-managed master password under the DR key,
 * point the secret at it, keep the newest copies. Rollback points the secret at a retained
 * older copy. Every step looks before it acts, so a repeated step, a duplicate delivery or a
 * racing twin continues where things stand instead of failing.
 *
 * While the dr stack is failed over it creates the hold secret (see `hold`): then nothing here
 * moves the secret or deletes a copy, so the database the dr stack serves from stays untouched.
 */
import {
    CopyDBSnapshotCommand,
    DBInstance,
    DBSnapshot,
    DeleteDBInstanceCommand,
    DeleteDBSnapshotCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    ModifyDBInstanceCommand,
    RDSClient,
    RestoreDBInstanceFromDBSnapshotCommand,
    Tag,
} from "@aws-sdk/client-rds";
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { COPY_TARGET_JOB, CopyMessage, nextVersion, parseCopyMessage, selectCopySnapshotsToPrune, SOURCE_SNAPSHOT_TAG, VERSION_TAG, versionIdentifier, versionOf } from "./backup";
import { ConcurrentRunError, DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, ResourceFailedError, SnapshotMismatchError, SnapshotNotFoundError, UnexpectedStateError } from "./errors";
import { FAILED_DB_STATUSES, FAILED_SNAPSHOT_STATUSES, findInstance } from "./rds";
import { CREATED_BY_TAG, MANAGED_TAG, SOURCE_TAG } from "./tags";
import { requireEnv, requirePositiveIntEnv } from "./env";

/** On a copy (instance and snapshot): when the source's snapshot was taken, by RDS's own description (ISO). */
export const SOURCE_CREATED_TAG = "pilotlight:source-created";

/** Copies in these states never become available; RDS deletes them only without a final snapshot. */
export const DEAD_COPY_STATUSES = new Set(["failed", "incompatible-restore", "incompatible-network"]);

/** Instance states of a copy still on its way to `available`. */
const IN_PROGRESS_STATUSES = new Set(["creating", "backing-up", "modifying", "configuring-enhanced-monitoring", "configuring-log-exports", "rebooting", "resetting-master-credentials"]);

/** The target's configuration (the Lambda's environment). */
export interface CopyTargetSettings {
    /** Base name of the copies: `<name>-v<N>`. */
    name: string;
    /** This region. */
    region: string;
    /** Account the shared snapshots come from. */
    sourceAccountId: string;
    /** The source instance the snapshots are of. */
    sourceIdentifier: string;
    /** ARN of the DR account's key: copies, their managed master passwords and the secret. */
    drKeyArn: string;
    /** ARN (or name) of the secret pointing at the current copy. */
    secretId: string;
    /** Name of the secret whose existence holds the machine (the dr stack creates it while failed over). */
    holdSecretId: string;
    /** Available copies kept. */
    keep: number;
    /** Restore settings. */
    instanceClass: string;
    subnetGroupName: string;
    securityGroupIds: string[];
    parameterGroupName?: string;
    multiAz: boolean;
    tags: Record<string, string>;
}

export interface TargetClients {
    rds: RDSClient;
    secrets: SecretsManagerClient;
}

/** One run's state, carried by the machine between steps. */
export interface CopyJob {
    task: "copy" | "rollback";
    /** The copy this run creates or points at: `<name>-v<N>` ("" when held or skipped in plan). */
    identifier: string;
    version: number;
    /** copy: the shared snapshot. */
    message?: CopyMessage;
    /** copy: when the shared snapshot's data was taken, from RDS's description of it (ISO). */
    sourceCreatedAt?: string;
    /** copy: a copy of this snapshot existed already; the run continues it. */
    resumed?: boolean;
    /** Why the run changes nothing: the data is not newer than what the secret points at. */
    skip?: string;
    /** Why the run stops: the dr stack is failed over. */
    held?: string;
    /** What the machine waits for. */
    current?: { kind: "snapshot" | "instance" | "password"; id: string };
    status?: string;
    attempt: number;
    /** Secret contents after `point`. */
    pointed?: SecretValue;
    /** Deleted by `prune`. */
    pruned?: { instances: string[]; snapshots: string[] };
}

/** What the secret holds. */
export interface SecretValue {
    host: string;
    port: number;
    identifier: string;
    version: number;
    engine: string;
    /** ARN of the copy's RDS-managed master-user secret (`{username, password}`), under the DR key. */
    masterUserSecretArn: string;
    /** The shared snapshot the copy was made from. */
    sourceSnapshotArn: string;
    /** When that snapshot's data was taken (ISO). */
    sourceCreatedAt: string;
}

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
    return tags?.find((t) => t.Key === key)?.Value;
}

/**
 * True when this machine made the instance or snapshot: its name is `<name>-v<N>` (or
 * `<name>-v<N>-final` for a final snapshot), it carries the job's tag, and its version tag
 * says N. A tag alone is no proof (a copy made with copied tags carries it under another name).
 */
export function isOwnCopy(name: string, identifier: string, tags: Tag[] | undefined): boolean {
    const version = versionOf(name, identifier, true);
    return version !== undefined && tagValue(tags, CREATED_BY_TAG) === COPY_TARGET_JOB && tagValue(tags, VERSION_TAG) === String(version);
}

/** Every `<name>-v<N>` instance of the account (every page), ours or not. */
export async function listCopies(rds: RDSClient, name: string): Promise<DBInstance[]> {
    const out: DBInstance[] = [];
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
        out.push(...(page.DBInstances ?? []).filter((i) => versionOf(name, i.DBInstanceIdentifier ?? "") !== undefined));
        marker = page.Marker;
    } while (marker);
    return out;
}

/** Every manual snapshot of this account and region (every page). */
async function manualSnapshots(rds: RDSClient): Promise<DBSnapshot[]> {
    const out: DBSnapshot[] = [];
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: "manual", Marker: marker }));
        out.push(...(page.DBSnapshots ?? []));
        marker = page.Marker;
    } while (marker);
    return out;
}

function isNotFound(err: unknown): boolean {
    return /NotFound(Fault|Exception)?$/.test((err as { name?: string })?.name ?? "");
}

/** A snapshot of this account by identifier, or undefined. */
async function ownSnapshot(rds: RDSClient, identifier: string): Promise<DBSnapshot | undefined> {
    try {
        return (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }))).DBSnapshots?.[0];
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/**
 * The shared snapshot as RDS describes it to this account, or undefined. "Shared and public DB
 * snapshots are not included in the returned results by default. You can include shared snapshots
 * with these results by enabling the IncludeShared parameter." (DescribeDBSnapshots, SnapshotType)
 */
export async function sharedSnapshot(rds: RDSClient, arn: string): Promise<DBSnapshot | undefined> {
    try {
        return (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn, IncludeShared: true }))).DBSnapshots?.[0];
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/**
 * Why the machine must not touch the secret or the copies now, or undefined. The dr stack creates
 * the hold secret while it is failed over (an operator may create it by hand to pause the machine).
 */
export async function hold(c: TargetClients, s: CopyTargetSettings): Promise<string | undefined> {
    try {
        const out = await c.secrets.send(new DescribeSecretCommand({ SecretId: s.holdSecretId }));
        if (out.DeletedDate) return undefined;
        return `held by ${s.holdSecretId}: ${out.Description || "the dr stack is failed over"}; the secret and every copy stay as they are`;
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/** What the secret holds now (parsed), undefined before the first copy. */
export async function secretValue(c: TargetClients, s: CopyTargetSettings): Promise<Partial<SecretValue> | undefined> {
    let raw: string | undefined;
    try {
        raw = (await c.secrets.send(new GetSecretValueCommand({ SecretId: s.secretId }))).SecretString;
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
    try {
        const v = JSON.parse(raw ?? "");
        return v && typeof v === "object" ? (v as Partial<SecretValue>) : {};
    } catch {
        // Not ours to interpret (an operator's edit): treated as pointing nowhere known.
        return {};
    }
}

/** When the data of the copy the secret points at was taken: from the secret, else from the copy's tag. */
function pointedSourceTime(pointed: Partial<SecretValue> | undefined, copies: DBInstance[]): string | undefined {
    if (typeof pointed?.sourceCreatedAt === "string") return pointed.sourceCreatedAt;
    return tagValue(copies.find((i) => i.DBInstanceIdentifier === pointed?.identifier)?.TagList, SOURCE_CREATED_TAG);
}

function iso(d: Date | string | undefined): string | undefined {
    if (d === undefined) return undefined;
    const t = new Date(d);
    return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

function rollbackVersion(req: Record<string, unknown>): number {
    const version = req.version;
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
        throw new InvalidInputError(`rollback needs "version": a whole number >= 1 naming a retained copy; got ${JSON.stringify(version)}`);
    }
    return version;
}

const INPUT_KEYS = { copy: ["task", "snapshotArn", "sourceIdentifier", "engine", "createdAt"], rollback: ["task", "version"] };

/** Validates the input and decides the copy or rollback; reads only. */
export async function plan(c: TargetClients, s: CopyTargetSettings, input: unknown): Promise<CopyJob> {
    if (!input || typeof input !== "object" || Array.isArray(input)) {
        throw new InvalidInputError(`input must be an object: {"task": "copy", snapshotArn, ...} or {"task": "rollback", "version": N}; got ${JSON.stringify(input)}`);
    }
    const req = input as Record<string, unknown>;
    const task = req.task ?? "copy";
    if (task !== "copy" && task !== "rollback") throw new InvalidInputError(`unknown task ${JSON.stringify(task)}; expected "copy" (a shared snapshot) or "rollback" (with "version")`);
    const unknown = Object.keys(req).filter((k) => !INPUT_KEYS[task].includes(k));
    if (unknown.length > 0) throw new InvalidInputError(`unknown field(s) ${unknown.join(", ")} for task ${task}; expected only ${INPUT_KEYS[task].join(", ")}`);
    if (task === "rollback") {
        const version = rollbackVersion(req);
        const held = await hold(c, s);
        if (held) throw new UnexpectedStateError(`rollback refused: ${held}`);
        const identifier = versionIdentifier(s.name, version);
        const copies = await listCopies(c.rds, s.name);
        const own = copies.filter((i) => isOwnCopy(s.name, i.DBInstanceIdentifier!, i.TagList));
        const inst = own.find((i) => i.DBInstanceIdentifier === identifier);
        if (!inst) throw new DatabaseNotFoundError(`no retained copy ${identifier}; retained copies: ${own.map((i) => i.DBInstanceIdentifier).join(", ") || "none"}`);
        if (inst.DBInstanceStatus !== "available") throw new DatabaseNotReadyError(`${identifier} is ${inst.DBInstanceStatus}; rollback points only at an available copy`);
        return { task: "rollback", identifier, version, attempt: 0 };
    }
    const message = parseCopyMessage(req, { sourceAccount: s.sourceAccountId, sourceIdentifier: s.sourceIdentifier, region: s.region });
    const held = await hold(c, s);
    if (held) return { task: "copy", identifier: "", version: 0, message, held, attempt: 0 };
    const shared = await sharedSnapshot(c.rds, message.snapshotArn);
    if (!shared) throw new SnapshotNotFoundError(`shared snapshot ${message.snapshotArn} is not visible to this account; is it shared with it?`);
    // What RDS says, not what the message says: the snapshot must be of the configured source.
    if (shared.DBInstanceIdentifier !== s.sourceIdentifier) {
        throw new SnapshotMismatchError(`shared snapshot ${message.snapshotArn} was taken from ${JSON.stringify(shared.DBInstanceIdentifier)}, not from the configured source ${s.sourceIdentifier}`);
    }
    if (shared.Status !== "available") throw new SnapshotNotFoundError(`shared snapshot ${message.snapshotArn} is ${shared.Status}`);
    const sourceCreatedAt = iso(shared.OriginalSnapshotCreateTime ?? shared.SnapshotCreateTime);
    if (!sourceCreatedAt) throw new SnapshotNotFoundError(`shared snapshot ${message.snapshotArn} has no creation time yet`);
    const copies = await listCopies(c.rds, s.name);
    const own = copies.filter((i) => isOwnCopy(s.name, i.DBInstanceIdentifier!, i.TagList));
    const pointed = await secretValue(c, s);
    const pointedAt = pointedSourceTime(pointed, own);
    if (pointedAt !== undefined && sourceCreatedAt <= pointedAt) {
        return { task: "copy", identifier: "", version: 0, message, sourceCreatedAt, skip: `${message.snapshotArn} (taken ${sourceCreatedAt}) is not newer than ${pointed?.identifier}'s data (taken ${pointedAt}), which the secret points at`, attempt: 0 };
    }
    const snapshots = await manualSnapshots(c.rds);
    const ownSnapshots = snapshots.filter((x) => isOwnCopy(s.name, x.DBSnapshotIdentifier!, x.TagList) && versionOf(s.name, x.DBSnapshotIdentifier!) !== undefined);
    const fromThis = (tags: Tag[] | undefined) => tagValue(tags, SOURCE_SNAPSHOT_TAG) === message.snapshotArn;
    // A copy of this snapshot that is not dead: a duplicate delivery or a twin; the run continues it.
    const resumed =
        own.find((i) => fromThis(i.TagList) && !DEAD_COPY_STATUSES.has(i.DBInstanceStatus ?? ""))?.DBInstanceIdentifier ??
        ownSnapshots.find((x) => fromThis(x.TagList) && !FAILED_SNAPSHOT_STATUSES.has(x.Status ?? "") && !copies.some((i) => i.DBInstanceIdentifier === x.DBSnapshotIdentifier))?.DBSnapshotIdentifier;
    if (resumed) return { task: "copy", identifier: resumed, version: versionOf(s.name, resumed)!, message, sourceCreatedAt, resumed: true, attempt: 0 };
    // Two different snapshots at once would pick the same version: the second waits for the next delivery.
    const busy = [
        ...own.filter((i) => IN_PROGRESS_STATUSES.has(i.DBInstanceStatus ?? "")).map((i) => `instance ${i.DBInstanceIdentifier} is ${i.DBInstanceStatus}`),
        ...ownSnapshots.filter((x) => x.Status === "creating").map((x) => `snapshot ${x.DBSnapshotIdentifier} is creating`),
    ];
    if (busy.length > 0) throw new ConcurrentRunError(`another copy is in progress (${busy.join("; ")}); ${message.snapshotArn} is not copied now`);
    // Numbered from every `<name>-v<N>` name (ours or not), never from the secret: after a rollback it points lower.
    const version = nextVersion(s.name, [...copies.map((i) => i.DBInstanceIdentifier!), ...snapshots.map((x) => x.DBSnapshotIdentifier!)]);
    return { task: "copy", identifier: versionIdentifier(s.name, version), version, message, sourceCreatedAt, attempt: 0 };
}

function copyTags(s: CopyTargetSettings, job: CopyJob): Tag[] {
    return [
        ...Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
        { Key: MANAGED_TAG, Value: "true" },
        { Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB },
        { Key: SOURCE_TAG, Value: s.sourceIdentifier },
        { Key: SOURCE_SNAPSHOT_TAG, Value: job.message!.snapshotArn },
        { Key: SOURCE_CREATED_TAG, Value: job.sourceCreatedAt! },
        { Key: VERSION_TAG, Value: String(job.version) },
    ];
}

function needCopy(job: CopyJob): CopyMessage {
    if (job.task !== "copy" || !job.message || !job.sourceCreatedAt || !job.identifier) throw new InvalidInputError("this step needs a planned copy (task copy, message, sourceCreatedAt, identifier)");
    return job.message;
}

/** Throws unless `what` (named `id`, with `tags`) is this job's copy of its shared snapshot. */
function requireThisCopy(s: CopyTargetSettings, job: CopyJob, what: string, id: string, tags: Tag[] | undefined): void {
    if (!isOwnCopy(s.name, id, tags) || tagValue(tags, SOURCE_SNAPSHOT_TAG) !== job.message!.snapshotArn) {
        throw new ConcurrentRunError(`${what} ${id} exists already and is not this machine's copy of ${job.message!.snapshotArn} (another run, or an operator, took the name)`);
    }
}

/** Copies the shared snapshot into this account under the DR key, named like the copy it becomes. */
export async function copy(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const message = needCopy(job);
    let existing = await ownSnapshot(c.rds, job.identifier);
    if (!existing) {
        try {
            await c.rds.send(
                new CopyDBSnapshotCommand({
                    SourceDBSnapshotIdentifier: message.snapshotArn,
                    TargetDBSnapshotIdentifier: job.identifier,
                    KmsKeyId: s.drKeyArn,
                    Tags: copyTags(s, job).filter((t) => t.Key !== MANAGED_TAG),
                }),
            );
        } catch (err) {
            // A twin made it between our look and our call: continue with it if it is the same copy.
            if ((err as { name?: string }).name !== "DBSnapshotAlreadyExistsFault") throw err;
            existing = await ownSnapshot(c.rds, job.identifier);
            if (!existing) throw err;
        }
    }
    if (existing) requireThisCopy(s, job, "snapshot", job.identifier, existing.TagList);
    return { ...job, current: { kind: "snapshot", id: job.identifier }, status: "creating", attempt: 0 };
}

/** Polls the snapshot, instance or managed password the job waits for. */
export async function status(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    if (!job.current) throw new InvalidInputError("nothing to wait for");
    let st: string | undefined;
    if (job.current.kind === "snapshot") {
        st = (await ownSnapshot(c.rds, job.current.id))?.Status;
        if (st && FAILED_SNAPSHOT_STATUSES.has(st)) throw new ResourceFailedError(`snapshot ${job.current.id} is ${st}`);
    } else {
        const inst = await findInstance(c.rds, job.current.id);
        st = inst?.DBInstanceStatus;
        if (st && FAILED_DB_STATUSES.has(st)) throw new ResourceFailedError(`instance ${job.current.id} is ${st}`);
        if (inst && job.current.kind === "password") st = passwordStatus(s, inst);
    }
    if (!st) throw new ResourceFailedError(`${job.current.kind} ${job.current.id} disappeared`);
    return { ...job, status: st, attempt: job.attempt + 1 };
}

/** "available" once the instance is and its managed secret is active under the DR key; otherwise what it waits for. */
function passwordStatus(s: CopyTargetSettings, inst: DBInstance): string {
    const secret = inst.MasterUserSecret;
    if (secret?.SecretArn && secret.KmsKeyId !== s.drKeyArn) {
        throw new UnexpectedStateError(`${inst.DBInstanceIdentifier}'s managed master password is under ${secret.KmsKeyId}, not the DR key ${s.drKeyArn}; RDS cannot change that key`);
    }
    if (inst.DBInstanceStatus !== "available") return inst.DBInstanceStatus ?? "unknown";
    return secret?.SecretStatus === "active" ? "available" : `secret-${secret?.SecretStatus ?? "missing"}`;
}

/** Restores the copy as `<name>-v<N>` with the configured settings. */
export async function restore(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    needCopy(job);
    let existing = await findInstance(c.rds, job.identifier);
    if (!existing) {
        try {
            await c.rds.send(
                new RestoreDBInstanceFromDBSnapshotCommand({
                    DBInstanceIdentifier: job.identifier,
                    DBSnapshotIdentifier: job.identifier,
                    DBInstanceClass: s.instanceClass,
                    DBSubnetGroupName: s.subnetGroupName,
                    VpcSecurityGroupIds: s.securityGroupIds,
                    DBParameterGroupName: s.parameterGroupName,
                    MultiAZ: s.multiAz,
                    PubliclyAccessible: false,
                    CopyTagsToSnapshot: true,
                    Tags: copyTags(s, job),
                }),
            );
        } catch (err) {
            if ((err as { name?: string }).name !== "DBInstanceAlreadyExistsFault") throw err;
            existing = await findInstance(c.rds, job.identifier);
            if (!existing) throw err;
        }
    }
    if (existing) requireThisCopy(s, job, "instance", job.identifier, existing.TagList);
    return { ...job, current: { kind: "instance", id: job.identifier }, status: "creating", attempt: 0 };
}

/**
 * Turns on the RDS-managed master password under the DR key. A restore cannot ("Applies to RDS for
 * Oracle only", RestoreDBInstanceFromDBSnapshot ManageMasterUserPassword), so the copy keeps the
 * source's password, which lives in the source account; ModifyDBInstance can.
 */
export async function password(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    needCopy(job);
    const inst = await findInstance(c.rds, job.identifier);
    if (!inst) throw new ResourceFailedError(`instance ${job.identifier} disappeared`);
    requireThisCopy(s, job, "instance", job.identifier, inst.TagList);
    // Throws when it is managed under another key; otherwise nothing to do once it is managed.
    passwordStatus(s, inst);
    if (!inst.MasterUserSecret?.SecretArn) {
        await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: job.identifier, ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: s.drKeyArn, ApplyImmediately: true }));
    }
    return { ...job, current: { kind: "password", id: job.identifier }, status: "modifying", attempt: 0 };
}

/**
 * Points the secret at the job's copy, which must be this machine's, available, with its managed
 * password active. A copy never moves the secret to data that is not newer than what it points at.
 */
export async function point(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const held = await hold(c, s);
    if (held) return { ...job, held };
    const inst = await findInstance(c.rds, job.identifier);
    if (!inst || !isOwnCopy(s.name, job.identifier, inst.TagList)) throw new DatabaseNotFoundError(`${job.identifier} is not a copy this machine made; the secret keeps pointing where it did`);
    if (job.task === "copy" && tagValue(inst.TagList, SOURCE_SNAPSHOT_TAG) !== job.message?.snapshotArn) {
        throw new ConcurrentRunError(`${job.identifier} is not the copy of ${job.message?.snapshotArn}; the secret keeps pointing where it did`);
    }
    const secret = inst.MasterUserSecret;
    if (inst.DBInstanceStatus !== "available" || !inst.Endpoint?.Address || secret?.SecretStatus !== "active" || !secret.SecretArn) {
        throw new DatabaseNotReadyError(
            `${job.identifier} is ${inst.DBInstanceStatus} with managed master password ${secret?.SecretStatus ?? "off"}; the secret points only at an available copy whose password the DR account holds, and keeps pointing where it did`,
        );
    }
    const value: SecretValue = {
        host: inst.Endpoint.Address,
        port: inst.Endpoint.Port!,
        identifier: job.identifier,
        version: job.version,
        engine: inst.Engine!,
        masterUserSecretArn: secret.SecretArn,
        sourceSnapshotArn: tagValue(inst.TagList, SOURCE_SNAPSHOT_TAG)!,
        sourceCreatedAt: tagValue(inst.TagList, SOURCE_CREATED_TAG)!,
    };
    const now = await secretValue(c, s);
    if (JSON.stringify(now) === JSON.stringify(value)) return { ...job, pointed: value };
    // A newer copy (a racing run, or a later delivery that finished first) keeps the secret.
    if (job.task === "copy" && typeof now?.sourceCreatedAt === "string" && value.sourceCreatedAt <= now.sourceCreatedAt) {
        return { ...job, skip: `the secret points at ${now.identifier} (data taken ${now.sourceCreatedAt}), not older than ${job.identifier}'s; it stays` };
    }
    await c.secrets.send(new PutSecretValueCommand({ SecretId: s.secretId, SecretString: JSON.stringify(value) }));
    return { ...job, pointed: value };
}

/** What `prune` deletes. Exported for testing. */
export interface PruneChoice {
    /** Available copies beyond the newest `keep`: deleted with a final snapshot. */
    withFinalSnapshot: string[];
    /** Dead copies: deleted without one (RDS allows nothing else), they hold no data of their own. */
    dead: string[];
    /** Copies whose snapshots stay: the kept ones and those still on their way. */
    retained: string[];
}

/**
 * Retention of the copies: only this machine's (`isOwnCopy`). The newest `keep` available ones stay,
 * and the one the secret points at; dead copies count for nothing and are deleted; copies on their
 * way, or in any other state, are left alone. Exported for testing.
 */
export function choosePrune(name: string, copies: DBInstance[], keep: number, pointedAt: string | undefined): PruneChoice {
    const own = copies
        .filter((i) => isOwnCopy(name, i.DBInstanceIdentifier!, i.TagList))
        .sort((a, b) => versionOf(name, b.DBInstanceIdentifier!)! - versionOf(name, a.DBInstanceIdentifier!)!);
    const available = own.filter((i) => i.DBInstanceStatus === "available").map((i) => i.DBInstanceIdentifier!);
    const kept = available.slice(0, keep);
    const withFinalSnapshot = available.slice(keep).filter((id) => id !== pointedAt);
    const dead = own.filter((i) => DEAD_COPY_STATUSES.has(i.DBInstanceStatus!) && i.DBInstanceIdentifier !== pointedAt).map((i) => i.DBInstanceIdentifier!);
    const onTheirWay = own.filter((i) => IN_PROGRESS_STATUSES.has(i.DBInstanceStatus!)).map((i) => i.DBInstanceIdentifier!);
    const retained = [...kept, ...onTheirWay, ...(pointedAt && own.some((i) => i.DBInstanceIdentifier === pointedAt) ? [pointedAt] : [])];
    return { withFinalSnapshot, dead, retained };
}

/** Deletes an instance; a twin's earlier delete (already deleting, or gone) counts as done. */
async function deleteInstance(rds: RDSClient, id: string, finalSnapshot: boolean): Promise<void> {
    try {
        await rds.send(
            new DeleteDBInstanceCommand(finalSnapshot ? { DBInstanceIdentifier: id, SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: `${id}-final` } : { DBInstanceIdentifier: id, SkipFinalSnapshot: true }),
        );
    } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === "InvalidDBInstanceStateFault" && (await findInstance(rds, id))?.DBInstanceStatus === "deleting") return;
        if (name === "DBInstanceNotFoundFault") return;
        throw err;
    }
}

/** Keeps the newest copies (see `choosePrune`), and deletes the snapshots of long-gone copies. */
export async function prune(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const held = await hold(c, s);
    if (held) return { ...job, held };
    const pointed = (await secretValue(c, s))?.identifier;
    const copies = await listCopies(c.rds, s.name);
    const choice = choosePrune(s.name, copies, s.keep, typeof pointed === "string" ? pointed : undefined);
    for (const id of choice.withFinalSnapshot) await deleteInstance(c.rds, id, true);
    for (const id of choice.dead) await deleteInstance(c.rds, id, false);
    const snapshots = await manualSnapshots(c.rds);
    const doomedSnapshots = selectCopySnapshotsToPrune(
        s.name,
        snapshots.map((x) => ({ identifier: x.DBSnapshotIdentifier!, status: x.Status ?? "", pilotlight: isOwnCopy(s.name, x.DBSnapshotIdentifier!, x.TagList) })),
        choice.retained,
        // Copies deleted in this run still exist: their snapshots wait for a later run, when the final snapshot is complete.
        copies.map((i) => i.DBInstanceIdentifier!),
    );
    for (const id of doomedSnapshots) {
        try {
            await c.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
        } catch (err) {
            if (!isNotFound(err) && (err as { name?: string }).name !== "InvalidDBSnapshotStateFault") throw err;
        }
    }
    return { ...job, pruned: { instances: [...choice.withFinalSnapshot, ...choice.dead], snapshots: doomedSnapshots } };
}

export const TARGET_STEPS = { copy, status, restore, password, point, prune } as const;

/** Reads the target's settings from the Lambda environment. */
export function targetSettingsFromEnv(env: NodeJS.ProcessEnv): CopyTargetSettings {
    const need = (k: string) => requireEnv(k, env);
    return {
        name: need("TARGET_NAME"),
        region: need("TARGET_REGION"),
        sourceAccountId: need("SOURCE_ACCOUNT_ID"),
        sourceIdentifier: need("SOURCE_IDENTIFIER"),
        drKeyArn: need("DR_KEY_ARN"),
        secretId: need("SECRET_ID"),
        holdSecretId: need("HOLD_SECRET_ID"),
        keep: requirePositiveIntEnv("KEEP", env),
        instanceClass: need("INSTANCE_CLASS"),
        subnetGroupName: need("SUBNET_GROUP_NAME"),
        securityGroupIds: need("SECURITY_GROUP_IDS").split(",").filter(Boolean),
        parameterGroupName: env.PARAMETER_GROUP_NAME || undefined,
        multiAz: env.MULTI_AZ === "true",
        tags: env.COPY_TAGS ? (JSON.parse(env.COPY_TAGS) as Record<string, string>) : {},
    };
}

/** Runs one step: `{step: "plan", input}` or `{step, job}`. */
export async function runTargetStep(c: TargetClients, s: CopyTargetSettings, event: { step?: unknown; input?: unknown; job?: CopyJob }): Promise<CopyJob> {
    if (event.step === "plan") return plan(c, s, event.input);
    if (typeof event.step !== "string" || !Object.prototype.hasOwnProperty.call(TARGET_STEPS, event.step)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(event.step)}; expected plan or ${Object.keys(TARGET_STEPS).join(", ")}`);
    }
    if (!event.job) throw new InvalidInputError(`step ${event.step} needs the job`);
    return TARGET_STEPS[event.step as keyof typeof TARGET_STEPS](c, s, event.job);
}
