// The dr stack's `failoverDatabase.source: latestCopy` in the two-account layout: the newest
// backup the primary's account shared with dr, found with IncludeShared and restored by ARN.
import * as assert from "assert";
import { oneResource, runProgram } from "./program";

describe("latestCopy in the two-account layout", () => {
    async function recorded(sets: string[]) {
        const { RecordingMocks } = await import("./mocks");
        const calls: any[] = [];
        const original = RecordingMocks.prototype.call;
        RecordingMocks.prototype.call = function (this: any, args: any) {
            calls.push(args);
            return original.call(this, args);
        };
        try {
            return { run: await runProgram("dr", { sets }), calls };
        } finally {
            RecordingMocks.prototype.call = original;
        }
    }

    it("an instance is restored from the newest snapshot the primary's account shared, by its ARN", async () => {
        const { run, calls } = await recorded(["failover=true"]);
        const lookups = calls.filter((c) => /^aws:rds\/getSnapshots?:/.test(c.token));
        // Shared snapshots are listed only with IncludeShared (DescribeDBSnapshots: "Shared and public DB snapshots are not included in the returned results by default").
        assert.deepStrictEqual(lookups.map((c) => [c.token, c.inputs]), [["aws:rds/getSnapshots:getSnapshots", { snapshotType: "shared", includeShared: true }]]);
        const db = oneResource(run, "aws:rds/instance:Instance", "database-instance").inputs;
        assert.strictEqual(db.snapshotIdentifier, "arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-bk-20260101000000");
        assert.strictEqual(db.finalSnapshotIdentifier, "pilotlight-db-final-pilotlight-db-bk-20260101000000");
        assert.strictEqual(run.outputs.databaseSource, "newest snapshot of pilotlight-db shared into this region by account 111111111111");
    });

    it("an Aurora cluster is restored from the newest shared cluster snapshot of the source, re-encrypted with the DR key", async () => {
        const { run, calls } = await recorded(["failover=true", "database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"]);
        const lookups = calls.filter((c) => c.token === "aws:rds/getClusterSnapshot:getClusterSnapshot");
        assert.deepStrictEqual(lookups.map((c) => c.inputs), [{ dbClusterIdentifier: "pilotlight-db", snapshotType: "shared", includeShared: true, mostRecent: true }]);
        const cluster = oneResource(run, "aws:rds/cluster:Cluster", "database-cluster").inputs;
        assert.strictEqual(cluster.snapshotIdentifier, "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:pilotlight-db-bk-20260101000000");
        assert.strictEqual(cluster.kmsKeyId, oneResource(run, "aws:kms/key:Key", "dr-key").state.arn);
    });

    it("one account: the lookup stays on this account's own copies of the instance, and picks the newest available backup copy", async () => {
        const { run, calls } = await recorded(["failover=true", "accountId=111111111111", "peer.accountId=111111111111", 'aws:allowedAccountIds=["111111111111"]']);
        assert.deepStrictEqual(calls.filter((c) => /getSnapshots?:/.test(c.token)).map((c) => [c.token, c.inputs]), [["aws:rds/getSnapshots:getSnapshots", { dbInstanceIdentifier: "pilotlight-db", snapshotType: "manual" }]]);
        assert.strictEqual(oneResource(run, "aws:rds/instance:Instance", "database-instance").inputs.snapshotIdentifier, "pilotlight-db-bk-20260101000000");
    });
});
