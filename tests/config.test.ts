import * as assert from "assert";
import { cidrsOverlap, ConfigError, isScheduleExpression, parseCidr, parseStackConfig, RawConfig, rawFromConfigMap } from "../config";
import { drRawConfig, prodRawConfig } from "./fixtures";
import { readStackConfig } from "./program";

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
        assert.deepStrictEqual(cfg.network, { vpcCidr: "10.10.0.0/16", availabilityZones: ["us-east-1a", "us-east-1b"], natGateways: "single", lambdasInVpc: false, appPort: 80 });
        assert.deepStrictEqual(cfg.media, { replicationTimeControl: false, noncurrentVersionDays: 90, replicateBack: true });
        assert.deepStrictEqual(cfg.database, {
            engine: "postgres",
            port: 5432,
            engineVersion: "16.8",
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
        assert.deepStrictEqual([aurora.engineVersion, aurora.instanceClass, aurora.readerClass], ["8.0.mysql_aurora.3.08.2", "db.r7g.large", "db.r7g.large"]);
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
        { rule: "aurora unknown cluster setting", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", writer: "db.r6g.large" }] }), expect: ["pilotlight:auroraFailover.clusters[0].writer", "not a known setting"] },
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
        { rule: "engine version of another engine", stack: "prod", change: (r) => (r.database = { engine: "mysql", engineVersion: "16.8" }), expect: ["pilotlight:database.engineVersion", '"16.8"', "version of mysql such as 8.0.41"] },
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
        { rule: "backup identifier invalid", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "App_DB" }] }), expect: ["pilotlight:backups.databases.0.identifier", '"App_DB"', "RDS identifier"] },
        { rule: "backup database listed twice", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "app-db" }, { identifier: "app-db" }] }), expect: ["pilotlight:backups.databases.1.identifier", "each database once"] },
        { rule: "backup isCluster not a boolean", stack: "prod", change: (r) => (r.backups = { databases: [{ identifier: "app-db", isCluster: "maybe" }] }), expect: ["pilotlight:backups.databases.0.isCluster", '"maybe"', "true or false"] },
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
