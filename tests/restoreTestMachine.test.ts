/** The restore-test machine end to end: real ASL, real handler, fake RDS; faults, bad input, lost responses, leftovers. */
import * as assert from "assert";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { restoreTestDefinition } from "../components/machines/restoreTest";
import { restoreTestStatements } from "../components/restoreTest";
import { handler } from "../functions/restore-test";
import { Connect, createWriter, isOwnThrowaway, plan, probe, remove, restore, runStep, status, RESTORE_TEST_EXECUTION_TAG, RESTORE_TEST_JOB, restoreTestMinutes, settingsFromEnv, TestJob, testIdentifier } from "../functions/lib/restoreTest";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { allows, rdsAuthorizations } from "./iamCheck";
import { assertValidAsl, jobMachineHandlers, runMachine, taskStates } from "./machineHarness";

const REGION = "us-west-2";
const DR = "222222222222";
const PEER = "111111111111";
const JOB_FN = `arn:aws:lambda:${REGION}:${DR}:function:pl-restore-test`;
const PROBE_FN = `arn:aws:lambda:${REGION}:${DR}:function:pl-restore-test-probe`;
const ALERT_FN = `arn:aws:lambda:${REGION}:${DR}:function:pl-alert`;
const DR_KEY = `arn:aws:kms:${REGION}:${DR}:key/dr`;
const MACHINE = "pl-restore-test";

for (const isCluster of [false, true]) {
    const kind = isCluster ? "Aurora cluster" : "instance";
    describe(`restore-test machine (${kind})`, () => {
        const definition = restoreTestDefinition({ job: JOB_FN, probe: PROBE_FN, alert: ALERT_FN }, { isCluster, maxAttempts: 10 });
        let rds: FakeRds;
        let sfn: FakeSfn;
        let cw: ReturnType<typeof mockClient>;
        let alerts: any[];
        let faultStep: string | undefined;
        let probeFails: boolean;
        let probed: { host: string; port: number }[];
        const database = isCluster ? "orders" : "pilotlight-db";

        function run(input: unknown = {}, executionName = "exec-1") {
            const connect: Connect = async (host, port) => {
                probed.push({ host, port });
                if (probeFails) throw new Error("ECONNREFUSED");
            };
            return runMachine(definition, input, {
                machineName: MACHINE,
                executionName,
                handlers: {
                    ...jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
                    [PROBE_FN]: async (event: { job: TestJob }) => probe(connect, event.job),
                },
            });
        }

        /**
         * An older snapshot shared by the peer and a newer copy in this account: the newest wins.
         * (Restoring a shared snapshot by its ARN is what RDS documents too; the fake models
         * restores from this account's snapshots, so the newest here is the own copy.)
         */
        function seedRecoveryPoints() {
            const key = `arn:aws:kms:${REGION}:${PEER}:key/mrk-shared`;
            const shared = `arn:aws:rds:${REGION}:${PEER}:${isCluster ? "cluster-snapshot" : "snapshot"}:${database}-20260301100000`;
            const own = { created: "2026-03-01T11:00:00Z", tags: [{ Key: SOURCE_TAG, Value: database }], kmsKeyId: DR_KEY };
            if (isCluster) {
                rds.addClusterSnapshot(`${database}-bk-20260301020000`, database, own);
                rds.addSharedClusterSnapshot(shared, { created: "2026-03-01T10:00:00Z", kmsKeyId: key, databaseIdentifier: database });
            } else {
                rds.addSnapshot(`${database}-bk-20260301020000`, database, own);
                rds.addSharedSnapshot(shared, { created: "2026-03-01T10:00:00Z", kmsKeyId: key, databaseIdentifier: database });
            }
            // Two accounts: the failover restores only what the primary shared, so the test restores that, not the newer own copy.
            return shared;
        }

        /** Databases of this account that are not being deleted. */
        const live = () => [...[...rds.instances.values()].filter((i) => i.status !== "deleting").map((i) => i.info.DBInstanceIdentifier!), ...[...rds.clusters.values()].filter((c) => c.status !== "deleting").map((c) => c.info.DBClusterIdentifier!)].sort();

        beforeEach(() => {
            rds = new FakeRds({ region: REGION, account: DR });
            rds.addSubnetGroup("pl-dr-db", [`${REGION}a`, `${REGION}b`]);
            sfn = new FakeSfn();
            cw = mockClient(CloudWatchClient);
            cw.on(PutMetricDataCommand).resolves({});
            alerts = [];
            faultStep = undefined;
            probeFails = false;
            probed = [];
            Object.assign(process.env, {
                NAME_PREFIX: "pl",
                TARGET: JSON.stringify([{ database, isCluster, kind: "snapshots", sharedFrom: PEER }]),
                INSTANCE_CLASS: "db.t4g.medium",
                SUBNET_GROUP_NAME: "pl-dr-db",
                SECURITY_GROUP_ID: "sg-0restoretest000001",
                KMS_KEY_ARN: DR_KEY,
                AWS_REGION: REGION,
            });
        });
        afterEach(() => {
            rds.restore();
            sfn.restore();
            cw.restore();
            // Lambda sets AWS_REGION; here it would change the region of every later client built without one.
            delete process.env.AWS_REGION;
        });

        const metrics = () => cw.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData!.map((m) => [m.MetricName, m.Value]));

        it("is valid ASL whose every Task retries and is caught", () => {
            assertValidAsl(definition);
            assert.ok(taskStates(definition).length >= (isCluster ? 11 : 9));
        });

        it("restores the newest recovery point into a throwaway, probes it, records the RTO, deletes it", async () => {
            const shared = seedRecoveryPoints();
            const result = await run();
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause} ${JSON.stringify(alerts)}`);
            assert.deepStrictEqual(alerts, []);
            const restoreCall = rds.callsOf(isCluster ? "RestoreDBClusterFromSnapshot" : "RestoreDBInstanceFromDBSnapshot")[0].input;
            assert.strictEqual(restoreCall[isCluster ? "SnapshotIdentifier" : "DBSnapshotIdentifier"], shared);
            assert.deepStrictEqual(restoreCall.VpcSecurityGroupIds, ["sg-0restoretest000001"]);
            if (!isCluster) assert.strictEqual(restoreCall.PubliclyAccessible, false);
            if (isCluster) {
                // The writer only after the cluster is available.
                const order = rds.mutatingCalls().map((c) => c.command);
                assert.ok(order.indexOf("CreateDBInstance") > order.indexOf("RestoreDBClusterFromSnapshot"));
                assert.strictEqual(rds.callsOf("CreateDBInstance")[0].input.PubliclyAccessible, false);
            }
            assert.strictEqual(probed.length, 1);
            const m = metrics();
            assert.deepStrictEqual(m.find((x) => x[0] === "RestoreTestSucceeded"), ["RestoreTestSucceeded", 1]);
            assert.ok(m.some((x) => x[0] === "RestoreTestMinutes" && typeof x[1] === "number"), JSON.stringify(m));
            assert.deepStrictEqual(live(), [], "the throwaway is gone");
            // Nothing but the throwaway was ever deleted.
            for (const d of [...rds.callsOf("DeleteDBInstance"), ...rds.callsOf("DeleteDBCluster")]) {
                assert.match(String(d.input.DBInstanceIdentifier ?? d.input.DBClusterIdentifier), /^pl-rtest-\d{14}(-w)?$/);
            }
        });

        it("every call it makes is allowed by its policy, and its policy lets it delete nothing but throwaways", async () => {
            seedRecoveryPoints();
            await run();
            const statements = restoreTestStatements({ namePrefix: "pl", accountId: DR, region: REGION, target: { database, isCluster, kind: "snapshots", sharedFrom: PEER }, machineName: MACHINE, subnetGroupName: "pl-dr-db", kmsKeyArn: DR_KEY });
            for (const call of rds.calls) {
                for (const a of rdsAuthorizations(call, { account: DR, region: REGION })) assert.ok(allows(statements, a), `${call.command} needs ${a.action} on ${a.resource}`);
            }
            assert.ok(!allows(statements, { action: "rds:DeleteDBInstance", resource: `arn:aws:rds:${REGION}:${DR}:db:${database}` }));
            assert.ok(!allows(statements, { action: "rds:DeleteDBCluster", resource: `arn:aws:rds:${REGION}:${DR}:cluster:${database}` }));
        });

        it("a probe that cannot connect fails the test: the throwaway is deleted, the result recorded as 0, the alert names it", async () => {
            seedRecoveryPoints();
            probeFails = true;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.deepStrictEqual(live(), []);
            assert.deepStrictEqual(metrics(), [["RestoreTestSucceeded", 0]]);
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].error, "ProbeFailedError");
            assert.match(alerts[0].cause, /did not accept a connection/);
        });

        const mutatingSteps = isCluster ? ["restore", "create_writer", "record"] : ["restore", "record"];
        for (const step of [...mutatingSteps, "status_restore"]) {
            it(`a fault at ${step} cleans up only this run's throwaway and alerts`, async () => {
                seedRecoveryPoints();
                faultStep = step;
                const result = await run();
                assert.strictEqual(result.status, "FAILED");
                assert.deepStrictEqual(live(), []);
                assert.strictEqual(alerts.length, 1);
                assert.strictEqual(alerts[0].error, "InjectedFault");
            });
        }

        it("a fault at delete leaves the throwaway and says so in the alert", async () => {
            seedRecoveryPoints();
            faultStep = "delete";
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(live().length, isCluster ? 2 : 1, "the cleanup is the delete step, which the fault also hits");
        });

        it("a lost response at the restore continues with its own throwaway (no second restore, no failure)", async () => {
            seedRecoveryPoints();
            const s = settingsFromEnv(process.env);
            const job: TestJob = {
                identifier: testIdentifier("pl", "2026-03-01T12:00:00Z"),
                isCluster,
                snapshot: `${database}-bk-20260301020000`,
                recoveryPointTime: "2026-03-01T10:00:00.000Z",
                engine: isCluster ? "aurora-postgresql" : "postgres",
                executionArn: `arn:aws:states:${REGION}:${DR}:execution:${MACHINE}:exec-1`,
            };
            const rdsClient = new RDSClient({ region: REGION });
            const first = await restore(rdsClient, s, job, new Date("2026-03-01T12:00:01Z"));
            const again = await restore(rdsClient, s, job, new Date("2026-03-01T12:05:00Z"));
            assert.strictEqual(rds.callsOf(isCluster ? "RestoreDBClusterFromSnapshot" : "RestoreDBInstanceFromDBSnapshot").length, 1);
            assert.strictEqual(again.restoreStartedAt, "2026-03-01T12:05:00.000Z");
            assert.strictEqual(first.restoreStartedAt, "2026-03-01T12:00:01.000Z");
            // Another run's execution tag: an impostor under this name is not adopted, and not deleted.
            const other = { ...job, executionArn: `${job.executionArn}-other` };
            await assert.rejects(restore(rdsClient, s, other), /was not created by this run/);
            const removed = await remove(rdsClient, s, other);
            assert.ok(removed.removed.some((r) => r.includes("not this run's, left alone")), JSON.stringify(removed.removed));
            assert.strictEqual(rds.callsOf("DeleteDBInstance").length + rds.callsOf("DeleteDBCluster").length, 0);
        });

        it("refuses to start while a leftover of an earlier run exists, and touches nothing", async () => {
            seedRecoveryPoints();
            faultStep = "delete";
            await run(); // leaves a throwaway behind
            faultStep = undefined;
            alerts = [];
            const before = rds.mutatingCalls().length;
            const result = await run({}, "exec-2");
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts[0].error, "LeftoverTestDatabaseError");
            assert.match(alerts[0].cause, /pl-rtest-\d{14}/);
            assert.strictEqual(rds.mutatingCalls().length, before);
        });

        it("refuses bad input and a concurrent run before any RDS call", async () => {
            seedRecoveryPoints();
            for (const input of ["now", [1], 5, { database: "x" }, { force: true }]) {
                alerts = [];
                const result = await run(input);
                assert.strictEqual(result.status, "FAILED", JSON.stringify(input));
                assert.strictEqual(alerts[0].error, "InvalidInputError", JSON.stringify(input));
            }
            sfn.running.push({ name: "other", stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${MACHINE}` } as never);
            alerts = [];
            const result = await run({});
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts[0].error, "ConcurrentRunError");
            assert.strictEqual(rds.mutatingCalls().length, 0);
        });

        it("without any recovery point it fails before restoring: a failover would have nothing either", async () => {
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts[0].error, "SnapshotNotFoundError");
            assert.strictEqual(rds.mutatingCalls().length, 0);
        });
    });
}

describe("restore-test ownership and timing", () => {
    const s = { namePrefix: "pl", target: { database: "db", isCluster: false, kind: "snapshots" as const }, instanceClass: "c", subnetGroupName: "g", securityGroupId: "sg", kmsKeyArn: "k", region: "us-west-2" };
    const job = { identifier: "pl-rtest-20260301120000", executionArn: "arn:exec:1" };
    const tags = (createdBy: string, exec: string) => [
        { Key: CREATED_BY_TAG, Value: createdBy },
        { Key: RESTORE_TEST_EXECUTION_TAG, Value: exec },
    ];
    it("own only with the name pattern, the job's tag, this execution's tag and this run's record", () => {
        assert.ok(isOwnThrowaway(s, job, "pl-rtest-20260301120000", tags(RESTORE_TEST_JOB, "arn:exec:1")));
        assert.ok(isOwnThrowaway(s, job, "pl-rtest-20260301120000-w", tags(RESTORE_TEST_JOB, "arn:exec:1")));
        assert.ok(!isOwnThrowaway(s, job, "pl-rtest-20260301120000", tags("restore-machine", "arn:exec:1")), "another job's tag");
        assert.ok(!isOwnThrowaway(s, job, "pl-rtest-20260301120000", tags(RESTORE_TEST_JOB, "arn:exec:2")), "another run's throwaway");
        assert.ok(!isOwnThrowaway(s, job, "pl-rtest-20260301110000", tags(RESTORE_TEST_JOB, "arn:exec:1")), "not this run's record");
        assert.ok(!isOwnThrowaway(s, { ...job, identifier: "pilotlight-db" }, "pilotlight-db", tags(RESTORE_TEST_JOB, "arn:exec:1")), "not the pattern");
        assert.ok(!isOwnThrowaway(s, job, "pl-rtest-20260301120000", []), "untagged");
    });
    it("the identifier comes from the run's start; the RTO from the restore call to available, in tenths of minutes", () => {
        assert.strictEqual(testIdentifier("pl", "2026-03-01T12:34:56.789Z"), "pl-rtest-20260301123456");
        assert.throws(() => testIdentifier("pl", "soon"), /not a timestamp/);
        const base = { identifier: "x", isCluster: false, snapshot: "s", recoveryPointTime: "", engine: "postgres", executionArn: "e" };
        assert.strictEqual(restoreTestMinutes({ ...base, restoreStartedAt: "2026-03-01T12:00:00Z", availableAt: "2026-03-01T12:12:30Z" }), 12.5);
        assert.strictEqual(restoreTestMinutes({ ...base, restoreStartedAt: "2026-03-01T12:00:00Z" }), undefined);
    });
});

describe("restore-test steps, one by one", () => {
    const REGION2 = "us-west-2";
    const EXEC = `arn:aws:states:${REGION2}:${DR}:execution:${MACHINE}:exec-1`;
    const settings = (target: object = { database: "db", isCluster: false, kind: "snapshots" }) => ({
        namePrefix: "pl",
        target: target as never,
        instanceClass: "db.t4g.medium",
        subnetGroupName: "pl-dr-db",
        securityGroupId: "sg-1",
        kmsKeyArn: DR_KEY,
        region: REGION2,
    });
    const own = (exec = EXEC) => [
        { Key: CREATED_BY_TAG, Value: RESTORE_TEST_JOB },
        { Key: RESTORE_TEST_EXECUTION_TAG, Value: exec },
    ];
    let rds: FakeRds;
    let sfn: FakeSfn;
    beforeEach(() => {
        rds = new FakeRds({ region: REGION2, account: DR });
        sfn = new FakeSfn();
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
    });
    const client = () => new RDSClient({ region: REGION2 });
    const ctx = { startedAt: "2026-03-01T12:00:00Z", executionArn: EXEC, stateMachineArn: `arn:aws:states:${REGION2}:${DR}:stateMachine:${MACHINE}` };
    const planOf = (input: unknown = {}) => plan({ rds: client(), sfn: new SFNClient({}) }, settings(), { input, ...ctx });

    it("reads its settings, refusing a missing one and a point-in-time source", () => {
        const env = { NAME_PREFIX: "pl", TARGET: JSON.stringify([{ database: "db", isCluster: false, kind: "snapshots" }]), INSTANCE_CLASS: "c", SUBNET_GROUP_NAME: "g", SECURITY_GROUP_ID: "sg", KMS_KEY_ARN: "k", AWS_REGION: "us-west-2" };
        assert.strictEqual(settingsFromEnv(env).namePrefix, "pl");
        assert.throws(() => settingsFromEnv({ ...env, SECURITY_GROUP_ID: "" }), /SECURITY_GROUP_ID is not set/);
        assert.throws(() => settingsFromEnv({ ...env, TARGET: JSON.stringify([{ database: "db", isCluster: false, kind: "automatedBackups", automatedBackupsArn: "arn:x" }]) }), /point-in-time failover source is not tested/);
    });

    it("leftovers: this job's pattern and tag make one (instances, writers, clusters, sorted); either alone does not", async () => {
        rds.addSnapshot("db-bk-20260301000000", "db", { tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        rds.addInstance({ identifier: "pl-rtest-20260201000000", tags: own("arn:old") });
        rds.addInstance({ identifier: "pl-rtest-20260101000000", tags: own("arn:older") });
        rds.addInstance({ identifier: "pl-rtest-20260301000000", tags: [] }); // the pattern without the tag
        rds.addInstance({ identifier: "db", tags: own("arn:old") }); // the tag without the pattern
        await assert.rejects(planOf(), (e: Error) => e.name === "LeftoverTestDatabaseError" && /pl-rtest-20260101000000, pl-rtest-20260201000000;/.test(e.message));
        rds.instances.delete("pl-rtest-20260201000000");
        rds.instances.delete("pl-rtest-20260101000000");
        const job = await planOf();
        assert.strictEqual(job.identifier, "pl-rtest-20260301120000");
        rds.addCluster({ identifier: "pl-rtest-20260115000000", tags: own("arn:old"), members: [{ identifier: "pl-rtest-20260115000000-w" }] });
        // The cluster carries the tag; its member here does not, so only the cluster is a leftover.
        await assert.rejects(planOf(), /still exist: pl-rtest-20260115000000;/);
    });

    it("restores what the failover would: in two accounts the newest SHARED snapshot, not the dr account's newer own copy", async () => {
        rds.addSnapshot("db-bk-20260301090000", "db", { created: "2026-03-01T11:59:00Z", tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        const shared = `arn:aws:rds:${REGION2}:${PEER}:snapshot:db-bk-20260301100000`;
        rds.addSharedSnapshot(shared, { created: "2026-03-01T10:00:00Z", kmsKeyId: "k", databaseIdentifier: "db" });
        const job = await plan({ rds: client(), sfn: new SFNClient({}) }, settings({ database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }), { input: {}, ...ctx });
        assert.strictEqual(job.snapshot, shared);
        assert.strictEqual(job.recoveryPointTime, "2026-03-01T10:00:00.000Z");
        rds.sharedWithMe.delete(shared);
        await assert.rejects(
            plan({ rds: client(), sfn: new SFNClient({}) }, settings({ database: "db", isCluster: false, kind: "snapshots", sharedFrom: PEER }), { input: {}, ...ctx }),
            (e: Error) => e.name === "SnapshotNotFoundError" && /no available snapshot of db owned by account/.test(e.message),
        );
    });

    it("takes no input fields and needs an engine on the recovery point", async () => {
        rds.addSnapshot("db-bk-20260301000000", "db", { tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        await assert.rejects(planOf({ identifier: "db" }), /takes no fields; unknown: identifier/);
        rds.snapshots.get("db-bk-20260301000000")!.info.Engine = undefined;
        await assert.rejects(planOf(), /names no engine/);
    });

    it("restores an instance single-AZ, private, unprotected, tagged as this run's own", async () => {
        rds.addSnapshot("db-bk-20260301000000", "db", { tags: [{ Key: SOURCE_TAG, Value: "db" }] });
        const job = await planOf();
        await restore(client(), settings(), job);
        const input = rds.callsOf("RestoreDBInstanceFromDBSnapshot")[0].input;
        assert.deepStrictEqual([input.MultiAZ, input.PubliclyAccessible, input.DeletionProtection, input.DBSubnetGroupName], [false, false, false, "pl-dr-db"]);
        assert.deepStrictEqual(input.Tags, own());
    });

    it("a cluster's writer: created once, a retry continues with its own, an impostor stops it", async () => {
        const s = settings({ database: "aur", isCluster: true, kind: "snapshots" });
        const job: TestJob = { identifier: "pl-rtest-20260301120000", isCluster: true, snapshot: "aur-v1", recoveryPointTime: "", engine: "aurora-postgresql", executionArn: EXEC, attempt: 4 };
        rds.addCluster({ identifier: job.identifier, tags: own(), members: [] });
        const first = await createWriter(client(), s, job);
        assert.deepStrictEqual([first.attempt, first.status], [0, undefined]);
        const again = await createWriter(client(), s, { ...job, attempt: 7 });
        assert.strictEqual(again.attempt, 0);
        assert.strictEqual(rds.callsOf("CreateDBInstance").length, 1);
        await assert.rejects(createWriter(client(), s, { ...job, executionArn: `${EXEC}-other` }), /exists but was not created by this run/);
    });

    it("counts polls while waiting, and reports deleted once the throwaway is gone", async () => {
        const job: TestJob = { identifier: "pl-rtest-20260301120000", isCluster: false, snapshot: "s", recoveryPointTime: "", engine: "postgres", executionArn: EXEC };
        rds.addInstance({ identifier: job.identifier, status: "creating", tags: own() });
        const first = await status(client(), job, "restore");
        const second = await status(client(), first, "restore");
        assert.deepStrictEqual([first.attempt, second.attempt], [1, 2]);
        assert.strictEqual((await status(client(), job, "delete")).status, "deleting");
        rds.instances.delete(job.identifier);
        assert.strictEqual((await status(client(), job, "delete")).status, "deleted");
        await assert.rejects(status(client(), job, "restore"), /is gone while the restore test waits/);
    });

    it("a delete that races with another delete ends as gone, and an unknown step is refused", async () => {
        const job: TestJob = { identifier: "pl-rtest-20260301120000", isCluster: false, snapshot: "s", recoveryPointTime: "", engine: "postgres", executionArn: EXEC };
        rds.addInstance({ identifier: job.identifier, tags: own() });
        rds.failNext("DeleteDBInstance", () => Object.assign(new Error("gone"), { name: "DBInstanceNotFoundFault" }));
        assert.deepStrictEqual((await remove(client(), settings(), job)).removed, ["pl-rtest-20260301120000: gone"]);
        rds.failNext("DeleteDBInstance", () => Object.assign(new Error("denied"), { name: "AccessDenied" }));
        await assert.rejects(remove(client(), settings(), job), /denied/);
        await assert.rejects(remove(client(), settings(), { ...job, identifier: "db" }), /not a restore-test identifier/);
        await assert.rejects(runStep({ rds: client(), sfn: new SFNClient({}), cloudwatch: new CloudWatchClient({}) }, settings(), { step: "explode" as never }), /unknown step "explode"/);
    });
});
