/**
 * Shared RDS helpers. Every function takes the RDSClient to use, so handlers
 * pass their module-level client and tests pass one backed by the fake.
 */
import {
    DBCluster,
    DBInstance,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClustersCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    ListTagsForResourceCommand,
    RDSClient,
    Tag,
} from "@aws-sdk/client-rds";
import { SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE } from "./naming";

/** Statuses from which a database never becomes available on its own. */
export const FAILED_DB_STATUSES = new Set([
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-credentials",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "storage-full",
]);

/** Statuses from which a snapshot never becomes available. */
export const FAILED_SNAPSHOT_STATUSES = new Set(["failed", "error", "incompatible-restore"]);

export function isNotFound(err: unknown): boolean {
    const name = (err as { name?: string })?.name ?? "";
    return /NotFound(Fault)?$/.test(name);
}

/** The instance, or undefined when it does not exist. */
export async function findInstance(rds: RDSClient, identifier: string): Promise<DBInstance | undefined> {
    try {
        const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
        return out.DBInstances?.[0];
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/** The cluster, or undefined when it does not exist. */
export async function findCluster(rds: RDSClient, identifier: string): Promise<DBCluster | undefined> {
    try {
        const out = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
        return out.DBClusters?.[0];
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/** Member instances of a cluster, as the cluster lists them (writer first). */
export async function clusterMembers(rds: RDSClient, cluster: DBCluster): Promise<DBInstance[]> {
    const ids = (cluster.DBClusterMembers ?? [])
        .slice()
        .sort((a, b) => Number(b.IsClusterWriter === true) - Number(a.IsClusterWriter === true))
        .map((m) => m.DBInstanceIdentifier!);
    const out: DBInstance[] = [];
    for (const id of ids) {
        const inst = await findInstance(rds, id);
        if (inst) out.push(inst);
    }
    return out;
}

/** Tags of any RDS resource by ARN. */
export async function tagsOf(rds: RDSClient, arn: string): Promise<Tag[]> {
    const out = await rds.send(new ListTagsForResourceCommand({ ResourceName: arn }));
    return out.TagList ?? [];
}

/** A DB snapshot or cluster snapshot, reduced to what the machines need. */
export interface SnapshotInfo {
    identifier: string;
    /** Identifier of the instance or cluster it was taken from. */
    databaseIdentifier: string;
    status: string;
    arn: string;
    /** ISO timestamp; empty while RDS has not set it yet. */
    createdAt: string;
    /** "manual", "automated"... */
    type: string;
    tags: Tag[];
    /** KMS key the snapshot is encrypted with (key ARN). */
    kmsKeyId?: string;
    /** Engine of the database it was taken from (`postgres`, `aurora-postgresql`...). */
    engine?: string;
    /** Engine version of the database when the snapshot was taken. */
    engineVersion?: string;
    /** GiB allocated to the database when the snapshot was taken (instances; Aurora reports 0 or nothing). */
    allocatedStorage?: number;
}

function iso(d: Date | string | undefined): string {
    if (!d) return "";
    return typeof d === "string" ? d : d.toISOString();
}

/** The snapshot (cluster snapshot when `isCluster`), or undefined when it does not exist. */
export async function findSnapshot(rds: RDSClient, identifier: string, isCluster: boolean): Promise<SnapshotInfo | undefined> {
    try {
        if (isCluster) {
            const out = await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }));
            const s = out.DBClusterSnapshots?.[0];
            return s && clusterSnapshotInfo(s);
        }
        const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }));
        const s = out.DBSnapshots?.[0];
        return s && snapshotInfo(s);
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

function snapshotInfo(s: import("@aws-sdk/client-rds").DBSnapshot): SnapshotInfo {
    return {
        identifier: s.DBSnapshotIdentifier!,
        databaseIdentifier: s.DBInstanceIdentifier ?? "",
        status: s.Status ?? "",
        arn: s.DBSnapshotArn ?? "",
        createdAt: iso(s.SnapshotCreateTime),
        type: s.SnapshotType ?? "",
        tags: s.TagList ?? [],
        kmsKeyId: s.KmsKeyId,
        engine: s.Engine,
        engineVersion: s.EngineVersion,
        allocatedStorage: s.AllocatedStorage,
    };
}

function clusterSnapshotInfo(s: import("@aws-sdk/client-rds").DBClusterSnapshot): SnapshotInfo {
    return {
        identifier: s.DBClusterSnapshotIdentifier!,
        databaseIdentifier: s.DBClusterIdentifier ?? "",
        status: s.Status ?? "",
        arn: s.DBClusterSnapshotArn ?? "",
        createdAt: iso(s.SnapshotCreateTime),
        type: s.SnapshotType ?? "",
        tags: s.TagList ?? [],
        kmsKeyId: s.KmsKeyId,
        engine: s.Engine,
        engineVersion: s.EngineVersion,
        allocatedStorage: s.AllocatedStorage,
    };
}

/** All manual snapshots of a database (every page). */
export async function listSnapshots(rds: RDSClient, databaseIdentifier: string, isCluster: boolean): Promise<SnapshotInfo[]> {
    return describeSnapshots(rds, isCluster, { databaseIdentifier, type: "manual" });
}

/**
 * Every snapshot of the account and region of one type (every page): `manual` ones, of one
 * database when `databaseIdentifier` is given, or those other accounts `shared` with this one
 * (their identifier is their ARN, and they carry no tags).
 */
export async function describeSnapshots(rds: RDSClient, isCluster: boolean, filter: { databaseIdentifier?: string; type: "manual" | "shared" }): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    const of = (key: string) => (filter.databaseIdentifier === undefined ? {} : { [key]: filter.databaseIdentifier });
    const type = filter.type === "shared" ? { SnapshotType: "shared", IncludeShared: true } : { SnapshotType: "manual" };
    let marker: string | undefined;
    do {
        if (isCluster) {
            const page = await rds.send(new DescribeDBClusterSnapshotsCommand({ ...of("DBClusterIdentifier"), ...type, Marker: marker }));
            out.push(...(page.DBClusterSnapshots ?? []).map(clusterSnapshotInfo));
            marker = page.Marker;
        } else {
            const page = await rds.send(new DescribeDBSnapshotsCommand({ ...of("DBInstanceIdentifier"), ...type, Marker: marker }));
            out.push(...(page.DBSnapshots ?? []).map(snapshotInfo));
            marker = page.Marker;
        }
    } while (marker);
    return out;
}

/** True for snapshots the restore machine (or the job named by `createdBy`) took: the only ones its retention may delete. */
export function isPilotlightSnapshot(s: SnapshotInfo, createdBy: string = SNAPSHOT_TAG_VALUE): boolean {
    return s.tags.some((t) => t.Key === SNAPSHOT_TAG_KEY && t.Value === createdBy);
}

/** Newest first; snapshots still without a creation time count as newest. */
export function newestFirst(a: SnapshotInfo, b: SnapshotInfo): number {
    const ta = a.createdAt ? Date.parse(a.createdAt) : Number.POSITIVE_INFINITY;
    const tb = b.createdAt ? Date.parse(b.createdAt) : Number.POSITIVE_INFINITY;
    return tb - ta || b.identifier.localeCompare(a.identifier);
}

/** The newest available pilotlight snapshot of a database, if any. */
export function newestPilotlightSnapshot(snapshots: SnapshotInfo[]): SnapshotInfo | undefined {
    return snapshots.filter((s) => isPilotlightSnapshot(s) && s.status === "available").sort(newestFirst)[0];
}

/**
 * Which pilotlight snapshots retention deletes: all but the newest `keep`
 * available ones. Snapshots that are not pilotlight's, or not available
 * (still creating, already deleting), are never selected, and the newest
 * `keep` available ones always survive.
 */
export function selectSnapshotsToPrune(snapshots: SnapshotInfo[], keep: number, createdBy: string = SNAPSHOT_TAG_VALUE): SnapshotInfo[] {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be an integer >= 1, got ${keep}`);
    return snapshots
        .filter((s) => isPilotlightSnapshot(s, createdBy) && s.status === "available")
        .sort(newestFirst)
        .slice(keep);
}
