/** Readiness at its edges: which recovery points count (and which calls find them), and the alarm payload with parts missing. */
import * as assert from "assert";
import { DescribeDBClusterSnapshotsCommand, DescribeDBInstanceAutomatedBackupsCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { failoverRecoveryPoint, newestRecoveryPoint } from "../functions/lib/readiness";
import { alarmAlert } from "../functions/lib/alarmAlert";
import { SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";

const PEER = "111111111111";
const DR = "222222222222";
const REGION = "us-west-2";
const NOW = new Date("2026-03-01T12:00:00Z");
const minutesBefore = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

describe("readiness: named snapshots and the shared lookup, edge by edge", () => {
    let rds: FakeRds;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
    });
    afterEach(() => rds.restore());
    const client = () => new RDSClient({ region: REGION });

    it("a named instance snapshot's age is its own, however new the others are", async () => {
        rds.addSnapshot("pinned", "db", { created: minutesBefore(5000) });
        rds.addSnapshot("db-newer", "db", { created: minutesBefore(10), tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        const point = await newestRecoveryPoint(client(), { database: "db", isCluster: false, kind: "snapshot", snapshotIdentifier: "pinned" }, REGION);
        assert.deepStrictEqual(point, { database: "db", ref: "pinned", time: new Date(minutesBefore(5000)), engine: "postgres" });
    });

    it("a named cluster snapshot counts only while available, and its age is its own", async () => {
        rds.addClusterSnapshot("pinned-c", "orders", { created: minutesBefore(700), status: "creating" });
        rds.addClusterSnapshot("orders-newer", "orders", { created: minutesBefore(10) });
        const target = { database: "orders", isCluster: true, kind: "snapshot" as const, snapshotIdentifier: "pinned-c" };
        assert.strictEqual(await newestRecoveryPoint(client(), target, REGION), undefined);
        rds.clusterSnapshots.get("pinned-c")!.status = "available";
        assert.deepStrictEqual((await newestRecoveryPoint(client(), target, REGION))?.time, new Date(minutesBefore(700)));
    });

    it("without sharedFrom, an instance's shared snapshots are not even looked up", async () => {
        rds.addSnapshot("db-bk-20260301000000", "db", { created: minutesBefore(60), tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "db", isCluster: false, kind: "snapshots" }, REGION))?.ref, "db-bk-20260301000000");
        assert.deepStrictEqual(
            rds.callsOf("DescribeDBSnapshots").map((c) => c.input.SnapshotType),
            ["manual"],
        );
    });
});

describe("readiness: shared snapshots as RDS lists them (SDK mock)", () => {
    let mock: ReturnType<typeof mockClient>;
    beforeEach(() => {
        mock = mockClient(RDSClient);
    });
    afterEach(() => mock.restore());
    const at = (m: number) => new Date(minutesBefore(m));

    it("shared cluster snapshots are asked for with IncludeShared (not included by default), on every page", async () => {
        // IncludeShared: "By default, these snapshots are not included." (DescribeDBClusterSnapshots)
        const arn = `arn:aws:rds:${REGION}:${PEER}:cluster-snapshot:aur-1`;
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [] });
        mock.on(DescribeDBClusterSnapshotsCommand, { SnapshotType: "shared", IncludeShared: true, Marker: undefined }).resolves({ DBClusterSnapshots: [], Marker: "s2" });
        mock.on(DescribeDBClusterSnapshotsCommand, { SnapshotType: "shared", IncludeShared: true, Marker: "s2" }).resolves({
            DBClusterSnapshots: [{ DBClusterSnapshotArn: arn, DBClusterIdentifier: "aur", Status: "available", SnapshotCreateTime: at(50), Engine: "aurora-postgresql" }],
        });
        const point = await newestRecoveryPoint(new RDSClient({}), { database: "aur", isCluster: true, kind: "snapshots", sharedFrom: PEER }, REGION);
        assert.deepStrictEqual(point, { database: "aur", ref: arn, time: at(50), engine: "aurora-postgresql" });
    });

    it("a shared entry without an ARN names no owner: it is not counted, and the lookup does not fail", async () => {
        mock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
        mock.on(DescribeDBSnapshotsCommand, { SnapshotType: "shared" }).resolves({
            DBSnapshots: [{ DBSnapshotIdentifier: "x", DBInstanceIdentifier: "db", Status: "available", SnapshotCreateTime: at(5) }],
        });
        assert.strictEqual(await newestRecoveryPoint(new RDSClient({}), { database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION), undefined);
    });
});

describe("readiness: an alarm payload with parts missing or malformed", () => {
    const ARN = "arn:aws:cloudwatch:us-west-2:222222222222:alarm:pl-readiness-rpo-db";
    const event = (alarmData: object) => ({ source: "aws.cloudwatch", alarmArn: ARN, alarmData });

    it("is not an alarm payload without an object, the CloudWatch source, a string ARN or the alarm data", () => {
        assert.strictEqual(alarmAlert(null), undefined);
        assert.strictEqual(alarmAlert(undefined), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.events", alarmArn: ARN, alarmData: {} }), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.cloudwatch", alarmData: {} }), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.cloudwatch", alarmArn: ARN }), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.cloudwatch", alarmArn: ARN, alarmData: "ALARM" }), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.cloudwatch", alarmArn: ARN, alarmData: null }), undefined);
    });

    it("without states, name or description: the name from the ARN, an unknown state, no reason, nothing made up", () => {
        assert.deepStrictEqual(alarmAlert(event({})), {
            kind: "success",
            source: "readiness",
            task: "alarm",
            subject: "pilotlight alarm pl-readiness-rpo-db: UNKNOWN",
            failedStep: undefined,
            error: undefined,
            cause: undefined,
            details: { Alarm: "pl-readiness-rpo-db", State: "? -> UNKNOWN", Reason: "(none given)", "Alarm ARN": ARN },
        });
    });

    it("fields that are not strings are not shown as if they were", () => {
        const alert = alarmAlert(event({ alarmName: 42, state: { value: "ALARM", reason: 7 }, previousState: { value: {} }, configuration: { description: 1 } }))!;
        assert.deepStrictEqual(alert.details, { Alarm: "pl-readiness-rpo-db", State: "? -> ALARM", Reason: "(none given)", "Alarm ARN": ARN });
        assert.deepStrictEqual([alert.kind, alert.failedStep, alert.error, alert.cause], ["failure", "pl-readiness-rpo-db", "ALARM", undefined]);
    });

    it("an ALARM without a reason is still a failure, its cause left empty", () => {
        const alert = alarmAlert(event({ alarmName: "n", state: { value: "ALARM" }, previousState: { value: "OK" } }))!;
        assert.deepStrictEqual([alert.kind, alert.subject, alert.cause, alert.details?.State, alert.details?.Reason], ["failure", "pilotlight alarm n: ALARM", undefined, "OK -> ALARM", "(none given)"]);
    });
});

describe("readiness: why there is no recovery point, per source (SDK mock)", () => {
    let mock: ReturnType<typeof mockClient>;
    beforeEach(() => (mock = mockClient(RDSClient)));
    afterEach(() => mock.restore());
    const at = (m: number) => new Date(minutesBefore(m));
    const pick = (target: Parameters<typeof failoverRecoveryPoint>[1]) => failoverRecoveryPoint(new RDSClient({}), target, REGION);

    it("replicated automated backups: the latest restorable time of those still restorable; none says why", async () => {
        const arn = `arn:aws:rds:${REGION}:${DR}:auto-backup:ab-1`;
        mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
            DBInstanceAutomatedBackups: [
                { DBInstanceAutomatedBackupsArn: `${arn}-old`, Status: "retained", RestoreWindow: { LatestTime: at(90) } },
                { DBInstanceAutomatedBackupsArn: arn, Status: "replicating", RestoreWindow: { LatestTime: at(5) } },
                { DBInstanceAutomatedBackupsArn: `${arn}-gone`, Status: "deleting", RestoreWindow: { LatestTime: at(1) } },
            ],
        });
        const target = { database: "db", isCluster: false as const, kind: "automatedBackups" as const, automatedBackupsArn: arn };
        assert.deepStrictEqual((await pick(target)).point, { database: "db", ref: arn, time: at(5) });
        mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ DBInstanceAutomatedBackupsArn: arn, Status: "replicating" }] });
        assert.deepStrictEqual(await pick(target), { why: `${arn} has no restorable time in this region` });
    });

    it("a named snapshot that is not available says so", async () => {
        mock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: "chosen", Status: "creating", SnapshotCreateTime: at(5) }] });
        assert.deepStrictEqual(await pick({ database: "db", isCluster: false, kind: "snapshot", snapshotIdentifier: "chosen" }), { why: "snapshot chosen is not available in this region" });
    });

    it("one account, Aurora: the most recent tagged cluster snapshot, which must be available; none or another status says why", async () => {
        const tag = [{ Key: SOURCE_TAG, Value: "aur" }];
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({
            DBClusterSnapshots: [
                { DBClusterSnapshotIdentifier: "aur-2", DBClusterIdentifier: "aur", Status: "available", SnapshotCreateTime: at(30), TagList: tag },
                { DBClusterSnapshotIdentifier: "aur-1", DBClusterIdentifier: "aur", Status: "available", SnapshotCreateTime: at(90), TagList: tag },
                { DBClusterSnapshotIdentifier: "aur-untagged", DBClusterIdentifier: "aur", Status: "available", SnapshotCreateTime: at(1) },
            ],
        });
        const target = { database: "aur", isCluster: true, kind: "snapshots" as const };
        assert.strictEqual((await pick(target)).point?.ref, "aur-2");
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "aur-3", DBClusterIdentifier: "aur", Status: "creating", SnapshotCreateTime: at(1), TagList: tag }] });
        assert.deepStrictEqual(await pick(target), {
            why: `the failover would restore aur-3, the most recent manual snapshot tagged ${SOURCE_TAG}=aur, which is creating: a restore from it fails until it is available`,
        });
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "aur-4", DBClusterIdentifier: "aur", SnapshotCreateTime: at(1), TagList: tag }] });
        assert.match((await pick(target)).why!, /which is of unknown status/);
        mock.on(DescribeDBClusterSnapshotsCommand).resolves({});
        assert.deepStrictEqual(await pick(target), { why: `no manual snapshot of aur tagged ${SOURCE_TAG}=aur in ${REGION}` });
    });
});
