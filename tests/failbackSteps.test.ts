/**
 * The failback steps one at a time, over the fakes: the branches a machine run does not
 * reach (reruns, leftovers, malformed events, what each side reads from its environment).
 */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import {
    assessFailback,
    assessSource,
    checkSnapshotArn,
    cleanup,
    copyStatus,
    engineFamily,
    FAILBACK_JOB,
    FailbackJob,
    FailbackSettings,
    failbackSettingsFromEnv,
    FailbackSourceSettings,
    parseRdsSnapshotArn,
    restoreStatus,
    runFailbackStep,
    runSourceStep,
    sourceSettingsFromEnv,
    sourceStatus,
    startRestore,
} from "../functions/lib/failback";
import { jobTags } from "../functions/lib/backup";
import { ACCOUNT, FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";

const HOME = "us-east-1";
const DR = "us-west-2";
const DR_ACCOUNT = "222222222222";
const DB = "pilotlight-db";
const NAME = `${DB}-fb-20260301120000`;
const COPY = `${NAME}-sk`;
const SHARED_KEY = `arn:aws:kms:${HOME}:${ACCOUNT}:key/mrk-shared`;
const RESTORE_MACHINE = `arn:aws:states:${HOME}:${ACCOUNT}:stateMachine:pilotlight-restore`;
const RESTORE_EXECUTION = `arn:aws:states:${HOME}:${ACCOUNT}:execution:pilotlight-restore:failback-20260301120000`;
const OURS = jobTags(FAILBACK_JOB, DB);

const settings: FailbackSettings = {
    accountId: ACCOUNT,
    homeRegion: HOME,
    drRegion: DR,
    drAccountId: DR_ACCOUNT,
    identifier: DB,
    drIdentifier: DB,
    isCluster: false,
    sharedKeyArn: SHARED_KEY,
    replicaKeyArn: `arn:aws:kms:${DR}:${ACCOUNT}:key/mrk-shared`,
    restoreMachineArn: RESTORE_MACHINE,
};
const clients = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({}) };

function job(extra: Partial<FailbackJob> = {}): FailbackJob {
    return {
        identifier: DB,
        isCluster: false,
        source: { arn: `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${NAME}`, identifier: NAME, createdAt: "2026-03-01T12:00:00.000Z" },
        copyIdentifier: COPY,
        restoreExecutionName: "failback-20260301120000",
        attempt: 0,
        ...extra,
    };
}

describe("failback steps", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });

    describe("cleanup of the DR-region intermediate", () => {
        beforeEach(() => rds.addSnapshot(COPY, DB, { kmsKeyId: SHARED_KEY, tags: OURS }));

        it("keeps everything while the home copy is not available", async () => {
            rds.snapshots.get(COPY)!.status = "creating";
            rds.inRegion(DR).addSnapshot(COPY, DB, { tags: OURS });
            await assert.rejects(cleanup(clients, settings, job()), { name: "UnexpectedStateError", message: /home copy .* is creating in us-east-1; keeping the DR-region copy/ });
            rds.snapshots.delete(COPY);
            await assert.rejects(cleanup(clients, settings, job()), { message: /is missing in us-east-1/ });
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        const cases: { name: string; arrange: (dr: FakeRds) => void; intermediate: string; deleted: boolean; deletes: number }[] = [
            { name: "its own available copy is deleted", arrange: (dr) => dr.addSnapshot(COPY, DB, { tags: OURS }), intermediate: "deleted", deleted: true, deletes: 1 },
            { name: "a copy already deleting (a lost response) is reported deleted, not deleted twice", arrange: (dr) => dr.addSnapshot(COPY, DB, { tags: OURS, status: "deleting" }), intermediate: "deleted", deleted: true, deletes: 0 },
            { name: "a copy already gone is reported gone", arrange: () => undefined, intermediate: "is gone", deleted: false, deletes: 0 },
            { name: "a copy of the name without this machine's tag is kept", arrange: (dr) => dr.addSnapshot(COPY, DB, { tags: jobTags("backup", DB) }), intermediate: "kept: not made by failback", deleted: false, deletes: 0 },
            { name: "a copy still being made is kept", arrange: (dr) => dr.addSnapshot(COPY, DB, { tags: OURS, status: "creating" }), intermediate: "kept: it is creating", deleted: false, deletes: 0 },
        ];
        for (const c of cases) {
            it(c.name, async () => {
                c.arrange(rds.inRegion(DR));
                const out = await cleanup(clients, settings, job({ current: { region: DR, id: COPY } }));
                assert.strictEqual(out.intermediate, `${DR}:${COPY} ${c.intermediate}`);
                assert.deepStrictEqual(out.deleted, c.deleted ? [`${DR}:${COPY}`] : []);
                assert.strictEqual(out.current, undefined);
                assert.strictEqual(rds.callsOf("DeleteDBSnapshot").length, c.deletes);
            });
        }

        it("a cluster's copy is deleted as a cluster snapshot", async () => {
            rds.snapshots.delete(COPY);
            rds.addClusterSnapshot(COPY, DB, { tags: OURS });
            rds.inRegion(DR).addClusterSnapshot(COPY, DB, { tags: OURS });
            const out = await cleanup(clients, { ...settings, isCluster: true }, job({ isCluster: true }));
            assert.deepStrictEqual(out.deleted, [`${DR}:${COPY}`]);
            assert.deepStrictEqual(rds.mutatingCalls().map((c) => [c.command, c.region, c.input]), [["DeleteDBClusterSnapshot", DR, { DBClusterSnapshotIdentifier: COPY }]]);
        });
    });

    describe("the restore execution", () => {
        it("a restore execution whose output is not JSON is relayed as text; one that succeeded without output has none", async () => {
            sfn.addStarted(RESTORE_MACHINE, "failback-20260301120000", "{}", ["SUCCEEDED"]).output = "plain";
            const out = await restoreStatus(clients, settings, job({ restoreExecutionArn: RESTORE_EXECUTION, attempt: 2 }));
            assert.deepStrictEqual([out.status, out.attempt, out.restoreOutput], ["SUCCEEDED", 3, "plain"]);
            sfn.started[0].output = undefined;
            assert.strictEqual((await restoreStatus(clients, settings, job({ restoreExecutionArn: RESTORE_EXECUTION }))).restoreOutput, undefined);
        });

        it("a running one has no output yet; a failed one without error or cause says so", async () => {
            const e = sfn.addStarted(RESTORE_MACHINE, "failback-20260301120000", "{}", ["RUNNING", "FAILED"]);
            e.output = "{}";
            const running = await restoreStatus(clients, settings, job({ restoreExecutionArn: RESTORE_EXECUTION }));
            assert.deepStrictEqual([running.status, running.restoreOutput], ["RUNNING", undefined]);
            await assert.rejects(restoreStatus(clients, settings, job({ restoreExecutionArn: RESTORE_EXECUTION })), { name: "ResourceFailedError", message: /ended FAILED \(no error given\)/ });
        });

        it("polling needs a started execution, and waiting for a copy needs a current snapshot", async () => {
            await assert.rejects(restoreStatus(clients, settings, job()), { name: "InvalidInputError", message: /no restore execution to wait for/ });
            await assert.rejects(copyStatus(clients, settings, job()), { name: "InvalidInputError", message: /nothing to wait for/ });
        });

        it("start_restore refuses to follow an execution of its name whose input is not JSON", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS });
            sfn.addStarted(RESTORE_MACHINE, "failback-20260301120000", "not json", ["SUCCEEDED"]);
            await assert.rejects(startRestore(clients, settings, job()), { name: "UnexpectedStateError", message: /exists with another input \(not json\)/ });
            rds.snapshots.get(COPY)!.status = "creating";
            await assert.rejects(startRestore(clients, settings, job()), { name: "SnapshotNotFoundError", message: /home copy .* is creating/ });
        });
    });

    describe("copies and the restore start, retried or rerun", () => {
        it("a rerun that finds the home copy waits for it at home; copy_home refuses a home copy it did not make, and a DR-region copy that is missing", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS, status: "creating" });
            const inDr = await runFailbackStep(clients, settings, { step: "copy_in_dr", job: job({ attempt: 7 }) });
            assert.deepStrictEqual([(inDr as FailbackJob).current, (inDr as FailbackJob).status, (inDr as FailbackJob).attempt], [{ region: HOME, id: COPY }, "creating", 0]);
            const polled = (await copyStatus(clients, settings, { ...(inDr as FailbackJob), attempt: 4 })) as FailbackJob;
            assert.strictEqual(polled.attempt, 5);
            rds.snapshots.get(COPY)!.tags = [];
            await assert.rejects(runFailbackStep(clients, settings, { step: "copy_home", job: job() }), { name: "UnexpectedStateError", message: /exists in us-east-1 but was not made by failback/ });
            rds.snapshots.delete(COPY);
            await assert.rejects(runFailbackStep(clients, settings, { step: "copy_home", job: job() }), { name: "SnapshotNotFoundError", message: /DR-region copy .* is missing in us-west-2/ });
            await assert.rejects(startRestore(clients, settings, job()), { name: "SnapshotNotFoundError", message: /home copy .* is missing in us-east-1/ });
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        it("start_restore passes on any error but a taken name", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS });
            const denied = { ...clients, sfn: { send: async () => Promise.reject(Object.assign(new Error("no"), { name: "AccessDeniedException" })) } as unknown as SFNClient };
            await assert.rejects(startRestore(denied, settings, job()), { name: "AccessDeniedException" });
        });

        it("a restore running on another database does not hold the failback back", async () => {
            sfn.addRunning(RESTORE_MACHINE, "billing-nightly", { identifier: "billing", task: "create_snapshot", isCluster: false });
            sfn.addRunning(RESTORE_MACHINE, "garbled", "not json");
            rds.inRegion(DR).addSharedSnapshot(`arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${NAME}`, { kmsKeyId: `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`, databaseIdentifier: DB });
            rds.addInstance({ identifier: DB, info: { KmsKeyId: SHARED_KEY } });
            const context = { startedAt: "2026-03-02T00:00:00Z", executionArn: "arn:aws:states:us-east-1:123456789012:execution:pilotlight-failback:x", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:pilotlight-failback" };
            const planned = (await runFailbackStep(clients, settings, { step: "plan", input: {}, ...context })) as FailbackJob;
            assert.strictEqual(planned.restoreExecutionName, "failback-20260301120000");
        });

        it("brings home an existing database's data from dr's own database, whose name differs (pilotlight:database.existing)", async () => {
            // prod protects `orders`; dr restores it as `<namePrefix>-db` and its failback source snapshots that.
            const byo: FailbackSettings = { ...settings, identifier: "orders", drIdentifier: DB };
            rds.inRegion(DR).addSharedSnapshot(`arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${NAME}`, { kmsKeyId: `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`, databaseIdentifier: DB });
            rds.addInstance({ identifier: "orders", info: { KmsKeyId: SHARED_KEY } });
            const context = { startedAt: "2026-03-02T00:00:00Z", executionArn: "arn:aws:states:us-east-1:123456789012:execution:pilotlight-failback:x", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:pilotlight-failback" };
            const planned = (await runFailbackStep(clients, byo, { step: "plan", input: {}, ...context })) as FailbackJob;
            assert.deepStrictEqual([planned.identifier, planned.source.identifier, planned.copyIdentifier, planned.restoreExecutionName], ["orders", NAME, "orders-fb-20260301120000-sk", "failback-20260301120000"]);
            assert.strictEqual(checkSnapshotArn(byo, `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${NAME}`).id, NAME);
            // A snapshot named after the home database is not the failback source's.
            assert.throws(() => checkSnapshotArn(byo, `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:orders-fb-20260301120000`), { name: "InvalidInputError", message: /failback source's snapshots 'pilotlight-db-fb-<yyyymmddhhmmss>'/ });
            assert.strictEqual(failbackSettingsFromEnv({ ACCOUNT_ID: ACCOUNT, HOME_REGION: HOME, DR_REGION: DR, DR_ACCOUNT_ID: DR_ACCOUNT, DATABASE: "orders", DR_DATABASE: DB, IS_CLUSTER: "false", SHARED_KEY_ARN: "k", REPLICA_KEY_ARN: "r", RESTORE_MACHINE_ARN: "m" }).drIdentifier, DB);
        });

        it("reads only the timestamp of a failback snapshot's own name", () => {
            assert.strictEqual(parseRdsSnapshotArn(`arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${DB}-fb-x20260301120000`)?.id, `${DB}-fb-x20260301120000`);
            assert.throws(() => checkSnapshotArn(settings, `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${DB}-fb-x20260301120000`), { name: "InvalidInputError" });
        });
    });

    describe("assessing a failed failback", () => {
        const base = (status: string) => ({
            "Source snapshot": `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${NAME}: kept`,
            "DR-region copy": `none: ${COPY} is not in ${DR}`,
            "Home copy": `arn:aws:rds:${HOME}:${ACCOUNT}:snapshot:${COPY} (${status}): kept`,
        });

        it("a failed restore execution: its own error and cause, and the copies", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS });
            Object.assign(sfn.addStarted(RESTORE_MACHINE, "failback-20260301120000", "{}", ["ABORTED"]), { error: "States.Aborted" });
            assert.deepStrictEqual(await assessFailback(clients, settings, job()), {
                Outcome: `restore-aborted: the restore machine's own outcome and alert say where ${DB} stands (States.Aborted)`,
                Database: `${DB} in ${HOME}: changed only by the restore execution`,
                ...base("available"),
                "Restore execution": `${RESTORE_EXECUTION} (ABORTED)`,
            });
        });

        it("a succeeded one: failed back", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS });
            sfn.addStarted(RESTORE_MACHINE, "failback-20260301120000", "{}", ["SUCCEEDED"]);
            const a = await assessFailback(clients, settings, job());
            assert.strictEqual(a.Outcome, `failed-back: the restore execution succeeded; ${DB} holds the snapshot's data`);
            assert.strictEqual(a["Restore execution"], `${RESTORE_EXECUTION} (SUCCEEDED)`);
        });

        it("none started and only a home copy: the database is untouched", async () => {
            rds.addSnapshot(COPY, DB, { tags: OURS, status: "creating" });
            const a = await assessFailback(clients, settings, job());
            assert.match(a.Outcome, /^database-untouched: /);
            assert.deepStrictEqual(a, { Outcome: a.Outcome, Database: `${DB} in ${HOME}: not changed by the failback`, ...base("creating"), "Restore execution": "none: failback-20260301120000 was not started" });
        });

        it("a restore machine that cannot be read is an error, not a guess", async () => {
            const broken = { ...clients, sfn: { send: async () => Promise.reject(Object.assign(new Error("denied"), { name: "AccessDeniedException" })) } as unknown as SFNClient };
            await assert.rejects(assessFailback(broken, settings, job()), { name: "AccessDeniedException" });
        });
    });

    describe("the dr side", () => {
        const source: FailbackSourceSettings = { region: DR, identifier: DB, isCluster: false, peerAccountId: ACCOUNT };
        const sourceJob = { identifier: DB, isCluster: false, snapshotIdentifier: NAME, attempt: 4 };

        it("a poll records the ARN and keeps a creation time it already had while RDS has none", async () => {
            const dr = rds.inRegion(DR);
            dr.addSnapshot(NAME, DB, { tags: [] });
            const out = await sourceStatus(clients, source, { ...sourceJob, createdAt: "earlier" });
            assert.deepStrictEqual([out.attempt, out.status, out.snapshotArn, out.createdAt], [5, "available", dr.arn("snapshot", NAME), dr.snapshots.get(NAME)!.info.SnapshotCreateTime!.toISOString()]);
            dr.snapshots.get(NAME)!.info.SnapshotCreateTime = undefined;
            assert.strictEqual((await sourceStatus(clients, source, { ...sourceJob, createdAt: "earlier" })).createdAt, "earlier");
            dr.snapshots.get(NAME)!.status = "failed";
            await assert.rejects(sourceStatus(clients, source, sourceJob), { name: "ResourceFailedError" });
            dr.snapshots.delete(NAME);
            await assert.rejects(sourceStatus(clients, source, sourceJob), { name: "SnapshotNotFoundError", message: /disappeared from us-west-2/ });
        });

        it("a cluster snapshot is shared once, looking first; a same-account setup shares nothing and its assessment says nothing of sharing", async () => {
            const dr = rds.inRegion(DR);
            dr.addClusterSnapshot(NAME, DB, { tags: [], kmsKeyId: `arn:aws:kms:${DR}:${ACCOUNT}:key/dr` });
            const cluster = { ...source, isCluster: true };
            await runSourceStep(clients, cluster, { step: "share", job: { ...sourceJob, isCluster: true } });
            await runSourceStep(clients, cluster, { step: "share", job: { ...sourceJob, isCluster: true } });
            assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["ModifyDBClusterSnapshotAttribute"]);
            assert.deepStrictEqual(dr.clusterSnapshots.get(NAME)!.restoreAccounts, [ACCOUNT]);
            assert.strictEqual((await assessSource(clients, cluster, { ...sourceJob, isCluster: true })).Snapshot, `${dr.arn("cluster-snapshot", NAME)} (available), shared with ${ACCOUNT}`);
            const same = { ...source, peerAccountId: undefined };
            dr.addSnapshot(NAME, DB, { tags: [] });
            assert.deepStrictEqual(await runSourceStep(clients, same, { step: "share", job: sourceJob }), sourceJob);
            assert.strictEqual((await assessSource(clients, same, sourceJob)).Snapshot, `${dr.arn("snapshot", NAME)} (available)`);
            assert.strictEqual(rds.mutatingCalls().length, 1);
        });

        it("reads its settings from the environment", () => {
            assert.deepStrictEqual(sourceSettingsFromEnv({ REGION: DR, DATABASE: DB, IS_CLUSTER: "true", PEER_ACCOUNT_ID: "" }), { region: DR, identifier: DB, isCluster: true, peerAccountId: undefined });
            assert.deepStrictEqual(sourceSettingsFromEnv({ REGION: DR, DATABASE: DB, IS_CLUSTER: "false", PEER_ACCOUNT_ID: ACCOUNT }).peerAccountId, ACCOUNT);
            assert.strictEqual(sourceSettingsFromEnv({ REGION: DR, DATABASE: DB, IS_CLUSTER: "yes" }).isCluster, false);
            assert.throws(() => sourceSettingsFromEnv({ DATABASE: DB, IS_CLUSTER: "true" }), /REGION/);
        });
    });

    it("the primary reads its settings from the environment", () => {
        const env = {
            ACCOUNT_ID: ACCOUNT,
            HOME_REGION: HOME,
            DR_REGION: DR,
            DR_ACCOUNT_ID: DR_ACCOUNT,
            DATABASE: DB,
            DR_DATABASE: DB,
            IS_CLUSTER: "false",
            SHARED_KEY_ARN: SHARED_KEY,
            REPLICA_KEY_ARN: settings.replicaKeyArn,
            RESTORE_MACHINE_ARN: RESTORE_MACHINE,
        };
        assert.deepStrictEqual(failbackSettingsFromEnv(env), settings);
        assert.strictEqual(failbackSettingsFromEnv({ ...env, IS_CLUSTER: "true" }).isCluster, true);
        for (const k of Object.keys(env)) {
            const partial: Record<string, string> = { ...env };
            delete partial[k];
            assert.throws(() => failbackSettingsFromEnv(partial), new RegExp(k));
        }
    });

    it("a step event names a known step and carries a job", async () => {
        for (const step of ["toString", "constructor", undefined, 3]) {
            await assert.rejects(runFailbackStep(clients, settings, { step, job: job() }), { name: "InvalidInputError", message: /^unknown step .*; expected plan or copy_in_dr, copy_home, status, start_restore, restore_status, cleanup, assess$/ });
        }
        await assert.rejects(runFailbackStep(clients, settings, { step: "cleanup" }), { name: "InvalidInputError", message: "step cleanup needs a job" });
        assert.deepStrictEqual(rds.calls, []);
    });

    it("engine families and snapshot ARNs of every partition", () => {
        assert.strictEqual(engineFamily("db2-se"), engineFamily("db2-ae"));
        assert.strictEqual(engineFamily("db2-se"), "db2");
        assert.strictEqual(engineFamily("custom-oracle-ee"), "custom-oracle-ee");
        assert.strictEqual(engineFamily("aurora"), "aurora-mysql");
        assert.strictEqual(engineFamily("aurora-postgresql"), "aurora-postgresql");
        for (const partition of ["aws-cn", "aws-us-gov"]) assert.strictEqual(parseRdsSnapshotArn(`arn:${partition}:rds:cn-north-1:222222222222:snapshot:${NAME}`)?.partition, partition);
        for (const bad of [`arn:aws-iso:rds:us-west-2:222222222222:snapshot:${NAME}`, `xarn:aws:rds:us-west-2:222222222222:snapshot:${NAME}`, `arn:aws:rds:us-west-2:222222222222:snapshot:${NAME}x!`, `arn:aws:rds:us-west-2:2222222222222:snapshot:${NAME}`]) {
            assert.strictEqual(parseRdsSnapshotArn(bad), undefined, bad);
        }
    });
});
