/**
 * The shared RDS helpers at their edges: which snapshots count as pilotlight's (and so may be
 * pruned), which ones a listing returns (every page, one database, manual only), and lookups
 * that must tell "does not exist" from any other failure.
 */
import * as assert from "assert";
import {
    DBCluster,
    DBSnapshot,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClustersCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    ListTagsForResourceCommand,
    RDSClient,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import {
    clusterMembers,
    describeSnapshots,
    findCluster,
    findInstance,
    findSnapshot,
    isNotFound,
    isPilotlightSnapshot,
    listSnapshots,
    newestPilotlightSnapshot,
    SnapshotInfo,
    tagsOf,
} from "../functions/lib/rds";
import { SNAPSHOT_TAG_KEY, SNAPSHOT_TAG_VALUE } from "../functions/lib/naming";
import { SnapshotNotFoundError } from "../functions/lib/errors";
import { FakeRds, throttling } from "./fakeRds";

const PL = [{ Key: SNAPSHOT_TAG_KEY, Value: SNAPSHOT_TAG_VALUE }];
const client = () => new RDSClient({ region: "us-east-1" });

function info(identifier: string, over: Partial<SnapshotInfo> = {}): SnapshotInfo {
    return { identifier, databaseIdentifier: "db", status: "available", arn: `arn:${identifier}`, createdAt: "2026-01-01T00:00:00.000Z", type: "manual", tags: PL, ...over };
}

describe("rds helpers: which snapshots are pilotlight's", () => {
    it("a snapshot counts only when the created-by tag itself carries the value, not any tag with that value", () => {
        assert.strictEqual(isPilotlightSnapshot(info("a")), true);
        assert.strictEqual(isPilotlightSnapshot(info("b", { tags: [{ Key: "owner", Value: SNAPSHOT_TAG_VALUE }] })), false);
        assert.strictEqual(isPilotlightSnapshot(info("c", { tags: [{ Key: SNAPSHOT_TAG_KEY, Value: "someone-else" }] })), false);
        assert.strictEqual(isPilotlightSnapshot(info("d", { tags: [] })), false);
        assert.strictEqual(isPilotlightSnapshot(info("e", { tags: [{ Key: SNAPSHOT_TAG_KEY, Value: "backup-job" }] }), "backup-job"), true);
    });

    it("the newest pilotlight snapshot skips newer ones that are not pilotlight's or not available", () => {
        const snaps = [
            info("old", { createdAt: "2026-01-01T00:00:00.000Z" }),
            info("mid", { createdAt: "2026-01-02T00:00:00.000Z" }),
            info("foreign", { createdAt: "2026-01-05T00:00:00.000Z", tags: [{ Key: "owner", Value: SNAPSHOT_TAG_VALUE }] }),
            info("creating", { createdAt: "2026-01-06T00:00:00.000Z", status: "creating" }),
            info("deleting", { createdAt: "2026-01-07T00:00:00.000Z", status: "deleting" }),
        ];
        assert.strictEqual(newestPilotlightSnapshot(snaps)?.identifier, "mid");
        assert.strictEqual(newestPilotlightSnapshot([snaps[2], snaps[3]]), undefined);
        assert.strictEqual(newestPilotlightSnapshot([]), undefined);
    });
});

describe("rds helpers: not-found versus any other failure", () => {
    it("isNotFound knows the SDK's fault names and RDS's wire codes, and nothing that merely contains NotFound", () => {
        assert.strictEqual(isNotFound({ name: "DBSnapshotNotFoundFault" }), true);
        assert.strictEqual(isNotFound({ name: "DBInstanceNotFound" }), true);
        assert.strictEqual(isNotFound(new SnapshotNotFoundError("x")), false);
        assert.strictEqual(isNotFound({ name: "DBSnapshotNotFoundFaultLike" }), false);
        assert.strictEqual(isNotFound(throttling()), false);
        assert.strictEqual(isNotFound(undefined), false);
        assert.strictEqual(isNotFound(null), false);
    });

    describe("against the fake", () => {
        let rds: FakeRds;
        beforeEach(() => {
            rds = new FakeRds();
        });
        afterEach(() => rds.restore());

        it("findCluster: undefined when the cluster does not exist; any other error reaches the caller", async () => {
            assert.strictEqual(await findCluster(client(), "nope"), undefined);
            rds.addCluster({ identifier: "orders", members: [{ identifier: "orders-1" }] });
            assert.strictEqual((await findCluster(client(), "orders"))?.DBClusterIdentifier, "orders");
            rds.failNext("DescribeDBClusters");
            await assert.rejects(findCluster(client(), "orders"), /Rate exceeded/);
        });

        it("findSnapshot: undefined when it does not exist; any other error reaches the caller", async () => {
            rds.addSnapshot("db-1", "db");
            assert.strictEqual(await findSnapshot(client(), "nope", false), undefined);
            rds.failNext("DescribeDBSnapshots");
            await assert.rejects(findSnapshot(client(), "db-1", false), /Rate exceeded/);
            assert.strictEqual((await findSnapshot(client(), "db-1", false))?.identifier, "db-1");
        });

        it("findSnapshot reports the snapshot type of instance and cluster snapshots", async () => {
            rds.addSnapshot("db-1", "db");
            rds.addClusterSnapshot("orders-1", "orders");
            assert.strictEqual((await findSnapshot(client(), "db-1", false))?.type, "manual");
            assert.strictEqual((await findSnapshot(client(), "orders-1", true))?.type, "manual");
        });

        it("a snapshot RDS has not given a creation time yet reads with an empty createdAt", async () => {
            rds.addSnapshot("db-1", "db", { status: "creating" });
            rds.snapshots.get("db-1")!.info.SnapshotCreateTime = undefined;
            rds.stick("snapshot", "db-1");
            assert.strictEqual((await findSnapshot(client(), "db-1", false))?.createdAt, "");
            assert.deepStrictEqual((await listSnapshots(client(), "db", false)).map((s) => s.createdAt), [""]);
        });

        it("listSnapshots returns the manual snapshots of that database only", async () => {
            rds.addSnapshot("db-1", "db");
            rds.addSnapshot("other-1", "other");
            rds.addSnapshot("db-auto", "db").info.SnapshotType = "automated";
            assert.deepStrictEqual((await listSnapshots(client(), "db", false)).map((s) => s.identifier), ["db-1"]);
            rds.addClusterSnapshot("orders-1", "orders");
            rds.addClusterSnapshot("carts-1", "carts");
            rds.addClusterSnapshot("orders-auto", "orders").info.SnapshotType = "automated";
            assert.deepStrictEqual((await listSnapshots(client(), "orders", true)).map((s) => s.identifier), ["orders-1"]);
        });

        it("describeSnapshots without a database returns every database's manual snapshots", async () => {
            rds.addSnapshot("db-1", "db");
            rds.addSnapshot("other-1", "other");
            rds.addSnapshot("db-auto", "db").info.SnapshotType = "automated";
            assert.deepStrictEqual((await describeSnapshots(client(), false, { type: "manual" })).map((s) => s.identifier).sort(), ["db-1", "other-1"]);
            rds.addClusterSnapshot("orders-1", "orders");
            rds.addClusterSnapshot("carts-1", "carts");
            assert.deepStrictEqual((await describeSnapshots(client(), true, { type: "manual" })).map((s) => s.identifier).sort(), ["carts-1", "orders-1"]);
        });

        it("describeSnapshots of shared snapshots returns those of the named database only, untagged", async () => {
            const a = "arn:aws:rds:us-east-1:111111111111:snapshot:db-20260101000000";
            const b = "arn:aws:rds:us-east-1:111111111111:snapshot:other-20260101000000";
            rds.addSharedSnapshot(a, { kmsKeyId: "arn:aws:kms:us-east-1:111111111111:key/k" });
            rds.addSharedSnapshot(b, { kmsKeyId: "arn:aws:kms:us-east-1:111111111111:key/k" });
            rds.addSnapshot("db-own", "db");
            const shared = await describeSnapshots(client(), false, { type: "shared", databaseIdentifier: "db" });
            assert.deepStrictEqual(shared.map((s) => [s.identifier, s.type, s.tags]), [[a, "shared", []]]);
        });

        it("clusterMembers puts the writer first, keeps the readers' order, skips members that are gone and leaves the cluster as it was", async () => {
            for (const id of ["r1", "r2", "w", "r3"]) rds.addInstance({ identifier: id });
            const cluster: DBCluster = {
                DBClusterIdentifier: "orders",
                DBClusterMembers: [
                    { DBInstanceIdentifier: "r1", IsClusterWriter: false },
                    { DBInstanceIdentifier: "gone", IsClusterWriter: false },
                    { DBInstanceIdentifier: "r2" },
                    { DBInstanceIdentifier: "w", IsClusterWriter: true },
                    { DBInstanceIdentifier: "r3", IsClusterWriter: false },
                ],
            };
            const before = structuredClone(cluster);
            const members = await clusterMembers(client(), cluster);
            assert.deepStrictEqual(members.map((m) => m.DBInstanceIdentifier), ["w", "r1", "r2", "r3"]);
            assert.deepStrictEqual(cluster, before);
            const writerFirst: DBCluster = { DBClusterMembers: [{ DBInstanceIdentifier: "w", IsClusterWriter: true }, { DBInstanceIdentifier: "r1" }, { DBInstanceIdentifier: "r2", IsClusterWriter: false }] };
            assert.deepStrictEqual((await clusterMembers(client(), writerFirst)).map((m) => m.DBInstanceIdentifier), ["w", "r1", "r2"]);
            assert.deepStrictEqual(await clusterMembers(client(), { DBClusterIdentifier: "empty" }), []);
        });
    });
});

describe("rds helpers: every page, and answers with parts missing", () => {
    const newMock = () => mockClient(RDSClient);
    let mock: ReturnType<typeof newMock>;
    beforeEach(() => {
        mock = newMock();
    });
    afterEach(() => mock.restore());

    /** "If more records exist than the specified MaxRecords value, a pagination token called a marker is included in the response." (DescribeDBSnapshots, MaxRecords) */
    function pages<T>(items: T[], size: number) {
        return (input: { Marker?: string }) => {
            const from = input.Marker ? Number(input.Marker) : 0;
            const next = from + size < items.length ? String(from + size) : undefined;
            return { slice: items.slice(from, from + size), Marker: next };
        };
    }
    const snap = (id: string, db = "db"): DBSnapshot => ({ DBSnapshotIdentifier: id, DBInstanceIdentifier: db, Status: "available", SnapshotType: "manual", TagList: PL });

    it("listSnapshots reads every page of instance snapshots", async () => {
        const page = pages(["a", "b", "c", "d", "e"].map((x) => snap(x)), 2);
        mock.on(DescribeDBSnapshotsCommand).callsFake((input: { Marker?: string }) => {
            const p = page(input);
            return { DBSnapshots: p.slice, Marker: p.Marker };
        });
        assert.deepStrictEqual((await listSnapshots(client(), "db", false)).map((s) => s.identifier), ["a", "b", "c", "d", "e"]);
    });

    it("listSnapshots reads every page of cluster snapshots", async () => {
        const page = pages(["a", "b", "c"].map((x) => ({ DBClusterSnapshotIdentifier: x, DBClusterIdentifier: "orders", Status: "available", SnapshotType: "manual" })), 2);
        mock.on(DescribeDBClusterSnapshotsCommand).callsFake((input: { Marker?: string }) => {
            const p = page(input);
            return { DBClusterSnapshots: p.slice, Marker: p.Marker };
        });
        assert.deepStrictEqual((await listSnapshots(client(), "orders", true)).map((s) => s.identifier), ["a", "b", "c"]);
    });

    it("a page without a list or snapshots without tags read as nothing and as no tags", async () => {
        mock.on(DescribeDBSnapshotsCommand).resolves({});
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({});
        assert.deepStrictEqual(await listSnapshots(client(), "db", false), []);
        assert.deepStrictEqual(await listSnapshots(client(), "orders", true), []);
        mock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: "a", SnapshotType: "manual" }] });
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "c", SnapshotType: "manual" }] });
        assert.deepStrictEqual((await listSnapshots(client(), "db", false))[0].tags, []);
        assert.deepStrictEqual((await listSnapshots(client(), "orders", true))[0].tags, []);
    });

    it("lookups answered without a list find nothing, and a resource without tags has none", async () => {
        mock.on(DescribeDBInstancesCommand).resolves({});
        mock.on(DescribeDBClustersCommand).resolves({});
        mock.on(DescribeDBSnapshotsCommand).resolves({});
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({});
        mock.on(ListTagsForResourceCommand).resolves({});
        assert.strictEqual(await findInstance(client(), "db"), undefined);
        assert.strictEqual(await findCluster(client(), "orders"), undefined);
        assert.strictEqual(await findSnapshot(client(), "db-1", false), undefined);
        assert.strictEqual(await findSnapshot(client(), "orders-1", true), undefined);
        assert.deepStrictEqual(await tagsOf(client(), "arn:aws:rds:us-east-1:123456789012:db:db"), []);
    });
});
