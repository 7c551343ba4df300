/** The restore steps' safety rules, one by one, against the fake RDS. */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { FakeRds } from "./fakeRds";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import { buildJob, RestoreJob } from "../functions/lib/restoreJob";
import {
    applySettings,
    checkStatus,
    createSnapshot,
    deleteOld,
    keepBoth,
    pruneSnapshots,
    renameOriginal,
    rollback,
    startExport,
    startRestore,
} from "../functions/lib/restoreSteps";
import { selectSnapshotsToPrune, SnapshotInfo } from "../functions/lib/rds";
import { FakeSfn } from "./fakeSfn";

const rdsClient = () => new RDSClient({ region: "us-east-1" });

describe("restore steps", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let job: RestoreJob;

    beforeEach(async () => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        seedInstance(rds, "orders-v2");
        rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        job = await buildJob(
            { rds: rdsClient(), sfn: new SFNClient({ region: "us-east-1" }) },
            {
                request: { identifier: INSTANCE_ID, task: "db_restore", isCluster: false },
                executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e",
                stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
                startedAt: "2026-03-04T05:06:07Z",
            },
            { managedIdentifiers: [INSTANCE_ID], managedKinds: { [INSTANCE_ID]: "instance" }, exportEnabled: false },
        );
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });

    it("rollback with nothing renamed reports the original in place and changes nothing", async () => {
        const r = await rollback(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.outcome], [true, "original-restored"]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("rollback waits while the original is still renaming, then renames it back", async () => {
        const orig = rds.instances.get(INSTANCE_ID)!;
        rds.instances.delete(INSTANCE_ID);
        orig.info.DBInstanceIdentifier = job.names.old;
        orig.status = "renaming";
        orig.timeline = ["renaming", "available"];
        rds.instances.set(job.names.old, orig);
        const outcomes: string[] = [];
        for (let i = 0; i < 10; i++) {
            const r = await rollback(rdsClient(), job);
            outcomes.push(r.outcome);
            if (r.done) break;
        }
        assert.strictEqual(outcomes.at(-1), "original-restored");
        assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v2");
        assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["ModifyDBInstance"]);
    });

    it("restore refuses to run while the original still holds the identifier", async () => {
        await assert.rejects(startRestore(rdsClient(), job), { name: "UnexpectedStateError" });
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("deleting the old database refuses anything that is not the original", async () => {
        rds.addInstance({ identifier: job.names.old, data: "someone else's" });
        await assert.rejects(deleteOld(rdsClient(), job), { name: "UnexpectedStateError" });
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("retention keeps the newest N pilotlight snapshots and never touches others or the job's own", async () => {
        const snap = (id: string, created: string, pilotlight = true, status = "available"): SnapshotInfo => ({
            identifier: id,
            databaseIdentifier: "db",
            status,
            arn: "",
            createdAt: created,
            type: "manual",
            tags: pilotlight ? PILOTLIGHT_TAGS : [],
        });
        const all = [
            snap("a", "2026-01-01T00:00:00Z"),
            snap("b", "2026-02-01T00:00:00Z"),
            snap("c", "2026-03-01T00:00:00Z"),
            snap("manual", "2025-01-01T00:00:00Z", false),
            snap("creating", "", true, "creating"),
        ];
        assert.deepStrictEqual(selectSnapshotsToPrune(all, 2).map((s) => s.identifier), ["a"]);
        assert.deepStrictEqual(selectSnapshotsToPrune(all, 1).map((s) => s.identifier), ["b", "a"]);
        assert.deepStrictEqual(selectSnapshotsToPrune(all, 5), []);
        assert.throws(() => selectSnapshotsToPrune(all, 0), /keep must be an integer >= 1/);

        rds.addSnapshot("wordpress-20250101000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
        const pruned = await pruneSnapshots(rdsClient(), { ...job, snapshotIdentifier: "wordpress-20250101000000" }, 1);
        assert.deepStrictEqual(pruned.deleted, [], "the job's own snapshot is never pruned");
    });

    it("status: a failed export or snapshot stops the wait; a missing database is 'not yet'", async () => {
        const missing = await checkStatus(rdsClient(), { target: "database", isCluster: false, identifier: "not-there-yet" });
        assert.deepStrictEqual([missing.ready, missing.failed, missing.status], [false, false, "not-found"]);
        rds.addSnapshot("wordpress-bad", INSTANCE_ID, { status: "failed" });
        const bad = await checkStatus(rdsClient(), { target: "snapshot", isCluster: false, identifier: "wordpress-bad" });
        assert.deepStrictEqual([bad.ready, bad.failed], [false, true]);
    });
    /** Moves an instance to another name as a finished (or, with `status`, ongoing) rename would. */
    function moveInstance(from: string, to: string, status = "available"): void {
        const inst = rds.instances.get(from)!;
        rds.instances.delete(from);
        inst.info.DBInstanceIdentifier = to;
        inst.status = status;
        inst.timeline = status === "available" ? [] : ["available"];
        rds.instances.set(to, inst);
    }

    const commands = () => rds.mutatingCalls().map((c) => c.command);

    describe("look first: a retry after a lost response continues", () => {
        it("snapshot: already taken from this database is fine; taken from another one is not", async () => {
            rds.addSnapshot(job.names.newSnapshot, INSTANCE_ID);
            assert.deepStrictEqual(await createSnapshot(rdsClient(), job), { snapshotIdentifier: job.names.newSnapshot });
            assert.deepStrictEqual(commands(), []);
            rds.snapshots.get(job.names.newSnapshot)!.info.DBInstanceIdentifier = "intruder";
            await assert.rejects(createSnapshot(rdsClient(), job), { name: "UnexpectedStateError" });
            assert.deepStrictEqual(commands(), []);
        });

        it("snapshot: a create that races an AlreadyExists is fine only for this database's snapshot", async () => {
            rds.failNext("CreateDBSnapshot", () => Object.assign(new Error("exists"), { name: "DBSnapshotAlreadyExistsFault" }));
            await assert.rejects(createSnapshot(rdsClient(), job), { name: "DBSnapshotAlreadyExistsFault" });
            rds.addSnapshot(job.names.newSnapshot, INSTANCE_ID);
            rds.snapshots.delete(job.names.newSnapshot);
            rds.failNext("CreateDBSnapshot", () => Object.assign(new Error("exists"), { name: "DBSnapshotAlreadyExistsFault" }));
            rds.failNext("DescribeDBSnapshots", () => Object.assign(new Error("nope"), { name: "DBSnapshotNotFoundFault" }));
            await assert.rejects(createSnapshot(rdsClient(), job), { name: "DBSnapshotAlreadyExistsFault" });
            rds.failNext("CreateDBSnapshot", () => Object.assign(new Error("boom"), { name: "InternalFailure" }));
            await assert.rejects(createSnapshot(rdsClient(), job), { name: "InternalFailure" });
        });

        it("rename: done already, or under way, sends nothing; an impostor at the temporary name stops it", async () => {
            moveInstance(INSTANCE_ID, job.names.old, "renaming");
            assert.deepStrictEqual(await renameOriginal(rdsClient(), job), { renamedTo: job.names.old });
            moveInstance(job.names.old, INSTANCE_ID, "renaming");
            await renameOriginal(rdsClient(), job);
            assert.deepStrictEqual(commands(), []);
            rds.instances.get(INSTANCE_ID)!.status = "available";
            rds.addInstance({ identifier: job.names.old, data: "impostor" });
            await assert.rejects(renameOriginal(rdsClient(), job), /taken by another database/);
            rds.instances.delete(job.names.old);
            rds.instances.delete(INSTANCE_ID);
            await assert.rejects(renameOriginal(rdsClient(), job), /neither under wordpress nor under wordpress-pl-old-/);
            assert.deepStrictEqual(commands(), []);
        });

        it("restore: a restore already under the identifier is this job's; the original there is refused", async () => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1", status: "creating" });
            const r = await startRestore(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.restored, r.members], [true, INSTANCE_ID, []]);
            assert.deepStrictEqual(commands(), []);
            await assert.rejects(startRestore(rdsClient(), { ...job, plan: null }), /has no restore plan/);
        });

        it("settings: wait while the database is busy (the first modify worked), send only what is missing, done once all is there", async () => {
            moveInstance(INSTANCE_ID, job.names.old);
            await startRestore(rdsClient(), job);
            const restored = rds.instances.get(INSTANCE_ID)!;
            restored.status = "modifying";
            restored.timeline = [];
            let r = await applySettings(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.applied, r.detail], [false, [], "wordpress is modifying"]);
            restored.status = "available";
            r = await applySettings(rdsClient(), job);
            assert.strictEqual(r.done, false);
            assert.ok(r.applied.includes("ManageMasterUserPassword") && r.applied.includes("DeletionProtection"), r.applied.join());
            const modify = rds.callsOf("ModifyDBInstance").at(-1)!.input;
            assert.deepStrictEqual([modify.DBInstanceIdentifier, modify.ApplyImmediately, modify.ManageMasterUserPassword], [INSTANCE_ID, true, true]);
            restored.status = "available";
            restored.timeline = [];
            const before = commands().length;
            r = await applySettings(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.applied], [true, []]);
            assert.strictEqual(commands().length, before, "nothing sent twice");
            rds.instances.delete(INSTANCE_ID);
            await assert.rejects(applySettings(rdsClient(), job), { name: "UnexpectedStateError" });
        });

        it("delete: gone without its final snapshot is an error, never a claim", async () => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.instances.delete(job.names.old);
            await assert.rejects(deleteOld(rdsClient(), job), /its final snapshot wordpress-pl-final-\d{14} is not there/);
            rds.addSnapshot(job.names.finalSnapshot, INSTANCE_ID, { status: "failed" });
            await assert.rejects(deleteOld(rdsClient(), job), /is not there/);
            rds.snapshots.get(job.names.finalSnapshot)!.status = "creating";
            const r = await deleteOld(rdsClient(), job);
            assert.strictEqual(r.done, true);
            assert.match(r.detail, /final snapshot wordpress-pl-final-\d{14} \(creating\)/);
            assert.deepStrictEqual(r.result, { identifier: INSTANCE_ID, resourceId: "unknown", masterUserSecretArn: "none", kmsKeyId: "none", finalSnapshot: job.names.finalSnapshot });
        });

        it("delete: waits for a busy original, turns protection off, then deletes once, keeping automated backups", async () => {
            moveInstance(INSTANCE_ID, job.names.old, "backing-up");
            const old = rds.instances.get(job.names.old)!;
            old.timeline = [];
            assert.deepStrictEqual(await deleteOld(rdsClient(), job), { done: false, detail: `${job.names.old} is backing-up` });
            old.status = "available";
            assert.match((await deleteOld(rdsClient(), job)).detail, /turned deletion protection off/);
            old.status = "available";
            old.timeline = [];
            await deleteOld(rdsClient(), job);
            const del = rds.callsOf("DeleteDBInstance")[0].input;
            assert.deepStrictEqual([del.SkipFinalSnapshot, del.DeleteAutomatedBackups, del.FinalDBSnapshotIdentifier], [false, false, job.names.finalSnapshot]);
            assert.deepStrictEqual(await deleteOld(rdsClient(), job), { done: false, detail: `${job.names.old} is deleting` });
            assert.deepStrictEqual(commands(), ["ModifyDBInstance", "DeleteDBInstance"]);
        });
    });

    describe("rollback", () => {
        it("an impostor under the temporary name is never adopted", async () => {
            rds.instances.delete(INSTANCE_ID);
            rds.addInstance({ identifier: job.names.old, data: "impostor" });
            const r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [false, "in-progress", false]);
            assert.deepStrictEqual(commands(), []);
        });

        it("removes a half-made restore without a final snapshot (it never served), waits for the original, renames it back", async () => {
            moveInstance(INSTANCE_ID, job.names.old, "renaming");
            rds.addInstance({ identifier: INSTANCE_ID, data: "half", status: "creating" });
            let r = await rollback(rdsClient(), job);
            assert.match(r.detail, /removing the half-made restore wordpress \(creating\)/);
            assert.strictEqual(rds.callsOf("DeleteDBInstance")[0].input.SkipFinalSnapshot, true);
            r = await rollback(rdsClient(), job);
            assert.match(r.detail, /removing the half-made restore wordpress \(deleting\)/);
            assert.strictEqual(rds.callsOf("DeleteDBInstance").length, 1, "not deleted twice");
            for (let i = 0; i < 8 && !r.done; i++) r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome], [true, "original-restored"]);
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v2");
        });

        it("a half-made restore still creating is retried, not an error; other refusals are errors", async () => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.addInstance({ identifier: INSTANCE_ID, data: "half", status: "failed" });
            rds.failNext("DeleteDBInstance", () => Object.assign(new Error("busy"), { name: "InvalidDBInstanceStateFault" }));
            assert.strictEqual((await rollback(rdsClient(), job)).done, false);
            rds.failNext("DeleteDBInstance", () => Object.assign(new Error("no"), { name: "AccessDenied" }));
            await assert.rejects(rollback(rdsClient(), job), { name: "AccessDenied" });
        });

        it("a restore that already served is kept: both databases, the original's protection put back", async () => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.instances.get(job.names.old)!.info.DeletionProtection = false;
            rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1" });
            let r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.match(r.detail, /putting deletion protection back on/);
            assert.deepStrictEqual(rds.callsOf("ModifyDBInstance").map((c) => [c.input.DBInstanceIdentifier, c.input.DeletionProtection]), [[job.names.old, true]]);
            rds.instances.get(job.names.old)!.status = "available";
            r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "kept-both", true]);
            assert.match(r.detail, /serves as wordpress \(available\); the original is kept as wordpress-pl-old-\d{14} \(available, resource id db-FAKE\d+, deletion protection on\)/);
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
        });
    });

    describe("keep both (after the point of no return)", () => {
        beforeEach(() => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1", info: { MasterUserSecret: { SecretArn: "arn:new-secret" } } });
        });

        it("waits for a busy original before putting its protection back", async () => {
            const old = rds.instances.get(job.names.old)!;
            old.info.DeletionProtection = false;
            old.status = "modifying";
            const r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome], [false, "in-progress"]);
            assert.match(r.detail, /modifying; deletion protection goes back on once it is available/);
            assert.deepStrictEqual(commands(), []);
        });

        it("an original that never had protection is left without it", async () => {
            rds.instances.get(job.names.old)!.info.DeletionProtection = false;
            const r = await keepBoth(rdsClient(), { ...job, original: { ...job.original, deletionProtection: false } });
            assert.deepStrictEqual([r.done, r.outcome], [true, "kept-both"]);
            assert.match(r.detail, /master password in secret arn:new-secret.*deletion protection off/);
            assert.deepStrictEqual(commands(), []);
        });

        it("an original being deleted: kept in its final snapshot, said only once the snapshot is there", async () => {
            rds.instances.get(job.names.old)!.status = "deleting";
            let r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.match(r.detail, /is deleting; its final snapshot .* is not visible yet/);
            rds.addSnapshot(job.names.finalSnapshot, INSTANCE_ID, { data: "orders-v2" });
            r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome], [true, "restore-kept"]);
            assert.match(r.detail, /the original \(wordpress-pl-old-\d{14}\) is being deleted, its data is in the final snapshot/);
            rds.instances.delete(job.names.old);
            assert.match((await keepBoth(rdsClient(), job)).detail, /was deleted, its data is in the final snapshot/);
        });

        it("neither original nor final snapshot: says so, claims nothing", async () => {
            rds.instances.delete(job.names.old);
            const r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome], [true, "restore-kept-original-missing"]);
            assert.match(r.detail, /neither the original .* nor its final snapshot .* was found/);
        });

        it("an impostor under the temporary name is an error naming the original's resource id", async () => {
            rds.instances.delete(job.names.old);
            rds.addInstance({ identifier: job.names.old, data: "impostor" });
            await assert.rejects(keepBoth(rdsClient(), job), new RegExp(`not the original .* find the original by resource id ${job.original.resourceId}`));
            assert.deepStrictEqual(commands(), []);
        });
    });

    describe("export", () => {
        const settings = { bucket: "b", prefix: "", kmsKeyArn: "k", roleArn: "r" };
        it("refuses a missing or unavailable snapshot; a retry finding the task started is fine", async () => {
            await assert.rejects(startExport(rdsClient(), { ...job, snapshotIdentifier: "wordpress-nope" }, settings), { name: "SnapshotNotFoundError" });
            rds.snapshots.get("wordpress-20260101000000")!.status = "creating";
            await assert.rejects(startExport(rdsClient(), job, settings), { name: "ResourceFailedError" });
            rds.snapshots.get("wordpress-20260101000000")!.status = "available";
            const first = await startExport(rdsClient(), job, settings);
            assert.deepStrictEqual(first, { exportTask: job.names.exportTask, s3Uri: `s3://b/${INSTANCE_ID}/${job.names.exportTask}` });
            assert.deepStrictEqual(await startExport(rdsClient(), job, settings), first);
            assert.strictEqual(rds.callsOf("StartExportTask")[0].input.S3Prefix, INSTANCE_ID);
        });

        it("status: FAILED, CANCELED and CANCELING stop the wait; COMPLETE ends it", async () => {
            await startExport(rdsClient(), job, settings);
            const task = rds.exportTasks.get(job.names.exportTask)!;
            for (const [status, ready, failed] of [["FAILED", false, true], ["CANCELED", false, true], ["CANCELING", false, true], ["IN_PROGRESS", false, false], ["COMPLETE", true, false]] as const) {
                task.status = status;
                task.timeline = [];
                task.info.FailureCause = status === "FAILED" ? "bucket gone" : undefined;
                const r = await checkStatus(rdsClient(), { target: "export", isCluster: false, identifier: job.names.exportTask });
                assert.deepStrictEqual([r.status, r.ready, r.failed], [status, ready, failed]);
                if (status === "FAILED") assert.match(r.detail, /FAILED: bucket gone/);
            }
            const missing = await checkStatus(rdsClient(), { target: "export", isCluster: false, identifier: "nope" });
            assert.deepStrictEqual([missing.status, missing.ready, missing.failed], ["not-found", false, false]);
        });
    });

    it("status of a database with members: ready only when all are, failed when any is", async () => {
        seedCluster(rds);
        let r = await checkStatus(rdsClient(), { target: "database", isCluster: true, identifier: CLUSTER_ID, members: ["shop-1", "shop-2"] });
        assert.deepStrictEqual([r.ready, r.failed, r.status, r.detail], [true, false, "available", "shop: available, shop-1: available, shop-2: available"]);
        rds.instances.get("shop-2")!.status = "creating";
        r = await checkStatus(rdsClient(), { target: "database", isCluster: true, identifier: CLUSTER_ID, members: ["shop-1", "shop-2"] });
        assert.deepStrictEqual([r.ready, r.failed, r.status], [false, false, "creating"]);
        rds.instances.get("shop-1")!.status = "incompatible-parameters";
        rds.instances.get("shop-1")!.timeline = [];
        r = await checkStatus(rdsClient(), { target: "database", isCluster: true, identifier: CLUSTER_ID, members: ["shop-1", "shop-2"] });
        assert.deepStrictEqual([r.ready, r.failed, r.status], [false, true, "incompatible-parameters"]);
        const snap = await checkStatus(rdsClient(), { target: "snapshot", isCluster: false, identifier: "wordpress-20260101000000" });
        assert.deepStrictEqual([snap.ready, snap.failed, snap.detail], [true, false, "snapshot wordpress-20260101000000 is available"]);
    });

    it("retention deletes only the machine's own snapshots: its name pattern and its tag", async () => {
        rds.addSnapshot("wordpress-20250101000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
        rds.addSnapshot("wordpress-20240101000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2024-01-01T00:00:00Z" });
        // Tagged by copy-tags, but not named by the machine.
        rds.addSnapshot("wordpress-copy-2023", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2023-01-01T00:00:00Z" });
        const r = await pruneSnapshots(rdsClient(), job, 1);
        assert.deepStrictEqual(r, { deleted: ["wordpress-20250101000000", "wordpress-20240101000000"], kept: 1 });
        assert.strictEqual(rds.snapshots.get("wordpress-copy-2023")!.status, "available");
        rds.failNext("DeleteDBSnapshot", () => Object.assign(new Error("gone"), { name: "DBSnapshotNotFoundFault" }));
        Object.assign(rds.snapshots.get("wordpress-20250101000000")!, { status: "available", timeline: [] });
        Object.assign(rds.snapshots.get("wordpress-20240101000000")!, { status: "deleting", timeline: [] });
        assert.deepStrictEqual(await pruneSnapshots(rdsClient(), job, 1), { deleted: [], kept: 2 });
        rds.failNext("DeleteDBSnapshot", () => Object.assign(new Error("no"), { name: "AccessDenied" }));
        await assert.rejects(pruneSnapshots(rdsClient(), job, 1), { name: "AccessDenied" });
    });
});

describe("restore steps, cluster twins", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let job: RestoreJob;
    const commands = () => rds.mutatingCalls().map((c) => c.command);

    beforeEach(async () => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        seedCluster(rds, "carts-v2");
        rds.addClusterSnapshot("shop-20260101000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        job = await buildJob(
            { rds: rdsClient(), sfn: new SFNClient({ region: "us-east-1" }) },
            {
                request: { identifier: CLUSTER_ID, task: "db_restore", isCluster: true },
                executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e",
                stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
                startedAt: "2026-03-04T05:06:07Z",
            },
            { managedIdentifiers: [CLUSTER_ID], managedKinds: { [CLUSTER_ID]: "cluster" }, exportEnabled: false },
        );
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });

    /** Renames the original cluster and its members as a finished rename would (cluster `status` given). */
    function renameAway(status = "available"): void {
        for (const m of ["shop-1", "shop-2", "shop-3"]) {
            const inst = rds.instances.get(m)!;
            rds.instances.delete(m);
            inst.info.DBInstanceIdentifier = job.names.oldMembers[m];
            inst.info.DBClusterIdentifier = job.names.old;
            rds.instances.set(inst.info.DBInstanceIdentifier, inst);
        }
        const c = rds.clusters.get(CLUSTER_ID)!;
        rds.clusters.delete(CLUSTER_ID);
        c.info.DBClusterIdentifier = job.names.old;
        c.status = status;
        c.timeline = [];
        rds.clusters.set(job.names.old, c);
    }

    it("rename: members first, then the cluster; done or under way sends nothing; an impostor stops it", async () => {
        await renameOriginal(rdsClient(), job);
        assert.deepStrictEqual(
            rds.mutatingCalls().map((c) => [c.command, c.input.NewDBInstanceIdentifier ?? c.input.NewDBClusterIdentifier]),
            [
                ["ModifyDBInstance", job.names.oldMembers["shop-1"]],
                ["ModifyDBInstance", job.names.oldMembers["shop-2"]],
                ["ModifyDBInstance", job.names.oldMembers["shop-3"]],
                ["ModifyDBCluster", job.names.old],
            ],
        );
        const n = commands().length;
        await renameOriginal(rdsClient(), job);
        assert.strictEqual(commands().length, n, "a retry after the rename sends nothing");
    });

    it("rename: a cluster still renaming is left alone; another cluster at the temporary name or no original is an error", async () => {
        for (const m of ["shop-1", "shop-2", "shop-3"]) rds.instances.get(m)!.status = "available";
        const c = rds.clusters.get(CLUSTER_ID)!;
        // Members already moved by an earlier attempt.
        renameAway();
        rds.clusters.delete(job.names.old);
        c.info.DBClusterIdentifier = CLUSTER_ID;
        c.status = "renaming";
        rds.clusters.set(CLUSTER_ID, c);
        await renameOriginal(rdsClient(), job);
        assert.deepStrictEqual(commands(), []);
        c.status = "available";
        rds.addCluster({ identifier: job.names.old, members: [] });
        await assert.rejects(renameOriginal(rdsClient(), job), /taken by another cluster/);
        rds.clusters.delete(job.names.old);
        rds.clusters.delete(CLUSTER_ID);
        await assert.rejects(renameOriginal(rdsClient(), job), /original cluster is neither under shop nor under shop-pl-old-/);
        assert.deepStrictEqual(commands(), []);
    });

    it("restore: the cluster, then nothing until it is available, then the writer alone, then the readers", async () => {
        renameAway();
        let r = await startRestore(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.members], [false, ["shop-1", "shop-2", "shop-3"]]);
        assert.deepStrictEqual(commands(), ["RestoreDBClusterFromSnapshot"]);
        r = await startRestore(rdsClient(), job);
        assert.match(r.detail, /cluster shop is creating/);
        assert.deepStrictEqual(commands(), ["RestoreDBClusterFromSnapshot"]);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available", timeline: [] });
        r = await startRestore(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.detail], [false, "creating the writer shop-1"]);
        r = await startRestore(rdsClient(), job);
        assert.match(r.detail, /writer shop-1 is creating/);
        assert.deepStrictEqual(commands(), ["RestoreDBClusterFromSnapshot", "CreateDBInstance"]);
        Object.assign(rds.instances.get("shop-1")!, { status: "available", timeline: [] });
        r = await startRestore(rdsClient(), job);
        assert.deepStrictEqual(rds.callsOf("CreateDBInstance").map((c) => c.input.DBInstanceIdentifier), ["shop-1", "shop-2", "shop-3"]);
        assert.strictEqual(r.done, true);
        r = await startRestore(rdsClient(), job);
        assert.strictEqual(r.done, true);
        assert.strictEqual(rds.callsOf("CreateDBInstance").length, 3, "a retry creates nothing twice");
    });

    it("restore: a failed cluster or writer stops at once; a member of another cluster or the original is refused", async () => {
        renameAway();
        await startRestore(rdsClient(), job);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "incompatible-restore", timeline: [] });
        await assert.rejects(startRestore(rdsClient(), job), { name: "ResourceFailedError" });
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available", timeline: [] });
        await startRestore(rdsClient(), job);
        Object.assign(rds.instances.get("shop-1")!, { status: "failed", timeline: [] });
        await assert.rejects(startRestore(rdsClient(), job), /restored writer shop-1 is failed/);
        rds.instances.get("shop-1")!.info.DBClusterIdentifier = "elsewhere";
        await assert.rejects(startRestore(rdsClient(), job), /shop-1 exists but belongs to elsewhere/);
        const restored = rds.clusters.get(CLUSTER_ID)!;
        restored.info.DbClusterResourceId = job.original.resourceId;
        await assert.rejects(startRestore(rdsClient(), job), /original cluster 'shop' is still under its identifier/);
    });

    it("settings: only what the cluster lacks, once it is available", async () => {
        renameAway();
        rds.addCluster({ identifier: CLUSTER_ID, members: [], status: "modifying" });
        let r = await applySettings(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.detail], [false, "shop is modifying"]);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available", timeline: [] });
        r = await applySettings(rdsClient(), job);
        assert.deepStrictEqual(r.applied.sort(), ["DeletionProtection", "ManageMasterUserPassword", "MasterUserSecretKmsKeyId", "PreferredMaintenanceWindow"]);
        assert.deepStrictEqual(commands(), ["ModifyDBCluster"]);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available", timeline: [] });
        r = await applySettings(rdsClient(), job);
        assert.strictEqual(r.done, true);
        assert.deepStrictEqual(commands(), ["ModifyDBCluster"]);
    });

    it("delete: refuses an impostor cluster or member, waits for a busy one, protection off, members then the cluster", async () => {
        renameAway("backing-up");
        assert.match((await deleteOld(rdsClient(), job)).detail, /is backing-up/);
        Object.assign(rds.clusters.get(job.names.old)!, { status: "available" });
        assert.match((await deleteOld(rdsClient(), job)).detail, /turned deletion protection off/);
        Object.assign(rds.clusters.get(job.names.old)!, { status: "available", timeline: [] });
        const member = rds.instances.get(job.names.oldMembers["shop-2"])!;
        const realId = member.info.DbiResourceId;
        member.info.DbiResourceId = "db-IMPOSTOR";
        await assert.rejects(deleteOld(rdsClient(), job), /is not the original member/);
        member.info.DbiResourceId = realId;
        const r = await deleteOld(rdsClient(), job);
        assert.match(r.detail, /deleting shop-pl-old-\d{14} \(3 member\(s\) deleting\)/);
        assert.deepStrictEqual(commands(), ["ModifyDBCluster", "DeleteDBInstance", "DeleteDBInstance", "DeleteDBInstance", "DeleteDBCluster"]);
        const del = rds.callsOf("DeleteDBCluster")[0].input;
        assert.deepStrictEqual([del.FinalDBSnapshotIdentifier, del.SkipFinalSnapshot, del.DeleteAutomatedBackups], [job.names.finalSnapshot, false, false]);
        let last = r;
        for (let i = 0; i < 6 && !last.done; i++) last = await deleteOld(rdsClient(), job);
        assert.strictEqual(last.done, true);
        rds.clusters.get(job.names.old) && assert.fail("cluster left");
        const c2 = rds.addCluster({ identifier: job.names.old, members: [] });
        c2.info.DbClusterResourceId = "cluster-OTHER";
        await assert.rejects(deleteOld(rdsClient(), job), /is not the original cluster/);
    });

    it("delete: the cluster gone but members still deleting is not done", async () => {
        renameAway();
        rds.clusters.delete(job.names.old);
        const r = await deleteOld(rdsClient(), job);
        assert.deepStrictEqual(r.done, false);
        assert.match(r.detail, /members still deleting: shop-1-pl-old-\d{14}, shop-2-pl-old-\d{14}, shop-3-pl-old-\d{14}/);
    });

    it("rollback: an impostor under the temporary name is never adopted; a missing member is waited for", async () => {
        renameAway();
        rds.clusters.get(job.names.old)!.info.DbClusterResourceId = "cluster-IMPOSTOR";
        let r = await rollback(rdsClient(), job);
        assert.match(r.detail, /original cluster not found/);
        rds.clusters.get(job.names.old)!.info.DbClusterResourceId = job.original.resourceId;
        rds.instances.get(job.names.oldMembers["shop-3"])!.info.DbiResourceId = "db-IMPOSTOR";
        r = await rollback(rdsClient(), job);
        assert.match(r.detail, /original members not found yet: shop-3/);
        assert.deepStrictEqual(commands(), []);
    });

    it("rollback: never reports the original restored while it or a member is still renaming", async () => {
        renameAway("renaming");
        let r = await rollback(rdsClient(), job);
        assert.match(r.detail, /original shop-pl-old-\d{14} is renaming/);
        Object.assign(rds.clusters.get(job.names.old)!, { status: "available" });
        r = await rollback(rdsClient(), job);
        assert.match(r.detail, /renaming shop-pl-old-\d{14} back to shop/);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "renaming", timeline: [] });
        r = await rollback(rdsClient(), job);
        assert.match(r.detail, /renaming members back/);
        for (let i = 0; i < 4; i++) r = await rollback(rdsClient(), job);
        assert.strictEqual(r.done, false, "the cluster is still renaming");
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available" });
        for (let i = 0; i < 6 && !r.done; i++) r = await rollback(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.outcome], [true, "original-restored"]);
        assert.deepStrictEqual(rds.membersOf(CLUSTER_ID).map((m) => m.info.DBInstanceIdentifier), ["shop-1", "shop-2", "shop-3"]);
    });

    it("rollback: a half-made cluster loses its members first, then itself, without a final snapshot; a serving one is kept", async () => {
        renameAway();
        await startRestore(rdsClient(), job);
        Object.assign(rds.clusters.get(CLUSTER_ID)!, { status: "available", timeline: [] });
        await startRestore(rdsClient(), job); // the writer, still creating
        let r = await rollback(rdsClient(), job);
        assert.match(r.detail, /removing the half-made restore shop \(available\)/);
        assert.deepStrictEqual(rds.callsOf("DeleteDBCluster"), [], "members first");
        r = await rollback(rdsClient(), job);
        const del = rds.callsOf("DeleteDBCluster")[0]?.input;
        assert.deepStrictEqual([del?.DBClusterIdentifier, del?.SkipFinalSnapshot], [CLUSTER_ID, true]);
        // Another run: a restored cluster whose writer is available has served.
        const again = await buildJob(
            { rds: rdsClient(), sfn: new SFNClient({ region: "us-east-1" }) },
            { request: { identifier: "cart", task: "create_snapshot_only", isCluster: true }, executionArn: "x", stateMachineArn: "y", startedAt: "2026-03-04T05:06:07Z" },
            { managedIdentifiers: ["cart"], managedKinds: { cart: "cluster" }, exportEnabled: false },
        ).catch((e: Error) => e);
        assert.ok(again instanceof Error, "no such cluster: a clear error");
    });

    it("keep both: finishes deleting an original cluster whose members are going, never leaving it without them", async () => {
        renameAway();
        rds.addCluster({ identifier: CLUSTER_ID, members: [{ identifier: "shop-1" }] });
        const away = rds.instances.get(job.names.oldMembers["shop-2"])!;
        away.status = "deleting";
        away.timeline = [];
        let r = await keepBoth(rdsClient(), job);
        assert.match(r.detail, /turned deletion protection off on shop-pl-old-\d{14} to finish deleting it/);
        Object.assign(rds.clusters.get(job.names.old)!, { status: "available", timeline: [] });
        r = await keepBoth(rdsClient(), job);
        assert.match(r.detail, /finishing the deletion of shop-pl-old-\d{14} with final snapshot/);
        assert.deepStrictEqual(
            rds.mutatingCalls().filter((c) => c.command.startsWith("Delete")).map((c) => c.input.DBInstanceIdentifier ?? c.input.DBClusterIdentifier),
            [job.names.oldMembers["shop-1"], job.names.oldMembers["shop-3"], job.names.old],
        );
        for (let i = 0; i < 6 && !r.done; i++) r = await keepBoth(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.outcome], [true, "restore-kept"]);
        assert.strictEqual(rds.clusterSnapshots.get(job.names.finalSnapshot)!.data, "carts-v2");
    });

    it("keep both: an original cluster with all its members is kept, its protection put back", async () => {
        renameAway();
        rds.addCluster({ identifier: CLUSTER_ID, members: [{ identifier: "shop-1" }] });
        rds.clusters.get(job.names.old)!.info.DeletionProtection = false;
        let r = await keepBoth(rdsClient(), job);
        assert.match(r.detail, /putting deletion protection back on shop-pl-old-/);
        assert.deepStrictEqual(rds.callsOf("ModifyDBCluster").map((c) => [c.input.DBClusterIdentifier, c.input.DeletionProtection]), [[job.names.old, true]]);
        Object.assign(rds.clusters.get(job.names.old)!, { status: "available", timeline: [] });
        r = await keepBoth(rdsClient(), job);
        assert.deepStrictEqual([r.done, r.outcome], [true, "kept-both"]);
    });
});
