import * as assert from "assert";
import {
    CopyDBSnapshotCommand,
    CreateDBSnapshotCommand,
    DBInstanceAlreadyExistsFault,
    DBInstanceNotFoundFault,
    DeleteDBClusterCommand,
    DeleteDBInstanceCommand,
    DescribeDBClustersCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotAttributesCommand,
    DescribeDBSnapshotsCommand,
    DescribeExportTasksCommand,
    ModifyDBClusterCommand,
    ModifyDBInstanceCommand,
    ModifyDBSnapshotAttributeCommand,
    RDSClient,
    RestoreDBInstanceFromDBSnapshotCommand,
    StartExportTaskCommand,
} from "@aws-sdk/client-rds";
import { defaultRdsKey, FakeRds, rdsArn } from "./fakeRds";
import { CreateDBInstanceCommand, DBSubnetGroupNotFoundFault, DescribeDBSubnetGroupsCommand, FailoverDBClusterCommand, InvalidDBInstanceStateFault } from "@aws-sdk/client-rds";
import { CopyDBClusterSnapshotCommand, DescribeDBClusterSnapshotsCommand, RestoreDBClusterFromSnapshotCommand } from "@aws-sdk/client-rds";
import { CreateDBClusterSnapshotCommand, DeleteDBSnapshotCommand, DescribeAccountAttributesCommand } from "@aws-sdk/client-rds";

describe("FakeRds", () => {
    let fake: FakeRds;
    const rds = () => new RDSClient({ region: "us-east-1" });

    beforeEach(() => {
        fake = new FakeRds();
    });
    afterEach(() => fake.restore());

    async function statusOf(id: string): Promise<string | undefined> {
        const out = await rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
        return out.DBInstances?.[0]?.DBInstanceStatus;
    }

    it("throws the SDK's real fault classes", async () => {
        await assert.rejects(rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "nope" })), (err) => err instanceof DBInstanceNotFoundFault);
        fake.addInstance({ identifier: "a" });
        fake.addInstance({ identifier: "b" });
        await assert.rejects(
            rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", NewDBInstanceIdentifier: "b", ApplyImmediately: true })),
            (err) => err instanceof DBInstanceAlreadyExistsFault,
        );
    });

    it("renames with ApplyImmediately, keeping data, resource id and tags; advances status over polls", async () => {
        const inst = fake.addInstance({ identifier: "a", data: "rows", tags: [{ Key: "k", Value: "v" }] });
        const resourceId = inst.info.DbiResourceId;
        await rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", NewDBInstanceIdentifier: "a-old", ApplyImmediately: true }));
        assert.strictEqual(fake.instances.has("a"), false);
        assert.strictEqual(await statusOf("a-old"), "renaming");
        assert.strictEqual(await statusOf("a-old"), "available");
        const moved = fake.instances.get("a-old")!;
        assert.strictEqual(moved.data, "rows");
        assert.strictEqual(moved.info.DbiResourceId, resourceId);
        assert.deepStrictEqual(moved.tags, [{ Key: "k", Value: "v" }]);
        assert.strictEqual(moved.info.DBInstanceArn, rdsArn("db", "a-old"));
    });

    it("does not rename without ApplyImmediately", async () => {
        fake.addInstance({ identifier: "a" });
        await rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", NewDBInstanceIdentifier: "a-old" }));
        assert.strictEqual(fake.instances.has("a"), true);
    });

    it("restores the snapshot's data under a new resource id with RDS defaults, then becomes available", async () => {
        fake.addInstance({ identifier: "a", data: "now", info: { DBInstanceClass: "db.r6g.large" } });
        fake.addSnapshot("a-snap", "a", { data: "then" });
        fake.instances.delete("a");
        await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "a", DBSnapshotIdentifier: "a-snap" }));
        const restored = fake.instances.get("a")!;
        assert.strictEqual(restored.data, "then");
        assert.strictEqual(restored.info.DBInstanceClass, "db.t4g.micro");
        const seen: string[] = [];
        for (let i = 0; i < 5; i++) seen.push((await statusOf("a"))!);
        assert.deepStrictEqual(seen, ["creating", "creating", "backing-up", "available", "available"]);
    });

    it("refuses to delete a protected instance, and takes the final snapshot", async () => {
        fake.addInstance({ identifier: "a", data: "rows", info: { DeletionProtection: true } });
        await assert.rejects(
            rds().send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "a", FinalDBSnapshotIdentifier: "a-final" })),
            { name: "InvalidParameterCombination" },
        );
        await rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", DeletionProtection: false, ApplyImmediately: true }));
        fake.instances.get("a")!.status = "available";
        await rds().send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "a", FinalDBSnapshotIdentifier: "a-final" }));
        assert.strictEqual(fake.snapshots.get("a-final")!.data, "rows");
        assert.strictEqual(await statusOf("a"), "deleting");
        await statusOf("a");
        await assert.rejects(statusOf("a"), { name: "DBInstanceNotFoundFault" });
    });

    it("renames a cluster and keeps its members attached; refuses to delete it while members remain", async () => {
        fake.addCluster({ identifier: "c", members: [{ identifier: "c-1" }, { identifier: "c-2" }] });
        await rds().send(new ModifyDBClusterCommand({ DBClusterIdentifier: "c", NewDBClusterIdentifier: "c-old", ApplyImmediately: true }));
        const out = await rds().send(new DescribeDBClustersCommand({ DBClusterIdentifier: "c-old" }));
        assert.deepStrictEqual(
            out.DBClusters![0].DBClusterMembers!.map((m) => [m.DBInstanceIdentifier, m.IsClusterWriter]),
            [["c-1", true], ["c-2", false]],
        );
        await assert.rejects(
            rds().send(new DeleteDBClusterCommand({ DBClusterIdentifier: "c-old", FinalDBSnapshotIdentifier: "c-final" })),
            { name: "InvalidDBClusterStateFault" },
        );
    });

    it("records calls, separates mutating ones, and injects faults", async () => {
        fake.addInstance({ identifier: "a" });
        fake.failNext("CreateDBSnapshot");
        await assert.rejects(rds().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "a", DBSnapshotIdentifier: "s" })), {
            name: "Throttling",
        });
        await rds().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "a", DBSnapshotIdentifier: "s" }));
        await statusOf("a");
        assert.deepStrictEqual(fake.calls.map((c) => c.command), ["CreateDBSnapshot", "CreateDBSnapshot", "DescribeDBInstances"]);
        assert.deepStrictEqual(fake.mutatingCalls().map((c) => c.command), ["CreateDBSnapshot", "CreateDBSnapshot"]);
    });

    it("ends a restore in failed, or keeps it creating forever, on request", async () => {
        fake.addSnapshot("s", "gone");
        fake.nextRestoreEndsIn("incompatible-restore");
        await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "x", DBSnapshotIdentifier: "s" }));
        for (let i = 0; i < 4; i++) await statusOf("x");
        assert.strictEqual(await statusOf("x"), "incompatible-restore");
        fake.nextRestoreNeverFinishes();
        await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "y", DBSnapshotIdentifier: "s" }));
        for (let i = 0; i < 10; i++) assert.strictEqual(await statusOf("y"), "creating");
    });

    it("runs export tasks to completion", async () => {
        fake.addSnapshot("s", "a");
        await rds().send(
            new StartExportTaskCommand({
                ExportTaskIdentifier: "e",
                SourceArn: rdsArn("snapshot", "s"),
                S3BucketName: "b",
                IamRoleArn: "arn:aws:iam::123456789012:role/export",
                KmsKeyId: "k",
            }),
        );
        const statuses: string[] = [];
        for (let i = 0; i < 4; i++) {
            const out = await rds().send(new DescribeExportTasksCommand({ ExportTaskIdentifier: "e" }));
            statuses.push(out.ExportTasks![0].Status!);
        }
        assert.deepStrictEqual(statuses, ["STARTING", "IN_PROGRESS", "IN_PROGRESS", "COMPLETE"]);
    });

    describe("Aurora failover", () => {
        const writerOf = async (cluster: string) =>
            (await rds().send(new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }))).DBClusters![0];

        beforeEach(() => {
            fake.addSubnetGroup("sg", ["us-east-1a", "us-east-1b"]);
            fake.addCluster({
                identifier: "c",
                info: { DBSubnetGroup: "sg" },
                members: [
                    { identifier: "c-1", writer: true, info: { DBInstanceClass: "db.r6g.2xlarge", PromotionTier: 0 } },
                    { identifier: "c-2", info: { DBInstanceClass: "db.r6g.large", PromotionTier: 1 } },
                ],
            });
        });

        it("describes subnet groups with their AZs, and fails for unknown ones", async () => {
            const out = await rds().send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: "sg" }));
            assert.deepStrictEqual(out.DBSubnetGroups![0].Subnets!.map((s) => s.SubnetAvailabilityZone!.Name), ["us-east-1a", "us-east-1b"]);
            await assert.rejects(rds().send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: "nope" })), (e) => e instanceof DBSubnetGroupNotFoundFault);
        });

        it("adds a member to a cluster as a reader with its tier, class and AZ", async () => {
            await rds().send(new CreateDBInstanceCommand({ DBInstanceIdentifier: "c-3", DBClusterIdentifier: "c", Engine: "aurora-postgresql", DBInstanceClass: "db.r6g.4xlarge", PromotionTier: 0, AvailabilityZone: "us-east-1b" }));
            const member = (await writerOf("c")).DBClusterMembers!.find((m) => m.DBInstanceIdentifier === "c-3")!;
            assert.deepStrictEqual([member.IsClusterWriter, member.PromotionTier], [false, 0]);
            const inst = fake.instances.get("c-3")!.info;
            assert.deepStrictEqual([inst.DBInstanceClass, inst.AvailabilityZone], ["db.r6g.4xlarge", "us-east-1b"]);
        });

        it("moves the writer to the target over polls, and refuses targets that cannot take it", async () => {
            await assert.rejects(rds().send(new FailoverDBClusterCommand({ DBClusterIdentifier: "c", TargetDBInstanceIdentifier: "c-1" })), /already the writer/);
            fake.instances.get("c-2")!.status = "modifying";
            await assert.rejects(rds().send(new FailoverDBClusterCommand({ DBClusterIdentifier: "c", TargetDBInstanceIdentifier: "c-2" })), (e) => e instanceof InvalidDBInstanceStateFault);
            fake.instances.get("c-2")!.status = "available";
            await rds().send(new FailoverDBClusterCommand({ DBClusterIdentifier: "c", TargetDBInstanceIdentifier: "c-2" }));
            const seen: [string, string][] = [];
            for (let i = 0; i < 4; i++) {
                const c = await writerOf("c");
                seen.push([c.Status!, c.DBClusterMembers!.find((m) => m.IsClusterWriter)!.DBInstanceIdentifier!]);
            }
            assert.deepStrictEqual(seen, [["failing-over", "c-1"], ["failing-over", "c-1"], ["available", "c-2"], ["available", "c-2"]]);
        });

        it("can fail over without switching, and picks the best tier when no target is given", async () => {
            fake.nextFailoverDoesNotSwitch();
            await rds().send(new FailoverDBClusterCommand({ DBClusterIdentifier: "c", TargetDBInstanceIdentifier: "c-2" }));
            for (let i = 0; i < 3; i++) await writerOf("c");
            assert.strictEqual((await writerOf("c")).DBClusterMembers!.find((m) => m.IsClusterWriter)!.DBInstanceIdentifier, "c-1");
            await rds().send(new FailoverDBClusterCommand({ DBClusterIdentifier: "c" }));
            for (let i = 0; i < 3; i++) await writerOf("c");
            assert.strictEqual((await writerOf("c")).DBClusterMembers!.find((m) => m.IsClusterWriter)!.DBInstanceIdentifier, "c-2");
        });
    });

    describe("rules of RDS the backups rely on", () => {
        it("refuses to copy an unencrypted cluster snapshot under a key; copies an encrypted one", async () => {
            fake.addCluster({ identifier: "plain", info: { StorageEncrypted: false, KmsKeyId: undefined }, members: [{ identifier: "plain-1" }] });
            fake.addClusterSnapshot("plain-snap", "plain");
            assert.strictEqual(fake.clusterSnapshots.get("plain-snap")!.info.StorageEncrypted, false, "a snapshot is encrypted as its cluster is");
            const key = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
            await assert.rejects(
                rds().send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: "plain-snap", TargetDBClusterSnapshotIdentifier: "plain-snap-sk", KmsKeyId: key })),
                { name: "InvalidParameterCombination" },
            );
            assert.strictEqual(fake.clusterSnapshots.has("plain-snap-sk"), false);
            fake.addCluster({ identifier: "enc", members: [{ identifier: "enc-1" }] });
            fake.addClusterSnapshot("enc-snap", "enc");
            await rds().send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: "enc-snap", TargetDBClusterSnapshotIdentifier: "enc-snap-sk", KmsKeyId: key }));
            assert.strictEqual(fake.clusterSnapshots.get("enc-snap-sk")!.info.KmsKeyId, key);
        });
    });

    describe("rules of RDS the restore machine relies on", () => {
        it("refuses a managed master password on an instance restore unless the engine is Oracle", async () => {
            fake.addInstance({ identifier: "a", data: "rows" });
            fake.addSnapshot("a-snap", "a");
            await assert.rejects(
                rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "b", DBSnapshotIdentifier: "a-snap", ManageMasterUserPassword: true })),
                { name: "InvalidParameterCombination" },
            );
            assert.strictEqual(fake.instances.has("b"), false);
            fake.addInstance({ identifier: "ora", info: { Engine: "oracle-ee" } });
            fake.addSnapshot("ora-snap", "ora");
            await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "ora2", DBSnapshotIdentifier: "ora-snap", ManageMasterUserPassword: true }));
            assert.ok(fake.instances.get("ora2")!.info.MasterUserSecret?.SecretArn);
            // The modify after the restore may turn it on for any engine.
            await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "b", DBSnapshotIdentifier: "a-snap" }));
            assert.strictEqual(fake.instances.get("b")!.info.MasterUserSecret, undefined, "a restore does not bring the source's managed secret");
            fake.instances.get("b")!.status = "available";
            await rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "b", ManageMasterUserPassword: true, ApplyImmediately: true }));
            assert.ok(fake.instances.get("b")!.info.MasterUserSecret?.SecretArn);
        });

        it("creates no cluster member before the cluster is available", async () => {
            fake.addCluster({ identifier: "c", members: [] });
            fake.addClusterSnapshot("c-snap", "c");
            await rds().send(new RestoreDBClusterFromSnapshotCommand({ DBClusterIdentifier: "d", SnapshotIdentifier: "c-snap", Engine: "aurora-postgresql", EngineVersion: "16.4" }));
            const member = () => rds().send(new CreateDBInstanceCommand({ DBInstanceIdentifier: "d-1", DBClusterIdentifier: "d", Engine: "aurora-postgresql", DBInstanceClass: "db.r6g.large" }));
            await assert.rejects(member(), { name: "InvalidDBClusterStateFault" });
            assert.strictEqual(fake.instances.has("d-1"), false);
            fake.clusters.get("d")!.status = "available";
            await member();
            assert.ok(fake.instances.has("d-1"));
        });

        it("refuses an instance restore with less storage than the snapshot, and restores under the snapshot's key", async () => {
            fake.addInstance({ identifier: "a", info: { AllocatedStorage: 100, KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/a" } });
            fake.addSnapshot("a-snap", "a");
            await assert.rejects(
                rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "b", DBSnapshotIdentifier: "a-snap", AllocatedStorage: 50 })),
                { name: "InvalidParameterValue" },
            );
            await rds().send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "b", DBSnapshotIdentifier: "a-snap", AllocatedStorage: 100 }));
            assert.strictEqual(fake.instances.get("b")!.info.KmsKeyId, "arn:aws:kms:us-east-1:123456789012:key/a");
        });

        it("refuses a cluster restore to an engine version older than the snapshot's", async () => {
            fake.addCluster({ identifier: "c", members: [], info: { EngineVersion: "16.6" } });
            fake.addClusterSnapshot("c-snap", "c");
            const restore = (v: string, id: string) =>
                rds().send(new RestoreDBClusterFromSnapshotCommand({ DBClusterIdentifier: id, SnapshotIdentifier: "c-snap", Engine: "aurora-postgresql", EngineVersion: v }));
            await assert.rejects(restore("16.4", "d"), { name: "InvalidParameterCombination" });
            assert.strictEqual(fake.clusters.has("d"), false);
            await restore("16.10", "e");
            assert.strictEqual(fake.clusters.get("e")!.info.EngineVersion, "16.10");
        });

        it("takes no final snapshot of a read replica", async () => {
            fake.addInstance({ identifier: "src" });
            fake.addInstance({ identifier: "rep", info: { ReadReplicaSourceDBInstanceIdentifier: "src" } });
            await assert.rejects(
                rds().send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "rep", FinalDBSnapshotIdentifier: "rep-final" })),
                { name: "InvalidParameterCombination" },
            );
            assert.strictEqual(fake.snapshots.has("rep-final"), false);
        });

        it("keeps a deleted database's automated backups only when told DeleteAutomatedBackups: false", async () => {
            fake.addInstance({ identifier: "a", data: "rows", info: { BackupRetentionPeriod: 7 } });
            fake.addInstance({ identifier: "b", data: "other", info: { BackupRetentionPeriod: 7 } });
            await rds().send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "a", FinalDBSnapshotIdentifier: "a-final", DeleteAutomatedBackups: false }));
            await rds().send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "b", FinalDBSnapshotIdentifier: "b-final" }));
            assert.deepStrictEqual(fake.retainedBackups.map((b) => [b.identifier, b.data]), [["a", "rows"]]);
        });

        for (const status of ["renaming", "modifying", "backing-up", "creating"]) {
            it(`refuses to modify, rename or snapshot an instance that is ${status}`, async () => {
                fake.addInstance({ identifier: "a", status });
                await assert.rejects(rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", DeletionProtection: true, ApplyImmediately: true })), {
                    name: "InvalidDBInstanceStateFault",
                });
                await assert.rejects(rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", NewDBInstanceIdentifier: "b", ApplyImmediately: true })), {
                    name: "InvalidDBInstanceStateFault",
                });
                await assert.rejects(rds().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "a", DBSnapshotIdentifier: "s" })), {
                    name: "InvalidDBInstanceStateFault",
                });
                assert.ok(fake.instances.has("a") && !fake.instances.has("b") && !fake.snapshots.has("s"));
            });
        }

        it("a modify or rename moves the status through modifying/renaming back to available", async () => {
            fake.addInstance({ identifier: "a" });
            await rds().send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "a", DeletionProtection: true, ApplyImmediately: true }));
            assert.deepStrictEqual([await statusOf("a"), await statusOf("a")], ["modifying", "available"]);
            fake.addCluster({ identifier: "c", members: [] });
            await rds().send(new ModifyDBClusterCommand({ DBClusterIdentifier: "c", NewDBClusterIdentifier: "c2", ApplyImmediately: true }));
            await assert.rejects(rds().send(new ModifyDBClusterCommand({ DBClusterIdentifier: "c2", DeletionProtection: true, ApplyImmediately: true })), {
                name: "InvalidDBClusterStateFault",
            });
        });

        it("refuses to delete a cluster with deletion protection", async () => {
            fake.addCluster({ identifier: "c", members: [], info: { DeletionProtection: true } });
            await assert.rejects(rds().send(new DeleteDBClusterCommand({ DBClusterIdentifier: "c", FinalDBSnapshotIdentifier: "c-final" })), {
                name: "InvalidParameterCombination",
            });
            assert.strictEqual(fake.clusterSnapshots.has("c-final"), false);
            assert.strictEqual(fake.clusters.get("c")!.status, "available");
        });
    });
});

describe("FakeRds copies across regions and accounts", () => {
    const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
    const REPLICA = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
    let home: FakeRds;
    const east = () => new RDSClient({ region: "us-east-1" });
    const west = () => new RDSClient({ region: "us-west-2" });

    beforeEach(() => {
        home = new FakeRds();
        home.addSnapshot("s-shared", "db", { kmsKeyId: SHARED, data: "d1", tags: [{ Key: "k", Value: "v" }] });
        home.addSnapshot("s-default", "db", { data: "d0" });
    });
    afterEach(() => home.restore());

    it("refuses a cross-region copy whose source is not an ARN", async () => {
        await assert.rejects(west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: "s-shared", TargetDBSnapshotIdentifier: "x", KmsKeyId: REPLICA })), /DBSnapshot s-shared not found/);
    });

    it("routes calls by the client's region to a shard of the same account", async () => {
        const out = await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: rdsArn("snapshot", "s-shared"), TargetDBSnapshotIdentifier: "s-copy", KmsKeyId: REPLICA, CopyTags: true }));
        assert.strictEqual(out.DBSnapshot!.DBSnapshotArn, "arn:aws:rds:us-west-2:123456789012:snapshot:s-copy");
        const copy = home.inRegion("us-west-2").snapshots.get("s-copy")!;
        assert.deepStrictEqual([copy.data, copy.info.KmsKeyId, copy.tags], ["d1", REPLICA, [{ Key: "k", Value: "v" }]]);
        assert.ok(!home.snapshots.has("s-copy"));
        assert.strictEqual(home.callsOf("CopyDBSnapshot")[0].region, "us-west-2");
    });

    const refusals: { name: string; input: Record<string, unknown>; expect: RegExp }[] = [
        { name: "a cross-region copy without KmsKeyId", input: {}, expect: /KmsKeyId is required/ },
        { name: "a key of another region", input: { KmsKeyId: SHARED }, expect: /not usable in us-west-2/ },
    ];
    for (const t of refusals) {
        it(`refuses ${t.name}`, async () => {
            await assert.rejects(west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: rdsArn("snapshot", "s-shared"), TargetDBSnapshotIdentifier: "x", ...t.input })), t.expect);
        });
    }

    it("shares by the restore attribute, but never a snapshot under the default key", async () => {
        await east().send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: "s-shared", AttributeName: "restore", ValuesToAdd: ["222222222222"] }));
        const attrs = await east().send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: "s-shared" }));
        assert.deepStrictEqual(attrs.DBSnapshotAttributesResult!.DBSnapshotAttributes, [{ AttributeName: "restore", AttributeValues: ["222222222222"] }]);
        await assert.rejects(
            east().send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: "s-default", AttributeName: "restore", ValuesToAdd: ["222222222222"] })),
            /default KMS key can not be shared/,
        );
        assert.strictEqual(home.snapshots.get("s-default")!.info.KmsKeyId, defaultRdsKey("us-east-1", "123456789012"));
    });

    it("lets another account copy a snapshot shared with it, only with a key of its own", async () => {
        home.restore();
        const target = new FakeRds({ region: "us-west-2", account: "222222222222" });
        try {
            const arn = "arn:aws:rds:us-west-2:123456789012:snapshot:s-copy";
            target.addSharedSnapshot(arn, { kmsKeyId: REPLICA, data: "d1" });
            await assert.rejects(new RDSClient({}).send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: arn, TargetDBSnapshotIdentifier: "mine" })), /KmsKeyId is required/);
            await new RDSClient({}).send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: arn, TargetDBSnapshotIdentifier: "mine", KmsKeyId: "arn:aws:kms:us-west-2:222222222222:key/dr" }));
            assert.deepStrictEqual([target.snapshots.get("mine")!.data, target.snapshots.get("mine")!.info.KmsKeyId], ["d1", "arn:aws:kms:us-west-2:222222222222:key/dr"]);
            const described = await new RDSClient({}).send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn, IncludeShared: true }));
            assert.strictEqual(described.DBSnapshots![0].SnapshotType, "shared");
        } finally {
            target.restore();
            home = new FakeRds();
        }
    });

    it("shared cluster snapshots: listed as shared, copied by ARN, and a copy keeps the database it was taken from", async () => {
        home.restore();
        const target = new FakeRds({ region: "us-west-2", account: "222222222222" });
        try {
            const arn = "arn:aws:rds:us-west-2:123456789012:cluster-snapshot:shop-fb-20260101000000";
            target.addSharedClusterSnapshot(arn, { kmsKeyId: REPLICA, data: "d2", databaseIdentifier: "shop" });
            target.addSharedSnapshot("arn:aws:rds:us-west-2:123456789012:snapshot:shop-fb-20260101000000", { kmsKeyId: REPLICA, databaseIdentifier: "shop" });
            const listed = await new RDSClient({}).send(new DescribeDBClusterSnapshotsCommand({ SnapshotType: "shared", IncludeShared: true }));
            assert.deepStrictEqual(listed.DBClusterSnapshots!.map((x) => [x.DBClusterSnapshotIdentifier, x.DBClusterIdentifier, x.SnapshotType]), [[arn, "shop", "shared"]]);
            assert.deepStrictEqual((await new RDSClient({}).send(new DescribeDBClusterSnapshotsCommand({ SnapshotType: "manual" }))).DBClusterSnapshots, []);
            await new RDSClient({}).send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: arn, TargetDBClusterSnapshotIdentifier: "mine", KmsKeyId: "arn:aws:kms:us-west-2:222222222222:key/dr" }));
            const copy = target.clusterSnapshots.get("mine")!;
            assert.deepStrictEqual([copy.data, copy.info.DBClusterIdentifier, copy.info.KmsKeyId], ["d2", "shop", "arn:aws:kms:us-west-2:222222222222:key/dr"]);
            const single = target.sharedWithMe.get("arn:aws:rds:us-west-2:123456789012:snapshot:shop-fb-20260101000000")!;
            assert.strictEqual(single.info.DBInstanceIdentifier, "shop", "named by databaseIdentifier, not guessed from the name");
        } finally {
            target.restore();
            home = new FakeRds();
        }
    });
});

describe("FakeRds snapshot quotas and copy limits (snapshot jobs)", () => {
    const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
    const REPLICA = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
    let home: FakeRds;
    const east = () => new RDSClient({ region: "us-east-1" });
    const west = () => new RDSClient({ region: "us-west-2" });

    beforeEach(() => {
        home = new FakeRds();
        home.addInstance({ identifier: "db", data: "d", info: { KmsKeyId: SHARED } });
        home.addCluster({ identifier: "cl", data: "c", info: { KmsKeyId: SHARED }, members: [{ identifier: "cl-1" }] });
    });
    afterEach(() => home.restore());

    it("reports the manual snapshot quotas and their use per region (DescribeAccountAttributes)", async () => {
        home.addSnapshot("a", "db");
        home.addSnapshot("b", "db");
        home.addClusterSnapshot("c", "cl");
        const out = await east().send(new DescribeAccountAttributesCommand({}));
        assert.deepStrictEqual(out.AccountQuotas, [
            { AccountQuotaName: "ManualSnapshots", Used: 2, Max: 100 },
            { AccountQuotaName: "ManualClusterSnapshots", Used: 1, Max: 100 },
        ]);
        const dr = await west().send(new DescribeAccountAttributesCommand({}));
        assert.deepStrictEqual(dr.AccountQuotas?.map((q) => q.Used), [0, 0], "per region");
    });

    it("refuses a snapshot or a copy beyond the region's quota with SnapshotQuotaExceededFault", async () => {
        home.manualSnapshotQuota = 1;
        home.manualClusterSnapshotQuota = 1;
        await east().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "db", DBSnapshotIdentifier: "s1" }));
        await assert.rejects(east().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "db", DBSnapshotIdentifier: "s2" })), (e: Error) => e.name === "SnapshotQuotaExceededFault");
        home.snapshots.get("s1")!.status = "available";
        await assert.rejects(east().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: "s1", TargetDBSnapshotIdentifier: "s3" })), (e: Error) => e.name === "SnapshotQuotaExceededFault");
        await east().send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: "cl", DBClusterSnapshotIdentifier: "c1" }));
        await assert.rejects(east().send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: "cl", DBClusterSnapshotIdentifier: "c2" })), (e: Error) => e.name === "SnapshotQuotaExceededFault");
        // Another region has its own quota.
        await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", "s1"), TargetDBSnapshotIdentifier: "s1", KmsKeyId: REPLICA }));
    });

    it("records a 21st copy request in progress to one region, and refuses it", async () => {
        for (let i = 0; i < 21; i++) home.addSnapshot(`s${i}`, "db", { kmsKeyId: SHARED });
        for (let i = 0; i < 20; i++) await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", `s${i}`), TargetDBSnapshotIdentifier: `s${i}`, KmsKeyId: REPLICA }));
        await assert.rejects(west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", "s20"), TargetDBSnapshotIdentifier: "s20", KmsKeyId: REPLICA })), /20 copy requests are in progress to us-west-2/);
        assert.deepStrictEqual(home.inRegion("us-west-2").copyLimitViolations, ["s20"]);
        // Copies to another region, and copies that finished, do not count.
        await east().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: "s20", TargetDBSnapshotIdentifier: "s20-sk", KmsKeyId: SHARED }));
        home.inRegion("us-west-2").snapshots.get("s0")!.status = "available";
        await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", "s20"), TargetDBSnapshotIdentifier: "s20", KmsKeyId: REPLICA }));
    });

    it("a copy whose source is deleted before it is available fails; one already available stays", async () => {
        home.addSnapshot("src", "db", { kmsKeyId: SHARED });
        home.addSnapshot("src2", "db", { kmsKeyId: SHARED });
        await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", "src"), TargetDBSnapshotIdentifier: "copy", KmsKeyId: REPLICA }));
        await west().send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: home.arn("snapshot", "src2"), TargetDBSnapshotIdentifier: "copy2", KmsKeyId: REPLICA }));
        home.inRegion("us-west-2").snapshots.get("copy2")!.status = "available";
        await east().send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: "src" }));
        await east().send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: "src2" }));
        const status = async (id: string) => (await west().send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots![0].Status;
        assert.strictEqual(await status("copy"), "failed");
        assert.strictEqual(await status("copy2"), "available");
    });

    it("a cluster snapshot copy is copying until it is available", async () => {
        home.addClusterSnapshot("c", "cl", { kmsKeyId: SHARED });
        const out = await west().send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: home.arn("cluster-snapshot", "c"), TargetDBClusterSnapshotIdentifier: "c", KmsKeyId: REPLICA }));
        assert.strictEqual(out.DBClusterSnapshot!.Status, "copying");
        const statuses: string[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await west().send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: "c" }))).DBClusterSnapshots![0].Status!);
        assert.deepStrictEqual(statuses, ["copying", "copying", "available"]);
    });
});

describe("FakeRds snapshot times", () => {
    let home: FakeRds;
    beforeEach(() => {
        home = new FakeRds();
    });
    afterEach(() => home.restore());

    it("a copy has its own SnapshotCreateTime and keeps the source's OriginalSnapshotCreateTime", async () => {
        home.addSnapshot("s-orig", "db", { created: "2026-02-01T00:00:00Z", kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/mrk-shared" });
        const out = await new RDSClient({ region: "us-west-2" }).send(
            new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: rdsArn("snapshot", "s-orig"), TargetDBSnapshotIdentifier: "s-copy", KmsKeyId: "arn:aws:kms:us-west-2:123456789012:key/mrk-shared" }),
        );
        assert.deepStrictEqual(out.DBSnapshot!.OriginalSnapshotCreateTime, new Date("2026-02-01T00:00:00Z"));
        assert.notDeepStrictEqual(out.DBSnapshot!.SnapshotCreateTime, new Date("2026-02-01T00:00:00Z"));
    });
});

describe("FakeRds rules the copy target relies on", () => {
    let target: FakeRds;
    const arn = "arn:aws:rds:us-west-2:123456789012:snapshot:wordpress-cp-20260101000000";
    beforeEach(() => {
        target = new FakeRds({ region: "us-west-2", account: "222222222222" });
        target.addSharedSnapshot(arn, { kmsKeyId: "arn:aws:kms:us-west-2:123456789012:key/mrk-shared", databaseIdentifier: "wordpress" });
    });
    afterEach(() => target.restore());

    it("hides a shared snapshot unless IncludeShared is set (or SnapshotType is shared)", async () => {
        const rds = new RDSClient({ region: "us-west-2" });
        await assert.rejects(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn })), (e: Error) => e.name === "DBSnapshotNotFoundFault");
        await assert.rejects(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn, IncludeShared: true, SnapshotType: "manual" })), (e: Error) => e.name === "DBSnapshotNotFoundFault");
        const found = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn, IncludeShared: true }));
        assert.deepStrictEqual(found.DBSnapshots!.map((s) => [s.DBSnapshotArn, s.DBInstanceIdentifier, s.SnapshotType]), [[arn, "wordpress", "shared"]]);
        assert.strictEqual((await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: arn, SnapshotType: "shared" }))).DBSnapshots!.length, 1);
    });

    it("turns on a managed master password by ModifyDBInstance, in the instance's own account and region, under the named key", async () => {
        target.addInstance({ identifier: "wordpress-v1" });
        const rds = new RDSClient({ region: "us-west-2" });
        await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "wordpress-v1", ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: "arn:aws:kms:us-west-2:222222222222:key/dr", ApplyImmediately: true }));
        const secret = target.instances.get("wordpress-v1")!.info.MasterUserSecret!;
        assert.match(secret.SecretArn!, /^arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-/);
        assert.deepStrictEqual([secret.KmsKeyId, secret.SecretStatus], ["arn:aws:kms:us-west-2:222222222222:key/dr", "active"]);
    });

    it("gives a final snapshot the instance's tags when it copies tags to snapshots, and none otherwise", async () => {
        const tags = [{ Key: "pilotlight:created-by", Value: "copy-target" }];
        target.addInstance({ identifier: "wordpress-v1", tags, info: { CopyTagsToSnapshot: true } });
        target.addInstance({ identifier: "other", tags });
        const rds = new RDSClient({ region: "us-west-2" });
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "wordpress-v1", FinalDBSnapshotIdentifier: "wordpress-v1-final" }));
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "other", FinalDBSnapshotIdentifier: "other-final" }));
        assert.deepStrictEqual(target.snapshots.get("wordpress-v1-final")!.tags, tags);
        assert.deepStrictEqual(target.snapshots.get("other-final")!.tags, []);
    });
});
