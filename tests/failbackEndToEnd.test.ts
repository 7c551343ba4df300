// Failback end to end: the dr account's failback-source machine over its own fake, then
// the primary's failback machine over another, joined only by what crosses the boundary
// (the snapshot shared with the primary's account, and the operator passing its ARN);
// the restore execution the failback starts is the real restore machine over the
// primary's fake, whose outcome the fake Step Functions reports back.
import * as assert from "assert";
import { failbackDefinition, failbackSourceDefinition } from "../components/machines/failback";
import { restoreMachineDefinition } from "../components/machines/restore";
import { handler as failbackHandler } from "../functions/failback";
import { handler as sourceHandler } from "../functions/failback-source";
import { FAILBACK_JOB, FAILBACK_SOURCE_JOB } from "../functions/lib/failback";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { ACCOUNT, FakeRds, GONE } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, RunResult, runMachine } from "./machineHarness";
import { restoreArns, restoreHandlers } from "./restoreHarness";

const HOME = "us-east-1";
const DR = "us-west-2";
const PROD_ACCOUNT = ACCOUNT;
const DR_ACCOUNT = "222222222222";
const DB = "pilotlight-db";
const SHARED_KEY = `arn:aws:kms:${HOME}:${PROD_ACCOUNT}:key/mrk-shared`;
const REPLICA_KEY = `arn:aws:kms:${DR}:${PROD_ACCOUNT}:key/mrk-shared`;
const fn = (name: string) => `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:pilotlight-${name}`;
const SOURCE_ARNS = { job: fn("failback-source"), alert: fn("alert") };
const FAILBACK_ARNS = { job: fn("failback"), alert: fn("alert") };
const RESTORE_MACHINE = `arn:aws:states:${HOME}:${PROD_ACCOUNT}:stateMachine:pilotlight-restore`;
const RESTORE_ARNS = restoreArns("pilotlight");
const ENV_KEYS = ["REGION", "DATABASE", "IS_CLUSTER", "PEER_ACCOUNT_ID", "ACCOUNT_ID", "HOME_REGION", "DR_REGION", "DR_ACCOUNT_ID", "SHARED_KEY_ARN", "REPLICA_KEY_ARN", "RESTORE_MACHINE_ARN", "MANAGED_IDENTIFIERS", "MANAGED_KINDS", "EXPORT_ENABLED", "KEEP_SNAPSHOTS"];
const POLL = { maxAttempts: 10 };

interface Setup {
    isCluster: boolean;
    sameAccount: boolean;
}

describe("failback, dr to primary, end to end", () => {
    let alerts: { source: string; error?: string; cause?: string }[];
    const alert = async (e: { source: string; error?: string; cause?: string }) => (alerts.push(e), { delivered: 1 });
    const fakes: { restore(): void }[] = [];

    beforeEach(() => {
        alerts = [];
    });
    afterEach(() => {
        for (const f of fakes.splice(0)) f.restore();
        for (const k of ENV_KEYS) delete process.env[k];
    });

    /** The DR database after a failover: the dr account's, under its DR key, holding what was written during the failover. */
    function seedDr(rds: FakeRds, setup: Setup, drKey: string): void {
        if (setup.isCluster) rds.addCluster({ identifier: DB, data: "written-in-dr", info: { KmsKeyId: drKey }, members: [{ identifier: `${DB}-1` }] });
        else rds.addInstance({ identifier: DB, data: "written-in-dr", info: { KmsKeyId: drKey } });
    }

    /** The primary's database before failback: stale. */
    function seedProd(rds: FakeRds, setup: Setup, home = DB): void {
        if (setup.isCluster) rds.addCluster({ identifier: home, data: "written-in-prod", info: { KmsKeyId: SHARED_KEY }, members: [{ identifier: `${home}-1` }, { identifier: `${home}-2` }] });
        else rds.addInstance({ identifier: home, data: "written-in-prod", info: { KmsKeyId: SHARED_KEY } });
    }

    /** Runs the dr side in the dr account; returns its output and the snapshot as the dr account holds it. */
    async function runSource(setup: Setup, drAccount: string, drKey: string) {
        const dr = new FakeRds({ region: DR, account: drAccount });
        const sfn = new FakeSfn();
        try {
            seedDr(dr, setup, drKey);
            Object.assign(process.env, { REGION: DR, DATABASE: DB, IS_CLUSTER: String(setup.isCluster), PEER_ACCOUNT_ID: setup.sameAccount ? "" : PROD_ACCOUNT });
            const definition = failbackSourceDefinition(SOURCE_ARNS, { share: !setup.sameAccount, ...POLL });
            const result = await runMachine(definition, {}, {
                machineName: "pilotlight-failback-source",
                handlers: jobMachineHandlers(SOURCE_ARNS, sourceHandler, { faultStep: () => undefined, alert: (e) => alerts.push(e) }),
            });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            assert.deepStrictEqual(result.path.filter((s) => !/^(Wait|Poll)|Ready\?$/.test(s)), ["Plan", "Snapshot", ...(setup.sameAccount ? [] : ["Share"]), "Output"]);
            const output = result.output as { snapshotArn: string; snapshotIdentifier: string; createdAt: string; isCluster: boolean };
            const held = setup.isCluster ? dr.clusterSnapshots.get(output.snapshotIdentifier)! : dr.snapshots.get(output.snapshotIdentifier)!;
            return { output, held, mutating: dr.mutatingCalls().map((c) => c.command) };
        } finally {
            dr.restore();
            sfn.restore();
            for (const k of ["REGION", "DATABASE", "IS_CLUSTER", "PEER_ACCOUNT_ID"]) delete process.env[k];
        }
    }

    /** The primary's fake and Step Functions: StartExecution of the restore machine runs the real one over the primary's fake. */
    function primary(setup: Setup, home = DB) {
        const rds = new FakeRds();
        const sfn = new FakeSfn();
        fakes.push(rds, sfn);
        seedProd(rds, setup, home);
        const restores: RunResult[] = [];
        const handlers = restoreHandlers(RESTORE_ARNS, alert);
        sfn.onStart = async (e) => {
            assert.strictEqual(e.stateMachineArn, RESTORE_MACHINE);
            const run = await runMachine(restoreMachineDefinition(RESTORE_ARNS, POLL), JSON.parse(e.input), { handlers, machineName: "pilotlight-restore", executionName: e.name });
            restores.push(run);
            // What DescribeExecution then reports: its error and cause, or its output.
            Object.assign(e, run.status === "SUCCEEDED" ? { output: JSON.stringify(run.output) } : { error: run.error, cause: run.cause });
            return ["RUNNING", run.status];
        };
        Object.assign(process.env, {
            ACCOUNT_ID: PROD_ACCOUNT,
            HOME_REGION: HOME,
            DR_REGION: DR,
            DR_ACCOUNT_ID: setup.sameAccount ? PROD_ACCOUNT : DR_ACCOUNT,
            DATABASE: home,
            DR_DATABASE: DB,
            IS_CLUSTER: String(setup.isCluster),
            SHARED_KEY_ARN: SHARED_KEY,
            REPLICA_KEY_ARN: REPLICA_KEY,
            RESTORE_MACHINE_ARN: RESTORE_MACHINE,
            MANAGED_IDENTIFIERS: home,
            MANAGED_KINDS: `${home}=${setup.isCluster ? "cluster" : "instance"}`,
            EXPORT_ENABLED: "false",
            KEEP_SNAPSHOTS: "2",
        });
        return { rds, sfn, restores };
    }

    function runFailback(input: unknown) {
        return runMachine(failbackDefinition(FAILBACK_ARNS, { restoreTimeoutSeconds: 600, ...POLL }), input, {
            machineName: "pilotlight-failback",
            handlers: jobMachineHandlers(FAILBACK_ARNS, failbackHandler, { faultStep: () => undefined, alert: (e) => alerts.push(e) }),
        });
    }

    const HAPPY_PATH = ["Plan", "CopyInDr", "CopyHome", "StartRestore", "Cleanup", "Done"];

    for (const isCluster of [false, true]) {
        const kind = isCluster ? "Aurora cluster" : "DB instance";
        it(`${kind}, two accounts: the primary's database ends up holding what was written in DR, through a shared snapshot only`, async () => {
            const setup = { isCluster, sameAccount: false };
            const DR_KEY = `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`;
            const src = await runSource(setup, DR_ACCOUNT, DR_KEY);
            assert.match(src.output.snapshotIdentifier, /^pilotlight-db-fb-\d{14}$/);
            assert.strictEqual(src.output.snapshotArn, `arn:aws:rds:${DR}:${DR_ACCOUNT}:${isCluster ? "cluster-snapshot" : "snapshot"}:${src.output.snapshotIdentifier}`);
            assert.strictEqual(src.output.isCluster, isCluster);
            assert.ok(!Number.isNaN(Date.parse(src.output.createdAt)));
            assert.deepStrictEqual(src.mutating, isCluster ? ["CreateDBClusterSnapshot", "ModifyDBClusterSnapshotAttribute"] : ["CreateDBSnapshot", "ModifyDBSnapshotAttribute"]);
            assert.deepStrictEqual(src.held.tags, [
                { Key: CREATED_BY_TAG, Value: FAILBACK_SOURCE_JOB },
                { Key: SOURCE_TAG, Value: DB },
            ]);
            assert.strictEqual(src.held.info.KmsKeyId, DR_KEY);

            // What crosses: the snapshot, and only because it was shared with the primary's account.
            assert.deepStrictEqual(src.held.restoreAccounts, [PROD_ACCOUNT]);
            const { rds, sfn, restores } = primary(setup);
            const before = isCluster ? rds.clusters.get(DB)!.info.DbClusterResourceId : rds.instances.get(DB)!.info.DbiResourceId;
            const seed = { data: src.held.data, kmsKeyId: DR_KEY, engine: src.held.info.Engine, created: src.output.createdAt };
            if (isCluster) rds.inRegion(DR).addSharedClusterSnapshot(src.output.snapshotArn, { ...seed, databaseIdentifier: (src.held.info as { DBClusterIdentifier?: string }).DBClusterIdentifier });
            else rds.inRegion(DR).addSharedSnapshot(src.output.snapshotArn, { ...seed, databaseIdentifier: (src.held.info as { DBInstanceIdentifier?: string }).DBInstanceIdentifier });

            const result = await runFailback({ snapshotArn: src.output.snapshotArn });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause} ${JSON.stringify(alerts)}`);
            assert.deepStrictEqual(result.path.filter((s) => HAPPY_PATH.includes(s)), HAPPY_PATH);
            assert.ok(!result.path.includes("NotifyFailure"));
            assert.ok(result.visits.PollRestore >= 2, "waited for the restore execution while it ran");

            // The restore machine really ran, on the home copy, and succeeded.
            const copy = `${src.output.snapshotIdentifier}-sk`;
            assert.strictEqual(restores.length, 1);
            assert.strictEqual(restores[0].status, "SUCCEEDED", `${restores[0].error}: ${restores[0].cause}`);
            assert.ok(restores[0].path.includes("RestoreFromSnapshot") && restores[0].path.includes("DeleteOriginal"));
            assert.deepStrictEqual(JSON.parse(sfn.started[0].input), { identifier: DB, task: "db_restore", isCluster, snapshotIdentifier: copy });
            assert.strictEqual(sfn.started[0].name, `failback-${src.output.snapshotIdentifier.slice(-14)}`);

            const db = isCluster ? rds.clusters.get(DB)! : rds.instances.get(DB)!;
            assert.strictEqual(db.data, "written-in-dr");
            assert.strictEqual(db.status, "available");
            assert.notStrictEqual(isCluster ? rds.clusters.get(DB)!.info.DbClusterResourceId : rds.instances.get(DB)!.info.DbiResourceId, before, "restored in place: a new database under the same identifier");
            const home = isCluster ? rds.clusterSnapshots.get(copy)! : rds.snapshots.get(copy)!;
            assert.strictEqual(home.info.KmsKeyId, SHARED_KEY, "the home copy is under the shared key");
            assert.strictEqual(home.data, "written-in-dr");
            assert.deepStrictEqual(home.tags, [
                { Key: CREATED_BY_TAG, Value: FAILBACK_JOB },
                { Key: SOURCE_TAG, Value: DB },
            ]);
            // The DR-region intermediate (under the replica key) is deleted.
            const dr = rds.inRegion(DR);
            const intermediate = isCluster ? dr.clusterSnapshots.get(copy) : dr.snapshots.get(copy);
            assert.ok(!intermediate || intermediate.status === "deleting" || intermediate.timeline.includes(GONE), "the DR-region copy is being deleted");
            const copies = rds.calls.filter((c) => c.command === (isCluster ? "CopyDBClusterSnapshot" : "CopyDBSnapshot"));
            assert.deepStrictEqual(
                copies.map((c) => [c.region ?? HOME, c.input.KmsKeyId]),
                [
                    [DR, REPLICA_KEY],
                    [HOME, SHARED_KEY],
                ],
            );
            assert.strictEqual(copies[0].input[isCluster ? "SourceDBClusterSnapshotIdentifier" : "SourceDBSnapshotIdentifier"], src.output.snapshotArn);
            assert.deepStrictEqual(alerts, []);
        });
    }

    it("same account: nothing is shared, the primary copies the dr side's own snapshot, and picks the newest by itself", async () => {
        const setup = { isCluster: false, sameAccount: true };
        const DR_KEY = `arn:aws:kms:${DR}:${PROD_ACCOUNT}:key/dr`;
        const src = await runSource(setup, PROD_ACCOUNT, DR_KEY);
        assert.deepStrictEqual(src.mutating, ["CreateDBSnapshot"]);
        assert.deepStrictEqual(src.held.restoreAccounts ?? [], []);

        // One account: the snapshot is simply there, in the DR region, with an older one beside it.
        const { rds, restores } = primary(setup);
        const dr = rds.inRegion(DR);
        dr.addSnapshot("pilotlight-db-fb-20250101000000", DB, { data: "older", created: "2025-01-01T00:00:00Z", kmsKeyId: DR_KEY, tags: src.held.tags });
        const copied = dr.addSnapshot(src.output.snapshotIdentifier, DB, { data: src.held.data, created: src.output.createdAt, kmsKeyId: DR_KEY, tags: src.held.tags });
        assert.strictEqual(copied.info.DBSnapshotArn, src.output.snapshotArn);

        const result = await runFailback({});
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(result.path.filter((s) => HAPPY_PATH.includes(s)), HAPPY_PATH);
        assert.strictEqual(restores[0].status, "SUCCEEDED");
        assert.strictEqual(rds.instances.get(DB)!.data, "written-in-dr", "the newest snapshot was picked");
        assert.strictEqual(rds.snapshots.get(`${src.output.snapshotIdentifier}-sk`)!.info.KmsKeyId, SHARED_KEY);
        assert.deepStrictEqual(rds.callsOf("ModifyDBSnapshotAttribute"), []);
        assert.deepStrictEqual(alerts, []);
    });

    /** dr's snapshot as the primary's account sees it: shared with it by the dr account. */
    function shareHome(rds: FakeRds, src: Awaited<ReturnType<typeof runSource>>, drKey: string): void {
        rds.inRegion(DR).addSharedSnapshot(src.output.snapshotArn, { data: src.held.data, kmsKeyId: drKey, engine: src.held.info.Engine, created: src.output.createdAt, databaseIdentifier: DB });
    }

    it("an existing database under another name (pilotlight:database.existing): dr's pilotlight-db comes home into orders", async () => {
        const setup = { isCluster: false, sameAccount: false };
        const DR_KEY = `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`;
        const src = await runSource(setup, DR_ACCOUNT, DR_KEY);
        const { rds, sfn, restores } = primary(setup, "orders");
        shareHome(rds, src, DR_KEY);
        const result = await runFailback({});
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause} ${JSON.stringify(alerts)}`);
        assert.strictEqual(restores[0].status, "SUCCEEDED", `${restores[0].error}: ${restores[0].cause}`);
        // The copies are named after the home database: the restore machine restores a database only from those.
        const copy = `orders-fb-${src.output.snapshotIdentifier.slice(-14)}-sk`;
        assert.deepStrictEqual(JSON.parse(sfn.started[0].input), { identifier: "orders", task: "db_restore", isCluster: false, snapshotIdentifier: copy, sourceIdentifier: DB });
        assert.strictEqual(rds.snapshots.get(copy)!.info.KmsKeyId, SHARED_KEY);
        assert.strictEqual(rds.instances.get("orders")!.data, "written-in-dr");
        assert.ok(!rds.instances.has(DB), "no database of dr's name appears at home");
        assert.deepStrictEqual(alerts, []);
    });

    it("the restore fails after its cutover: the failback deletes nothing, relays the restore's own outcome, and both databases are kept", async () => {
        const setup = { isCluster: false, sameAccount: false };
        const DR_KEY = `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`;
        const src = await runSource(setup, DR_ACCOUNT, DR_KEY);
        const { rds, restores } = primary(setup);
        shareHome(rds, src, DR_KEY);
        // Deleting the renamed original is refused for good: the restored database already serves under DB.
        rds.failAlways("DeleteDBInstance", () => Object.assign(new Error("User is not authorized to perform rds:DeleteDBInstance"), { name: "AccessDenied" }));
        const result = await runFailback({});
        assert.strictEqual(result.status, "FAILED");
        assert.ok(result.path.includes("NotifyFailure"));
        assert.strictEqual(restores.length, 1);
        assert.strictEqual(restores[0].status, "FAILED");
        assert.strictEqual(restores[0].error, "RestoreKeptError");
        // What was written in DR serves under the production identifier; prod's old data is kept beside it.
        assert.strictEqual(rds.instances.get(DB)!.data, "written-in-dr");
        const kept = [...rds.instances.values()].filter((d) => d.info.DBInstanceIdentifier !== DB);
        assert.deepStrictEqual(kept.map((d) => [d.data, d.status]), [["written-in-prod", "available"]]);
        // The failback's own alert points at the restore's outcome; its home copy is kept.
        const failbackAlert = alerts.find((a) => a.source.includes("failback"));
        assert.ok(failbackAlert, JSON.stringify(alerts));
        assert.match(`${failbackAlert!.error} ${failbackAlert!.cause}`, /RestoreKeptError/);
        assert.ok(rds.snapshots.has(`${src.output.snapshotIdentifier}-sk`), "the home copy is kept");
        assert.deepStrictEqual(rds.callsOf("DeleteDBSnapshot").filter((c) => (c.region ?? HOME) === HOME), [], "nothing at home is deleted");
    });
});
