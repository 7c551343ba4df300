import * as assert from "assert";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import { handler } from "../functions/restore-validate";
import { RestoreJob } from "../functions/lib/restoreJob";
import type { ClusterPlan, InstancePlan } from "../functions/lib/restorePlan";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:restore";
const SELF = "arn:aws:states:us-east-1:123456789012:execution:restore:self";
const STARTED = "2026-03-04T05:06:07.000Z";

function event(request: unknown) {
    return { request, executionArn: SELF, stateMachineArn: MACHINE, startedAt: STARTED };
}

describe("restore-validate handler", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;

    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        process.env.MANAGED_IDENTIFIERS = `${INSTANCE_ID},${CLUSTER_ID},ghost,phantom`;
        process.env.MANAGED_KINDS = `${INSTANCE_ID}=instance,${CLUSTER_ID}=cluster,ghost=instance,phantom=cluster`;
        process.env.EXPORT_ENABLED = "true";
        seedInstance(rds);
        seedCluster(rds);
        rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        rds.addSnapshot("wordpress-20260201000000", INSTANCE_ID, { data: "orders-v1b", tags: PILOTLIGHT_TAGS, created: "2026-02-01T00:00:00Z" });
        // Newer, but not pilotlight's: never picked by default.
        rds.addSnapshot("wordpress-manual", INSTANCE_ID, { created: "2026-02-15T00:00:00Z" });
        rds.addSnapshot("other-db-snap", "otherdb", { created: "2026-02-15T00:00:00Z" });
        // Named like wordpress's, taken from another managed database whose name shares the prefix.
        rds.addSnapshot("wordpress-blog-snap", "wordpress-blog", { created: "2026-02-15T00:00:00Z" });
        rds.addClusterSnapshot("shop-20260201000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-02-01T00:00:00Z" });
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        delete process.env.MANAGED_IDENTIFIERS;
        delete process.env.MANAGED_KINDS;
        delete process.env.EXPORT_ENABLED;
    });

    it("defaults db_restore to the newest pilotlight snapshot and captures the plan, reading only", async () => {
        const job: RestoreJob = await handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }));
        assert.strictEqual(job.snapshotIdentifier, "wordpress-20260201000000");
        assert.strictEqual(job.names.old, "wordpress-pl-old-20260304050607");
        assert.strictEqual(job.names.finalSnapshot, "wordpress-pl-final-20260304050607");
        const plan = job.plan as InstancePlan;
        assert.strictEqual(plan.restore.DBSnapshotIdentifier, "wordpress-20260201000000");
        assert.strictEqual(plan.restore.DBParameterGroupName, "wordpress-pg16");
        assert.strictEqual(job.original.resourceId, rds.instances.get(INSTANCE_ID)!.info.DbiResourceId);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.deepStrictEqual(sfn.calls.map((c) => c.command), ["ListExecutions"]);
    });

    it("accepts a given snapshot of the same database", async () => {
        const job = await handler(
            event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-manual" }),
        );
        assert.strictEqual(job.snapshotIdentifier, "wordpress-manual");
    });

    it("names the snapshot create_snapshot will take and needs no existing one", async () => {
        const job = await handler(event({ identifier: CLUSTER_ID, task: "create_snapshot", isCluster: true }));
        assert.strictEqual(job.snapshotIdentifier, "shop-20260304050607");
        const plan = job.plan as ClusterPlan;
        assert.deepStrictEqual(plan.members.map((m) => m.DBInstanceIdentifier), ["shop-1", "shop-2", "shop-3"]);
        assert.deepStrictEqual(job.oldMembers, ["shop-1-pl-old-20260304050607", "shop-2-pl-old-20260304050607", "shop-3-pl-old-20260304050607"]);
        assert.deepStrictEqual(job.original.members.map((m) => m.identifier), ["shop-1", "shop-2", "shop-3"]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("has no plan for tasks that do not restore", async () => {
        for (const task of ["create_snapshot_only", "export_snapshot"]) {
            const job = await handler(event({ identifier: INSTANCE_ID, task, isCluster: false }));
            assert.strictEqual(job.plan, null, task);
        }
    });

    const badInputs: [string, unknown, string, RegExp][] = [
        ["not an object", "wordpress", "InvalidInputError", /JSON object/],
        ["unknown task", { identifier: INSTANCE_ID, task: "restore_everything", isCluster: false }, "InvalidInputError", /task must be one of/],
        ["missing task", { identifier: INSTANCE_ID, isCluster: false }, "InvalidInputError", /task must be one of/],
        ["missing identifier", { task: "db_restore", isCluster: false }, "InvalidInputError", /identifier must be/],
        ["malformed identifier", { identifier: "word_press;drop", task: "db_restore", isCluster: false }, "InvalidInputError", /must start with a letter/],
        ["identifier too long", { identifier: "a".repeat(42), task: "db_restore", isCluster: false }, "InvalidInputError", /at most 41/],
        ["isCluster as a string", { identifier: INSTANCE_ID, task: "db_restore", isCluster: "false" }, "InvalidInputError", /isCluster must be/],
        ["isCluster missing", { identifier: INSTANCE_ID, task: "db_restore" }, "InvalidInputError", /isCluster must be/],
        ["unknown field", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, force: true }, "InvalidInputError", /unknown input field/],
        ["unmanaged database", { identifier: "payroll", task: "db_restore", isCluster: false }, "InvalidInputError", /not a database this machine manages/],
        ["instance called a cluster", { identifier: INSTANCE_ID, task: "db_restore", isCluster: true }, "InvalidInputError", /"isCluster": false \(pilotlight:restore\.databases lists it as an instance\)/],
        ["cluster called an instance", { identifier: CLUSTER_ID, task: "db_restore", isCluster: false }, "InvalidInputError", /"isCluster": true \(pilotlight:restore\.databases lists it as a cluster\)/],
        ["configured instance called a cluster, even to snapshot", { identifier: "ghost", task: "create_snapshot_only", isCluster: true }, "InvalidInputError", /'ghost' is a DB instance, not an Aurora cluster; set "isCluster": false \(pilotlight:restore/],
        ["missing database", { identifier: "ghost", task: "db_restore", isCluster: false }, "DatabaseNotFoundError", /no DB instance 'ghost'/],
        ["missing cluster", { identifier: "phantom", task: "create_snapshot", isCluster: true }, "DatabaseNotFoundError", /no Aurora cluster 'phantom'/],
        ["missing snapshot", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-nope" }, "SnapshotNotFoundError", /does not exist/],
        ["snapshot named after another database", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "other-db-snap" }, "InvalidInputError", /must start with 'wordpress-'/],
        ["snapshot of another database", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-blog-snap" }, "SnapshotMismatchError", /taken from 'wordpress-blog'/],
        ["snapshot with create_snapshot", { identifier: INSTANCE_ID, task: "create_snapshot", isCluster: false, snapshotIdentifier: "wordpress-manual" }, "InvalidInputError", /only accepted with/],
        ["cluster snapshot that does not exist", { identifier: CLUSTER_ID, task: "db_restore", isCluster: true, snapshotIdentifier: "shop-manual" }, "SnapshotNotFoundError", /cluster snapshot 'shop-manual' does not exist/],
        ["a snapshot of another database than the one declared", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-blog-snap", sourceIdentifier: "pilotlight-db" }, "SnapshotMismatchError", /taken from 'wordpress-blog', not from 'pilotlight-db'/],
        ["a declared source without a given snapshot", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, sourceIdentifier: "pilotlight-db" }, "InvalidInputError", /sourceIdentifier is only accepted with db_restore and snapshotIdentifier/],
        ["a declared source with create_snapshot", { identifier: INSTANCE_ID, task: "create_snapshot", isCluster: false, sourceIdentifier: "pilotlight-db" }, "InvalidInputError", /sourceIdentifier is only accepted with db_restore and snapshotIdentifier/],
        ["a declared source that is no identifier", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-blog-snap", sourceIdentifier: 7 }, "InvalidInputError", /sourceIdentifier must be a database identifier; got 7/],
    ];
    for (const [label, request, errorName, message] of badInputs) {
        it(`rejects ${label} with ${errorName} and no mutating call`, async () => {
            await assert.rejects(handler(event(request)), (err: Error) => {
                assert.strictEqual(err.name, errorName);
                assert.match(err.message, message);
                return true;
            });
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    }

    it("restores another database's snapshot only when the request declares that database (a failback of an existing database)", async () => {
        // dr's pilotlight-db, copied home under wordpress's name by the failback.
        rds.addSnapshot("wordpress-fb-20260301120000-sk", "pilotlight-db", { created: "2026-03-01T12:00:00Z" });
        const request = { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-fb-20260301120000-sk" };
        await assert.rejects(handler(event(request)), { name: "SnapshotMismatchError", message: /taken from 'pilotlight-db', not from 'wordpress'/ });
        const job = await handler(event({ ...request, sourceIdentifier: "pilotlight-db" }));
        assert.strictEqual((job.plan as InstancePlan).restore.DBSnapshotIdentifier, "wordpress-fb-20260301120000-sk");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("accepts cluster members named after the cluster with a hyphen, and refuses a member that merely shares its first letters", async () => {
        process.env.MANAGED_IDENTIFIERS = "cart,cart2";
        process.env.MANAGED_KINDS = "cart=cluster,cart2=cluster";
        rds.addCluster({ identifier: "cart", members: [{ identifier: "cart", writer: true }, { identifier: "cart-reader", writer: false }] });
        rds.addCluster({ identifier: "cart2", members: [{ identifier: "cart2-1", writer: true }, { identifier: "cart2x", writer: false }] });
        const job = await handler(event({ identifier: "cart", task: "create_snapshot_only", isCluster: true }));
        assert.deepStrictEqual(job.restoredMembers, ["cart", "cart-reader"]);
        await assert.rejects(handler(event({ identifier: "cart2", task: "create_snapshot_only", isCluster: true })), (err: Error) => {
            assert.strictEqual(err.name, "InvalidInputError");
            assert.match(err.message, /member 'cart2x' of cluster 'cart2' is not named 'cart2' or 'cart2-<suffix>'/);
            return true;
        });
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("refuses a topology the in-place restore would break, for restores only, before any change", async () => {
        rds.instances.get(INSTANCE_ID)!.info.ReadReplicaDBInstanceIdentifiers = ["wordpress-ro"];
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })), (err: Error) => {
            assert.strictEqual(err.name, "InvalidInputError");
            assert.match(err.message, /'wordpress' cannot be restored in place: it has read replicas \(wordpress-ro\)/);
            return true;
        });
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "create_snapshot", isCluster: false })), { name: "InvalidInputError" });
        // Taking or exporting a snapshot breaks nothing.
        assert.strictEqual((await handler(event({ identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false }))).task, "create_snapshot_only");
        rds.clusters.get(CLUSTER_ID)!.info.CustomEndpoints = ["shop-reporting"];
        await assert.rejects(handler(event({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true })), /custom endpoints \(shop-reporting\)/);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("defaults to the machine's own snapshots only: its tag and its name pattern, not a tagged copy", async () => {
        // An operator's copy carries the tag (copy-tags), but not the machine's name.
        rds.addSnapshot("wordpress-copy-for-audit", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2026-03-01T00:00:00Z" });
        rds.addSnapshot("wordpress-2026030100000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2026-03-01T00:00:00Z" });
        rds.addSnapshot("wordpress-copy-20260301000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2026-03-01T00:00:00Z" });
        rds.addSnapshot("wordpress-20260301000000-copy", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2026-03-01T00:00:00Z" });
        const job = await handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }));
        assert.strictEqual(job.snapshotIdentifier, "wordpress-20260201000000");
    });

    it("records the original's deletion protection and plans the restore from the snapshot's size", async () => {
        rds.instances.get(INSTANCE_ID)!.info.AllocatedStorage = 20;
        rds.instances.get(INSTANCE_ID)!.info.MaxAllocatedStorage = undefined;
        rds.snapshots.get("wordpress-20260201000000")!.info.AllocatedStorage = 800;
        const job = await handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }));
        assert.strictEqual(job.original.deletionProtection, true);
        assert.strictEqual((job.plan as InstancePlan).restore.AllocatedStorage, 800);
        rds.snapshots.get("wordpress-20260101000000")!.info.AllocatedStorage = 900;
        const given = await handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-20260101000000" }));
        assert.strictEqual((given.plan as InstancePlan).restore.AllocatedStorage, 900);
        const cluster = await handler(event({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true }));
        assert.strictEqual(cluster.original.deletionProtection, true);
        rds.clusters.get(CLUSTER_ID)!.info.DeletionProtection = false;
        assert.strictEqual((await handler(event({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true }))).original.deletionProtection, false);
    });

    it("refuses a snapshot of another major version with what would be right", async () => {
        rds.snapshots.get("wordpress-20260101000000")!.info.EngineVersion = "15.8";
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-20260101000000" })), (err: Error) => {
            assert.strictEqual(err.name, "SnapshotMismatchError");
            assert.match(err.message, /snapshot 'wordpress-20260101000000' cannot be restored over 'wordpress': the snapshot is of engine version 15\.8, the database runs 16\.4/);
            return true;
        });
        // Exporting it is fine.
        assert.strictEqual((await handler(event({ identifier: INSTANCE_ID, task: "export_snapshot", isCluster: false, snapshotIdentifier: "wordpress-20260101000000" }))).task, "export_snapshot");
    });

    it("rejects a database that is not available", async () => {
        rds.instances.get(INSTANCE_ID)!.status = "modifying";
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })), { name: "DatabaseNotReadyError" });
        rds.instances.get("shop-2")!.status = "rebooting";
        await assert.rejects(handler(event({ identifier: CLUSTER_ID, task: "create_snapshot", isCluster: true })), /shop-2 \(rebooting\)/);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("rejects db_restore when the database has no pilotlight snapshot", async () => {
        rds.snapshots.clear();
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })), {
            name: "SnapshotNotFoundError",
            message: /no available pilotlight snapshot/,
        });
    });

    it("rejects a second run on the same database, but not one on another database", async () => {
        sfn.addRunning(MACHINE, "other", { identifier: CLUSTER_ID, task: "db_restore", isCluster: true });
        await handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }));
        sfn.addRunning(MACHINE, "first", { identifier: "WordPress", task: "create_snapshot_only", isCluster: false });
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })), {
            name: "ConcurrentRunError",
            message: /execution 'first'/,
        });
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("maps throttling to TransientError so the machine retries it", async () => {
        rds.failNext("DescribeDBInstances");
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })), { name: "TransientError" });
    });

    it("checks isCluster against the configured kind before calling RDS, and refuses a database whose kind is not configured", async () => {
        await assert.rejects(handler(event({ identifier: CLUSTER_ID, task: "create_snapshot_only", isCluster: false })), { name: "InvalidInputError" });
        assert.deepStrictEqual(rds.calls, []);
        process.env.MANAGED_KINDS = `${CLUSTER_ID}=cluster`;
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false })), {
            message: /does not say whether 'wordpress' is an instance or a cluster/,
        });
        process.env.MANAGED_KINDS = `${INSTANCE_ID}=db`;
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false })), {
            message: /MANAGED_KINDS entry 'wordpress=db' is not <identifier>=instance or <identifier>=cluster/,
        });
        assert.deepStrictEqual(rds.calls, []);
    });

    it("refuses export_snapshot when no export is configured", async () => {
        process.env.EXPORT_ENABLED = "false";
        await assert.rejects(handler(event({ identifier: INSTANCE_ID, task: "export_snapshot", isCluster: false })), {
            name: "InvalidInputError",
            message: /not configured/,
        });
    });
});
