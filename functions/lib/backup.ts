/**
 * Pure logic of the backup and copy machines: names, version numbering,
 * retention of copies, the message between the two accounts. No SDK calls;
 * tests call these table-driven.
 */
import { Tag } from "@aws-sdk/client-rds";
import { compactTimestamp } from "./naming";
import { InvalidInputError, PilotlightError } from "./errors";
import { CREATED_BY_TAG, SOURCE_TAG } from "./tags";

/** `pilotlight:created-by` values of the three jobs; each job's retention only touches its own. */
export const BACKUP_JOB = "backup-schedule";
export const COPY_SOURCE_JOB = "copy-source";
export const COPY_TARGET_JOB = "copy-target";
export type SnapshotJob = typeof BACKUP_JOB | typeof COPY_SOURCE_JOB;

/** On a copy: ARN of the shared snapshot it was made from (duplicate deliveries find it). */
export const SOURCE_SNAPSHOT_TAG = "pilotlight:source-snapshot";
/** On a copy: its version number. */
export const VERSION_TAG = "pilotlight:version";

/** One or more databases failed in a backup run; the others completed. */
export class BackupFailedError extends PilotlightError {
    readonly name = "BackupFailedError";
}

/** Creating one more manual snapshot would exceed the region's RDS quota: refused before the call. */
export class SnapshotQuotaError extends PilotlightError {
    readonly name = "SnapshotQuotaError";
}

/** The infix of a job's run snapshots. */
function runInfix(job: SnapshotJob): string {
    return job === BACKUP_JOB ? "bk" : "cp";
}

/**
 * True for a name a run of `job` gives a snapshot of `identifier`: `<identifier>-bk-<14 digits>`
 * (`-cp-` for copies), or its shared-key copy (`...-sk`). Retention needs this and the job's tag.
 */
export function isRunSnapshotName(job: SnapshotJob, identifier: string, name: string): boolean {
    const prefix = `${identifier}-${runInfix(job)}-`;
    return name.startsWith(prefix) && /^\d{14}(-sk)?$/.test(name.slice(prefix.length));
}

/** A DR-region copy the backups or the copy source made of `identifier`: `<identifier>-bk|cp-<timestamp>[-sk]`. */
export function isBackupCopyName(identifier: string, name: string): boolean {
    return isRunSnapshotName(BACKUP_JOB, identifier, name) || isRunSnapshotName(COPY_SOURCE_JOB, identifier, name);
}

/** The snapshot a run takes: `<identifier>-bk-<timestamp>` (backups) or `<identifier>-cp-<timestamp>` (copies). */
export function runSnapshotName(job: SnapshotJob, identifier: string, startedAt: string): string {
    return `${identifier}-${runInfix(job)}-${compactTimestamp(startedAt)}`;
}

/** The copy of a default-key snapshot under the shared key. */
export function sharedKeyCopyName(snapshot: string): string {
    return `${snapshot}-sk`;
}

/** Tags every snapshot a job creates. */
export function jobTags(job: string, identifier: string): Tag[] {
    return [
        { Key: CREATED_BY_TAG, Value: job },
        { Key: SOURCE_TAG, Value: identifier },
    ];
}

/** The version of `<name>-v<N>` (or of `<name>-v<N>-final` when `allowFinal`), or undefined for any other identifier. */
export function versionOf(name: string, identifier: string, allowFinal = false): number | undefined {
    if (!identifier.startsWith(`${name}-v`)) return undefined;
    const m = /^(\d+)(-final)?$/.exec(identifier.slice(name.length + 2));
    if (!m || m[1].startsWith("0") || (m[2] && !allowFinal)) return undefined;
    return Number(m[1]);
}

/**
 * The next version: one more than the highest existing `<name>-v<N>` or `<name>-v<N>-final`, whatever
 * the secret points at. A final snapshot counts: a version numbered below it would, once pruned, need
 * the final snapshot name that is taken.
 */
export function nextVersion(name: string, identifiers: string[]): number {
    return Math.max(0, ...identifiers.map((id) => versionOf(name, id, true) ?? 0)) + 1;
}

/** `<name>-v<N>`. */
export function versionIdentifier(name: string, version: number): string {
    return `${name}-v${version}`;
}

/** A copy on the target side as retention sees it. */
export interface CopyInstance {
    identifier: string;
    status: string;
    /** True when the copy machine created it (tag `pilotlight:created-by` = copy-target). */
    pilotlight: boolean;
}

/**
 * Copies to delete: pilotlight's `<name>-v<N>` instances beyond the newest `keep`
 * versions, never the one the secret points at, never one that is not `available`
 * (still being created, or already being deleted), never another instance.
 */
export function selectCopiesToPrune(name: string, instances: CopyInstance[], keep: number, pointedAt: string | undefined): string[] {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be an integer >= 1, got ${keep}`);
    const ours = instances
        .filter((i) => i.pilotlight && versionOf(name, i.identifier) !== undefined)
        .sort((a, b) => versionOf(name, b.identifier)! - versionOf(name, a.identifier)!);
    return ours
        .slice(keep)
        .filter((i) => i.identifier !== pointedAt && i.status === "available")
        .map((i) => i.identifier);
}

/** A snapshot on the target side as retention sees it. */
export interface CopySnapshot {
    identifier: string;
    status: string;
    /** True when tagged `pilotlight:created-by` = copy-target, or a final snapshot of such a copy. */
    pilotlight: boolean;
}

/**
 * Target-side snapshots to delete: the re-encrypted copies (`<name>-v<N>`) and final
 * snapshots (`<name>-v<N>-final`) of versions older than every retained copy, once the
 * copy's instance is gone entirely (not even `deleting`). Snapshots of retained versions,
 * snapshots not `available`, and anything else stay.
 * @param retained copies that stay (available or on their way to it)
 * @param existing every instance that still exists, deleting ones included
 */
export function selectCopySnapshotsToPrune(name: string, snapshots: CopySnapshot[], retained: string[], existing: string[]): string[] {
    const versions = retained.map((id) => versionOf(name, id)).filter((v): v is number => v !== undefined);
    if (versions.length === 0) return [];
    const lowest = Math.min(...versions);
    const alive = new Set(existing.map((id) => versionOf(name, id)).filter((v): v is number => v !== undefined));
    return snapshots
        .filter((s) => {
            const v = versionOf(name, s.identifier, true);
            return s.pilotlight && v !== undefined && v < lowest && !alive.has(v) && s.status === "available";
        })
        .map((s) => s.identifier);
}

/** What the source publishes for each shared snapshot. */
export interface CopyMessage {
    /** ARN of the shared snapshot, in the target's region. */
    snapshotArn: string;
    /** Identifier of the source instance. */
    sourceIdentifier: string;
    /** Engine of the source instance. */
    engine: string;
    /** When the snapshot was taken (ISO). */
    createdAt: string;
}

const SNAPSHOT_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):rds:([a-z0-9-]+):(\d{12}):snapshot:([a-z][a-z0-9-]*)$/;

/** Parts of an instance snapshot ARN, or undefined. */
export function parseSnapshotArn(arn: string): { partition: string; region: string; account: string; id: string } | undefined {
    const m = SNAPSHOT_ARN_RE.exec(arn);
    return m ? { partition: m[1], region: m[2], account: m[3], id: m[4] } : undefined;
}

/**
 * Validates a copy message against what this target accepts: a snapshot of the
 * configured source instance, owned by the source account, in this region.
 */
export function parseCopyMessage(raw: unknown, expect: { sourceAccount: string; sourceIdentifier: string; region: string }): CopyMessage {
    let msg = raw;
    if (typeof raw === "string") {
        try {
            msg = JSON.parse(raw);
        } catch {
            throw new InvalidInputError(`copy message is not JSON: ${raw.slice(0, 200)}`);
        }
    }
    if (!msg || typeof msg !== "object") throw new InvalidInputError(`copy message must be an object with snapshotArn, sourceIdentifier, engine, createdAt; got ${JSON.stringify(msg)}`);
    const m = msg as Record<string, unknown>;
    const arn = typeof m.snapshotArn === "string" ? parseSnapshotArn(m.snapshotArn) : undefined;
    if (!arn) throw new InvalidInputError(`snapshotArn ${JSON.stringify(m.snapshotArn)} is not an RDS snapshot ARN (arn:aws:rds:<region>:<account>:snapshot:<id>)`);
    if (arn.account !== expect.sourceAccount) {
        throw new InvalidInputError(`snapshotArn ${m.snapshotArn} belongs to account ${arn.account}; this target copies only from the source account ${expect.sourceAccount}`);
    }
    if (arn.region !== expect.region) {
        throw new InvalidInputError(`snapshotArn ${m.snapshotArn} is in ${arn.region}; the source shares its copy in this target's region ${expect.region}`);
    }
    if (m.sourceIdentifier !== expect.sourceIdentifier) {
        throw new InvalidInputError(`sourceIdentifier ${JSON.stringify(m.sourceIdentifier)} is not the configured source ${expect.sourceIdentifier}`);
    }
    if (typeof m.engine !== "string" || !/^[a-z0-9-]+$/.test(m.engine)) throw new InvalidInputError(`engine ${JSON.stringify(m.engine)} is not an RDS engine name`);
    if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) {
        throw new InvalidInputError(`createdAt ${JSON.stringify(m.createdAt)} is not an ISO timestamp`);
    }
    return { snapshotArn: m.snapshotArn as string, sourceIdentifier: m.sourceIdentifier as string, engine: m.engine, createdAt: m.createdAt };
}

/** Execution name for a shared snapshot: the same for every delivery of it, so a duplicate cannot start a second run. */
export function copyExecutionName(snapshotArn: string): string {
    const arn = parseSnapshotArn(snapshotArn);
    if (!arn) throw new InvalidInputError(`${snapshotArn} is not an RDS snapshot ARN`);
    return `copy-${arn.id}`.slice(0, 80);
}

/** A snapshot the dr stack could restore from, as its lookup reports it. */
export interface CopyCandidate {
    /** Identifier (for a shared snapshot: its ARN). */
    identifier: string;
    arn: string;
    /** Identifier of the database it was taken from. */
    databaseIdentifier: string;
    status: string;
    /** When the data was captured (ISO): the original snapshot's time, which a copy keeps. */
    takenAt: string;
}

/**
 * The snapshot `latestCopy` restores from among `candidates`: the newest available one of the
 * source database whose ARN is in `region` and owned by `owner` (the peer account for shared
 * snapshots, this account for its own). Anything else (another database, another account,
 * not available, no time) is ignored; none left is an error saying what to do instead.
 * Exported for the database component and for testing.
 */
export function selectLatestCopy(candidates: CopyCandidate[], want: { sourceIdentifier: string; owner: string; region: string }): CopyCandidate {
    const usable = candidates.filter((c) => {
        const arn = /^arn:[a-z-]+:rds:([a-z0-9-]+):(\d{12}):(?:cluster-)?snapshot:/.exec(c.arn);
        return arn !== null && arn[1] === want.region && arn[2] === want.owner && c.databaseIdentifier === want.sourceIdentifier && c.status === "available" && !Number.isNaN(Date.parse(c.takenAt));
    });
    const newest = usable.sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt) || b.arn.localeCompare(a.arn))[0];
    if (!newest) {
        throw new InvalidInputError(
            `no available snapshot of ${want.sourceIdentifier} owned by account ${want.owner} in ${want.region} (${candidates.length} candidate(s) seen); set pilotlight:failoverDatabase.source to "snapshot" with pilotlight:failoverDatabase.snapshotIdentifier (the ARN of a shared snapshot)`,
        );
    }
    return newest;
}
