/**
 * Databases the restore tests start from: an instance and an Aurora cluster
 * with non-default settings everywhere, so a restore that forgets one shows.
 * And the smallest valid stack configs the config tests add sections to.
 */
// @ts-nocheck

import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../config";
import { FakeRds } from "./fakeRds";
import { SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE } from "../functions/lib/naming";

export const PILOTLIGHT_TAGS = [{ Key: SNAPSHOT_TAG_KEY, Value: SNAPSHOT_TAG_VALUE }];

export const INSTANCE_ID = "wordpress";
export const CLUSTER_ID = "shop";

/** A production-like instance: every setting the restore must bring back differs from RDS's defaults. */
export function seedInstance(rds: FakeRds, data = "orders-v2"): void {
    rds.addInstance({
        identifier: INSTANCE_ID,
        data,
        tags: [
            { Key: "team", Value: "web" },
            { Key: "aws:cloudformation:stack-name", Value: "legacy" },
        ],
        info: {
            DBInstanceClass: "db.r6g.large",
            Engine: "postgres",
            Endpoint: { Address: "wordpress.abc123.us-east-1.rds.amazonaws.com", Port: 6543 },
            DBSubnetGroup: { DBSubnetGroupName: "prod-db" },
            VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-0db", Status: "active" }],
            DBParameterGroups: [{ DBParameterGroupName: "wordpress-pg16", ParameterApplyStatus: "in-sync" }],
            OptionGroupMemberships: [{ OptionGroupName: "wordpress-og", Status: "in-sync" }],
            MultiAZ: true,
            AvailabilityZone: "us-east-1b",
            StorageType: "io2",
            Iops: 12000,
            AllocatedStorage: 500,
            MaxAllocatedStorage: 1000,
            PubliclyAccessible: false,
            IAMDatabaseAuthenticationEnabled: true,
            DeletionProtection: true,
            MonitoringInterval: 30,
            MonitoringRoleArn: "arn:aws:iam::123456789012:role/rds-monitoring",
            PerformanceInsightsEnabled: true,
            PerformanceInsightsKMSKeyId: "arn:aws:kms:us-east-1:123456789012:key/pi",
            PerformanceInsightsRetentionPeriod: 31,
            PreferredBackupWindow: "03:00-04:00",
            PreferredMaintenanceWindow: "sun:05:00-sun:06:00",
            BackupRetentionPeriod: 14,
            CACertificateIdentifier: "rds-ca-rsa4096-g1",
            AutoMinorVersionUpgrade: false,
            CopyTagsToSnapshot: true,
            EnabledCloudwatchLogsExports: ["postgresql", "upgrade"],
            MasterUserSecret: { SecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1", KmsKeyId: "key-secrets" },
        },
    });
}

/** A production-like Aurora cluster with a writer and two readers. */
export function seedCluster(rds: FakeRds, data = "carts-v2"): void {
    rds.addCluster({
        identifier: CLUSTER_ID,
        data,
        tags: [{ Key: "team", Value: "shop" }],
        info: {
            EngineVersion: "16.4",
            EngineMode: "provisioned",
            Port: 6432,
            DBSubnetGroup: "prod-db",
            VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-0aurora", Status: "active" }],
            DBClusterParameterGroup: "shop-cluster-pg",
            KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/shared",
            IAMDatabaseAuthenticationEnabled: true,
            DeletionProtection: true,
            BackupRetentionPeriod: 7,
            PreferredBackupWindow: "02:00-03:00",
            PreferredMaintenanceWindow: "mon:04:00-mon:05:00",
            EnabledCloudwatchLogsExports: ["postgresql"],
            CopyTagsToSnapshot: true,
            StorageType: "aurora-iopt1",
            ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
            MasterUserSecret: { SecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1", KmsKeyId: "key-secrets" },
        },
        members: [
            {
                identifier: "shop-1",
                writer: true,
                info: {
                    DBInstanceClass: "db.r6g.2xlarge",
                    PromotionTier: 0,
                    AvailabilityZone: "us-east-1a",
                    DBParameterGroups: [{ DBParameterGroupName: "shop-instance-pg", ParameterApplyStatus: "in-sync" }],
                    MonitoringInterval: 60,
                    MonitoringRoleArn: "arn:aws:iam::123456789012:role/rds-monitoring",
                    PerformanceInsightsEnabled: true,
                    PerformanceInsightsRetentionPeriod: 7,
                    CACertificateIdentifier: "rds-ca-rsa2048-g1",
                    PreferredMaintenanceWindow: "mon:04:00-mon:05:00",
                },
            },
            {
                identifier: "shop-2",
                writer: false,
                info: { DBInstanceClass: "db.r6g.large", PromotionTier: 1, AvailabilityZone: "us-east-1b" },
            },
            {
                identifier: "shop-3",
                writer: false,
                info: { DBInstanceClass: "db.serverless", PromotionTier: 15, AvailabilityZone: "us-east-1c" },
            },
        ],
    });
}

/** The smallest valid config of the prod stack, with `extra` sections. */
export function prodRawConfig(extra: RawConfig = {}): RawConfig {
    return {
        role: "primary",
        accountId: "111111111111",
        vpcCidr: "10.10.0.0/16",
        availabilityZones: ["us-east-1a", "us-east-1b"],
        peer: { stack: "dr", accountId: "222222222222", region: "us-west-2", vpcCidr: "10.20.0.0/16" },
        ...extra,
    };
}

/** The smallest valid config of the dr stack. */
export function drRawConfig(): RawConfig {
    return {
        role: "dr",
        accountId: "222222222222",
        vpcCidr: "10.20.0.0/16",
        availabilityZones: ["us-west-2a", "us-west-2b"],
        peer: { stack: "prod", accountId: "111111111111", region: "us-east-1", vpcCidr: "10.10.0.0/16" },
    };
}

/**
 * The AWS-documented RDS sample events in `shared/samples/rds-events`. `shared` sits beside the
 * repository; the nearest one up the tree also serves a copy of the repository made inside it
 * (StrykerJS runs the suite in a sandbox under the project).
 */
export function rdsEventSamples(from: string = __dirname): string {
    for (let dir = path.resolve(from, ".."); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
        const candidate = path.join(path.dirname(dir), "shared", "samples", "rds-events");
        if (fs.existsSync(candidate)) return candidate;
    }
    throw new Error(`no shared/samples/rds-events beside the repository of ${from} or any folder above it`);
}
