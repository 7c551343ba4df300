/**
 * The restore machine under the faults real AWS produces: a call that takes effect and whose
 * response is lost, a failure past the point of no return, a failure of the rollback itself,
 * and what RDS fixes about a restore (managed password, automated backups, snapshot vs original).
 */
import * as assert from "assert";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import { Handler, RunResult, runMachine } from "./machineHarness";
import { RESTORE_KEPT_ERROR, restoreMachineDefinition, RestoreMachineOptions } from "../components/machines/restore";
import { restoreArns, restoreHandlers } from "./restoreHarness";

const ARNS = restoreArns("pl");
const HANDLERS = restoreHandlers(ARNS);
const OPTIONS: RestoreMachineOptions = { pollIntervalSeconds: 30, maxAttempts: 12, notifyOnSuccess: true };
const ENV: Record<string, string> = {
    MANAGED_IDENTIFIERS: `${INSTANCE_ID},${CLUSTER_ID}`,
    MANAGED_KINDS: `${INSTANCE_ID}=instance,${CLUSTER_ID}=cluster`,
    EXPORT_ENABLED: "true",
    KEEP_SNAPSHOTS: "2",
    EXPORT_BUCKET: "pl-exports",
    EXPORT_PREFIX: "rds",
    EXPORT_KMS_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/export",
    EXPORT_ROLE_ARN: "arn:aws:iam::123456789012:role/pl-export",
    TOPIC_ARN,
};
const ORIGINAL_SECRET = { instance: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1", cluster: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1" };

describe("restore machine under faults", function () {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let alerts: FakeAlerts;
    const definition = restoreMachineDefinition(ARNS, OPTIONS);
    const handlerOf = (state: string) => HANDLERS[(definition.States[state] as { Resource: string }).Resource];

    beforeEach(() => {
        Object.assign(process.env, ENV);
        rds = new FakeRds();
        sfn = new FakeSfn();
        alerts = new FakeAlerts();
        seedInstance(rds, "orders-v2");
        seedCluster(rds, "carts-v2");
        rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        rds.addClusterSnapshot("shop-20260101000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
    });
    afterEach(() => {
        rds.restore();
        sfn.restore();
        alerts.restore();
        for (const k of Object.keys(ENV)) delete process.env[k];
    });

    const run = (input: unknown, stateHandlers?: Record<string, Handler>): Promise<RunResult> =>
        runMachine(definition, input, { handlers: HANDLERS, stateHandlers, machineName: "pl-restore", executionName: "exec-1" });
    const fail = (name: string, message = `injected ${name}`) => Object.assign(new Error(message), { name });
    const oldNameOf = (id: string) => [...rds.instances.keys(), ...rds.clusters.keys()].find((k) => k.startsWith(`${id}-pl-old-`));

    /** The state's real handler; the first call that changed something in RDS has its response lost (Step Functions sees States.Timeout). */
    const losesResponse = (state: string): Handler => {
        let lost = false;
        return async (event) => {
            const before = rds.mutatingCalls().length;
            const out = await handlerOf(state)(event);
            if (!lost && rds.mutatingCalls().length > before) {
                lost = true;
                throw fail("States.Timeout", `response of ${state} lost`);
            }
            return out;
        };
    };

    describe("a lost response at every mutating step is retried and the run continues", () => {
        const RESTORE_STATES = ["CreateSnapshot", "PruneSnapshots", "RenameOriginal", "RestoreFromSnapshot", "ApplySettings", "DeleteOriginal"];
        for (const isCluster of [false, true]) {
            const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
            for (const state of [...RESTORE_STATES, "StartExport"]) {
                it(`${isCluster ? "cluster" : "instance"}: ${state}`, async () => {
                    // An older own snapshot, so that retention has something to delete.
                    if (isCluster) rds.addClusterSnapshot("shop-20251201000000", CLUSTER_ID, { tags: PILOTLIGHT_TAGS, created: "2025-12-01T00:00:00Z" });
                    else rds.addSnapshot("wordpress-20251201000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2025-12-01T00:00:00Z" });
                    const task = state === "StartExport" ? "export_snapshot" : "create_snapshot";
                    const result = await run({ identifier: id, task, isCluster }, { [state]: losesResponse(state) });
                    assert.ok(result.taskFailures.some((f) => f.state === state && f.error === "States.Timeout"), "a response was lost");
                    assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify({ error: result.error, cause: result.cause }));
                    if (task === "create_snapshot") {
                        const db = isCluster ? rds.clusters.get(id)! : rds.instances.get(id)!;
                        assert.strictEqual(db.data, isCluster ? "carts-v2" : "orders-v2");
                        assert.strictEqual(db.status, "available");
                        assert.strictEqual(oldNameOf(id), undefined, "the original is gone");
                        if (isCluster) assert.strictEqual(rds.membersOf(id).length, 3);
                    }
                });
            }
        }
    });

    describe("the point of no return", () => {
        for (const isCluster of [false, true]) {
            const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
            const kind = isCluster ? "cluster" : "instance";

            it(`${kind}: settings refused after the cutover keep both databases, and the alert says where each is`, async () => {
                const result = await run({ identifier: id, task: "db_restore", isCluster }, { ApplySettings: async () => Promise.reject(fail("InvalidParameterCombination", "settings refused")) });
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, RESTORE_KEPT_ERROR);
                const old = oldNameOf(id)!;
                assert.ok(old, "the original is kept");
                const restored = isCluster ? rds.clusters.get(id)! : rds.instances.get(id)!;
                assert.strictEqual(restored.data, isCluster ? "carts-v1" : "orders-v1");
                assert.strictEqual(restored.status, "available");
                const kept = isCluster ? rds.clusters.get(old)! : rds.instances.get(old)!;
                assert.strictEqual(kept.data, isCluster ? "carts-v2" : "orders-v2");
                assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.command.startsWith("DeleteDB")), [], "nothing deleted");
                const msg = alerts.published[0].message;
                assert.match(msg, new RegExp(`Rollback: kept-both - the restored database serves as ${id} \\(available\\); the original is kept as ${old} \\(available`));
                assert.match(result.cause!, new RegExp(`kept as ${old}`));
            });

            it(`${kind}: a failure after deletion protection came off puts it back on the kept original`, async () => {
                let calls = 0;
                const result = await run(
                    { identifier: id, task: "db_restore", isCluster },
                    {
                        DeleteOriginal: async (event) => {
                            calls += 1;
                            if (calls === 1) return handlerOf("DeleteOriginal")(event); // turns deletion protection off
                            throw fail("InvalidDBInstanceStateFault", "refused");
                        },
                    },
                );
                assert.strictEqual(result.error, RESTORE_KEPT_ERROR);
                const old = oldNameOf(id)!;
                const kept = isCluster ? rds.clusters.get(old)! : rds.instances.get(old)!;
                assert.ok(rds.mutatingCalls().some((c) => c.input.DeletionProtection === false), "protection had come off");
                assert.strictEqual(kept.info.DeletionProtection, true, "and is back on");
                if (isCluster) assert.strictEqual(rds.membersOf(old).length, 3);
                assert.match(alerts.published[0].message, /kept-both - .*deletion protection on/);
            });

            it(`${kind}: a failure of the keep-both step itself still says where both databases are`, async () => {
                const always = async () => Promise.reject(fail("InjectedFault"));
                const result = await run({ identifier: id, task: "db_restore", isCluster }, { ApplySettings: always, KeepBoth: always });
                assert.strictEqual(result.error, RESTORE_KEPT_ERROR);
                const job = (alerts.published[0].message.match(/resource id (\S+)\)/) ?? [])[1];
                assert.ok(job, alerts.published[0].message);
                assert.match(alerts.published[0].message, new RegExp(`keep-both-failed - InjectedFault: .*the restored database serves as ${id}; the original \\(resource id .*\\) is kept as ${id}-pl-old-\\d{14} or deleted into the final snapshot ${id}-pl-final-\\d{14}`));
                assert.ok(oldNameOf(id), "the original is kept");
            });
        }

        it("cluster: a failure between the members' and the cluster's deletion finishes the delete with a final snapshot: no cluster without members", async () => {
            let thrown = false;
            const result = await run(
                { identifier: CLUSTER_ID, task: "db_restore", isCluster: true },
                {
                    DeleteOriginal: async (event) => {
                        if (!thrown && rds.callsOf("DeleteDBInstance").length > 0) {
                            thrown = true;
                            throw fail("InjectedFault");
                        }
                        if (!thrown && rds.callsOf("ModifyDBCluster").some((c) => c.input.DeletionProtection === false)) {
                            // Delete only the members this round, as if the cluster's delete call had not been reached.
                            rds.failNext("DeleteDBCluster", () => fail("InjectedFault"));
                        }
                        return handlerOf("DeleteOriginal")(event);
                    },
                },
            );
            assert.strictEqual(result.error, RESTORE_KEPT_ERROR);
            assert.strictEqual(oldNameOf(CLUSTER_ID), undefined, "no original cluster left behind without members");
            const final = [...rds.clusterSnapshots.values()].find((s) => s.info.DBClusterSnapshotIdentifier!.includes("-pl-final-"));
            assert.strictEqual(final?.data, "carts-v2");
            assert.match(alerts.published[0].message, /Rollback: restore-kept - .*its data is in the final snapshot shop-pl-final-\d{14}/);
            assert.strictEqual(rds.clusters.get(CLUSTER_ID)!.data, "carts-v1");
        });
    });

    describe("the rollback itself", () => {
        for (const isCluster of [false, true]) {
            const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
            it(`${isCluster ? "cluster" : "instance"}: a rollback that fails says where the original is`, async () => {
                const always = async () => Promise.reject(fail("InjectedFault"));
                const result = await run({ identifier: id, task: "db_restore", isCluster }, { RestoreFromSnapshot: always, RollBack: always });
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, "InjectedFault");
                const original = isCluster ? rds.clusters.get(oldNameOf(id)!)!.info.DbClusterResourceId : rds.instances.get(oldNameOf(id)!)!.info.DbiResourceId;
                assert.match(alerts.published[0].message, new RegExp(`Rollback: rollback-failed - InjectedFault: .*the original \\(resource id ${original}\\) is under ${id} or ${id}-pl-old-\\d{14}`));
            });
        }

        it("instance: a rollback that finds the restore already serving keeps both instead of deleting it", async () => {
            // The restore became available, but the machine lost track of it before it saw so.
            const result = await run(
                { identifier: INSTANCE_ID, task: "db_restore", isCluster: false },
                {
                    "Restored: check": async () => {
                        rds.instances.get(INSTANCE_ID)!.status = "available";
                        rds.instances.get(INSTANCE_ID)!.timeline = [];
                        throw fail("InjectedFault");
                    },
                },
            );
            assert.strictEqual(result.error, RESTORE_KEPT_ERROR);
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v1");
            assert.ok(oldNameOf(INSTANCE_ID));
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
            assert.match(alerts.published[0].message, /Rollback: kept-both/);
        });
    });

    describe("what the restore brings back", () => {
        for (const isCluster of [false, true]) {
            const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
            it(`${isCluster ? "cluster" : "instance"}: a new RDS-managed secret, named in the output and the success alert; the original's point-in-time history kept`, async () => {
                const resourceId = isCluster ? rds.clusters.get(id)!.info.DbClusterResourceId : rds.instances.get(id)!.info.DbiResourceId;
                const result = await run({ identifier: id, task: "db_restore", isCluster });
                assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify({ error: result.error, cause: result.cause }));
                const db = isCluster ? rds.clusters.get(id)! : rds.instances.get(id)!;
                const secret = db.info.MasterUserSecret?.SecretArn;
                assert.ok(secret && secret !== ORIGINAL_SECRET[isCluster ? "cluster" : "instance"], "a new managed secret");
                assert.strictEqual(db.info.MasterUserSecret?.KmsKeyId, "key-secrets");
                const summary = (result.output as { summary: Record<string, string> }).summary;
                assert.strictEqual(summary.masterUserSecretArn, secret);
                assert.match(summary.originalFinalSnapshot, new RegExp(`^${id}-pl-final-\\d{14}$`));
                assert.match(alerts.published[0].message, new RegExp(`masterUserSecretArn: ${secret!.replace(/[!$]/g, "\\$&")}`));
                if (!isCluster) {
                    const restore = rds.callsOf("RestoreDBInstanceFromDBSnapshot")[0].input;
                    assert.strictEqual(restore.ManageMasterUserPassword, undefined, "only RDS for Oracle takes it on restore");
                }
                assert.deepStrictEqual(
                    rds.retainedBackups.map((b) => [b.resourceId, b.data]),
                    [[resourceId, isCluster ? "carts-v2" : "orders-v2"]],
                    "the original's automated backups are kept",
                );
            });
        }

        it("cluster: members are created only once the cluster is available, the writer before the readers", async () => {
            const result = await run({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true });
            assert.strictEqual(result.status, "SUCCEEDED");
            const creates = rds.calls.map((c, i) => ({ ...c, i })).filter((c) => c.command === "CreateDBInstance");
            assert.deepStrictEqual(creates.map((c) => c.input.DBInstanceIdentifier), ["shop-1", "shop-2", "shop-3"]);
            // Between the writer's creation and the readers', the machine saw the writer available.
            const sawWriter = rds.calls.slice(creates[0].i, creates[1].i).some((c) => c.command === "DescribeDBInstances" && c.input.DBInstanceIdentifier === "shop-1");
            assert.ok(sawWriter);
            assert.deepStrictEqual(rds.membersOf(CLUSTER_ID).map((m) => [m.info.DBInstanceIdentifier, m.writer]), [["shop-1", true], ["shop-2", false], ["shop-3", false]]);
        });

        it("instance: a snapshot larger than the database is restored at the snapshot's size (after a failback, prod may be small)", async () => {
            rds.instances.get(INSTANCE_ID)!.info.AllocatedStorage = 20;
            rds.instances.get(INSTANCE_ID)!.info.MaxAllocatedStorage = 100;
            rds.snapshots.get("wordpress-20260101000000")!.info.AllocatedStorage = 500;
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
            assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify({ error: result.error, cause: result.cause }));
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.info.AllocatedStorage, 500);
        });

        it("cluster: a snapshot of a newer minor version is restored at that version, never older", async () => {
            rds.clusterSnapshots.get("shop-20260101000000")!.info.EngineVersion = "16.6";
            const result = await run({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true });
            assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify({ error: result.error, cause: result.cause }));
            assert.strictEqual(rds.clusters.get(CLUSTER_ID)!.info.EngineVersion, "16.6");
        });

        it("a snapshot of another major version is refused before any change", async () => {
            rds.snapshots.get("wordpress-20260101000000")!.info.EngineVersion = "17.2";
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
            assert.strictEqual(result.error, "SnapshotMismatchError");
            assert.match(result.cause!, /17\.2.*16\.4.*another major version/);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    });
});
