import * as assert from "assert";
import { copyTargetDefinition } from "../components/machines/copyTarget";
import { imageMachineDefinition, machineTimeout, snapshotMachineDefinition } from "../components/machines/snapshotMachine";
import { SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS, snapshotQuotaProblem } from "../components/backupSchedule";
import { BACKUP_JOB, COPY_SOURCE_JOB, copyExecutionName, CopyCandidate, isRunSnapshotName, nextVersion, runSnapshotName, selectCopiesToPrune, selectCopySnapshotsToPrune, selectLatestCopy, SnapshotJob, versionOf } from "../functions/lib/backup";
import { assertRoomForSnapshot, copyToDr, dropOriginal, olderExecutionCovering, prune, requestedDatabases, runStep, share, SnapshotJobSettings, startedBefore } from "../functions/lib/snapshotJobs";
import { FakeSfn } from "./fakeSfn";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { FakeRds } from "./fakeRds";
import { allStates } from "./machineHarness";
import { SnapshotInfo, selectSnapshotsToPrune } from "../functions/lib/rds";
import { CREATED_BY_TAG } from "../functions/lib/tags";

function snap(identifier: string, day: number, createdBy?: string, status = "available"): SnapshotInfo {
    return {
        identifier,
        databaseIdentifier: "app",
        status,
        arn: `arn:aws:rds:us-east-1:111111111111:snapshot:${identifier}`,
        createdAt: `2026-01-${String(day).padStart(2, "0")}T00:00:00Z`,
        type: "manual",
        tags: createdBy ? [{ Key: CREATED_BY_TAG, Value: createdBy }] : [],
    };
}

describe("backup and copy logic", () => {
    const retention: { name: string; snapshots: SnapshotInfo[]; keep: number; deleted: string[] }[] = [
        { name: "nothing beyond keep", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 2, BACKUP_JOB)], keep: 2, deleted: [] },
        { name: "the oldest beyond keep", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 2, deleted: ["a"] },
        { name: "never the newest, even with keep 1", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 9, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["c", "a"] },
        { name: "never a manual snapshot", snapshots: [snap("m", 1), snap("a", 2, BACKUP_JOB), snap("b", 3, BACKUP_JOB)], keep: 1, deleted: ["a"] },
        { name: "never another job's snapshot", snapshots: [snap("r", 1, "restore-machine"), snap("x", 1, "copy-source"), snap("a", 2, BACKUP_JOB), snap("b", 3, BACKUP_JOB)], keep: 1, deleted: ["a"] },
        { name: "never one still creating or deleting", snapshots: [snap("a", 1, BACKUP_JOB, "creating"), snap("d", 1, BACKUP_JOB, "deleting"), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["b"] },
        { name: "a newer creating one does not count towards keep", snapshots: [snap("new", 9, BACKUP_JOB, "creating"), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["b"] },
    ];
    for (const t of retention) {
        it(`snapshot retention: ${t.name}`, () => {
            assert.deepStrictEqual(selectSnapshotsToPrune(t.snapshots, t.keep, BACKUP_JOB).map((s) => s.identifier), t.deleted);
        });
    }

    it("rejects a keep below 1", () => {
        assert.throws(() => selectSnapshotsToPrune([], 0, BACKUP_JOB), /keep must be an integer >= 1, got 0/);
        assert.throws(() => selectCopiesToPrune("app", [], 0, undefined), /keep must be an integer >= 1, got 0/);
    });

    const versions: [string, string, boolean, number | undefined][] = [
        ["app", "app-v1", false, 1],
        ["app", "app-v12", false, 12],
        ["app", "app-v12-final", false, undefined],
        ["app", "app-v12-final", true, 12],
        ["app", "app-v0", false, undefined],
        ["app", "app-v01", false, undefined],
        ["app", "app-va", false, undefined],
        ["app", "appx-v1", false, undefined],
        ["app", "app-db-v3", false, undefined],
        ["app-db", "app-db-v3", false, 3],
    ];
    for (const [name, id, final, expected] of versions) {
        it(`version of ${id} under ${name}${final ? " (finals allowed)" : ""} is ${expected}`, () => assert.strictEqual(versionOf(name, id, final), expected));
    }

    it("numbers from the highest existing version, ignoring gaps and other names", () => {
        assert.strictEqual(nextVersion("app", []), 1);
        assert.strictEqual(nextVersion("app", ["app-v1", "app-v3", "other-v9", "app-v2-final"]), 4);
        assert.strictEqual(nextVersion("app", ["app-v7"]), 8);
        // A final snapshot holds its version's name: `<name>-v<N>` deleted later needs `<name>-v<N>-final` free.
        assert.strictEqual(nextVersion("app", ["app-v5-final", "app-v2"]), 6);
    });

    const copies: { name: string; instances: [string, string, boolean][]; keep: number; pointed?: string; deleted: string[] }[] = [
        { name: "keeps the newest by version, not by name order", instances: [["app-v9", "available", true], ["app-v10", "available", true], ["app-v8", "available", true]], keep: 2, pointed: "app-v10", deleted: ["app-v8"] },
        { name: "never the instance the secret points at", instances: [["app-v1", "available", true], ["app-v2", "available", true], ["app-v3", "available", true]], keep: 1, pointed: "app-v1", deleted: ["app-v2"] },
        { name: "never one pilotlight did not create", instances: [["app-v1", "available", false], ["app-v2", "available", true], ["app-v3", "available", true]], keep: 1, pointed: "app-v3", deleted: ["app-v2"] },
        { name: "never other instances", instances: [["app", "available", true], ["app-db-v1", "available", true], ["app-v2", "available", true]], keep: 1, deleted: [] },
        { name: "never one not available", instances: [["app-v1", "deleting", true], ["app-v2", "creating", true], ["app-v3", "available", true]], keep: 1, deleted: [] },
        { name: "nothing before the first secret value", instances: [["app-v1", "available", true]], keep: 2, deleted: [] },
    ];
    for (const t of copies) {
        it(`copy retention: ${t.name}`, () => {
            const list = t.instances.map(([identifier, status, pilotlight]) => ({ identifier, status, pilotlight }));
            assert.deepStrictEqual(selectCopiesToPrune("app", list, t.keep, t.pointed), t.deleted);
        });
    }

    it("target snapshots go only when older than every retained copy and their instance is gone", () => {
        const snaps = [
            { identifier: "app-v1", status: "available", pilotlight: true },
            { identifier: "app-v1-final", status: "available", pilotlight: true },
            { identifier: "app-v2", status: "available", pilotlight: true },
            { identifier: "app-v2-final", status: "creating", pilotlight: true },
            { identifier: "app-v3", status: "available", pilotlight: true },
            { identifier: "app-v0-manual", status: "available", pilotlight: false },
            { identifier: "app-v1x", status: "available", pilotlight: true },
        ];
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, ["app-v3", "app-v4"], ["app-v3", "app-v4"]), ["app-v1", "app-v1-final", "app-v2"]);
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, ["app-v3"], ["app-v1", "app-v3"]), ["app-v2"], "v1 is still being deleted");
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, [], []), [], "without a retained copy nothing goes");
    });

    it("names a run's snapshots and executions deterministically", () => {
        assert.strictEqual(runSnapshotName(BACKUP_JOB, "app", "2026-03-04T05:06:07.890Z"), "app-bk-20260304050607");
        assert.strictEqual(runSnapshotName("copy-source", "app", "2026-03-04T05:06:07.890Z"), "app-cp-20260304050607");
        assert.strictEqual(copyExecutionName("arn:aws:rds:us-west-2:111111111111:snapshot:app-cp-20260304050607"), "copy-app-cp-20260304050607");
        assert.ok(copyExecutionName(`arn:aws:rds:us-west-2:111111111111:snapshot:${"a".repeat(200)}`).length <= 80);
    });
});

describe("machineTimeout", () => {
    const o = { pollIntervalSeconds: 60, maxAttempts: 10 };
    it("defaults to the longest path through the waits plus an hour", () => {
        assert.strictEqual(machineTimeout(o, 3, undefined), 3 * 600 + 3600);
        assert.strictEqual(machineTimeout(o, 2, 5000), 5000);
    });
    it("refuses a timeout that would end the machine before a wait is exhausted", () => {
        assert.throws(() => machineTimeout(o, 2, 1199), /timeoutSeconds 1199 is shorter than the longest path through the waits \(1200 s\)/);
        assert.strictEqual(machineTimeout(o, 2, 1200), 1200);
    });
    it("every backup machine uses it", () => {
        assert.throws(() => snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind: "backup", timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
        assert.throws(() => imageMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
        assert.throws(() => copyTargetDefinition({ job: "arn:job", alert: "arn:alert" }, { timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
    });
});

describe("backup and copy-source input, names and limits", () => {
    const s = (databases: { identifier: string; isCluster: boolean }[]) =>
        ({ job: BACKUP_JOB, homeRegion: "us-east-1", drRegion: "us-west-2", sharedKeyArn: "k", drKeyArn: "d", databases, keep: 2 }) as SnapshotJobSettings;
    const two = s([{ identifier: "app", isCluster: false }, { identifier: "shop", isCluster: true }]);

    const good: [unknown, string[]][] = [
        [{}, ["app", "shop"]],
        [{ databases: [{ identifier: "shop" }] }, ["shop"]],
        [{ databases: [{ identifier: "app", isCluster: false }, { identifier: "shop", isCluster: true }] }, ["app", "shop"]],
    ];
    for (const [input, ids] of good) {
        it(`accepts ${JSON.stringify(input)}`, () => assert.deepStrictEqual(requestedDatabases(two, input).map((d) => d.identifier), ids));
    }
    const bad: [unknown, RegExp][] = [
        [null, /must be a JSON object, e\.g\. \{\} .*"app".*; got null/],
        [undefined, /must be a JSON object.*got undefined/],
        ["app", /got "app"/],
        [[], /got \[\]/],
        [7, /got 7/],
        [{ databases: [] }, /non-empty list/],
        [{ databases: "app" }, /non-empty list.*got "app"/],
        [{ Databases: [] }, /unknown key\(s\) "Databases"/],
        [{ databases: [null] }, /databases\[0\] must be an object/],
        [{ databases: [{ identifier: "app" }, { identifier: "app" }] }, /app is listed twice/],
        [{ databases: [{ identifier: "app", isCluster: true }] }, /isCluster false, not true/],
        [{ databases: [{ identifier: "ghost" }] }, /"ghost" is not configured for backup-schedule; configured: app, shop/],
        [{ databases: [{ identifier: "app", extra: 1 }] }, /databases\[0\] has unknown key\(s\) "extra"/],
    ];
    for (const [input, expect] of bad) {
        it(`refuses ${JSON.stringify(input) ?? "undefined"}`, () => assert.throws(() => requestedDatabases(two, input), (e: Error) => e.name === "InvalidInputError" && expect.test(e.message)));
    }

    const names: [string, string, string, boolean][] = [
        [BACKUP_JOB, "app", "app-bk-20260101000000", true],
        [BACKUP_JOB, "app", "app-bk-20260101000000-sk", true],
        [BACKUP_JOB, "app", "app-cp-20260101000000", false],
        [COPY_SOURCE_JOB, "app", "app-cp-20260101000000", true],
        [BACKUP_JOB, "app", "app-bk-2026010100000", false],
        [BACKUP_JOB, "app", "app-bk-20260101000000-skx", false],
        [BACKUP_JOB, "app", "app-bk-20260101000000-x", false],
        [BACKUP_JOB, "app", "xapp-bk-20260101000000", false],
        [BACKUP_JOB, "app", "app-db-bk-20260101000000", false],
        [BACKUP_JOB, "app", "app-before-upgrade", false],
    ];
    for (const [job, id, name, expected] of names) {
        it(`${name} is ${expected ? "" : "not "}a ${job} run snapshot of ${id}`, () => assert.strictEqual(isRunSnapshotName(job as SnapshotJob, id, name), expected));
    }

    it("the earlier start wins a race of twins, then the smaller ARN", () => {
        assert.strictEqual(startedBefore({ startedAt: 1, arn: "b" }, { startedAt: 2, arn: "a" }), true);
        assert.strictEqual(startedBefore({ startedAt: 2, arn: "a" }, { startedAt: 1, arn: "b" }), false);
        assert.strictEqual(startedBefore({ startedAt: 1, arn: "a" }, { startedAt: 1, arn: "b" }), true);
        assert.strictEqual(startedBefore({ startedAt: 1, arn: "b" }, { startedAt: 1, arn: "a" }), false);
        assert.strictEqual(startedBefore({ startedAt: 1, arn: "a" }, { startedAt: 1, arn: "a" }), false);
    });

    it("a machine keeps fewer than 20 copy requests in progress, and times out only after every wave's waits", () => {
        const def = snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind: "backup", maxAttempts: 10, pollIntervalSeconds: 60, databases: 25, maxConcurrency: 10 });
        const map = def.States.Databases as any;
        assert.deepStrictEqual([map.MaxConcurrency, map.ItemProcessor.ProcessorConfig, map.ToleratedFailurePercentage], [10, { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, 0]);
        assert.strictEqual(def.TimeoutSeconds, 3 * 3 * 10 * 60 + 3600, "3 waves of 3 wait loops");
        assert.strictEqual(snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind: "backup", maxAttempts: 10, databases: 10 }).TimeoutSeconds, 3 * 600 + 3600);
        for (const bad of [0, 20, 1.5]) assert.throws(() => snapshotMachineDefinition({ job: "j", alert: "a" }, { kind: "backup", maxConcurrency: bad }), /maxConcurrency must be a whole number from 1 to 19/);
        assert.throws(() => snapshotMachineDefinition({ job: "j", alert: "a" }, { kind: "backup", databases: 0 }), /databases must be a whole number >= 1, got 0/);
        assert.strictEqual((snapshotMachineDefinition({ job: "j", alert: "a" }, { kind: "backup", maxConcurrency: 19 }).States.Databases as any).MaxConcurrency, 19);
    });

    it("every job Task retries Lambda service errors and timeouts, and waits longer than the Lambda may run", () => {
        for (const kind of ["backup", "copy-source"] as const) {
            const def = snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind });
            for (const [name, state] of allStates(def as any)) {
                if (state.Type !== "Task" || name === "NotifyFailure" || name === "Report") continue;
                const errors = (state.Retry as any[]).flatMap((r) => r.ErrorEquals);
                for (const e of ["Lambda.ServiceException", "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException", "States.Timeout", "TransientError"]) assert.ok(errors.includes(e), `${kind} ${name} retries ${e}`);
                assert.ok((state as any).TimeoutSeconds >= SNAPSHOT_JOB_LAMBDA_TIMEOUT_SECONDS, `${kind} ${name}`);
            }
        }
    });

    it("a non-object input becomes a field before anything reads it, so a failure can still be recorded and alerted", () => {
        const def = snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind: "backup" });
        assert.strictEqual(def.StartAt, "Start");
        assert.deepStrictEqual(def.States.Start, { Type: "Pass", Parameters: { "input.$": "$" }, Next: "Plan" });
        assert.strictEqual((def.States.Plan as any).Parameters["input.$"], "$.input");
    });

    it("the snapshot quota must hold keep + the run's own + a shared-key copy per database and kind", () => {
        const dbs = (n: number, isCluster: boolean) => Array.from({ length: n }, (_, i) => ({ identifier: `d${i}`, isCluster }));
        assert.strictEqual(snapshotQuotaProblem(dbs(7, false), 12, 100), undefined);
        assert.match(snapshotQuotaProblem(dbs(8, false), 12, 100)!, /8 instance\(s\) keeping 12 snapshots each need up to 112 manual snapshots per region .* quota of 100: lower keep to 10/);
        assert.strictEqual(snapshotQuotaProblem([...dbs(7, false), ...dbs(7, true)], 12, 100), undefined, "instances and clusters have separate quotas");
        assert.match(snapshotQuotaProblem(dbs(1, true), 99, 100)!, /1 cluster\(s\) keeping 99 .* 101 manual cluster snapshots/);
        assert.strictEqual(snapshotQuotaProblem(dbs(1, true), 98, 100), undefined);
    });

    const candidates = (over: Partial<CopyCandidate>[]): CopyCandidate[] =>
        over.map((o, i) => ({ identifier: `c${i}`, arn: `arn:aws:rds:us-west-2:111111111111:snapshot:app-bk-2026010${i}000000`, databaseIdentifier: "app", status: "available", takenAt: `2026-01-0${i + 1}T00:00:00Z`, ...o }));
    const want = { sourceIdentifier: "app", owner: "111111111111", region: "us-west-2" };

    it("latestCopy takes the newest available snapshot of the source owned by the peer in this region", () => {
        const list = candidates([{}, {}, { takenAt: "2026-01-02T12:00:00Z" }]);
        assert.strictEqual(selectLatestCopy(list, want).identifier, "c2");
        assert.strictEqual(selectLatestCopy(candidates([{ arn: "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:app-bk-1" }]), want).identifier, "c0", "cluster snapshots too");
    });

    const ignored: [string, Partial<CopyCandidate>][] = [
        ["another account's", { arn: "arn:aws:rds:us-west-2:999999999999:snapshot:app-bk-20260109000000" }],
        ["another region's", { arn: "arn:aws:rds:us-east-1:111111111111:snapshot:app-bk-20260109000000" }],
        ["another database's", { databaseIdentifier: "other" }],
        ["one still being copied", { status: "copying" }],
        ["one without a time", { takenAt: "" }],
        ["one whose ARN is not a snapshot's", { arn: "arn:aws:rds:us-west-2:111111111111:db:app" }],
    ];
    for (const [what, bad] of ignored) {
        it(`latestCopy never takes ${what} snapshot, however new`, () => {
            const list = candidates([{}, { ...bad, takenAt: bad.takenAt ?? "2026-02-01T00:00:00Z" }]);
            assert.strictEqual(selectLatestCopy(list, want).identifier, "c0");
            assert.throws(() => selectLatestCopy(list.slice(1), want), /no available snapshot of app owned by account 111111111111 in us-west-2 \(1 candidate\(s\) seen\); set pilotlight:failoverDatabase.source to "snapshot"/);
        });
    }
});

describe("snapshot job steps against the fake", () => {
    const HOME = "us-east-1";
    const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
    let fake: FakeRds;
    const settings = (): SnapshotJobSettings => ({ job: BACKUP_JOB, homeRegion: HOME, drRegion: "us-west-2", sharedKeyArn: SHARED, drKeyArn: "arn:aws:kms:us-west-2:123456789012:key/mrk-shared", databases: [{ identifier: "app", isCluster: false }], keep: 1 });
    const clients = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };
    const ours = [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }, { Key: "pilotlight:source", Value: "app" }];
    const item = { identifier: "app", isCluster: false, engine: "postgres", snapshotId: "app-bk-20260101000000-sk", original: "app-bk-20260101000000", attempt: 0 };

    beforeEach(() => {
        fake = new FakeRds();
        fake.addInstance({ identifier: "app", data: "d" });
        fake.addSnapshot("app-bk-20260101000000", "app", { tags: ours });
    });
    afterEach(() => fake.restore());

    for (const status of ["creating", "copying", "failed"]) {
        it(`never drops the default-key snapshot while its shared-key copy is ${status}`, async () => {
            fake.addSnapshot("app-bk-20260101000000-sk", "app", { tags: ours, kmsKeyId: SHARED, status });
            await assert.rejects(dropOriginal(clients, settings(), item), /shared-key copy app-bk-20260101000000-sk is .*; keeping app-bk-20260101000000/);
            assert.deepStrictEqual(fake.callsOf("DeleteDBSnapshot"), []);
        });
    }

    it("drops the default-key snapshot once its shared-key copy is available, and a retry after that is done", async () => {
        fake.addSnapshot("app-bk-20260101000000-sk", "app", { tags: ours, kmsKeyId: SHARED });
        const out = await dropOriginal(clients, settings(), item);
        assert.strictEqual(out.original, undefined);
        assert.deepStrictEqual(fake.callsOf("DeleteDBSnapshot").map((c) => c.input.DBSnapshotIdentifier), ["app-bk-20260101000000"]);
        await dropOriginal(clients, settings(), item);
        assert.strictEqual(fake.callsOf("DeleteDBSnapshot").length, 1, "deleting: not deleted twice");
    });

    it("never drops an original that is not the job's", async () => {
        fake.snapshots.get("app-bk-20260101000000")!.tags = [];
        fake.addSnapshot("app-bk-20260101000000-sk", "app", { tags: ours, kmsKeyId: SHARED });
        await dropOriginal(clients, settings(), item);
        assert.deepStrictEqual(fake.callsOf("DeleteDBSnapshot"), []);
    });

    it("the DR copy carries only the job's tag until it is shared (latestCopy must not see it while it is copied)", async () => {
        fake.snapshots.get("app-bk-20260101000000")!.info.KmsKeyId = SHARED;
        const copied = await copyToDr(clients, settings(), { ...item, snapshotId: "app-bk-20260101000000", original: undefined });
        const copy = fake.inRegion("us-west-2").snapshots.get("app-bk-20260101000000")!;
        assert.deepStrictEqual(copy.tags, [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }]);
        assert.strictEqual(copied.drSnapshotArn, "arn:aws:rds:us-west-2:123456789012:snapshot:app-bk-20260101000000");
        await assert.rejects(share(clients, settings(), copied), /DR copy app-bk-20260101000000 is creating in us-west-2; only an available copy is shared/);
        copy.status = "available";
        await share(clients, settings(), copied);
        assert.deepStrictEqual(copy.tags, ours);
        assert.deepStrictEqual(fake.callsOf("ModifyDBSnapshotAttribute"), [], "same account: nothing shared");
    });
});

describe("olderExecutionCovering", () => {
    const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:pilotlight-backup";
    const RUN = "arn:aws:states:us-east-1:123456789012:execution:pilotlight-backup";
    const s = { job: BACKUP_JOB, homeRegion: "us-east-1", drRegion: "us-west-2", sharedKeyArn: "k", drKeyArn: "d", databases: [{ identifier: "app", isCluster: false }, { identifier: "shop", isCluster: true }], keep: 2 } as SnapshotJobSettings;
    const me = { input: {}, startedAt: "2026-01-01T02:00:00Z", executionArn: `${RUN}:me`, stateMachineArn: MACHINE };
    function clients(running: { executionArn: string; startDate: string; input: unknown }[]) {
        const described: string[] = [];
        const sfn = {
            send: async (cmd: any) => {
                if (cmd.constructor.name === "ListExecutionsCommand") return { executions: running.map((r) => ({ executionArn: r.executionArn, name: r.executionArn.split(":").pop(), startDate: new Date(r.startDate) })) };
                described.push(cmd.input.executionArn);
                return { input: JSON.stringify(running.find((r) => r.executionArn === cmd.input.executionArn)!.input) };
            },
        };
        return { c: { rds: () => undefined as never, sfn: sfn as never }, described };
    }

    it("names an older run covering a database; ignores younger runs, other databases, invalid inputs and child executions", async () => {
        const { c, described } = clients([
            { executionArn: `${RUN}:younger`, startDate: "2026-01-01T03:00:00Z", input: {} },
            { executionArn: `${RUN}/Databases:child`, startDate: "2026-01-01T01:00:00Z", input: { identifier: "app" } },
            { executionArn: `${RUN}:other-db`, startDate: "2026-01-01T01:00:00Z", input: { databases: [{ identifier: "shop" }] } },
            { executionArn: `${RUN}:invalid`, startDate: "2026-01-01T01:00:00Z", input: "app" },
        ]);
        assert.strictEqual(await olderExecutionCovering(c, s, [{ identifier: "app", isCluster: false }], me), undefined);
        assert.deepStrictEqual(described, [`${RUN}:other-db`, `${RUN}:invalid`], "only older runs of the machine itself are read");
        const older = clients([{ executionArn: `${RUN}:older`, startDate: "2026-01-01T01:00:00Z", input: {} }]);
        assert.match((await olderExecutionCovering(older.c, s, [{ identifier: "app", isCluster: false }], me))!, /execution 'older' .* is already running backup-schedule on app; this run changes nothing/);
        const twin = clients([{ executionArn: `${RUN}:a-twin`, startDate: "2026-01-01T02:00:00Z", input: { databases: [{ identifier: "app" }] } }]);
        assert.match((await olderExecutionCovering(twin.c, s, [{ identifier: "app", isCluster: false }], me))!, /'a-twin'/, "a twin with a smaller ARN is older");
    });
});

describe("snapshot job steps: quotas, races and items", () => {
    const HOME = "us-east-1";
    const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
    let fake: FakeRds;
    const s = (): SnapshotJobSettings => ({ job: BACKUP_JOB, homeRegion: HOME, drRegion: "us-west-2", sharedKeyArn: SHARED, drKeyArn: "arn:aws:kms:us-west-2:123456789012:key/mrk-shared", databases: [{ identifier: "app", isCluster: false }, { identifier: "shop", isCluster: true }], keep: 1 });
    const c = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };
    const ours = (db: string) => [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }, { Key: "pilotlight:source", Value: db }];

    beforeEach(() => {
        fake = new FakeRds();
        fake.addInstance({ identifier: "app", data: "d", info: { KmsKeyId: SHARED } });
        fake.addCluster({ identifier: "shop", data: "c", info: { KmsKeyId: SHARED }, members: [{ identifier: "shop-1" }] });
    });
    afterEach(() => fake.restore());

    it("checks the quota of the kind it creates: cluster snapshots against ManualClusterSnapshots", async () => {
        fake.manualClusterSnapshotQuota = 0;
        await assertRoomForSnapshot(c, s(), false, HOME);
        await assert.rejects(assertRoomForSnapshot(c, s(), true, HOME), /us-east-1 holds 0 of its 0 manual cluster snapshots \(RDS quota ManualClusterSnapshots\)/);
        fake.manualClusterSnapshotQuota = 1;
        await assertRoomForSnapshot(c, s(), true, HOME);
        fake.manualSnapshotQuota = 0;
        await assert.rejects(assertRoomForSnapshot(c, s(), false, HOME), /holds 0 of its 0 manual snapshots \(RDS quota ManualSnapshots\)/);
    });

    it("two prunes racing (twins) delete each snapshot once and both succeed", async () => {
        for (const day of ["01", "02", "03"]) fake.addSnapshot(`app-bk-202512${day}000000`, "app", { created: `2025-12-${day}T00:00:00Z`, tags: ours("app"), kmsKeyId: SHARED });
        const item = { identifier: "app", isCluster: false, engine: "postgres", snapshotId: "app-bk-20251203000000", attempt: 0 };
        const [a, b] = await Promise.all([prune(c, s(), item, [HOME]), prune(c, s(), item, [HOME])]);
        assert.deepStrictEqual([a.pruned, b.pruned], [{ [HOME]: ["app-bk-20251202000000", "app-bk-20251201000000"] }, { [HOME]: ["app-bk-20251202000000", "app-bk-20251201000000"] }]);
        assert.deepStrictEqual([...fake.snapshots.values()].filter((x) => x.status !== "deleting").map((x) => x.info.DBSnapshotIdentifier), ["app-bk-20251203000000"]);
        assert.ok(fake.callsOf("DeleteDBSnapshot").length >= 2);
    });

    it("a snapshot gone between listing and deleting is done; another refusal is not swallowed", async () => {
        fake.addSnapshot("app-bk-20251201000000", "app", { created: "2025-12-01T00:00:00Z", tags: ours("app"), kmsKeyId: SHARED });
        fake.addSnapshot("app-bk-20251202000000", "app", { created: "2025-12-02T00:00:00Z", tags: ours("app"), kmsKeyId: SHARED });
        const item = { identifier: "app", isCluster: false, engine: "postgres", snapshotId: "app-bk-20251203000000", attempt: 0 };
        fake.failNext("DeleteDBSnapshot", () => Object.assign(new Error("gone"), { name: "DBSnapshotNotFoundFault" }));
        assert.deepStrictEqual((await prune(c, s(), item, [HOME])).pruned, { [HOME]: ["app-bk-20251201000000"] });
        fake.failNext("DeleteDBSnapshot", () => Object.assign(new Error("busy"), { name: "InvalidDBSnapshotStateFault" }));
        await assert.rejects(prune(c, s(), item, [HOME]), /busy/, "the snapshot is available, not deleting: a real refusal");
        fake.failNext("DeleteDBSnapshot", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
        await assert.rejects(prune(c, s(), item, [HOME]), /denied/);
    });

    it("retention of a cluster deletes its own cluster snapshots in both regions, never the run's shared-key copy or original", async () => {
        const dr = fake.inRegion("us-west-2");
        for (const f of [fake, dr]) {
            f.addClusterSnapshot("shop-bk-20251201000000", "shop", { created: "2025-12-01T00:00:00Z", tags: ours("shop") });
            f.addClusterSnapshot("shop-bk-20251202000000", "shop", { created: "2025-12-02T00:00:00Z", tags: ours("shop") });
        }
        fake.addClusterSnapshot("shop-bk-20251203000000", "shop", { created: "2025-12-03T00:00:00Z", tags: ours("shop") });
        const item = { identifier: "shop", isCluster: true, engine: "aurora-postgresql", snapshotId: "shop-bk-20251201000000-sk", original: "shop-bk-20251201000000", attempt: 0 };
        const out = await prune(c, s(), item);
        assert.deepStrictEqual(out.pruned, { [HOME]: ["shop-bk-20251202000000"], "us-west-2": [] }, "the run's original is never pruned; in the DR region keep 1 of 2 but the run's own");
        assert.strictEqual(fake.clusterSnapshots.get("shop-bk-20251202000000")!.status, "deleting");
    });

    it("refuses an item no plan of this job could have made", async () => {
        const event = (item: unknown) => runStep(c, s(), { step: "status", item });
        const good = { identifier: "app", isCluster: false, engine: "postgres", snapshotId: "app-bk-20260101000000", attempt: 0, current: { region: HOME, id: "app-bk-20260101000000" } };
        fake.addSnapshot("app-bk-20260101000000", "app", { tags: ours("app") });
        assert.strictEqual(((await event(good)) as any).status, "available");
        for (const bad of [{ ...good, identifier: "ghost" }, { ...good, isCluster: true }, { ...good, snapshotId: "app-manual" }, { ...good, snapshotId: 7 }, { ...good, attempt: "0" }, "app"]) {
            await assert.rejects(event(bad), /not an item of a backup-schedule plan/);
        }
        await assert.rejects(runStep(c, s(), { step: "publish", item: good }), /step publish belongs to the copy source, not to backup-schedule/);
        await assert.rejects(runStep(c, s(), { step: "status" }), /step status needs an item/);
        await assert.rejects(runStep(c, s(), { step: "explode", item: good }), /unknown step "explode"/);
        assert.deepStrictEqual(await runStep(c, s(), { step: "report", items: [], skipped: "why" }), { job: BACKUP_JOB, snapshots: [], skipped: "why" });
        assert.deepStrictEqual(await runStep(c, s(), { step: "report", items: [], skipped: "" }), { job: BACKUP_JOB, snapshots: [] });
    });

    it("a snapshot being taken, not only an available one, is taken from backing-up; others are refused", async () => {
        const plan = (status: string) => {
            fake.instances.get("app")!.status = status;
            return runStep(c, s(), { step: "plan", input: { databases: [{ identifier: "app" }] }, startedAt: "2026-01-01T00:00:00Z", executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m" });
        };
        const sfn = new FakeSfn();
        try {
            assert.deepStrictEqual(((await plan("backing-up")) as any).items.map((i: any) => i.snapshotId), ["app-bk-20260101000000"]);
            assert.strictEqual(((await plan("available")) as any).skipped, "");
            await assert.rejects(plan("modifying"), /app is modifying; snapshots start from available/);
        } finally {
            sfn.restore();
        }
    });
});
