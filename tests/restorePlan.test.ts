/**
 * Table test: every setting in DESIGN.md's "Restore configuration" is
 * captured from the described database and passed back, either to the
 * restore call or to the modify that follows it.
 */
import * as assert from "assert";
import type { DBCluster, DBInstance } from "@aws-sdk/client-rds";
import { planClusterRestore, planInstanceRestore } from "../functions/lib/restorePlan";

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
    ["RDS-managed master password", { MasterUserSecret: { SecretArn: "arn:s", KmsKeyId: "k2" } }, "restore", { ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: "k2" }],
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
