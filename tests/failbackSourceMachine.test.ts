/** The dr side's failback-source machine over the dr account's fake RDS. */
import * as assert from "assert";
import { failbackSourceStatements } from "../components/failback";
import { failbackSourceDefinition } from "../components/machines/failback";
import { handler } from "../functions/failback-source";
import { FAILBACK_SOURCE_JOB, runSourceStep } from "../functions/lib/failback";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { allows, rdsAuthorizations } from "./iamCheck";
import { HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, RunResult, runMachine, taskStates } from "./machineHarness";
import { losingFirstResponse } from "./failbackFaults";
import { InvalidDBInstanceStateFault, RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";

const DR = "us-west-2";
const DR_ACCOUNT = "222222222222";
const PROD_ACCOUNT = "111111111111";
const DB = "pilotlight-db";
const DR_KEY = `arn:aws:kms:${DR}:${DR_ACCOUNT}:key/dr`;
const JOB_FN = `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:pilotlight-failback-source`;
const ALERT_FN = `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:pilotlight-alert`;
const MACHINE = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:pilotlight-failback-source`;
const ENV_KEYS = ["REGION", "DATABASE", "IS_CLUSTER", "PEER_ACCOUNT_ID"];

const crossAccount = failbackSourceDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10 });
const sameAccount = failbackSourceDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10, share: false });
const OURS = [
    { Key: CREATED_BY_TAG, Value: FAILBACK_SOURCE_JOB },
    { Key: SOURCE_TAG, Value: DB },
];

describe("failback source machine (dr)", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let alerts: { source: string; error: string; cause: string; details: Record<string, string> }[];
    let faultStep: string | undefined;

    let lose: { step: string; error: string } | undefined;

    function run(definition: object = crossAccount, input: unknown = {}): Promise<RunResult> {
        return runMachine(definition, input, {
            machineName: "pilotlight-failback-source",
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, losingFirstResponse(handler, () => lose), { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
        });
    }

    beforeEach(() => {
        rds = new FakeRds({ region: DR, account: DR_ACCOUNT });
        sfn = new FakeSfn();
        rds.addInstance({ identifier: DB, data: "written-in-dr", info: { KmsKeyId: DR_KEY } });
        alerts = [];
        faultStep = undefined;
        lose = undefined;
        Object.assign(process.env, { REGION: DR, DATABASE: DB, IS_CLUSTER: "false", PEER_ACCOUNT_ID: PROD_ACCOUNT });
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        for (const k of ENV_KEYS) delete process.env[k];
    });

    it("snapshots the DR database as <db>-fb-<start time>, tagged, shares it with the primary once available, and outputs what the primary needs", async () => {
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const [snap] = [...rds.snapshots.values()];
        const id = snap.info.DBSnapshotIdentifier!;
        assert.match(id, /^pilotlight-db-fb-\d{14}$/);
        assert.deepStrictEqual(snap.tags, OURS);
        assert.strictEqual(snap.data, "written-in-dr");
        assert.deepStrictEqual(snap.restoreAccounts, [PROD_ACCOUNT]);
        assert.deepStrictEqual(
            rds.mutatingCalls().map((c) => [c.command, c.input]),
            [
                ["CreateDBSnapshot", { DBInstanceIdentifier: DB, DBSnapshotIdentifier: id, Tags: OURS }],
                ["ModifyDBSnapshotAttribute", { DBSnapshotIdentifier: id, AttributeName: "restore", ValuesToAdd: [PROD_ACCOUNT] }],
            ],
        );
        assert.ok(result.visits.PollSnapshot >= 2, "shared only once the snapshot was available");
        assert.deepStrictEqual(result.output, { snapshotArn: `arn:aws:rds:${DR}:${DR_ACCOUNT}:snapshot:${id}`, snapshotIdentifier: id, createdAt: snap.info.SnapshotCreateTime!.toISOString(), isCluster: false });
        assert.deepStrictEqual(alerts, []);
    });

    it("an Aurora cluster gets a cluster snapshot, shared the cluster way", async () => {
        rds.addCluster({ identifier: "pilotlight-db", data: "aurora-in-dr", info: { KmsKeyId: DR_KEY }, members: [{ identifier: "pilotlight-db-1" }] });
        rds.instances.delete(DB);
        process.env.IS_CLUSTER = "true";
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["CreateDBClusterSnapshot", "ModifyDBClusterSnapshotAttribute"]);
        const [snap] = [...rds.clusterSnapshots.values()];
        assert.deepStrictEqual([snap.data, snap.restoreAccounts, (result.output as { isCluster: boolean }).isCluster], ["aurora-in-dr", [PROD_ACCOUNT], true]);
        assert.match((result.output as { snapshotArn: string }).snapshotArn, /:cluster-snapshot:pilotlight-db-fb-\d{14}$/);
    });

    it("in a same-account setup shares nothing: the definition has no Share state", async () => {
        process.env.PEER_ACCOUNT_ID = "";
        assert.ok(!taskStates(sameAccount).includes("Share") && taskStates(crossAccount).includes("Share"));
        const result = await run(sameAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["CreateDBSnapshot"]);
        assert.deepStrictEqual([...rds.snapshots.values()][0].restoreAccounts, undefined);
    });

    const refusals: { name: string; input?: unknown; arrange?: () => void; error: string; message: RegExp }[] = [
        { name: "a missing database", arrange: () => rds.instances.delete(DB), error: "DatabaseNotFoundError", message: /DB instance 'pilotlight-db' does not exist in us-west-2/ },
        { name: "a database that is not available", arrange: () => rds.stick("instance", DB, "backing-up"), error: "DatabaseNotReadyError", message: /DB instance 'pilotlight-db' in us-west-2 is 'backing-up', not available/ },
        { name: "any input", input: { snapshot: "mine" }, error: "InvalidInputError", message: /unknown input field\(s\) snapshot; this machine takes no input: start it with \{\}/ },
        { name: "another run of the machine", arrange: () => sfn.addRunning(MACHINE, "earlier", {}), error: "ConcurrentRunError", message: /execution 'earlier' .* of this failback-source machine is already running/ },
    ];
    for (const r of refusals) {
        it(`plan refuses ${r.name}, naming it, and changes nothing`, async () => {
            r.arrange?.();
            const result = await run(crossAccount, r.input ?? {});
            assert.strictEqual(result.status, "FAILED");
            assert.deepStrictEqual(result.path, ["Plan", "PlanFailed", "NotifyFailure", "Failed"]);
            assert.deepStrictEqual([alerts.length, alerts[0].source, alerts[0].error], [1, "failback-source", r.error]);
            assert.match(alerts[0].cause, r.message);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    }

    it("a snapshot that fails is a failure, and is not shared", async () => {
        rds.timelines.snapshotCreate = ["creating", "failed"];
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts[0].error, "ResourceFailedError");
        assert.match(alerts[0].cause, /snapshot pilotlight-db-fb-\d{14} in us-west-2 is failed/);
        assert.deepStrictEqual(rds.callsOf("ModifyDBSnapshotAttribute"), []);
    });

    for (const step of ["plan", "snapshot", "status", "share"]) {
        it(`a fault at ${step} alerts; nothing is shared before the snapshot is available`, async () => {
            faultStep = step;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.deepStrictEqual([alerts.length, alerts[0].source, alerts[0].error], [1, "failback-source", "InjectedFault"]);
            assert.deepStrictEqual(rds.mutatingCalls().filter((c) => !["CreateDBSnapshot"].includes(c.command)), []);
            assert.strictEqual(rds.instances.get(DB)!.status, "available");
        });
    }

    it("a retried snapshot step takes no second snapshot; one of the same name it did not take is refused", async () => {
        const clients = { rds: () => new RDSClient({ region: DR }), sfn: new SFNClient({}) };
        const settings = { region: DR, identifier: DB, isCluster: false, peerAccountId: PROD_ACCOUNT };
        const job = { identifier: DB, isCluster: false, snapshotIdentifier: "pilotlight-db-fb-20260301120000", attempt: 0 };
        await runSourceStep(clients, settings, { step: "snapshot", job });
        await runSourceStep(clients, settings, { step: "snapshot", job });
        assert.strictEqual(rds.callsOf("CreateDBSnapshot").length, 1);
        rds.addSnapshot("pilotlight-db-fb-20260301130000", DB, { tags: [] });
        await assert.rejects(runSourceStep(clients, settings, { step: "snapshot", job: { ...job, snapshotIdentifier: "pilotlight-db-fb-20260301130000" } }), { name: "UnexpectedStateError", message: /was not taken by failback-source/ });
        await assert.rejects(runSourceStep(clients, settings, { step: "prune", job }), { name: "InvalidInputError", message: /unknown step "prune"; expected plan or snapshot, status, share/ });
    });

    for (const [step, error] of [
        ["snapshot", "Lambda.ServiceException"],
        ["share", "Lambda.ServiceException"],
        ["snapshot", "States.Timeout"],
        ["share", "States.Timeout"],
    ]) {
        it(`a lost response at ${step} (${error}, the call took effect) is retried and continues: one snapshot, shared once`, async () => {
            lose = { step, error };
            const result = await run();
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            assert.ok(result.taskFailures.some((f) => f.error === error), "the response was lost");
            assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["CreateDBSnapshot", "ModifyDBSnapshotAttribute"]);
            assert.deepStrictEqual([...rds.snapshots.values()].map((x) => x.restoreAccounts), [[PROD_ACCOUNT]]);
            assert.deepStrictEqual(alerts, []);
        });
    }

    it("a poll whose response is lost (States.Timeout) is retried", async () => {
        lose = { step: "status", error: "States.Timeout" };
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(result.taskFailures, [{ state: "PollSnapshot", error: "States.Timeout" }]);
    });

    it("a database busy for a while (InvalidDBInstanceStateFault: backing-up) is retried until it can be snapshot", async () => {
        rds.failNext("CreateDBSnapshot", () => new InvalidDBInstanceStateFault({ $metadata: {}, message: "DBInstance pilotlight-db is backing-up." }), 3);
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.strictEqual(result.taskFailures.filter((f) => f.error === "InvalidDBInstanceStateFault").length, 3);
        assert.strictEqual(rds.snapshots.size, 1);
    });

    it("a failure after the snapshot says where it is and whether it was shared", async () => {
        faultStep = "share";
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        const [snap] = [...rds.snapshots.values()];
        assert.deepStrictEqual(Object.keys(alerts[0].details), ["Outcome", "Database", "Snapshot"]);
        assert.match(alerts[0].details.Outcome, /^snapshot-kept: /);
        assert.strictEqual(alerts[0].details.Database, `${DB} in ${DR}: not changed`);
        assert.strictEqual(alerts[0].details.Snapshot, `${snap.info.DBSnapshotArn} (available), not shared with ${PROD_ACCOUNT} yet`);
    });

    it("a failure before any snapshot says nothing changed; a plan refusal too", async () => {
        faultStep = "snapshot";
        await run();
        assert.match(alerts[0].details.Outcome, /^nothing-changed: /);
        assert.match(alerts[0].details.Snapshot, /^none: pilotlight-db-fb-\d{14} was not taken$/);
        alerts = [];
        faultStep = undefined;
        await run(crossAccount, { extra: 1 });
        assert.match(alerts[0].details.Outcome, /^nothing-changed: /);
    });

    it("a fault while assessing the failure still alerts, with the original error", async () => {
        faultStep = "share";
        const result = await run(crossAccount, {}, );
        assert.strictEqual(result.status, "FAILED");
        alerts = [];
        const twice = await runMachine(crossAccount, {}, {
            machineName: "pilotlight-failback-source",
            executionName: "exec-2",
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, async (e: { step: string }) => {
                if (e.step === "assess") throw Object.assign(new Error("describe denied"), { name: "AccessDenied" });
                return handler(e as never);
            }, { faultStep: () => "share", alert: (e) => alerts.push(e) }),
        });
        assert.strictEqual(twice.status, "FAILED");
        assert.deepStrictEqual([alerts.length, alerts[0].error], [1, "InjectedFault"]);
        assert.match(alerts[0].details.Outcome, /^unknown: /);
    });

    it("the plan refuses a null, array or string input (the local runner cannot start with one)", async () => {
        const clients = { rds: () => new RDSClient({ region: DR }), sfn: new SFNClient({}) };
        const settings = { region: DR, identifier: DB, isCluster: false, peerAccountId: PROD_ACCOUNT };
        const context = { startedAt: "2026-03-01T12:00:00Z", executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:x`, stateMachineArn: MACHINE };
        for (const [input, shown] of [[null, "null"], [[], "\\[\\]"], ["{}", '"\\{\\}"']] as const) {
            await assert.rejects(runSourceStep(clients, settings, { step: "plan", input, ...context }), { name: "InvalidInputError", message: new RegExp(`input must be a JSON object like \\{\\}; got ${shown}$`) });
        }
        assert.deepStrictEqual(rds.calls, []);
    });

    for (const isCluster of [false, true]) {
        it(`${isCluster ? "cluster" : "instance"}: the Lambda's policy allows every call the machine made and shares only its own snapshots`, async () => {
            if (isCluster) {
                rds.instances.delete(DB);
                rds.addCluster({ identifier: DB, info: { KmsKeyId: DR_KEY }, members: [{ identifier: `${DB}-1` }] });
                process.env.IS_CLUSTER = "true";
            }
            const result = await run();
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            const statements = failbackSourceStatements({ accountId: DR_ACCOUNT, region: DR, identifier: DB, isCluster, machineName: "pilotlight-failback-source", peerAccountId: PROD_ACCOUNT });
            const needed = rds.calls.flatMap((c) => rdsAuthorizations(c, { account: DR_ACCOUNT, region: DR }));
            assert.ok(needed.some((n) => n.action.endsWith("SnapshotAttribute")));
            assert.deepStrictEqual(needed.filter((n) => !allows(statements, n)), []);
            const listed = sfn.calls.map((c) => ({ action: `states:${c.command}`, resource: String(c.input.stateMachineArn).replace(`${HARNESS_REGION}:${HARNESS_ACCOUNT}`, `${DR}:${DR_ACCOUNT}`) }));
            assert.deepStrictEqual([listed.length, listed.filter((n) => !allows(statements, n))], [1, []]);
            const shareStatement = statements.find((s) => s.Sid === "ShareWithPrimary")!;
            const tagKey = `rds:${isCluster ? "cluster-snapshot-tag" : "snapshot-tag"}/${CREATED_BY_TAG}`;
            assert.deepStrictEqual(shareStatement.Condition, { StringEquals: { [tagKey]: FAILBACK_SOURCE_JOB } });
            const snap = isCluster ? [...rds.clusterSnapshots.values()][0] : [...rds.snapshots.values()][0];
            assert.ok(snap.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === FAILBACK_SOURCE_JOB), "what it shared carries the tag the condition asks for");
            const kind = isCluster ? "cluster-snapshot" : "snapshot";
            for (const refused of [
                { action: `rds:${isCluster ? "ModifyDBClusterSnapshotAttribute" : "ModifyDBSnapshotAttribute"}`, resource: `arn:aws:rds:${DR}:${DR_ACCOUNT}:${kind}:pilotlight-db-copy-latest` },
                { action: `rds:${isCluster ? "CreateDBClusterSnapshot" : "CreateDBSnapshot"}`, resource: `arn:aws:rds:${DR}:${DR_ACCOUNT}:${isCluster ? "cluster" : "db"}:pilotlight-db-v1` },
            ]) {
                assert.ok(!allows(statements, refused), `${refused.action} on ${refused.resource} must not be allowed`);
            }
        });
    }
});
