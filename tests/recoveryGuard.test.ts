import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FakeDynamo } from "./fakeDynamo";
import { FakeRds } from "./fakeRds";
import { rdsEventSamples } from "./fixtures";
import { acquireGuard, recordFailoverStart } from "../functions/lib/recoveryGuard";
import { handler as guardHandler } from "../functions/aurora-guard";
import { handler as recordHandler } from "../functions/aurora-record";

const TABLE = "pilotlight-aurora-orders-aurora";
const CLUSTER = "orders-aurora";
const SAMPLES = rdsEventSamples();

function sample(file: string): any {
    return JSON.parse(fs.readFileSync(path.join(SAMPLES, file), "utf8"));
}

describe("recovery guard", () => {
    let ddb: FakeDynamo;
    const client = () => new DynamoDBClient({ region: "us-east-1" });
    const claim = (execution: string, at: string, windowHours = 24) =>
        acquireGuard(client(), { table: TABLE, cluster: CLUSTER, execution, now: new Date(at), windowHours });

    beforeEach(() => (ddb = new FakeDynamo()));
    afterEach(() => ddb.restore());

    it("gives the window to the first claim and refuses others until it expires", async () => {
        const first = await claim("exec-1", "2026-03-14T09:26:13Z");
        assert.deepStrictEqual([first.acquired, first.holder, first.startedAt, first.expiresAt], [true, "exec-1", "2026-03-14T09:26:13.000Z", "2026-03-15T09:26:13.000Z"]);
        const second = await claim("exec-2", "2026-03-14T12:00:00Z");
        assert.deepStrictEqual([second.acquired, second.holder, second.startedAt], [false, "exec-1", "2026-03-14T09:26:13.000Z"]);
        assert.strictEqual((await claim("exec-3", "2026-03-15T09:26:12Z")).acquired, false, "one second before expiry");
        const later = await claim("exec-4", "2026-03-15T09:26:13Z");
        assert.deepStrictEqual([later.acquired, later.holder, later.startedAt], [true, "exec-4", "2026-03-15T09:26:13.000Z"]);
    });

    it("holds across UTC midnight (no calendar-day reset)", async () => {
        assert.strictEqual((await claim("late-night", "2026-03-14T23:30:00Z")).acquired, true);
        assert.strictEqual((await claim("after-midnight", "2026-03-15T00:30:00Z")).acquired, false);
        assert.strictEqual((await claim("next-evening", "2026-03-15T23:29:59Z")).acquired, false);
        assert.strictEqual((await claim("a-day-later", "2026-03-15T23:30:00Z")).acquired, true);
    });

    it("uses the configured window", async () => {
        assert.strictEqual((await claim("a", "2026-03-14T10:00:00Z", 2)).expiresAt, "2026-03-14T12:00:00.000Z");
        assert.strictEqual((await claim("b", "2026-03-14T11:59:59Z", 2)).acquired, false);
        assert.strictEqual((await claim("c", "2026-03-14T12:00:00Z", 2)).acquired, true);
        await assert.rejects(claim("d", "2026-03-14T12:00:00Z", 0), /window 0 must be a whole number of hours from 1 to 720/);
    });

    it("gives a retrying holder its own claim back unchanged", async () => {
        const first = await claim("exec-1", "2026-03-14T09:26:13Z");
        const retry = await claim("exec-1", "2026-03-14T09:27:00Z");
        assert.deepStrictEqual(retry, first);
    });

    it("lets exactly one of many concurrent claims through", async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(`exec-${i}`, "2026-03-14T09:26:13Z")));
        const winners = results.filter((r) => r.acquired);
        assert.strictEqual(winners.length, 1);
        assert.ok(results.every((r) => r.holder === winners[0].holder));
    });

    it("keeps the newest failover start, ignoring late and duplicated ones, without touching the claim", async () => {
        await claim("exec-1", "2026-03-14T09:00:00Z");
        const rec = (time: string, eventId = "RDS-EVENT-0073") => recordFailoverStart(client(), { table: TABLE, cluster: CLUSTER, eventId, time, message: "m" });
        assert.strictEqual((await rec("2026-03-14T09:26:13.882Z")).recorded, true);
        assert.strictEqual((await rec("2026-03-14T09:20:00Z", "RDS-EVENT-0072")).recorded, false, "older arrives late");
        assert.strictEqual((await rec("2026-03-14T09:26:13.882Z")).recorded, false, "duplicate");
        const item = ddb.item(TABLE, { clusterIdentifier: { S: CLUSTER } })!;
        assert.deepStrictEqual([item.failoverStartedAt.S, item.failoverEventId.S, item.lockExecution.S], ["2026-03-14T09:26:13.882Z", "RDS-EVENT-0073", "exec-1"]);
        const next = await claim("exec-2", "2026-03-15T09:00:00Z");
        assert.deepStrictEqual([next.acquired, next.lastFailoverStartedAt], [true, "2026-03-14T09:26:13.882Z"]);
    });

    it("hands the claim the writer the failover started from, only when that start belongs to this failover", async () => {
        const rec = (time: string, fromWriter?: { identifier: string; availabilityZone: string }) =>
            recordFailoverStart(client(), { table: TABLE, cluster: CLUSTER, eventId: "RDS-EVENT-0073", time, message: "m", fromWriter });
        assert.strictEqual((await claim("none-yet", "2026-03-10T00:00:00Z")).failedWriter, null);
        await rec("2026-03-14T09:26:13.882Z", { identifier: "orders-aurora-writer-1", availabilityZone: "us-east-1a" });
        const fresh = await claim("exec-1", "2026-03-14T09:30:00Z");
        assert.deepStrictEqual(fresh.failedWriter, { identifier: "orders-aurora-writer-1", availabilityZone: "us-east-1a", failoverStartedAt: "2026-03-14T09:26:13.882Z" });
        assert.deepStrictEqual((await claim("exec-1", "2026-03-14T09:31:00Z")).failedWriter, fresh.failedWriter, "a retry sees the same");
        // A start recorded long before the claim is some earlier failover's.
        const stale = await claim("exec-2", "2026-03-15T09:30:00Z");
        assert.deepStrictEqual([stale.acquired, stale.failedWriter], [true, null]);
        // A newer start whose writer could not be told clears the older one's.
        await rec("2026-03-16T09:29:00Z");
        assert.strictEqual((await claim("exec-3", "2026-03-16T09:30:00Z")).failedWriter, null);
    });

    it("surfaces throttling to the caller (the machine retries it)", async () => {
        ddb.throttleNext("UpdateItem");
        await assert.rejects(claim("exec-1", "2026-03-14T09:26:13Z"), (e: Error) => e.name === "ProvisionedThroughputExceededException");
    });

    describe("handlers", () => {
        let rds: FakeRds;
        beforeEach(() => {
            rds = new FakeRds();
            rds.addCluster({
                identifier: CLUSTER,
                members: [
                    { identifier: "orders-aurora-writer-1", writer: true, info: { DBInstanceClass: "db.r6g.2xlarge", AvailabilityZone: "us-east-1a" } },
                    { identifier: "orders-aurora-reader-1", writer: false, info: { DBInstanceClass: "db.r6g.large", AvailabilityZone: "us-east-1b" } },
                ],
            });
            process.env.CLUSTER_IDENTIFIER = CLUSTER;
            process.env.TABLE_NAME = TABLE;
            process.env.WINDOW_HOURS = "24";
        });
        afterEach(() => {
            rds.restore();
            delete process.env.CLUSTER_IDENTIFIER;
            delete process.env.TABLE_NAME;
            delete process.env.WINDOW_HOURS;
        });

        it("aurora-guard claims for the managed cluster only, with a clear error otherwise", async () => {
            const d = await guardHandler({ clusterIdentifier: CLUSTER, executionName: "exec-1" });
            assert.strictEqual(d.acquired, true);
            assert.strictEqual((await guardHandler({ clusterIdentifier: CLUSTER, executionName: "exec-2" })).acquired, false);
            await assert.rejects(guardHandler({ clusterIdentifier: "other", executionName: "x" }), (e: Error) => e.name === "InvalidInputError" && /"other" is not the cluster this recovery manages \('orders-aurora'\)/.test(e.message));
            await assert.rejects(guardHandler({ clusterIdentifier: CLUSTER }), (e: Error) => e.name === "InvalidInputError");
            ddb.throttleNext("UpdateItem");
            await assert.rejects(guardHandler({ clusterIdentifier: CLUSTER, executionName: "exec-3" }), (e: Error) => e.name === "TransientError");
        });

        it("aurora-record records both sample start events (bare and rds:-prefixed identifiers)", async () => {
            const sameAz = sample("cluster-failover-started-same-az.json");
            const crossAz = sample("cluster-failover-started-cross-az.json");
            assert.strictEqual(sameAz.detail.SourceIdentifier, "rds:orders-aurora");
            assert.strictEqual(crossAz.detail.SourceIdentifier, "orders-aurora");
            assert.strictEqual((await recordHandler(sameAz)).recorded, true);
            // Same timestamp: the duplicate changes nothing.
            assert.strictEqual((await recordHandler(crossAz)).recorded, false);
            const item = ddb.item(TABLE, { clusterIdentifier: { S: CLUSTER } })!;
            assert.strictEqual(item.failoverEventId.S, "RDS-EVENT-0072");
            assert.strictEqual(item.lockExpiresAt, undefined, "recording never claims the window");
            // The failover to reader-1 had not switched yet: writer-1 is the one it moves away from.
            assert.deepStrictEqual([item.failoverFromWriter.S, item.failoverFromAz.S], ["orders-aurora-writer-1", "us-east-1a"]);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        it("aurora-record records the start without a writer when the failover already switched, or RDS cannot be read", async () => {
            rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
            const switched = await recordHandler(sample("cluster-failover-started-cross-az.json"));
            assert.deepStrictEqual([switched.recorded, switched.fromWriter], [true, undefined]);
            const later = sample("cluster-failover-started-cross-az.json");
            later.detail.Date = "2026-03-14T10:00:00Z";
            rds.failAlways("DescribeDBClusters", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
            const warnings: string[] = [];
            const warn = console.warn;
            console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
            try {
                assert.strictEqual((await recordHandler(later)).recorded, true);
            } finally {
                console.warn = warn;
            }
            assert.deepStrictEqual(warnings, ["could not read the writer of orders-aurora: AccessDenied: denied"], "the unreadable writer is logged, once");
            const item = ddb.item(TABLE, { clusterIdentifier: { S: CLUSTER } })!;
            assert.deepStrictEqual([item.failoverStartedAt.S, item.failoverFromWriter.S], ["2026-03-14T10:00:00.000Z", ""]);
        });

        it("aurora-record rejects other events and other clusters before writing", async () => {
            for (const file of ["cluster-failover-completed.json", "instance-parameter-group-updated.json"]) {
                await assert.rejects(recordHandler(sample(file)), (e: Error) => e.name === "InvalidInputError" && /is not a failover start/.test(e.message), file);
            }
            const other = sample("cluster-failover-started-cross-az.json");
            other.detail.SourceIdentifier = "rds:billing-aurora";
            other.detail.SourceArn = "arn:aws:rds:us-east-1:111111111111:cluster:billing-aurora";
            await assert.rejects(recordHandler(other), /"billing-aurora", not the cluster this recovery manages/);
            assert.strictEqual(ddb.calls.length, 0);
        });
    });
});
