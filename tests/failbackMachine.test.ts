/**
 * The primary's failback machine over the primary's fake RDS (with the dr account's
 * snapshot shared into its DR region) and a fake Step Functions whose restore executions
 * report scripted outcomes.
 */
import * as assert from "assert";
import { failbackStatements } from "../components/failback";
import { failbackDefinition } from "../components/machines/failback";
import { handler } from "../functions/failback";
import { FAILBACK_JOB } from "../functions/lib/failback";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { InvalidDBSnapshotStateFault } from "@aws-sdk/client-rds";
import { ACCOUNT, FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { allows, arnMatches, rdsAuthorizations } from "./iamCheck";
import { HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, RunResult, runMachine, taskStates } from "./machineHarness";
import { losingFirstResponse } from "./failbackFaults";

const HOME = "us-east-1";
const DR = "us-west-2";
const DR_ACCOUNT = "222222222222";
const DB = "pilotlight-db";
const SHARED_KEY = `arn:aws:kms:${HOME}:${ACCOUNT}:key/mrk-shared`;
const REPLICA_KEY = `arn:aws:kms:${DR}:${ACCOUNT}:key/mrk-shared`;
const DR_KEY = `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`;
const JOB_FN = `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:pilotlight-failback`;
const ALERT_FN = `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:pilotlight-alert`;
const MACHINE = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:pilotlight-failback`;
const RESTORE_MACHINE = `arn:aws:states:${HOME}:${ACCOUNT}:stateMachine:pilotlight-restore`;
const ENV_KEYS = ["ACCOUNT_ID", "HOME_REGION", "DR_REGION", "DR_ACCOUNT_ID", "DATABASE", "IS_CLUSTER", "SHARED_KEY_ARN", "REPLICA_KEY_ARN", "RESTORE_MACHINE_ARN"];
const TS = "20260301120000";
const NAME = `${DB}-fb-${TS}`;
const COPY = `${NAME}-sk`;
const EXECUTION = `failback-${TS}`;

const sharedArn = (name: string, account = DR_ACCOUNT, region = DR, kind = "snapshot") => `arn:aws:rds:${region}:${account}:${kind}:${name}`;
const definition = failbackDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10, restoreTimeoutSeconds: 600 });

describe("failback machine (primary)", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let alerts: { source: string; error: string; cause: string; subject?: string; details: Record<string, string> }[];
    let faultStep: string | undefined;
    let resourceId: string;

    /** A snapshot the dr account shared with this one, in the DR region. */
    function share(name = NAME, opts: { account?: string; engine?: string; databaseIdentifier?: string; status?: string; created?: string } = {}) {
        return rds.inRegion(DR).addSharedSnapshot(sharedArn(name, opts.account), {
            data: `data-of-${name}`,
            kmsKeyId: DR_KEY,
            engine: opts.engine,
            databaseIdentifier: opts.databaseIdentifier ?? DB,
            status: opts.status,
            created: opts.created ?? "2026-03-01T12:00:00Z",
        });
    }

    let lose: { step: string; error: string } | undefined;

    function run(input: unknown = { snapshotArn: sharedArn(NAME) }, def: object = definition): Promise<RunResult> {
        return runMachine(def, input, {
            machineName: "pilotlight-failback",
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, losingFirstResponse(handler, () => lose), { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
        });
    }

    /** Calls that change something, by command (the failback's own: no restore machine runs here). */
    const writes = () => rds.mutatingCalls().map((c) => `${c.command}@${c.region ?? HOME}`);

    function assertDatabaseUntouched(): void {
        const db = rds.instances.get(DB)!;
        assert.strictEqual(db.data, "written-in-prod");
        assert.strictEqual(db.info.DbiResourceId, resourceId);
        assert.strictEqual(db.status, "available");
        assert.ok(rds.mutatingCalls().every((c) => c.command.includes("Snapshot")), "no call but snapshot copies and deletes");
    }

    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        resourceId = rds.addInstance({ identifier: DB, data: "written-in-prod", info: { KmsKeyId: SHARED_KEY } }).info.DbiResourceId!;
        alerts = [];
        faultStep = undefined;
        lose = undefined;
        Object.assign(process.env, {
            ACCOUNT_ID: ACCOUNT,
            HOME_REGION: HOME,
            DR_REGION: DR,
            DR_ACCOUNT_ID: DR_ACCOUNT,
            DATABASE: DB,
            DR_DATABASE: DB,
            IS_CLUSTER: "false",
            SHARED_KEY_ARN: SHARED_KEY,
            REPLICA_KEY_ARN: REPLICA_KEY,
            RESTORE_MACHINE_ARN: RESTORE_MACHINE,
        });
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        for (const k of ENV_KEYS) delete process.env[k];
    });

    it("copies in the DR region under the replica key, copies home under the shared key, restores through the restore machine, deletes the intermediate", async () => {
        share();
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(writes(), ["CopyDBSnapshot@us-west-2", "CopyDBSnapshot@us-east-1", "DeleteDBSnapshot@us-west-2"]);
        const [inDr, home, del] = rds.mutatingCalls();
        assert.deepStrictEqual(inDr.input, { SourceDBSnapshotIdentifier: sharedArn(NAME), TargetDBSnapshotIdentifier: COPY, KmsKeyId: REPLICA_KEY, Tags: [{ Key: CREATED_BY_TAG, Value: FAILBACK_JOB }, { Key: SOURCE_TAG, Value: DB }] });
        assert.deepStrictEqual(home.input, { SourceDBSnapshotIdentifier: `arn:aws:rds:${DR}:${ACCOUNT}:snapshot:${COPY}`, TargetDBSnapshotIdentifier: COPY, KmsKeyId: SHARED_KEY, Tags: inDr.input.Tags });
        assert.deepStrictEqual(del.input, { DBSnapshotIdentifier: COPY });
        // The home copy exists before the restore starts; the intermediate goes only after the restore succeeded.
        assert.strictEqual(rds.snapshots.get(COPY)!.status, "available");
        assert.strictEqual(rds.snapshots.get(COPY)!.info.DBInstanceIdentifier, DB, "a copy keeps the database it was taken from");
        assert.deepStrictEqual(sfn.started.map((e) => [e.stateMachineArn, e.name, JSON.parse(e.input)]), [[RESTORE_MACHINE, EXECUTION, { identifier: DB, task: "db_restore", isCluster: false, snapshotIdentifier: COPY }]]);
        const output = result.output as { restoreExecutionArn: string; reusedExecution: boolean; deleted: string[] };
        assert.strictEqual(output.restoreExecutionArn, `arn:aws:states:${HOME}:${ACCOUNT}:execution:pilotlight-restore:${EXECUTION}`);
        assert.deepStrictEqual([output.reusedExecution, output.deleted], [false, [`${DR}:${COPY}`]]);
        assert.deepStrictEqual(alerts, []);
    });

    it("without input picks the newest available snapshot of the database shared by the dr account", async () => {
        share("pilotlight-db-fb-20260101000000", { created: "2026-01-01T00:00:00Z" });
        share(NAME);
        // Newer, but not usable: still being taken, from another database, from a third account, not a failback snapshot.
        share("pilotlight-db-fb-20260401000000", { status: "creating", created: "2026-04-01T00:00:00Z" });
        share("pilotlight-db-fb-20260402000000", { databaseIdentifier: "billing", created: "2026-04-02T00:00:00Z" });
        share("pilotlight-db-fb-20260403000000", { account: "333333333333", created: "2026-04-03T00:00:00Z" });
        share("pilotlight-db-cp-20260404000000", { created: "2026-04-04T00:00:00Z" });
        const result = await run({});
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(rds.callsOf("CopyDBSnapshot")[0].input.SourceDBSnapshotIdentifier, sharedArn(NAME));
        assert.strictEqual(sfn.started[0].name, EXECUTION);
    });

    for (const outcome of ["FAILED", "TIMED_OUT", "ABORTED"]) {
        it(`a restore execution that ends ${outcome} fails the failback with an alert relaying the restore's own outcome, and the failback deleted nothing`, async () => {
            share();
            sfn.onStart = (e) => {
                Object.assign(e, { error: "restore.Failed", cause: "restore kept, original kept as pilotlight-db-pl-old-20260301120500" });
                return ["RUNNING", "RUNNING", outcome];
            };
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(result.error, "failback.Failed");
            assert.ok(result.path.includes("NotifyFailure") && !result.path.includes("Cleanup"));
            assert.strictEqual(result.visits.PollRestore, 3);
            assert.strictEqual(alerts.length, 1);
            assert.deepStrictEqual([alerts[0].source, alerts[0].error], ["failback", "ResourceFailedError"]);
            const restoreArn = `arn:aws:states:${HOME}:${ACCOUNT}:execution:pilotlight-restore:${EXECUTION}`;
            assert.ok(alerts[0].cause.includes(`'${EXECUTION}' (${restoreArn}) ended ${outcome} (restore.Failed: restore kept, original kept as pilotlight-db-pl-old-20260301120500)`), alerts[0].cause);
            assert.doesNotMatch(alerts[0].cause, /as it was|rolled back/, "the failback does not know where the restore left the database");
            assert.deepStrictEqual(alerts[0].details, {
                Outcome: `restore-${outcome.toLowerCase().replace("_", "-")}: the restore machine's own outcome and alert say where ${DB} stands (restore.Failed: restore kept, original kept as pilotlight-db-pl-old-20260301120500)`,
                Database: `${DB} in ${HOME}: changed only by the restore execution`,
                "Source snapshot": `${sharedArn(NAME)}: kept`,
                "DR-region copy": `arn:aws:rds:${DR}:${ACCOUNT}:snapshot:${COPY} (available): kept`,
                "Home copy": `arn:aws:rds:${HOME}:${ACCOUNT}:snapshot:${COPY} (available): kept`,
                "Restore execution": `${restoreArn} (${outcome})`,
            });
            assert.deepStrictEqual(writes(), ["CopyDBSnapshot@us-west-2", "CopyDBSnapshot@us-east-1"], "both copies are kept for a retry");
            assertDatabaseUntouched();
        });
    }

    it("a restore still running after the restore machine's timeout is a failure, not a wait forever", async () => {
        share();
        sfn.onStart = () => ["RUNNING"];
        const short = failbackDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10, pollIntervalSeconds: 60, restoreTimeoutSeconds: 150 });
        const result = await run(undefined, short);
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.visits.PollRestore, 4, "ceil(150 / 60) + 1 polls: past the restore machine's own timeout");
        assert.ok(result.path.includes("RestoreTimedOut"));
        assert.strictEqual(alerts[0].error, "WaitExhausted");
        assert.strictEqual(
            alerts[0].details.Outcome,
            `restore-running: the restore machine is still working on ${DB}; it decides the outcome and alerts. Do not start another restore; follow arn:aws:states:${HOME}:${ACCOUNT}:execution:pilotlight-restore:${EXECUTION}`,
        );
        assert.ok(!result.path.includes("Cleanup"), "nothing is deleted while the restore's outcome is unknown");
    });

    const refusals: { name: string; input?: unknown; arrange?: () => void; error: string; message: RegExp }[] = [
        { name: "a snapshot not shared with this account", input: { snapshotArn: sharedArn("pilotlight-db-fb-20260302000000") }, error: "SnapshotNotFoundError", message: /snapshot arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-20260302000000 is not shared with account 123456789012 in us-west-2.*failback-source/ },
        { name: "another account's snapshot", input: { snapshotArn: sharedArn(NAME, "333333333333") }, error: "InvalidInputError", message: /belongs to account 333333333333; failback copies only from the dr account 222222222222/ },
        { name: "a snapshot in another region", input: { snapshotArn: sharedArn(NAME, DR_ACCOUNT, HOME) }, error: "InvalidInputError", message: /is in us-east-1; the failback source shares its snapshot in the DR region us-west-2/ },
        { name: "a snapshot of another name", input: { snapshotArn: sharedArn("pilotlight-db-cp-20260301120000") }, error: "InvalidInputError", message: /names 'pilotlight-db-cp-20260301120000'; failback copies only the failback source's snapshots 'pilotlight-db-fb-<yyyymmddhhmmss>'/ },
        { name: "a cluster snapshot for an instance", input: { snapshotArn: sharedArn(NAME, DR_ACCOUNT, DR, "cluster-snapshot") }, error: "InvalidInputError", message: /is a cluster-snapshot, but pilotlight-db is a DB instance/ },
        { name: "a name instead of an ARN", input: { snapshotArn: NAME }, error: "InvalidInputError", message: /snapshotArn "pilotlight-db-fb-20260301120000" is not an RDS snapshot ARN; expected arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-<yyyymmddhhmmss>/ },
        { name: "an unknown input field", input: { snapshotArn: sharedArn(NAME), force: true }, error: "InvalidInputError", message: /unknown input field\(s\) force; allowed: snapshotArn/ },
        { name: "a snapshot of another engine", arrange: () => share(NAME, { engine: "mysql" }), error: "SnapshotMismatchError", message: /is of engine 'mysql', but pilotlight-db in us-east-1 runs 'postgres'/ },
        { name: "a snapshot taken from another database", arrange: () => share(NAME, { databaseIdentifier: "billing" }), error: "SnapshotMismatchError", message: /was taken from 'billing', not from dr's 'pilotlight-db'/ },
        { name: "a snapshot still being taken", arrange: () => share(NAME, { status: "creating" }), error: "SnapshotMismatchError", message: /is 'creating', not available/ },
        { name: "no snapshot at all", input: {}, arrange: () => undefined, error: "SnapshotNotFoundError", message: /no available snapshot 'pilotlight-db-fb-<yyyymmddhhmmss>' of pilotlight-db from account 222222222222 is shared with account 123456789012 in us-west-2; run the failback-source machine/ },
        { name: "the primary's database missing", arrange: () => (share(), rds.instances.delete(DB)), error: "DatabaseNotFoundError", message: /DB instance 'pilotlight-db' does not exist in us-east-1/ },
        { name: "the primary's database not available", arrange: () => (share(), rds.stick("instance", DB, "modifying")), error: "DatabaseNotReadyError", message: /DB instance 'pilotlight-db' in us-east-1 is 'modifying', not available/ },
        {
            name: "a database under another key than the shared key (an instance restore would take the copy's key)",
            arrange: () => (share(), (rds.instances.get(DB)!.info.KmsKeyId = `arn:aws:kms:${HOME}:${ACCOUNT}:key/other`)),
            error: "UnexpectedStateError",
            message: /pilotlight-db in us-east-1 is encrypted with arn:aws:kms:us-east-1:123456789012:key\/other, not the shared key arn:aws:kms:us-east-1:123456789012:key\/mrk-shared/,
        },
        {
            name: "the restore machine running on the database",
            arrange: () => (share(), sfn.addRunning(RESTORE_MACHINE, "nightly", { identifier: DB, task: "create_snapshot", isCluster: false })),
            error: "ConcurrentRunError",
            message: /restore machine execution 'nightly' \(arn:aws:states:us-east-1:123456789012:execution:pilotlight-restore:nightly\) is running on pilotlight-db/,
        },
        {
            name: "another failback running",
            arrange: () => (share(), sfn.addRunning(MACHINE, "earlier", {})),
            error: "ConcurrentRunError",
            message: /execution 'earlier' \(arn:aws:states:us-east-1:123456789012:execution:pilotlight-failback:earlier\) of this failback machine is already running/,
        },
    ];
    for (const r of refusals) {
        it(`plan refuses ${r.name}, naming it, and changes nothing`, async () => {
            if (r.arrange) r.arrange();
            else share();
            const result = await run(r.input ?? { snapshotArn: sharedArn(NAME) });
            assert.strictEqual(result.status, "FAILED");
            assert.deepStrictEqual(result.path, ["Plan", "PlanFailed", "NotifyFailure", "Failed"]);
            assert.match(alerts[0].details.Outcome, /^nothing-changed: the plan only reads/);
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].error, r.error, alerts[0].cause);
            assert.match(alerts[0].cause, r.message);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
            assert.deepStrictEqual(sfn.started, []);
        });
    }

    it("a rerun whose copies exist copies nothing again and restores once", async () => {
        share();
        const tags = [{ Key: CREATED_BY_TAG, Value: FAILBACK_JOB }, { Key: SOURCE_TAG, Value: DB }];
        rds.inRegion(DR).addSnapshot(COPY, DB, { kmsKeyId: REPLICA_KEY, tags });
        rds.addSnapshot(COPY, DB, { kmsKeyId: SHARED_KEY, tags });
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(writes(), ["DeleteDBSnapshot@us-west-2"]);
        assert.strictEqual(sfn.started.length, 1);
    });

    it("a rerun after a completed failback finds the restore execution it started and follows it instead of starting a second", async () => {
        share();
        const first = await run();
        assert.strictEqual(first.status, "SUCCEEDED", `${first.error}: ${first.cause}`);
        const again = await run();
        assert.strictEqual(again.status, "SUCCEEDED", `${again.error}: ${again.cause}`);
        assert.strictEqual(sfn.started.length, 1, "one restore execution");
        assert.strictEqual(sfn.calls.filter((c) => c.command === "StartExecution").length, 2, "the second start met ExecutionAlreadyExists");
        assert.strictEqual((again.output as { reusedExecution: boolean }).reusedExecution, true);
        // The intermediate was deleted by the first run; the home copy is found, so nothing is copied again.
        assert.deepStrictEqual(writes(), ["CopyDBSnapshot@us-west-2", "CopyDBSnapshot@us-east-1", "DeleteDBSnapshot@us-west-2"]);
    });

    it("refuses to follow a restore execution of the same name that restores something else", async () => {
        share();
        sfn.addStarted(RESTORE_MACHINE, EXECUTION, JSON.stringify({ identifier: DB, task: "db_restore", isCluster: false, snapshotIdentifier: "pilotlight-db-manual" }), ["SUCCEEDED"]);
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts[0].error, "UnexpectedStateError");
        assert.match(alerts[0].cause, /restore machine execution 'failback-20260301120000' .* exists with another input/);
        assert.ok(!result.path.includes("Cleanup"));
    });

    it("never uses or deletes a snapshot of the copy's name that it did not make", async () => {
        share();
        rds.inRegion(DR).addSnapshot(COPY, DB, { kmsKeyId: REPLICA_KEY, tags: [] });
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts[0].error, "UnexpectedStateError");
        assert.match(alerts[0].cause, /pilotlight-db-fb-20260301120000-sk exists in us-west-2 but was not made by failback/);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    const outcomes: Record<string, RegExp> = {
        plan: /^nothing-changed: the plan only reads/,
        copy_in_dr: /^nothing-changed: no copy was made/,
        copy_home: /^database-untouched: the restore machine was not started/,
        status: /^database-untouched: /,
        start_restore: /^database-untouched: /,
        restore_status: /^restore-running: the restore machine is still working on pilotlight-db/,
    };
    for (const [step, outcome] of Object.entries(outcomes)) {
        it(`a fault at ${step} alerts with where everything is (${outcome.source.slice(1, 20)}...), and leaves the database and the home copy alone`, async () => {
            share();
            faultStep = step;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.deepStrictEqual([alerts[0].source, alerts[0].error], ["failback", "InjectedFault"]);
            assert.match(alerts[0].details.Outcome, outcome);
            assertDatabaseUntouched();
            assert.deepStrictEqual(rds.callsOf("DeleteDBSnapshot"), [], "the intermediate stays until the restore succeeded");
        });
    }

    it("a cleanup that fails after the restore succeeded: the execution succeeds (failed back), and the alert says only the DR-region copy is left", async () => {
        share();
        faultStep = "cleanup";
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.ok(result.path.includes("NotifyCleanupFailed") && !result.path.includes("NotifyFailure"));
        assert.strictEqual(alerts.length, 1);
        assert.strictEqual(alerts[0].subject, `pilotlight failback: ${DB} failed back; the DR-region copy ${COPY} was not deleted`);
        assert.strictEqual(alerts[0].error, "InjectedFault");
        assert.match(alerts[0].details.Outcome, new RegExp(`^failed-back: ${DB} was restored from the home copy ${COPY}; only deleting the DR-region copy failed`));
        assert.strictEqual(alerts[0].details["Restore execution"], `arn:aws:states:${HOME}:${ACCOUNT}:execution:pilotlight-restore:${EXECUTION}`);
        assert.deepStrictEqual(rds.callsOf("DeleteDBSnapshot"), []);
        assert.strictEqual(rds.inRegion(DR).snapshots.get(COPY)!.status, "available");
    });

    for (const [step, error] of [
        ["copy_in_dr", "Lambda.ServiceException"],
        ["copy_home", "Lambda.ServiceException"],
        ["start_restore", "Lambda.ServiceException"],
        ["cleanup", "Lambda.ServiceException"],
        ["copy_in_dr", "States.Timeout"],
        ["copy_home", "States.Timeout"],
        ["start_restore", "States.Timeout"],
        ["cleanup", "States.Timeout"],
        ["status", "States.Timeout"],
        ["restore_status", "States.Timeout"],
    ]) {
        it(`a lost response at ${step} (${error}, the call took effect) is retried and continues: each copy once, one restore, the intermediate deleted once`, async () => {
            share();
            lose = { step, error };
            const result = await run();
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            assert.ok(result.taskFailures.some((f) => f.error === error), "the response was lost");
            assert.deepStrictEqual(writes(), ["CopyDBSnapshot@us-west-2", "CopyDBSnapshot@us-east-1", "DeleteDBSnapshot@us-west-2"]);
            assert.strictEqual(sfn.started.length, 1);
            const output = result.output as { deleted: string[]; intermediate: string };
            assert.deepStrictEqual([output.deleted, output.intermediate], [[`${DR}:${COPY}`], `${DR}:${COPY} deleted`]);
            assert.deepStrictEqual(alerts, []);
        });
    }

    it("a fault while assessing a failure still alerts with the original error, and says the state is unknown", async () => {
        share();
        faultStep = "copy_home";
        const result = await runMachine(definition, { snapshotArn: sharedArn(NAME) }, {
            machineName: "pilotlight-failback",
            handlers: jobMachineHandlers(
                { job: JOB_FN, alert: ALERT_FN },
                async (e: { step: string }) => {
                    if (e.step === "assess") throw Object.assign(new Error("throttled for good"), { name: "AccessDenied" });
                    return handler(e as never);
                },
                { faultStep: () => faultStep, alert: (e) => alerts.push(e) },
            ),
        });
        assert.strictEqual(result.status, "FAILED");
        assert.ok(result.path.includes("AssessFailed"));
        assert.deepStrictEqual([alerts.length, alerts[0].error], [1, "InjectedFault"]);
        assert.match(alerts[0].details.Outcome, /^unknown: /);
    });

    it("a copy refused while a snapshot settles (InvalidDBSnapshotStateFault) is retried", async () => {
        share();
        rds.failNext("CopyDBSnapshot", () => new InvalidDBSnapshotStateFault({ $metadata: {}, message: "DBSnapshot is not available." }), 2);
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(result.taskFailures.filter((f) => f.error === "InvalidDBSnapshotStateFault").length, 2);
    });

    it("the failback's own restore execution still running (an earlier run died) is followed, not refused", async () => {
        share();
        sfn.addStarted(RESTORE_MACHINE, EXECUTION, JSON.stringify({ identifier: DB, task: "db_restore", isCluster: false, snapshotIdentifier: COPY }), ["RUNNING", "SUCCEEDED"]);
        const tags = [{ Key: CREATED_BY_TAG, Value: FAILBACK_JOB }, { Key: SOURCE_TAG, Value: DB }];
        rds.addSnapshot(COPY, DB, { kmsKeyId: SHARED_KEY, tags });
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(sfn.started.length, 1);
        assert.strictEqual(rds.callsOf("CopyDBSnapshot").length, 0, "the home copy was there");
    });

    it("the output carries the restore execution's own output (e.g. the database's new secret)", async () => {
        share();
        sfn.onStart = (e) => ((e.output = JSON.stringify({ outcome: "restored", masterUserSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-new" })), ["RUNNING", "SUCCEEDED"]);
        const result = await run();
        assert.deepStrictEqual((result.output as { restoreOutput: unknown }).restoreOutput, { outcome: "restored", masterUserSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-new" });
    });

    it("is valid ASL with a Retry and a Catch on every Task", () => {
        for (const name of taskStates(definition)) {
            const s = definition.States[name] as { Retry?: unknown[]; Catch?: unknown[] };
            assert.ok(s.Retry?.length && s.Catch?.length, name);
        }
        assert.deepStrictEqual(taskStates(definition), ["Plan", "CopyInDr", "PollDrCopy", "CopyHome", "PollHomeCopy", "StartRestore", "PollRestore", "Cleanup", "NotifyCleanupFailed", "Assess", "NotifyFailure"]);
    });

    for (const isCluster of [false, true]) {
        it(`${isCluster ? "cluster" : "instance"}: the Lambda's policy allows every call the machine made, in the region it made it, and deletes only its own copies`, async () => {
            const kind = isCluster ? "cluster-snapshot" : "snapshot";
            if (isCluster) {
                rds.instances.delete(DB);
                rds.addCluster({ identifier: DB, data: "written-in-prod", info: { KmsKeyId: SHARED_KEY }, members: [{ identifier: `${DB}-1` }] });
                rds.inRegion(DR).addSharedClusterSnapshot(sharedArn(NAME, DR_ACCOUNT, DR, kind), { kmsKeyId: DR_KEY, databaseIdentifier: DB });
                process.env.IS_CLUSTER = "true";
            } else share();
            const result = await run({ snapshotArn: sharedArn(NAME, DR_ACCOUNT, DR, kind) });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            const statements = failbackStatements({
                namePrefix: "pilotlight",
                accountId: ACCOUNT,
                homeRegion: HOME,
                drRegion: DR,
                drAccountId: DR_ACCOUNT,
                identifier: DB,
                drIdentifier: DB,
                isCluster,
                machineName: "pilotlight-failback",
                restoreMachineName: "pilotlight-restore",
                sharedKeyArn: SHARED_KEY,
                replicaKeyArn: REPLICA_KEY,
            });
            const needed = rds.calls.flatMap((c) => rdsAuthorizations(c, { account: ACCOUNT, region: HOME }));
            assert.deepStrictEqual(needed.filter((n) => !allows(statements, n)), []);
            const sfnNeeded = sfn.calls.map((c) => ({ action: `states:${c.command}`, resource: String(c.input.executionArn ?? c.input.stateMachineArn) }));
            assert.deepStrictEqual([...new Set(sfnNeeded.map((n) => n.action))].sort(), ["states:DescribeExecution", "states:ListExecutions", "states:StartExecution"]);
            assert.ok(sfnNeeded.some((n) => n.action === "states:ListExecutions" && n.resource === RESTORE_MACHINE), "the plan looks for restores running on the database");
            assert.deepStrictEqual(sfnNeeded.filter((n) => !allows(statements, n)), []);
            const del = statements.find((s) => s.Sid === "DeleteOnlyOwnDrCopies")!;
            assert.deepStrictEqual(del.Condition, { StringEquals: { [`rds:${isCluster ? "cluster-snapshot-tag" : "snapshot-tag"}/${CREATED_BY_TAG}`]: FAILBACK_JOB } });
            const deleted = rds.calls.filter((c) => c.command.startsWith("Delete"));
            assert.strictEqual(deleted.length, 1);
            const copy = isCluster ? rds.inRegion(DR).clusterSnapshots.get(COPY)! : rds.inRegion(DR).snapshots.get(COPY)!;
            assert.ok(copy.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === FAILBACK_JOB));
            // Neither the home copy nor the dr account's snapshot can be deleted, nor anything else copied.
            for (const refused of [
                { action: `rds:${isCluster ? "DeleteDBClusterSnapshot" : "DeleteDBSnapshot"}`, resource: `arn:aws:rds:${HOME}:${ACCOUNT}:${kind}:${COPY}` },
                { action: `rds:${isCluster ? "DeleteDBClusterSnapshot" : "DeleteDBSnapshot"}`, resource: sharedArn(NAME, DR_ACCOUNT, DR, kind) },
                { action: `rds:${isCluster ? "CopyDBClusterSnapshot" : "CopyDBSnapshot"}`, resource: sharedArn("billing-fb-20260301120000", DR_ACCOUNT, DR, kind) },
                { action: "states:StartExecution", resource: MACHINE.replace("pilotlight-failback", "pilotlight-backup") },
            ]) {
                assert.ok(!allows(statements, refused), `${refused.action} on ${refused.resource} must not be allowed`);
            }
            assert.ok(arnMatches((statements.find((s) => s.Sid === "ReadDrKeyThroughRds")!.Resource as string[])[0], DR_KEY));
        });
    }
});
