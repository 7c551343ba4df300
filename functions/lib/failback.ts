/**
 * Failback: the database goes back from the DR region to the primary, the reverse of
 * the copy direction, in two machines.
 *
 * dr (`failback-source`): snapshot the failed-over database as `<db>-fb-<timestamp>` and
 * share it with the primary's account.
 *
 * primary (`failback`): copy that snapshot within the DR region under the shared key's
 * replica, copy the copy home under the shared key (`<db>-fb-<timestamp>-sk` in both
 * regions), refresh the primary's database in place with the restore machine's
 * `db_restore`, then delete the DR-region intermediate. The home copy stays: it is what
 * the database was restored from.
 *
 * Plans only read; every later step looks before it creates, so a retried step or a
 * rerun makes nothing twice.
 */
import {
    CopyDBClusterSnapshotCommand,
    CopyDBSnapshotCommand,
    CreateDBClusterSnapshotCommand,
    CreateDBSnapshotCommand,
    DeleteDBClusterSnapshotCommand,
    DeleteDBSnapshotCommand,
    DescribeDBClusterSnapshotAttributesCommand,
    DescribeDBSnapshotAttributesCommand,
    ModifyDBClusterSnapshotAttributeCommand,
    ModifyDBSnapshotAttributeCommand,
} from "@aws-sdk/client-rds";
import { DescribeExecutionCommand, DescribeExecutionOutput, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { jobTags, sharedKeyCopyName } from "./backup";
import {
    ConcurrentRunError,
    DatabaseNotFoundError,
    DatabaseNotReadyError,
    InvalidInputError,
    ResourceFailedError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    UnexpectedStateError,
} from "./errors";
import { requireEnv } from "./env";
import { assertNoOtherRun, checkExecutionContext, ExecutionContext, runningExecutionsOf } from "./executions";
import { compactTimestamp } from "./naming";
import { describeSnapshots, FAILED_SNAPSHOT_STATUSES, findCluster, findInstance, findSnapshot, isPilotlightSnapshot, newestFirst, SnapshotInfo } from "./rds";
import { RestoreRequest } from "./restoreJob";
import { JobClients } from "./snapshotJobs";

/** `pilotlight:created-by` of the snapshot the dr side takes, and of the copies the primary makes. */
export const FAILBACK_SOURCE_JOB = "failback-source";
export const FAILBACK_JOB = "failback";

const INFIX = "-fb-";

/** The snapshot the dr side takes: `<db>-fb-<timestamp of the execution's start>`. */
export function failbackSnapshotName(identifier: string, startedAt: string): string {
    return `${identifier}${INFIX}${compactTimestamp(startedAt)}`;
}

/** The timestamp of `<db>-fb-<timestamp>`, or undefined for any other name (copies `-sk` included). */
export function failbackTimestamp(identifier: string, name: string): string | undefined {
    if (!name.startsWith(`${identifier}${INFIX}`)) return undefined;
    const ts = name.slice(identifier.length + INFIX.length);
    return /^\d{14}$/.test(ts) ? ts : undefined;
}

/** The restore machine execution a failback starts: one name per source snapshot, so a rerun finds it. */
export function restoreExecutionName(timestamp: string): string {
    return `failback-${timestamp}`;
}

/** An RDS DB snapshot or cluster snapshot ARN, taken apart. */
export interface SnapshotArn {
    partition: string;
    region: string;
    account: string;
    kind: "snapshot" | "cluster-snapshot";
    id: string;
}

const SNAPSHOT_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):rds:([a-z0-9-]+):(\d{12}):(snapshot|cluster-snapshot):([a-z][a-z0-9-]*)$/;

/** Parts of a DB snapshot or cluster snapshot ARN, or undefined. */
export function parseRdsSnapshotArn(arn: string): SnapshotArn | undefined {
    const m = SNAPSHOT_ARN_RE.exec(arn);
    return m ? { partition: m[1], region: m[2], account: m[3], kind: m[4] as SnapshotArn["kind"], id: m[5] } : undefined;
}

/**
 * The engine family a snapshot can be restored into: an engine's editions and the legacy
 * `aurora` name (Aurora MySQL) count as one. Exported for testing.
 */
export function engineFamily(engine: string): string {
    if (engine === "aurora" || engine === "aurora-mysql") return "aurora-mysql";
    const edition = /^(oracle|sqlserver|db2)-/.exec(engine);
    return edition ? edition[1] : engine;
}

/** ARN of one execution of a state machine. */
export function executionArnOf(stateMachineArn: string, name: string): string {
    return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
}

/** What a plan step receives: the execution input and the context the machine passes. */
export interface FailbackPlanEvent extends ExecutionContext {
    input: unknown;
}

/** The execution input as an object whose keys are all in `allowed`. */
function inputObject(input: unknown, allowed: string[], example: string): Record<string, unknown> {
    if (typeof input !== "object" || input === null || Array.isArray(input)) throw new InvalidInputError(`input must be a JSON object like ${example}; got ${JSON.stringify(input)}`);
    const unknown = Object.keys(input).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
        throw new InvalidInputError(`unknown input field(s) ${unknown.join(", ")}; ${allowed.length > 0 ? `allowed: ${allowed.join(", ")}` : "this machine takes no input: start it with {}"}`);
    }
    return input as Record<string, unknown>;
}

/** The engine and key of a database that exists and is available; anything else is refused. */
async function availableDatabase(c: JobClients, region: string, identifier: string, isCluster: boolean): Promise<{ engine: string; kmsKeyId?: string }> {
    const rds = c.rds(region);
    const kind = isCluster ? "Aurora cluster" : "DB instance";
    const found = isCluster ? await findCluster(rds, identifier) : await findInstance(rds, identifier);
    if (!found) throw new DatabaseNotFoundError(`${kind} '${identifier}' does not exist in ${region}`);
    const status = isCluster ? (found as { Status?: string }).Status : (found as { DBInstanceStatus?: string }).DBInstanceStatus;
    if (status !== "available") throw new DatabaseNotReadyError(`${kind} '${identifier}' in ${region} is '${status}', not available`);
    return { engine: found.Engine ?? "", kmsKeyId: found.KmsKeyId };
}

/** One poll of a snapshot; a snapshot that failed or vanished is an error. */
async function pollSnapshot(c: JobClients, region: string, id: string, isCluster: boolean): Promise<SnapshotInfo> {
    const snap = await findSnapshot(c.rds(region), id, isCluster);
    if (!snap) throw new SnapshotNotFoundError(`snapshot ${id} disappeared from ${region}`);
    if (FAILED_SNAPSHOT_STATUSES.has(snap.status)) throw new ResourceFailedError(`snapshot ${id} in ${region} is ${snap.status}`);
    return snap;
}

/** What a job Lambda receives: `{step: "plan", input, ...context}` or `{step, job}`. */
export type StepEvent<J> = { step?: unknown; job?: J } & Partial<FailbackPlanEvent>;

/** Runs the plan, or the named step on the job the machine carries. */
async function runStep<S, J>(
    c: JobClients,
    s: S,
    event: StepEvent<J>,
    plan: (c: JobClients, s: S, event: FailbackPlanEvent) => Promise<J>,
    steps: Record<string, (c: JobClients, s: S, job: J) => Promise<J | Assessment>>,
): Promise<J | Assessment> {
    if (event.step === "plan") return plan(c, s, { input: event.input, startedAt: event.startedAt ?? "", executionArn: event.executionArn ?? "", stateMachineArn: event.stateMachineArn ?? "" });
    if (typeof event.step !== "string" || !Object.prototype.hasOwnProperty.call(steps, event.step)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(event.step)}; expected plan or ${Object.keys(steps).join(", ")}`);
    }
    if (!event.job) throw new InvalidInputError(`step ${event.step} needs a job`);
    return steps[event.step](c, s, event.job);
}

// ---------------------------------------------------------------- dr side

/** The dr side's configuration (the Lambda's environment). */
export interface FailbackSourceSettings {
    /** The DR region: where the failed-over database runs. */
    region: string;
    /** The failed-over database (`<namePrefix>-db`). */
    identifier: string;
    isCluster: boolean;
    /** The primary's account, which the snapshot is shared with; undefined in a same-account setup. */
    peerAccountId?: string;
}

/** One run of the dr side, carried by the machine between steps. */
export interface FailbackSourceJob {
    identifier: string;
    isCluster: boolean;
    /** `<db>-fb-<timestamp>`. */
    snapshotIdentifier: string;
    snapshotArn?: string;
    /** When the snapshot was taken (ISO), once RDS says. */
    createdAt?: string;
    status?: string;
    attempt: number;
}

/** Checks the database is there and available and nothing else runs; names the snapshot. Reads only. */
export async function planSource(c: JobClients, s: FailbackSourceSettings, event: FailbackPlanEvent): Promise<FailbackSourceJob> {
    inputObject(event.input, [], "{}");
    checkExecutionContext(event);
    await availableDatabase(c, s.region, s.identifier, s.isCluster);
    await assertNoOtherRun(c.sfn, event, FAILBACK_SOURCE_JOB);
    return { identifier: s.identifier, isCluster: s.isCluster, snapshotIdentifier: failbackSnapshotName(s.identifier, event.startedAt), attempt: 0 };
}

/** Takes the run's snapshot unless it exists (a retried step); one of the same name not taken by this job is refused. */
export async function takeSnapshot(c: JobClients, s: FailbackSourceSettings, job: FailbackSourceJob): Promise<FailbackSourceJob> {
    const rds = c.rds(s.region);
    const existing = await findSnapshot(rds, job.snapshotIdentifier, job.isCluster);
    if (existing && !isPilotlightSnapshot(existing, FAILBACK_SOURCE_JOB)) {
        throw new UnexpectedStateError(`snapshot ${job.snapshotIdentifier} exists in ${s.region} but was not taken by ${FAILBACK_SOURCE_JOB}; it is left alone, start the machine again for a new name`);
    }
    if (!existing) {
        const Tags = jobTags(FAILBACK_SOURCE_JOB, job.identifier);
        if (job.isCluster) await rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: job.identifier, DBClusterSnapshotIdentifier: job.snapshotIdentifier, Tags }));
        else await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: job.identifier, DBSnapshotIdentifier: job.snapshotIdentifier, Tags }));
    }
    return { ...job, status: "creating", attempt: 0 };
}

/** Polls the snapshot; records its ARN and creation time. */
export async function sourceStatus(c: JobClients, s: FailbackSourceSettings, job: FailbackSourceJob): Promise<FailbackSourceJob> {
    const snap = await pollSnapshot(c, s.region, job.snapshotIdentifier, job.isCluster);
    return { ...job, status: snap.status, attempt: job.attempt + 1, snapshotArn: snap.arn, createdAt: snap.createdAt || job.createdAt };
}

/** The accounts a snapshot of this account is shared with (its `restore` attribute). */
async function sharedWith(c: JobClients, region: string, id: string, isCluster: boolean): Promise<string[]> {
    const rds = c.rds(region);
    const attributes = isCluster
        ? (await rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: id }))).DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes
        : (await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id }))).DBSnapshotAttributesResult?.DBSnapshotAttributes;
    return attributes?.find((a) => a.AttributeName === "restore")?.AttributeValues ?? [];
}

/**
 * Lets the primary's account copy the snapshot (its `restore` attribute), unless it can
 * already (a retried step). Nothing to do in a same-account setup.
 */
export async function share(c: JobClients, s: FailbackSourceSettings, job: FailbackSourceJob): Promise<FailbackSourceJob> {
    if (!s.peerAccountId) return job;
    if ((await sharedWith(c, s.region, job.snapshotIdentifier, job.isCluster)).includes(s.peerAccountId)) return job;
    const rds = c.rds(s.region);
    const attribute = { AttributeName: "restore", ValuesToAdd: [s.peerAccountId] };
    if (job.isCluster) await rds.send(new ModifyDBClusterSnapshotAttributeCommand({ DBClusterSnapshotIdentifier: job.snapshotIdentifier, ...attribute }));
    else await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: job.snapshotIdentifier, ...attribute }));
    return job;
}

/** Where things stand after a failure: an outcome first (its name before the colon), then one line per resource. */
export type Assessment = Record<string, string>;

/** What a failed dr run leaves: the snapshot, if it was taken, and whether it is shared. Reads only. */
export async function assessSource(c: JobClients, s: FailbackSourceSettings, job: FailbackSourceJob): Promise<Assessment> {
    const snap = await findSnapshot(c.rds(s.region), job.snapshotIdentifier, job.isCluster);
    const database = `${job.identifier} in ${s.region}: not changed`;
    if (!snap) {
        return {
            Outcome: "nothing-changed: no snapshot was taken; fix the cause and start the machine again",
            Database: database,
            Snapshot: `none: ${job.snapshotIdentifier} was not taken`,
        };
    }
    const shared = !s.peerAccountId ? "" : (await sharedWith(c, s.region, job.snapshotIdentifier, job.isCluster)).includes(s.peerAccountId) ? `, shared with ${s.peerAccountId}` : `, not shared with ${s.peerAccountId} yet`;
    return {
        Outcome: "snapshot-kept: the snapshot stays; start the machine again for a new one, or delete it when no longer needed",
        Database: database,
        Snapshot: `${snap.arn} (${snap.status})${shared}`,
    };
}

/** Step names of the dr machine, each with its function. */
export const SOURCE_STEPS = { snapshot: takeSnapshot, status: sourceStatus, share, assess: assessSource } as const;

/** Reads the dr side's settings from the Lambda environment. */
export function sourceSettingsFromEnv(env: NodeJS.ProcessEnv): FailbackSourceSettings {
    return {
        region: requireEnv("REGION", env),
        identifier: requireEnv("DATABASE", env),
        isCluster: requireEnv("IS_CLUSTER", env) === "true",
        peerAccountId: env.PEER_ACCOUNT_ID || undefined,
    };
}

/** Runs one step of the dr machine. */
export function runSourceStep(c: JobClients, s: FailbackSourceSettings, event: StepEvent<FailbackSourceJob>): Promise<FailbackSourceJob | Assessment> {
    return runStep(c, s, event, planSource, SOURCE_STEPS);
}

// ---------------------------------------------------------------- primary side

/** The primary side's configuration (the Lambda's environment). */
export interface FailbackSettings {
    /** This (the primary's) account. */
    accountId: string;
    /** The primary's region: the database's, and the home copy's. */
    homeRegion: string;
    /** Where the dr side's snapshot is. */
    drRegion: string;
    /** The dr stack's account: the only owner of snapshots the machine accepts (this account in a same-account setup). */
    drAccountId: string;
    /** The primary's workload database, which the failback refreshes. */
    identifier: string;
    /**
     * dr's database, whose `<drIdentifier>-fb-<timestamp>` snapshots the failback source takes:
     * `<namePrefix>-db`, which differs from `identifier` when the primary protects an existing database.
     */
    drIdentifier: string;
    isCluster: boolean;
    /** The shared key: the home copy's key. */
    sharedKeyArn: string;
    /** The shared key's replica in the DR region: the DR-region copy's key. */
    replicaKeyArn: string;
    /** The restore machine that refreshes the database in place. */
    restoreMachineArn: string;
}

/** One run of the primary side, carried by the machine between steps. */
export interface FailbackJob {
    identifier: string;
    isCluster: boolean;
    /** The dr side's snapshot. */
    source: { arn: string; identifier: string; createdAt: string };
    /** dr's database the source was taken from, when it is not `identifier` (an existing home database). */
    sourceIdentifier?: string;
    /** `<home db>-fb-<timestamp>-sk`: the copy in the DR region and the one at home. */
    copyIdentifier: string;
    drCopyArn?: string;
    homeCopyArn?: string;
    /** `failback-<timestamp>`. */
    restoreExecutionName: string;
    restoreExecutionArn?: string;
    /** The restore execution existed already (a rerun): it was followed, not started again. */
    reusedExecution?: boolean;
    /** The snapshot the machine waits for. */
    current?: { region: string; id: string };
    status?: string;
    attempt: number;
    /** DR-region intermediates deleted by cleanup. */
    deleted?: string[];
    /** What cleanup did with the DR-region intermediate. */
    intermediate?: string;
    /** The restore execution's output, once it succeeded (e.g. the database's new secret). */
    restoreOutput?: unknown;
}

/** The execution input of the primary's machine. */
export interface FailbackInput {
    /** The dr side's snapshot; defaults to the newest available one shared with this account. */
    snapshotArn?: string;
}

/** Checks an operator-given ARN against what the machine accepts; no AWS calls. */
export function checkSnapshotArn(s: FailbackSettings, arn: unknown): SnapshotArn {
    const kind = s.isCluster ? "cluster-snapshot" : "snapshot";
    const example = `arn:aws:rds:${s.drRegion}:${s.drAccountId}:${kind}:${s.drIdentifier}${INFIX}<yyyymmddhhmmss>`;
    const parsed = typeof arn === "string" ? parseRdsSnapshotArn(arn) : undefined;
    if (!parsed) throw new InvalidInputError(`snapshotArn ${JSON.stringify(arn)} is not an RDS ${kind} ARN; expected ${example} (the failback-source machine's output)`);
    if (parsed.kind !== kind) {
        throw new InvalidInputError(`snapshotArn ${arn} is a ${parsed.kind}, but ${s.identifier} is ${s.isCluster ? "an Aurora cluster" : "a DB instance"}; expected ${example}`);
    }
    if (parsed.region !== s.drRegion) throw new InvalidInputError(`snapshotArn ${arn} is in ${parsed.region}; the failback source shares its snapshot in the DR region ${s.drRegion}: expected ${example}`);
    if (parsed.account !== s.drAccountId) throw new InvalidInputError(`snapshotArn ${arn} belongs to account ${parsed.account}; failback copies only from the dr account ${s.drAccountId}: expected ${example}`);
    if (failbackTimestamp(s.drIdentifier, parsed.id) === undefined) {
        throw new InvalidInputError(`snapshotArn ${arn} names '${parsed.id}'; failback copies only the failback source's snapshots '${s.drIdentifier}${INFIX}<yyyymmddhhmmss>': expected ${example}`);
    }
    return parsed;
}

/** The dr side's snapshots this account can see in the DR region: shared with it, or (same account) its own. */
async function failbackCandidates(c: JobClients, s: FailbackSettings): Promise<SnapshotInfo[]> {
    const sameAccount = s.drAccountId === s.accountId;
    const all = await describeSnapshots(c.rds(s.drRegion), s.isCluster, { type: sameAccount ? "manual" : "shared" });
    // Shared snapshots carry no tags: they are recognised by owner and name.
    return all.filter((x) => {
        const arn = parseRdsSnapshotArn(x.arn);
        return arn?.account === s.drAccountId && arn.region === s.drRegion && failbackTimestamp(s.drIdentifier, arn.id) !== undefined;
    });
}

/**
 * Picks the snapshot (the given one, or the newest available one taken from the
 * database), checks it and the primary's database, and that nothing else runs; names
 * the copies and the restore execution. Reads only.
 */
export async function planFailback(c: JobClients, s: FailbackSettings, event: FailbackPlanEvent): Promise<FailbackJob> {
    const input = inputObject(event.input, ["snapshotArn"], '{"snapshotArn": "<the failback-source machine\'s snapshotArn>"}') as FailbackInput;
    checkExecutionContext(event);
    const given = input.snapshotArn === undefined ? undefined : checkSnapshotArn(s, input.snapshotArn);
    const candidates = await failbackCandidates(c, s);
    const visibility = s.drAccountId === s.accountId ? `in ${s.drRegion}` : `shared with account ${s.accountId} in ${s.drRegion}`;
    let source: SnapshotInfo | undefined;
    if (given) {
        source = candidates.find((x) => x.arn === input.snapshotArn);
        if (!source) {
            throw new SnapshotNotFoundError(`snapshot ${input.snapshotArn} is not ${visibility}: it does not exist or the failback-source machine has not shared it yet; run that machine on the dr stack and pass its snapshotArn`);
        }
    } else {
        source = candidates.filter((x) => x.status === "available" && x.databaseIdentifier === s.drIdentifier).sort(newestFirst)[0];
        if (!source) {
            throw new SnapshotNotFoundError(`no available snapshot '${s.drIdentifier}${INFIX}<yyyymmddhhmmss>' of ${s.drIdentifier} from account ${s.drAccountId} is ${visibility}; run the failback-source machine on the dr stack first`);
        }
    }
    if (source.status !== "available") throw new SnapshotMismatchError(`snapshot ${source.arn} is '${source.status}', not available; wait for the failback-source machine to finish`);
    if (source.databaseIdentifier !== s.drIdentifier) {
        throw new SnapshotMismatchError(`snapshot ${source.arn} was taken from '${source.databaseIdentifier}', not from dr's '${s.drIdentifier}'; pass a snapshot of ${s.drIdentifier}`);
    }
    const db = await availableDatabase(c, s.homeRegion, s.identifier, s.isCluster);
    if (engineFamily(source.engine ?? "") !== engineFamily(db.engine)) {
        throw new SnapshotMismatchError(`snapshot ${source.arn} is of engine '${source.engine}', but ${s.identifier} in ${s.homeRegion} runs '${db.engine}'; the restore needs a snapshot of the same engine`);
    }
    // The home copy is under the shared key, and an instance restore takes its snapshot's key.
    if (db.kmsKeyId !== s.sharedKeyArn) {
        throw new UnexpectedStateError(
            `${s.identifier} in ${s.homeRegion} is encrypted with ${db.kmsKeyId ?? "no key"}, not the shared key ${s.sharedKeyArn}; the failback restores from a copy under the shared key, ` +
                "so the database would change key: fail back by hand, or move the database to the shared key first",
        );
    }
    await assertNoOtherRun(c.sfn, event, FAILBACK_JOB);
    const name = parseRdsSnapshotArn(source.arn)!.id;
    const ts = failbackTimestamp(s.drIdentifier, name)!;
    await assertNoOtherRestore(c, s, restoreExecutionName(ts));
    return {
        identifier: s.identifier,
        isCluster: s.isCluster,
        source: { arn: source.arn, identifier: name, createdAt: source.createdAt },
        ...(s.drIdentifier !== s.identifier ? { sourceIdentifier: s.drIdentifier } : {}),
        // Named after the home database: the restore machine uses only snapshots named after the database it restores.
        copyIdentifier: sharedKeyCopyName(`${s.identifier}${INFIX}${ts}`),
        restoreExecutionName: restoreExecutionName(ts),
        attempt: 0,
    };
}

/**
 * Refuses while the restore machine runs on the database, unless it is this failback's own
 * restore execution (a rerun follows it). Reads only.
 */
async function assertNoOtherRestore(c: JobClients, s: FailbackSettings, own: string): Promise<void> {
    for (const e of await runningExecutionsOf(c.sfn, s.restoreMachineArn)) {
        if (e.name === own) continue;
        const described = await c.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        let identifier: unknown;
        try {
            identifier = (JSON.parse(described.input ?? "") as { identifier?: unknown }).identifier;
        } catch {
            // not JSON: the restore machine refuses it anyway
        }
        if (identifier === s.identifier) {
            throw new ConcurrentRunError(`restore machine execution '${e.name}' (${e.executionArn}) is running on ${s.identifier}; wait for it to end, then start the failback again (it changes nothing now)`);
        }
    }
}

/** A copy of the given name that this job did not make is never used or deleted. */
function assertOwnCopy(copy: SnapshotInfo, region: string): void {
    if (!isPilotlightSnapshot(copy, FAILBACK_JOB)) {
        throw new UnexpectedStateError(`snapshot ${copy.identifier} exists in ${region} but was not made by ${FAILBACK_JOB} (no tag pilotlight:created-by=${FAILBACK_JOB}); rename or delete it, then run again`);
    }
}

/** A snapshot copy in the client's region, tagged as this job's; returns the copy's ARN. */
async function copySnapshot(c: JobClients, region: string, job: FailbackJob, sourceArn: string, kmsKeyId: string): Promise<string> {
    const rds = c.rds(region);
    const Tags = jobTags(FAILBACK_JOB, job.identifier);
    // The source is named by ARN: it is another account's, or in another region (the SDK presigns from it).
    if (job.isCluster) {
        const out = await rds.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: sourceArn, TargetDBClusterSnapshotIdentifier: job.copyIdentifier, KmsKeyId: kmsKeyId, Tags }));
        return out.DBClusterSnapshot?.DBClusterSnapshotArn ?? "";
    }
    const out = await rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: sourceArn, TargetDBSnapshotIdentifier: job.copyIdentifier, KmsKeyId: kmsKeyId, Tags }));
    return out.DBSnapshot?.DBSnapshotArn ?? "";
}

/**
 * Copies the dr side's snapshot within the DR region under the shared key's replica. A
 * rerun whose home copy exists already skips it (and waits for the home copy instead).
 */
export async function copyInDr(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    const home = await findSnapshot(c.rds(s.homeRegion), job.copyIdentifier, job.isCluster);
    if (home) {
        assertOwnCopy(home, s.homeRegion);
        return { ...job, homeCopyArn: home.arn, current: { region: s.homeRegion, id: job.copyIdentifier }, status: home.status, attempt: 0 };
    }
    const existing = await findSnapshot(c.rds(s.drRegion), job.copyIdentifier, job.isCluster);
    if (existing) assertOwnCopy(existing, s.drRegion);
    const drCopyArn = existing ? existing.arn : await copySnapshot(c, s.drRegion, job, job.source.arn, s.replicaKeyArn);
    return { ...job, drCopyArn, current: { region: s.drRegion, id: job.copyIdentifier }, status: "creating", attempt: 0 };
}

/** Copies the DR-region copy home under the shared key, unless it is there already. */
export async function copyHome(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    const home = await findSnapshot(c.rds(s.homeRegion), job.copyIdentifier, job.isCluster);
    if (home) assertOwnCopy(home, s.homeRegion);
    let homeCopyArn = home?.arn;
    if (!home) {
        const dr = await findSnapshot(c.rds(s.drRegion), job.copyIdentifier, job.isCluster);
        if (dr?.status !== "available") throw new SnapshotNotFoundError(`the DR-region copy ${job.copyIdentifier} is ${dr?.status ?? "missing"} in ${s.drRegion}; nothing to copy home`);
        homeCopyArn = await copySnapshot(c, s.homeRegion, job, dr.arn, s.sharedKeyArn);
    }
    return { ...job, homeCopyArn, current: { region: s.homeRegion, id: job.copyIdentifier }, status: "creating", attempt: 0 };
}

/** Polls the copy the job waits for. */
export async function copyStatus(c: JobClients, _s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    if (!job.current) throw new InvalidInputError("nothing to wait for: the job has no current snapshot");
    const snap = await pollSnapshot(c, job.current.region, job.current.id, job.isCluster);
    return { ...job, status: snap.status, attempt: job.attempt + 1 };
}

/** The restore machine's input: refresh the database in place from the home copy. */
export function restoreRequest(job: FailbackJob): RestoreRequest {
    return {
        identifier: job.identifier,
        task: "db_restore",
        isCluster: job.isCluster,
        snapshotIdentifier: job.copyIdentifier,
        ...(job.sourceIdentifier ? { sourceIdentifier: job.sourceIdentifier } : {}),
    };
}

/**
 * Starts the restore machine on the home copy as `failback-<timestamp>`. When that
 * execution exists already (a rerun), it is followed instead, provided it restores the
 * same copy.
 */
export async function startRestore(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    const home = await findSnapshot(c.rds(s.homeRegion), job.copyIdentifier, job.isCluster);
    if (home?.status !== "available") throw new SnapshotNotFoundError(`the home copy ${job.copyIdentifier} is ${home?.status ?? "missing"} in ${s.homeRegion}; nothing to restore from`);
    const input = JSON.stringify(restoreRequest(job));
    const name = job.restoreExecutionName;
    try {
        const out = await c.sfn.send(new StartExecutionCommand({ stateMachineArn: s.restoreMachineArn, name, input }));
        return { ...job, restoreExecutionArn: out.executionArn, reusedExecution: false, status: "RUNNING", attempt: 0 };
    } catch (err) {
        if ((err as { name?: string }).name !== "ExecutionAlreadyExists") throw err;
    }
    const arn = executionArnOf(s.restoreMachineArn, name);
    const existing = await c.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    let same = false;
    try {
        same = JSON.stringify(JSON.parse(existing.input ?? "")) === input;
    } catch {
        // not JSON: not this job's execution
    }
    if (!same) throw new UnexpectedStateError(`restore machine execution '${name}' (${arn}) exists with another input (${existing.input}); it is not this failback's, which would restore ${input}`);
    return { ...job, restoreExecutionArn: arn, reusedExecution: true, status: existing.status ?? "RUNNING", attempt: 0 };
}

const RESTORE_FAILED = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/** What a finished restore execution said: its error and cause, or its output. */
function restoreReport(out: DescribeExecutionOutput): string {
    return [out.error, out.cause].filter(Boolean).join(": ") || "no error given";
}

/**
 * Polls the restore execution: `SUCCEEDED` ends the wait (its output is kept); a failed one
 * is an error that relays what the restore machine said, since it alone knows where the
 * database stands.
 */
export async function restoreStatus(c: JobClients, _s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    if (!job.restoreExecutionArn) throw new InvalidInputError("no restore execution to wait for: start_restore has not run");
    const out = await c.sfn.send(new DescribeExecutionCommand({ executionArn: job.restoreExecutionArn }));
    const status = out.status ?? "RUNNING";
    if (RESTORE_FAILED.has(status)) {
        throw new ResourceFailedError(
            `restore machine execution '${job.restoreExecutionName}' (${job.restoreExecutionArn}) ended ${status} (${restoreReport(out)}); ` +
                `where ${job.identifier} stands is what that execution's outcome and alert say. The failback itself deleted nothing: the copy ${job.copyIdentifier} stays in both regions. ` +
                "To try again, take a new snapshot with the failback-source machine (execution names are not reused)",
        );
    }
    let restoreOutput: unknown;
    if (status === "SUCCEEDED") {
        try {
            restoreOutput = JSON.parse(out.output ?? "");
        } catch {
            restoreOutput = out.output;
        }
    }
    return { ...job, status, attempt: job.attempt + 1, restoreOutput };
}

/**
 * Deletes the DR-region intermediate copy, only this job's (its name and its tag) and only
 * once the home copy is available; the home copy stays as the restore's evidence. A retry
 * finds the copy already deleting and says so.
 */
export async function cleanup(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<FailbackJob> {
    const home = await findSnapshot(c.rds(s.homeRegion), job.copyIdentifier, job.isCluster);
    if (home?.status !== "available") throw new UnexpectedStateError(`the home copy ${job.copyIdentifier} is ${home?.status ?? "missing"} in ${s.homeRegion}; keeping the DR-region copy`);
    const rds = c.rds(s.drRegion);
    const copy = await findSnapshot(rds, job.copyIdentifier, job.isCluster);
    const where = `${s.drRegion}:${job.copyIdentifier}`;
    let intermediate: string;
    if (!copy) intermediate = `${where} is gone`;
    else if (!isPilotlightSnapshot(copy, FAILBACK_JOB)) intermediate = `${where} kept: not made by ${FAILBACK_JOB}`;
    else if (copy.status === "deleting") intermediate = `${where} deleted`;
    else if (copy.status !== "available") intermediate = `${where} kept: it is ${copy.status}`;
    else {
        if (job.isCluster) await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: job.copyIdentifier }));
        else await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: job.copyIdentifier }));
        intermediate = `${where} deleted`;
    }
    return { ...job, current: undefined, deleted: intermediate.endsWith(" deleted") ? [where] : [], intermediate };
}

/** The restore execution of a job, or undefined when it was never started. */
async function describeRestore(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<DescribeExecutionOutput | undefined> {
    try {
        return await c.sfn.send(new DescribeExecutionCommand({ executionArn: executionArnOf(s.restoreMachineArn, job.restoreExecutionName) }));
    } catch (err) {
        if ((err as { name?: string }).name === "ExecutionDoesNotExist") return undefined;
        throw err;
    }
}

/** A snapshot's line in an assessment. */
async function copyLine(c: JobClients, region: string, id: string, isCluster: boolean): Promise<{ exists: boolean; line: string }> {
    const snap = await findSnapshot(c.rds(region), id, isCluster);
    return snap ? { exists: true, line: `${snap.arn} (${snap.status}): kept` } : { exists: false, line: `none: ${id} is not in ${region}` };
}

/**
 * What a failed failback leaves, looked up rather than remembered (a lost response leaves
 * no record): the copies in both regions and the restore execution, and an outcome. The
 * failback changes the database only through the restore machine; once that started, its
 * own outcome says where the database is. Reads only.
 */
export async function assessFailback(c: JobClients, s: FailbackSettings, job: FailbackJob): Promise<Assessment> {
    const drCopy = await copyLine(c, s.drRegion, job.copyIdentifier, job.isCluster);
    const homeCopy = await copyLine(c, s.homeRegion, job.copyIdentifier, job.isCluster);
    const restore = await describeRestore(c, s, job);
    const lines = { "Source snapshot": `${job.source.arn}: kept`, "DR-region copy": drCopy.line, "Home copy": homeCopy.line };
    const arn = executionArnOf(s.restoreMachineArn, job.restoreExecutionName);
    if (!restore) {
        const changed = drCopy.exists || homeCopy.exists;
        return {
            Outcome: changed
                ? "database-untouched: the restore machine was not started; the copies stay, and starting the failback again with the same snapshot continues from them"
                : "nothing-changed: no copy was made and the restore machine was not started; start the failback again",
            Database: `${job.identifier} in ${s.homeRegion}: not changed by the failback`,
            ...lines,
            "Restore execution": `none: ${job.restoreExecutionName} was not started`,
        };
    }
    const status = restore.status ?? "RUNNING";
    const outcome =
        status === "SUCCEEDED"
            ? `failed-back: the restore execution succeeded; ${job.identifier} holds the snapshot's data`
            : status === "RUNNING"
              ? `restore-running: the restore machine is still working on ${job.identifier}; it decides the outcome and alerts. Do not start another restore; follow ${arn}`
              : `restore-${status.toLowerCase().replace("_", "-")}: the restore machine's own outcome and alert say where ${job.identifier} stands (${restoreReport(restore)})`;
    return {
        Outcome: outcome,
        Database: `${job.identifier} in ${s.homeRegion}: changed only by the restore execution`,
        ...lines,
        "Restore execution": `${arn} (${status})`,
    };
}
/** Step names of the primary's machine, each with its function. */
export const FAILBACK_STEPS = {
    copy_in_dr: copyInDr,
    copy_home: copyHome,
    status: copyStatus,
    start_restore: startRestore,
    restore_status: restoreStatus,
    cleanup,
    assess: assessFailback,
} as const;

/** Reads the primary side's settings from the Lambda environment. */
export function failbackSettingsFromEnv(env: NodeJS.ProcessEnv): FailbackSettings {
    const need = (k: string) => requireEnv(k, env);
    return {
        accountId: need("ACCOUNT_ID"),
        homeRegion: need("HOME_REGION"),
        drRegion: need("DR_REGION"),
        drAccountId: need("DR_ACCOUNT_ID"),
        identifier: need("DATABASE"),
        drIdentifier: need("DR_DATABASE"),
        isCluster: need("IS_CLUSTER") === "true",
        sharedKeyArn: need("SHARED_KEY_ARN"),
        replicaKeyArn: need("REPLICA_KEY_ARN"),
        restoreMachineArn: need("RESTORE_MACHINE_ARN"),
    };
}

/** Runs one step of the primary's machine. */
export function runFailbackStep(c: JobClients, s: FailbackSettings, event: StepEvent<FailbackJob>): Promise<FailbackJob | Assessment> {
    return runStep(c, s, event, planFailback, FAILBACK_STEPS);
}
