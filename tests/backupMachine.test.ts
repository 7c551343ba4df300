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

    it("a run while an older execution of the machine covers the same database (a duplicate delivery) changes nothing and does not alert", async () => {
        seed();
        sfn.addRunning(MACHINE_ARN, "scheduled-run", {});
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        assert.match(result.output.report.skipped, /execution 'scheduled-run' .*started before this one, is already running backup-schedule on wordpress; this run changes nothing/);
        assert.deepStrictEqual(result.output.report.snapshots, []);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.deepStrictEqual(jobCalls, ["plan", "report"]);
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
            statements.some((st) => ([] as string[]).concat(st.Action).includes(action) && ([] as string[]).concat(st.Resource as string[]).some((r) => r === "*" || r.includes(`:${region}:`)));
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

    // ---------------------------------------------------------------- bad input

    const wholeInputs: { name: string; input: unknown; expect: RegExp }[] = [
        { name: "a string", input: "wordpress", expect: /the execution input must be a JSON object.*got "wordpress"/ },
        { name: "a list", input: [{ identifier: "wordpress" }], expect: /the execution input must be a JSON object.*got \[\{"identifier":"wordpress"\}\]/ },
        { name: "a number", input: 42, expect: /the execution input must be a JSON object.*got 42/ },
        // (JSON null: the local runner cannot apply "$" to it; tests/backupLogic.test.ts refuses it at the plan.)
        { name: "a misspelled key", input: { database: [{ identifier: "wordpress" }] }, expect: /unknown key\(s\) "database" in the execution input; the only key is "databases"/ },
        { name: "an unknown field next to databases", input: { databases: [{ identifier: "wordpress" }], prune: false }, expect: /unknown key\(s\) "prune"/ },
        { name: "an unknown field in an entry", input: { databases: [{ identifier: "wordpress", keep: 1 }] }, expect: /databases\[0\] has unknown key\(s\) "keep"/ },
        { name: "an entry that is a string", input: { databases: ["wordpress"] }, expect: /databases\[0\] must be an object \{identifier, isCluster\}; got "wordpress"/ },
        { name: "a duplicate", input: { databases: [{ identifier: "wordpress" }, { identifier: "wordpress", isCluster: false }] }, expect: /database wordpress is listed twice/ },
        { name: "isCluster as a string", input: { databases: [{ identifier: "shop", isCluster: "true" }] }, expect: /isCluster true, not "true"/ },
        { name: "databases as an object", input: { databases: { identifier: "wordpress" } }, expect: /databases must be a non-empty list/ },
    ];
    for (const t of wholeInputs) {
        it(`refuses ${t.name} as input: nothing is backed up or pruned, the alert names the value`, async () => {
            seed(1);
            rds.addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
            const result = await run(t.input);
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1, "the alert is reached");
            assert.match(alerts[0].error, /InvalidInputError/);
            assert.match(alerts[0].cause, t.expect);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
            assert.deepStrictEqual(jobCalls, ["plan"]);
        });
    }

    // ------------------------------------------------- lost responses, races

    /** The job handler, except that the first call of `step` takes effect and then its response is lost. */
    function losingFirstResponseOf(step: string) {
        let lost = false;
        return {
            ...handlers(),
            [JOB_FN]: async (event: any) => {
                jobCalls.push(event.step);
                const out = await handler(event);
                if (event.step === step && !lost) {
                    lost = true;
                    const e = new Error("the response of a call that took effect was lost");
                    e.name = "Lambda.ServiceException";
                    throw e;
                }
                return out;
            },
        };
    }

    for (const step of ["snapshot", "ensure_shared_key", "drop_original", "copy_to_dr", "share", "prune"]) {
        it(`a ${step} whose response is lost is retried into one result, without an alert`, async () => {
            seed(1);
            process.env.PEER_ACCOUNT_ID = "222222222222";
            rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
            rds.addSnapshot("wordpress-bk-20251201000000-sk", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
            rds.inRegion(DR).addSnapshot("wordpress-bk-20251201000000-sk", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY });
            try {
                const result = await runMachine(definition, { databases: [{ identifier: "wordpress" }] }, { machineName: "pilotlight-backup", handlers: losingFirstResponseOf(step) });
                assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
                assert.deepStrictEqual(alerts, []);
                assert.ok(result.taskFailures.some((f) => f.error === "Lambda.ServiceException"));
                const live = (f: FakeRds) => [...f.snapshots.values()].filter((x) => x.status !== "deleting").map((x) => x.info.DBSnapshotIdentifier!.replace(/\d{14}/, "T"));
                assert.deepStrictEqual(live(rds), ["wordpress-bk-T-sk"], "home: only the run's shared-key copy");
                assert.deepStrictEqual(live(rds.inRegion(DR)), ["wordpress-bk-T-sk"], "DR: only the run's copy");
                const copy = [...rds.inRegion(DR).snapshots.values()].find((x) => x.status === "available" && !x.info.DBSnapshotIdentifier!.startsWith("wordpress-bk-2025"))!;
                assert.deepStrictEqual(copy.restoreAccounts, ["222222222222"]);
                assert.deepStrictEqual(copy.tags, BACKUP_TAGS("wordpress"));
            } finally {
                delete process.env.PEER_ACCOUNT_ID;
            }
        });
    }

    it("racing twin calls of every creating step (one meets ...AlreadyExists) end as one snapshot per region, without an alert", async () => {
        seed();
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        const result = await runMachine(definition, { databases: [{ identifier: "wordpress" }] }, {
            machineName: "pilotlight-backup",
            handlers: {
                ...handlers(),
                [JOB_FN]: async (event: any) => {
                    if (!["snapshot", "ensure_shared_key", "copy_to_dr"].includes(event.step)) return handler(event);
                    const [a, b] = await Promise.all([handler(structuredClone(event)), handler(structuredClone(event))]);
                    assert.deepStrictEqual(a, b);
                    return a;
                },
            },
        });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        assert.ok(rds.calls.some((c) => c.command === "CreateDBSnapshot") && rds.calls.filter((c) => c.command === "CreateDBSnapshot").length === 2, "both twins asked");
        assert.strictEqual([...rds.inRegion(DR).snapshots.values()].length, 1);
        assert.strictEqual([...rds.snapshots.values()].filter((x) => x.status !== "deleting").length, 1);
    });

    it("a twin execution started after this one does not stop it: the older execution does the work", async () => {
        seed();
        sfn.addRunning(MACHINE_ARN, "twin", {}, new Date("2999-01-01T00:00:00Z"));
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(result.output.report.skipped, undefined);
        assert.strictEqual(result.output.report.snapshots.length, 1);
    });

    it("an older execution with an invalid input does not block a run (it fails its own plan)", async () => {
        seed();
        sfn.addRunning(MACHINE_ARN, "bad", "a string");
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(result.output.report.snapshots.length, 1);
    });

    it("a snapshot with the run's name that this job did not make is neither used nor deleted", async () => {
        seed();
        const result = await runMachine(definition, { databases: [{ identifier: "wordpress" }] }, {
            machineName: "pilotlight-backup",
            handlers: {
                ...handlers(),
                [JOB_FN]: async (event: any) => {
                    if (event.step === "snapshot") rds.addSnapshot(event.item.snapshotId, "wordpress", { tags: [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }, { Key: "copied-by", Value: "operator" }] }).info.DBInstanceIdentifier = "other-db";
                    return handler(event);
                },
            },
        });
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].cause, /exists but was not made by backup-schedule from wordpress/);
        assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.command !== "Unsupported"), []);
    });

    // ------------------------------------------------------- quota, retention

    it("refuses to take a snapshot when the region's manual snapshot quota is used up, before the call, and alerts", async () => {
        seed();
        rds.manualSnapshotQuota = 3;
        for (const id of ["a", "b", "c"]) rds.addSnapshot(`someone-${id}`, "someone");
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].cause, /SnapshotQuotaError.*us-east-1 holds 3 of its 3 manual snapshots/);
        assert.deepStrictEqual(rds.callsOf("CreateDBSnapshot"), []);
    });

    it("refuses to copy to the DR region when its quota is used up, and still prunes the home region", async () => {
        seed(1);
        const dr = rds.inRegion(DR);
        dr.manualSnapshotQuota = 1;
        dr.addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY });
        rds.addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].cause, /SnapshotQuotaError.*us-west-2 holds 1 of its 1/);
        assert.deepStrictEqual(dr.callsOf("CopyDBSnapshot").filter((c) => c.region === DR), []);
        assert.strictEqual(dr.snapshots.get("wordpress-bk-20251201000000")!.status, "available", "the DR region keeps its newest copy");
    });

    it("while DR copies keep failing, the home region keeps only the newest `keep` snapshots; the DR region loses nothing", async () => {
        seed(2);
        const dr = rds.inRegion(DR);
        for (const day of ["01", "02", "03"]) {
            rds.addSnapshot(`wordpress-bk-202512${day}000000`, "wordpress", { created: `2025-12-${day}T00:00:00Z`, tags: BACKUP_TAGS("wordpress"), kmsKeyId: SHARED_KEY });
            dr.addSnapshot(`wordpress-bk-202512${day}000000`, "wordpress", { created: `2025-12-${day}T00:00:00Z`, tags: BACKUP_TAGS("wordpress"), kmsKeyId: DR_KEY });
        }
        const denied = () => Object.assign(new Error("KMS key not accessible"), { name: "KMSKeyNotAccessibleFault" });
        dr.failAlways("CopyDBSnapshot", denied);
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].cause, /wordpress: KMSKeyNotAccessibleFault/);
        const live = [...rds.snapshots.values()].filter((x) => x.status !== "deleting").map((x) => x.info.DBSnapshotIdentifier!);
        assert.strictEqual(live.length, 2);
        assert.ok(live.includes("wordpress-bk-20251203000000"));
        assert.deepStrictEqual([...dr.snapshots.keys()].sort(), ["wordpress-bk-20251201000000", "wordpress-bk-20251202000000", "wordpress-bk-20251203000000"]);
        assert.deepStrictEqual(dr.callsOf("DeleteDBSnapshot").filter((c) => c.region === DR), []);
    });

    it("retention deletes only what the job made: its name pattern and its tag, never a tagged operator copy", async () => {
        seed(1);
        for (const f of [rds, rds.inRegion(DR)]) {
            const kmsKeyId = f === rds ? SHARED_KEY : DR_KEY;
            f.addSnapshot("wordpress-bk-20251201000000", "wordpress", { created: "2025-12-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId });
            // Copies made by operators with copy-tags: the tag, not the name.
            f.addSnapshot("wordpress-before-upgrade", "wordpress", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId });
            f.addSnapshot("wordpress-bk-20250101000000-keep", "wordpress", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId });
            f.addSnapshot("wordpress-bk-2025", "wordpress", { created: "2025-01-01T00:00:00Z", tags: BACKUP_TAGS("wordpress"), kmsKeyId });
        }
        const result = await run({ databases: [{ identifier: "wordpress" }] });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        for (const f of [rds, rds.inRegion(DR)]) {
            const deleted = f.calls.filter((c) => c.command === "DeleteDBSnapshot" && (c.region ?? HOME) === f.region).map((c) => c.input.DBSnapshotIdentifier);
            assert.deepStrictEqual(deleted, ["wordpress-bk-20251201000000"], f.region);
        }
    });

    // --------------------------------------------------------- the dr account

    it("two accounts: shares each DR-region copy, instance and cluster, with the dr account once it is available, and marks it ready", async () => {
        seed();
        process.env.PEER_ACCOUNT_ID = "222222222222";
        try {
            const result = await run();
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            const dr = rds.inRegion(DR);
            const copy = [...dr.snapshots.values()][0];
            const clusterCopy = [...dr.clusterSnapshots.values()][0];
            assert.deepStrictEqual([copy.restoreAccounts, clusterCopy.restoreAccounts], [["222222222222"], ["222222222222"]]);
            assert.deepStrictEqual(clusterCopy.tags, BACKUP_TAGS("shop"));
            const copyCall = dr.callsOf("CopyDBSnapshot").find((c) => c.region === DR)!;
            assert.deepStrictEqual([copyCall.input.CopyTags, copyCall.input.Tags], [false, [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }]], "pilotlight:source comes only once the copy is available");
            const order = dr.calls.filter((c) => c.region === DR && /Copy|Modify|AddTags/.test(c.command) && c.input.DBSnapshotIdentifier !== undefined || (c.region === DR && c.command === "AddTagsToResource" && String(c.input.ResourceName).includes(":snapshot:"))).map((c) => c.command);
            assert.deepStrictEqual(order, ["ModifyDBSnapshotAttribute", "AddTagsToResource"]);
        } finally {
            delete process.env.PEER_ACCOUNT_ID;
        }
    });

    it("works on at most maxConcurrency databases at once: never more than 20 copy requests in progress per region", async () => {
        process.env.HOME_REGION = HOME;
        process.env.DR_REGION = DR;
        process.env.SHARED_KEY_ARN = SHARED_KEY;
        process.env.DR_KEY_ARN = DR_KEY;
        process.env.KEEP = "1";
        const dbs = Array.from({ length: 24 }, (_, i) => ({ identifier: `db${i}`, isCluster: false }));
        process.env.DATABASES = JSON.stringify(dbs);
        for (const d of dbs) rds.addInstance({ identifier: d.identifier, data: d.identifier, info: { KmsKeyId: SHARED_KEY } });
        rds.timelines = { ...rds.timelines, snapshotCreate: Array(6).fill("creating").concat("available") };
        const wide = snapshotMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { kind: "backup", maxAttempts: 10, databases: 24 });
        assert.strictEqual((wide.States.Databases as any).MaxConcurrency, 10);
        const result = await runMachine(wide, {}, { machineName: "pilotlight-backup", handlers: handlers() });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(rds.inRegion(DR).copyLimitViolations, []);
        assert.strictEqual(rds.inRegion(DR).snapshots.size, 24);
    });
});
