// Steps of the backup and copy-source jobs (functions/lib/snapshotJobs.ts) at the edges a
// regression would slip through: input validation before anything changes, retention deleting
// only what the job made, and twins, retries and lost responses ending as one result.
import * as assert from "assert";
import { RDSClient, Tag } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { BACKUP_JOB, COPY_SOURCE_JOB } from "../functions/lib/backup";
import {
    assertNoRunInProgress,
    assertRoomForSnapshot,
    copyMessage,
    copyToDr,
    dropOriginal,
    ensureSharedKey,
    isAlreadyExists,
    JobClients,
    olderExecutionCovering,
    prune,
    publish,
    report,
    requestedDatabases,
    runStep,
    share,
    snapshot,
    SnapshotItem,
    SnapshotJobSettings,
    status,
} from "../functions/lib/snapshotJobs";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";

const HOME = "us-east-1";
const DR = "us-west-2";
const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";
const DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:pilotlight-backup";
const RUN = "arn:aws:states:us-east-1:123456789012:execution:pilotlight-backup";
const STARTED = "2026-01-01T00:00:00Z";
const SNAP = "app-bk-20260101000000";

const settings = (over: Partial<SnapshotJobSettings> = {}): SnapshotJobSettings => ({
    job: BACKUP_JOB,
    homeRegion: HOME,
    drRegion: DR,
    sharedKeyArn: SHARED,
    drKeyArn: DR_KEY,
    databases: [
        { identifier: "app", isCluster: false },
        { identifier: "shop", isCluster: true },
    ],
    keep: 1,
    ...over,
});
const ours = (db: string): Tag[] => [
    { Key: CREATED_BY_TAG, Value: BACKUP_JOB },
    { Key: SOURCE_TAG, Value: db },
];
const item = (over: Partial<SnapshotItem> = {}): SnapshotItem => ({ identifier: "app", isCluster: false, engine: "postgres", snapshotId: SNAP, attempt: 0, ...over });
const named = (name: string, re: RegExp) => (e: Error) => e.name === name && re.test(e.message);
const fault = (name: string) => () => Object.assign(new Error(name), { name });

describe("snapshot jobs: input is validated before anything changes", () => {
    let fake: FakeRds;
    let sfn: FakeSfn;
    const c: JobClients = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };
    const plan = (s: SnapshotJobSettings, input: unknown = {}) => runStep(c, s, { step: "plan", input, startedAt: STARTED, executionArn: `${RUN}:me`, stateMachineArn: MACHINE });

    beforeEach(() => {
        fake = new FakeRds();
        sfn = new FakeSfn();
        fake.addInstance({ identifier: "app", data: "d" });
        fake.addCluster({ identifier: "shop", data: "c", members: [{ identifier: "shop-1" }] });
    });
    afterEach(() => {
        fake.restore();
        sfn.restore();
    });

    it("with no database configured: bad input names an example, and an empty request is refused", async () => {
        assert.throws(() => requestedDatabases(settings({ databases: [] }), null), named("InvalidInputError", /e\.g\. \{\} .*"app-db".*; got null/));
        await assert.rejects(plan(settings({ databases: [] })), named("InvalidInputError", /no databases configured for backup-schedule/));
        assert.deepStrictEqual(fake.mutatingCalls(), []);
    });

    it("plans a cluster with its engine, and an instance with its own", async () => {
        const out = (await plan(settings())) as { items: SnapshotItem[] };
        assert.deepStrictEqual(
            out.items.map((i) => [i.identifier, i.engine, i.snapshotId]),
            [
                ["app", "postgres", SNAP],
                ["shop", "aurora-postgresql", "shop-bk-20260101000000"],
            ],
        );
    });

    it("refuses a cluster member configured as an instance, and a database that does not exist, creating nothing", async () => {
        await assert.rejects(plan(settings({ databases: [{ identifier: "shop-1", isCluster: false }] })), named("InvalidInputError", /shop-1 is a member of cluster shop; configure the cluster with isCluster: true/));
        await assert.rejects(plan(settings({ databases: [{ identifier: "ghost", isCluster: false }] })), named("DatabaseNotFoundError", /instance ghost does not exist in us-east-1/));
        await assert.rejects(plan(settings({ databases: [{ identifier: "gone", isCluster: true }] })), named("DatabaseNotFoundError", /cluster gone does not exist in us-east-1/));
        assert.deepStrictEqual(fake.mutatingCalls(), []);
    });

    it("refuses a step that is not a step name, even one that reads as one", async () => {
        await assert.rejects(runStep(c, settings(), { step: ["status"], item: item({ current: { region: HOME, id: SNAP } }) }), named("InvalidInputError", /unknown step \["status"\]/));
        assert.deepStrictEqual(await runStep(c, settings(), { step: "report" }), { job: BACKUP_JOB, snapshots: [] });
    });

    it("a step without what it waits for, or an announcement without a topic or a copy, is refused", async () => {
        await assert.rejects(status(c, settings(), item()), named("InvalidInputError", /nothing to wait for/));
        const ready = item({ drSnapshotArn: `arn:aws:rds:${DR}:123456789012:snapshot:${SNAP}`, createdAt: STARTED });
        assert.deepStrictEqual(copyMessage(ready), { snapshotArn: ready.drSnapshotArn, sourceIdentifier: "app", engine: "postgres", createdAt: STARTED });
        assert.throws(() => copyMessage({ ...ready, createdAt: undefined }), named("InvalidInputError", /has not been copied to the DR region yet/));
        assert.throws(() => copyMessage({ ...ready, drSnapshotArn: undefined }), named("InvalidInputError", /has not been copied to the DR region yet/));
        const sent: unknown[] = [];
        const sns = { send: async (cmd: unknown) => void sent.push(cmd) } as never;
        const s = settings({ job: COPY_SOURCE_JOB, topicArn: "arn:aws:sns:us-east-1:123456789012:copies" });
        await assert.rejects(publish(c, s, ready), named("InvalidInputError", /publish needs a topic/));
        await assert.rejects(publish({ ...c, sns }, { ...s, topicArn: undefined }, ready), named("InvalidInputError", /publish needs a topic/));
        assert.deepStrictEqual(sent, []);
    });
});

describe("snapshot jobs: a run never overlaps another", () => {
    let fake: FakeRds;
    const c: JobClients = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };
    const app = [{ identifier: "app", isCluster: false }];

    beforeEach(() => {
        fake = new FakeRds();
        fake.addInstance({ identifier: "app", data: "d" });
    });
    afterEach(() => fake.restore());

    it("the run's own snapshot and its shared-key copy being made do not count as another run", async () => {
        fake.addSnapshot(SNAP, "app", { tags: ours("app"), status: "creating" });
        fake.addSnapshot(`${SNAP}-sk`, "app", { tags: ours("app"), status: "creating" });
        fake.stick("snapshot", SNAP);
        fake.stick("snapshot", `${SNAP}-sk`);
        await assertNoRunInProgress(c, settings(), app, STARTED);
    });

    it("another run's snapshot still being copied in the DR region is named in the refusal", async () => {
        fake.inRegion(DR).addSnapshot("app-bk-20251231000000", "app", { tags: ours("app"), status: "copying" });
        fake.inRegion(DR).stick("snapshot", "app-bk-20251231000000");
        await assert.rejects(
            assertNoRunInProgress(c, settings(), app, STARTED),
            named("ConcurrentRunError", /another backup-schedule run is in progress on app: its snapshot app-bk-20251231000000 \(copying\) in us-west-2 is not finished; this run changes nothing/),
        );
    });

    function lister(running: { executionArn?: string; startDate: string; input: unknown }[]): JobClients {
        const sfn = {
            send: async (cmd: { constructor: { name: string }; input: { executionArn?: string } }) => {
                if (cmd.constructor.name === "ListExecutionsCommand") return { executions: running.map((r) => ({ executionArn: r.executionArn, name: r.executionArn?.split(":").pop(), startDate: new Date(r.startDate) })) };
                return { input: JSON.stringify(running.find((r) => r.executionArn === cmd.input.executionArn)!.input) };
            },
        };
        return { rds: () => undefined as never, sfn: sfn as never };
    }
    const me = { input: {}, startedAt: "2026-01-01T02:00:00Z", executionArn: `${RUN}:m-run`, stateMachineArn: MACHINE };

    it("an execution never defers to itself, to a listing without an ARN, or to a twin with a larger ARN", async () => {
        const c2 = lister([
            { executionArn: me.executionArn, startDate: "2026-01-01T01:59:59Z", input: {} },
            { startDate: "2026-01-01T01:00:00Z", input: {} },
            { executionArn: `${RUN}:z-twin`, startDate: me.startedAt, input: {} },
        ]);
        assert.strictEqual(await olderExecutionCovering(c2, settings(), app, me), undefined);
        const older = lister([{ executionArn: `${RUN}:a-twin`, startDate: me.startedAt, input: {} }]);
        assert.match((await olderExecutionCovering(older, settings(), app, me))!, /'a-twin'/);
    });
});

describe("snapshot jobs: steps against the fake", () => {
    let fake: FakeRds;
    let dr: FakeRds;
    const c: JobClients = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };

    beforeEach(() => {
        fake = new FakeRds();
        dr = fake.inRegion(DR);
        fake.addInstance({ identifier: "app", data: "d" });
        fake.addCluster({ identifier: "shop", data: "c", members: [{ identifier: "shop-1" }] });
    });
    afterEach(() => fake.restore());

    const ALREADY: [string, boolean][] = [
        ["DBSnapshotAlreadyExistsFault", true],
        ["DBClusterSnapshotAlreadyExistsFault", true],
        ["DBSnapshotAlreadyExists", true],
        ["AlreadyExistsButElsewhere", false],
        ["DBSnapshotAlreadyExistsFaults", false],
        ["ThrottlingException", false],
    ];
    for (const [name, expected] of ALREADY) {
        it(`${name} ${expected ? "is" : "is not"} the name-taken error`, () => assert.strictEqual(isAlreadyExists(Object.assign(new Error("x"), { name })), expected));
    }
    it("nothing thrown, or an error without a name, is not the name-taken error", () => {
        assert.strictEqual(isAlreadyExists(null), false);
        assert.strictEqual(isAlreadyExists({}), false);
    });

    it("a snapshot under the run's name made by someone else is refused and named, whoever made it", async () => {
        fake.addSnapshot(SNAP, "other", { tags: ours("other") });
        await assert.rejects(snapshot(c, settings(), item()), named("UnexpectedStateError", /snapshot app-bk-20260101000000 in us-east-1 exists but was not made by backup-schedule from app \(it is of other, tags/));
        fake.snapshots.get(SNAP)!.info.DBInstanceIdentifier = undefined;
        await assert.rejects(snapshot(c, settings(), item()), named("UnexpectedStateError", /\(it is of unknown, tags/));
        assert.deepStrictEqual(fake.mutatingCalls(), []);
    });

    it("a quota RDS does not report, or reports without a count, does not stop a snapshot", async () => {
        for (const out of [{}, { AccountQuotas: [] }, { AccountQuotas: [{ AccountQuotaName: "ManualSnapshots", Max: 100 }] }, { AccountQuotas: [{ AccountQuotaName: "ManualSnapshots", Used: 100 }] }]) {
            const stub: JobClients = { rds: () => ({ send: async () => out }) as never, sfn: c.sfn };
            await assertRoomForSnapshot(stub, settings(), false, HOME);
        }
    });

    it("a name taken (AlreadyExists) by a snapshot that is gone again is not success: the error stands", async () => {
        fake.failNext("CreateDBSnapshot", fault("DBSnapshotAlreadyExistsFault"));
        await assert.rejects(snapshot(c, settings(), item()), (e: Error) => e.name === "DBSnapshotAlreadyExistsFault");
    });

    it("polling: a snapshot gone or failed ends the wait; the time comes from the snapshot", async () => {
        const waiting = item({ current: { region: HOME, id: SNAP } });
        await assert.rejects(status(c, settings(), waiting), named("SnapshotNotFoundError", /snapshot app-bk-20260101000000 disappeared from us-east-1/));
        fake.addSnapshot(SNAP, "app", { tags: ours("app"), created: "2026-01-01T00:05:00Z" });
        const polled = await status(c, settings(), waiting);
        assert.deepStrictEqual([polled.status, polled.attempt, polled.createdAt], ["available", 1, "2026-01-01T00:05:00.000Z"]);
        fake.snapshots.get(SNAP)!.status = "failed";
        await assert.rejects(status(c, settings(), waiting), named("ResourceFailedError", /snapshot app-bk-20260101000000 in us-east-1 is failed/));
    });

    it("re-encryption: a missing snapshot is refused; one under the shared key is not copied; a cluster's is copied under the shared key with the job's tags", async () => {
        await assert.rejects(ensureSharedKey(c, settings(), item()), named("SnapshotNotFoundError", /snapshot app-bk-20260101000000 does not exist in us-east-1/));
        fake.addSnapshot(SNAP, "app", { tags: ours("app"), kmsKeyId: SHARED });
        const same = await ensureSharedKey(c, settings(), item());
        assert.strictEqual(same.reencrypting, false);
        assert.strictEqual(same.snapshotId, SNAP);
        assert.deepStrictEqual(fake.mutatingCalls(), []);

        fake.addClusterSnapshot("shop-bk-20260101000000", "shop", { tags: ours("shop") });
        const cl = await ensureSharedKey(c, settings(), item({ identifier: "shop", isCluster: true, engine: "aurora-postgresql", snapshotId: "shop-bk-20260101000000" }));
        assert.deepStrictEqual([cl.reencrypting, cl.original, cl.snapshotId], [true, "shop-bk-20260101000000", "shop-bk-20260101000000-sk"]);
        const copy = fake.clusterSnapshots.get("shop-bk-20260101000000-sk")!;
        assert.strictEqual(copy.info.KmsKeyId, SHARED);
        assert.deepStrictEqual(copy.tags, ours("shop"));
    });

    it("dropping the original: nothing to drop calls nothing; a missing copy keeps it; another database's snapshot under that name stays", async () => {
        const plain = item();
        assert.strictEqual(await dropOriginal(c, settings(), plain), plain);
        assert.deepStrictEqual(fake.calls, []);
        const reenc = item({ snapshotId: `${SNAP}-sk`, original: SNAP });
        await assert.rejects(dropOriginal(c, settings(), reenc), named("ResourceFailedError", /shared-key copy app-bk-20260101000000-sk is missing; keeping app-bk-20260101000000/));
        fake.addSnapshot(`${SNAP}-sk`, "app", { tags: ours("app"), kmsKeyId: SHARED });
        fake.addSnapshot(SNAP, "other", { tags: ours("app") });
        assert.strictEqual((await dropOriginal(c, settings(), reenc)).original, undefined);
        assert.deepStrictEqual(fake.callsOf("DeleteDBSnapshot"), []);
    });

    it("the DR copy starts only from an available snapshot", async () => {
        await assert.rejects(copyToDr(c, settings(), item()), named("SnapshotNotFoundError", /snapshot app-bk-20260101000000 is missing in us-east-1/));
        fake.addSnapshot(SNAP, "app", { tags: ours("app"), kmsKeyId: SHARED, status: "creating" });
        fake.stick("snapshot", SNAP);
        await assert.rejects(copyToDr(c, settings(), item()), named("SnapshotNotFoundError", /snapshot app-bk-20260101000000 is creating in us-east-1/));
        assert.deepStrictEqual(fake.mutatingCalls(), []);
    });

    it("sharing: a missing DR copy is refused; the source tag is added unless the copy carries exactly it", async () => {
        await assert.rejects(share(c, settings(), item()), named("SnapshotNotFoundError", /DR copy app-bk-20260101000000 is missing in us-west-2/));
        const copy = dr.addSnapshot(SNAP, "app", { tags: ours("app"), kmsKeyId: DR_KEY });
        await share(c, settings(), item());
        assert.deepStrictEqual(fake.callsOf("AddTagsToResource"), [], "already tagged: nothing to add");
        for (const tags of [[{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }, { Key: SOURCE_TAG, Value: "other" }], [{ Key: CREATED_BY_TAG, Value: BACKUP_JOB }, { Key: "Name", Value: "app" }]]) {
            copy.tags = tags;
            await share(c, settings(), item());
            assert.ok(copy.tags.some((t) => t.Key === SOURCE_TAG && t.Value === "app"), JSON.stringify(tags));
        }
        assert.strictEqual(fake.callsOf("AddTagsToResource").length, 2);
    });

    it("retention: a snapshot gone (NotFound) or being deleted by a twin (InvalidSnapshotState) is done", async () => {
        for (const day of ["01", "02"]) fake.addSnapshot(`app-bk-202512${day}000000`, "app", { created: `2025-12-${day}T00:00:00Z`, tags: ours("app") });
        fake.failNext("DeleteDBSnapshot", fault("DBSnapshotNotFound"));
        assert.deepStrictEqual((await prune(c, settings(), item({ snapshotId: "app-bk-20251203000000" }), [HOME])).pruned, { [HOME]: ["app-bk-20251201000000"] });
        fake.failNext("DeleteDBSnapshot", () => {
            fake.snapshots.get("app-bk-20251201000000")!.status = "deleting";
            return fault("InvalidDBSnapshotState")();
        });
        assert.deepStrictEqual((await prune(c, settings(), item({ snapshotId: "app-bk-20251203000000" }), [HOME])).pruned, { [HOME]: ["app-bk-20251201000000"] });
    });

    for (const [job, infix, other] of [[BACKUP_JOB, "bk", COPY_SOURCE_JOB], [COPY_SOURCE_JOB, "cp", BACKUP_JOB]] as const) {
        it(`retention of ${job} deletes only what it made, name and tag both, in both regions`, async () => {
            const tag = (createdBy: string): Tag[] => [{ Key: CREATED_BY_TAG, Value: createdBy }, { Key: SOURCE_TAG, Value: "app" }];
            for (const f of [fake, dr]) {
                f.addSnapshot(`app-${infix}-20251201000000`, "app", { created: "2025-12-01T00:00:00Z", tags: tag(job) });
                f.addSnapshot(`app-${infix}-20251202000000-sk`, "app", { created: "2025-12-02T00:00:00Z", tags: tag(job) });
                f.addSnapshot("app-before-upgrade", "app", { created: "2025-11-01T00:00:00Z", tags: tag(job) }); // an operator's copy made with copy-tags
                f.addSnapshot(`app-${infix}-20251101000000`, "app", { created: "2025-11-01T00:00:00Z" }); // untagged, under the job's name
                f.addSnapshot(`app-${infix === "bk" ? "cp" : "bk"}-20251101000000`, "app", { created: "2025-11-01T00:00:00Z", tags: tag(job) }); // the other job's name
                f.addSnapshot(`app-${infix}-20251102000000`, "app", { created: "2025-11-02T00:00:00Z", tags: tag(other) }); // the other job's tag
            }
            const out = await prune(c, settings({ job }), item({ snapshotId: `app-${infix}-20251203000000` }));
            assert.deepStrictEqual(out.pruned, { [HOME]: [`app-${infix}-20251201000000`], [DR]: [`app-${infix}-20251201000000`] });
            assert.deepStrictEqual(
                fake.callsOf("DeleteDBSnapshot").map((x) => x.input.DBSnapshotIdentifier),
                [`app-${infix}-20251201000000`, `app-${infix}-20251201000000`],
            );
        });
    }

    it("a failed run names each failed database and why, without trailing noise", () => {
        const failed = { ...item(), error: { Error: "States.TaskFailed" } };
        assert.throws(() => report(settings(), [failed, item({ identifier: "shop" })]), named("BackupFailedError", /^backup-schedule failed for 1 of 2 database\(s\): app: States.TaskFailed$/));
    });
});
