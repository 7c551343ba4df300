/**
 * Restore-parameter mapping: from a database as DescribeDB* reports it to the
 * exact calls that bring it back from a snapshot with every setting it had.
 *
 * A restore from snapshot starts from RDS defaults (default parameter group,
 * single-AZ, no tags, no deletion protection, default security group...).
 * Each setting therefore goes either into the restore call, or, when the
 * restore API cannot take it, into a modify issued once the restored
 * database is available. The plan is plain JSON: it travels through the
 * state machine from the validation step to the restore steps.
 *
 * Deletion protection is deliberately left to the modify: a restore that
 * ends in a failed state cannot be modified, and rollback must be able to
 * delete it. So is the RDS-managed master password of an instance:
 * RestoreDBInstanceFromDBSnapshot takes ManageMasterUserPassword for RDS
 * for Oracle only, ModifyDBInstance for every engine.
 *
 * Snapshot or original: a setting the snapshot fixes a floor for (allocated
 * storage, engine version) takes the larger of the two, since RDS refuses a
 * restore smaller or older than its snapshot; every other setting is the
 * original's. A snapshot of another major version is refused (the original's
 * parameter and option groups belong to its major version).
 */
import type {
    CreateDBInstanceMessage,
    DBCluster,
    DBInstance,
    ModifyDBClusterMessage,
    ModifyDBInstanceMessage,
    RestoreDBClusterFromSnapshotMessage,
    RestoreDBInstanceFromDBSnapshotMessage,
    Tag,
} from "@aws-sdk/client-rds";

export interface InstancePlan {
    restore: RestoreDBInstanceFromDBSnapshotMessage;
    /** Applied (ApplyImmediately) once the restored instance is available; null when nothing is left to set. */
    modify: ModifyDBInstanceMessage | null;
}

export interface ClusterPlan {
    restore: RestoreDBClusterFromSnapshotMessage;
    /** Member instances to create, writer first (Aurora makes the first instance created the writer). */
    members: CreateDBInstanceMessage[];
    /** Applied once the restored cluster is available; null when nothing is left to set. */
    modify: ModifyDBClusterMessage | null;
}

/** What the snapshot itself fixes about a restore from it. */
export interface SnapshotFacts {
    /** GiB of the database when the snapshot was taken. */
    allocatedStorage?: number;
    engineVersion?: string;
}

/** Engine version numbers in order (`16.10` > `16.4`; `8.0.mysql_aurora.3.05.2` by its numbers). */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
    const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

/** Major version: PostgreSQL 10 and later count by their first number, everything else by two (`9.6`, `8.0`, `5.7`). */
export function majorVersion(v: string): string {
    const parts = v.split(".");
    return Number(parts[0]) >= 10 ? parts[0] : parts.slice(0, 2).join(".");
}

/** The later of two engine versions; either may be unknown. */
export function laterVersion(a: string | undefined, b: string | undefined): string | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    return compareVersions(a, b) >= 0 ? a : b;
}

/** Why a snapshot of `snapshotVersion` cannot be restored with the settings of a `originalVersion` database, or undefined. */
export function versionProblem(originalVersion: string | undefined, snapshotVersion: string | undefined): string | undefined {
    if (!originalVersion || !snapshotVersion) return undefined;
    if (majorVersion(originalVersion) === majorVersion(snapshotVersion)) return undefined;
    return (
        `the snapshot is of engine version ${snapshotVersion}, the database runs ${originalVersion}: another major version, ` +
        "whose parameter and option groups the database's would not fit; upgrade one side to the other's major version first"
    );
}

/** Anything set in a PendingModifiedValues (the rename's ApplyImmediately would apply it at once). */
function pendingChanges(pending: object | undefined): string[] {
    return Object.entries(pending ?? {})
        .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
        .map(([k]) => k);
}

/**
 * Why the in-place restore would break or lose something of this instance, each with the reason; empty when it may go ahead.
 * These are refused, not handled: the machine changes nothing when one applies.
 */
export function instanceRefusals(db: DBInstance): string[] {
    const out: string[] = [];
    const replicas = [...(db.ReadReplicaDBInstanceIdentifiers ?? []), ...(db.ReadReplicaDBClusterIdentifiers ?? [])];
    if (replicas.length > 0) out.push(`it has read replicas (${replicas.join(", ")}), which would stay attached to the renamed original and lose their source when it is deleted`);
    const source = db.ReadReplicaSourceDBInstanceIdentifier ?? db.ReadReplicaSourceDBClusterIdentifier;
    if (source) out.push(`it is a read replica of ${source}: RDS takes no final snapshot of a read replica, and the restore would not be a replica`);
    const backupReplication = (db.DBInstanceAutomatedBackupsReplications ?? []).map((r) => r.DBInstanceAutomatedBackupsArn).filter(Boolean);
    if (backupReplication.length > 0) out.push(`it replicates its automated backups to another region (${backupReplication.join(", ")}); the restored instance would not`);
    const roles = (db.AssociatedRoles ?? []).map((r) => `${r.RoleArn}${r.FeatureName ? ` (${r.FeatureName})` : ""}`);
    if (roles.length > 0) out.push(`it has IAM roles associated (${roles.join(", ")}), which the restore does not carry`);
    const domains = (db.DomainMemberships ?? []).map((d) => d.Domain).filter(Boolean);
    if (domains.length > 0) out.push(`it is joined to the Kerberos domain ${domains.join(", ")}, which the restore does not carry`);
    const pending = pendingChanges(db.PendingModifiedValues);
    if (pending.length > 0) out.push(`it has pending modifications (${pending.join(", ")}) that the rename (ApplyImmediately) would apply at once; apply or cancel them first`);
    return out;
}

/** Like instanceRefusals, for an Aurora cluster and its members. */
export function clusterRefusals(cluster: DBCluster, members: DBInstance[]): string[] {
    const out: string[] = [];
    if (!(cluster.Engine ?? "").startsWith("aurora")) out.push(`it is a Multi-AZ DB cluster (engine ${cluster.Engine}), not Aurora; the machine restores Aurora clusters only`);
    if (cluster.GlobalClusterIdentifier) out.push(`it belongs to the global database ${cluster.GlobalClusterIdentifier}, which the restored cluster would not join`);
    if (cluster.ReplicationSourceIdentifier) out.push(`it is a replica of ${cluster.ReplicationSourceIdentifier}; the restore would not be one`);
    if ((cluster.ReadReplicaIdentifiers ?? []).length > 0) out.push(`it has read replicas (${cluster.ReadReplicaIdentifiers!.join(", ")}), which would lose their source`);
    if ((cluster.CustomEndpoints ?? []).length > 0) out.push(`it has custom endpoints (${cluster.CustomEndpoints!.join(", ")}), which the restore does not carry`);
    const roles = (cluster.AssociatedRoles ?? []).map((r) => `${r.RoleArn}${r.FeatureName ? ` (${r.FeatureName})` : ""}`);
    if (roles.length > 0) out.push(`it has IAM roles associated (${roles.join(", ")}), which the restore does not carry`);
    const domains = (cluster.DomainMemberships ?? []).map((d) => d.Domain).filter(Boolean);
    if (domains.length > 0) out.push(`it is joined to the Kerberos domain ${domains.join(", ")}, which the restore does not carry`);
    const pending = pendingChanges(cluster.PendingModifiedValues);
    if (pending.length > 0) out.push(`it has pending modifications (${pending.join(", ")}) that the rename (ApplyImmediately) would apply at once; apply or cancel them first`);
    for (const m of members) {
        const memberPending = pendingChanges(m.PendingModifiedValues);
        if (memberPending.length > 0) out.push(`its member ${m.DBInstanceIdentifier} has pending modifications (${memberPending.join(", ")}) that its rename would apply at once`);
    }
    return out;
}

/** gp3 baseline performance: RDS rejects explicit values below its storage threshold, and omitting them gives the same baseline. */
const GP3_BASELINE_IOPS = 3000;
const GP3_BASELINE_THROUGHPUT = 125;

/** User tags only: `aws:` tags belong to AWS and cannot be set. */
export function userTags(tags: Tag[] | undefined): Tag[] {
    return (tags ?? []).filter((t) => t.Key && !t.Key.startsWith("aws:")).map((t) => ({ Key: t.Key, Value: t.Value ?? "" }));
}

/** Drops undefined values so the plan is minimal, JSON-stable and comparable. */
function compact<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
    return list && list.length > 0 ? list : undefined;
}

/** Storage performance the restore must request explicitly. */
function storagePerformance(db: DBInstance): { Iops?: number; StorageThroughput?: number } {
    if (db.StorageType === "io1" || db.StorageType === "io2") return { Iops: db.Iops };
    if (db.StorageType === "gp3") {
        const custom = (db.Iops ?? GP3_BASELINE_IOPS) !== GP3_BASELINE_IOPS || (db.StorageThroughput ?? GP3_BASELINE_THROUGHPUT) !== GP3_BASELINE_THROUGHPUT;
        return custom ? { Iops: db.Iops, StorageThroughput: db.StorageThroughput } : {};
    }
    return {};
}

/** Settings only a modify can bring back (RestoreDBInstanceFromDBSnapshot has no parameter for them). */
function instanceModify(db: DBInstance, storage: number | undefined, snapshot: SnapshotFacts): Omit<ModifyDBInstanceMessage, "DBInstanceIdentifier" | "ApplyImmediately"> {
    const monitoring = (db.MonitoringInterval ?? 0) > 0;
    const managed = Boolean(db.MasterUserSecret?.SecretArn);
    // The restore runs the snapshot's version; a newer original (same major version) wins through an upgrade.
    const upgrade = db.EngineVersion && snapshot.engineVersion && compareVersions(db.EngineVersion, snapshot.engineVersion) > 0 ? db.EngineVersion : undefined;
    return compact({
        EngineVersion: upgrade,
        ManageMasterUserPassword: managed || undefined,
        MasterUserSecretKmsKeyId: managed ? db.MasterUserSecret!.KmsKeyId : undefined,
        DatabaseInsightsMode: db.DatabaseInsightsMode,
        MonitoringInterval: db.MonitoringInterval,
        MonitoringRoleArn: monitoring ? db.MonitoringRoleArn : undefined,
        EnablePerformanceInsights: db.PerformanceInsightsEnabled,
        PerformanceInsightsKMSKeyId: db.PerformanceInsightsEnabled ? db.PerformanceInsightsKMSKeyId : undefined,
        PerformanceInsightsRetentionPeriod: db.PerformanceInsightsEnabled ? db.PerformanceInsightsRetentionPeriod : undefined,
        PreferredMaintenanceWindow: db.PreferredMaintenanceWindow,
        // Storage autoscaling needs a limit above the allocated storage, which a larger snapshot may have raised.
        MaxAllocatedStorage: (db.MaxAllocatedStorage ?? 0) > (storage ?? 0) ? db.MaxAllocatedStorage : undefined,
        DeletionProtection: db.DeletionProtection || undefined,
    });
}

/** The restore + modify that bring back a standalone instance as `db` describes it. */
export function planInstanceRestore(db: DBInstance, tags: Tag[], snapshotIdentifier: string, snapshot: SnapshotFacts = {}): InstancePlan {
    const id = db.DBInstanceIdentifier!;
    const storage = db.AllocatedStorage === undefined ? snapshot.allocatedStorage : Math.max(db.AllocatedStorage, snapshot.allocatedStorage ?? 0);
    const restore: RestoreDBInstanceFromDBSnapshotMessage = compact({
        DBInstanceIdentifier: id,
        DBSnapshotIdentifier: snapshotIdentifier,
        DBInstanceClass: db.DBInstanceClass,
        Engine: db.Engine,
        Port: db.Endpoint?.Port ?? (db.DbInstancePort || undefined),
        // A Multi-AZ instance picks its own AZs; naming one is rejected.
        AvailabilityZone: db.MultiAZ ? undefined : db.AvailabilityZone,
        DBSubnetGroupName: db.DBSubnetGroup?.DBSubnetGroupName,
        MultiAZ: db.MultiAZ,
        PubliclyAccessible: db.PubliclyAccessible,
        AutoMinorVersionUpgrade: db.AutoMinorVersionUpgrade,
        LicenseModel: db.LicenseModel,
        StorageType: db.StorageType,
        AllocatedStorage: storage,
        ...storagePerformance(db),
        OptionGroupName: db.OptionGroupMemberships?.[0]?.OptionGroupName,
        DBParameterGroupName: db.DBParameterGroups?.[0]?.DBParameterGroupName,
        VpcSecurityGroupIds: nonEmpty(db.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId!).filter(Boolean)),
        Tags: userTags(tags),
        CopyTagsToSnapshot: db.CopyTagsToSnapshot,
        EnableIAMDatabaseAuthentication: db.IAMDatabaseAuthenticationEnabled,
        EnableCloudwatchLogsExports: nonEmpty(db.EnabledCloudwatchLogsExports),
        BackupRetentionPeriod: db.BackupRetentionPeriod,
        PreferredBackupWindow: db.PreferredBackupWindow,
        CACertificateIdentifier: db.CACertificateIdentifier ?? db.CertificateDetails?.CAIdentifier,
        NetworkType: db.NetworkType,
        ProcessorFeatures: nonEmpty(db.ProcessorFeatures),
        DedicatedLogVolume: db.DedicatedLogVolume,
        EngineLifecycleSupport: db.EngineLifecycleSupport,
    });
    const modify = instanceModify(db, storage, snapshot);
    return {
        restore,
        modify: Object.keys(modify).length > 0 ? { DBInstanceIdentifier: id, ApplyImmediately: true, ...modify } : null,
    };
}

/** The create call for one Aurora member, carrying every instance-level setting it had. */
function memberCreate(member: DBInstance, tags: Tag[], clusterId: string): CreateDBInstanceMessage {
    const monitoring = (member.MonitoringInterval ?? 0) > 0;
    return compact({
        DBInstanceIdentifier: member.DBInstanceIdentifier!,
        DBClusterIdentifier: clusterId,
        Engine: member.Engine!,
        DBInstanceClass: member.DBInstanceClass!,
        PromotionTier: member.PromotionTier,
        AvailabilityZone: member.AvailabilityZone,
        DBParameterGroupName: member.DBParameterGroups?.[0]?.DBParameterGroupName,
        PubliclyAccessible: member.PubliclyAccessible,
        AutoMinorVersionUpgrade: member.AutoMinorVersionUpgrade,
        MonitoringInterval: member.MonitoringInterval,
        MonitoringRoleArn: monitoring ? member.MonitoringRoleArn : undefined,
        EnablePerformanceInsights: member.PerformanceInsightsEnabled,
        PerformanceInsightsKMSKeyId: member.PerformanceInsightsEnabled ? member.PerformanceInsightsKMSKeyId : undefined,
        PerformanceInsightsRetentionPeriod: member.PerformanceInsightsEnabled ? member.PerformanceInsightsRetentionPeriod : undefined,
        PreferredMaintenanceWindow: member.PreferredMaintenanceWindow,
        CACertificateIdentifier: member.CACertificateIdentifier ?? member.CertificateDetails?.CAIdentifier,
        CopyTagsToSnapshot: member.CopyTagsToSnapshot,
        Tags: userTags(tags),
    });
}

/**
 * The restore, member creations and modify that bring back an Aurora cluster.
 * `members` are the cluster's instances as DescribeDBInstances reports them
 * (with their tags in `TagList`); the writer comes first.
 */
export function planClusterRestore(cluster: DBCluster, tags: Tag[], members: DBInstance[], snapshotIdentifier: string, snapshot: SnapshotFacts = {}): ClusterPlan {
    const id = cluster.DBClusterIdentifier!;
    const writerIds = new Set((cluster.DBClusterMembers ?? []).filter((m) => m.IsClusterWriter).map((m) => m.DBInstanceIdentifier));
    const ordered = [...members].sort(
        (a, b) => Number(writerIds.has(b.DBInstanceIdentifier)) - Number(writerIds.has(a.DBInstanceIdentifier)),
    );
    const scaling = cluster.ServerlessV2ScalingConfiguration;
    const restore: RestoreDBClusterFromSnapshotMessage = compact({
        DBClusterIdentifier: id,
        SnapshotIdentifier: snapshotIdentifier,
        Engine: cluster.Engine!,
        // Without a version RDS takes the region's default; never older than the snapshot, never older than the original.
        EngineVersion: laterVersion(cluster.EngineVersion, snapshot.engineVersion),
        EngineMode: cluster.EngineMode,
        Port: cluster.Port,
        DBSubnetGroupName: cluster.DBSubnetGroup,
        VpcSecurityGroupIds: nonEmpty(cluster.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId!).filter(Boolean)),
        DBClusterParameterGroupName: cluster.DBClusterParameterGroup,
        KmsKeyId: cluster.KmsKeyId,
        EnableIAMDatabaseAuthentication: cluster.IAMDatabaseAuthenticationEnabled,
        EnableCloudwatchLogsExports: nonEmpty(cluster.EnabledCloudwatchLogsExports),
        BacktrackWindow: cluster.BacktrackWindow || undefined,
        CopyTagsToSnapshot: cluster.CopyTagsToSnapshot,
        StorageType: cluster.StorageType,
        ServerlessV2ScalingConfiguration: scaling
            ? compact({ MinCapacity: scaling.MinCapacity, MaxCapacity: scaling.MaxCapacity, SecondsUntilAutoPause: scaling.SecondsUntilAutoPause })
            : undefined,
        BackupRetentionPeriod: cluster.BackupRetentionPeriod,
        PreferredBackupWindow: cluster.PreferredBackupWindow,
        NetworkType: cluster.NetworkType,
        EngineLifecycleSupport: cluster.EngineLifecycleSupport,
        Tags: userTags(tags),
    });
    const localWriteForwarding = cluster.LocalWriteForwardingStatus === "enabled" || cluster.LocalWriteForwardingStatus === "enabling";
    const modify = compact({
        PreferredMaintenanceWindow: cluster.PreferredMaintenanceWindow,
        EnableHttpEndpoint: cluster.HttpEndpointEnabled || undefined,
        EnableLocalWriteForwarding: localWriteForwarding || undefined,
        DatabaseInsightsMode: cluster.DatabaseInsightsMode,
        EnablePerformanceInsights: cluster.PerformanceInsightsEnabled || undefined,
        PerformanceInsightsKMSKeyId: cluster.PerformanceInsightsEnabled ? cluster.PerformanceInsightsKMSKeyId : undefined,
        PerformanceInsightsRetentionPeriod: cluster.PerformanceInsightsEnabled ? cluster.PerformanceInsightsRetentionPeriod : undefined,
        DeletionProtection: cluster.DeletionProtection || undefined,
        ManageMasterUserPassword: cluster.MasterUserSecret?.SecretArn ? true : undefined,
        MasterUserSecretKmsKeyId: cluster.MasterUserSecret?.SecretArn ? cluster.MasterUserSecret.KmsKeyId : undefined,
    });
    return {
        restore,
        members: ordered.map((m) => memberCreate(m, m.TagList ?? [], id)),
        modify: Object.keys(modify).length > 0 ? { DBClusterIdentifier: id, ApplyImmediately: true, ...modify } : null,
    };
}

/** Where DescribeDB* reports what a modify key sets, when it is not the field of the same name. */
const DESCRIBED_AS: Record<string, (db: DBInstance & DBCluster) => unknown> = {
    EnablePerformanceInsights: (db) => db.PerformanceInsightsEnabled ?? false,
    ManageMasterUserPassword: (db) => Boolean(db.MasterUserSecret?.SecretArn),
    MasterUserSecretKmsKeyId: (db) => db.MasterUserSecret?.KmsKeyId,
    EnableHttpEndpoint: (db) => db.HttpEndpointEnabled ?? false,
    EnableLocalWriteForwarding: (db) => db.LocalWriteForwardingStatus === "enabled" || db.LocalWriteForwardingStatus === "enabling",
};

const NOT_SETTINGS = new Set(["DBInstanceIdentifier", "DBClusterIdentifier", "ApplyImmediately"]);

/**
 * The part of a planned modify the database does not have yet, as DescribeDB* reports it: what a
 * (retried) ApplySettings still has to send. Empty when every setting is in place.
 */
export function settingsStillToApply(modify: ModifyDBInstanceMessage | ModifyDBClusterMessage | null, db: DBInstance | DBCluster): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, wanted] of Object.entries(modify ?? {})) {
        if (NOT_SETTINGS.has(key)) continue;
        const read = DESCRIBED_AS[key];
        const current = read ? read(db as DBInstance & DBCluster) : (db as Record<string, unknown>)[key];
        if (JSON.stringify(current) !== JSON.stringify(wanted)) out[key] = wanted;
    }
    return out;
}
