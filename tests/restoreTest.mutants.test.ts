/**
 * The restore test's steps at their edges, against the fake RDS: deletion guards (only this run's
 * throwaway, already-deleting ones left to finish, nothing retained behind), every page of the
 * leftover search, the wait's readiness rules and where the probe's endpoint comes from.
 */
import * as assert from "assert";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, ListTagsForResourceCommand, RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { plan, probe, record, remove, RESTORE_TEST_EXECUTION_TAG, RESTORE_TEST_JOB, RESTORE_TEST_MINUTES_METRIC, RESTORE_TEST_SUCCEEDED_METRIC, RestoreTestSettings, status, TestJob } from "../functions/lib/restoreTest";
import { READINESS_NAMESPACE } from "../functions/lib/readiness";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";

const REGION = "us-west-2";
const DR = "222222222222";
const MACHINE = "pl-restore-test";
const EXEC = `arn:aws:states:${REGION}:${DR}:execution:${MACHINE}:exec-1`;
const ID = "pl-rtest-20260301120000";
const WRITER = `${ID}-w`;
const settings = (isCluster = false): RestoreTestSettings => ({
    namePrefix: "pl",
    target: { database: isCluster ? "aur" : "db", isCluster, kind: "snapshots" },
    instanceClass: "db.t4g.medium",
    subnetGroupName: "pl-dr-db",
    securityGroupId: "sg-1",
    kmsKeyArn: `arn:aws:kms:${REGION}:${DR}:key/dr`,
    region: REGION,
});
const own = (exec = EXEC) => [
    { Key: CREATED_BY_TAG, Value: RESTORE_TEST_JOB },
    { Key: RESTORE_TEST_EXECUTION_TAG, Value: exec },
];
const jobOf = (isCluster = false, extra: Partial<TestJob> = {}): TestJob => ({
    identifier: ID,
    isCluster,
    snapshot: isCluster ? "aur-v1" : "db-bk-20260301000000",
    recoveryPointTime: "2026-03-01T11:00:00.000Z",
    engine: isCluster ? "aurora-postgresql" : "postgres",
    executionArn: EXEC,
    ...extra,
});
const ctx = { startedAt: "2026-03-01T12:00:00Z", executionArn: EXEC, stateMachineArn: `arn:aws:states:${REGION}:${DR}:stateMachine:${MACHINE}` };
const client = () => new RDSClient({ region: REGION });

describe("restore test: deletion guards", () => {
    let rds: FakeRds;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
    });
    afterEach(() => rds.restore());

    it("an instance already being deleted is left to finish: no second delete, reported as deleting", async () => {
        rds.addInstance({ identifier: ID, status: "deleting", tags: own() });
        const out = await remove(client(), settings(), jobOf());
        assert.deepStrictEqual(out.removed, [`${ID}: deleting`]);
        assert.strictEqual(rds.callsOf("DeleteDBInstance").length, 0);
    });

    it("a deleted instance takes its automated backups with it: nothing of the throwaway is retained", async () => {
        rds.addInstance({ identifier: ID, tags: own(), info: { BackupRetentionPeriod: 7 } });
        const out = await remove(client(), settings(), jobOf());
        assert.deepStrictEqual(out.removed, [`${ID}: deleting`]);
        assert.deepStrictEqual(rds.retainedBackups, []);
        assert.strictEqual(rds.instances.get(ID)?.status, "deleting");
    });

    it("an instance of the same name that another run created is reported and left alone", async () => {
        rds.addInstance({ identifier: ID, tags: own(`${EXEC}-other`) });
        const out = await remove(client(), settings(), jobOf());
        assert.deepStrictEqual(out.removed, [`${ID}: not this run's, left alone`]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a cluster: writer first, then the cluster, neither keeping automated backups", async () => {
        rds.addCluster({ identifier: ID, tags: own(), info: { BackupRetentionPeriod: 7 }, members: [{ identifier: WRITER }] });
        rds.instances.get(WRITER)!.tags = own();
        const first = await remove(client(), settings(true), jobOf(true));
        assert.deepStrictEqual(first.removed, [`${WRITER}: deleting`, `${ID}: deleting`]);
        assert.deepStrictEqual(
            rds.mutatingCalls().map((c) => c.command),
            ["DeleteDBInstance", "DeleteDBCluster"],
        );
        assert.deepStrictEqual(rds.retainedBackups, []);
    });

    it("a cluster already being deleted is left to finish; one already gone is reported gone", async () => {
        rds.addCluster({ identifier: ID, status: "deleting", tags: own(), members: [] });
        const deleting = await remove(client(), settings(true), jobOf(true));
        assert.deepStrictEqual(deleting.removed, [`${WRITER}: gone`, `${ID}: deleting`]);
        assert.strictEqual(rds.callsOf("DeleteDBCluster").length, 0);
        rds.clusters.delete(ID);
        const gone = await remove(client(), settings(true), jobOf(true));
        assert.deepStrictEqual(gone.removed, [`${WRITER}: gone`, `${ID}: gone`]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a cluster of the same name that another run created is reported and left alone, with its writer", async () => {
        rds.addCluster({ identifier: ID, tags: own(`${EXEC}-other`), members: [{ identifier: WRITER }] });
        rds.instances.get(WRITER)!.tags = own(`${EXEC}-other`);
        const out = await remove(client(), settings(true), jobOf(true));
        assert.deepStrictEqual(out.removed, [`${WRITER}: not this run's, left alone`, `${ID}: not this run's, left alone`]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a cluster delete that races with another delete ends as gone; any other error is not swallowed", async () => {
        rds.addCluster({ identifier: ID, tags: own(), members: [] });
        rds.failNext("DeleteDBCluster", () => Object.assign(new Error("gone"), { name: "DBClusterNotFoundFault" }));
        assert.deepStrictEqual((await remove(client(), settings(true), jobOf(true))).removed, [`${WRITER}: gone`, `${ID}: gone`]);
        rds.failNext("DeleteDBCluster", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
        await assert.rejects(remove(client(), settings(true), jobOf(true)), /denied/);
        assert.strictEqual(rds.clusters.get(ID)?.status, "available");
    });
});

describe("restore test: leftovers", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
        sfn = new FakeSfn();
        rds.addSnapshot("db-bk-20260301000000", "db", { tags: [{ Key: SOURCE_TAG, Value: "db" }] });
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });
    const planOf = () => plan({ rds: client(), sfn: new SFNClient({}) }, settings(), { input: {}, ...ctx });

    it("a tagged writer left without its cluster is a leftover under its own name", async () => {
        rds.addInstance({ identifier: "pl-rtest-20260115000000-w", tags: own("arn:old") });
        await assert.rejects(planOf(), (e: Error) => e.name === "LeftoverTestDatabaseError" && /still exist: pl-rtest-20260115000000-w;/.test(e.message));
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a name that only looks like a writer of the pattern is no leftover", async () => {
        rds.addInstance({ identifier: "pl-rtest-20260115000000-x", tags: own("arn:old") });
        rds.addInstance({ identifier: "xx-pl-rtest-20260115000000-w", tags: own("arn:old") });
        assert.strictEqual((await planOf()).identifier, ID);
    });
});

describe("restore test: leftovers on every page (SDK mock)", () => {
    const OLD = "pl-rtest-20260101000000";
    let rdsMock: ReturnType<typeof mockClient>;
    let sfn: FakeSfn;
    beforeEach(() => {
        rdsMock = mockClient(RDSClient);
        sfn = new FakeSfn();
        rdsMock.on(ListTagsForResourceCommand).resolves({ TagList: own("arn:old") });
    });
    afterEach(() => {
        rdsMock.restore();
        sfn.restore();
    });
    const planOf = () => plan({ rds: client(), sfn: new SFNClient({}) }, settings(), { input: {}, ...ctx });
    /** Two pages; a call with an unexpected marker is a test failure, not an endless loop. */
    function paged(second: { DBInstances?: object[]; DBClusters?: object[] }, first: object) {
        let calls = 0;
        return (input: { Marker?: string }) => {
            calls += 1;
            if (calls > 2) throw new Error(`asked for a page a third time (${JSON.stringify(input)})`);
            if (input.Marker === undefined) return { ...first, Marker: "page-2" };
            assert.strictEqual(input.Marker, "page-2");
            return second;
        };
    }

    it("an instance on the second page is found", async () => {
        rdsMock.on(DescribeDBInstancesCommand).callsFake(paged({ DBInstances: [{ DBInstanceIdentifier: OLD, DBInstanceArn: `arn:aws:rds:${REGION}:${DR}:db:${OLD}` }] }, { DBInstances: [] }));
        rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [] });
        await assert.rejects(planOf(), new RegExp(`still exist: ${OLD};`));
    });

    it("a cluster on the second page is found", async () => {
        rdsMock.on(DescribeDBInstancesCommand).resolves({});
        rdsMock.on(DescribeDBClustersCommand).callsFake(paged({ DBClusters: [{ DBClusterIdentifier: OLD, DBClusterArn: `arn:aws:rds:${REGION}:${DR}:cluster:${OLD}` }] }, {}));
        await assert.rejects(planOf(), new RegExp(`still exist: ${OLD};`));
    });

    it("an entry without an identifier or an ARN is skipped, its tags never asked for", async () => {
        // Past the leftover check, the recovery point lookup finds nothing in this mock.
        rdsMock.onAnyCommand().resolves({});
        rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: OLD }, { DBInstanceArn: `arn:aws:rds:${REGION}:${DR}:db:${OLD}` }] });
        rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ DBClusterIdentifier: OLD }] });
        await assert.rejects(planOf(), (e: Error) => e.name === "SnapshotNotFoundError");
        assert.strictEqual(rdsMock.commandCalls(ListTagsForResourceCommand).length, 0);
    });
});

describe("restore test: waiting, and where the probe connects", () => {
    let rds: FakeRds;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
    });
    afterEach(() => rds.restore());
    const NOW = new Date("2026-03-01T12:20:00Z");

    it("a restore that ends failed stops the wait, naming the recovery point", async () => {
        rds.addInstance({ identifier: ID, status: "incompatible-restore", tags: own() });
        await assert.rejects(status(client(), jobOf(), "restore", NOW), (e: Error) => e.name === "ResourceFailedError" && /incompatible-restore: the recovery point db-bk-20260301000000 did not restore/.test(e.message));
    });

    it("an instance that is not available yet is neither ready nor timed", async () => {
        rds.addInstance({ identifier: ID, status: "backing-up", tags: own() });
        const out = await status(client(), jobOf(), "restore", NOW);
        assert.deepStrictEqual([out.status, out.availableAt, out.endpoint], ["backing-up", undefined, undefined]);
    });

    it("an available instance is timed and gives its own endpoint", async () => {
        rds.addInstance({ identifier: ID, tags: own(), info: { Endpoint: { Address: "db.example", Port: 6543 } } });
        const out = await status(client(), jobOf(), "restore", NOW);
        assert.deepStrictEqual([out.status, out.attempt, out.availableAt, out.endpoint], ["available", 0, NOW.toISOString(), { host: "db.example", port: 6543 }]);
    });

    it("an available instance without an endpoint, or without a port, gives none (the probe then fails loudly)", async () => {
        const inst = rds.addInstance({ identifier: ID, tags: own() });
        delete inst.info.Endpoint;
        const none = await status(client(), jobOf(), "restore", NOW);
        assert.deepStrictEqual([none.availableAt, none.endpoint], [NOW.toISOString(), undefined]);
        assert.strictEqual(rds.callsOf("DescribeDBClusters").length, 0, "an instance has no cluster to ask");
        inst.info.Endpoint = { Address: "db.example" };
        assert.strictEqual((await status(client(), jobOf(), "restore", NOW)).endpoint, undefined);
        await assert.rejects(probe(async () => undefined, none), (e: Error) => e.name === "ProbeFailedError" && /reported no endpoint/.test(e.message));
    });

    it("a cluster available before its writer exists is not ready: no time, no endpoint", async () => {
        rds.addCluster({ identifier: ID, tags: own(), members: [] });
        const out = await status(client(), jobOf(true), "restore", NOW);
        assert.deepStrictEqual([out.status, out.attempt, out.availableAt, out.endpoint], ["available", 0, undefined, undefined]);
    });

    it("a cluster is ready with its writer: the writer's endpoint, else the cluster's, else none", async () => {
        rds.addCluster({ identifier: ID, tags: own(), members: [{ identifier: WRITER, info: { Endpoint: { Address: "w.example", Port: 5433 } } }] });
        const job = jobOf(true, { availableAt: "2026-03-01T12:15:00.000Z" });
        const withOwn = await status(client(), job, "writer", NOW);
        assert.deepStrictEqual([withOwn.availableAt, withOwn.endpoint], ["2026-03-01T12:15:00.000Z", { host: "w.example", port: 5433 }]);
        delete rds.instances.get(WRITER)!.info.Endpoint;
        const fromCluster = await status(client(), jobOf(true), "writer", NOW);
        assert.deepStrictEqual([fromCluster.availableAt, fromCluster.endpoint], [NOW.toISOString(), { host: `${ID}.cluster-abc123.us-east-1.rds.amazonaws.com`, port: 5432 }]);
        delete rds.clusters.get(ID)!.info.Port;
        assert.strictEqual((await status(client(), jobOf(true), "writer", NOW)).endpoint, undefined);
        delete rds.clusters.get(ID)!.info.Endpoint;
        rds.clusters.get(ID)!.info.Port = 5432;
        assert.strictEqual((await status(client(), jobOf(true), "writer", NOW)).endpoint, undefined);
    });
});

describe("restore test: the recorded result", () => {
    let cw: ReturnType<typeof mockClient>;
    beforeEach(() => {
        cw = mockClient(CloudWatchClient);
        cw.on(PutMetricDataCommand).resolves({});
    });
    afterEach(() => cw.restore());
    const NOW = new Date("2026-03-01T12:30:00Z");

    it("a success records 1 and the minutes, both per database; a failure records 0 and no minutes", async () => {
        const job = jobOf(false, { restoreStartedAt: "2026-03-01T12:00:00Z", availableAt: "2026-03-01T12:12:30Z" });
        await record(new CloudWatchClient({}), settings(), job, true, NOW);
        await record(new CloudWatchClient({}), settings(), job, false, NOW);
        const [ok, failed] = cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
        const dims = [{ Name: "Database", Value: "db" }];
        assert.deepStrictEqual(ok, {
            Namespace: READINESS_NAMESPACE,
            MetricData: [
                { MetricName: RESTORE_TEST_SUCCEEDED_METRIC, Dimensions: dims, Timestamp: NOW, Value: 1, Unit: "Count" },
                { MetricName: RESTORE_TEST_MINUTES_METRIC, Dimensions: dims, Timestamp: NOW, Value: 12.5, Unit: "None" },
            ],
        });
        assert.deepStrictEqual(failed.MetricData, [{ MetricName: RESTORE_TEST_SUCCEEDED_METRIC, Dimensions: dims, Timestamp: NOW, Value: 0, Unit: "Count" }]);
    });
});
