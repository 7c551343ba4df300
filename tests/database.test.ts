import * as assert from "assert";
import {
    databaseTags,
    describeSource,
    engineParameters,
    finalSnapshotName,
    finalSnapshotOrigin,
    parameterGroupFamily,
    parseAdoptedSecret,
    restoreSource,
} from "../components/database";
import { DatabaseEngine } from "../config";
import { MANAGED_TAG, WRITER_CLASS_TAG } from "../functions/lib/tags";
import { oneResource, ProgramResource, ProgramRun, runProgram } from "./program";

function ofType(run: ProgramRun, type: string): ProgramResource[] {
    return run.resources.filter((r) => r.type === type);
}

const DB_TYPES = ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup"];

describe("Database", () => {
    describe("pure logic", () => {
        const families: [DatabaseEngine, string, string][] = [
            ["postgres", "16.8", "postgres16"],
            ["postgres", "17", "postgres17"],
            ["mysql", "8.0", "mysql8.0"],
            ["aurora-postgresql", "16", "aurora-postgresql16"],
            ["aurora-mysql", "8.0", "aurora-mysql8.0"],
            ["mysql", "8.0.41", "mysql8.0"],
            ["mysql", "8.4.4", "mysql8.4"],
            ["aurora-postgresql", "16.6", "aurora-postgresql16"],
            ["aurora-mysql", "8.0.mysql_aurora.3.08.2", "aurora-mysql8.0"],
        ];
        for (const [engine, version, family] of families) {
            it(`parameter group family of ${engine} ${version} is ${family}`, () => assert.strictEqual(parameterGroupFamily(engine, version), family));
        }
        it("rejects a version without a family, naming it", () => {
            assert.throws(() => parameterGroupFamily("mysql", "eight"), /"eight" of mysql has no parameter group family; expected e.g. 8.0.41/);
        });

        it("requires TLS on every engine", () => {
            assert.deepStrictEqual(engineParameters("postgres"), [{ name: "rds.force_ssl", value: "1" }]);
            assert.deepStrictEqual(engineParameters("aurora-postgresql"), [{ name: "rds.force_ssl", value: "1" }]);
            assert.deepStrictEqual(engineParameters("mysql"), [{ name: "require_secure_transport", value: "1" }]);
            assert.deepStrictEqual(engineParameters("aurora-mysql"), [{ name: "require_secure_transport", value: "1" }]);
        });

        it("tags managed databases, and clusters with their writer class", () => {
            assert.deepStrictEqual(databaseTags({ owner: "x" }, "pilotlight-db"), { owner: "x", Name: "pilotlight-db", [MANAGED_TAG]: "true" });
            assert.deepStrictEqual(databaseTags({}, "pilotlight-db", "db.r7g.large"), { Name: "pilotlight-db", [MANAGED_TAG]: "true", [WRITER_CLASS_TAG]: "db.r7g.large" });
        });

        it("names a new database's final snapshot <identifier>-final and a restored one's after what it was restored from", () => {
            assert.strictEqual(finalSnapshotName("pilotlight-db"), "pilotlight-db-final");
            assert.strictEqual(finalSnapshotName("pilotlight-db", finalSnapshotOrigin({ kind: "new" })), "pilotlight-db-final");
            const latest = (s: string) => finalSnapshotName("pilotlight-db", finalSnapshotOrigin({ kind: "latestCopy", sourceIdentifier: "pilotlight-db" }, s));
            const named = (s: string) => finalSnapshotName("pilotlight-db", finalSnapshotOrigin({ kind: "snapshot", snapshotIdentifier: s }));
            assert.strictEqual(latest("pilotlight-db-bk-20261120030000"), "pilotlight-db-final-pilotlight-db-bk-20261120030000");
            assert.notStrictEqual(latest("pilotlight-db-bk-20261120030000"), latest("pilotlight-db-bk-20261121030000"), "two restored snapshots, two final snapshots");
            assert.strictEqual(latest("pilotlight-db-bk-20261120030000"), latest("pilotlight-db-bk-20261120030000"), "the same snapshot, the same name");
            assert.strictEqual(named("s1"), "pilotlight-db-final-s1");
            assert.strictEqual(named("arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-2026-11-20"), "pilotlight-db-final-pilotlight-db-2026-11-20", "an ARN is named by its identifier");
            assert.strictEqual(named("rds:pilotlight-db-2026-11-20-03-05"), "pilotlight-db-final-pilotlight-db-2026-11-20-03-05");
            assert.throws(() => finalSnapshotOrigin({ kind: "latestCopy", sourceIdentifier: "pilotlight-db" }), /needs the snapshot's identifier/);
        });

        it("names a point-in-time restore's final snapshot after the restore time or latest and the backups it came from", () => {
            const pit = (arn: string, restoreTime?: string) => finalSnapshotName("pilotlight-db", finalSnapshotOrigin({ kind: "pointInTime", automatedBackupsArn: arn, restoreTime }));
            const arn = "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123";
            assert.match(pit(arn), /^pilotlight-db-final-pit-latest-[0-9a-f]{8}$/);
            assert.match(pit(arn, "2026-11-20T10:00:00Z"), /^pilotlight-db-final-pit-2026-11-20t10-00-00z-[0-9a-f]{8}$/);
            assert.strictEqual(pit(arn, "2026-11-20T10:00:00Z"), pit(arn, "2026-11-20T10:00:00Z"));
            assert.notStrictEqual(pit(arn, "2026-11-20T10:00:00Z"), pit(arn, "2026-11-20T11:00:00Z"));
            assert.notStrictEqual(pit(arn), pit("arn:aws:rds:us-west-2:222222222222:auto-backup:ab-def456"));
        });

        it("keeps every final snapshot name a valid snapshot identifier", () => {
            const valid = (n: string) => /^[a-z][a-z0-9-]*$/.test(n) && n.length <= 255 && !n.endsWith("-") && !n.includes("--");
            const longId = "a" + "b".repeat(39);
            const origins = ["x".repeat(300), `${"y".repeat(213)}--z`, "-a--b-", "A_B.C", "---", "", "s".repeat(300) + "-", `${"q".repeat(200)}-${"r".repeat(100)}`];
            for (const id of ["pilotlight-db", longId]) {
                for (const origin of origins) {
                    const n = finalSnapshotName(id, origin);
                    assert.ok(valid(n), `${JSON.stringify(n)} from ${JSON.stringify(origin)}`);
                    assert.ok(n.startsWith(`${id}-final-`), n);
                }
            }
            assert.strictEqual(finalSnapshotName("pilotlight-db", "-a--b-"), "pilotlight-db-final-a-b");
            assert.strictEqual(finalSnapshotName("pilotlight-db", "A_B.C"), "pilotlight-db-final-a-b-c");
            const long1 = finalSnapshotName(longId, "x".repeat(300));
            const long2 = finalSnapshotName(longId, "x".repeat(301));
            assert.strictEqual(long1.length, 255);
            assert.notStrictEqual(long1, long2, "a cut origin still differs by its hash");
            assert.strictEqual(long1, finalSnapshotName(longId, "x".repeat(300)));
        });

        it("maps each restore source", () => {
            const cases: [Parameters<typeof restoreSource>[0], ReturnType<typeof restoreSource>, string][] = [
                [{ source: "latestCopy", sourceIdentifier: "pilotlight-db" }, { kind: "latestCopy", sourceIdentifier: "pilotlight-db" }, "newest snapshot copied into this region from pilotlight-db"],
                [{ source: "snapshot", sourceIdentifier: "pilotlight-db", snapshotIdentifier: "s1" }, { kind: "snapshot", snapshotIdentifier: "s1" }, "snapshot s1"],
                [
                    { source: "pointInTime", sourceIdentifier: "pilotlight-db", automatedBackupsArn: "arn:ab" },
                    { kind: "pointInTime", automatedBackupsArn: "arn:ab", restoreTime: undefined },
                    "point in time (latest restorable) from arn:ab",
                ],
                [{ source: "adopt", sourceIdentifier: "pilotlight-db", secretName: "copy/current" }, { kind: "adopt", secretName: "copy/current" }, "instance named by secret copy/current (adopted, not restored)"],
            ];
            for (const [cfg, source, description] of cases) {
                assert.deepStrictEqual(restoreSource(cfg), source);
                assert.strictEqual(describeSource(source), description);
            }
            assert.throws(() => restoreSource({ source: "snapshot", sourceIdentifier: "x" }), /pilotlight:failoverDatabase.snapshotIdentifier is missing/);
        });

        it("reads the copy target's secret and rejects a malformed one with what is wrong", () => {
            assert.deepStrictEqual(parseAdoptedSecret("s", JSON.stringify({ host: "db.example", port: "5432", identifier: "pilotlight-db-v3", version: 3 })), {
                host: "db.example",
                port: 5432,
                identifier: "pilotlight-db-v3",
                version: "3",
            });
            const bad: [string, RegExp][] = [
                ["not json", /secret s is not JSON; expected \{"host", "port", "identifier", "version"\}/],
                [JSON.stringify({ port: 5432, identifier: "a", version: 1 }), /host is undefined, expected a DNS name/],
                [JSON.stringify({ host: "h", port: 80, identifier: "a", version: 1 }), /port is 80, expected 1150-65535/],
                [JSON.stringify({ host: "h", port: 5432, identifier: "Bad_Id", version: 1 }), /identifier is "Bad_Id"/],
                [JSON.stringify({ host: "h", port: 5432, identifier: "a" }), /version is missing/],
            ];
            for (const [json, error] of bad) assert.throws(() => parseAdoptedSecret("s", json), error);
        });
    });

    describe("prod (new RDS instance)", () => {
        let run: ProgramRun;
        before(async () => (run = await runProgram("prod")));

        it("is encrypted with the shared key, RDS-managed password, protected, backed up, in the db tier", () => {
            const db = oneResource(run, "aws:rds/instance:Instance", "database-instance");
            const key = oneResource(run, "aws:kms/key:Key", "shared-key");
            const params = oneResource(run, "aws:rds/parameterGroup:ParameterGroup", "database-params");
            const i = db.inputs;
            assert.strictEqual(i.identifier, "pilotlight-db");
            // A major version: RDS picks the minor, automatic minor upgrades move it on without a planned downgrade.
            assert.deepStrictEqual([i.engine, i.engineVersion, i.instanceClass, i.port], ["postgres", "16", "db.t4g.medium", 5432]);
            assert.deepStrictEqual([i.allocatedStorage, i.maxAllocatedStorage, i.autoMinorVersionUpgrade], [20, 100, true]);
            assert.strictEqual(i.storageEncrypted, true);
            assert.strictEqual(i.kmsKeyId, key.state.arn);
            assert.strictEqual(i.manageMasterUserPassword, true);
            assert.strictEqual(i.masterUserSecretKmsKeyId, key.state.arn);
            assert.strictEqual(i.password, undefined, "no password in the program");
            assert.strictEqual(i.username, "pilotlight");
            assert.strictEqual(i.dbName, "app");
            assert.strictEqual(i.deletionProtection, true);
            assert.strictEqual(i.backupRetentionPeriod, 7);
            assert.strictEqual(i.copyTagsToSnapshot, true);
            assert.strictEqual(i.skipFinalSnapshot, false);
            assert.strictEqual(i.finalSnapshotIdentifier, "pilotlight-db-final");
            assert.strictEqual(i.deleteAutomatedBackups, false);
            assert.strictEqual(i.publiclyAccessible, false);
            assert.strictEqual(i.multiAz, true, "Pulumi.prod.yaml asks for Multi-AZ");
            assert.strictEqual(i.dbSubnetGroupName, "pilotlight-db");
            assert.deepStrictEqual(i.vpcSecurityGroupIds, [oneResource(run, "aws:ec2/securityGroup:SecurityGroup", "network-db").id]);
            assert.strictEqual(i.parameterGroupName, params.state.name);
            assert.deepStrictEqual([i.performanceInsightsEnabled, i.performanceInsightsKmsKeyId, i.performanceInsightsRetentionPeriod], [true, key.state.arn, 7]);
            assert.strictEqual(i.monitoringInterval, 0);
            assert.strictEqual(i.snapshotIdentifier, undefined);
            assert.strictEqual(i.restoreToPointInTime, undefined);
            assert.strictEqual(i.tags[MANAGED_TAG], "true");
            assert.strictEqual(i.tags[WRITER_CLASS_TAG], undefined);
            assert.deepStrictEqual(
                { name: params.inputs.name, family: params.inputs.family, parameters: params.inputs.parameters.map((p: any) => ({ name: p.name, value: p.value })) },
                { name: "pilotlight-db-postgres16", family: "postgres16", parameters: [{ name: "rds.force_ssl", value: "1" }] },
            );
            assert.ok(db.urn.includes("pilotlight:database:Database$aws:rds/instance:Instance::database-instance"), db.urn);
        });

        it("exports identifier, endpoint, port, ARN, cluster flag and secret ARN", () => {
            assert.deepStrictEqual(
                {
                    id: run.outputs.databaseIdentifier,
                    endpoint: run.outputs.databaseEndpoint,
                    port: run.outputs.databasePort,
                    arn: run.outputs.databaseArn,
                    cluster: run.outputs.databaseIsCluster,
                    secret: run.outputs.databaseSecretArn,
                    source: run.outputs.databaseSource,
                },
                {
                    id: "pilotlight-db",
                    endpoint: "pilotlight-db.mock.us-east-1.rds.amazonaws.com",
                    port: 5432,
                    arn: "arn:aws:rds:us-east-1:111111111111:db:pilotlight-db",
                    cluster: false,
                    secret: "arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!db-pilotlight-db-AbCdEf",
                    source: "new database",
                },
            );
        });

        it("adds Enhanced Monitoring with AWS's service role policy only when asked", async () => {
            assert.strictEqual(ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
            const monitored = await runProgram("prod", { sets: ["database.monitoringIntervalSeconds=30"] });
            const db = oneResource(monitored, "aws:rds/instance:Instance", "database-instance");
            const role = oneResource(monitored, "aws:iam/role:Role", "database-monitoring");
            const attach = oneResource(monitored, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "database-monitoring");
            assert.deepStrictEqual([db.inputs.monitoringInterval, db.inputs.monitoringRoleArn], [30, role.state.arn]);
            assert.strictEqual(attach.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
            assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal, { Service: "monitoring.rds.amazonaws.com" });
        });
    });

    describe("prod (Aurora cluster)", () => {
        let run: ProgramRun;
        before(async () => (run = await runProgram("prod", { sets: ["database.engine=aurora-postgresql", "database.engineVersion=16.6", "database.instanceClass=db.r7g.large", "database.readerClass=db.r7g.medium", "database.instanceCount=3", "copy.source=reports-db"] })));

        it("is a cluster with its own cluster parameter group, writer class tag and writer first", () => {
            const cluster = oneResource(run, "aws:rds/cluster:Cluster", "database-cluster");
            const key = oneResource(run, "aws:kms/key:Key", "shared-key");
            const params = oneResource(run, "aws:rds/clusterParameterGroup:ClusterParameterGroup", "database-cluster-params");
            const c = cluster.inputs;
            assert.strictEqual(c.clusterIdentifier, "pilotlight-db");
            assert.deepStrictEqual([c.engine, c.engineVersion, c.storageEncrypted, c.kmsKeyId], ["aurora-postgresql", "16.6", true, key.state.arn]);
            assert.deepStrictEqual([c.manageMasterUserPassword, c.masterUserSecretKmsKeyId, c.masterPassword], [true, key.state.arn, undefined]);
            assert.deepStrictEqual([c.deletionProtection, c.backupRetentionPeriod, c.copyTagsToSnapshot, c.skipFinalSnapshot, c.finalSnapshotIdentifier], [true, 7, true, false, "pilotlight-db-final"]);
            assert.strictEqual(c.dbClusterParameterGroupName, params.state.name);
            assert.deepStrictEqual([params.inputs.family, params.inputs.parameters[0].name], ["aurora-postgresql16", "rds.force_ssl"]);
            assert.strictEqual(c.dbSubnetGroupName, "pilotlight-db");
            assert.deepStrictEqual(c.vpcSecurityGroupIds, [oneResource(run, "aws:ec2/securityGroup:SecurityGroup", "network-db").id]);
            assert.deepStrictEqual([c.tags[MANAGED_TAG], c.tags[WRITER_CLASS_TAG]], ["true", "db.r7g.large"]);
            const members = ofType(run, "aws:rds/clusterInstance:ClusterInstance").sort((a, b) => a.name.localeCompare(b.name));
            assert.deepStrictEqual(
                members.map((m) => [m.inputs.identifier, m.inputs.instanceClass, m.inputs.promotionTier, m.inputs.tags[MANAGED_TAG], m.inputs.clusterIdentifier]),
                [
                    ["pilotlight-db-1", "db.r7g.large", 0, "true", "database-cluster-id"],
                    ["pilotlight-db-2", "db.r7g.medium", 1, "true", "database-cluster-id"],
                    ["pilotlight-db-3", "db.r7g.medium", 1, "true", "database-cluster-id"],
                ],
            );
            assert.strictEqual(ofType(run, "aws:rds/instance:Instance").length, 0);
            assert.strictEqual(run.outputs.databaseIsCluster, true);
            assert.strictEqual(run.outputs.databaseEndpoint, "pilotlight-db.cluster-mock.us-east-1.rds.amazonaws.com");
            assert.strictEqual(run.outputs.databaseSecretArn, "arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!db-pilotlight-db-AbCdEf");
        });
    });

    describe("dr failover", () => {
        // One account for prod and dr: the copies are this account's own (tests/backupLatestCopy.test.ts: two accounts).
        const SAME_ACCOUNT = ["accountId=111111111111", "peer.accountId=111111111111", 'aws:allowedAccountIds=["111111111111"]'];
        it("restores the newest copy tagged with the primary's identifier, with the DR key, subnet group and SG", async () => {
            const run = await runProgram("dr", { sets: ["failover=true", ...SAME_ACCOUNT] });
            const db = oneResource(run, "aws:rds/instance:Instance", "database-instance");
            const key = oneResource(run, "aws:kms/key:Key", "dr-key");
            const i = db.inputs;
            assert.strictEqual(i.snapshotIdentifier, "pilotlight-db-bk-20260101000000");
            // The instance keeps the copy's key (the DR key); its new managed secret uses the DR key.
            assert.deepStrictEqual([i.identifier, i.kmsKeyId, i.masterUserSecretKmsKeyId, i.storageEncrypted, i.manageMasterUserPassword], ["pilotlight-db", undefined, key.state.arn, true, true]);
            assert.deepStrictEqual([i.dbSubnetGroupName, i.vpcSecurityGroupIds], ["pilotlight-db", [oneResource(run, "aws:ec2/securityGroup:SecurityGroup", "network-db").id]]);
            assert.deepStrictEqual([i.username, i.dbName], [undefined, undefined], "a restore keeps the snapshot's user and database");
            assert.deepStrictEqual([i.deletionProtection, i.skipFinalSnapshot, i.finalSnapshotIdentifier], [true, false, "pilotlight-db-final-pilotlight-db-bk-20260101000000"]);
            assert.strictEqual(i.tags[MANAGED_TAG], "true");
            assert.strictEqual(run.outputs.databaseRestoredFrom, "pilotlight-db-bk-20260101000000");
            assert.strictEqual(run.outputs.databaseSource, "newest snapshot copied into this region from pilotlight-db");
        });

        it("leaves storage and engine version to the snapshot: never a forced size or an older version, and no fight afterwards", async () => {
            for (const sets of [["failover=true"], ["failover=true", "database.engineVersion=16.8", "database.allocatedStorage=20"]]) {
                const run = await runProgram("dr", { sets });
                const i = oneResource(run, "aws:rds/instance:Instance", "database-instance");
                assert.deepStrictEqual([i.inputs.allocatedStorage, i.inputs.engineVersion], [undefined, undefined], sets.join(" "));
                assert.strictEqual(i.inputs.maxAllocatedStorage, 100, "storage autoscaling stays on");
                for (const k of ["allocatedStorage", "engineVersion", "snapshotIdentifier"]) assert.ok(i.ignoreChanges.includes(k), `${k} is the snapshot's, never planned back`);
            }
            // prod: storage autoscaling grows it past the configured size, RDS cannot shrink it, so it is never planned back.
            const prod = oneResource(await runProgram("prod"), "aws:rds/instance:Instance", "database-instance");
            assert.deepStrictEqual(prod.ignoreChanges, ["allocatedStorage"]);
            const aurora = await runProgram("dr", { sets: ["failover=true", "database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"] });
            assert.strictEqual(oneResource(aurora, "aws:rds/cluster:Cluster", "database-cluster").inputs.engineVersion, undefined);
            assert.ok(oneResource(aurora, "aws:rds/cluster:Cluster", "database-cluster").ignoreChanges.includes("engineVersion"));
            for (const m of ofType(aurora, "aws:rds/clusterInstance:ClusterInstance")) {
                assert.strictEqual(m.inputs.engineVersion, undefined, m.name);
                assert.deepStrictEqual(m.ignoreChanges, ["engineVersion"], m.name);
            }
            // The parameter group still follows the configured major version.
            assert.strictEqual(oneResource(aurora, "aws:rds/clusterParameterGroup:ClusterParameterGroup", "database-cluster-params").inputs.family, "aurora-postgresql16");
        });

        it("looks the copy up among the source's manual snapshots in this region: the newest available one the backups made", async () => {
            const { RecordingMocks } = await import("./mocks");
            const calls: any[] = [];
            const original = RecordingMocks.prototype.call;
            RecordingMocks.prototype.call = function (this: any, args: any) {
                calls.push(args);
                return original.call(this, args);
            };
            try {
                await runProgram("dr", { sets: ["failover=true", ...SAME_ACCOUNT] });
            } finally {
                RecordingMocks.prototype.call = original;
            }
            const lookups = calls.filter((c) => /^aws:rds\/getSnapshots?:/.test(c.token));
            assert.deepStrictEqual(lookups.map((c) => [c.token, c.inputs]), [["aws:rds/getSnapshots:getSnapshots", { dbInstanceIdentifier: "pilotlight-db", snapshotType: "manual" }]]);
        });

        it("restores a named snapshot", async () => {
            const run = await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=snapshot", "failoverDatabase.snapshotIdentifier=pilotlight-db-2026-11-20"] });
            const db = oneResource(run, "aws:rds/instance:Instance", "database-instance").inputs;
            assert.strictEqual(db.snapshotIdentifier, "pilotlight-db-2026-11-20");
            assert.strictEqual(db.finalSnapshotIdentifier, "pilotlight-db-final-pilotlight-db-2026-11-20");
        });

        it("gives each restored snapshot its own final snapshot name, the same snapshot the same name", async () => {
            const finalOf = async (snapshot: string) =>
                oneResource(await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=snapshot", `failoverDatabase.snapshotIdentifier=${snapshot}`] }), "aws:rds/instance:Instance", "database-instance").inputs
                    .finalSnapshotIdentifier;
            const first = await finalOf("pilotlight-db-2026-11-20");
            const second = await finalOf("pilotlight-db-2026-11-21");
            assert.notStrictEqual(first, second);
            assert.strictEqual(await finalOf("pilotlight-db-2026-11-20"), first);
        });

        it("restores a cluster from the newest cluster snapshot copy", async () => {
            const run = await runProgram("dr", { sets: ["failover=true", "database.engine=aurora-mysql", "database.engineVersion=8.0.mysql_aurora.3.08.2", "copy.source=reports-db", ...SAME_ACCOUNT] });
            const cluster = oneResource(run, "aws:rds/cluster:Cluster", "database-cluster");
            assert.strictEqual(cluster.inputs.snapshotIdentifier, "pilotlight-db-copy-latest");
            assert.strictEqual(cluster.inputs.finalSnapshotIdentifier, "pilotlight-db-final-pilotlight-db-copy-latest");
            assert.strictEqual(cluster.inputs.kmsKeyId, oneResource(run, "aws:kms/key:Key", "dr-key").state.arn, "a cluster restore re-encrypts with the DR key");
            assert.deepStrictEqual([cluster.inputs.databaseName, cluster.inputs.masterUsername], [undefined, undefined]);
            assert.strictEqual(cluster.inputs.tags[WRITER_CLASS_TAG], "db.t4g.medium");
            assert.strictEqual(ofType(run, "aws:rds/clusterInstance:ClusterInstance").length, 2);
        });

        it("restores to a point in time from replicated automated backups", async () => {
            const arn = "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123";
            const latest = await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=pointInTime", `failoverDatabase.automatedBackupsArn=${arn}`] });
            const db = oneResource(latest, "aws:rds/instance:Instance", "database-instance");
            assert.deepStrictEqual(db.inputs.restoreToPointInTime, { sourceDbInstanceAutomatedBackupsArn: arn, useLatestRestorableTime: true });
            assert.strictEqual(db.inputs.snapshotIdentifier, undefined);
            const at = await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=pointInTime", `failoverDatabase.automatedBackupsArn=${arn}`, "failoverDatabase.restoreTime=2026-11-20T10:00:00Z"] });
            const atDb = oneResource(at, "aws:rds/instance:Instance", "database-instance");
            assert.deepStrictEqual(atDb.inputs.restoreToPointInTime, { sourceDbInstanceAutomatedBackupsArn: arn, restoreTime: "2026-11-20T10:00:00Z" });
            assert.match(db.inputs.finalSnapshotIdentifier, /^pilotlight-db-final-pit-latest-[0-9a-f]{8}$/);
            assert.match(atDb.inputs.finalSnapshotIdentifier, /^pilotlight-db-final-pit-2026-11-20t10-00-00z-[0-9a-f]{8}$/);
        });

        it("adopts the copy target's instance from its secret without a second restore", async () => {
            const run = await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=adopt", "failoverDatabase.secretName=pilotlight/copy/current"] });
            for (const type of DB_TYPES) assert.strictEqual(ofType(run, type).length, 0, `no ${type} when adopting`);
            assert.deepStrictEqual(
                [run.outputs.databaseIdentifier, run.outputs.databaseEndpoint, run.outputs.databasePort, run.outputs.databaseArn, run.outputs.databaseIsCluster, run.outputs.databaseSecretArn],
                [
                    "pilotlight-db-v7",
                    "pilotlight-db-v7.mock.us-west-2.rds.amazonaws.com",
                    5432,
                    "arn:aws:rds:us-west-2:222222222222:db:pilotlight-db-v7",
                    false,
                    "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-pilotlight-db-v7-AbCdEf",
                ],
            );
            // The instance role exists in the pilot light, so it cannot name the adopted secret's key:
            // it grants the stack's (DR) key only, under which the copy target manages the copies' passwords.
            const policy = JSON.parse(oneResource(run, "aws:iam/rolePolicy:RolePolicy", "app-instance").inputs.policy);
            const kms = policy.Statement.find((s: any) => s.Sid === "UseKeyThroughS3AndSecretsManager");
            assert.deepStrictEqual(kms.Resource, [oneResource(run, "aws:kms/key:Key", "dr-key").state.arn]);
        });
    });
});
