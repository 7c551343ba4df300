import * as assert from "assert";
import { InvalidDBClusterStateFault, InvalidDBInstanceStateFault } from "@aws-sdk/client-rds";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";
import { FakeDynamo } from "./fakeDynamo";
import { ACCOUNT, FakeRds, REGION } from "./fakeRds";
import { allows, rdsAuthorizations } from "./iamCheck";
import { recoveryStatements } from "../components/auroraFailover";
import { Handler, runMachine, RunResult, taskStates } from "./machineHarness";
import { auroraFailoverDefinition, AuroraFailoverMachineArgs, machineTimeoutSeconds, RecoveryWaits, S, DEFAULT_RECOVERY_WAITS } from "../components/machines/auroraFailover";
import { RECOVERY_STATUS_TAG } from "../functions/lib/auroraFailover";
import { CREATED_BY_TAG, WRITER_CLASS_TAG } from "../functions/lib/tags";
import { handler as assess } from "../functions/aurora-assess";
import { handler as guard } from "../functions/aurora-guard";
import { handler as reader } from "../functions/aurora-reader";
import { handler as switcher } from "../functions/aurora-switch";
import { handler as demoted } from "../functions/aurora-demoted";
import { handler as record } from "../functions/aurora-record";
import { handler as alert } from "../functions/alert";

const CLUSTER = "orders-aurora";
const TABLE = "pilotlight-aurora-failover";
const BIG = "db.r6g.2xlarge";
const SMALL = "db.r6g.large";
const MONITORING_ROLE = "arn:aws:iam::123456789012:role/rds-monitoring";
const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
const ARNS = { assessArn: fn("assess"), guardArn: fn("guard"), readerArn: fn("reader"), switchArn: fn("switch"), demotedArn: fn("demoted"), alertArn: fn("alert") };
const WAITS: RecoveryWaits = { cluster: { seconds: 30, attempts: 3 }, reader: { seconds: 60, attempts: 8 }, writer: { seconds: 15, attempts: 6 } };

/** The input the failover-completed rule gives the machine. */
const EVENT_INPUT = { clusterIdentifier: CLUSTER, event: { id: "25701b50", eventId: "RDS-EVENT-0071", time: "2026-03-14T09:26:13Z", message: "Completed failover to DB instance: orders-aurora-reader-1" } };

describe("aurora failover recovery machine", () => {
    let rds: FakeRds;
    let ddb: FakeDynamo;
    let alerts: any[];
    let channels: FakeAlerts;
    let executions = 0;

    function seed(opts: { writerTag?: string } = {}): void {
        rds.addSubnetGroup("orders-db", ["us-east-1a", "us-east-1b", "us-east-1c"]);
        rds.addCluster({
            identifier: CLUSTER,
            tags: opts.writerTag ? [{ Key: WRITER_CLASS_TAG, Value: opts.writerTag }] : [],
            info: { DBSubnetGroup: "orders-db" },
            members: [
                {
                    identifier: "orders-aurora-writer-1",
                    writer: true,
                    info: {
                        DBInstanceClass: BIG,
                        PromotionTier: 0,
                        AvailabilityZone: "us-east-1a",
                        DBParameterGroups: [{ DBParameterGroupName: "orders-instance-pg", ParameterApplyStatus: "in-sync" }],
                        MonitoringInterval: 30,
                        MonitoringRoleArn: MONITORING_ROLE,
                        PerformanceInsightsEnabled: true,
                        PerformanceInsightsRetentionPeriod: 7,
                        CACertificateIdentifier: "rds-ca-rsa2048-g1",
                        AutoMinorVersionUpgrade: false,
                    },
                },
                { identifier: "orders-aurora-reader-1", writer: false, info: { DBInstanceClass: SMALL, PromotionTier: 1, AvailabilityZone: "us-east-1b" } },
            ],
        });
        rds.instances.get("orders-aurora-writer-1")!.tags = [{ Key: "team", Value: "orders" }, { Key: "aws:cloudformation:stack-name", Value: "x" }];
    }

    function handlers(): Record<string, Handler> {
        return {
            [ARNS.assessArn]: assess as Handler,
            [ARNS.guardArn]: guard as Handler,
            [ARNS.readerArn]: reader as Handler,
            [ARNS.switchArn]: switcher as Handler,
            [ARNS.demotedArn]: demoted as Handler,
            // The real alert Lambda over fake channels; the events it got are kept for assertions.
            [ARNS.alertArn]: async (event: unknown) => {
                alerts.push(event);
                return alert(event);
            },
        };
    }

    function run(overrides: Partial<AuroraFailoverMachineArgs> = {}, input: unknown = EVENT_INPUT, stateHandlers: Record<string, Handler> = {}): Promise<RunResult> {
        const definition = auroraFailoverDefinition({ ...ARNS, waits: WAITS, ...overrides });
        executions += 1;
        return runMachine(definition, input, { handlers: handlers(), stateHandlers, machineName: "aurora-failover", executionName: `exec-${executions}` });
    }

    const writerOf = () => rds.membersOf(CLUSTER).find((m) => m.writer)!.info.DBInstanceIdentifier;
    const recoveryReaders = () => [...rds.instances.values()].filter((i) => i.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === "aurora-failover"));
    const statusTag = (id: string) => rds.instances.get(id)?.tags.find((t) => t.Key === RECOVERY_STATUS_TAG)?.Value;

    beforeEach(() => {
        rds = new FakeRds();
        ddb = new FakeDynamo();
        alerts = [];
        channels = new FakeAlerts();
        process.env.TOPIC_ARN = TOPIC_ARN;
        process.env.CLUSTER_IDENTIFIER = CLUSTER;
        process.env.WRITER_CLASS = BIG;
        process.env.MONITORING_ROLE_ARN = MONITORING_ROLE;
        process.env.TABLE_NAME = TABLE;
        process.env.WINDOW_HOURS = "24";
        seed();
    });

    afterEach(() => {
        rds.restore();
        ddb.restore();
        channels.restore();
        for (const k of ["CLUSTER_IDENTIFIER", "WRITER_CLASS", "MONITORING_ROLE_ARN", "TABLE_NAME", "WINDOW_HOURS", "TOPIC_ARN"]) delete process.env[k];
    });

    /** More small readers, so that after the failover the failed writer's AZ (a: 1 member) is the least busy (b: 2, c: 2). */
    function crowdOtherAzs(): void {
        for (const [id, az] of [["orders-aurora-reader-2", "us-east-1b"], ["orders-aurora-reader-3", "us-east-1c"], ["orders-aurora-reader-4", "us-east-1c"]]) {
            rds.addInstance({ identifier: id, info: { DBClusterIdentifier: CLUSTER, Engine: "aurora-postgresql", DBInstanceClass: SMALL, PromotionTier: 2, AvailabilityZone: az } }).writer = false;
        }
    }

    it("recovers once: a reader of the intended class at tier 0 in another AZ becomes the writer, and says so", async () => {
        crowdOtherAzs();
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.ok(result.path.includes(S.create) && result.path.includes(S.failover) && result.path.at(-1) === S.recovered, result.path.join(" > "));

        const creates = rds.callsOf("CreateDBInstance");
        assert.strictEqual(creates.length, 1);
        const params = creates[0].input as any;
        assert.match(params.DBInstanceIdentifier, /^orders-aurora-pl-writer-\d{14}$/);
        assert.deepStrictEqual(
            [params.DBClusterIdentifier, params.DBInstanceClass, params.PromotionTier, params.AvailabilityZone, params.DBParameterGroupName, params.MonitoringRoleArn, params.MonitoringInterval],
            [CLUSTER, BIG, 0, "us-east-1b", "orders-instance-pg", MONITORING_ROLE, 30],
            "intended class, tier 0, not the failed writer's AZ (a) though it is the least busy, then the least busy other (b, tied with c), settings of the big member",
        );
        assert.ok(params.Tags.some((t: any) => t.Key === "team") && !params.Tags.some((t: any) => t.Key.startsWith("aws:")));

        const newWriter = writerOf()!;
        assert.strictEqual(newWriter, params.DBInstanceIdentifier);
        assert.strictEqual(rds.instances.get(newWriter)!.info.DBInstanceClass, BIG);
        assert.strictEqual(statusTag(newWriter), "completed");
        assert.deepStrictEqual(rds.callsOf("FailoverDBCluster").map((c) => c.input.TargetDBInstanceIdentifier), [newWriter]);
        // keep (the default): the demoted small instance stays, moved to the last promotion tier so the next failover picks it last.
        const kept = rds.instances.get("orders-aurora-reader-1")!;
        assert.deepStrictEqual([kept.info.DBInstanceClass, kept.info.PromotionTier], [SMALL, 15]);
        assert.deepStrictEqual(rds.callsOf("ModifyDBInstance").map((c) => c.input), [{ DBInstanceIdentifier: "orders-aurora-reader-1", PromotionTier: 15, ApplyImmediately: true }]);

        assert.strictEqual(alerts.length, 1);
        assert.deepStrictEqual([alerts[0].kind, alerts[0].database], ["success", CLUSTER]);
        assert.strictEqual(alerts[0].details.reader.identifier, newWriter);
        assert.strictEqual(channels.published.length, 1);
        assert.strictEqual(channels.published[0].subject, "pilotlight aurora-failover: writer recovery on orders-aurora succeeded");
        assert.match(channels.published[0].message, new RegExp(`"identifier":"${newWriter}"`));

        // The same event again (duplicate, or the failover we caused): nothing more happens.
        const before = rds.mutatingCalls().length;
        const again = await run();
        assert.strictEqual(again.status, "SUCCEEDED");
        assert.strictEqual(again.path.at(-1), S.alreadyRight);
        assert.strictEqual(rds.mutatingCalls().length, before);
        assert.strictEqual(alerts.length, 1);
    });

    it("every RDS and KMS call of a recovery is allowed by the Lambdas' roles, the Performance Insights key included", async () => {
        const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        rds.instances.get("orders-aurora-writer-1")!.info.PerformanceInsightsKMSKeyId = key;
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({ afterRecovery: "delete" });
        assert.strictEqual(result.path.at(-1), S.recovered, `${result.error}: ${result.cause}`);
        assert.strictEqual((rds.callsOf("CreateDBInstance")[0].input as any).PerformanceInsightsKMSKeyId, key);
        const st = recoveryStatements({ accountId: ACCOUNT, region: REGION, clusterIdentifier: CLUSTER }, { tableArn: "t", afterRecovery: "delete", writerClass: BIG, monitoringRoleArn: MONITORING_ROLE });
        const all = Object.values(st).flat();
        const needed = rds.calls.flatMap((c) => rdsAuthorizations(c, { account: ACCOUNT, region: REGION }));
        assert.ok(needed.some((a) => a.action === "kms:CreateGrant" && a.resource === key));
        const denied = needed.filter((a) => !allows(all, a));
        assert.deepStrictEqual(denied, []);
    });

    it("avoids the failed writer's AZ recorded when the failover started, even when that writer is gone and its AZ is the least busy", async () => {
        // RDS-EVENT-0073 arrives while orders-aurora-writer-1 (us-east-1a) is still the writer.
        const started = new Date(Date.now() - 60_000).toISOString();
        const recorded = await record({
            detail: { EventID: "RDS-EVENT-0073", SourceIdentifier: `rds:${CLUSTER}`, Date: started, Message: "Started cross AZ failover to DB instance: orders-aurora-reader-1" },
        });
        assert.deepStrictEqual(recorded.fromWriter, { identifier: "orders-aurora-writer-1", availabilityZone: "us-east-1a" });
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        // The failed writer did not come back as a reader: the topology no longer tells where it was.
        rds.instances.delete("orders-aurora-writer-1");
        const result = await run();
        assert.strictEqual(result.path.at(-1), S.recovered, `${result.error}: ${result.cause}`);
        const params = rds.callsOf("CreateDBInstance")[0].input as any;
        assert.strictEqual(params.AvailabilityZone, "us-east-1c", "not us-east-1a (empty, the least busy), not us-east-1b (the new small writer's)");
        assert.deepStrictEqual([alerts[0].details.reader.failedWriterSource, alerts[0].details.reader.avoidedAvailabilityZones], ["recorded", ["us-east-1a"]]);
        assert.strictEqual(alerts[0].details.guard.failedWriter.identifier, "orders-aurora-writer-1");
    });

    it("does nothing when the writer already has the intended class (no guard claimed, nothing created)", async () => {
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED");
        assert.deepStrictEqual(result.path, [S.checkInput, S.start, S.assess, S.decide, S.alreadyRight]);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(ddb.calls.length, 0, "a failover to a big reader must not use up the window");
        assert.strictEqual(alerts.length, 0);
    });

    it("leaves a writer alone that is larger than intended", async () => {
        rds.instances.get("orders-aurora-reader-1")!.info.DBInstanceClass = "db.r6g.4xlarge";
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run();
        assert.strictEqual(result.path.at(-1), S.alreadyRight);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("starts at most one recovery for concurrent duplicated events", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const results = await Promise.all([run(), run(), run()]);
        assert.ok(results.every((r) => r.status === "SUCCEEDED"), results.map((r) => `${r.status} ${r.error} ${r.cause}`).join("\n"));
        assert.strictEqual(rds.callsOf("CreateDBInstance").length, 1);
        assert.strictEqual(rds.callsOf("FailoverDBCluster").length, 1);
        assert.strictEqual(results.filter((r) => r.path.at(-1) === S.recovered).length, 1);
        assert.strictEqual(results.filter((r) => r.path.includes(S.alreadyHandled) || r.path.at(-1) === S.alreadyRight).length, 2);
        assert.strictEqual(recoveryReaders().length, 1);
        assert.strictEqual(alerts.length, 1);
    });

    it("within the window, a second failover to a small reader creates nothing", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        assert.strictEqual((await run()).path.at(-1), S.recovered);
        // Hours later the cluster fails over to the small reader again.
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const creates = rds.callsOf("CreateDBInstance").length;
        const second = await run();
        assert.strictEqual(second.status, "SUCCEEDED");
        assert.strictEqual(second.path.at(-1), S.alreadyHandled);
        assert.strictEqual(rds.callsOf("CreateDBInstance").length, creates);
    });

    it("honours a claim made by an earlier recovery (durable, not per execution), and recovers once it expired", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const hourAgo = Math.floor(Date.now() / 1000) - 3600;
        ddb.put(TABLE, { clusterIdentifier: { S: CLUSTER } }, { lockExecution: { S: "yesterday" }, lockStartedAt: { S: new Date(hourAgo * 1000).toISOString() }, lockExpiresAt: { N: String(hourAgo + 24 * 3600) } });
        const held = await run();
        assert.strictEqual(held.path.at(-1), S.alreadyHandled);
        assert.deepStrictEqual(rds.mutatingCalls(), []);

        ddb.put(TABLE, { clusterIdentifier: { S: CLUSTER } }, { lockExecution: { S: "last-week" }, lockStartedAt: { S: "2026-01-01T00:00:00.000Z" }, lockExpiresAt: { N: String(hourAgo) } });
        const free = await run();
        assert.strictEqual(free.path.at(-1), S.recovered);
    });

    it("copes with out-of-order events: a late completion event after the recovery changes nothing", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        await run();
        const before = rds.mutatingCalls().length;
        // The completion event of the original failover arrives again, late.
        const late = await run(undefined, { ...EVENT_INPUT, event: { ...EVENT_INPUT.event, time: "2026-03-14T09:00:00Z" } });
        assert.strictEqual(late.path.at(-1), S.alreadyRight);
        assert.strictEqual(rds.mutatingCalls().length, before);
    });

    it("waits while the cluster is still failing over, then recovers", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const c = rds.clusters.get(CLUSTER)!;
        c.status = "failing-over";
        c.timeline = ["failing-over", "available"];
        const result = await run();
        assert.strictEqual(result.path.at(-1), S.recovered);
        assert.strictEqual(result.visits[S.waitCluster], 2);
    });

    it("alerts and changes nothing when the cluster never settles", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.stick("cluster", CLUSTER, "failing-over");
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.visits[S.assess], WAITS.cluster.attempts + 1);
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(alerts.length, 1);
        assert.strictEqual(alerts[0].details.error.Error, "ClusterNotSettled");
        assert.match(alerts[0].details.error.Cause, /cluster orders-aurora did not settle after the failover: cluster is failing-over/);
    });

    it("new reader never becomes available: deletes it, keeps the writer, alerts", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.nextRestoreNeverFinishes();
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.error, "ReaderNotAvailable");
        assert.strictEqual(result.visits[S.checkReader], WAITS.reader.attempts + 1);
        assert.ok(result.path.includes(S.readerNeverAvailable) && result.path.includes(S.discard));
        assert.deepStrictEqual(rds.callsOf("FailoverDBCluster"), []);
        const created = rds.callsOf("CreateDBInstance")[0].input.DBInstanceIdentifier as string;
        assert.deepStrictEqual(rds.callsOf("DeleteDBInstance").map((c) => c.input.DBInstanceIdentifier), [created]);
        assert.strictEqual(rds.instances.get(created)?.status ?? "gone", "deleting");
        assert.strictEqual(writerOf(), "orders-aurora-reader-1");
        assert.strictEqual(alerts.length, 1);
        assert.deepStrictEqual([alerts[0].kind, alerts[0].error, alerts[0].details.discard.outcome], ["failure", "ReaderNotAvailable", "deleted"]);
        assert.match(channels.published[0].subject, /writer recovery on orders-aurora FAILED/);
        assert.match(channels.published[0].message, /Error: ReaderNotAvailable/);
    });

    it("new reader ends failed: deletes it and alerts", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.nextRestoreEndsIn("failed");
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(result.taskFailures.map((f) => f.error), ["ResourceFailedError"]);
        assert.strictEqual(alerts[0].details.discard.outcome, "deleted");
        assert.match(alerts[0].details.error.Cause, /is failed/);
    });

    it("when RDS refuses to delete the unusable reader, tags it abandoned and alerts", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.nextRestoreNeverFinishes();
        rds.failAlways("DeleteDBInstance", () => new InvalidDBInstanceStateFault({ $metadata: {}, message: "Instance is creating" }));
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        const created = rds.callsOf("CreateDBInstance")[0].input.DBInstanceIdentifier as string;
        assert.strictEqual(statusTag(created), "abandoned");
        assert.strictEqual(alerts[0].details.discard.outcome, "tagged-abandoned");
        assert.match(alerts[0].details.discard.detail, /delete it by hand/);
    });

    it("failover to the new reader rejected: tags the reader failover-failed and alerts", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.failAlways("FailoverDBCluster", () => new InvalidDBClusterStateFault({ $metadata: {}, message: "DBCluster is not available" }));
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.ok(result.path.includes(S.markFailoverFailed));
        const created = rds.callsOf("CreateDBInstance")[0].input.DBInstanceIdentifier as string;
        assert.strictEqual(statusTag(created), "failover-failed");
        assert.strictEqual(rds.instances.get(created)!.status, "available", "a healthy tier-0 reader of the right class is kept");
        assert.strictEqual(writerOf(), "orders-aurora-reader-1");
        assert.deepStrictEqual([alerts[0].kind, alerts[0].error], ["failure", "InvalidDBClusterStateFault"]);
    });

    it("failover that never makes the new reader the writer: bounded wait, tag, alert", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.nextFailoverDoesNotSwitch();
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.visits[S.checkWriter], WAITS.writer.attempts + 1);
        const created = rds.callsOf("CreateDBInstance")[0].input.DBInstanceIdentifier as string;
        assert.strictEqual(statusTag(created), "failover-failed");
        assert.strictEqual(alerts[0].details.error.Error, "FailoverNotCompleted");
        assert.match(alerts[0].details.error.Cause, new RegExp(`after the failover to ${created} the writer is orders-aurora-reader-1`));
    });

    it("an undeliverable alert neither hides a failure nor undoes a recovery", async () => {
        channels.failSns = true;
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const ok = await run();
        assert.strictEqual(ok.status, "SUCCEEDED");
        assert.strictEqual(ok.path.at(-1), S.recovered);
        assert.ok(ok.visits[S.notifySuccess] === 1 && ok.taskFailures.some((f) => f.state === S.notifySuccess && f.error === "AlertDeliveryError"));

        rds.simulateFailover(CLUSTER, recoveryReaders()[0].info.DBInstanceIdentifier!);
        const result = await run(undefined, { clusterIdentifier: "billing-aurora" });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.error, "InvalidInputError");
        assert.ok(result.taskFailures.some((f) => f.state === S.notifyFailure));
    });

    it("retries a throttled create without creating twice", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        rds.failNext("CreateDBInstance");
        const result = await run();
        assert.strictEqual(result.path.at(-1), S.recovered);
        assert.deepStrictEqual(result.taskFailures.map((f) => f.error), ["TransientError"]);
        assert.strictEqual(recoveryReaders().length, 1);
    });

    /** A handler whose first call takes effect and then loses its response (Lambda.ServiceException). */
    const loseFirstResponse = (real: Handler): Handler => {
        let calls = 0;
        return async (event) => {
            const out = await real(event);
            calls += 1;
            if (calls === 1) throw Object.assign(new Error("response lost"), { name: "Lambda.ServiceException" });
            return out;
        };
    };

    it("a retried failover whose first call went through (cluster failing-over) goes on waiting: recovered, not failed", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({}, EVENT_INPUT, { [S.failover]: loseFirstResponse(switcher as Handler) });
        assert.strictEqual(result.path.at(-1), S.recovered, `${result.error}: ${result.cause}\n${result.path.join(" > ")}`);
        assert.deepStrictEqual(result.taskFailures.map((f) => [f.state, f.error]), [[S.failover, "Lambda.ServiceException"]]);
        assert.strictEqual(rds.callsOf("FailoverDBCluster").length, 1, "the retry did not call again");
        const newWriter = writerOf()!;
        assert.strictEqual(statusTag(newWriter), "completed");
        assert.deepStrictEqual(alerts.map((a) => a.kind), ["success"]);
    });

    it("a retried delete of the demoted instance whose first call went through sends no false alert", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({ afterRecovery: "delete" }, EVENT_INPUT, { [S.demoted]: loseFirstResponse(demoted as Handler) });
        assert.strictEqual(result.path.at(-1), S.recovered, result.path.join(" > "));
        assert.strictEqual(rds.callsOf("DeleteDBInstance").length, 1);
        assert.deepStrictEqual(alerts.map((a) => a.kind), ["success"]);
        assert.strictEqual(alerts[0].details.demoted.done, true);
    });

    it("a retried promotion-tier change after a lost response sends no false alert", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({}, EVENT_INPUT, { [S.demoted]: loseFirstResponse(demoted as Handler) });
        assert.strictEqual(result.path.at(-1), S.recovered, result.path.join(" > "));
        assert.strictEqual(rds.callsOf("ModifyDBInstance").length, 1);
        assert.deepStrictEqual(alerts.map((a) => a.kind), ["success"]);
        assert.match(alerts[0].details.demoted.detail, /at promotion tier 15 already/);
    });

    for (const [what, input] of [
        ["no clusterIdentifier", { event: EVENT_INPUT.event }],
        ["a clusterIdentifier that is not a string", { clusterIdentifier: 42 }],
        ["a string input", "orders-aurora"],
        ["a list input", [CLUSTER]],
        ["a number input", 7],
        ["null", null],
    ] as [string, unknown][]) {
        it(`input with ${what} reaches the alert, before anything is read or changed`, async () => {
            rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
            const result = await run({}, input);
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(result.error, "InvalidInputError");
            assert.deepStrictEqual(result.path, [S.checkInput, S.badInput, S.rejected]);
            assert.deepStrictEqual(rds.calls, []);
            assert.strictEqual(ddb.calls.length, 0);
            assert.strictEqual(alerts.length, 1);
            assert.deepStrictEqual(alerts[0].input, input);
            assert.match(channels.published[0].message, /Error: InvalidInputError\nCause: the execution input must be an object with a string clusterIdentifier/);
        });
    }

    it("a global database's secondary cluster (no writer) is refused with a clear alert, nothing changed", async () => {
        rds.clusters.get(CLUSTER)!.info.GlobalClusterIdentifier = "orders-global";
        for (const m of rds.membersOf(CLUSTER)) m.writer = false;
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(ddb.calls.length, 0);
        assert.match(alerts[0].cause, /secondary cluster of global database 'orders-global': it has no writer to recover/);
    });

    it("afterRecovery delete removes the demoted small instance", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({ afterRecovery: "delete" });
        assert.strictEqual(result.path.at(-1), S.recovered);
        assert.ok(result.path.includes(S.demoted));
        assert.deepStrictEqual(rds.callsOf("DeleteDBInstance").map((c) => c.input.DBInstanceIdentifier), ["orders-aurora-reader-1"]);
        assert.strictEqual(alerts[0].details.demoted.done, true);
    });

    it("afterRecovery resize brings the demoted instance to the intended class", async () => {
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run({ afterRecovery: "resize", notifyOnSuccess: false });
        assert.strictEqual(result.path.at(-1), S.recovered);
        assert.deepStrictEqual(
            rds.callsOf("ModifyDBInstance").map((c) => [c.input.DBInstanceIdentifier, c.input.DBInstanceClass, c.input.ApplyImmediately]),
            [["orders-aurora-reader-1", BIG, true]],
        );
        assert.strictEqual(alerts.length, 0, "notifyOnSuccess false");
    });

    it("reads the intended class from the cluster's tag when the config has none", async () => {
        delete process.env.WRITER_CLASS;
        rds.clusters.get(CLUSTER)!.tags = [{ Key: WRITER_CLASS_TAG, Value: BIG }];
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run();
        assert.strictEqual(result.path.at(-1), S.recovered);
        assert.strictEqual(alerts[0].details.assessment.intendedClassSource, "tag");
    });

    it("never takes the intended class from the current topology: no record means an alert, not a guess", async () => {
        delete process.env.WRITER_CLASS;
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        const result = await run();
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(alerts[0].details.error.Error, "InvalidInputError");
        assert.match(alerts[0].details.error.Cause, /no intended writer class: set writerClass for it under pilotlight:auroraFailover.clusters, or tag the cluster pilotlight:writer-class/);
    });

    it("a managed cluster that does not exist fails before any change, with a clear alert", async () => {
        process.env.CLUSTER_IDENTIFIER = "ghost-aurora";
        const result = await run(undefined, { clusterIdentifier: "ghost-aurora" });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.error, "DatabaseNotFoundError");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(ddb.calls.length, 0);
        assert.match(channels.published[0].message, /Aurora cluster 'ghost-aurora' does not exist/);
    });

    it("rejects a cluster it does not manage before any change", async () => {
        const result = await run(undefined, { clusterIdentifier: "billing-aurora" });
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
        assert.strictEqual(ddb.calls.length, 0);
        assert.match(alerts[0].details.error.Cause, /"billing-aurora" is not the cluster this recovery manages/);
    });

    it("without a configured monitoring role, creates the reader without enhanced monitoring and says so", async () => {
        delete process.env.MONITORING_ROLE_ARN;
        rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
        await run();
        const params = rds.callsOf("CreateDBInstance")[0].input as any;
        assert.strictEqual(params.MonitoringRoleArn, undefined);
        assert.strictEqual(params.MonitoringInterval, undefined);
        assert.match(alerts[0].details.reader.warnings.join("\n"), /enhanced monitoring left off/);
    });

    it("bounds every loop well inside the machine timeout", () => {
        const def = auroraFailoverDefinition({ ...ARNS }) as any;
        const loops = Object.values(DEFAULT_RECOVERY_WAITS).reduce((s, l) => s + l.seconds * l.attempts, 0);
        assert.strictEqual(def.TimeoutSeconds, machineTimeoutSeconds());
        assert.ok(def.TimeoutSeconds > loops + 3600, `${def.TimeoutSeconds} vs ${loops}`);
        for (const [name, state] of Object.entries<any>(def.States)) {
            if (state.Type === "Task") {
                assert.ok(state.Retry?.length, `${name} retries`);
                assert.ok(state.Catch?.length, `${name} catches`);
            }
        }
        assert.throws(() => auroraFailoverDefinition({ ...ARNS, demotedArn: undefined as unknown as string }), /demotedArn \(the aurora-demoted Lambda\) is required/);
        assert.throws(() => auroraFailoverDefinition({ ...ARNS, afterRecovery: "shrink" as any }), /afterRecovery "shrink" must be "keep", "delete" or "resize"/);
        assert.throws(() => auroraFailoverDefinition({ ...ARNS, waits: { ...WAITS, reader: { seconds: 0, attempts: 3 } } }), /waits.reader/);
        // No success alert: the optional state is absent, not dangling; the demoted instance is handled either way.
        const lean = auroraFailoverDefinition({ ...ARNS, notifyOnSuccess: false }) as any;
        assert.ok(S.demoted in lean.States && !(S.notifySuccess in lean.States));
        assert.strictEqual(lean.States[S.markRecovered].Next, S.demoted);
        assert.strictEqual(lean.States[S.demoted].Next, S.recovered);
    });
    describe("a non-retryable fault injected at every Task state in turn", () => {
        // The deployed definition with every optional state present (resize deletes nothing, so any delete is the recovery's own).
        const DEPLOYED: Partial<AuroraFailoverMachineArgs> = { afterRecovery: "resize", notifyOnSuccess: true };
        const definition = auroraFailoverDefinition({ ...ARNS, waits: WAITS, ...DEPLOYED }) as { States: Record<string, { Resource?: string }> };
        const ALERT_STATES: string[] = [S.notifyFailure, S.notifySuccess, S.notifyAftercare];
        // States that run only after an earlier failure: the fault that leads there, and the step the alert must then name.
        const LEAD_UP: Record<string, { faults: string[]; failedStep: string }> = {
            [S.discard]: { faults: [S.checkReader], failedStep: S.checkReader },
            [S.markAbandoned]: { faults: [S.checkReader, S.discard], failedStep: S.checkReader },
            [S.markFailoverFailed]: { faults: [S.failover], failedStep: S.failover },
            [S.notifyFailure]: { faults: [S.checkReader], failedStep: S.checkReader },
            [S.notifyAftercare]: { faults: [S.markRecovered], failedStep: S.markRecovered },
        };
        // After the new writer is in place, a failed step is a follow-up: the recovery still succeeded.
        const FOLLOW_UP: string[] = [S.markRecovered, S.demoted];
        const TERMINAL = ["abandoned", "failover-failed", "completed"];
        // Faults that leave no step able to tag the reader: the tagging itself, or both cleanups.
        const UNTAGGABLE: string[] = [S.markRecovered, S.notifyAftercare, S.markAbandoned];

        /** Fails every call (or only the first, for alerts, which retry any error) with an error no Retry matches. */
        const faulty = (state: string, real: Handler, once: boolean): Handler => {
            let calls = 0;
            return async (event) => {
                calls += 1;
                if (!once || calls === 1) {
                    const err = new Error(`injected fault at ${state}`);
                    err.name = "InjectedFault";
                    throw err;
                }
                return real(event);
            };
        };
        const realHandler = (state: string) => handlers()[definition.States[state].Resource!];

        it("covers every Task state of the deployed definition", () => {
            const tasks = taskStates(definition);
            assert.deepStrictEqual(
                [...tasks].sort(),
                [S.badInput, S.assess, S.claim, S.create, S.checkReader, S.discard, S.failover, S.checkWriter, S.markFailoverFailed, S.markAbandoned, S.markRecovered, S.demoted, S.notifyFailure, S.notifyAftercare, S.notifySuccess].sort(),
            );
        });

        for (const state of taskStates(definition).filter((t) => t !== S.badInput)) {
            it(state, async () => {
                rds.simulateFailover(CLUSTER, "orders-aurora-reader-1");
                const before = new Set(rds.instances.keys());
                const lead = LEAD_UP[state];
                const faults: Record<string, Handler> = {};
                for (const s of lead?.faults ?? []) faults[s] = faulty(s, realHandler(s), false);
                faults[state] = faulty(state, realHandler(state), ALERT_STATES.includes(state));
                const result = await run(DEPLOYED, EVENT_INPUT, faults);

                assert.ok(result.taskFailures.some((f) => f.state === state && f.error === "InjectedFault"), `the fault was injected: ${result.path.join(" > ")}`);

                // The cluster still has exactly one writer.
                const writers = rds.membersOf(CLUSTER).filter((m) => m.writer);
                assert.strictEqual(writers.length, 1, "one writer");

                // Every reader this run created is gone or says how it ended; nothing else was deleted.
                const created = rds.callsOf("CreateDBInstance").map((c) => c.input.DBInstanceIdentifier as string);
                const deleted = rds.callsOf("DeleteDBInstance").map((c) => c.input.DBInstanceIdentifier as string);
                for (const id of created) {
                    if (deleted.includes(id)) continue;
                    const tag = statusTag(id);
                    if (UNTAGGABLE.includes(state)) {
                        // Every step that could have tagged it failed: the alert names it and says what to do (below).
                        assert.strictEqual(tag, "in-progress");
                        assert.match(channels.published.at(-1)!.message, new RegExp(id));
                    } else {
                        assert.ok(TERMINAL.includes(tag ?? ""), `${id} is tagged ${tag ?? "nothing"}`);
                    }
                }
                assert.ok(deleted.every((id) => created.includes(id)), `deleted only its own reader: ${deleted.join(", ")}`);
                assert.deepStrictEqual(rds.callsOf("DeleteDBCluster"), []);
                for (const id of before) assert.ok(rds.instances.has(id) && rds.instances.get(id)!.status !== "deleting", `${id} kept`);

                const failures = alerts.filter((a) => a.kind === "failure");
                const published = channels.published.filter((p) => /FAILED/.test(p.subject));
                if (state === S.notifySuccess) {
                    // The success alert retried past the fault: the recovery is reported once, as a success.
                    assert.strictEqual(result.status, "SUCCEEDED");
                    assert.strictEqual(result.path.at(-1), S.recovered);
                    assert.deepStrictEqual([failures.length, channels.published.length], [0, 1]);
                    assert.match(channels.published[0].subject, /succeeded$/);
                    return;
                }
                assert.strictEqual(failures.length, 1, "exactly one failure alert");
                assert.strictEqual(published.length, 1, "exactly one failure message sent");
                const failedStep = lead?.failedStep ?? state;
                assert.strictEqual(failures[0].failedStep, failedStep);
                assert.match(published[0].message, new RegExp(`Failed step: ${failedStep}\n`));

                if (FOLLOW_UP.includes(state) || state === S.notifyAftercare) {
                    // The swap worked: reported as a success with a failed follow-up, never as a failed recovery.
                    const newWriter = created[0];
                    assert.strictEqual(result.status, "SUCCEEDED");
                    assert.strictEqual(result.path.at(-1), S.recoveredWithProblems);
                    assert.strictEqual(writers[0].info.DBInstanceIdentifier, newWriter);
                    assert.strictEqual(published[0].subject, "pilotlight aurora-failover: orders-aurora writer recovered; follow-up FAILED");
                    assert.match(published[0].message, new RegExp(`The recovery SUCCEEDED: ${newWriter} \\(the intended ${BIG}\\) is the writer now`));
                    assert.match(published[0].message, new RegExp(`Only the follow-up step ${failedStep} failed`));
                    assert.match(published[0].message, new RegExp(`set ${RECOVERY_STATUS_TAG}=completed on ${newWriter} by hand`));
                    assert.ok(!/recovery on orders-aurora FAILED/.test(published[0].subject));
                    if (!UNTAGGABLE.includes(state)) assert.strictEqual(statusTag(newWriter), "completed");
                    return;
                }
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, "InjectedFault");
                assert.match(published[0].subject, /writer recovery on orders-aurora FAILED/);
                if (state === S.markAbandoned) assert.match(published[0].message, /discardError: .*InjectedFault[\s\S]*abandonError: .*InjectedFault/);
                // No failed run leaves the small writer demoted without a confirmed replacement.
                const writerId = writers[0].info.DBInstanceIdentifier!;
                if (writerId !== "orders-aurora-reader-1") assert.strictEqual(statusTag(writerId), "completed", "a reader that became the writer anyway says so");
            });
        }
    });
});
