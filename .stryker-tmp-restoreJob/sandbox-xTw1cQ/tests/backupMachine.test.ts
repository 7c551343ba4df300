// @ts-nocheck
import * as assert from "assert";
import { Tag } from "@aws-sdk/client-rds";
import { snapshotMachineDefinition } from "../components/machines/snapshotMachine";
import { snapshotJobStatements } from "../components/backupSchedule";
import { handler } from "../functions/backup";
import { BACKUP_JOB } from "../functions/lib/backup";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { ACCOUNT, defaultRdsKey, FakeRds, throttling } from "./fakeRds";
import { HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, runMachine, taskStates } from "./machineHarness";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";
import { FakeSfn } from "./fakeSfn";
import { allows } from "./iamCheck";
import { handler as alertHandler } from "../functions/alert";

const HOME = "us-east-1";
const DR = "us-west-2";
const SHARED_KEY = `arn:aws:kms:${HOME}:${ACCOUNT}:key/mrk-shared`;
const DR_KEY = `arn:aws:kms:${DR}:${ACCOUNT}:key/mrk-shared`;
const JOB_FN = `arn:aws:lambda:${HOME}:${ACCOUNT}:function:pilotlight-backup`;
const ALERT_FN = `arn:aws:lambda:${HOME}:${ACCOUNT}:function:pilotlight-alert`;
const BACKUP_TAGS = (db: string): Tag[] => [
    { Key: CREATED_BY_TAG, Value: BACKUP_JOB },
    { Key: SOURCE_TAG, Value: db },
];

const definition = snapshotMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { kind: "backup", maxAttempts: 10 });

describe("backup machine", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let alerts: any[];
    let faultStep: string | undefined;
    const jobCalls: string[] = [];

    const handlers = () =>
        jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e), call: (step) => jobCalls.push(step) });

    function run(input: unknown = {}) {
        return runMachine(definition, input, { handlers: handlers(), machineName: "pilotlight-backup" });
    }

    function seed(keep = 12) {
        process.env.HOME_REGION = HOME;
        process.env.DR_REGION = DR;
        process.env.SHARED_KEY_ARN = SHARED_KEY;
        process.env.DR_KEY_ARN = DR_KEY;
        process.env.KEEP = String(keep);
        process.env.DATABASES = JSON.stringify([
            { identifier: "wordpress", isCluster: false },
            { identifier: "shop", isCluster: true },
        ]);
        rds.addInstance({ identifier: "wordpress", data: "posts-v7", info: { KmsKeyId: SHARED_KEY } });
        rds.addCluster({ identifier: "shop", data: "carts-v3", info: { KmsKeyId: SHARED_KEY }, members: [{ identifier: "shop-1" }] });
    }

    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        alerts = [];
        faultStep = undefined;
        jobCalls.length = 0;
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        for (const k of ["HOME_REGION", "DR_REGION", "SHARED_KEY_ARN", "DR_KEY_ARN", "KEEP", "DATABASES"]) delete process.env[k];
    });

    it("snapshots every database and copies each to the DR region under the replica key", async () => {
        seed();
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        const dr = rds.inRegion(DR);
        const snap = [...rds.snapshots.values()].find((s) => s.info.DBInstanceIdentifier === "wordpress")!;
        assert.match(snap.info.DBSnapshotIdentifier!, /^wordpress-bk-\d{14}$/);
        assert.deepStrictEqual(snap.tags, BACKUP_TAGS("wordpress"));
        const copy = dr.snapshots.get(snap.info.DBSnapshotIdentifier!)!;
        assert.strictEqual(copy.status, "available");
        assert.strictEqual(copy.info.KmsKeyId, DR_KEY);
        assert.strictEqual(copy.data, "posts-v7");
        assert.deepStrictEqual(copy.tags, BACKUP_TAGS("wordpress"));
        const clusterCopy = [...dr.clusterSnapshots.values()].find((s) => s.info.DBClusterIdentifier === "shop")!;
        assert.strictEqual(clusterCopy.data, "carts-v3");
        assert.strictEqual(clusterCopy.info.KmsKeyId, DR_KEY);
        const copyCall = rds.callsOf("CopyDBSnapshot")[0];
        assert.strictEqual(copyCall.region, DR);
        assert.strictEqual(copyCall.input.SourceDBSnapshotIdentifier, snap.info.DBSnapshotArn);
        assert.deepStrictEqual(result.output.report, { job: BACKUP_JOB, snapshots: [snap.info.DBSnapshotIdentifier, clusterCopy.info.DBClusterSnapshotIdentifier] });
    });

    it("copies a snapshot under the default aws/rds key under the shared key first, then drops the default-key one", async () => {
        seed();
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const home = [...rds.snapshots.values()].filter((s) => s.info.DBInstanceIdentifier === "wordpress");
        assert.deepStrictEqual(home.map((s) => [s.info.DBSnapshotIdentifier!.replace(/\d{14}/, "T"), s.info.KmsKeyId]), [["wordpress-bk-T-sk", SHARED_KEY]]);
        const dr = [...rds.inRegion(DR).snapshots.values()];
        assert.deepStrictEqual(dr.map((s) => [s.info.DBSnapshotIdentifier!.replace(/\d{14}/, "T"), s.info.KmsKeyId, s.data]), [["wordpress-bk-T-sk", DR_KEY, "posts-v7"]]);
        assert.ok(rds.callsOf("CopyDBSnapshot").some((c) => c.input.KmsKeyId === SHARED_KEY && !c.region));
        assert.notStrictEqual(defaultRdsKey(HOME, ACCOUNT), SHARED_KEY);
    });

    const retention: { name: string; keep: number; existing: number; expectKept: number }[] = [
        { name: "keeps the newest 12 of 13 + the new one", keep: 12, existing: 13, expectKept: 12 },
        { name: "keeps everything under the limit", keep: 12, existing: 5, expectKept: 6 },
        { name: "keep 1 leaves only the new snapshot", keep: 1, existing: 4, expectKept: 1 },
    ];
    for (const t of retention) {
        it(`retention ${t.name}, in both regions, never touching manual, foreign or other jobs' snapshots`, async () => {
            seed(t.keep);
            const dr = rds.inRegion(DR);
            for (const region of [rds, dr]) {
                for (let i = 1; i <= t.existing; i++) {
                    const day = String(i).padStart(2, "0");
                    region.addSnapshot(`wordpress-bk-202512${day}000000`, "wordpress", { created: `2025-12-${day}T00:00:00Z`, tags: BACKUP_TAGS("wordpress"), kmsKeyId: region === rds ? SHARED_KEY : DR_KEY });
                }
                region.addSnapshot("wordpress-manual", "wordpress", { created: "2025-01-01T00:00:00Z" });
                region.addSnapshot("wordpress-restore", "wordpress", { created: "2025-01-01T00:00:00Z", tags: [{ Key: CREATED_BY_TAG, Value: "restore-machine" }] });
                region.addSnapshot("otherdb-bk-20250101000000", "otherdb", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("otherdb") });
            }
            const result = await run({ databases: [{ identifier: "wordpress", isCluster: false }] });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            for (const region of [rds, dr]) {
                const ids = [...region.snapshots.values()].filter((s) => s.status !== "deleting" && s.tags.some((x) => x.Value === BACKUP_JOB) && s.info.DBInstanceIdentifier === "wordpress").map((s) => s.info.DBSnapshotIdentifier!);
                const expected = [
                    ...Array.from({ length: t.existing }, (_, i) => `wordpress-bk-202512${String(i + 1).padStart(2, "0")}000000`).slice(Math.max(0, t.existing - (t.expectKept - 1))),
                ];
                const fresh = ids.filter((id) => !id.startsWith("wordpress-bk-202512"));
                assert.strictEqual(fresh.length, 1, `the new snapshot survives in ${region.region}`);
                assert.deepStrictEqual(ids.filter((id) => id.startsWith("wordpress-bk-202512")).sort(), expected.sort(), region.region);
                for (const kept of ["wordpress-manual", "wordpress-restore", "otherdb-bk-20250101000000"]) assert.ok(region.snapshots.has(kept), `${kept} in ${region.region}`);
            }
        });
    }

    it("has a Retry and a Catch on every Task and a machine timeout", () => {
        assert.ok(definition.TimeoutSeconds >= 3 * 10 * 60);
        const all = JSON.stringify(definition);
        for (const name of taskStates(definition as any)) {
            const state = (definition.States[name] ?? (definition.States.Databases as any).ItemProcessor.States[name]) as any;
            assert.ok(state.Retry?.length, `${name} has Retry`);
            if (name !== "NotifyFailure") assert.ok(state.Catch?.some((c: any) => c.ErrorEquals.includes("States.ALL")), `${name} has Catch`);
        }
        assert.ok(!all.includes('"Seconds":0'));
    });

    for (const step of ["plan", "snapshot", "status", "ensure_shared_key", "copy_to_dr", "prune", "report"]) {
        it(`a fault at ${step} loses nothing and alerts`, async () => {
            seed(2);
            rds.addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
            rds.inRegion(DR).addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY });
            faultStep = step;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(result.error, "backup.Failed");
            assert.strictEqual(alerts.length, 1, "one alert");
            assert.strictEqual(alerts[0].kind, "failure");
            assert.ok(/InjectedFault|BackupFailedError/.test(alerts[0].error), alerts[0].error);
            assert.ok(rds.snapshots.has("wordpress-bk-20251201000000"));
            assert.ok(rds.inRegion(DR).snapshots.has("wordpress-bk-20251201000000"));
            assert.strictEqual(rds.instances.get("wordpress")!.status, "available");
            assert.strictEqual(rds.clusters.get("shop")!.status, "available");
            assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.command.startsWith("Delete")), []);
        });
    }

    it("a fault at drop_original keeps the default-key snapshot and alerts", async () => {
        seed();
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        faultStep = "drop_original";
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts.length, 1);
        assert.strictEqual([...rds.snapshots.values()].filter((s) => s.info.DBInstanceIdentifier === "wordpress").length, 2);
    });

    it("one database failing does not stop the others; the run fails and alerts", async () => {
        seed();
        const original = rds.timelines;
        rds.timelines = { ...original, snapshotCreate: ["creating", "creating", "available"] };
        const result = await runMachine(definition, {}, {
            machineName: "pilotlight-backup",
            handlers: {
                ...handlers(),
                [JOB_FN]: async (event: any) => {
                    if (event.step === "snapshot" && event.item.identifier === "shop") {
                        const e = new Error("cluster is busy");
                        e.name = "InvalidDBClusterStateFault";
                        throw e;
                    }
                    return handler(event);
                },
            },
        });
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].error, /BackupFailedError/);
        assert.match(alerts[0].cause, /shop: InvalidDBClusterStateFault/);
        assert.strictEqual([...rds.inRegion(DR).snapshots.values()].filter((s) => s.info.DBInstanceIdentifier === "wordpress").length, 1);
    });

    it("an endless snapshot exhausts its wait, fails and alerts", async () => {
        seed();
        rds.timelines = { ...rds.timelines, snapshotCreate: Array(50).fill("creating") };
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.visits.PollSnapshot, 10);
        assert.match(alerts[0].cause, /WaitExhausted/);
    });

    const badInputs: { name: string; input: unknown; expect: RegExp }[] = [
        { name: "an unconfigured database", input: { databases: [{ identifier: "ghost" }] }, expect: /"ghost" is not configured/ },
        { name: "a wrong isCluster", input: { databases: [{ identifier: "shop", isCluster: false }] }, expect: /isCluster true, not false/ },
        { name: "an empty list", input: { databases: [] }, expect: /non-empty list/ },
    ];
    for (const t of badInputs) {
        it(`rejects ${t.name} before any change`, async () => {
            seed();
            const result = await run(t.input);
            assert.strictEqual(result.status, "FAILED");
            assert.match(alerts[0].cause, t.expect);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    }

    it("rejects a configured database that does not exist before any change", async () => {
        seed();
        rds.clusters.delete("shop");
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].cause, /cluster shop does not exist/);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    const overlaps: { name: string; add: (rds: FakeRds) => void }[] = [
        { name: "its snapshot still being taken", add: (r) => r.addSnapshot("wordpress-bk-20260101000000", "wordpress", { status: "creating", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY }) },
        { name: "its DR copy still being made", add: (r) => r.inRegion(DR).addSnapshot("wordpress-bk-20260101000000", "wordpress", { status: "creating", tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY }) },
        { name: "its cluster snapshot still being taken", add: (r) => r.addClusterSnapshot("shop-bk-20260101000000", "shop", { status: "creating", tags: BACKUP_TAGS("shop"), kmsKeyId: SHARED_KEY }) },
    ];
    for (const t of overlaps) {
        it(`rejects a run that overlaps an unfinished one (${t.name}) before any change, and alerts`, async () => {
            seed();
            t.add(rds);
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.match(alerts[0].error, /ConcurrentRunError/);
            assert.match(alerts[0].cause, /another backup-schedule run is in progress on (wordpress|shop)/);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
            assert.deepStrictEqual(rds.inRegion(DR).mutatingCalls(), []);
            assert.deepStrictEqual(jobCalls, ["plan"]);
        });
    }

    const MACHINE_ARN = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:pilotlight-backup`;

    it("rejects a run while another execution of the machine covers the same database, before any change, and alerts", async () => {
        seed();
        sfn.addRunning(MACHINE_ARN, "scheduled-run", {});
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts.length, 1);
        assert.match(alerts[0].error, /ConcurrentRunError/);
        assert.match(alerts[0].cause, /execution 'scheduled-run' .* is already running on wordpress/);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.deepStrictEqual(jobCalls, ["plan"]);
        const list = sfn.calls.find((c) => c.command === "ListExecutions")!.input;
        assert.deepStrictEqual([list.stateMachineArn, list.statusFilter], [MACHINE_ARN, "RUNNING"]);
    });

    it("another execution on other databases, or of another machine, does not block a run", async () => {
        seed();
        sfn.addRunning(MACHINE_ARN, "shop-only", { databases: [{ identifier: "shop" }] });
        sfn.addRunning(MACHINE_ARN.replace("pilotlight-backup", "pilotlight-copy-source"), "copy", {});
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    });

    it("a snapshot being taken by someone else (manual, restore machine) does not block a run", async () => {
        seed();
        rds.addSnapshot("wordpress-manual", "wordpress", { status: "creating" });
        rds.addSnapshot("wordpress-restore", "wordpress", { status: "creating", tags: [{ Key: CREATED_BY_TAG, Value: "restore-machine" }] });
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    });

    it("a failure reaches the alert topic through the shared alert Lambda, naming the database and the error", async () => {
        seed();
        const channels = new FakeAlerts();
        process.env.TOPIC_ARN = TOPIC_ARN;
        try {
            rds.timelines = { ...rds.timelines, snapshotCreate: Array(50).fill("creating") };
            const result = await runMachine(definition, { databases: [{ identifier: "wordpress" }] }, { machineName: "pilotlight-backup", handlers: { [JOB_FN]: handler, [ALERT_FN]: alertHandler } });
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(channels.published.length, 1);
            assert.match(channels.published[0].message, /BackupFailedError/);
            assert.match(channels.published[0].message, /wordpress: WaitExhausted/);
        } finally {
            channels.restore();
            delete process.env.TOPIC_ARN;
        }
    });

    it("the Lambda's policy allows every RDS call the machine made, in the region it made it", async () => {
        seed();
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        rds.addSnapshot("wordpress-bk-20250101000000", "wordpress", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
        rds.inRegion(DR).addSnapshot("wordpress-bk-20250101000000", "wordpress", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY });
        process.env.KEEP = "1";
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const statements = snapshotJobStatements({ job: BACKUP_JOB, machineName: "pilotlight-backup", accountId: ACCOUNT, homeRegion: HOME, drRegion: DR, databases: JSON.parse(process.env.DATABASES!), sharedKeyArn: SHARED_KEY, drKeyArn: DR_KEY });
        const allowed = (action: string, region: string) =>
            statements.some((st) => ([] as string[]).concat(st.Action).includes(action) && ([] as string[]).concat(st.Resource as string[]).some((r) => r.includes(`:${region}:`)));
        const used = new Set(rds.calls.map((c) => `rds:${c.command}@${c.region ?? HOME}`));
        assert.ok(used.has(`rds:DeleteDBSnapshot@${DR}`) && used.has(`rds:CopyDBSnapshot@${HOME}`), [...used].join(", "));
        for (const c of sfn.calls) {
            const resource = c.command === "ListExecutions" ? (c.input.stateMachineArn as string) : (c.input.executionArn as string);
            assert.ok(allows(statements, { action: `states:${c.command}`, resource }), `states:${c.command} on ${resource} is not allowed`);
        }
        for (const u of used) {
            const [action, region] = u.split("@");
            assert.ok(allowed(action, region), `${action} in ${region} is not allowed`);
        }
    });

    it("retries throttling (the SDK's real error) and completes without an alert", async () => {
        seed();
        rds.inRegion(DR).failNext("CopyDBSnapshot", throttling, 2);
        rds.failNext("CreateDBSnapshot", throttling, 1);
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(result.taskFailures.map((f) => [f.state, f.error]), [["Snapshot", "TransientError"], ["CopyToDr", "TransientError"], ["CopyToDr", "TransientError"]]);
        assert.deepStrictEqual(alerts, []);
        assert.strictEqual(rds.inRegion(DR).snapshots.size, 1);
    });
});
