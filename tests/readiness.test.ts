/** Readiness: the recovery point age function against the fake RDS, the alarm alert, and the Readiness component. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeDBClusterSnapshotsCommand, DescribeDBInstanceAutomatedBackupsCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { newestRecoveryPoint, parseTargets, publishReadiness, READINESS_NAMESPACE, RecoveryTarget } from "../functions/lib/readiness";
import { alarmAlert } from "../functions/lib/alarmAlert";
import { formatAlert } from "../functions/lib/alert";
import { SOURCE_TAG } from "../functions/lib/tags";
import { alarmName, dashboardBody, defaultRpoMinutes, rateMinutes, Readiness, readinessStatements } from "../components/readiness";
import { PolicyDocument, policyDocument, wildcardActions } from "../components/iam";
import { parseStackConfig } from "../config";
import { FakeRds } from "./fakeRds";
import { drRawConfig, prodRawConfig } from "./fixtures";
import { runProgram } from "./program";
import { summary } from "./synth";
import { RecordingMocks } from "./mocks";

const PEER = "111111111111";
const DR = "222222222222";
const REGION = "us-west-2";
const NOW = new Date("2026-03-01T12:00:00Z");
const tagged = (db: string) => [{ Key: SOURCE_TAG, Value: db }];
const minutesBefore = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

describe("readiness: newest recovery point the dr stack can restore from", () => {
    let rds: FakeRds;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
    });
    afterEach(() => rds.restore());
    const client = () => new RDSClient({ region: REGION });

    it("same account: the newest available copy the backups made of the source, not an operator's or other databases'; one still being made is skipped", async () => {
        rds.addSnapshot("shop-db-bk-20260227000000", "shop-db", { created: minutesBefore(3000), tags: tagged("shop-db") });
        rds.addSnapshot("shop-db-bk-20260228000000", "shop-db", { created: minutesBefore(1500), tags: tagged("shop-db") });
        rds.addSnapshot("shop-db-operator", "shop-db", { created: minutesBefore(10) }); // not a copy this program made
        rds.addSnapshot("shop-db-bk-20260301115500", "shop-db", { created: minutesBefore(5), tags: tagged("shop-db"), status: "creating" });
        rds.addSnapshot("other-bk-20260301115900", "other", { created: minutesBefore(1), tags: tagged("other") });
        // As the failover: a copy still being made (e.g. cut off with the primary region) is never restored.
        const before = await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots" }, REGION);
        assert.strictEqual(before?.ref, "shop-db-bk-20260228000000");
        rds.snapshots.get("shop-db-bk-20260301115500")!.status = "available";
        const point = await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots" }, REGION);
        assert.deepStrictEqual(point, { database: "shop-db", ref: "shop-db-bk-20260301115500", time: new Date(minutesBefore(5)), engine: "postgres" });
    });

    it("two accounts: shared snapshots of the source from the peer account count, others' shared ones do not", async () => {
        rds.addSnapshot("shop-db-bk-20260228000000", "shop-db", { created: minutesBefore(1500), tags: tagged("shop-db") });
        const fromPeer = `arn:aws:rds:${REGION}:${PEER}:snapshot:shop-db-20260301100000`;
        rds.addSharedSnapshot(fromPeer, { created: minutesBefore(120), kmsKeyId: `arn:aws:kms:${REGION}:${PEER}:key/mrk-1`, databaseIdentifier: "shop-db" });
        rds.addSharedSnapshot(`arn:aws:rds:${REGION}:333333333333:snapshot:shop-db-20260301115900`, { created: minutesBefore(1), kmsKeyId: "k", databaseIdentifier: "shop-db" });
        rds.addSharedSnapshot(`arn:aws:rds:${REGION}:${PEER}:snapshot:other-20260301115900`, { created: minutesBefore(1), kmsKeyId: "k", databaseIdentifier: "other" });
        const withShared = await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION);
        assert.deepStrictEqual(withShared, { database: "shop-db", ref: fromPeer, time: new Date(minutesBefore(120)), engine: "postgres" });
        const ownOnly = await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots" }, REGION);
        assert.strictEqual(ownOnly?.ref, "shop-db-bk-20260228000000");
    });

    it("a copy's age is its data's: the original snapshot time, not when it was copied; the newest data wins, like the failover", async () => {
        const older = rds.addSnapshot("shop-db-bk-20260301000000", "shop-db", { created: minutesBefore(600), tags: tagged("shop-db") });
        older.info.OriginalSnapshotCreateTime = new Date(minutesBefore(700));
        const copied = rds.addSnapshot("shop-db-bk-20260228000000", "shop-db", { created: minutesBefore(1), tags: tagged("shop-db") });
        copied.info.OriginalSnapshotCreateTime = new Date(minutesBefore(900));
        const point = await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots" }, REGION);
        assert.deepStrictEqual(point, { database: "shop-db", ref: "shop-db-bk-20260301000000", time: new Date(minutesBefore(700)), engine: "postgres" });
    });

    it("Aurora: cluster snapshots, own and shared", async () => {
        rds.addClusterSnapshot("orders-v1", "orders", { created: minutesBefore(400), tags: tagged("orders") });
        const arn = `arn:aws:rds:${REGION}:${PEER}:cluster-snapshot:orders-20260301110000`;
        rds.addSharedClusterSnapshot(arn, { created: minutesBefore(60), kmsKeyId: "k", databaseIdentifier: "orders" });
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshots", sharedFrom: PEER }, REGION))?.ref, arn);
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshots" }, REGION))?.ref, "orders-v1");
    });

    it("no recovery point at all is undefined, and a named snapshot that is gone is none", async () => {
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION), undefined);
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshot", snapshotIdentifier: "gone" }, REGION), undefined);
        rds.addSnapshot("pinned", "shop-db", { created: minutesBefore(5000) });
        assert.deepStrictEqual(await newestRecoveryPoint(client(), { database: "shop-db", isCluster: false, kind: "snapshot", snapshotIdentifier: "pinned" }, REGION), {
            database: "shop-db",
            ref: "pinned",
            time: new Date(minutesBefore(5000)),
            engine: "postgres",
        });
    });
});

describe("readiness: replicated automated backups (point in time)", () => {
    const ARN = `arn:aws:rds:${REGION}:${DR}:auto-backup:ab-EXAMPLE`;
    let mock: ReturnType<typeof mockClient>;
    beforeEach(() => {
        mock = mockClient(RDSClient);
    });
    afterEach(() => mock.restore());

    it("the latest restorable time of the replicated backups; creating ones are not restorable yet", async () => {
        mock.on(DescribeDBInstanceAutomatedBackupsCommand, { DBInstanceAutomatedBackupsArn: ARN }).resolves({
            DBInstanceAutomatedBackups: [{ DBInstanceAutomatedBackupsArn: ARN, Status: "replicating", RestoreWindow: { EarliestTime: new Date(minutesBefore(10000)), LatestTime: new Date(minutesBefore(7)) } }],
        });
        assert.deepStrictEqual(await newestRecoveryPoint(new RDSClient({}), { database: "shop-db", isCluster: false, kind: "automatedBackups", automatedBackupsArn: ARN }, REGION), {
            database: "shop-db",
            ref: ARN,
            time: new Date(minutesBefore(7)),
        });
        mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ Status: "creating", RestoreWindow: { LatestTime: new Date(minutesBefore(1)) } }] });
        assert.strictEqual(await newestRecoveryPoint(new RDSClient({}), { database: "shop-db", isCluster: false, kind: "automatedBackups", automatedBackupsArn: ARN }, REGION), undefined);
    });
});

describe("readiness: publishing the age", () => {
    let rds: FakeRds;
    let cw: ReturnType<typeof mockClient>;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
        cw = mockClient(CloudWatchClient);
        cw.on(PutMetricDataCommand).resolves({});
    });
    afterEach(() => {
        rds.restore();
        cw.restore();
    });
    const clients = () => ({ rds: new RDSClient({ region: REGION }), cloudwatch: new CloudWatchClient({}) });

    it("publishes whole minutes per database and nothing for a database without a recovery point (its alarm breaches)", async () => {
        rds.addSnapshot("shop-db-bk-20260301000000", "shop-db", { created: minutesBefore(125.5), tags: tagged("shop-db") });
        const report = await publishReadiness(clients(), parseTargets(JSON.stringify([
            { database: "shop-db", isCluster: false, kind: "snapshots" },
            { database: "orders", isCluster: true, kind: "snapshots", sharedFrom: PEER },
        ])), REGION, NOW);
        assert.deepStrictEqual({ ...report, missing: report.missing.map((m) => m.database) }, { published: [{ database: "shop-db", ageMinutes: 125, ref: "shop-db-bk-20260301000000" }], missing: ["orders"], failed: [] });
        assert.match(report.missing[0].why, /no available snapshot of orders owned by account 111111111111 in us-west-2/);
        const calls = cw.commandCalls(PutMetricDataCommand);
        assert.strictEqual(calls.length, 1);
        assert.deepStrictEqual(calls[0].args[0].input, {
            Namespace: READINESS_NAMESPACE,
            MetricData: [{ MetricName: "RecoveryPointAgeMinutes", Dimensions: [{ Name: "Database", Value: "shop-db" }], Timestamp: NOW, Value: 125, Unit: "None" }],
        });
    });

    it("nothing to publish makes no call; a failed lookup still publishes the others, then fails loudly", async () => {
        const none = await publishReadiness(clients(), [{ database: "shop-db", isCluster: false, kind: "snapshots" }], REGION, NOW);
        assert.deepStrictEqual(none, { published: [], missing: [{ database: "shop-db", why: "no copy of shop-db made by the backups (shop-db-bk-<timestamp>) in us-west-2" }], failed: [] });
        assert.strictEqual(cw.commandCalls(PutMetricDataCommand).length, 0);

        rds.addSnapshot("shop-db-bk-20260301000000", "shop-db", { created: minutesBefore(30), tags: tagged("shop-db") });
        rds.failAlways("DescribeDBClusterSnapshots", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
        await assert.rejects(
            publishReadiness(clients(), [{ database: "shop-db", isCluster: false, kind: "snapshots" }, { database: "orders", isCluster: true, kind: "snapshots" }], REGION, NOW),
            /could not read the recovery points of orders \(AccessDenied: denied\)/,
        );
        assert.deepStrictEqual(cw.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData!.map((m) => [m.Dimensions![0].Value, m.Value]), [["shop-db", 30]]);
    });

    it("a clock behind the snapshot never publishes a negative age", async () => {
        rds.addSnapshot("shop-db-bk-20260301000000", "shop-db", { created: "2026-03-01T12:05:00Z", tags: tagged("shop-db") });
        const report = await publishReadiness(clients(), [{ database: "shop-db", isCluster: false, kind: "snapshots" }], REGION, NOW);
        assert.strictEqual(report.published[0].ageMinutes, 0);
    });
});

describe("readiness: targets from the environment", () => {
    const table: [string, unknown, RegExp][] = [
        ["not JSON", "{", /TARGETS must be a JSON list/],
        ["empty list", [], /non-empty JSON list/],
        ["bad identifier", [{ database: "Shop_DB", isCluster: false, kind: "snapshots" }], /TARGETS\[0\]\.database must be an RDS identifier, got "Shop_DB"/],
        ["duplicate", [{ database: "a", isCluster: false, kind: "snapshots" }, { database: "a", isCluster: false, kind: "snapshots" }], /TARGETS\[1\]\.database a is listed twice/],
        ["isCluster missing", [{ database: "a", kind: "snapshots" }], /TARGETS\[0\]\.isCluster must be true or false/],
        ["bad account", [{ database: "a", isCluster: false, kind: "snapshots", sharedFrom: "12" }], /sharedFrom must be a 12-digit account id, got "12"/],
        ["cluster backups", [{ database: "a", isCluster: true, kind: "automatedBackups", automatedBackupsArn: "arn:x" }], /RDS instances only/],
        ["backups without ARN", [{ database: "a", isCluster: false, kind: "automatedBackups" }], /automatedBackupsArn must be an ARN/],
        ["snapshot unnamed", [{ database: "a", isCluster: false, kind: "snapshot", snapshotIdentifier: "" }], /snapshotIdentifier must name a snapshot/],
        ["unknown kind", [{ database: "a", isCluster: false, kind: "latest" }], /kind must be "snapshots", "automatedBackups" or "snapshot", got "latest"/],
    ];
    for (const [label, value, message] of table) {
        it(`refuses ${label}`, () => assert.throws(() => parseTargets(typeof value === "string" ? value : JSON.stringify(value)), message));
    }
    it("reads every kind", () => {
        const targets: RecoveryTarget[] = [
            { database: "a", isCluster: false, kind: "snapshots", sharedFrom: PEER },
            { database: "b", isCluster: false, kind: "automatedBackups", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-1" },
            { database: "c", isCluster: true, kind: "snapshot", snapshotIdentifier: "c-final" },
        ];
        assert.deepStrictEqual(parseTargets(JSON.stringify(targets)), targets);
    });
});

describe("readiness: an alarm's Lambda action reaches the alert channels", () => {
    // The payload a CloudWatch alarm sends to a Lambda action (CloudWatch user guide, "Lambda alarm action payload").
    const payload = (state: string, previous: string) => ({
        source: "aws.cloudwatch",
        alarmArn: "arn:aws:cloudwatch:us-west-2:222222222222:alarm:pl-readiness-rpo-shop-db",
        accountId: "222222222222",
        time: "2026-03-01T12:00:00.000+0000",
        region: "us-west-2",
        alarmData: {
            alarmName: "pl-readiness-rpo-shop-db",
            state: { value: state, reason: "Threshold Crossed: 1 datapoint [2940.0] was greater than the threshold (2160.0).", timestamp: "2026-03-01T12:00:00.000+0000" },
            previousState: { value: previous, reason: "", timestamp: "2026-03-01T11:00:00.000+0000" },
            configuration: { description: "The newest recovery point of shop-db is older than 2160 minutes", metrics: [] },
        },
    });

    it("ALARM is a failure naming the alarm, the reason and what it means", () => {
        const alert = alarmAlert(payload("ALARM", "OK"))!;
        assert.strictEqual(alert.kind, "failure");
        const msg = formatAlert(alert);
        assert.strictEqual(msg.subject, "pilotlight alarm pl-readiness-rpo-shop-db: ALARM");
        for (const line of ["State: OK -> ALARM", "Reason: Threshold Crossed", "What it means: The newest recovery point of shop-db", "Error: ALARM"]) {
            assert.ok(msg.text.includes(line), `${line} in\n${msg.text}`);
        }
    });

    it("OK is a recovery; anything not an alarm payload is left to the usual alert parsing", () => {
        assert.strictEqual(alarmAlert(payload("OK", "ALARM"))!.kind, "success");
        assert.strictEqual(alarmAlert(payload("INSUFFICIENT_DATA", "OK"))!.kind, "failure");
        assert.strictEqual(alarmAlert({ kind: "failure", source: "restore" }), undefined);
        assert.strictEqual(alarmAlert({ source: "aws.cloudwatch", alarmArn: 5, alarmData: {} }), undefined);
        assert.strictEqual(alarmAlert("ALARM"), undefined);
    });
});

describe("readiness: thresholds and IAM", () => {
    it("derives the default RPO target from the schedule: one interval plus half (at least an hour)", () => {
        assert.strictEqual(rateMinutes("rate(2 hours)"), 120);
        assert.strictEqual(rateMinutes("rate(1 day)"), 1440);
        assert.strictEqual(rateMinutes("rate(30 minutes)"), 30);
        assert.strictEqual(rateMinutes("cron(0 3 * * ? *)"), undefined);
        assert.strictEqual(defaultRpoMinutes("rate(2 hours)"), 180);
        assert.strictEqual(defaultRpoMinutes("rate(1 day)"), 2160);
        assert.strictEqual(defaultRpoMinutes("rate(30 minutes)"), 90);
        assert.strictEqual(defaultRpoMinutes("rate(4 hours)"), 360);
        assert.strictEqual(defaultRpoMinutes("cron(0 3 * * ? *)"), 2160);
        assert.strictEqual(defaultRpoMinutes(undefined), 2160);
    });

    it("reads only its databases' snapshots (own and the peer's shared) and publishes only its namespace", () => {
        const doc = policyDocument(
            readinessStatements({
                accountId: DR,
                region: REGION,
                databases: [
                    { target: { database: "shop-db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, rpoMinutes: 60 },
                    { target: { database: "orders", isCluster: true, kind: "snapshots" }, rpoMinutes: 60 },
                ],
            }),
        );
        assert.deepStrictEqual(wildcardActions(doc as PolicyDocument), []);
        const [read, publish] = doc.Statement as { Resource: unknown; Condition?: unknown }[];
        assert.deepStrictEqual(read.Resource, [
            `arn:aws:rds:${REGION}:${PEER}:snapshot:*`,
            `arn:aws:rds:${REGION}:${DR}:cluster-snapshot:*`,
            `arn:aws:rds:${REGION}:${DR}:cluster:orders`,
            `arn:aws:rds:${REGION}:${DR}:db:shop-db`,
            `arn:aws:rds:${REGION}:${DR}:snapshot:*`,
        ]);
        assert.deepStrictEqual(publish.Condition, { StringEquals: { "cloudwatch:namespace": READINESS_NAMESPACE } });
    });

    it("the dashboard shows each RPO against its target, and says which schedules are off", () => {
        const body = JSON.parse(
            dashboardBody({
                region: REGION,
                databases: [{ target: { database: "shop-db", isCluster: false, kind: "snapshots" }, rpoMinutes: 2160 }],
                machines: [
                    { label: "backup", arn: "arn:m:backup", scheduleEnabled: false },
                    { label: "copy", arn: "arn:m:copy", scheduleEnabled: true },
                    { label: "failback", arn: "arn:m:failback" },
                ],
            }),
        );
        const text = body.widgets[0].properties.markdown as string;
        assert.ok(text.includes("| backup | **OFF**"), text);
        assert.ok(text.includes("| copy | on |"), text);
        assert.ok(!text.includes("failback"), "a machine without a schedule is not listed as a schedule");
        assert.ok(text.includes("**Off:** backup."), text);
        const rpo = body.widgets[1].properties;
        assert.deepStrictEqual(rpo.metrics, [[READINESS_NAMESPACE, "RecoveryPointAgeMinutes", "Database", "shop-db"]]);
        assert.deepStrictEqual(rpo.annotations.horizontal, [{ label: "RPO target", value: 2160 }]);
        const executions = body.widgets[2].properties.metrics.map((m: unknown[]) => [m[1], m[3]]);
        assert.strictEqual(executions.length, 9);
        assert.deepStrictEqual(executions.slice(0, 3), [["ExecutionsFailed", "arn:m:backup"], ["ExecutionsTimedOut", "arn:m:backup"], ["ExecutionsAborted", "arn:m:backup"]]);
    });
});

describe("Readiness component", () => {
    let mocks: RecordingMocks;
    before(() => {
        mocks = new RecordingMocks();
        pulumi.runtime.setMocks(mocks, "pilotlight", "dr", false);
    });

    it("alarms at each database's target with missing data breaching, replication alarms, all invoking the alert Lambda", async () => {
        const alertArn = "arn:aws:lambda:us-west-2:222222222222:function:pl-alerts";
        const r = new Readiness("readiness", {
            namePrefix: "pl",
            accountId: DR,
            region: REGION,
            databases: [{ target: { database: "shop-db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, rpoMinutes: 2160 }],
            replication: { sourceBucket: "pl-media-dr", destinationBucket: "pl-media-prod", ruleId: "media-to-primary" },
            machines: [{ label: "copy", arn: "arn:aws:states:us-west-2:222222222222:stateMachine:pl-copy" }],
            alertFunctionArn: alertArn,
        });
        await new Promise<void>((resolve) => pulumi.all([r.dashboardName, r.function!.arn]).apply(() => resolve()));
        const alarms = mocks.resources.filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
        assert.deepStrictEqual(alarms.map((a) => a.inputs.name).sort(), [alarmName("pl", "replication-failed"), alarmName("pl", "replication-latency"), alarmName("pl", "rpo-shop-db")]);
        const rpo = alarms.find((a) => a.inputs.name === "pl-readiness-rpo-shop-db")!.inputs;
        assert.strictEqual(rpo.threshold, 2160);
        assert.strictEqual(rpo.treatMissingData, "breaching");
        assert.strictEqual(rpo.comparisonOperator, "GreaterThanThreshold");
        assert.deepStrictEqual(rpo.dimensions, { Database: "shop-db" });
        for (const a of alarms) assert.deepStrictEqual(a.inputs.alarmActions, [alertArn], a.inputs.name);
        const permission = mocks.resources.find((x) => x.type === "aws:lambda/permission:Permission" && x.inputs.principal === "lambda.alarms.cloudwatch.amazonaws.com")!.inputs;
        assert.strictEqual(permission.sourceArn, "arn:aws:cloudwatch:us-west-2:222222222222:alarm:pl-readiness-*");
        assert.strictEqual(permission.function, alertArn);
        const rule = mocks.resources.find((x) => x.type === "aws:cloudwatch/eventRule:EventRule")!.inputs;
        assert.deepStrictEqual([rule.scheduleExpression, rule.state], ["rate(15 minutes)", "ENABLED"]);
        const fn = mocks.resources.find((x) => x.type === "aws:lambda/function:Function")!.inputs;
        assert.deepStrictEqual(JSON.parse(fn.environment.variables.TARGETS), [{ database: "shop-db", isCluster: false, kind: "snapshots", sharedFrom: PEER }]);
    });
});

describe("readiness config and wiring", () => {
    it("reads pilotlight:readiness with defaults, and refuses what would not work", () => {
        assert.deepStrictEqual(parseStackConfig("dr", drRawConfig(), "us-west-2").readiness, {
            rpoMinutes: undefined,
            replicationLatencySeconds: 900,
            restoreTest: { schedule: "rate(7 days)", enabled: false, instanceClass: "db.t4g.medium" },
        });
        assert.deepStrictEqual(
            parseStackConfig("dr", { ...drRawConfig(), readiness: { rpoMinutes: 180, replicationLatencySeconds: 300, restoreTest: { schedule: "rate(1 day)", enabled: true } } }, "us-west-2").readiness,
            { rpoMinutes: 180, replicationLatencySeconds: 300, restoreTest: { schedule: "rate(1 day)", enabled: true, instanceClass: "db.t4g.medium" } },
        );
        assert.throws(() => parseStackConfig("dr", { ...drRawConfig(), readiness: { restoreTest: { schedule: "weekly" } } }, "us-west-2"), /pilotlight:readiness\.restoreTest\.schedule/);
        assert.throws(() => parseStackConfig("dr", { ...drRawConfig(), readiness: { rpoMinutes: 5 } }, "us-west-2"), /pilotlight:readiness\.rpoMinutes/);
        assert.throws(() => parseStackConfig("prod", prodRawConfig({ readiness: { rpoMinutes: 180 } }), "us-east-1"), /rpoMinutes applies to the dr stack/);
    });

    it("the synthesized summary says which schedules are off", async () => {
        const prod = await runProgram("prod");
        const text = summary(prod);
        assert.match(text, /\| pilotlight-backup \| `rate\(2 hours\)` \| \*\*OFF\*\*: nothing new is made \|/);
        assert.match(text, /\d+ of \d+ schedules are off: [^\n]*pilotlight-backup/);
        const enabled = summary(await runProgram("prod", { sets: ["backups.scheduleEnabled=true"] }));
        assert.match(enabled, /\| pilotlight-backup \| `rate\(2 hours\)` \| on \|/);
        const dr = summary(await runProgram("dr"));
        assert.match(dr, /\| pilotlight-restore-test \| `rate\(7 days\)` \| \*\*OFF\*\*/);
        assert.match(dr, /\| pilotlight-readiness-rpo \| `rate\(15 minutes\)` \| on \|/);
    });

    it("dr measures the failover source's recovery points across accounts; prod alarms on media replication", async () => {
        const dr = await runProgram("dr");
        const fn = dr.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "pilotlight-readiness-rpo")!;
        assert.deepStrictEqual(JSON.parse(fn.inputs.environment.variables.TARGETS), [{ database: "pilotlight-db", isCluster: false, kind: "snapshots", sharedFrom: "111111111111" }]);
        assert.deepStrictEqual(dr.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").map((r) => [r.inputs.name, r.inputs.threshold]).sort(), [
            ["pilotlight-readiness-replication-failed", 0],
            ["pilotlight-readiness-replication-latency", 900],
            ["pilotlight-readiness-rpo-pilotlight-db", 2160],
        ]);
        // The restore test is in the pilot light, its schedule off until turned on, its throwaway unreachable but by the probe.
        const testRule = dr.resources.find((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.inputs.name === "pilotlight-restore-test")!;
        assert.deepStrictEqual([testRule.inputs.scheduleExpression, testRule.inputs.state], ["rate(7 days)", "DISABLED"]);
        const ingress = dr.resources.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.name.startsWith("restore-test"));
        assert.strictEqual(ingress.length, 1);
        assert.ok(ingress[0].inputs.referencedSecurityGroupId && !ingress[0].inputs.cidrIpv4, "only the probe's security group");
        const dashboard = JSON.parse(dr.resources.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody);
        assert.ok(dashboard.widgets[0].properties.markdown.includes("| restore test | **OFF**"), dashboard.widgets[0].properties.markdown);
        assert.ok(dashboard.widgets.some((w: any) => w.properties.title?.startsWith("Restore test: pilotlight-db")));
        const prod = await runProgram("prod");
        assert.ok(!prod.resources.some((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "pilotlight-readiness-rpo"), "prod restores nothing: no RPO function");
        const latency = prod.resources.find((r) => r.inputs?.name === "pilotlight-readiness-replication-latency")!;
        assert.deepStrictEqual(latency.inputs.dimensions, { SourceBucket: "pilotlight-media-111111111111-us-east-1", DestinationBucket: "pilotlight-media-222222222222-us-west-2", RuleId: "media-to-dr" });
        const sameAccount = await runProgram("dr", { sets: ["peer.accountId=222222222222", "readiness.rpoMinutes=180"] });
        const target = sameAccount.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "pilotlight-readiness-rpo")!;
        assert.deepStrictEqual(JSON.parse(target.inputs.environment.variables.TARGETS), [{ database: "pilotlight-db", isCluster: false, kind: "snapshots" }]);
        assert.strictEqual(sameAccount.resources.find((r) => r.inputs?.name === "pilotlight-readiness-rpo-pilotlight-db")!.inputs.threshold, 180);
    });
});

describe("readiness: what counts as a recovery point, edge by edge", () => {
    let rds: FakeRds;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR });
    });
    afterEach(() => rds.restore());
    const client = () => new RDSClient({ region: REGION });

    it("Aurora, own copies: only available ones tagged with this very source", async () => {
        rds.addClusterSnapshot("orders-v1", "orders", { created: minutesBefore(900), tags: tagged("orders") });
        rds.addClusterSnapshot("orders-untagged", "orders", { created: minutesBefore(10) });
        rds.addClusterSnapshot("orders-other-tag", "orders", { created: minutesBefore(9), tags: tagged("other") });
        rds.addClusterSnapshot("orders-wrong-key", "orders", { created: minutesBefore(8), tags: [{ Key: "team", Value: "orders" }] });
        rds.addClusterSnapshot("orders-v2", "orders", { created: minutesBefore(5), tags: tagged("orders"), status: "creating" });
        rds.addClusterSnapshot("carts-v1", "carts", { created: minutesBefore(1), tags: tagged("orders") });
        // The failover would pick orders-v2 (most recent tagged) and fail while it is being made.
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshots" }, REGION), undefined);
        rds.clusterSnapshots.delete("orders-v2");
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshots" }, REGION))?.ref, "orders-v1");
    });

    it("shared ones must be available, of this database, and from the named account (instances and clusters)", async () => {
        const inst = (acct: string, id: string) => `arn:aws:rds:${REGION}:${acct}:snapshot:${id}`;
        const clus = (acct: string, id: string) => `arn:aws:rds:${REGION}:${acct}:cluster-snapshot:${id}`;
        rds.addSharedSnapshot(inst(PEER, "db-20260301090000"), { created: minutesBefore(180), kmsKeyId: "k", databaseIdentifier: "db" });
        rds.addSharedSnapshot(inst(PEER, "db-20260301110000"), { created: minutesBefore(60), kmsKeyId: "k", databaseIdentifier: "db", status: "copying" });
        rds.addSharedSnapshot(inst("333333333333", "db-20260301115000"), { created: minutesBefore(10), kmsKeyId: "k", databaseIdentifier: "db" });
        rds.addSharedClusterSnapshot(clus(PEER, "aur-20260301090000"), { created: minutesBefore(200), kmsKeyId: "k", databaseIdentifier: "aur" });
        rds.addSharedClusterSnapshot(clus(PEER, "aur-20260301110000"), { created: minutesBefore(60), kmsKeyId: "k", databaseIdentifier: "aur", status: "copying" });
        rds.addSharedClusterSnapshot(clus(PEER, "other-20260301115000"), { created: minutesBefore(5), kmsKeyId: "k", databaseIdentifier: "other" });
        rds.addSharedClusterSnapshot(clus("333333333333", "aur-20260301115000"), { created: minutesBefore(5), kmsKeyId: "k", databaseIdentifier: "aur" });
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION))?.ref, inst(PEER, "db-20260301090000"));
        // Clusters: the failover takes the provider's most recent shared snapshot of the identifier, whoever shared it,
        // and refuses it when it is not the peer's or not available: then there is nothing it would restore.
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "aur", isCluster: true, kind: "snapshots", sharedFrom: PEER }, REGION), undefined);
        rds.sharedClustersWithMe.delete(clus("333333333333", "aur-20260301115000"));
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "aur", isCluster: true, kind: "snapshots", sharedFrom: PEER }, REGION), undefined, "the most recent is still copying");
        rds.sharedClustersWithMe.delete(clus(PEER, "aur-20260301110000"));
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "aur", isCluster: true, kind: "snapshots", sharedFrom: PEER }, REGION))?.ref, clus(PEER, "aur-20260301090000"));
        // Without sharedFrom, shared snapshots are not looked at at all.
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "aur", isCluster: true, kind: "snapshots" }, REGION), undefined);
        assert.strictEqual(rds.callsOf("DescribeDBClusterSnapshots").filter((c) => c.input.SnapshotType === "shared").length, 3);
    });

    it("a named snapshot counts only while available, and other errors than not-found are not hidden", async () => {
        rds.addClusterSnapshot("pinned-c", "orders", { created: minutesBefore(100) });
        rds.addSnapshot("pinned-i", "db", { created: minutesBefore(100), status: "creating" });
        assert.strictEqual((await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshot", snapshotIdentifier: "pinned-c" }, REGION))?.ref, "pinned-c");
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "orders", isCluster: true, kind: "snapshot", snapshotIdentifier: "gone-c" }, REGION), undefined);
        assert.strictEqual(await newestRecoveryPoint(client(), { database: "db", isCluster: false, kind: "snapshot", snapshotIdentifier: "pinned-i" }, REGION), undefined);
        rds.failAlways("DescribeDBSnapshots", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
        await assert.rejects(newestRecoveryPoint(client(), { database: "db", isCluster: false, kind: "snapshot", snapshotIdentifier: "pinned-i" }, REGION), /denied/);
    });
});

describe("readiness: pages and automated backup states (SDK mock)", () => {
    let mock: ReturnType<typeof mockClient>;
    beforeEach(() => {
        mock = mockClient(RDSClient);
    });
    afterEach(() => mock.restore());
    const at = (m: number) => new Date(minutesBefore(m));

    it("reads every page of own and shared snapshots", async () => {
        mock.on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: "db", SnapshotType: "manual", Marker: undefined }).resolves({
            DBSnapshots: [{ DBSnapshotIdentifier: "db-bk-20260301000000", DBSnapshotArn: `arn:aws:rds:${REGION}:${PEER}:snapshot:db-bk-20260301000000`, DBInstanceIdentifier: "db", Status: "available", SnapshotCreateTime: at(300), TagList: tagged("db") }],
            Marker: "p2",
        });
        mock.on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: "db", SnapshotType: "manual", Marker: "p2" }).resolves({
            DBSnapshots: [{ DBSnapshotIdentifier: "db-bk-20260301010000", DBSnapshotArn: `arn:aws:rds:${REGION}:${PEER}:snapshot:db-bk-20260301010000`, DBInstanceIdentifier: "db", Status: "available", SnapshotCreateTime: at(200), TagList: tagged("db") }],
        });
        mock.on(DescribeDBSnapshotsCommand, { SnapshotType: "shared", IncludeShared: true, Marker: undefined }).resolves({ DBSnapshots: [], Marker: "s2" });
        mock.on(DescribeDBSnapshotsCommand, { SnapshotType: "shared", IncludeShared: true, Marker: "s2" }).resolves({
            DBSnapshots: [{ DBSnapshotIdentifier: "x", DBSnapshotArn: `arn:aws:rds:${REGION}:${PEER}:snapshot:db-1`, DBInstanceIdentifier: "db", Status: "available", SnapshotCreateTime: at(100) }],
        });
        const point = await newestRecoveryPoint(new RDSClient({}), { database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION);
        assert.strictEqual(point?.ref, `arn:aws:rds:${REGION}:${PEER}:snapshot:db-1`);
        mock.on(DescribeDBSnapshotsCommand, { SnapshotType: "shared", IncludeShared: true, Marker: "s2" }).resolves({ DBSnapshots: [] });
        // Two accounts: the dr account's own copies are never what the failover restores.
        assert.strictEqual(await newestRecoveryPoint(new RDSClient({}), { database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }, REGION), undefined);
        assert.strictEqual((await newestRecoveryPoint(new RDSClient({}), { database: "db", isCluster: false, kind: "snapshots" }, REGION))?.ref, "db-bk-20260301010000", "one account: the newest, across pages");
    });

    it("reads every page of cluster snapshots", async () => {
        mock.on(DescribeDBClusterSnapshotsCommand, { DBClusterIdentifier: "aur", SnapshotType: "manual", Marker: undefined }).resolves({
            DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "aur-v1", Status: "available", SnapshotCreateTime: at(300), TagList: tagged("aur") }],
            Marker: "p2",
        });
        mock.on(DescribeDBClusterSnapshotsCommand, { DBClusterIdentifier: "aur", SnapshotType: "manual", Marker: "p2" }).resolves({
            DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "aur-v2", Status: "available", SnapshotCreateTime: at(30), TagList: tagged("aur") }],
        });
        assert.strictEqual((await newestRecoveryPoint(new RDSClient({}), { database: "aur", isCluster: true, kind: "snapshots" }, REGION))?.ref, "aur-v2");
    });

    it("active, retained and replicating automated backups are restorable; without a latest time or in another state they are not", async () => {
        const arn = `arn:aws:rds:${REGION}:${DR}:auto-backup:ab-1`;
        const target = { database: "db", isCluster: false as const, kind: "automatedBackups" as const, automatedBackupsArn: arn };
        for (const Status of ["active", "retained", "replicating"]) {
            mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ Status, RestoreWindow: { LatestTime: at(3) } }] });
            assert.deepStrictEqual(await newestRecoveryPoint(new RDSClient({}), target, REGION), { database: "db", ref: arn, time: at(3) }, Status);
        }
        for (const b of [{ Status: "pending", RestoreWindow: { LatestTime: at(3) } }, { Status: "active", RestoreWindow: {} }, { Status: "active" }]) {
            mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [b] });
            assert.strictEqual(await newestRecoveryPoint(new RDSClient({}), target, REGION), undefined, JSON.stringify(b));
        }
    });
});

describe("readiness: targets, the exact rules", () => {
    const table: [string, unknown, RegExp][] = [
        ["identifier not starting with a letter", [{ database: "1db", isCluster: false, kind: "snapshots" }], /database must be an RDS identifier/],
        ["identifier with a trailing bad character", [{ database: "db!", isCluster: false, kind: "snapshots" }], /database must be an RDS identifier/],
        ["identifier not a string", [{ database: 7, isCluster: false, kind: "snapshots" }], /database must be an RDS identifier, got 7/],
        ["13-digit account", [{ database: "a", isCluster: false, kind: "snapshots", sharedFrom: "1234567890123" }], /sharedFrom must be a 12-digit account id/],
        ["account with a prefix", [{ database: "a", isCluster: false, kind: "snapshots", sharedFrom: "x123456789012" }], /sharedFrom must be a 12-digit account id/],
        ["account as a number", [{ database: "a", isCluster: false, kind: "snapshots", sharedFrom: 123456789012 }], /sharedFrom must be a 12-digit account id/],
        ["snapshot named by a number", [{ database: "a", isCluster: false, kind: "snapshot", snapshotIdentifier: 5 }], /snapshotIdentifier must name a snapshot/],
        ["a list entry that is not an object", ["a"], /TARGETS\[0\]\.database must be an RDS identifier/],
    ];
    for (const [label, value, message] of table) {
        it(`refuses ${label}`, () => assert.throws(() => parseTargets(JSON.stringify(value)), message));
    }
});
