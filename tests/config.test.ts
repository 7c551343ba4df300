import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    cidrsOverlap,
    closestKey,
    ConfigError,
    configWarnings,
    crossCheckStackFiles,
    DatabaseEngine,
    DEFAULT_ENGINE_VERSIONS,
    derivedNames,
    isScheduleExpression,
    parseCidr,
    parseStackConfig,
    RawConfig,
    rawFromConfigMap,
    schemaKeyPaths,
    StackEnvironment,
    StackFile,
    stackFileFromYaml,
} from "../config";
import { planSubnets } from "../components/network";
import { clusterIdentifierProblem } from "../functions/lib/auroraFailover";
import { identifierProblem } from "../functions/lib/naming";
import { drRawConfig, prodRawConfig } from "./fixtures";
import { PROJECT_ROOT, readStackConfig, runProgram } from "./program";
import { markLookups, parseArgs, stackFileReport, summary, synth } from "./synth";

function problemsOf(stack: string, raw: RawConfig, region: string | undefined): string[] {
    try {
        parseStackConfig(stack, raw, region);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        assert.ok(e.message.startsWith(`Pulumi.${stack}.yaml has`), e.message);
        return e.problems;
    }
    return [];
}

describe("config", () => {
    it("accepts both example stack files as they are", () => {
        for (const stack of ["prod", "dr"]) {
            const { config } = readStackConfig(stack);
            const cfg = parseStackConfig(stack, rawFromConfigMap(config), config["aws:region"]);
            assert.strictEqual(cfg.stack, stack);
        }
        const prod = parseStackConfig("prod", rawFromConfigMap(readStackConfig("prod").config), "us-east-1");
        assert.deepStrictEqual(
            [prod.role, prod.accountId, prod.region, prod.network.vpcCidr, prod.peer.stack, prod.peer.accountId, prod.peer.region],
            ["primary", "111111111111", "us-east-1", "10.10.0.0/16", "dr", "222222222222", "us-west-2"],
        );
        const dr = parseStackConfig("dr", rawFromConfigMap(readStackConfig("dr").config), "us-west-2");
        assert.deepStrictEqual(
            [dr.role, dr.accountId, dr.region, dr.network.vpcCidr, dr.peer.stack, dr.failover],
            ["dr", "222222222222", "us-west-2", "10.20.0.0/16", "prod", false],
        );
    });

    it("applies documented defaults", () => {
        const cfg = parseStackConfig("prod", prodRawConfig(), "us-east-1");
        assert.strictEqual(cfg.namePrefix, "pilotlight");
        assert.strictEqual(cfg.failover, false);
        assert.deepStrictEqual(cfg.network, { vpcCidr: "10.10.0.0/16", availabilityZones: ["us-east-1a", "us-east-1b"], natGateways: "single", lambdasInVpc: false, appPort: 80, databaseClients: [] });
        assert.deepStrictEqual(cfg.media, { replicationTimeControl: false, noncurrentVersionDays: 90, replicateBack: true });
        assert.deepStrictEqual(cfg.database, {
            engine: "postgres",
            port: 5432,
            engineVersion: "16",
            instanceClass: "db.t4g.medium",
            readerClass: "db.t4g.medium",
            instanceCount: 2,
            allocatedStorage: 20,
            maxAllocatedStorage: 100,
            multiAz: false,
            backupRetentionDays: 7,
            backupWindow: "03:00-04:00",
            maintenanceWindow: "sun:04:30-sun:05:30",
            performanceInsights: true,
            monitoringIntervalSeconds: 0,
            name: "app",
            masterUsername: "pilotlight",
            deletionProtection: true,
        });
        assert.deepStrictEqual(cfg.app, {
            enabled: true,
            redis: true,
            instanceType: "t3.small",
            minSize: 2,
            maxSize: 4,
            desiredCapacity: 2,
            healthCheckPath: "/health",
            volumeSizeGb: 20,
            redisNodeType: "cache.t4g.small",
            redisNodes: 2,
            redisEngineVersion: "7.1",
        });
        assert.strictEqual(cfg.failoverDatabase, undefined);
        assert.strictEqual(cfg.dns, undefined);
        const aurora = parseStackConfig("prod", { ...prodRawConfig(), database: { engine: "aurora-mysql", instanceClass: "db.r7g.large" } }, "us-east-1").database;
        assert.deepStrictEqual([aurora.engineVersion, aurora.instanceClass, aurora.readerClass], ["8.0", "db.r7g.large", "db.r7g.large"]);
        const dr = parseStackConfig("dr", { ...drRawConfig(), failover: true, failoverDatabase: { source: "latestCopy" } }, "us-west-2");
        assert.deepStrictEqual(dr.failoverDatabase, { source: "latestCopy", sourceIdentifier: "pilotlight-db" });
        const pitr = parseStackConfig("dr", { ...drRawConfig(), failoverDatabase: { source: "pointInTime", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123" } }, "us-west-2");
        assert.deepStrictEqual(pitr.failoverDatabase, { source: "pointInTime", sourceIdentifier: "pilotlight-db", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123" });
        const https = parseStackConfig("dr", { ...drRawConfig(), app: { certificateArn: "arn:aws:acm:us-west-2:222222222222:certificate/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9" } }, "us-west-2");
        assert.strictEqual(https.app.certificateArn, "arn:aws:acm:us-west-2:222222222222:certificate/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
        assert.strictEqual(parseStackConfig("prod", { ...prodRawConfig(), database: { engine: "aurora-mysql" } }, "us-east-1").database.port, 3306);
    });

    // Each rule: the change, the stack, and fragments the message must contain (key, bad value, what is right).
    const rules: { rule: string; stack: "prod" | "dr"; change: (r: RawConfig) => void; region?: string; expect: string[] }[] = [
        { rule: "malformed CIDR", stack: "prod", change: (r) => (r.vpcCidr = "10.10.0.0/33"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/33"', "IPv4 CIDR from /16 to /20"] },
        { rule: "CIDR with host bits", stack: "prod", change: (r) => (r.vpcCidr = "10.10.1.0/16"), expect: ["pilotlight:vpcCidr", '"10.10.1.0/16"', "host bits zero"] },
        { rule: "CIDR too small", stack: "prod", change: (r) => (r.vpcCidr = "10.10.0.0/24"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/24"', "/16 to /20"] },
        { rule: "peer CIDR invalid", stack: "prod", change: (r) => ((r.peer as any).vpcCidr = "banana"), expect: ["pilotlight:peer.vpcCidr", '"banana"'] },
        { rule: "same CIDR in both stacks", stack: "prod", change: (r) => ((r.peer as any).vpcCidr = "10.10.0.0/16"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/16"', "must not overlap", "10.10.0.0/16 and 10.20.0.0/16"] },
        { rule: "overlapping CIDRs", stack: "dr", change: (r) => (r.vpcCidr = "10.10.16.0/20"), expect: ["pilotlight:vpcCidr", '"10.10.16.0/20"', "must not overlap the peer's pilotlight:peer.vpcCidr 10.10.0.0/16"] },
        { rule: "peer region equals own region", stack: "prod", change: (r) => ((r.peer as any).region = "us-east-1"), expect: ["pilotlight:peer.region", '"us-east-1"', "other than this stack's own (us-east-1)"] },
        { rule: "own account not 12 digits", stack: "prod", change: (r) => (r.accountId = "11111111111"), expect: ["pilotlight:accountId", '"11111111111"', "12-digit"] },
        { rule: "account as a number", stack: "prod", change: (r) => (r.accountId = 111111111111), expect: ["pilotlight:accountId", "111111111111", "in quotes"] },
        { rule: "peer account not 12 digits", stack: "dr", change: (r) => ((r.peer as any).accountId = "12345"), expect: ["pilotlight:peer.accountId", '"12345"', "12-digit"] },
        { rule: "fewer than 2 AZs", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a"]), expect: ["pilotlight:availabilityZones", '["us-east-1a"]', "2 to 6 availability zones"] },
        { rule: "AZ of another region", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a", "us-west-2b"]), expect: ["pilotlight:availabilityZones", "us-west-2b", "zones of this stack's region us-east-1"] },
        { rule: "duplicate AZ", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a", "us-east-1a"]), expect: ["pilotlight:availabilityZones", "each availability zone once"] },
        { rule: "AZs missing", stack: "dr", change: (r) => delete r.availabilityZones, expect: ["pilotlight:availabilityZones is missing", "us-west-2a"] },
        { rule: "unknown role", stack: "prod", change: (r) => (r.role = "secondary"), expect: ["pilotlight:role", '"secondary"', '"primary", "dr"'] },
        { rule: "failover on a primary", stack: "prod", change: (r) => (r.failover = true), expect: ["pilotlight:failover", "true", "only to a dr stack"] },
        { rule: "failover not a boolean", stack: "dr", change: (r) => (r.failover = "yes"), expect: ["pilotlight:failover", '"yes"', "true or false"] },
        { rule: "peer missing", stack: "dr", change: (r) => delete r.peer, expect: ["pilotlight:peer is missing", "stack, accountId, region and vpcCidr"] },
        { rule: "peer names itself", stack: "prod", change: (r) => ((r.peer as any).stack = "prod"), expect: ["pilotlight:peer.stack", '"prod"'] },
        { rule: "bad region", stack: "prod", change: () => undefined, region: "mars-1", expect: ["aws:region", '"mars-1"', "us-east-1"] },
        { rule: "unknown NAT mode", stack: "prod", change: (r) => (r.network = { natGateways: "many" }), expect: ["pilotlight:network.natGateways", '"many"', '"single", "onePerAz"'] },
        { rule: "unknown engine", stack: "prod", change: (r) => (r.database = { engine: "oracle" }), expect: ["pilotlight:database.engine", '"oracle"', '"postgres"'] },
        { rule: "bad name prefix", stack: "prod", change: (r) => (r.namePrefix = "Pilot_Light"), expect: ["pilotlight:namePrefix", '"Pilot_Light"', "lowercase"] },
        { rule: "bad tags", stack: "prod", change: (r) => (r.tags = { team: 7 }), expect: ["pilotlight:tags", "map of string to string"] },
        { rule: "aurora cluster on dr", stack: "dr", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders-aurora" }] }), expect: ["pilotlight:auroraFailover.clusters", '["orders-aurora"]', "primary stack only"] },
        { rule: "aurora clusters not a list", stack: "prod", change: (r) => (r.auroraFailover = { clusters: "orders-aurora" }), expect: ["pilotlight:auroraFailover.clusters", '"orders-aurora"', "list of clusters"] },
        { rule: "aurora cluster identifier", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders--aurora" }] }), expect: ["pilotlight:auroraFailover.clusters[0].identifier", '"orders--aurora"', "single hyphens"] },
        { rule: "aurora cluster missing identifier", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ writerClass: "db.r6g.large" }] }), expect: ["pilotlight:auroraFailover.clusters[0].identifier is missing", "Aurora cluster identifier"] },
        { rule: "aurora cluster identifier uppercase", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "Orders-Aurora" }] }), expect: ["pilotlight:auroraFailover.clusters[0].identifier", '"Orders-Aurora"', "write it that way", "'orders-aurora'"] },
        { rule: "aurora cluster twice", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1" }, { identifier: "a1" }] }), expect: ["pilotlight:auroraFailover.clusters[1].identifier", '"a1"', "each cluster once"] },
        { rule: "aurora writer class", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", writerClass: "r6g.2xlarge" }] }), expect: ["pilotlight:auroraFailover.clusters[0].writerClass", '"r6g.2xlarge"', "db.r6g.2xlarge"] },
        { rule: "aurora monitoring role of another account", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", monitoringRoleArn: "arn:aws:iam::222222222222:role/rds-monitoring" }] }), expect: ["pilotlight:auroraFailover.clusters[0].monitoringRoleArn", "222222222222", "role in this account", "arn:aws:iam::111111111111:role/rds-monitoring"] },
        { rule: "aurora unknown cluster setting", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", writer: "db.r6g.large" }] }), expect: ["pilotlight:auroraFailover.clusters[0].writer is not a key; did you mean pilotlight:auroraFailover.clusters[0].writerClass?"] },
        { rule: "aurora window", stack: "prod", change: (r) => (r.auroraFailover = { windowHours: 0 }), expect: ["pilotlight:auroraFailover.windowHours", "0", "from 1 to 720"] },
        { rule: "aurora afterRecovery", stack: "prod", change: (r) => (r.auroraFailover = { afterRecovery: "shrink" }), expect: ["pilotlight:auroraFailover.afterRecovery", '"shrink"', '"keep", "delete", "resize"'] },
        { rule: "aurora notifyOnSuccess", stack: "prod", change: (r) => (r.auroraFailover = { notifyOnSuccess: "often" }), expect: ["pilotlight:auroraFailover.notifyOnSuccess", '"often"', "true or false"] },
        { rule: "aurora section not a map", stack: "prod", change: (r) => (r.auroraFailover = ["orders-aurora"]), expect: ["pilotlight:auroraFailover", "expected a map with clusters"] },
        // Failover, database, app tier and DNS sections.
        { rule: "failover with no snapshot source", stack: "dr", change: (r) => (r.failover = true), expect: ["pilotlight:failoverDatabase is missing", "failover needs a database source", 'pilotlight:failoverDatabase.source to "latestCopy"', "pilotlight:failoverDatabase.snapshotIdentifier", "pilotlight:failoverDatabase.automatedBackupsArn", "pilotlight:failoverDatabase.secretName"] },
        { rule: "snapshot source without an identifier", stack: "dr", change: (r) => ((r.failover = true), (r.failoverDatabase = { source: "snapshot" })), expect: ["pilotlight:failoverDatabase.snapshotIdentifier is missing", 'failoverDatabase.source "snapshot" needs the DB snapshot identifier'] },
        { rule: "bad snapshot identifier", stack: "dr", change: (r) => (r.failoverDatabase = { source: "snapshot", snapshotIdentifier: "1st snapshot" }), expect: ["pilotlight:failoverDatabase.snapshotIdentifier", '"1st snapshot"', "a letter, then letters, digits, hyphens"] },
        { rule: "unknown restore source", stack: "dr", change: (r) => (r.failoverDatabase = { source: "backup" }), expect: ["pilotlight:failoverDatabase.source", '"backup"', '"latestCopy", "snapshot", "pointInTime", "adopt"'] },
        { rule: "point in time without backups ARN", stack: "dr", change: (r) => (r.failoverDatabase = { source: "pointInTime" }), expect: ["pilotlight:failoverDatabase.automatedBackupsArn is missing", "replicated into us-west-2"] },
        { rule: "point in time from another region's backups", stack: "dr", change: (r) => (r.failoverDatabase = { source: "pointInTime", automatedBackupsArn: "arn:aws:rds:us-east-1:111111111111:auto-backup:ab-abc123" }), expect: ["pilotlight:failoverDatabase.automatedBackupsArn", "us-east-1", "this stack's region us-west-2"] },
        { rule: "point in time for Aurora", stack: "dr", change: (r) => ((r.database = { engine: "aurora-postgresql" }), (r.failoverDatabase = { source: "pointInTime", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123" })), expect: ["pilotlight:failoverDatabase.source", '"pointInTime"', "aurora-postgresql has no cross-region automated backup replication"] },
        { rule: "bad restore time", stack: "dr", change: (r) => (r.failoverDatabase = { source: "pointInTime", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123", restoreTime: "yesterday" }), expect: ["pilotlight:failoverDatabase.restoreTime", '"yesterday"', "2026-01-31T23:45:00Z"] },
        { rule: "adopt without a secret", stack: "dr", change: (r) => (r.failoverDatabase = { source: "adopt" }), expect: ["pilotlight:failoverDatabase.secretName is missing", "{host, port, identifier, version}"] },
        { rule: "restore on a primary", stack: "prod", change: (r) => (r.failoverDatabase = { source: "latestCopy" }), expect: ["pilotlight:failoverDatabase", "only to a dr stack"] },
        { rule: "certificate in the wrong region", stack: "dr", change: (r) => (r.app = { certificateArn: "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" }), expect: ["pilotlight:app.certificateArn", "arn:aws:acm:us-east-1:", "certificate in this stack's region us-west-2, not us-east-1", "its own region"] },
        { rule: "certificate that is not an ACM ARN", stack: "prod", change: (r) => (r.app = { certificateArn: "arn:aws:iam::111111111111:server-certificate/app" }), expect: ["pilotlight:app.certificateArn", "server-certificate", "ACM certificate ARN"] },
        { rule: "backup retention under a week", stack: "prod", change: (r) => (r.database = { backupRetentionDays: 3 }), expect: ["pilotlight:database.backupRetentionDays is 3", "7 to 35 days", "at least a week"] },
        { rule: "engine version of another engine", stack: "prod", change: (r) => (r.database = { engine: "mysql", engineVersion: "16.8" }), expect: ["pilotlight:database.engineVersion", '"16.8"', "version of mysql such as 8.0 (or 8.0.41)"] },
        { rule: "bad instance class", stack: "prod", change: (r) => (r.database = { instanceClass: "t3.large" }), expect: ["pilotlight:database.instanceClass", '"t3.large"', "db.t4g.medium"] },
        { rule: "storage ceiling under storage", stack: "prod", change: (r) => (r.database = { allocatedStorage: 200, maxAllocatedStorage: 100 }), expect: ["pilotlight:database.maxAllocatedStorage is 100", "at least pilotlight:database.allocatedStorage (200)"] },
        { rule: "unsupported monitoring interval", stack: "prod", change: (r) => (r.database = { monitoringIntervalSeconds: 7 }), expect: ["pilotlight:database.monitoringIntervalSeconds is 7", "0 (off), 1, 5, 10, 15, 30, 60"] },
        { rule: "reserved master user", stack: "prod", change: (r) => (r.database = { masterUsername: "rdsadmin" }), expect: ["pilotlight:database.masterUsername", '"rdsadmin"', "reserved"] },
        { rule: "desired capacity above max", stack: "prod", change: (r) => (r.app = { minSize: 1, maxSize: 2, desiredCapacity: 3 }), expect: ["pilotlight:app.desiredCapacity is 3", "from pilotlight:app.minSize (1) to pilotlight:app.maxSize (2)"] },
        { rule: "min above max", stack: "prod", change: (r) => (r.app = { minSize: 5, maxSize: 2 }), expect: ["pilotlight:app.minSize is 5", "at most pilotlight:app.maxSize (2)"] },
        { rule: "relative health-check path", stack: "prod", change: (r) => (r.app = { healthCheckPath: "health" }), expect: ["pilotlight:app.healthCheckPath", '"health"', "/health"] },
        { rule: "bad AMI id", stack: "prod", change: (r) => (r.app = { amiId: "ubuntu" }), expect: ["pilotlight:app.amiId", '"ubuntu"', "ami-0123456789abcdef0"] },
        { rule: "bad hosted zone id", stack: "prod", change: (r) => (r.dns = { hostedZoneId: "example.com", recordName: "app.example.com" }), expect: ["pilotlight:dns.hostedZoneId", '"example.com"', "Z0123456789ABCDEFGHIJ"] },
        { rule: "record name that is not a FQDN", stack: "prod", change: (r) => (r.dns = { hostedZoneId: "Z0123456789ABCDEFGHIJ", recordName: "app" }), expect: ["pilotlight:dns.recordName", '"app"', "app.example.com"] },
        { rule: "dns not a map", stack: "prod", change: (r) => (r.dns = "app.example.com"), expect: ["pilotlight:dns", "hostedZoneId and recordName"] },
        { rule: "backups databases not a list", stack: "prod", change: (r) => (r.backups = { databases: "app-db" }), expect: ["pilotlight:backups.databases", '"app-db"', "list of {identifier, isCluster}"] },
        { rule: "backup identifier invalid", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "App_DB" }] }), expect: ["pilotlight:backups.databases[0].identifier", '"App_DB"', "RDS identifier"] },
        { rule: "backup database listed twice", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "app-db" }, { identifier: "app-db" }] }), expect: ["pilotlight:backups.databases[1].identifier", "each database once"] },
        { rule: "backup isCluster not a boolean", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "app-db", isCluster: "maybe" }] }), expect: ["pilotlight:backups.databases[0].isCluster", '"maybe"', "true or false"] },
        { rule: "backup keep 0", stack: "prod", change: (r) => (r.backups = { keep: 0 }), expect: ["pilotlight:backups.keep", "0", "from 1 to 100"] },
        { rule: "backup keep 101", stack: "prod", change: (r) => (r.backups = { keep: 101 }), expect: ["pilotlight:backups.keep", "101", "from 1 to 100"] },
        { rule: "backup schedule malformed", stack: "prod", change: (r) => (r.backups = { schedule: "every 2 hours" }), expect: ["pilotlight:backups.schedule", '"every 2 hours"', "rate(2 hours)"] },
        { rule: "backup schedule singular mismatch", stack: "prod", change: (r) => (r.backups = { schedule: "rate(2 hour)" }), expect: ["pilotlight:backups.schedule", '"rate(2 hour)"'] },
        { rule: "replication of clusters only", stack: "dr", change: (r) => ((r.accountId = "111111111111"), (r.backups = { databases: [{ identifier: "aurora", isCluster: true }], automatedBackupReplication: true })), expect: ["pilotlight:backups.automatedBackupReplication", "instances only"] },
        { rule: "replication across accounts", stack: "dr", change: (r) => (r.backups = { databases: [{ identifier: "app-db" }], automatedBackupReplication: true }), expect: ["pilotlight:backups.automatedBackupReplication", "same account", "pilotlight:copy"] },
        { rule: "replication retention 36 days", stack: "dr", change: (r) => (r.backups = { replicationRetentionDays: 36 }), expect: ["pilotlight:backups.replicationRetentionDays", "36", "from 1 to 35"] },
        { rule: "image tag key reserved", stack: "prod", change: (r) => (r.backups = { images: { tagKey: "aws:backup" } }), expect: ["pilotlight:backups.images.tagKey", '"aws:backup"', "not starting with aws:"] },
        { rule: "image gone-source days 0", stack: "prod", change: (r) => (r.backups = { images: { goneSourceDays: 0 } }), expect: ["pilotlight:backups.images.goneSourceDays", "0", "from 1 to 3650"] },
        { rule: "image keep 0", stack: "prod", change: (r) => (r.backups = { images: { keep: 0 } }), expect: ["pilotlight:backups.images.keep", "0", "from 1 to 100"] },
        { rule: "copy without source", stack: "dr", change: (r) => (r.copy = {}), expect: ["pilotlight:copy.source is missing", "the primary's RDS instance"] },
        { rule: "copy keep 21", stack: "dr", change: (r) => (r.copy = { source: "app-db", keep: 21 }), expect: ["pilotlight:copy.keep", "21", "from 1 to 20"] },
        { rule: "copy target name too long", stack: "dr", change: (r) => (r.copy = { source: "app-db", targetName: "a".repeat(41) }), expect: ["pilotlight:copy.targetName", "at most 40 characters"] },
        { rule: "copy instance class", stack: "dr", change: (r) => (r.copy = { source: "app-db", restore: { instanceClass: "t4g.medium" } }), expect: ["pilotlight:copy.restore.instanceClass", '"t4g.medium"', "db.t4g.medium"] },
        { rule: "copy security group", stack: "dr", change: (r) => (r.copy = { source: "app-db", restore: { securityGroupIds: ["default"] } }), expect: ["pilotlight:copy.restore.securityGroupIds", '["default"]', "sg-0123456789abcdef0"] },
        { rule: "copy secret name", stack: "dr", change: (r) => (r.copy = { source: "app-db", secretName: "my secret" }), expect: ["pilotlight:copy.secretName", '"my secret"', "Secrets Manager name"] },
        { rule: "replicateBack on the primary", stack: "prod", change: (r) => (r.media = { replicateBack: false }), expect: ["pilotlight:media.replicateBack", "false", "only to the dr stack"] },
        { rule: "replicateBack not a boolean", stack: "dr", change: (r) => (r.media = { replicateBack: "no" }), expect: ["pilotlight:media.replicateBack", '"no"'] },
        { rule: "copy schedule", stack: "prod", change: (r) => (r.copy = { source: "app-db", schedule: "cron(0 3 * * *)" }), expect: ["pilotlight:copy.schedule", "cron(0 3 * * ? *)"] },
    ];

    for (const t of rules) {
        it(`rejects ${t.rule}`, () => {
            const raw = t.stack === "prod" ? prodRawConfig() : drRawConfig();
            t.change(raw);
            const problems = problemsOf(t.stack, raw, t.region ?? (t.stack === "prod" ? "us-east-1" : "us-west-2"));
            assert.ok(problems.length > 0, "expected the config to be rejected");
            const all = problems.join("\n");
            for (const fragment of t.expect) assert.ok(all.includes(fragment), `message lacks ${JSON.stringify(fragment)}:\n${all}`);
        });
    }

    it("failover adoption defaults to the copy target's secret, and a missing key is reported once", () => {
        const adopt = parseStackConfig("dr", { ...drRawConfig(), failover: true, failoverDatabase: { source: "adopt" }, copy: { source: "pilotlight-db" } }, "us-west-2");
        assert.strictEqual(adopt.failoverDatabase?.secretName, "pilotlight/copy/pilotlight-db");
        const named = parseStackConfig("dr", { ...drRawConfig(), failoverDatabase: { source: "adopt", secretName: "ops/db" }, copy: { source: "pilotlight-db" } }, "us-west-2");
        assert.strictEqual(named.failoverDatabase?.secretName, "ops/db");
        for (const source of ["snapshot", "pointInTime", "adopt"]) {
            assert.strictEqual(problemsOf("dr", { ...drRawConfig(), failover: true, failoverDatabase: { source } }, "us-west-2").length, 1, source);
        }
    });

    it("parses the Aurora failover section with its defaults", () => {
        assert.deepStrictEqual(parseStackConfig("prod", prodRawConfig(), "us-east-1").auroraFailover, { clusters: [], windowHours: 24, afterRecovery: "keep", notifyOnSuccess: true });
        const raw = prodRawConfig();
        raw.auroraFailover = {
            clusters: [{ identifier: "orders-aurora", writerClass: "db.r6g.2xlarge", monitoringRoleArn: "arn:aws:iam::111111111111:role/rds-monitoring" }, { identifier: "billing" }],
            windowHours: "6",
            afterRecovery: "resize",
            notifyOnSuccess: false,
        };
        assert.deepStrictEqual(parseStackConfig("prod", raw, "us-east-1").auroraFailover, {
            clusters: [{ identifier: "orders-aurora", writerClass: "db.r6g.2xlarge", monitoringRoleArn: "arn:aws:iam::111111111111:role/rds-monitoring" }, { identifier: "billing" }],
            windowHours: 6,
            afterRecovery: "resize",
            notifyOnSuccess: false,
        });
        assert.deepStrictEqual(parseStackConfig("dr", { ...drRawConfig(), auroraFailover: { clusters: [] } }, "us-west-2").auroraFailover.clusters, []);
    });

    it("reports every problem at once", () => {
        const raw = prodRawConfig();
        raw.role = "boss";
        raw.accountId = "1";
        (raw.peer as any).region = "us-east-1";
        assert.strictEqual(problemsOf("prod", raw, "us-east-1").length, 3);
    });

    it("accepts a same-account setup", () => {
        const raw = prodRawConfig();
        (raw.peer as any).accountId = "111111111111";
        assert.strictEqual(parseStackConfig("prod", raw, "us-east-1").peer.accountId, "111111111111");
    });

    it("parses and compares CIDRs", () => {
        assert.deepStrictEqual(parseCidr("10.10.0.0/16"), { base: (10 << 24) + (10 << 16), prefix: 16 });
        for (const bad of ["10.10.0/16", "256.0.0.0/8", "10.0.0.1/16", 42]) assert.strictEqual(parseCidr(bad), undefined, String(bad));
        assert.ok(cidrsOverlap("10.0.0.0/8", "10.20.0.0/16"));
        assert.ok(!cidrsOverlap("10.10.0.0/16", "10.20.0.0/16"));
        assert.ok(cidrsOverlap("10.10.0.0/16", "10.10.255.0/24"));
    });

    it("reads the engine's flat config map without turning account ids into numbers", () => {
        const raw = rawFromConfigMap({ "pilotlight:accountId": "111111111111", "pilotlight:peer": '{"accountId":"222222222222"}', "pilotlight:failover": "true", "aws:region": "us-east-1" });
        assert.deepStrictEqual(raw, { accountId: "111111111111", peer: { accountId: "222222222222" }, failover: "true" });
    });

    it("reads backups and copy sections with their documented defaults", () => {
        const none = parseStackConfig("prod", prodRawConfig(), "us-east-1");
        assert.strictEqual(none.backups, undefined);
        assert.strictEqual(none.copy, undefined);
        const cfg = parseStackConfig("prod", { ...prodRawConfig(), backups: { databases: [{ identifier: "app-db" }, { identifier: "aurora", isCluster: "true" }] }, copy: { source: "app-db" } }, "us-east-1");
        assert.deepStrictEqual(cfg.backups, {
            databases: [
                { identifier: "app-db", isCluster: false },
                { identifier: "aurora", isCluster: true },
            ],
            schedule: "rate(2 hours)",
            scheduleEnabled: false,
            keep: 12,
            automatedBackupReplication: false,
            replicationRetentionDays: 7,
            images: undefined,
        });
        assert.deepStrictEqual(parseStackConfig("prod", { ...prodRawConfig(), backups: { images: {} } }, "us-east-1").backups?.images, { tagKey: "pilotlight:backup", tagValue: "true", noReboot: true, keep: 7, goneSourceDays: 30 });
        assert.deepStrictEqual(cfg.copy, {
            source: "app-db",
            schedule: "rate(1 day)",
            scheduleEnabled: false,
            keep: 2,
            targetName: "app-db",
            secretName: "pilotlight/copy/app-db",
            restore: { instanceClass: "db.t4g.medium", subnetGroupName: undefined, securityGroupIds: undefined, parameterGroupName: undefined, multiAz: false, tags: {} },
        });
    });

    it("accepts schedule expressions EventBridge accepts and rejects the rest", () => {
        for (const ok of ["rate(1 hour)", "rate(2 hours)", "rate(15 minutes)", "rate(1 day)", "cron(0 3 * * ? *)"]) assert.ok(isScheduleExpression(ok), ok);
        for (const bad of ["rate(0 hours)", "rate(1 hours)", "rate(2 hour)", "rate(2 weeks)", "cron(0 3 * * *)", "2 hours"]) assert.ok(!isScheduleExpression(bad), bad);
    });
});

describe("config: failover keys (serviceLinkedRoles, engine versions)", () => {
    const problems = (raw: Record<string, unknown>): string => {
        try {
            parseStackConfig("dr", raw as any, "us-west-2");
            return "";
        } catch (e) {
            return (e as Error).message;
        }
    };

    it("creates every service-linked role the serving half needs unless told which the account lacks", () => {
        assert.deepStrictEqual(parseStackConfig("dr", drRawConfig(), "us-west-2").serviceLinkedRoles, ["autoscaling.amazonaws.com", "elasticache.amazonaws.com", "rds.amazonaws.com"]);
        assert.deepStrictEqual(parseStackConfig("dr", { ...drRawConfig(), serviceLinkedRoles: ["elasticache.amazonaws.com"] }, "us-west-2").serviceLinkedRoles, ["elasticache.amazonaws.com"]);
        assert.deepStrictEqual(parseStackConfig("dr", { ...drRawConfig(), serviceLinkedRoles: [] }, "us-west-2").serviceLinkedRoles, []);
    });

    it("refuses an unknown or repeated service-linked role, naming the key, the value and the choices", () => {
        const unknown = problems({ ...drRawConfig(), serviceLinkedRoles: ["autoscaling"] });
        for (const part of ["pilotlight:serviceLinkedRoles", '"autoscaling"', "autoscaling.amazonaws.com, elasticache.amazonaws.com, rds.amazonaws.com", "aws iam list-roles --path-prefix /aws-service-role/"]) assert.ok(unknown.includes(part), unknown);
        const twice = problems({ ...drRawConfig(), serviceLinkedRoles: ["rds.amazonaws.com", "rds.amazonaws.com"] });
        assert.ok(twice.includes("pilotlight:serviceLinkedRoles") && twice.includes("each service once"), twice);
    });

    it("accepts major engine versions for every engine, and full ones", () => {
        for (const [engine, version] of [
            ["postgres", "16"],
            ["postgres", "16.8"],
            ["mysql", "8.0"],
            ["mysql", "8.0.41"],
            ["aurora-postgresql", "16"],
            ["aurora-postgresql", "16.6"],
            ["aurora-mysql", "8.0"],
            ["aurora-mysql", "8.0.mysql_aurora.3.08.2"],
        ]) {
            assert.strictEqual(parseStackConfig("prod", { ...prodRawConfig(), database: { engine, engineVersion: version } }, "us-east-1").database.engineVersion, version, `${engine} ${version}`);
        }
        assert.deepStrictEqual(DEFAULT_ENGINE_VERSIONS, { postgres: "16", mysql: "8.0", "aurora-postgresql": "16", "aurora-mysql": "8.0" });
        const bad = problems({ ...drRawConfig(), database: { engine: "aurora-mysql", engineVersion: "8" } });
        assert.ok(bad.includes('pilotlight:database.engineVersion is "8"') && bad.includes("8.0 (or 8.0.mysql_aurora.3.08.2)"), bad);
    });
});

/** Problems of a config, with `aws:` keys and other namespaces as the engine gives them. */
function refusal(stack: "prod" | "dr", change: (r: any) => void, region?: string, env: StackEnvironment = {}): string[] {
    const raw = stack === "prod" ? prodRawConfig() : drRawConfig();
    change(raw);
    try {
        parseStackConfig(stack, raw, region ?? (stack === "prod" ? "us-east-1" : "us-west-2"), "pilotlight", () => false, env);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

describe("config: realistic mistakes, each refused with its exact message", () => {
    const PREFIX_RULE = "expected 3-20 lowercase letters, digits or single hyphens, starting with a letter and not ending in a hyphen (RDS and ElastiCache refuse consecutive hyphens)";
    const mistakes: { mistake: string; stack: "prod" | "dr"; change: (r: any) => void; region?: string; env?: StackEnvironment; problems: string[] }[] = [
        // Typos, at every level: a key that is not read is never silently dropped.
        { mistake: "a typo in a top-level key", stack: "prod", change: (r) => (r.databse = { engine: "aurora-postgresql" }), problems: ["pilotlight:databse is not a key; did you mean pilotlight:database?"] },
        { mistake: "a nested key written at the top", stack: "prod", change: (r) => (r.engine = "mysql"), problems: ["pilotlight:engine is not a key; did you mean pilotlight:database.engine?"] },
        { mistake: "network.natGateway", stack: "prod", change: (r) => (r.network = { natGateway: "single" }), problems: ["pilotlight:network.natGateway is not a key; did you mean pilotlight:network.natGateways?"] },
        { mistake: "backups.shedule", stack: "prod", change: (r) => (r.backups = { shedule: "rate(1 day)" }), problems: ["pilotlight:backups.shedule is not a key; did you mean pilotlight:backups.schedule?"] },
        { mistake: "restore.keepSnapshot", stack: "prod", change: (r) => (r.restore = { databases: ["pilotlight-db"], keepSnapshot: 3 }), problems: ["pilotlight:restore.keepSnapshot is not a key; did you mean pilotlight:restore.keepSnapshots?"] },
        { mistake: "dns.hostedZoneID (reported once, not also as missing)", stack: "prod", change: (r) => (r.dns = { hostedZoneID: "Z0123456789ABCDEFGHIJ", recordName: "app.example.com" }), problems: ["pilotlight:dns.hostedZoneID is not a key; did you mean pilotlight:dns.hostedZoneId?"] },
        { mistake: "a typo in a list entry", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders-aurora", writerclass: "db.r6g.large" }] }), problems: ["pilotlight:auroraFailover.clusters[0].writerclass is not a key; did you mean pilotlight:auroraFailover.clusters[0].writerClass?"] },
        { mistake: "a shortened key in a list entry", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders-aurora", writer: "db.r6g.large" }] }), problems: ["pilotlight:auroraFailover.clusters[0].writer is not a key; did you mean pilotlight:auroraFailover.clusters[0].writerClass?"] },
        {
            mistake: "enable for enabled in a schedule",
            stack: "prod",
            change: (r) => (r.restore = { databases: ["pilotlight-db"], schedules: [{ name: "n", expression: "rate(1 day)", enable: true, input: { identifier: "pilotlight-db", task: "create_snapshot_only" } }] }),
            problems: ["pilotlight:restore.schedules[0].enable is not a key; did you mean pilotlight:restore.schedules[0].enabled?"],
        },
        { mistake: "backups.images.tagkey", stack: "prod", change: (r) => (r.backups = { images: { tagkey: "backup" } }), problems: ["pilotlight:backups.images.tagkey is not a key; did you mean pilotlight:backups.images.tagKey?"] },
        { mistake: "media.replicationTimeControll", stack: "prod", change: (r) => (r.media = { replicationTimeControll: true }), problems: ["pilotlight:media.replicationTimeControll is not a key; did you mean pilotlight:media.replicationTimeControl?"] },
        { mistake: "app.redisNode", stack: "prod", change: (r) => (r.app = { redisNode: 3 }), problems: ["pilotlight:app.redisNode is not a key; did you mean pilotlight:app.redisNodes?"] },
        { mistake: "failoverDatabase.snapshotId", stack: "dr", change: (r) => (r.failoverDatabase = { source: "snapshot", snapshotId: "prod-2026" }), problems: ["pilotlight:failoverDatabase.snapshotId is not a key; did you mean pilotlight:failoverDatabase.snapshotIdentifier?"] },
        {
            mistake: "a key with no near match lists the keys",
            stack: "dr",
            change: (r) => (r.copy = { source: "pilotlight-db", restore: { instanceType: "db.t4g.medium" } }),
            problems: ["pilotlight:copy.restore.instanceType is not a key; expected one of instanceClass, subnetGroupName, securityGroupIds, parameterGroupName, multiAz, tags"],
        },
        { mistake: "a key of another namespace", stack: "prod", change: () => undefined, env: { foreignKeys: ["pilotlihgt:role", "aws:profile"] }, problems: ["pilotlihgt:role is not read by this program (its keys are pilotlight:<key>, plus aws:region and aws:allowedAccountIds); did you mean pilotlight:role?"] },
        // Wrong types.
        { mistake: "a port as a word", stack: "prod", change: (r) => (r.network = { appPort: "eighty" }), problems: ['pilotlight:network.appPort is "eighty"; expected a whole number from 1 to 65535'] },
        { mistake: "multiAz as yes", stack: "prod", change: (r) => (r.database = { multiAz: "yes" }), problems: ['pilotlight:database.multiAz is "yes"; expected true or false'] },
        { mistake: "zones as one string", stack: "prod", change: (r) => (r.availabilityZones = "us-east-1a,us-east-1b"), problems: ['pilotlight:availabilityZones is "us-east-1a,us-east-1b"; expected a list of at least 2 availability zones of us-east-1, e.g. ["us-east-1a", "us-east-1b"]'] },
        { mistake: "the peer as a list", stack: "dr", change: (r) => (r.peer = ["prod"]), problems: ['pilotlight:peer is ["prod"]; expected a map with stack, accountId, region and vpcCidr of the other stack'] },
        { mistake: "tags as a list", stack: "prod", change: (r) => (r.tags = ["owner=platform"]), problems: ['pilotlight:tags is ["owner=platform"]; expected a map of string to string'] },
        { mistake: "a tag value that is a number", stack: "prod", change: (r) => (r.tags = { "cost-center": 4100 }), problems: ["pilotlight:tags.cost-center is 4100; expected a string: tags are a map of string to string"] },
        // Names AWS refuses.
        { mistake: "a prefix with consecutive hyphens", stack: "prod", change: (r) => (r.namePrefix = "pilot--light"), problems: [`pilotlight:namePrefix is "pilot--light"; ${PREFIX_RULE}`] },
        { mistake: "a prefix of 21 characters", stack: "prod", change: (r) => (r.namePrefix = "pilotlight-platform-x"), problems: [`pilotlight:namePrefix is "pilotlight-platform-x"; ${PREFIX_RULE}`] },
        {
            mistake: "a restore schedule whose rule name overflows 64 characters with the prefix",
            stack: "prod",
            change: (r) => ((r.namePrefix = "pilotlight-platform"), (r.restore = { databases: ["pilotlight-platform-db"], schedules: [{ name: "a".repeat(40), expression: "rate(1 day)", input: { identifier: "pilotlight-platform-db", task: "create_snapshot_only" } }] })),
            problems: [`pilotlight:restore.schedules[0].name is "${"a".repeat(40)}"; it makes the EventBridge rule name pilotlight-platform-restore-${"a".repeat(40)} (68 characters), but AWS allows at most 64: shorten pilotlight:restore.schedules[0].name or pilotlight:namePrefix`],
        },
        {
            mistake: "an Aurora cluster identifier with capitals",
            stack: "prod",
            change: (r) => (r.auroraFailover = { clusters: [{ identifier: "Orders-Aurora" }] }),
            // The recovery's own identifier rule speaks first when it refuses capitals itself.
            problems: [`pilotlight:auroraFailover.clusters[0].identifier is "Orders-Aurora"; ${clusterIdentifierProblem("Orders-Aurora") ?? 'expected lowercase, as RDS stores identifiers and names them in its events: "orders-aurora"'}`],
        },
        // Regions of other partitions.
        { mistake: "a China region", stack: "prod", change: () => undefined, region: "cn-north-1", problems: ['aws:region is "cn-north-1"; cn-north-1 belongs to the aws-cn partition, which pilotlight does not serve (its ARNs, service principals and DNS suffixes are those of the aws partition); use a region of the aws partition such as us-east-1'] },
        { mistake: "a GovCloud peer", stack: "prod", change: (r) => (r.peer.region = "us-gov-west-1"), problems: ['pilotlight:peer.region is "us-gov-west-1"; us-gov-west-1 belongs to the aws-us-gov partition, which pilotlight does not serve (its ARNs, service principals and DNS suffixes are those of the aws partition); use a region of the aws partition such as us-west-2'] },
        { mistake: "an ISO region", stack: "dr", change: () => undefined, region: "us-isob-east-1", problems: ['aws:region is "us-isob-east-1"; us-isob-east-1 belongs to the ISO partition, which pilotlight does not serve (its ARNs, service principals and DNS suffixes are those of the aws partition); use a region of the aws partition such as us-east-1'] },
        // Kinds: the workload database is an instance or a cluster, and every list says the same.
        { mistake: "an Aurora workload listed as an instance to restore", stack: "prod", change: (r) => ((r.database = { engine: "aurora-postgresql" }), (r.restore = { databases: [{ identifier: "pilotlight-db", isCluster: false }] })), problems: ["pilotlight:restore.databases[0].isCluster is false; expected true: pilotlight-db is the workload database, an Aurora cluster (pilotlight:database.engine aurora-postgresql)"] },
        { mistake: "an instance workload backed up as a cluster", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "pilotlight-db", isCluster: true }] }), problems: ["pilotlight:backups.databases[0].isCluster is true; expected false: pilotlight-db is the workload database, an RDS instance (pilotlight:database.engine postgres)"] },
        { mistake: "an Aurora workload through the instance-only copy", stack: "prod", change: (r) => ((r.database = { engine: "aurora-mysql" }), (r.copy = { source: "pilotlight-db" })), problems: ['pilotlight:copy.source is "pilotlight-db"; the cross-account copy restores RDS instances, but pilotlight-db is an Aurora cluster (pilotlight:database.engine aurora-mysql); protect it with pilotlight:backups instead'] },
        { mistake: "Aurora recovery of an instance workload", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "pilotlight-db" }] }), problems: ['pilotlight:auroraFailover.clusters[0].identifier is "pilotlight-db"; pilotlight-db is the workload database, an RDS instance (pilotlight:database.engine postgres); Aurora failover recovery watches Aurora clusters only'] },
        { mistake: "a minor version of another engine", stack: "prod", change: (r) => (r.database = { engine: "aurora-mysql", engineVersion: "8.0.41" }), problems: ['pilotlight:database.engineVersion is "8.0.41"; expected a version of aurora-mysql such as 8.0 (or 8.0.mysql_aurora.3.08.2)'] },
        // Bringing an existing workload: what the program does not create, it does not configure.
        ...((): { mistake: string; stack: "prod" | "dr"; change: (r: any) => void; problems: string[] }[] => {
            const VPC = { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"], appSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000001b"], dbSubnetIds: ["subnet-0000000000000002a", "subnet-0000000000000002b"] };
            const existingDb = (r: any, database: object) => ((r.database = { engine: "postgres", existing: "orders-db", ...database }), (r.app = { enabled: false }), delete r.dns);
            const existingVpc = (r: any, vpc: object) => ((r.network = { existing: { ...VPC, ...vpc } }), delete r.availabilityZones);
            const NOT_CHANGED = "not used with pilotlight:database.existing (orders-db): pilotlight neither creates nor changes that database; remove it";
            return [
                { mistake: "a creation setting of an existing database", stack: "prod", change: (r) => existingDb(r, { instanceClass: "db.r6g.large", multiAz: true }), problems: [`pilotlight:database.instanceClass is "db.r6g.large"; ${NOT_CHANGED}`, `pilotlight:database.multiAz is true; ${NOT_CHANGED}`] },
                {
                    mistake: "an existing database with the program's app tier",
                    stack: "prod",
                    change: (r) => ((r.database = { engine: "postgres", existing: "orders-db" }), (r.app = { instanceType: "t3.small" })),
                    problems: ["pilotlight:app.enabled is true; expected false with pilotlight:database.existing (orders-db): the app tier connects only to a database this program creates, and orders-db's application keeps its own settings"],
                },
                {
                    mistake: "an existing database on dr",
                    stack: "dr",
                    change: (r) => (r.database = { engine: "postgres", existing: "orders-db" }),
                    problems: ['pilotlight:database.existing is "orders-db"; applies only to the primary stack; dr creates its own database at failover from the primary\'s copies: name the primary\'s database in pilotlight:failoverDatabase.sourceIdentifier instead'],
                },
                { mistake: "an existing database named with capitals", stack: "prod", change: (r) => existingDb(r, { existing: "Orders-DB" }), problems: ['pilotlight:database.existing is "Orders-DB"; expected the identifier of an existing RDS instance or Aurora cluster: ' + identifierProblem("Orders-DB")] },
                { mistake: "DNS without an app tier", stack: "prod", change: (r) => ((r.app = { enabled: false }), (r.dns = { hostedZoneId: "Z0123456789ABCDEFGHIJ", recordName: "app.example.com" })), problems: [`pilotlight:dns is {"hostedZoneId":"Z0123456789ABCDEFGHIJ","recordName":"app.example.com"}; the records fail over between the stacks' load balancers, which pilotlight:app.enabled false leaves out; remove pilotlight:dns from both stack files or enable the app tier`] },
                { mistake: "an app setting with the app tier off", stack: "dr", change: (r) => ((r.app = { enabled: false, minSize: 0 }), delete r.dns), problems: ["pilotlight:app.minSize is 0; not used with pilotlight:app.enabled false (this stack has no app tier); remove it"] },
                {
                    mistake: "more e-mail recipients than one SES message takes",
                    stack: "prod",
                    change: (r) => (r.alerts = { emailSender: "dr@example.com", emailRecipients: Array.from({ length: 51 }, (_, i) => `oncall${i}@example.com`) }),
                    problems: [`pilotlight:alerts.emailRecipients is ${JSON.stringify(Array.from({ length: 51 }, (_, i) => `oncall${i}@example.com`))}; expected at most 50 addresses: each alert is one SES message, which takes at most 50 recipients (use a distribution list)`],
                },
                { mistake: "a database client named by its Name tag", stack: "dr", change: (r) => (r.network = { databaseClients: ["10.20.0.0/16", "app-servers"] }), problems: ['pilotlight:network.databaseClients is ["10.20.0.0/16","app-servers"]; expected a list of IPv4 CIDRs or security group ids, e.g. ["10.20.0.0/16", "sg-0123456789abcdef0"]'] },
                { mistake: "the app port without an app tier", stack: "dr", change: (r) => ((r.app = { enabled: false }), (r.network = { appPort: 8080 }), delete r.dns), problems: ["pilotlight:network.appPort is 8080; not used with pilotlight:app.enabled false (this stack has no app tier); remove it"] },
                { mistake: "a Redis setting without Redis", stack: "prod", change: (r) => (r.app = { redis: false, redisNodes: 3 }), problems: ["pilotlight:app.redisNodes is 3; not used with pilotlight:app.redis false (no cache); remove it"] },
                { mistake: "an existing VPC without public subnets for the app tier", stack: "prod", change: (r) => existingVpc(r, { publicSubnetIds: undefined }), problems: ["pilotlight:network.existing.publicSubnetIds is missing; the app tier's internet-facing load balancer needs public subnets in at least 2 zones: list them, or set pilotlight:app.enabled false"] },
                { mistake: "availability zones with an existing VPC", stack: "prod", change: (r) => (r.network = { existing: VPC }), problems: ['pilotlight:availabilityZones is ["us-east-1a","us-east-1b"]; not used with pilotlight:network.existing: the existing subnets are in their own zones; remove it'] },
                {
                    mistake: "NAT settings with an existing VPC",
                    stack: "dr",
                    change: (r) => ((r.network = { natGateways: "onePerAz", existing: VPC }), delete r.availabilityZones),
                    problems: ['pilotlight:network.natGateways is "onePerAz"; not used with pilotlight:network.existing: the existing VPC\'s own routes (NAT or endpoints) carry the app tier\'s and the Lambdas\' traffic; remove it'],
                },
                {
                    mistake: "one subnet in two tiers",
                    stack: "prod",
                    change: (r) => existingVpc(r, { dbSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000002b"] }),
                    problems: ['pilotlight:network.existing.dbSubnetIds is ["subnet-0000000000000001a","subnet-0000000000000002b"]; expected subnets of their own tier: subnet-0000000000000001a is also in appSubnetIds'],
                },
                { mistake: "a single app subnet", stack: "prod", change: (r) => existingVpc(r, { appSubnetIds: ["subnet-0000000000000001a"] }), problems: ['pilotlight:network.existing.appSubnetIds is ["subnet-0000000000000001a"]; expected a list of at least 2 subnet ids in different availability zones, e.g. ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]'] },
                { mistake: "a VPC named by its Name tag", stack: "prod", change: (r) => existingVpc(r, { vpcId: "prod-vpc" }), problems: ['pilotlight:network.existing.vpcId is "prod-vpc"; expected a VPC id such as vpc-0123456789abcdef0'] },
            ];
        })(),
        // The provider's account guard.
        { mistake: "a service-linked role by its short name", stack: "dr", change: (r) => (r.serviceLinkedRoles = ["autoscaling"]), problems: ['pilotlight:serviceLinkedRoles is ["autoscaling"]; expected a list of the service-linked roles to create in this account, each one of autoscaling.amazonaws.com, elasticache.amazonaws.com, rds.amazonaws.com; leave out those the account already has (aws iam list-roles --path-prefix /aws-service-role/)'] },
        { mistake: "a service-linked role twice", stack: "dr", change: (r) => (r.serviceLinkedRoles = ["rds.amazonaws.com", "rds.amazonaws.com"]), problems: ['pilotlight:serviceLinkedRoles is ["rds.amazonaws.com","rds.amazonaws.com"]; expected each service once'] },
        { mistake: "images of gone sources kept 0 days", stack: "prod", change: (r) => (r.backups = { images: { goneSourceDays: 0 } }), problems: ["pilotlight:backups.images.goneSourceDays is 0; expected a whole number from 1 to 3650"] },
        { mistake: "allowedAccountIds naming the peer's account", stack: "prod", change: () => undefined, env: { allowedAccountIds: '["222222222222"]' }, problems: ['aws:allowedAccountIds is ["222222222222"]; expected ["111111111111"], the account pilotlight:accountId names: names and ARNs are computed from pilotlight:accountId, so the provider must refuse any other account'] },
        { mistake: "allowedAccountIds with a second account", stack: "dr", change: () => undefined, env: { allowedAccountIds: ["222222222222", "111111111111"] }, problems: ['aws:allowedAccountIds is ["222222222222","111111111111"]; expected ["222222222222"], the account pilotlight:accountId names: names and ARNs are computed from pilotlight:accountId, so the provider must refuse any other account'] },
    ];
    for (const m of mistakes) {
        it(`refuses ${m.mistake}`, () => assert.deepStrictEqual(refusal(m.stack, m.change, m.region, m.env), m.problems));
    }

    it("accepts major engine versions and defaults to them", () => {
        for (const [engine, version] of [["postgres", "16"], ["mysql", "8.0"], ["aurora-postgresql", "16"], ["aurora-mysql", "8.0"], ["postgres", "16.8"], ["aurora-mysql", "8.0.mysql_aurora.3.08.2"]]) {
            assert.deepStrictEqual(refusal("prod", (r) => (r.database = { engine, engineVersion: version })), [], `${engine} ${version}`);
            assert.strictEqual(parseStackConfig("prod", prodRawConfig({ database: { engine } }), "us-east-1").database.engineVersion, DEFAULT_ENGINE_VERSIONS[engine as DatabaseEngine]);
        }
        assert.deepStrictEqual(Object.values(DEFAULT_ENGINE_VERSIONS), ["16", "8.0", "16", "8.0"]);
    });

    it("gives the workload database's kind to list entries that leave it out", () => {
        const cfg = parseStackConfig(
            "prod",
            prodRawConfig({
                database: { engine: "aurora-postgresql" },
                restore: { databases: ["pilotlight-db", "billing"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "pilotlight-db", task: "create_snapshot_only" } }] },
                backups: { databases: [{ identifier: "pilotlight-db" }, { identifier: "billing" }] },
            }),
            "us-east-1",
        );
        assert.deepStrictEqual(cfg.restore?.databases, [{ identifier: "pilotlight-db", isCluster: true }, { identifier: "billing", isCluster: false }]);
        assert.strictEqual(cfg.restore?.schedules[0].input.isCluster, true);
        assert.deepStrictEqual(cfg.backups?.databases, [{ identifier: "pilotlight-db", isCluster: true }, { identifier: "billing", isCluster: false }]);
    });

    it("refuses a VPC whose public subnets would be smaller than the /27 a load balancer needs, by the network's subnet plan", () => {
        for (const prefix of [16, 17, 18, 19, 20]) {
            for (const azs of [2, 3, 6]) {
                const cidr = `10.10.0.0/${prefix}`;
                const zones = ["a", "b", "c", "d", "e", "f"].slice(0, azs).map((z) => `us-east-1${z}`);
                const plan = planSubnets(cidr, azs);
                const smallest = Math.max(...plan.public.map((c) => parseCidr(c)!.prefix));
                const expected = smallest > 27 ? [`pilotlight:vpcCidr is "${cidr}"; its public subnets would be /${smallest} (${plan.public[0]}, ...), but a load balancer needs at least a /27 in each zone; use a larger VPC (e.g. a /16)`] : [];
                assert.deepStrictEqual(refusal("prod", (r) => ((r.vpcCidr = cidr), (r.availabilityZones = zones))), expected, `${cidr} over ${azs} zones`);
            }
        }
        // Today's plan gives a /20 VPC /28 public subnets: it must be among the refused.
        assert.ok(refusal("prod", (r) => (r.vpcCidr = "10.10.0.0/20")).length > 0 || parseCidr(planSubnets("10.10.0.0/20", 2).public[0])!.prefix <= 27);
    });

    it("lists every derived name with its AWS limit, and the longest fit for the longest allowed prefix", () => {
        const names = derivedNames({ namePrefix: "a".repeat(20), accountId: "111111111111", region: "ap-southeast-2", peer: { stack: "dr", accountId: "222222222222", region: "ap-northeast-3", vpcCidr: "10.20.0.0/16" }, restore: undefined });
        assert.ok(names.length >= 8);
        for (const n of names) assert.ok(n.name.length <= n.max, `${n.what} ${n.name} is ${n.name.length} > ${n.max}`);
        assert.deepStrictEqual(names.find((n) => n.what === "S3 bucket name"), { what: "S3 bucket name", name: `${"a".repeat(20)}-media-111111111111-ap-southeast-2`, max: 63, keys: ["namePrefix", "aws:region"] });
    });

    it("warns when the restore machine leaves out the workload database a failback needs", () => {
        assert.deepStrictEqual(configWarnings(parseStackConfig("prod", prodRawConfig({ restore: { databases: ["billing"] } }), "us-east-1")), [
            'pilotlight:restore.databases is ["billing"]; it leaves out the workload database pilotlight-db, so no failback machine is deployed and after a failover dr\'s data cannot come home through pilotlight; add "pilotlight-db" unless you bring it home another way',
        ]);
        assert.deepStrictEqual(configWarnings(parseStackConfig("prod", prodRawConfig({ restore: { databases: ["pilotlight-db"] } }), "us-east-1")), []);
        assert.deepStrictEqual(configWarnings(parseStackConfig("prod", prodRawConfig(), "us-east-1")), []);
    });

    it("suggests the closest key only when it is close", () => {
        assert.strictEqual(closestKey("databse", ["database", "dns"]), "database");
        assert.strictEqual(closestKey("DNS", ["database", "dns"]), "dns");
        assert.strictEqual(closestKey("owner", ["database", "dns"]), undefined);
        assert.strictEqual(closestKey("writer", ["identifier", "writerClass"]), "writerClass");
    });
});

describe("config: the two stack files together", () => {
    const file = (stack: "prod" | "dr", change: (r: any) => void = () => undefined, region?: string): StackFile => {
        const raw = stack === "prod" ? prodRawConfig() : drRawConfig();
        change(raw);
        return { file: `Pulumi.${stack}.yaml`, raw, region: region ?? (stack === "prod" ? "us-east-1" : "us-west-2") };
    };

    it("accepts the example stack files", () => {
        const prod = stackFileFromYaml("Pulumi.prod.yaml", yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8")));
        const dr = stackFileFromYaml("Pulumi.dr.yaml", yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dr.yaml"), "utf8")));
        assert.deepStrictEqual(crossCheckStackFiles(prod, dr), []);
        assert.deepStrictEqual(crossCheckStackFiles(dr, prod), []);
        assert.strictEqual(prod.region, "us-east-1");
        assert.deepStrictEqual(prod.allowedAccountIds, ["111111111111"]);
    });

    const mismatches: { mismatch: string; own: StackFile; other: StackFile; problems: string[] }[] = [
        { mismatch: "the peer's account", own: file("prod", (r) => (r.peer.accountId = "222222222223")), other: file("dr"), problems: ['Pulumi.prod.yaml pilotlight:peer.accountId is "222222222223" but Pulumi.dr.yaml pilotlight:accountId is "222222222222"; the two must agree'] },
        { mismatch: "the peer's region", own: file("prod"), other: file("dr", () => undefined, "us-west-1"), problems: ['Pulumi.prod.yaml pilotlight:peer.region is "us-west-2" but Pulumi.dr.yaml aws:region is "us-west-1"; the two must agree'] },
        { mismatch: "the peer's CIDR, seen from the other file", own: file("prod"), other: file("dr", (r) => (r.peer.vpcCidr = "10.11.0.0/16")), problems: ['Pulumi.dr.yaml pilotlight:peer.vpcCidr is "10.11.0.0/16" but Pulumi.prod.yaml pilotlight:vpcCidr is "10.10.0.0/16"; the two must agree'] },
        { mismatch: "which stack the peer names", own: file("prod"), other: file("dr", (r) => (r.peer.stack = "production")), problems: ['Pulumi.dr.yaml pilotlight:peer.stack is "production" but this stack is prod (Pulumi.prod.yaml); the two must name each other'] },
        { mismatch: "the name prefix (one left at its default)", own: file("prod", (r) => (r.namePrefix = "shop")), other: file("dr"), problems: ['Pulumi.prod.yaml pilotlight:namePrefix is "shop" but Pulumi.dr.yaml pilotlight:namePrefix is "pilotlight"; both stacks must use the same value'] },
        { mismatch: "the database engine", own: file("dr", (r) => (r.database = { engine: "aurora-postgresql" })), other: file("prod"), problems: ['Pulumi.dr.yaml pilotlight:database.engine is "aurora-postgresql" but Pulumi.prod.yaml pilotlight:database.engine is "postgres"; both stacks must use the same value'] },
        {
            mismatch: "the DNS record",
            own: file("prod", (r) => (r.dns = { hostedZoneId: "Z0123456789ABCDEFGHIJ", recordName: "app.example.com" })),
            other: file("dr", (r) => (r.dns = { hostedZoneId: "Z0123456789ABCDEFGHIJ", recordName: "www.example.com" })),
            problems: ['Pulumi.prod.yaml pilotlight:dns.recordName is "app.example.com" but Pulumi.dr.yaml pilotlight:dns.recordName is "www.example.com"; both stacks must use the same value'],
        },
        { mismatch: "DNS in one file only", own: file("prod", (r) => (r.dns = { hostedZoneId: "Z0123456789ABCDEFGHIJ", recordName: "app.example.com" })), other: file("dr"), problems: ["Pulumi.prod.yaml sets pilotlight:dns but Pulumi.dr.yaml does not; the PRIMARY and SECONDARY records need the same zone and name in both stacks"] },
    ];
    for (const m of mismatches) {
        it(`refuses a mismatch of ${m.mismatch}, naming both files and both values`, () => assert.deepStrictEqual(crossCheckStackFiles(m.own, m.other), m.problems));
    }
});

describe("synth: what it cannot show as pulumi up would run it", () => {
    const stackDir = (files: Record<string, string>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        for (const stack of ["prod", "dr"]) fs.copyFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
        for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
        return dir;
    };

    it("has nothing to report for the example stack files", () => {
        for (const stack of ["prod", "dr"]) assert.deepStrictEqual(stackFileReport(stack), { errors: [], notes: [] });
    });

    it("refuses ESC environment imports, which it cannot read", () => {
        const prod = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8");
        const dir = stackDir({ "Pulumi.prod.yaml": `environment:\n  - platform/prod-secrets\n${prod}` });
        assert.deepStrictEqual(stackFileReport("prod", [], dir).errors, [
            'Pulumi.prod.yaml imports the ESC environment(s) "platform/prod-secrets", which synth cannot read: its plan would differ from the one pulumi up runs. Write the values the stack needs into Pulumi.prod.yaml (pulumi env get <environment>), or review with pulumi preview',
        ]);
    });

    it("notes aws: provider keys that change the plan but that the mocks do not apply", () => {
        const prod = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8").replace("config:\n", 'config:\n  aws:profile: prod\n  aws:defaultTags:\n    tags:\n      team: platform\n');
        const report = stackFileReport("prod", [], stackDir({ "Pulumi.prod.yaml": prod }));
        assert.deepStrictEqual(report, { errors: [], notes: ["aws:defaultTags is set in Pulumi.prod.yaml: the AWS provider applies it at deployment, synth's mocks do not, so its effect (e.g. default tags) is not shown here"] });
        assert.match(summary({ stack: "prod", resources: [], outputs: {}, secretKeys: [], calls: [] }, report.notes), /## Not shown by synth\n\n- aws:defaultTags is set in Pulumi\.prod\.yaml/);
    });

    it("reports a key outside the pilotlight: namespace instead of dropping it", async () => {
        const { config } = readStackConfig("prod");
        await assert.rejects(runProgram("prod", { config: { ...config, "pilotlihgt:failover": "true", role: "primary" } }), (e: Error) => {
            assert.ok(e.message.includes("pilotlihgt:failover is not read by this program (its keys are pilotlight:<key>, plus aws:region and aws:allowedAccountIds); did you mean pilotlight:failover?"), e.message);
            assert.ok(e.message.includes("role is not read by this program (its keys are pilotlight:<key>, plus aws:region and aws:allowedAccountIds); did you mean pilotlight:role?"), e.message);
            return true;
        });
    });

    it("shows the config's warnings in the summary's notes", () => {
        assert.deepStrictEqual(stackFileReport("prod", ['restore={"databases":["billing"]}']).notes, [
            'warning: pilotlight:restore.databases is ["billing"]; it leaves out the workload database pilotlight-db, so no failback machine is deployed and after a failover dr\'s data cannot come home through pilotlight; add "pilotlight-db" unless you bring it home another way',
        ]);
    });

    it("checks the stack against its peer's file, with the overrides applied", async () => {
        assert.deepStrictEqual(stackFileReport("prod", ["peer.accountId=333333333333"]).errors, ['Pulumi.prod.yaml pilotlight:peer.accountId is "333333333333" but Pulumi.dr.yaml pilotlight:accountId is "222222222222"; the two must agree']);
        await assert.rejects(synth(parseArgs(["--stack", "prod", "--set", "namePrefix=shop", "--out", fs.mkdtempSync(path.join(os.tmpdir(), "synth-x-"))])), /Pulumi\.prod\.yaml cannot be synthesized as pulumi up would run it:\n  - Pulumi\.prod\.yaml pilotlight:namePrefix is "shop" but Pulumi\.dr\.yaml pilotlight:namePrefix is "pilotlight"/);
    });

    it("marks what a real deployment looks up (AMIs, snapshots, secrets, the latest copy) instead of the mocks' answers", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-l-"));
        await synth(parseArgs(["--stack", "dr", "--set", "failover=true", "--out", out]));
        const text = fs.readdirSync(path.join(out, "dr"), { recursive: true }).map((f) => path.join(out, "dr", String(f))).filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f, "utf8")).join("\n");
        assert.ok(!text.includes("copy-latest") && !text.includes("pilotlight-db-bk-20260101000000"), "the mocks' snapshot name is shown as real");
        // Two accounts: the newest snapshot the peer shared (a same-account dr finds its own copy by getSnapshot).
        assert.ok(text.includes("<looked up at deploy time: getSnapshots dbSnapshotArn>"), "the shared snapshot is marked as looked up");
        assert.deepStrictEqual(markLookups({ a: ["x-pilotlight-db-v7.mock"], b: 7 }, new Map([["pilotlight-db-v7", "secret identifier"], ["pilotlight-db-v7.mock", "secret host"]])), { a: ["x-<looked up at deploy time: secret host>"], b: 7 });
    });
});

describe("docs/configuration.md", () => {
    it("documents every key of the schema, with the file's single title", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "configuration.md"), "utf8");
        assert.match(doc, /^# Configuration\n/);
        assert.strictEqual(doc.match(/^# /gm)?.length, 1);
        const lines = doc.split("\n");
        const paths = schemaKeyPaths().map((p) => p.replace(/\[\]$/, ""));
        // Leaves only: a section is documented by its keys.
        const leaves = paths.filter((p) => !paths.some((o) => o.startsWith(`${p}.`) || o.startsWith(`${p}[].`)));
        const missing = leaves.filter((p) => {
            const dot = p.lastIndexOf(".");
            const [parent, leaf] = dot < 0 ? ["", p] : [p.slice(0, dot + 1), p.slice(dot + 1)];
            return !lines.some((l) => l.startsWith("|") && l.includes(`pilotlight:${parent}`) && (l.includes(`pilotlight:${p}\``) || l.includes(`/ \`${leaf}\``)));
        });
        assert.deepStrictEqual(missing, []);
    });
});
