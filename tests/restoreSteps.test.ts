/** The restore steps' safety rules, one by one, against the fake RDS. */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { FakeRds } from "./fakeRds";
import { INSTANCE_ID, PILOTLIGHT_TAGS, seedInstance } from "./fixtures";
import { buildJob, RestoreJob } from "../functions/lib/restoreJob";
import { checkStatus, deleteOld, pruneSnapshots, rollback, startRestore } from "../functions/lib/restoreSteps";
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
});
