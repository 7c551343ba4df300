/**
 * Table test: every setting in DESIGN.md's "Restore configuration" is
 * captured from the described database and passed back, either to the
 * restore call or to the modify that follows it.
 */
import * as assert from "assert";
import type { DBCluster, DBInstance } from "@aws-sdk/client-rds";
import {
    clusterRefusals,
    compareVersions,
    instanceRefusals,
    laterVersion,
    majorVersion,
    planClusterRestore,
    planInstanceRestore,
    settingsStillToApply,
    versionProblem,
} from "../functions/lib/restorePlan";

/** [setting, described value (merged into DBInstance), where it must appear: "restore" | "modify", expected fields there] */
const INSTANCE_TABLE: [string, Partial<DBInstance>, "restore" | "modify", Record<string, unknown>][] = [
    ["class", { DBInstanceClass: "db.r6g.xlarge" }, "restore", { DBInstanceClass: "db.r6g.xlarge" }],
    ["subnet group", { DBSubnetGroup: { DBSubnetGroupName: "prod-db" } }, "restore", { DBSubnetGroupName: "prod-db" }],
    ["security groups", { VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-1" }, { VpcSecurityGroupId: "sg-2" }] }, "restore", { VpcSecurityGroupIds: ["sg-1", "sg-2"] }],
    ["parameter group", { DBParameterGroups: [{ DBParameterGroupName: "pg-custom" }] }, "restore", { DBParameterGroupName: "pg-custom" }],
    ["option group", { OptionGroupMemberships: [{ OptionGroupName: "og-custom" }] }, "restore", { OptionGroupName: "og-custom" }],
    ["Multi-AZ (no AZ pinned)", { MultiAZ: true, AvailabilityZone: "us-east-1b" }, "restore", { MultiAZ: true, AvailabilityZone: undefined }],
    ["single-AZ keeps its AZ", { MultiAZ: false, AvailabilityZone: "us-east-1c" }, "restore", { MultiAZ: false, AvailabilityZone: "us-east-1c" }],
    ["port", { Endpoint: { Port: 6543 } }, "restore", { Port: 6543 }],
    ["storage type and size", { StorageType: "gp3", AllocatedStorage: 500 }, "restore", { StorageType: "gp3", AllocatedStorage: 500 }],
    ["provisioned IOPS", { StorageType: "io2", Iops: 12000 }, "restore", { Iops: 12000 }],
    ["gp3 custom IOPS and throughput", { StorageType: "gp3", Iops: 12000, StorageThroughput: 500 }, "restore", { Iops: 12000, StorageThroughput: 500 }],
    ["gp3 baseline left to RDS", { StorageType: "gp3", Iops: 3000, StorageThroughput: 125 }, "restore", { Iops: undefined, StorageThroughput: undefined }],
    ["public access", { PubliclyAccessible: true }, "restore", { PubliclyAccessible: true }],
    ["IAM auth", { IAMDatabaseAuthenticationEnabled: true }, "restore", { EnableIAMDatabaseAuthentication: true }],
    ["deletion protection (after restore, so a failed restore stays deletable)", { DeletionProtection: true }, "modify", { DeletionProtection: true }],
    ["enhanced monitoring", { MonitoringInterval: 15, MonitoringRoleArn: "arn:aws:iam::1:role/mon" }, "modify", { MonitoringInterval: 15, MonitoringRoleArn: "arn:aws:iam::1:role/mon" }],
    [
        "Performance Insights",
        { PerformanceInsightsEnabled: true, PerformanceInsightsKMSKeyId: "k", PerformanceInsightsRetentionPeriod: 731 },
        "modify",
        { EnablePerformanceInsights: true, PerformanceInsightsKMSKeyId: "k", PerformanceInsightsRetentionPeriod: 731 },
    ],
    ["backup window and retention", { PreferredBackupWindow: "03:00-04:00", BackupRetentionPeriod: 14 }, "restore", { PreferredBackupWindow: "03:00-04:00", BackupRetentionPeriod: 14 }],
    ["maintenance window", { PreferredMaintenanceWindow: "sun:05:00-sun:06:00" }, "modify", { PreferredMaintenanceWindow: "sun:05:00-sun:06:00" }],
    ["storage autoscaling limit", { MaxAllocatedStorage: 1000 }, "modify", { MaxAllocatedStorage: 1000 }],
    ["CA", { CACertificateIdentifier: "rds-ca-rsa4096-g1" }, "restore", { CACertificateIdentifier: "rds-ca-rsa4096-g1" }],
    ["minor version upgrades", { AutoMinorVersionUpgrade: false }, "restore", { AutoMinorVersionUpgrade: false }],
    ["copy tags to snapshots", { CopyTagsToSnapshot: true }, "restore", { CopyTagsToSnapshot: true }],
    ["log exports", { EnabledCloudwatchLogsExports: ["postgresql"] }, "restore", { EnableCloudwatchLogsExports: ["postgresql"] }],
    // RestoreDBInstanceFromDBSnapshot.ManageMasterUserPassword: "Applies to RDS for Oracle only"; the modify takes it for every engine.
    ["RDS-managed master password", { MasterUserSecret: { SecretArn: "arn:s", KmsKeyId: "k2" } }, "modify", { ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: "k2" }],
    ["Database Insights mode", { DatabaseInsightsMode: "advanced" }, "modify", { DatabaseInsightsMode: "advanced" }],
    ["Extended Support", { EngineLifecycleSupport: "open-source-rds-extended-support-disabled" }, "restore", { EngineLifecycleSupport: "open-source-rds-extended-support-disabled" }],
    ["network type", { NetworkType: "DUAL" }, "restore", { NetworkType: "DUAL" }],
];

const BASE_INSTANCE: DBInstance = { DBInstanceIdentifier: "wordpress", Engine: "postgres" };

describe("restore plan: every captured setting is passed back", () => {
    describe("DB instance", () => {
        for (const [setting, described, where, expected] of INSTANCE_TABLE) {
            it(setting, () => {
                const plan = planInstanceRestore({ ...BASE_INSTANCE, ...described }, [], "wordpress-snap");
                const target = (where === "restore" ? plan.restore : plan.modify) as Record<string, unknown> | null;
                assert.ok(target, `${where} call expected`);
                for (const [k, v] of Object.entries(expected)) assert.deepStrictEqual(target[k], v, `${setting}: ${k}`);
                if (where === "modify") assert.strictEqual(plan.modify!.ApplyImmediately, true);
            });
        }

        it("tags, without the aws: ones AWS owns", () => {
            const plan = planInstanceRestore(BASE_INSTANCE, [{ Key: "team", Value: "web" }, { Key: "aws:cloudformation:stack-name", Value: "x" }], "s");
            assert.deepStrictEqual(plan.restore.Tags, [{ Key: "team", Value: "web" }]);
        });

        it("restores under the original identifier from the given snapshot, and needs no modify when nothing is left", () => {
            const plan = planInstanceRestore(BASE_INSTANCE, [], "wordpress-20260101000000");
            assert.strictEqual(plan.restore.DBInstanceIdentifier, "wordpress");
            assert.strictEqual(plan.restore.DBSnapshotIdentifier, "wordpress-20260101000000");
            assert.strictEqual(plan.modify, null);
            assert.strictEqual("DeletionProtection" in plan.restore, false);
        });

        it("never sends the managed password to the restore call", () => {
            const plan = planInstanceRestore({ ...BASE_INSTANCE, MasterUserSecret: { SecretArn: "arn:s" } }, [], "s");
            assert.strictEqual("ManageMasterUserPassword" in plan.restore, false);
            assert.strictEqual("MasterUserSecretKmsKeyId" in plan.restore, false);
            assert.strictEqual(plan.modify!.ManageMasterUserPassword, true);
        });

        describe("snapshot or original: the larger storage, the later version", () => {
            const db: DBInstance = { ...BASE_INSTANCE, AllocatedStorage: 100, MaxAllocatedStorage: 400, EngineVersion: "16.4" };
            it("a larger snapshot wins the storage (a failback onto a small prod), and a too-low autoscaling limit is left out", () => {
                const plan = planInstanceRestore(db, [], "s", { allocatedStorage: 500, engineVersion: "16.4" });
                assert.strictEqual(plan.restore.AllocatedStorage, 500);
                assert.strictEqual(plan.modify, null, "no MaxAllocatedStorage below the storage");
            });
            it("a larger original wins the storage and keeps its autoscaling limit", () => {
                const plan = planInstanceRestore(db, [], "s", { allocatedStorage: 20, engineVersion: "16.4" });
                assert.strictEqual(plan.restore.AllocatedStorage, 100);
                assert.strictEqual(plan.modify!.MaxAllocatedStorage, 400);
            });
            it("equal storage and no snapshot facts keep the original's", () => {
                assert.strictEqual(planInstanceRestore(db, [], "s", { allocatedStorage: 100 }).restore.AllocatedStorage, 100);
                assert.strictEqual(planInstanceRestore(db, [], "s").restore.AllocatedStorage, 100);
                assert.strictEqual(planInstanceRestore(BASE_INSTANCE, [], "s", { allocatedStorage: 30 }).restore.AllocatedStorage, 30);
            });
            it("a newer original (same major) is upgraded to after the restore; a newer snapshot is kept as is", () => {
                assert.strictEqual(planInstanceRestore({ ...db, EngineVersion: "16.6" }, [], "s", { engineVersion: "16.4" }).modify!.EngineVersion, "16.6");
                assert.strictEqual(planInstanceRestore(db, [], "s", { engineVersion: "16.6" }).modify!.EngineVersion, undefined);
                assert.strictEqual(planInstanceRestore(db, [], "s", { engineVersion: "16.4" }).modify!.EngineVersion, undefined);
            });
            it("versions compare by their numbers, majors as RDS counts them", () => {
                assert.ok(compareVersions("16.10", "16.4") > 0);
                assert.ok(compareVersions("16.4", "16.10") < 0);
                assert.strictEqual(compareVersions("16.4", "16.4.0"), 0);
                assert.ok(compareVersions("8.0.mysql_aurora.3.05.2", "8.0.mysql_aurora.3.04.9") > 0);
                assert.deepStrictEqual(["16.4", "9.6.24", "8.0.35", "10.1"].map(majorVersion), ["16", "9.6", "8.0", "10"]);
                assert.deepStrictEqual([laterVersion("16.4", "16.6"), laterVersion("16.6", "16.4"), laterVersion(undefined, "16.4"), laterVersion("16.4", undefined)], ["16.6", "16.6", "16.4", "16.4"]);
                assert.strictEqual(versionProblem("16.4", "16.9"), undefined);
                assert.strictEqual(versionProblem(undefined, "17.1"), undefined);
                assert.strictEqual(versionProblem("16.4", undefined), undefined);
                assert.match(versionProblem("16.4", "17.1")!, /17\.1.*16\.4.*another major version/);
                assert.match(versionProblem("8.0.35", "5.7.44")!, /another major version/);
            });
        });

        describe("what a retried ApplySettings still has to send", () => {
            it("only the settings the database does not show yet, read where DescribeDBInstances reports them", () => {
                const modify = planInstanceRestore(
                    { ...BASE_INSTANCE, DeletionProtection: true, MonitoringInterval: 30, PerformanceInsightsEnabled: true, MasterUserSecret: { SecretArn: "arn:s", KmsKeyId: "k" } },
                    [],
                    "s",
                ).modify;
                const restored: DBInstance = { DBInstanceIdentifier: "wordpress", DeletionProtection: false };
                assert.deepStrictEqual(Object.keys(settingsStillToApply(modify, restored)).sort(), [
                    "DeletionProtection",
                    "EnablePerformanceInsights",
                    "ManageMasterUserPassword",
                    "MasterUserSecretKmsKeyId",
                    "MonitoringInterval",
                ]);
                const done: DBInstance = { ...restored, DeletionProtection: true, MonitoringInterval: 30, PerformanceInsightsEnabled: true, MasterUserSecret: { SecretArn: "arn:new", KmsKeyId: "k" } };
                assert.deepStrictEqual(settingsStillToApply(modify, done), {});
                assert.deepStrictEqual(settingsStillToApply(null, done), {});
            });
            it("cluster settings: Data API and local write forwarding as DescribeDBClusters reports them", () => {
                const modify = { DBClusterIdentifier: "shop", ApplyImmediately: true, EnableHttpEndpoint: true, EnableLocalWriteForwarding: true };
                assert.deepStrictEqual(settingsStillToApply(modify, { HttpEndpointEnabled: false }), { EnableHttpEndpoint: true, EnableLocalWriteForwarding: true });
                assert.deepStrictEqual(settingsStillToApply(modify, { HttpEndpointEnabled: true, LocalWriteForwardingStatus: "enabling" }), {});
                assert.deepStrictEqual(settingsStillToApply(modify, { HttpEndpointEnabled: true, LocalWriteForwardingStatus: "enabled" }), {});
                assert.deepStrictEqual(settingsStillToApply({ EnablePerformanceInsights: false } as never, {}), {});
            });
        });

        describe("what an in-place restore refuses, before any change", () => {
            const cases: [string, Partial<DBInstance>, RegExp][] = [
                ["read replicas", { ReadReplicaDBInstanceIdentifiers: ["wordpress-ro"] }, /read replicas \(wordpress-ro\)/],
                ["Aurora read replica clusters", { ReadReplicaDBClusterIdentifiers: ["wp-aurora"] }, /read replicas \(wp-aurora\)/],
                ["being a read replica", { ReadReplicaSourceDBInstanceIdentifier: "wordpress-src" }, /read replica of wordpress-src: RDS takes no final snapshot/],
                ["being a replica of a cluster", { ReadReplicaSourceDBClusterIdentifier: "src-cluster" }, /read replica of src-cluster/],
                ["automated backups replicated to another region", { DBInstanceAutomatedBackupsReplications: [{ DBInstanceAutomatedBackupsArn: "arn:aws:rds:us-west-2:1:auto-backup:ab-1" }] }, /replicates its automated backups.*ab-1/],
                ["associated IAM roles", { AssociatedRoles: [{ RoleArn: "arn:aws:iam::1:role/s3", FeatureName: "s3Import" }] }, /IAM roles associated \(arn:aws:iam::1:role\/s3 \(s3Import\)\)/],
                ["a Kerberos domain", { DomainMemberships: [{ Domain: "d-123" }] }, /Kerberos domain d-123/],
                ["pending modifications", { PendingModifiedValues: { DBInstanceClass: "db.r6g.xlarge" } }, /pending modifications \(DBInstanceClass\)/],
            ];
            for (const [label, described, message] of cases) {
                it(`instance: ${label}`, () => {
                    const reasons = instanceRefusals({ ...BASE_INSTANCE, ...described });
                    assert.strictEqual(reasons.length, 1, reasons.join("; "));
                    assert.match(reasons[0], message);
                });
            }
            it("instance: none for a plain one (empty lists and empty pending values included)", () => {
                assert.deepStrictEqual(
                    instanceRefusals({ ...BASE_INSTANCE, ReadReplicaDBInstanceIdentifiers: [], AssociatedRoles: [], PendingModifiedValues: { ProcessorFeatures: [] }, DBInstanceAutomatedBackupsReplications: [] }),
                    [],
                );
            });
            const clusterCases: [string, Partial<DBCluster>, RegExp][] = [
                ["a Multi-AZ DB cluster", { Engine: "postgres" }, /Multi-AZ DB cluster \(engine postgres\)/],
                ["a global database", { GlobalClusterIdentifier: "g1" }, /global database g1/],
                ["a replica", { ReplicationSourceIdentifier: "arn:src" }, /replica of arn:src/],
                ["read replicas", { ReadReplicaIdentifiers: ["arn:rr"] }, /read replicas \(arn:rr\)/],
                ["custom endpoints", { CustomEndpoints: ["shop-analytics.cluster-custom-x"] }, /custom endpoints \(shop-analytics/],
                ["associated IAM roles", { AssociatedRoles: [{ RoleArn: "arn:r" }] }, /IAM roles associated \(arn:r\)/],
                ["a Kerberos domain", { DomainMemberships: [{ Domain: "d-9" }] }, /Kerberos domain d-9/],
                ["pending modifications", { PendingModifiedValues: { EngineVersion: "16.6" } }, /pending modifications \(EngineVersion\)/],
            ];
            for (const [label, described, message] of clusterCases) {
                it(`cluster: ${label}`, () => {
                    const reasons = clusterRefusals({ DBClusterIdentifier: "shop", Engine: "aurora-postgresql", ...described }, []);
                    assert.strictEqual(reasons.length, 1, reasons.join("; "));
                    assert.match(reasons[0], message);
                });
            }
            it("cluster: a member's pending modifications; none for a plain one", () => {
                const plain: DBCluster = { DBClusterIdentifier: "shop", Engine: "aurora-postgresql", CustomEndpoints: [], ReadReplicaIdentifiers: [] };
                assert.deepStrictEqual(clusterRefusals(plain, [{ DBInstanceIdentifier: "shop-1" }]), []);
                const reasons = clusterRefusals(plain, [{ DBInstanceIdentifier: "shop-1", PendingModifiedValues: { DBInstanceClass: "db.r6g.xlarge" } }]);
                assert.deepStrictEqual(reasons.length, 1);
                assert.match(reasons[0], /member shop-1 has pending modifications \(DBInstanceClass\)/);
                assert.match(clusterRefusals({ DBClusterIdentifier: "x" }, [])[0], /engine undefined/);
            });
        });

        it("is plain JSON (it travels through the state machine)", () => {
            const plan = planInstanceRestore({ ...BASE_INSTANCE, ...Object.assign({}, ...INSTANCE_TABLE.map((r) => r[1])) }, [], "s");
            assert.deepStrictEqual(JSON.parse(JSON.stringify(plan)), plan);
        });
    });

    describe("Aurora cluster", () => {
        const cluster: DBCluster = {
            DBClusterIdentifier: "shop",
            Engine: "aurora-postgresql",
            EngineVersion: "16.4",
            EngineMode: "provisioned",
            Port: 6432,
            DBSubnetGroup: "prod-db",
            VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-a" }],
            DBClusterParameterGroup: "cpg",
            KmsKeyId: "key",
            IAMDatabaseAuthenticationEnabled: true,
            EnabledCloudwatchLogsExports: ["postgresql"],
            DeletionProtection: true,
            CopyTagsToSnapshot: true,
            StorageType: "aurora-iopt1",
            ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
            BackupRetentionPeriod: 7,
            PreferredBackupWindow: "02:00-03:00",
            PreferredMaintenanceWindow: "mon:04:00-mon:05:00",
            MasterUserSecret: { SecretArn: "arn:s", KmsKeyId: "k" },
            DBClusterMembers: [
                { DBInstanceIdentifier: "shop-2", IsClusterWriter: false, PromotionTier: 1 },
                { DBInstanceIdentifier: "shop-1", IsClusterWriter: true, PromotionTier: 0 },
            ],
        };
        const members: DBInstance[] = [
            { DBInstanceIdentifier: "shop-2", Engine: "aurora-postgresql", DBInstanceClass: "db.r6g.large", PromotionTier: 1, AvailabilityZone: "us-east-1b", TagList: [{ Key: "role", Value: "reader" }] },
            {
                DBInstanceIdentifier: "shop-1",
                Engine: "aurora-postgresql",
                DBInstanceClass: "db.r6g.2xlarge",
                PromotionTier: 0,
                AvailabilityZone: "us-east-1a",
                DBParameterGroups: [{ DBParameterGroupName: "ipg" }],
                MonitoringInterval: 60,
                MonitoringRoleArn: "arn:mon",
                PerformanceInsightsEnabled: true,
                PerformanceInsightsRetentionPeriod: 7,
                CACertificateIdentifier: "rds-ca-rsa2048-g1",
                PubliclyAccessible: false,
            },
        ];
        const plan = planClusterRestore(cluster, [{ Key: "team", Value: "shop" }], members, "shop-snap");

        const CLUSTER_TABLE: [string, Record<string, unknown>][] = [
            ["engine, version, mode", { Engine: "aurora-postgresql", EngineVersion: "16.4", EngineMode: "provisioned" }],
            ["port", { Port: 6432 }],
            ["subnet group and security groups", { DBSubnetGroupName: "prod-db", VpcSecurityGroupIds: ["sg-a"] }],
            ["cluster parameter group", { DBClusterParameterGroupName: "cpg" }],
            ["encryption key", { KmsKeyId: "key" }],
            ["IAM auth and log exports", { EnableIAMDatabaseAuthentication: true, EnableCloudwatchLogsExports: ["postgresql"] }],
            ["storage type", { StorageType: "aurora-iopt1" }],
            ["serverless v2 scaling", { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 } }],
            ["backups", { BackupRetentionPeriod: 7, PreferredBackupWindow: "02:00-03:00" }],
            ["copy tags", { CopyTagsToSnapshot: true }],
            ["tags", { Tags: [{ Key: "team", Value: "shop" }] }],
            ["snapshot and identifier", { DBClusterIdentifier: "shop", SnapshotIdentifier: "shop-snap" }],
        ];
        for (const [setting, expected] of CLUSTER_TABLE) {
            it(setting, () => {
                for (const [k, v] of Object.entries(expected)) assert.deepStrictEqual((plan.restore as unknown as Record<string, unknown>)[k], v, k);
            });
        }

        it("the later engine version of snapshot and original; RDS would otherwise take the region's default", () => {
            assert.strictEqual(planClusterRestore(cluster, [], members, "s", { engineVersion: "16.6" }).restore.EngineVersion, "16.6");
            assert.strictEqual(planClusterRestore({ ...cluster, EngineVersion: "16.8" }, [], members, "s", { engineVersion: "16.6" }).restore.EngineVersion, "16.8");
        });

        it("Data API, local write forwarding, Database Insights and cluster Performance Insights after the restore; Extended Support in it", () => {
            const p = planClusterRestore(
                {
                    ...cluster,
                    HttpEndpointEnabled: true,
                    LocalWriteForwardingStatus: "enabled",
                    DatabaseInsightsMode: "advanced",
                    PerformanceInsightsEnabled: true,
                    PerformanceInsightsKMSKeyId: "pik",
                    PerformanceInsightsRetentionPeriod: 465,
                    EngineLifecycleSupport: "open-source-rds-extended-support",
                },
                [],
                members,
                "s",
            );
            assert.deepStrictEqual(
                [p.modify!.EnableHttpEndpoint, p.modify!.EnableLocalWriteForwarding, p.modify!.DatabaseInsightsMode, p.modify!.EnablePerformanceInsights, p.modify!.PerformanceInsightsKMSKeyId, p.modify!.PerformanceInsightsRetentionPeriod],
                [true, true, "advanced", true, "pik", 465],
            );
            assert.strictEqual(p.restore.EngineLifecycleSupport, "open-source-rds-extended-support");
            const off = planClusterRestore({ ...cluster, LocalWriteForwardingStatus: "disabled", PerformanceInsightsKMSKeyId: "pik" }, [], members, "s");
            assert.deepStrictEqual([off.modify!.EnableLocalWriteForwarding, off.modify!.PerformanceInsightsKMSKeyId, off.modify!.EnableHttpEndpoint], [undefined, undefined, undefined]);
            assert.strictEqual(planClusterRestore({ ...cluster, LocalWriteForwardingStatus: "enabling" }, [], members, "s").modify!.EnableLocalWriteForwarding, true);
        });

        it("maintenance window, deletion protection and managed password after the restore", () => {
            assert.deepStrictEqual(plan.modify, {
                DBClusterIdentifier: "shop",
                ApplyImmediately: true,
                PreferredMaintenanceWindow: "mon:04:00-mon:05:00",
                DeletionProtection: true,
                ManageMasterUserPassword: true,
                MasterUserSecretKmsKeyId: "k",
            });
        });

        it("each member's class, promotion tier, AZ and instance settings, the writer first", () => {
            assert.deepStrictEqual(
                plan.members.map((m) => [m.DBInstanceIdentifier, m.DBClusterIdentifier, m.DBInstanceClass, m.PromotionTier, m.AvailabilityZone]),
                [
                    ["shop-1", "shop", "db.r6g.2xlarge", 0, "us-east-1a"],
                    ["shop-2", "shop", "db.r6g.large", 1, "us-east-1b"],
                ],
            );
            const writer = plan.members[0];
            assert.strictEqual(writer.DBParameterGroupName, "ipg");
            assert.strictEqual(writer.MonitoringInterval, 60);
            assert.strictEqual(writer.MonitoringRoleArn, "arn:mon");
            assert.strictEqual(writer.EnablePerformanceInsights, true);
            assert.strictEqual(writer.PerformanceInsightsRetentionPeriod, 7);
            assert.strictEqual(writer.CACertificateIdentifier, "rds-ca-rsa2048-g1");
            assert.deepStrictEqual(plan.members[1].Tags, [{ Key: "role", Value: "reader" }]);
        });
    });
});
