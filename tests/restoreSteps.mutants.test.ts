/**
 * The restore steps against the fake RDS, for the regressions the step tests
 * let through (found by mutation testing): the point of no return, keeping
 * both databases, the rollback, deleting the original and the retention.
 */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
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

const rdsClient = () => new RDSClient({ region: "us-east-1" });
const named = (name: string, message = name) => () => Object.assign(new Error(message), { name });

async function jobFor(identifier: string, isCluster: boolean): Promise<RestoreJob> {
    return buildJob(
        { rds: rdsClient(), sfn: new SFNClient({ region: "us-east-1" }) },
        {
            request: { identifier, task: "db_restore", isCluster },
            executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e",
            stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            startedAt: "2026-03-04T05:06:07Z",
        },
        { managedIdentifiers: [identifier], managedKinds: { [identifier]: isCluster ? "cluster" : "instance" }, exportEnabled: true },
    );
}

describe("restore steps: instance regressions", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let job: RestoreJob;
    const commands = () => rds.mutatingCalls().map((c) => c.command);

    beforeEach(async () => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        seedInstance(rds, "orders-v2");
        rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        job = await jobFor(INSTANCE_ID, false);
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });

    /** Moves an instance to another name as a finished (or, with `status`, ongoing) rename would. */
    function moveInstance(from: string, to: string, status = "available"): void {
        const inst = rds.instances.get(from)!;
        rds.instances.delete(from);
        inst.info.DBInstanceIdentifier = to;
        inst.status = status;
        inst.timeline = [];
        rds.instances.set(to, inst);
    }

    describe("rollback and the point of no return", () => {
        it("the original back under its identifier but still renaming is not 'restored'; available, it is, without a cutover", async () => {
            moveInstance(INSTANCE_ID, INSTANCE_ID, "renaming");
            let r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [false, "in-progress", false]);
            assert.match(r.detail, /original wordpress is renaming/);
            rds.instances.get(INSTANCE_ID)!.status = "available";
            r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "original-restored", false]);
            assert.deepStrictEqual(commands(), []);
        });

        it("an original already being deleted is past the point of no return: the half-made restore is not removed", async () => {
            moveInstance(INSTANCE_ID, job.names.old, "deleting");
            rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1", status: "creating" });
            const r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.match(r.detail, /is deleting; its final snapshot .* is not visible yet/);
            assert.deepStrictEqual(commands(), []);
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v1");
        });

        it("an original being deleted with nothing under the identifier is never renamed back", async () => {
            moveInstance(INSTANCE_ID, job.names.old, "deleting");
            const r = await rollback(rdsClient(), job);
            assert.strictEqual(r.cutover, true);
            assert.deepStrictEqual(commands(), []);
        });
    });

    describe("keep both", () => {
        beforeEach(() => {
            moveInstance(INSTANCE_ID, job.names.old);
            rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1" });
        });

        it("every answer after the point of no return says the cutover happened", async () => {
            const old = rds.instances.get(job.names.old)!;
            old.info.DeletionProtection = false;
            old.status = "modifying";
            let r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            old.status = "deleting";
            r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            rds.addSnapshot(job.names.finalSnapshot, INSTANCE_ID, { data: "orders-v2" });
            r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "restore-kept", true]);
            rds.instances.delete(job.names.old);
            rds.snapshots.delete(job.names.finalSnapshot);
            r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "restore-kept-original-missing", true]);
        });

        it("says so when nothing serves under the identifier, without a secret", async () => {
            rds.instances.delete(INSTANCE_ID);
            const r = await keepBoth(rdsClient(), { ...job, original: { ...job.original, deletionProtection: false } });
            assert.deepStrictEqual([r.done, r.outcome], [true, "kept-both"]);
            assert.match(r.detail, /^the restored database serves as wordpress \(not found\); the original is kept/);
        });
    });

    describe("deleting the original", () => {
        beforeEach(() => {
            moveInstance(INSTANCE_ID, job.names.old);
        });

        it("is not done after turning protection off, nor after the delete call; protection really goes off", async () => {
            let r = await deleteOld(rdsClient(), job);
            assert.deepStrictEqual(r, { done: false, detail: `turned deletion protection off on ${job.names.old}` });
            assert.strictEqual(rds.instances.get(job.names.old)!.info.DeletionProtection, false);
            Object.assign(rds.instances.get(job.names.old)!, { status: "available", timeline: [] });
            r = await deleteOld(rdsClient(), job);
            assert.deepStrictEqual(r, { done: false, detail: `deleting ${job.names.old} with final snapshot ${job.names.finalSnapshot}` });
        });

        it("reports the restored database's resource id, secret and key once the original is gone", async () => {
            rds.instances.delete(job.names.old);
            rds.addSnapshot(job.names.finalSnapshot, INSTANCE_ID, { data: "orders-v2" });
            const plain = rds.addInstance({ identifier: INSTANCE_ID, data: "orders-v1", info: { KmsKeyId: "arn:kms:restored" } });
            let r = await deleteOld(rdsClient(), job);
            assert.deepStrictEqual(r.result, {
                identifier: INSTANCE_ID,
                resourceId: plain.info.DbiResourceId,
                masterUserSecretArn: "none",
                kmsKeyId: "arn:kms:restored",
                finalSnapshot: job.names.finalSnapshot,
            });
            plain.info.MasterUserSecret = { SecretArn: "arn:secret:new" };
            r = await deleteOld(rdsClient(), job);
            assert.strictEqual(r.result!.masterUserSecretArn, "arn:secret:new");
        });
    });

    describe("snapshot", () => {
        it("takes the job's snapshot of the database, tagged as the machine's", async () => {
            assert.deepStrictEqual(await createSnapshot(rdsClient(), job), { snapshotIdentifier: job.names.newSnapshot });
            const call = rds.callsOf("CreateDBSnapshot")[0].input;
            assert.deepStrictEqual([call.DBInstanceIdentifier, call.DBSnapshotIdentifier, call.Tags], [INSTANCE_ID, job.names.newSnapshot, PILOTLIGHT_TAGS]);
            assert.strictEqual(rds.snapshots.get(job.names.newSnapshot)!.info.DBInstanceIdentifier, INSTANCE_ID);
        });

        it("a create that finds this database's snapshot already there (RDS's wire code) is fine; any other error is not", async () => {
            // The first look misses the snapshot an earlier attempt's create makes visible only now.
            rds.addSnapshot(job.names.newSnapshot, INSTANCE_ID);
            rds.failNext("DescribeDBSnapshots", named("DBSnapshotNotFoundFault"));
            rds.failNext("CreateDBSnapshot", named("DBSnapshotAlreadyExists"));
            assert.deepStrictEqual(await createSnapshot(rdsClient(), job), { snapshotIdentifier: job.names.newSnapshot });
            rds.failNext("DescribeDBSnapshots", named("DBSnapshotNotFoundFault"));
            rds.failNext("CreateDBSnapshot", named("InternalFailure"));
            await assert.rejects(createSnapshot(rdsClient(), job), { name: "InternalFailure" });
        });
    });

    describe("status", () => {
        it("an available instance is ready, with no members to check", async () => {
            const r = await checkStatus(rdsClient(), { target: "database", isCluster: false, identifier: INSTANCE_ID });
            assert.deepStrictEqual(r, { status: "available", ready: true, failed: false, detail: "wordpress: available" });
        });

        it("an export RDS does not know (wire code) is 'not yet'; any other error is raised", async () => {
            rds.failNext("DescribeExportTasks", named("ExportTaskNotFound"));
            const r = await checkStatus(rdsClient(), { target: "export", isCluster: false, identifier: job.names.exportTask });
            assert.deepStrictEqual([r.status, r.ready, r.failed], ["not-found", false, false]);
            rds.failNext("DescribeExportTasks", named("AccessDenied"));
            await assert.rejects(checkStatus(rdsClient(), { target: "export", isCluster: false, identifier: job.names.exportTask }), { name: "AccessDenied" });
        });

        it("an answer without export tasks (an empty list, or none: both optional in the API) is 'not yet', not a crash", async () => {
            for (const answer of [{ ExportTasks: [] }, {}]) {
                const empty = { send: async () => answer } as unknown as RDSClient;
                const r = await checkStatus(empty, { target: "export", isCluster: false, identifier: "x" });
                assert.deepStrictEqual(r, { status: "not-found", ready: false, failed: false, detail: "export x is not-found" });
            }
        });
    });

    describe("export and retention", () => {
        const settings = { bucket: "b", prefix: "exports", kmsKeyArn: "k", roleArn: "r" };

        it("an export already started (wire code) is fine; a refused one is an error", async () => {
            rds.failNext("StartExportTask", named("ExportTaskAlreadyExists"));
            assert.deepStrictEqual(await startExport(rdsClient(), job, settings), {
                exportTask: job.names.exportTask,
                s3Uri: `s3://b/exports/${INSTANCE_ID}/${job.names.exportTask}`,
            });
            rds.failNext("StartExportTask", named("AccessDenied"));
            await assert.rejects(startExport(rdsClient(), job, settings), { name: "AccessDenied" });
        });

        it("a snapshot already gone (wire code) is skipped", async () => {
            rds.addSnapshot("wordpress-20250101000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
            rds.failNext("DeleteDBSnapshot", named("DBSnapshotNotFound"));
            assert.deepStrictEqual(await pruneSnapshots(rdsClient(), job, 1), { deleted: [], kept: 1 });
        });
    });

    it("settings: a job without a plan has nothing to apply", async () => {
        const r = await applySettings(rdsClient(), { ...job, plan: null });
        assert.deepStrictEqual([r.done, r.applied], [true, []]);
        assert.deepStrictEqual(commands(), []);
    });
});

describe("restore steps: cluster regressions", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let job: RestoreJob;
    const commands = () => rds.mutatingCalls().map((c) => c.command);
    const deletes = () => rds.mutatingCalls().filter((c) => c.command.startsWith("Delete")).map((c) => c.input.DBInstanceIdentifier ?? c.input.DBClusterIdentifier);

    beforeEach(async () => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        seedCluster(rds, "carts-v2");
        rds.addClusterSnapshot("shop-20260101000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        job = await jobFor(CLUSTER_ID, true);
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
            inst.timeline = [];
            rds.instances.set(inst.info.DBInstanceIdentifier, inst);
        }
        const c = rds.clusters.get(CLUSTER_ID)!;
        rds.clusters.delete(CLUSTER_ID);
        c.info.DBClusterIdentifier = job.names.old;
        c.status = status;
        c.timeline = [];
        rds.clusters.set(job.names.old, c);
    }

    /** Puts the renamed original cluster back under its identifier, its members still away. */
    function clusterHome(status = "available"): void {
        const c = rds.clusters.get(job.names.old)!;
        rds.clusters.delete(job.names.old);
        c.info.DBClusterIdentifier = CLUSTER_ID;
        c.status = status;
        rds.clusters.set(CLUSTER_ID, c);
        for (const m of ["shop-1", "shop-2", "shop-3"]) rds.instances.get(job.names.oldMembers[m])!.info.DBClusterIdentifier = CLUSTER_ID;
    }

    function setStatus(id: string, status: string, kind: "instance" | "cluster" = "instance"): void {
        Object.assign(kind === "cluster" ? rds.clusters.get(id)! : rds.instances.get(id)!, { status, timeline: [] });
    }

    describe("rollback and the point of no return", () => {
        it("an original cluster being deleted is past the point of no return: a half-made restore is left alone", async () => {
            renameAway("deleting");
            rds.addCluster({ identifier: CLUSTER_ID, status: "creating", members: [] });
            const r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.deepStrictEqual(commands(), []);
        });

        it("one original member being deleted is past the point of no return too: a half-made restore is left alone", async () => {
            renameAway();
            setStatus(job.names.oldMembers["shop-2"], "deleting");
            rds.addCluster({ identifier: CLUSTER_ID, status: "creating", members: [] });
            const r = await rollback(rdsClient(), job);
            assert.strictEqual(r.cutover, true);
            assert.ok(rds.clusters.has(CLUSTER_ID), "the restored cluster is kept");
            assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.input.DBClusterIdentifier === CLUSTER_ID || c.input.NewDBClusterIdentifier), []);
        });

        it("no original anywhere, or an original member nowhere, is waited for", async () => {
            renameAway();
            const original = rds.clusters.get(job.names.old)!;
            rds.clusters.delete(job.names.old);
            let r = await rollback(rdsClient(), job);
            assert.match(r.detail, /original cluster not found under shop or shop-pl-old-\d{14} yet/);
            rds.clusters.set(job.names.old, original);
            rds.instances.delete(job.names.oldMembers["shop-2"]);
            r = await rollback(rdsClient(), job);
            assert.match(r.detail, /original members not found yet: shop-2$/);
            assert.deepStrictEqual(commands(), []);
        });

        it("with the cluster home, a half-made member under a member's name is removed before that member is renamed back", async () => {
            renameAway();
            clusterHome();
            rds.addInstance({ identifier: "shop-2", data: "", status: "creating", info: { DBClusterIdentifier: "elsewhere" } });
            let r = await rollback(rdsClient(), job);
            assert.match(r.detail, /^renaming members back: shop-1, shop-2, shop-3$/);
            assert.deepStrictEqual(deletes(), ["shop-2"]);
            assert.deepStrictEqual(
                rds.callsOf("ModifyDBInstance").map((c) => c.input.NewDBInstanceIdentifier),
                ["shop-1", "shop-3"],
            );
            assert.strictEqual(r.cutover, false);
            r = await rollback(rdsClient(), job);
            assert.deepStrictEqual(rds.callsOf("ModifyDBInstance").length, 2, "nothing renamed while the half-made member is deleting");
        });

        it("with the cluster home, a member still busy under its temporary name is not renamed yet", async () => {
            renameAway();
            clusterHome();
            setStatus(job.names.oldMembers["shop-3"], "modifying");
            const r = await rollback(rdsClient(), job);
            assert.deepStrictEqual(rds.callsOf("ModifyDBInstance").map((c) => c.input.DBInstanceIdentifier), [job.names.oldMembers["shop-1"], job.names.oldMembers["shop-2"]]);
            assert.strictEqual(r.done, false);
        });

        it("the original restored is reported without a cutover", async () => {
            const r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "original-restored", false]);
        });

        it("a half-made cluster already deleting is not deleted again", async () => {
            renameAway();
            rds.addCluster({ identifier: CLUSTER_ID, status: "deleting", members: [{ identifier: "shop-1", writer: true }] });
            setStatus("shop-1", "creating");
            const r = await rollback(rdsClient(), job);
            assert.strictEqual(r.cutover, false);
            assert.deepStrictEqual(commands(), []);
        });

        it("a half-made cluster whose members are all deleting is deleted now, without a final snapshot; refusals: busy waits, others raise", async () => {
            renameAway();
            rds.addCluster({ identifier: CLUSTER_ID, status: "creating", members: [{ identifier: "shop-1", writer: true }] });
            setStatus("shop-1", "deleting");
            rds.failNext("DeleteDBCluster", named("InvalidDBClusterStateFault"));
            let r = await rollback(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, false]);
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
            rds.failNext("DeleteDBCluster", named("AccessDenied"));
            await assert.rejects(rollback(rdsClient(), job), { name: "AccessDenied" });
            r = await rollback(rdsClient(), job);
            const del = rds.callsOf("DeleteDBCluster").at(-1)!.input;
            assert.deepStrictEqual([del.DBClusterIdentifier, del.SkipFinalSnapshot], [CLUSTER_ID, true]);
            assert.strictEqual(rds.clusters.get(job.names.old)!.data, "carts-v2");
        });
    });

    describe("keep both", () => {
        beforeEach(() => {
            renameAway();
            rds.addCluster({ identifier: CLUSTER_ID, members: [{ identifier: "shop-1" }] });
        });

        it("an original cluster that lost a member already is deleted to its final snapshot, not kept incomplete", async () => {
            rds.instances.delete(job.names.oldMembers["shop-2"]);
            rds.clusters.get(job.names.old)!.info.DeletionProtection = false;
            const r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.match(r.detail, /finishing the deletion of shop-pl-old-\d{14} with final snapshot/);
            assert.deepStrictEqual(deletes(), [job.names.oldMembers["shop-1"], job.names.oldMembers["shop-3"], job.names.old]);
        });

        it("a busy original with protection is waited for before protection goes off; then it really goes off", async () => {
            rds.instances.delete(job.names.oldMembers["shop-2"]);
            setStatus(job.names.old, "modifying", "cluster");
            let r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.match(r.detail, /shop-pl-old-\d{14} is modifying$/);
            assert.deepStrictEqual(commands(), []);
            setStatus(job.names.old, "available", "cluster");
            r = await keepBoth(rdsClient(), job);
            assert.strictEqual(r.cutover, true);
            assert.strictEqual(rds.clusters.get(job.names.old)!.info.DeletionProtection, false);
        });

        it("a cluster delete refused as busy is tried again next round; other refusals raise", async () => {
            setStatus(job.names.oldMembers["shop-2"], "deleting");
            rds.clusters.get(job.names.old)!.info.DeletionProtection = false;
            rds.failNext("DeleteDBCluster", named("InvalidDBClusterStateFault"));
            const r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            rds.failNext("DeleteDBCluster", named("AccessDenied"));
            await assert.rejects(keepBoth(rdsClient(), job), { name: "AccessDenied" });
        });

        it("protection goes back on a kept original cluster for real, and only once it is available", async () => {
            rds.clusters.get(job.names.old)!.info.DeletionProtection = false;
            setStatus(job.names.old, "modifying", "cluster");
            let r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.cutover], [false, true]);
            assert.deepStrictEqual(commands(), []);
            setStatus(job.names.old, "available", "cluster");
            r = await keepBoth(rdsClient(), job);
            assert.strictEqual(r.cutover, true);
            assert.strictEqual(rds.clusters.get(job.names.old)!.info.DeletionProtection, true);
        });

        it("nothing serving and no original: says so for a cluster too", async () => {
            rds.clusters.delete(CLUSTER_ID);
            rds.instances.delete("shop-1");
            for (const m of ["shop-1", "shop-2", "shop-3"]) rds.instances.delete(job.names.oldMembers[m]);
            rds.clusters.delete(job.names.old);
            const r = await keepBoth(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.outcome, r.cutover], [true, "restore-kept-original-missing", true]);
            assert.match(r.detail, /^the restored database serves as shop \(not found\)/);
        });
    });

    describe("deleting the original", () => {
        it("a cluster already deleting, or busy, is waited for; protection off is not done and really turns it off", async () => {
            renameAway("deleting");
            assert.deepStrictEqual(await deleteOld(rdsClient(), job), { done: false, detail: `${job.names.old} is deleting` });
            setStatus(job.names.old, "backing-up", "cluster");
            assert.deepStrictEqual(await deleteOld(rdsClient(), job), { done: false, detail: `${job.names.old} is backing-up` });
            setStatus(job.names.old, "available", "cluster");
            assert.deepStrictEqual(await deleteOld(rdsClient(), job), { done: false, detail: `turned deletion protection off on ${job.names.old}` });
            assert.strictEqual(rds.clusters.get(job.names.old)!.info.DeletionProtection, false);
            assert.deepStrictEqual(commands(), ["ModifyDBCluster"]);
        });

        it("a member already deleting is not deleted again; a member already gone is skipped", async () => {
            renameAway();
            rds.clusters.get(job.names.old)!.info.DeletionProtection = false;
            setStatus(job.names.oldMembers["shop-2"], "deleting");
            rds.instances.delete(job.names.oldMembers["shop-3"]);
            const r = await deleteOld(rdsClient(), job);
            assert.deepStrictEqual(deletes(), [job.names.oldMembers["shop-1"], job.names.old]);
            assert.match(r.detail, /\(2 member\(s\) deleting\)/);
        });
    });

    describe("rename, restore, settings", () => {
        it("rename answers with the temporary name whether it renames, finds it under way, or finds it done", async () => {
            assert.deepStrictEqual(await renameOriginal(rdsClient(), job), { renamedTo: job.names.old });
            // The members moved; the cluster's rename under way.
            const c = rds.clusters.get(job.names.old) ?? rds.clusters.get(CLUSTER_ID)!;
            rds.clusters.delete(job.names.old);
            c.info.DBClusterIdentifier = CLUSTER_ID;
            Object.assign(c, { status: "renaming", timeline: [] });
            rds.clusters.set(CLUSTER_ID, c);
            assert.deepStrictEqual(await renameOriginal(rdsClient(), job), { renamedTo: job.names.old });
            rds.clusters.delete(CLUSTER_ID);
            c.info.DBClusterIdentifier = job.names.old;
            rds.clusters.set(job.names.old, c);
            assert.deepStrictEqual(await renameOriginal(rdsClient(), job), { renamedTo: job.names.old });
        });

        it("restore is not done while the cluster or its writer is not available", async () => {
            renameAway();
            await startRestore(rdsClient(), job);
            let r = await startRestore(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.detail], [false, "cluster shop is creating"]);
            setStatus(CLUSTER_ID, "available", "cluster");
            await startRestore(rdsClient(), job);
            r = await startRestore(rdsClient(), job);
            assert.deepStrictEqual([r.done, r.detail], [false, "writer shop-1 is creating"]);
        });

        it("settings: a missing restored cluster is an error; settings are applied at once", async () => {
            renameAway();
            await assert.rejects(applySettings(rdsClient(), job), { name: "UnexpectedStateError", message: /the restored shop is not there/ });
            rds.addCluster({ identifier: CLUSTER_ID, members: [] });
            await applySettings(rdsClient(), job);
            assert.strictEqual(rds.callsOf("ModifyDBCluster")[0].input.ApplyImmediately, true);
            assert.strictEqual(rds.clusters.get(CLUSTER_ID)!.info.DeletionProtection, true);
        });

        it("status of a cluster without a member list looks at the cluster only", async () => {
            const r = await checkStatus(rdsClient(), { target: "database", isCluster: true, identifier: CLUSTER_ID });
            assert.deepStrictEqual([r.ready, r.detail], [true, "shop: available"]);
        });
    });

    it("retention of a cluster's snapshots deletes only its own old cluster snapshots", async () => {
        rds.addClusterSnapshot("shop-20250101000000", CLUSTER_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
        rds.addClusterSnapshot("shop-manual", CLUSTER_ID, { tags: PILOTLIGHT_TAGS, created: "2024-01-01T00:00:00Z" });
        const r = await pruneSnapshots(rdsClient(), { ...job, snapshotIdentifier: "shop-20260101000000" }, 1);
        assert.deepStrictEqual(r, { deleted: ["shop-20250101000000"], kept: 1 });
        assert.deepStrictEqual(rds.callsOf("DeleteDBClusterSnapshot").map((c) => c.input.DBClusterSnapshotIdentifier), ["shop-20250101000000"]);
        assert.strictEqual(rds.clusterSnapshots.get("shop-manual")!.status, "available");
    });
});
