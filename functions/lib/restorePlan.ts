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
 * delete it.
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
function instanceModify(db: DBInstance): Omit<ModifyDBInstanceMessage, "DBInstanceIdentifier" | "ApplyImmediately"> {
    const monitoring = (db.MonitoringInterval ?? 0) > 0;
    return compact({
        MonitoringInterval: db.MonitoringInterval,
        MonitoringRoleArn: monitoring ? db.MonitoringRoleArn : undefined,
        EnablePerformanceInsights: db.PerformanceInsightsEnabled,
        PerformanceInsightsKMSKeyId: db.PerformanceInsightsEnabled ? db.PerformanceInsightsKMSKeyId : undefined,
        PerformanceInsightsRetentionPeriod: db.PerformanceInsightsEnabled ? db.PerformanceInsightsRetentionPeriod : undefined,
        PreferredMaintenanceWindow: db.PreferredMaintenanceWindow,
        MaxAllocatedStorage: db.MaxAllocatedStorage,
        DeletionProtection: db.DeletionProtection || undefined,
    });
}

/** The restore + modify that bring back a standalone instance as `db` describes it. */
export function planInstanceRestore(db: DBInstance, tags: Tag[], snapshotIdentifier: string): InstancePlan {
    const id = db.DBInstanceIdentifier!;
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
        AllocatedStorage: db.AllocatedStorage,
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
        ManageMasterUserPassword: db.MasterUserSecret?.SecretArn ? true : undefined,
        MasterUserSecretKmsKeyId: db.MasterUserSecret?.SecretArn ? db.MasterUserSecret.KmsKeyId : undefined,
    });
    const modify = instanceModify(db);
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
export function planClusterRestore(cluster: DBCluster, tags: Tag[], members: DBInstance[], snapshotIdentifier: string): ClusterPlan {
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
        EngineVersion: cluster.EngineVersion,
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
        Tags: userTags(tags),
    });
    const modify = compact({
        PreferredMaintenanceWindow: cluster.PreferredMaintenanceWindow,
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
