/**
 * Restore tests: measure the database RTO by doing what a failover would do, on a throwaway.
 * Restore the newest recovery point the dr stack's failover would use into the DR network (its
 * own security group, never public, never reachable from the app), wait until available, prove
 * it answers on its port (the probe Lambda), record the time from the restore call to available,
 * then delete it.
 *
 * Only what a run created itself is ever deleted: the identifier must match this job's pattern
 * (`<prefix>-rtest-<14 digits>`, writer `...-w`), carry this job's created-by tag AND the tag that
 * names the execution that created it, and be the identifier in the run's own state. A leftover of
 * an earlier run is reported, never touched. Every mutating step looks first, so a retry after a
 * lost response continues instead of failing.
 */
import {
    CreateDBInstanceCommand,
    DBCluster,
    DBInstance,
    DeleteDBClusterCommand,
    DeleteDBInstanceCommand,
    DescribeDBClustersCommand,
    DescribeDBInstancesCommand,
    RDSClient,
    RestoreDBClusterFromSnapshotCommand,
    RestoreDBInstanceFromDBSnapshotCommand,
    Tag,
} from "@aws-sdk/client-rds";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { SFNClient } from "@aws-sdk/client-sfn";
import { InvalidInputError, PilotlightError, ResourceFailedError, SnapshotNotFoundError, UnexpectedStateError } from "./errors";
import { assertNoOtherRun, checkExecutionContext, ExecutionContext } from "./executions";
import { findCluster, findInstance, FAILED_DB_STATUSES, isNotFound, tagsOf } from "./rds";
import { failoverRecoveryPoint, parseTargets, READINESS_NAMESPACE, RecoveryTarget } from "./readiness";
import { CREATED_BY_TAG } from "./tags";

export const RESTORE_TEST_JOB = "restore-test";
/** Tag naming the execution that created a test database: part of the proof that a run may delete it. */
export const RESTORE_TEST_EXECUTION_TAG = "pilotlight:restore-test-execution";
export const RESTORE_TEST_MINUTES_METRIC = "RestoreTestMinutes";
export const RESTORE_TEST_SUCCEEDED_METRIC = "RestoreTestSucceeded";

/** A leftover test database of an earlier run exists: it is reported, never deleted by another run. */
export class LeftoverTestDatabaseError extends PilotlightError {
    readonly name = "LeftoverTestDatabaseError";
}

export interface RestoreTestSettings {
    namePrefix: string;
    target: RecoveryTarget;
    instanceClass: string;
    subnetGroupName: string;
    securityGroupId: string;
    /** Clusters: the key the restored cluster is encrypted with (this account's DR key). */
    kmsKeyArn: string;
    /** This stack's region (the Lambda's AWS_REGION): the failover restores only snapshots shared into it. */
    region: string;
}

/** Reads the settings from the Lambda's environment; a missing one is a deploy defect, refused loudly. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RestoreTestSettings {
    const need = (k: string) => {
        const v = env[k];
        if (!v) throw new Error(`environment variable ${k} is not set`);
        return v;
    };
    const [target] = parseTargets(need("TARGET"));
    if (target.kind === "automatedBackups") throw new InvalidInputError("restore tests restore snapshots; a point-in-time failover source is not tested by this machine");
    return { namePrefix: need("NAME_PREFIX"), target, instanceClass: need("INSTANCE_CLASS"), subnetGroupName: need("SUBNET_GROUP_NAME"), securityGroupId: need("SECURITY_GROUP_ID"), kmsKeyArn: need("KMS_KEY_ARN"), region: need("AWS_REGION") };
}

/** What the machine carries from step to step. */
export interface TestJob {
    /** The throwaway's identifier (instance, or cluster), from this run's start time. */
    identifier: string;
    isCluster: boolean;
    /** The recovery point restored, and when its data was current. */
    snapshot: string;
    recoveryPointTime: string;
    engine: string;
    /** This run: the tag that proves the throwaway is its own. */
    executionArn: string;
    /** When the restore was asked for, and when the database became available. */
    restoreStartedAt?: string;
    availableAt?: string;
    /** Set by the status step. */
    status?: string;
    attempt?: number;
    /** Set by the probe. */
    endpoint?: { host: string; port: number };
    /** Present when the machine caught an error (the cleanup path). */
    error?: unknown;
}

const STAMP_RE = /^\d{14}$/;

/** The identifier pattern of this job's throwaways. Exported for testing. */
export function testIdentifierPattern(namePrefix: string): RegExp {
    return new RegExp(`^${namePrefix.replace(/[^a-z0-9-]/g, "")}-rtest-\\d{14}$`);
}

/** `<prefix>-rtest-<yyyymmddhhmmss>` of the run's start. Exported for testing. */
export function testIdentifier(namePrefix: string, startedAt: string): string {
    const time = Date.parse(startedAt);
    const stamp = Number.isNaN(time) ? "" : new Date(time).toISOString().replace(/[-:T]/g, "").slice(0, 14);
    if (!STAMP_RE.test(stamp)) throw new InvalidInputError(`startedAt ${startedAt} is not a timestamp`);
    return `${namePrefix}-rtest-${stamp}`;
}

export const writerOf = (identifier: string) => `${identifier}-w`;

const tagValue = (tags: Tag[], key: string) => tags.find((t) => t.Key === key)?.Value;

/** Whether tags and name prove `identifier` is this run's own throwaway. Exported for testing. */
export function isOwnThrowaway(s: RestoreTestSettings, job: Pick<TestJob, "identifier" | "executionArn">, identifier: string, tags: Tag[]): boolean {
    const base = identifier.endsWith("-w") ? identifier.slice(0, -2) : identifier;
    return (
        base === job.identifier &&
        testIdentifierPattern(s.namePrefix).test(base) &&
        tagValue(tags, CREATED_BY_TAG) === RESTORE_TEST_JOB &&
        tagValue(tags, RESTORE_TEST_EXECUTION_TAG) === job.executionArn
    );
}

function ownTags(job: TestJob): Tag[] {
    return [
        { Key: CREATED_BY_TAG, Value: RESTORE_TEST_JOB },
        { Key: RESTORE_TEST_EXECUTION_TAG, Value: job.executionArn },
    ];
}

/** Leftover throwaways of earlier runs (instances and clusters matching the pattern, with this job's tag). */
async function leftovers(rds: RDSClient, s: RestoreTestSettings): Promise<string[]> {
    const pattern = testIdentifierPattern(s.namePrefix);
    const found: string[] = [];
    const check = async (id: string | undefined, arn: string | undefined) => {
        if (!id || !arn) return;
        const base = id.endsWith("-w") ? id.slice(0, -2) : id;
        if (!pattern.test(base)) return;
        if (tagValue(await tagsOf(rds, arn), CREATED_BY_TAG) === RESTORE_TEST_JOB) found.push(id);
    };
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
        for (const i of page.DBInstances ?? []) await check(i.DBInstanceIdentifier, i.DBInstanceArn);
        marker = page.Marker;
    } while (marker);
    do {
        const page = await rds.send(new DescribeDBClustersCommand({ Marker: marker }));
        for (const c of page.DBClusters ?? []) await check(c.DBClusterIdentifier, c.DBClusterArn);
        marker = page.Marker;
    } while (marker);
    return found.sort();
}

const INPUT_KEYS = new Set<string>();

/**
 * Checks the input (the schedule sends `{}`; nothing else is accepted), refuses while another run
 * is going or a leftover exists, and finds the newest recovery point the failover would use.
 * Changes nothing.
 */
export async function plan(clients: { rds: RDSClient; sfn: SFNClient }, s: RestoreTestSettings, event: { input: unknown } & ExecutionContext): Promise<TestJob> {
    const input = event.input;
    if (!input || typeof input !== "object" || Array.isArray(input)) {
        throw new InvalidInputError(`restore test input must be an object ({} from the schedule), got ${JSON.stringify(input)}`);
    }
    const unknown = Object.keys(input).filter((k) => !INPUT_KEYS.has(k));
    if (unknown.length > 0) throw new InvalidInputError(`restore test input takes no fields; unknown: ${unknown.join(", ")} (start it with {})`);
    checkExecutionContext(event);
    await assertNoOtherRun(clients.sfn, event, RESTORE_TEST_JOB);
    const left = await leftovers(clients.rds, s);
    if (left.length > 0) {
        throw new LeftoverTestDatabaseError(`test database(s) of an earlier run still exist: ${left.join(", ")}; delete them (they are throwaways: aws rds delete-db-instance / delete-db-cluster --skip-final-snapshot), then run again`);
    }
    // Exactly what the failover would restore (same lookup as the RPO metric), so the test measures its RTO.
    const { point, why } = await failoverRecoveryPoint(clients.rds, s.target, s.region);
    if (!point) throw new SnapshotNotFoundError(`no restorable recovery point of ${s.target.database} in this region (${why}): the failover would have nothing to restore either`);
    if (!point.engine) throw new SnapshotNotFoundError(`recovery point ${point.ref} names no engine`);
    return {
        identifier: testIdentifier(s.namePrefix, event.startedAt),
        isCluster: s.target.isCluster,
        snapshot: point.ref,
        recoveryPointTime: point.time.toISOString(),
        engine: point.engine,
        executionArn: event.executionArn,
    };
}

/** Asks for the restore; a retry finds its own throwaway and continues. */
export async function restore(rds: RDSClient, s: RestoreTestSettings, job: TestJob, now: Date = new Date()): Promise<TestJob> {
    const existing = job.isCluster ? await findCluster(rds, job.identifier) : await findInstance(rds, job.identifier);
    if (existing) {
        const arn = (existing as DBCluster).DBClusterArn ?? (existing as DBInstance).DBInstanceArn!;
        if (!isOwnThrowaway(s, job, job.identifier, await tagsOf(rds, arn))) {
            throw new UnexpectedStateError(`${job.identifier} exists but was not created by this run (${job.executionArn}); nothing is touched`);
        }
        return { ...job, restoreStartedAt: job.restoreStartedAt ?? now.toISOString() };
    }
    const common = { DBSubnetGroupName: s.subnetGroupName, VpcSecurityGroupIds: [s.securityGroupId], DeletionProtection: false, Tags: ownTags(job) };
    if (job.isCluster) {
        await rds.send(
            new RestoreDBClusterFromSnapshotCommand({
                DBClusterIdentifier: job.identifier,
                SnapshotIdentifier: job.snapshot,
                Engine: job.engine,
                KmsKeyId: s.kmsKeyArn,
                ...common,
            }),
        );
    } else {
        await rds.send(
            new RestoreDBInstanceFromDBSnapshotCommand({
                DBInstanceIdentifier: job.identifier,
                DBSnapshotIdentifier: job.snapshot,
                DBInstanceClass: s.instanceClass,
                PubliclyAccessible: false,
                MultiAZ: false,
                ...common,
            }),
        );
    }
    return { ...job, restoreStartedAt: now.toISOString() };
}

/**
 * "You can create DB instances only after the RestoreDBClusterFromSnapshot operation has completed
 * and the DB cluster is available": the writer comes after the cluster's wait. A retry finds it.
 */
export async function createWriter(rds: RDSClient, s: RestoreTestSettings, job: TestJob): Promise<TestJob> {
    const writer = writerOf(job.identifier);
    const existing = await findInstance(rds, writer);
    if (existing) {
        if (!isOwnThrowaway(s, job, writer, await tagsOf(rds, existing.DBInstanceArn!))) {
            throw new UnexpectedStateError(`${writer} exists but was not created by this run; nothing is touched`);
        }
        return { ...job, status: undefined, attempt: 0 };
    }
    await rds.send(
        new CreateDBInstanceCommand({
            DBInstanceIdentifier: writer,
            DBClusterIdentifier: job.identifier,
            DBInstanceClass: s.instanceClass,
            Engine: job.engine,
            PubliclyAccessible: false,
            Tags: ownTags(job),
        }),
    );
    return { ...job, status: undefined, attempt: 0 };
}

/**
 * One poll. `phase` says what is awaited: `restore` (the instance, or the cluster), `writer` (the
 * cluster's writer instance), `delete` (gone: reports "deleted"). Records when it became available.
 */
export async function status(rds: RDSClient, job: TestJob, phase: "restore" | "writer" | "delete", now: Date = new Date()): Promise<TestJob> {
    const attempt = (job.attempt ?? 0) + 1;
    if (phase === "delete") {
        const cluster = job.isCluster ? await findCluster(rds, job.identifier) : undefined;
        const instance = await findInstance(rds, job.isCluster ? writerOf(job.identifier) : job.identifier);
        return { ...job, attempt, status: cluster || instance ? "deleting" : "deleted" };
    }
    const id = phase === "writer" ? writerOf(job.identifier) : job.identifier;
    const found = job.isCluster && phase === "restore" ? await findCluster(rds, id) : await findInstance(rds, id);
    if (!found) throw new UnexpectedStateError(`${id} is gone while the restore test waits for it`);
    const st = ((found as DBCluster).Status ?? (found as DBInstance).DBInstanceStatus ?? "unknown").toLowerCase();
    if (FAILED_DB_STATUSES.has(st)) throw new ResourceFailedError(`${id} is ${st}: the recovery point ${job.snapshot} did not restore`);
    const done = st === "available";
    const out: TestJob = { ...job, attempt: done ? 0 : attempt, status: st };
    const ready = done && (!job.isCluster || phase === "writer");
    if (ready) {
        const endpoint = (found as DBInstance).Endpoint;
        out.availableAt = job.availableAt ?? now.toISOString();
        if (endpoint?.Address && endpoint.Port) out.endpoint = { host: endpoint.Address, port: endpoint.Port };
        else {
            const cluster = job.isCluster ? await findCluster(rds, job.identifier) : undefined;
            if (cluster?.Endpoint && cluster.Port) out.endpoint = { host: cluster.Endpoint, port: cluster.Port };
        }
    }
    return out;
}

/** The measured RTO and the result, as metrics. Exported for testing. */
export function restoreTestMinutes(job: TestJob): number | undefined {
    if (!job.restoreStartedAt || !job.availableAt) return undefined;
    return Math.max(0, Math.round((Date.parse(job.availableAt) - Date.parse(job.restoreStartedAt)) / 6000) / 10);
}

export async function record(cloudwatch: CloudWatchClient, s: RestoreTestSettings, job: TestJob, succeeded: boolean, now: Date = new Date()): Promise<TestJob> {
    const minutes = succeeded ? restoreTestMinutes(job) : undefined;
    const dims = [{ Name: "Database", Value: s.target.database }];
    await cloudwatch.send(
        new PutMetricDataCommand({
            Namespace: READINESS_NAMESPACE,
            MetricData: [
                { MetricName: RESTORE_TEST_SUCCEEDED_METRIC, Dimensions: dims, Timestamp: now, Value: succeeded ? 1 : 0, Unit: "Count" },
                ...(minutes !== undefined ? [{ MetricName: RESTORE_TEST_MINUTES_METRIC, Dimensions: dims, Timestamp: now, Value: minutes, Unit: "None" as const }] : []),
            ],
        }),
    );
    return job;
}

async function deleteInstanceIfOwn(rds: RDSClient, s: RestoreTestSettings, job: TestJob, id: string): Promise<string> {
    const inst = await findInstance(rds, id);
    if (!inst) return `${id}: gone`;
    if (!isOwnThrowaway(s, job, id, await tagsOf(rds, inst.DBInstanceArn!))) return `${id}: not this run's, left alone`;
    if ((inst.DBInstanceStatus ?? "").toLowerCase() === "deleting") return `${id}: deleting`;
    try {
        // A throwaway: no final snapshot, and its automated backups go with it.
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
    } catch (err) {
        if (isNotFound(err)) return `${id}: gone`;
        throw err;
    }
    return `${id}: deleting`;
}

/**
 * Deletes this run's throwaway (writer first, then cluster). Deletes only what `isOwnThrowaway`
 * proves is this run's; anything else with the name is reported and left. Safe to retry.
 */
export async function remove(rds: RDSClient, s: RestoreTestSettings, job: TestJob): Promise<TestJob & { removed: string[] }> {
    if (!testIdentifierPattern(s.namePrefix).test(job.identifier)) throw new InvalidInputError(`${job.identifier} is not a restore-test identifier; nothing is deleted`);
    const removed: string[] = [];
    if (!job.isCluster) {
        removed.push(await deleteInstanceIfOwn(rds, s, job, job.identifier));
        return { ...job, attempt: 0, status: undefined, removed };
    }
    removed.push(await deleteInstanceIfOwn(rds, s, job, writerOf(job.identifier)));
    const cluster = await findCluster(rds, job.identifier);
    if (!cluster) removed.push(`${job.identifier}: gone`);
    else if (!isOwnThrowaway(s, job, job.identifier, await tagsOf(rds, cluster.DBClusterArn!))) removed.push(`${job.identifier}: not this run's, left alone`);
    else if ((cluster.Status ?? "").toLowerCase() === "deleting") removed.push(`${job.identifier}: deleting`);
    else {
        try {
            await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: job.identifier, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
            removed.push(`${job.identifier}: deleting`);
        } catch (err) {
            if (!isNotFound(err)) throw err;
            removed.push(`${job.identifier}: gone`);
        }
    }
    return { ...job, attempt: 0, status: undefined, removed };
}

export type TestStep = "plan" | "restore" | "create_writer" | "status_restore" | "status_writer" | "status_delete" | "record" | "record_failure" | "delete";

/** Dispatches one step of the machine. */
export async function runStep(
    clients: { rds: RDSClient; sfn: SFNClient; cloudwatch: CloudWatchClient },
    s: RestoreTestSettings,
    event: { step: TestStep; job?: TestJob; input?: unknown } & Partial<ExecutionContext>,
): Promise<TestJob> {
    switch (event.step) {
        case "plan":
            return plan(clients, s, event as { input: unknown } & ExecutionContext);
        case "restore":
            return restore(clients.rds, s, event.job!);
        case "create_writer":
            return createWriter(clients.rds, s, event.job!);
        case "status_restore":
            return status(clients.rds, event.job!, "restore");
        case "status_writer":
            return status(clients.rds, event.job!, "writer");
        case "status_delete":
            return status(clients.rds, event.job!, "delete");
        case "record":
            return record(clients.cloudwatch, s, event.job!, true);
        case "record_failure":
            return record(clients.cloudwatch, s, event.job!, false);
        case "delete":
            return remove(clients.rds, s, event.job!);
        default:
            throw new InvalidInputError(`unknown step ${JSON.stringify((event as { step?: unknown }).step)}`);
    }
}

/** The restored database did not answer on its port. */
export class ProbeFailedError extends PilotlightError {
    readonly name = "ProbeFailedError";
}

/** Opens a TCP connection and closes it; resolves when connected, rejects on error or timeout. */
export type Connect = (host: string, port: number, timeoutMs: number) => Promise<void>;

/**
 * Proves the restored database answers: a TCP connection to its endpoint from inside the DR
 * network (the probe Lambda runs in the VPC, admitted only by the test database's own security
 * group). It sends nothing and needs no credentials.
 */
export async function probe(connect: Connect, job: TestJob, timeoutMs = 10_000): Promise<TestJob> {
    if (!job.endpoint) throw new ProbeFailedError(`${job.identifier} reported no endpoint to connect to`);
    try {
        await connect(job.endpoint.host, job.endpoint.port, timeoutMs);
    } catch (err) {
        throw new ProbeFailedError(`${job.identifier} did not accept a connection on ${job.endpoint.host}:${job.endpoint.port}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return job;
}
