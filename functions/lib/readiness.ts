/**
 * DR readiness: the age of the newest recovery point the dr stack can actually restore from,
 * published as a CloudWatch metric that an alarm watches. The metric is the real RPO of a
 * failover started now; an alarm on it (missing data breaching) is how a pilot light that has
 * gone out is found before the disaster finds it.
 *
 * What "can restore from" means follows the dr stack's `failoverDatabase.source`, and is the very
 * recovery point its failover would pick (`failoverRecoveryPoint`; the restore test uses it too):
 * - `snapshots` (latestCopy): the snapshot components/database.ts restores — in the two-account
 *   layout (`sharedFrom`) only snapshots the source account SHARED with this one (the dr account's
 *   own copies do not count: the failover never restores them), picked by `selectLatestCopy`; in
 *   one account the provider's most recent manual snapshot tagged `pilotlight:source=<id>`. Also
 *   used for `adopt`, where it approximates the copy target's input (see docs/monitoring.md).
 * - `automatedBackups` (pointInTime): the latest restorable time of the replicated automated
 *   backups in this region.
 * - `snapshot`: the one named snapshot (the RPO grows until someone names a newer one).
 */
import {
    DBClusterSnapshot,
    DBClusterSnapshotNotFoundFault,
    DBSnapshot,
    DBSnapshotNotFoundFault,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBInstanceAutomatedBackupsCommand,
    DescribeDBSnapshotsCommand,
    RDSClient,
} from "@aws-sdk/client-rds";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CopyCandidate, isBackupCopyName, selectLatestCopy } from "./backup";
import { InvalidInputError } from "./errors";
import { SOURCE_TAG } from "./tags";

/** Namespace of every pilotlight readiness metric. */
export const READINESS_NAMESPACE = "Pilotlight/Readiness";
/** Minutes since the newest restorable recovery point was taken. */
export const RECOVERY_POINT_AGE_METRIC = "RecoveryPointAgeMinutes";

/** One database the dr stack would restore, and where its recovery points are. */
export type RecoveryTarget =
    | { database: string; isCluster: boolean; kind: "snapshots"; sharedFrom?: string }
    | { database: string; isCluster: false; kind: "automatedBackups"; automatedBackupsArn: string }
    | { database: string; isCluster: boolean; kind: "snapshot"; snapshotIdentifier: string };

export interface RecoveryPoint {
    database: string;
    /** Where it is: a snapshot identifier or ARN, or the automated backups' ARN. */
    ref: string;
    /** When the data it holds was current. */
    time: Date;
    /** Engine of the database it restores (snapshots only). */
    engine?: string;
}

const DB_ID_RE = /^[a-z][a-z0-9-]{0,62}$/;
const ACCOUNT_RE = /^\d{12}$/;

/** Reads and checks the targets from the function's environment (JSON list); a bad list is a deploy defect, refused loudly. */
export function parseTargets(json: string | undefined): RecoveryTarget[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(json ?? "");
    } catch {
        throw new InvalidInputError(`TARGETS must be a JSON list of recovery targets, got ${JSON.stringify(json)}`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0) throw new InvalidInputError(`TARGETS must be a non-empty JSON list, got ${JSON.stringify(json)}`);
    const seen = new Set<string>();
    return parsed.map((t, i) => {
        const o = (t && typeof t === "object" ? t : {}) as Record<string, unknown>;
        const where = `TARGETS[${i}]`;
        if (typeof o.database !== "string" || !DB_ID_RE.test(o.database)) throw new InvalidInputError(`${where}.database must be an RDS identifier, got ${JSON.stringify(o.database)}`);
        if (seen.has(o.database)) throw new InvalidInputError(`${where}.database ${o.database} is listed twice`);
        seen.add(o.database);
        if (typeof o.isCluster !== "boolean") throw new InvalidInputError(`${where}.isCluster must be true or false, got ${JSON.stringify(o.isCluster)}`);
        switch (o.kind) {
            case "snapshots":
                if (o.sharedFrom !== undefined && (typeof o.sharedFrom !== "string" || !ACCOUNT_RE.test(o.sharedFrom))) {
                    throw new InvalidInputError(`${where}.sharedFrom must be a 12-digit account id, got ${JSON.stringify(o.sharedFrom)}`);
                }
                return { database: o.database, isCluster: o.isCluster, kind: "snapshots", sharedFrom: o.sharedFrom as string | undefined };
            case "automatedBackups":
                if (o.isCluster) throw new InvalidInputError(`${where}: replicated automated backups are read for RDS instances only`);
                if (typeof o.automatedBackupsArn !== "string" || !o.automatedBackupsArn.startsWith("arn:")) {
                    throw new InvalidInputError(`${where}.automatedBackupsArn must be an ARN, got ${JSON.stringify(o.automatedBackupsArn)}`);
                }
                return { database: o.database, isCluster: false, kind: "automatedBackups", automatedBackupsArn: o.automatedBackupsArn };
            case "snapshot":
                if (typeof o.snapshotIdentifier !== "string" || o.snapshotIdentifier === "") {
                    throw new InvalidInputError(`${where}.snapshotIdentifier must name a snapshot, got ${JSON.stringify(o.snapshotIdentifier)}`);
                }
                return { database: o.database, isCluster: o.isCluster, kind: "snapshot", snapshotIdentifier: o.snapshotIdentifier };
            default:
                throw new InvalidInputError(`${where}.kind must be "snapshots", "automatedBackups" or "snapshot", got ${JSON.stringify(o.kind)}`);
        }
    });
}

/**
 * When an instance snapshot's data was current. A copy's SnapshotCreateTime is the copy's
 * ("Changes for the copy when the snapshot is copied"); OriginalSnapshotCreateTime is the
 * source's ("Doesn't change when the snapshot is copied"): the RPO is the data's age.
 */
export function instanceSnapshotTime(s: DBSnapshot): Date | undefined {
    return s.OriginalSnapshotCreateTime ?? s.SnapshotCreateTime;
}

/**
 * When a cluster snapshot's data was current. The API has no original time for cluster
 * snapshots, so a copy reports its own SnapshotCreateTime: later than the data, which makes
 * the age read low by the copy's delay (minutes). The docs say so; the alarm's threshold has room.
 */
export function clusterSnapshotTime(s: DBClusterSnapshot): Date | undefined {
    return s.SnapshotCreateTime;
}

const hasSourceTag = (tags: { Key?: string; Value?: string }[] | undefined, database: string) =>
    (tags ?? []).some((t) => t.Key === SOURCE_TAG && t.Value === database);

function newest(points: RecoveryPoint[]): RecoveryPoint | undefined {
    return points.reduce<RecoveryPoint | undefined>((best, p) => (!best || p.time.getTime() > best.time.getTime() ? p : best), undefined);
}

async function allInstanceSnapshots(rds: RDSClient, input: { DBInstanceIdentifier?: string; DBSnapshotIdentifier?: string; SnapshotType?: string; IncludeShared?: boolean }): Promise<DBSnapshot[]> {
    const out: DBSnapshot[] = [];
    let Marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBSnapshotsCommand({ ...input, Marker }));
        out.push(...(page.DBSnapshots ?? []));
        Marker = page.Marker;
    } while (Marker);
    return out;
}

async function allClusterSnapshots(rds: RDSClient, input: { DBClusterIdentifier?: string; DBClusterSnapshotIdentifier?: string; SnapshotType?: string; IncludeShared?: boolean }): Promise<DBClusterSnapshot[]> {
    const out: DBClusterSnapshot[] = [];
    let Marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBClusterSnapshotsCommand({ ...input, Marker }));
        out.push(...(page.DBClusterSnapshots ?? []));
        Marker = page.Marker;
    } while (Marker);
    return out;
}

/**
 * The provider's `mostRecent` pick (terraform-provider-aws `mostRecentDBSnapshot` /
 * `mostRecentDbClusterSnapshot`, which the failover's getSnapshot / getClusterSnapshot use): the
 * greatest SnapshotCreateTime, one without a time ("Snapshot creation can be in progress") being
 * the oldest; no status filter. Exported for testing.
 */
export function providerMostRecent<T extends { SnapshotCreateTime?: Date }>(snapshots: T[]): T | undefined {
    return snapshots.reduce<T | undefined>((best, s) => (!best || (s.SnapshotCreateTime?.getTime() ?? -Infinity) > (best.SnapshotCreateTime?.getTime() ?? -Infinity) ? s : best), undefined);
}

/** A time as the provider hands it to the program (RFC 3339, whole seconds), "" when there is none. */
const providerTime = (d: Date | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "");

/** What the failover of a `latestCopy` target would restore, or why it would find nothing to restore. */
export type FailoverPick = { point: RecoveryPoint; why?: undefined } | { point?: undefined; why: string };

/** An instance snapshot as `selectLatestCopy` sees it (ordered by its data's time), with that time and its engine. */
function instanceCandidate(x: DBSnapshot): CopyCandidate & { time?: Date; engine?: string } {
    return {
        identifier: x.DBSnapshotIdentifier ?? "",
        arn: x.DBSnapshotArn ?? "",
        databaseIdentifier: x.DBInstanceIdentifier ?? "",
        status: x.Status ?? "",
        takenAt: providerTime(x.OriginalSnapshotCreateTime) || providerTime(x.SnapshotCreateTime),
        time: instanceSnapshotTime(x),
        engine: x.Engine,
    };
}

/**
 * The snapshot the dr stack's `failoverDatabase.source: latestCopy` would restore, found exactly as
 * components/database.ts finds it (same calls, same filters, same order), so the RPO metric and the
 * restore test measure what a failover would get:
 * - two accounts, instance: every snapshot shared with this account, through `selectLatestCopy`;
 * - two accounts, cluster: the provider's most recent shared snapshot of the source, through `selectLatestCopy`;
 * - one account, instance: the newest available copy the backups made (`<id>-bk-<timestamp>`), through `selectLatestCopy`;
 * - one account, cluster: the provider's most recent manual snapshot of the source tagged `pilotlight:source`,
 *   whatever its status (a restore from one that is not available fails, so that is "nothing").
 * Its time is the data's (see `instanceSnapshotTime`), not the one the pick is ordered by.
 */
export async function latestCopyPick(rds: RDSClient, target: { database: string; isCluster: boolean; sharedFrom?: string }, region: string): Promise<FailoverPick> {
    const database = target.database;
    if (target.sharedFrom) {
        const want = { sourceIdentifier: database, owner: target.sharedFrom, region };
        const candidates: (CopyCandidate & { time?: Date; engine?: string })[] = target.isCluster
            ? [providerMostRecent(await allClusterSnapshots(rds, { DBClusterIdentifier: database, SnapshotType: "shared", IncludeShared: true }))].flatMap((c) =>
                  c ? [{ identifier: c.DBClusterSnapshotIdentifier ?? "", arn: c.DBClusterSnapshotArn ?? "", databaseIdentifier: c.DBClusterIdentifier ?? "", status: c.Status ?? "", takenAt: providerTime(c.SnapshotCreateTime), time: clusterSnapshotTime(c), engine: c.Engine }] : [],
              )
            : (await allInstanceSnapshots(rds, { SnapshotType: "shared", IncludeShared: true })).map(instanceCandidate);
        let chosen: (typeof candidates)[number];
        try {
            chosen = selectLatestCopy(candidates, want) as (typeof candidates)[number];
        } catch (err) {
            if (err instanceof InvalidInputError) return { why: err.message };
            throw err;
        }
        return { point: { database, ref: chosen.arn, time: chosen.time!, engine: chosen.engine } };
    }
    if (!target.isCluster) {
        // One account, instance: as the failover (components/database.ts), the newest *available* copy
        // the backups made of the source in this region (by their names), by its data's time.
        const own = (await allInstanceSnapshots(rds, { SnapshotType: "manual", DBInstanceIdentifier: database })).filter((x) => isBackupCopyName(database, x.DBSnapshotIdentifier ?? ""));
        const candidates = own.map(instanceCandidate);
        const owner = /^arn:[a-z-]+:rds:[a-z0-9-]+:(\d{12}):/.exec(own[0]?.DBSnapshotArn ?? "")?.[1];
        if (!owner) return { why: `no copy of ${database} made by the backups (${database}-bk-<timestamp>) in ${region}` };
        try {
            const chosen = selectLatestCopy(candidates, { sourceIdentifier: database, owner, region }) as (typeof candidates)[number];
            return { point: { database, ref: chosen.identifier, time: chosen.time!, engine: chosen.engine } };
        } catch (err) {
            if (err instanceof InvalidInputError) return { why: err.message };
            throw err;
        }
    }
    // One account, Aurora: the provider's most recent manual cluster snapshot tagged with the source.
    const found = providerMostRecent((await allClusterSnapshots(rds, { SnapshotType: "manual", DBClusterIdentifier: database })).filter((s) => hasSourceTag(s.TagList, database)));
    const pick = found && { ref: found.DBClusterSnapshotIdentifier!, status: found.Status, time: clusterSnapshotTime(found), engine: found.Engine };
    if (!pick) return { why: `no manual snapshot of ${database} tagged ${SOURCE_TAG}=${database} in ${region}` };
    if (pick.status !== "available" || !pick.time) return { why: `the failover would restore ${pick.ref}, the most recent manual snapshot tagged ${SOURCE_TAG}=${database}, which is ${pick.status ?? "of unknown status"}: a restore from it fails until it is available` };
    return { point: { database, ref: pick.ref, time: pick.time, engine: pick.engine } };
}

/**
 * The recovery point of `target` the failover would use now, or why there is none. `region` is
 * this stack's (the Lambda's own): a shared snapshot counts only in it, as for the failover.
 */
export async function failoverRecoveryPoint(rds: RDSClient, target: RecoveryTarget, region: string): Promise<FailoverPick> {
    const database = target.database;
    if (target.kind === "automatedBackups") {
        const res = await rds.send(new DescribeDBInstanceAutomatedBackupsCommand({ DBInstanceAutomatedBackupsArn: target.automatedBackupsArn }));
        const backups = (res.DBInstanceAutomatedBackups ?? []).filter((b) => b.Status === "replicating" || b.Status === "active" || b.Status === "retained");
        const point = newest(backups.flatMap((b) => (b.RestoreWindow?.LatestTime ? [{ database, ref: b.DBInstanceAutomatedBackupsArn ?? target.automatedBackupsArn, time: b.RestoreWindow.LatestTime }] : [])));
        return point ? { point } : { why: `${target.automatedBackupsArn} has no restorable time in this region` };
    }
    if (target.kind === "snapshot") {
        // A named snapshot that is gone is no recovery point: report none (the alarm breaches).
        const found = target.isCluster
            ? (await orNone(allClusterSnapshots(rds, { DBClusterSnapshotIdentifier: target.snapshotIdentifier }))).map((s) => ({ ok: s.Status === "available", time: clusterSnapshotTime(s), engine: s.Engine }))
            : (await orNone(allInstanceSnapshots(rds, { DBSnapshotIdentifier: target.snapshotIdentifier }))).map((s) => ({ ok: s.Status === "available", time: instanceSnapshotTime(s), engine: s.Engine }));
        const point = newest(found.flatMap((f) => (f.ok && f.time ? [{ database, ref: target.snapshotIdentifier, time: f.time, engine: f.engine }] : [])));
        return point ? { point } : { why: `snapshot ${target.snapshotIdentifier} is not available in this region` };
    }
    return latestCopyPick(rds, target, region);
}

/** The recovery point of `target` that the failover would restore now, or undefined when there is none. */
export async function newestRecoveryPoint(rds: RDSClient, target: RecoveryTarget, region: string): Promise<RecoveryPoint | undefined> {
    return (await failoverRecoveryPoint(rds, target, region)).point;
}

async function orNone<T>(lookup: Promise<T[]>): Promise<T[]> {
    try {
        return await lookup;
    } catch (err) {
        if (err instanceof DBSnapshotNotFoundFault || err instanceof DBClusterSnapshotNotFoundFault) return [];
        throw err;
    }
}

export interface ReadinessReport {
    /** Age in whole minutes per database that has a recovery point. */
    published: { database: string; ageMinutes: number; ref: string }[];
    /** Databases without a recovery point the failover could restore, and why: nothing is published, so their alarm breaches. */
    missing: { database: string; why: string }[];
    /** Databases whose lookup failed (also unpublished: missing data breaches). */
    failed: { database: string; error: string }[];
}

/**
 * Looks up every target and publishes the age of each one's newest recovery point. A target
 * without one, or whose lookup fails, publishes nothing: its alarm treats missing data as
 * breaching, so silence is never read as "OK". Throws after publishing when any lookup failed,
 * so the function's own error metric shows it too.
 */
export async function publishReadiness(
    clients: { rds: RDSClient; cloudwatch: CloudWatchClient },
    targets: RecoveryTarget[],
    region: string,
    now: Date = new Date(),
): Promise<ReadinessReport> {
    const report: ReadinessReport = { published: [], missing: [], failed: [] };
    for (const target of targets) {
        try {
            const { point, why } = await failoverRecoveryPoint(clients.rds, target, region);
            if (!point) {
                report.missing.push({ database: target.database, why: why! });
                console.warn(`no recovery point of ${target.database} to publish: ${why}`);
            } else report.published.push({ database: target.database, ageMinutes: Math.max(0, Math.floor((now.getTime() - point.time.getTime()) / 60_000)), ref: point.ref });
        } catch (err) {
            report.failed.push({ database: target.database, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        }
    }
    if (report.published.length > 0) {
        await clients.cloudwatch.send(
            new PutMetricDataCommand({
                Namespace: READINESS_NAMESPACE,
                MetricData: report.published.map((p) => ({
                    MetricName: RECOVERY_POINT_AGE_METRIC,
                    Dimensions: [{ Name: "Database", Value: p.database }],
                    Timestamp: now,
                    Value: p.ageMinutes,
                    Unit: "None",
                })),
            }),
        );
    }
    if (report.failed.length > 0) {
        throw new Error(`could not read the recovery points of ${report.failed.map((f) => `${f.database} (${f.error})`).join(", ")}`);
    }
    return report;
}
