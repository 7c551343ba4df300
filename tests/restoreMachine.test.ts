/**
 * The restore machine end to end: the definition the component deploys,
 * executed locally with every Task bound to its real handler over the fake
 * RDS, fake Step Functions listing and fake alert channels.
 */
import * as assert from "assert";
import { InsufficientDBInstanceCapacityFault, InvalidDBClusterStateFault } from "@aws-sdk/client-rds";
import { FakeRds, rdsArn } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import { Handler, HARNESS_ACCOUNT, HARNESS_REGION, RunResult, runMachine, taskStates } from "./machineHarness";
import * as pulumi from "@pulumi/pulumi";
import { RestoreFunctionArns, restoreMachineDefinition, RestoreMachineOptions } from "../components/machines/restore";
import { RestoreMachine } from "../components/restoreMachine";
import { RecordingMocks } from "./mocks";
import { restoreArns, restoreHandlers } from "./restoreHarness";

const MACHINE_NAME = "pl-restore";

export const ARNS: RestoreFunctionArns = restoreArns("pl");

const HANDLERS: Record<string, Handler> = restoreHandlers(ARNS);

const OPTIONS: RestoreMachineOptions = { pollIntervalSeconds: 30, maxAttempts: 12, notifyOnSuccess: true };
const ENV: Record<string, string> = {
    MANAGED_IDENTIFIERS: `${INSTANCE_ID},${CLUSTER_ID},ghost`,
    MANAGED_KINDS: `${INSTANCE_ID}=instance,${CLUSTER_ID}=cluster,ghost=instance`,
    EXPORT_ENABLED: "true",
    KEEP_SNAPSHOTS: "2",
    EXPORT_BUCKET: "pl-exports",
    EXPORT_PREFIX: "rds",
    EXPORT_KMS_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/export",
    EXPORT_ROLE_ARN: "arn:aws:iam::123456789012:role/pl-export",
    TOPIC_ARN,
};

/** Settings compared between the original and the restored instance (the DESIGN's "Restore configuration"). */
const INSTANCE_SETTINGS = [
    "DBInstanceClass",
    "DBSubnetGroup",
    "VpcSecurityGroups",
    "DBParameterGroups",
    "OptionGroupMemberships",
    "MultiAZ",
    "StorageType",
    "Iops",
    "AllocatedStorage",
    "MaxAllocatedStorage",
    "PubliclyAccessible",
    "IAMDatabaseAuthenticationEnabled",
    "DeletionProtection",
    "MonitoringInterval",
    "MonitoringRoleArn",
    "PerformanceInsightsEnabled",
    "PerformanceInsightsKMSKeyId",
    "PerformanceInsightsRetentionPeriod",
    "PreferredBackupWindow",
    "PreferredMaintenanceWindow",
    "BackupRetentionPeriod",
    "CACertificateIdentifier",
    "AutoMinorVersionUpgrade",
    "CopyTagsToSnapshot",
    "EnabledCloudwatchLogsExports",
] as const;

const CLUSTER_SETTINGS = [
    "Engine",
    "EngineVersion",
    "EngineMode",
    "Port",
    "DBSubnetGroup",
    "VpcSecurityGroups",
    "DBClusterParameterGroup",
    "KmsKeyId",
    "IAMDatabaseAuthenticationEnabled",
    "DeletionProtection",
    "BackupRetentionPeriod",
    "PreferredBackupWindow",
    "PreferredMaintenanceWindow",
    "EnabledCloudwatchLogsExports",
    "CopyTagsToSnapshot",
    "StorageType",
    "ServerlessV2ScalingConfiguration",
] as const;

const MEMBER_SETTINGS = [
    "DBInstanceClass",
    "PromotionTier",
    "AvailabilityZone",
    "DBParameterGroups",
    "MonitoringInterval",
    "MonitoringRoleArn",
    "PerformanceInsightsEnabled",
    "PerformanceInsightsRetentionPeriod",
    "CACertificateIdentifier",
    "PreferredMaintenanceWindow",
] as const;

describe("restore machine (end to end)", function () {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let alerts: FakeAlerts;
    const definition = restoreMachineDefinition(ARNS, OPTIONS);

    beforeEach(() => {
        Object.assign(process.env, ENV);
        rds = new FakeRds();
        sfn = new FakeSfn();
        alerts = new FakeAlerts();
        seedInstance(rds, "orders-v2");
        seedCluster(rds, "carts-v2");
        rds.addSnapshot("wordpress-20251201000000", INSTANCE_ID, { data: "orders-v0", tags: PILOTLIGHT_TAGS, created: "2025-12-01T00:00:00Z" });
        rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
        rds.addSnapshot("wordpress-manual", INSTANCE_ID, { data: "orders-manual", created: "2026-01-15T00:00:00Z" });
        rds.addClusterSnapshot("shop-20251201000000", CLUSTER_ID, { data: "carts-v0", tags: PILOTLIGHT_TAGS, created: "2025-12-01T00:00:00Z" });
        rds.addClusterSnapshot("shop-20260101000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-01-01T00:00:00Z" });
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        alerts.restore();
        for (const k of Object.keys(ENV)) delete process.env[k];
    });

    const run = (input: unknown, stateHandlers?: Record<string, Handler>, def: object = definition): Promise<RunResult> =>
        runMachine(def, input, { handlers: HANDLERS, stateHandlers, machineName: MACHINE_NAME, executionName: "exec-1" });

    /** The settings the restore must carry over, read from the fake's state. */
    function instanceSettings(id: string): Record<string, unknown> {
        const i = rds.instances.get(id)!;
        const out: Record<string, unknown> = { Port: i.info.Endpoint?.Port, tags: i.tags, MasterUserSecret: Boolean(i.info.MasterUserSecret?.SecretArn) };
        for (const k of INSTANCE_SETTINGS) out[k] = i.info[k];
        return out;
    }

    function clusterSettings(id: string): Record<string, unknown> {
        const c = rds.clusters.get(id)!;
        const out: Record<string, unknown> = { tags: c.tags, MasterUserSecret: Boolean(c.info.MasterUserSecret?.SecretArn) };
        for (const k of CLUSTER_SETTINGS) out[k] = c.info[k];
        out.members = rds.membersOf(id).map((m) => {
            const s: Record<string, unknown> = { id: m.info.DBInstanceIdentifier, writer: m.writer, tags: m.tags };
            for (const k of MEMBER_SETTINGS) s[k] = m.info[k];
            return s;
        });
        return out;
    }

    /** Not one trace of the temporary names or of a half-made restore. */
    function assertNoLeftovers(): void {
        const temp = [...rds.instances.keys(), ...rds.clusters.keys()].filter((id) => id.includes("-pl-old-"));
        assert.deepStrictEqual(temp, [], "no renamed original may remain");
    }

    function assertOriginalIntact(isCluster: boolean, original: { resourceId: string; data: string; settings: Record<string, unknown> }): void {
        if (isCluster) {
            const c = rds.clusters.get(CLUSTER_ID)!;
            assert.ok(c, "cluster exists under its identifier");
            assert.strictEqual(c.info.DbClusterResourceId, original.resourceId, "it is the original cluster");
            assert.strictEqual(c.status, "available");
            assert.strictEqual(c.data, original.data);
            assert.deepStrictEqual(rds.membersOf(CLUSTER_ID).map((m) => [m.info.DBInstanceIdentifier, m.status]), [
                ["shop-1", "available"],
                ["shop-2", "available"],
                ["shop-3", "available"],
            ]);
            assert.deepStrictEqual(clusterSettings(CLUSTER_ID), original.settings);
        } else {
            const i = rds.instances.get(INSTANCE_ID)!;
            assert.ok(i, "instance exists under its identifier");
            assert.strictEqual(i.info.DbiResourceId, original.resourceId, "it is the original instance");
            assert.strictEqual(i.status, "available");
            assert.strictEqual(i.data, original.data);
            assert.deepStrictEqual(instanceSettings(INSTANCE_ID), original.settings);
        }
        assertNoLeftovers();
    }

    /** After the point of no return: the restore serves under the identifier, the original is intact under `oldName`. */
    function assertKeptBoth(isCluster: boolean, original: { resourceId: string; data: string; settings: Record<string, unknown> }, oldName: string): void {
        const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
        const restored = isCluster ? rds.clusters.get(id)! : rds.instances.get(id)!;
        assert.ok(restored, "the restored database is kept under the identifier");
        const restoredId = isCluster ? (restored as ReturnType<typeof rds.clusters.get>)!.info.DbClusterResourceId : (restored as ReturnType<typeof rds.instances.get>)!.info.DbiResourceId;
        assert.notStrictEqual(restoredId, original.resourceId);
        assert.match(oldName, /-pl-old-\d{14}$/);
        const kept = isCluster ? rds.clusters.get(oldName) : rds.instances.get(oldName);
        assert.ok(kept, `the original is kept as ${oldName}`);
        assert.strictEqual(isCluster ? (kept as ReturnType<typeof rds.clusters.get>)!.info.DbClusterResourceId : (kept as ReturnType<typeof rds.instances.get>)!.info.DbiResourceId, original.resourceId);
        assert.strictEqual(kept!.data, original.data);
        assert.strictEqual(kept!.info.DeletionProtection, true, "deletion protection is on the kept original as it was");
        if (isCluster) assert.strictEqual(rds.membersOf(oldName).length, 3, "the kept original cluster keeps its members");
        assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.command.startsWith("Delete") && [id, oldName].includes(String(c.input.DBInstanceIdentifier ?? c.input.DBClusterIdentifier))), []);
    }

    function snapshotOriginal(isCluster: boolean) {
        return isCluster
            ? { resourceId: rds.clusters.get(CLUSTER_ID)!.info.DbClusterResourceId!, data: "carts-v2", settings: clusterSettings(CLUSTER_ID) }
            : { resourceId: rds.instances.get(INSTANCE_ID)!.info.DbiResourceId!, data: "orders-v2", settings: instanceSettings(INSTANCE_ID) };
    }

    it("runs exactly the definition the RestoreMachine component deploys with these Lambda ARNs and options", async () => {
        const mocks = new RecordingMocks(HARNESS_REGION, HARNESS_ACCOUNT);
        await pulumi.runtime.setMocks(mocks, "pilotlight", "unit", false);
        const machine = new RestoreMachine("restore", {
            namePrefix: "pl",
            accountId: HARNESS_ACCOUNT,
            region: HARNESS_REGION,
            databases: [
                { identifier: INSTANCE_ID, isCluster: false },
                { identifier: CLUSTER_ID, isCluster: true },
                { identifier: "ghost", isCluster: false },
            ],
            alertFunctionArn: ARNS.alert,
            ...OPTIONS,
        });
        const exposed = await new Promise((resolve) => machine.definition.apply(resolve));
        await new Promise((resolve) => machine.stateMachineArn.apply(resolve));
        const deployed = mocks.resources.find((r) => r.type === "aws:sfn/stateMachine:StateMachine" && r.name === "restore-machine");
        assert.ok(deployed, "the component created no state machine");
        assert.strictEqual(deployed!.inputs.name, MACHINE_NAME);
        assert.deepStrictEqual(JSON.parse(deployed!.inputs.definition), definition);
        assert.deepStrictEqual(exposed, definition);
    });

    it("passes asl-validator and has a Retry and a Catch on every Task, and a timeout", () => {
        for (const name of taskStates(definition)) {
            const s = definition.States[name] as { Retry?: unknown[]; Catch?: unknown[] };
            assert.ok(s.Retry && s.Retry.length > 0, `${name} has Retry`);
            assert.ok(s.Catch && s.Catch.length > 0, `${name} has Catch`);
        }
        assert.ok(definition.TimeoutSeconds > 0);
    });

    for (const isCluster of [false, true]) {
        const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
        const kind = isCluster ? "cluster" : "instance";
        const dbOf = () => (isCluster ? rds.clusters.get(id)! : rds.instances.get(id)!);
        const snapshotsOf = () =>
            isCluster
                ? [...rds.clusterSnapshots.values()].filter((s) => s.info.DBClusterIdentifier === id).map((s) => s.info.DBClusterSnapshotIdentifier!)
                : [...rds.snapshots.values()].filter((s) => s.info.DBInstanceIdentifier === id).map((s) => s.info.DBSnapshotIdentifier!);

        describe(`${kind}`, () => {
            it("create_snapshot_only: takes a tagged snapshot of the current data, then prunes beyond keepSnapshots", async () => {
                const before = snapshotOriginal(isCluster);
                const result = await run({ identifier: id, task: "create_snapshot_only", isCluster });
                assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify(result));
                assert.ok(result.path.includes("PruneSnapshots"));
                assert.ok(!result.path.includes("RenameOriginal"));
                const created = (result.output as { job: { snapshotIdentifier: string } }).job.snapshotIdentifier;
                assert.match(created, new RegExp(`^${id}-\\d{14}$`));
                const snaps = isCluster ? rds.clusterSnapshots : rds.snapshots;
                assert.strictEqual(snaps.get(created)!.data, before.data);
                assert.deepStrictEqual(snaps.get(created)!.tags.filter((t) => t.Key!.startsWith("pilotlight")), PILOTLIGHT_TAGS);
                // keepSnapshots = 2: the new one and the newest older pilotlight one; manual snapshots untouched.
                const remaining = snapshotsOf().filter((s) => (isCluster ? rds.clusterSnapshots : rds.snapshots).get(s)!.status !== "deleting");
                const expected = isCluster ? [`${id}-20260101000000`, created] : [`${id}-20260101000000`, "wordpress-manual", created];
                assert.deepStrictEqual(remaining.sort(), expected.sort());
                // The new snapshot existed before any old one was deleted.
                const createIdx = rds.calls.findIndex((c) => c.command.startsWith("Create"));
                const deleteIdx = rds.calls.findIndex((c) => c.command.startsWith("Delete"));
                assert.ok(createIdx >= 0 && deleteIdx > createIdx);
                assertOriginalIntact(isCluster, before);
                assert.strictEqual(alerts.published.length, 1);
                assert.match(alerts.published[0].subject, /create_snapshot_only on .* succeeded/);
            });

            for (const task of ["db_restore", "create_snapshot"] as const) {
                it(`${task}: restores in place with every setting, deletes the original with a final snapshot`, async () => {
                    const before = snapshotOriginal(isCluster);
                    const result = await run({ identifier: id, task, isCluster });
                    assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify({ ...result, path: result.path.slice(-10) }));
                    const order = ["RenameOriginal", "RestoreFromSnapshot", "ApplySettings", "DeleteOriginal", "NotifySuccess", "Succeeded"];
                    assert.deepStrictEqual(result.path.filter((s) => order.includes(s)).filter((s, i, a) => a.indexOf(s) === i), order);
                    if (task === "create_snapshot") assert.ok(result.path.indexOf("PruneSnapshots") < result.path.indexOf("RenameOriginal"));
                    const job = (result.output as { job: { snapshotIdentifier: string; names: { finalSnapshot: string } } }).job;
                    const expectedData = task === "db_restore" ? (isCluster ? "carts-v1" : "orders-v1") : before.data;
                    const db = dbOf();
                    assert.strictEqual(db.data, expectedData, "the restored database holds the snapshot's data");
                    const resourceId = isCluster ? rds.clusters.get(id)!.info.DbClusterResourceId : rds.instances.get(id)!.info.DbiResourceId;
                    assert.notStrictEqual(resourceId, before.resourceId, "it is a new database");
                    assert.strictEqual(db.status, "available");
                    // Same settings, tags and members as before (aws: tags excepted: AWS owns them).
                    const after = isCluster ? clusterSettings(id) : instanceSettings(id);
                    const expectedSettings = { ...before.settings, tags: (before.settings.tags as { Key: string }[]).filter((t) => !t.Key.startsWith("aws:")) };
                    assert.deepStrictEqual(after, expectedSettings);
                    // The original is gone, its data kept in the final snapshot.
                    assertNoLeftovers();
                    const final = isCluster ? rds.clusterSnapshots.get(job.names.finalSnapshot) : rds.snapshots.get(job.names.finalSnapshot);
                    assert.strictEqual(final?.data, before.data, "the final snapshot holds the original's data");
                    // Deletion protection was turned off before the delete, never skipped the final snapshot.
                    const deletes = rds.mutatingCalls().filter((c) => c.command === (isCluster ? "DeleteDBCluster" : "DeleteDBInstance") && !String(c.input.DBInstanceIdentifier ?? "").match(/^shop-\d/));
                    assert.ok(deletes.every((c) => c.input.SkipFinalSnapshot !== true && c.input.FinalDBSnapshotIdentifier === job.names.finalSnapshot));
                    const protOff = rds.calls.findIndex((c) => c.input.DeletionProtection === false);
                    const firstDelete = rds.calls.findIndex((c) => c.command.startsWith("DeleteDB") && !c.command.includes("Snapshot"));
                    assert.ok(protOff >= 0 && protOff < firstDelete, "deletion protection off before any delete");
                    // Every rename and restore was immediate.
                    for (const c of rds.callsOf(isCluster ? "ModifyDBCluster" : "ModifyDBInstance")) assert.strictEqual(c.input.ApplyImmediately, true);
                });
            }

            it("export_snapshot: exports the newest pilotlight snapshot to the bucket with the export key, changing no database", async () => {
                const before = snapshotOriginal(isCluster);
                const result = await run({ identifier: id, task: "export_snapshot", isCluster });
                assert.strictEqual(result.status, "SUCCEEDED", JSON.stringify(result));
                const task = [...rds.exportTasks.values()][0];
                assert.strictEqual(task.status, "COMPLETE");
                assert.strictEqual(task.info.SourceArn, rdsArn(isCluster ? "cluster-snapshot" : "snapshot", `${id}-20260101000000`));
                assert.strictEqual(task.info.S3Bucket, "pl-exports");
                assert.strictEqual(task.info.S3Prefix, `rds/${id}`);
                assert.strictEqual(task.info.KmsKeyId, ENV.EXPORT_KMS_KEY_ARN);
                assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["StartExportTask"]);
                assert.ok(result.visits["ExportComplete: check"] >= 3, "polled until complete");
                assertOriginalIntact(isCluster, before);
            });

            it("a restore that never becomes available rolls back and alerts", async () => {
                const before = snapshotOriginal(isCluster);
                rds.nextRestoreNeverFinishes();
                const result = await run({ identifier: id, task: "db_restore", isCluster });
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, "WaitTimeoutError");
                if (isCluster) {
                    // A cluster's members wait for the cluster: the restore loop itself runs out.
                    assert.strictEqual(result.visits.RestoreFromSnapshot, 2 * OPTIONS.maxAttempts!);
                    assert.ok(result.path.includes("RestoreFromSnapshot: timed out"));
                    assert.deepStrictEqual(rds.callsOf("CreateDBInstance"), [], "no member of a cluster that is not available");
                } else {
                    assert.strictEqual(result.visits["Restored: check"], OPTIONS.maxAttempts);
                    assert.ok(result.path.includes("Restored: timed out"));
                }
                assert.ok(result.path.includes("RollBack"));
                assertOriginalIntact(isCluster, before);
                assert.strictEqual(alerts.published.length, 1);
                const msg = alerts.published[0].message;
                assert.match(msg, isCluster ? /Failed step: RestoreFromSnapshot/ : /Failed step: Restored/);
                if (!isCluster) assert.match(msg, new RegExp(`not ready after ${OPTIONS.maxAttempts} polls`));
                assert.match(msg, /Rollback: original-restored/);
                assert.match(msg, /executions\/details\/arn:aws:states:us-east-1:123456789012:execution:pl-restore:exec-1/);
            });

            it("a restore that ends incompatible-restore rolls back", async () => {
                const before = snapshotOriginal(isCluster);
                rds.nextRestoreEndsIn("incompatible-restore");
                const result = await run({ identifier: id, task: "db_restore", isCluster });
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, "ResourceFailedError");
                assert.ok(result.path.includes(isCluster ? "RestoreFromSnapshot failed" : "Restored: ended in a failed state"));
                assertOriginalIntact(isCluster, before);
                assert.match(alerts.published[0].message, /incompatible-restore/);
            });
        });
    }

    describe("fault injected at every Task state in turn", () => {
        const injected = (state: string, real: Handler): Handler => {
            let calls = 0;
            return async (event) => {
                calls += 1;
                if (calls === 1) {
                    const err = new Error(`injected fault at ${state}`);
                    err.name = "InjectedFault";
                    throw err;
                }
                return real(event);
            };
        };
        const handlerOf = (state: string) => HANDLERS[(definition.States[state] as { Resource: string }).Resource];
        const EXPORT_STATES = ["StartExport", "ExportComplete: check"];
        const ALERT_STATES = ["NotifyFailure", "NotifyInvalidInput", "NotifySuccess"];
        /** States after the point of no return (a cluster's writer is available before its readers are checked). */
        const afterCutover = (state: string, isCluster: boolean) => ["ApplySettings", "DeleteOriginal"].includes(state) || (isCluster && state === "Restored: check");

        for (const isCluster of [false, true]) {
            const id = isCluster ? CLUSTER_ID : INSTANCE_ID;
            for (const state of taskStates(definition)) {
                it(`${isCluster ? "cluster" : "instance"}: ${state}`, async () => {
                    const before = snapshotOriginal(isCluster);
                    const task = EXPORT_STATES.includes(state) ? "export_snapshot" : "create_snapshot";
                    const faults: Record<string, Handler> = { [state]: injected(state, handlerOf(state)) };
                    // Rollback and alerts run only after a failure: cause one at the restore (KeepBoth: after the cutover).
                    const needsFailure = state === "RollBack" || state === "NotifyFailure" || state === "KeepBoth";
                    if (needsFailure && state !== "KeepBoth") faults.RestoreFromSnapshot = injected("RestoreFromSnapshot", handlerOf("RestoreFromSnapshot"));
                    if (state === "KeepBoth") faults.ApplySettings = injected("ApplySettings", handlerOf("ApplySettings"));
                    const kept = state === "KeepBoth" || afterCutover(state, isCluster);
                    const input = state === "NotifyInvalidInput" ? { identifier: id, task: "nonsense", isCluster } : { identifier: id, task, isCluster };
                    const result = await run(input, faults);

                    assert.ok(result.taskFailures.some((f) => f.state === state && f.error === "InjectedFault"), "the fault was injected");
                    if (ALERT_STATES.includes(state) || state === "RollBack") {
                        // Rollback and alerts retry any error: the run ends as it would have without the fault.
                        assert.strictEqual(result.status, needsFailure || state === "NotifyInvalidInput" ? "FAILED" : "SUCCEEDED");
                    } else {
                        assert.strictEqual(result.status, "FAILED", `failed at ${state}`);
                        assert.strictEqual(result.error, kept ? "RestoreKeptError" : "InjectedFault");
                    }
                    const sentAlert = alerts.published.at(-1)!;
                    if (result.status === "FAILED") {
                        assert.strictEqual(alerts.published.length, 1, "exactly one alert");
                        assert.match(sentAlert.subject, /FAILED/);
                        const failedStep =
                            state === "KeepBoth" ? "ApplySettings" : needsFailure ? "RestoreFromSnapshot" : state === "NotifyInvalidInput" ? "Validate" : state.replace(/: check$/, "").replace(/^(.*): .*/, "$1");
                        assert.match(sentAlert.message, new RegExp(`Failed step: ${failedStep.replace("?", "\\?")}`));
                    }
                    const afterRename = result.path.includes("RenameOriginal");
                    if (result.status === "FAILED" && kept) {
                        // Past the point of no return: the restore serves, the original is kept, as it was, under its temporary name.
                        // A rollback that finds the restore serving (the cluster's writer available) keeps both too.
                        if (state !== "Restored: check") assert.ok(!result.path.includes("RollBack"), "no rollback after the point of no return");
                        assert.match(sentAlert.message, /Rollback: kept-both - the restored database serves as /);
                        assertKeptBoth(isCluster, before, (result.cause ?? "").match(/kept as (\S+)/)?.[1] ?? "");
                    } else if (result.status === "FAILED" && afterRename) {
                        assert.ok(result.path.includes("RollBack"), "rolled back");
                        assert.match(sentAlert.message, /Rollback: original-restored/);
                    }
                    if (result.status === "FAILED" && !kept) assertOriginalIntact(isCluster, before);
                });
            }
        }
    });

    describe("bad input fails before any mutating call", () => {
        const cases: [string, unknown, string][] = [
            ["unknown task", { identifier: INSTANCE_ID, task: "drop_everything", isCluster: false }, "InvalidInputError"],
            ["missing identifier", { task: "db_restore", isCluster: false }, "InvalidInputError"],
            ["malformed identifier", { identifier: "Robert'); DROP", task: "db_restore", isCluster: false }, "InvalidInputError"],
            ["isCluster not a boolean", { identifier: INSTANCE_ID, task: "db_restore", isCluster: "no" }, "InvalidInputError"],
            ["isCluster wrong for an instance", { identifier: INSTANCE_ID, task: "db_restore", isCluster: true }, "InvalidInputError"],
            ["isCluster wrong for a cluster", { identifier: CLUSTER_ID, task: "db_restore", isCluster: false }, "InvalidInputError"],
            ["database does not exist", { identifier: "ghost", task: "db_restore", isCluster: false }, "DatabaseNotFoundError"],
            ["snapshot of another database", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-blog-snap" }, "SnapshotMismatchError"],
            ["snapshot named after another database", { identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "otherdb-snap" }, "InvalidInputError"],
            ["cluster snapshot of another cluster", { identifier: CLUSTER_ID, task: "db_restore", isCluster: true, snapshotIdentifier: "shop-old-snap" }, "SnapshotMismatchError"],
            // Not an object: the machine wraps the input before anything can add a field to it.
            ["input that is a bare string", "wordpress", "InvalidInputError"],
            ["input that is a list", [INSTANCE_ID, "db_restore"], "InvalidInputError"],
        ];
        for (const [label, input, errorName] of cases) {
            it(label, async () => {
                rds.addClusterSnapshot("shop-old-snap", "shop-old");
                rds.addSnapshot("otherdb-snap", "otherdb");
                rds.addSnapshot("wordpress-blog-snap", "wordpress-blog");
                const result = await run(input);
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(result.error, errorName);
                assert.deepStrictEqual(result.path, ["Receive", "Validate", "Validate failed", "NotifyInvalidInput", "Failed"]);
                assert.deepStrictEqual(rds.mutatingCalls(), []);
                assert.strictEqual(alerts.published.length, 1);
                assert.match(alerts.published[0].message, new RegExp(`Error: ${errorName}`));
            });
        }

        it("a concurrent run on the same database", async () => {
            sfn.addRunning(`arn:aws:states:us-east-1:123456789012:stateMachine:${MACHINE_NAME}`, "earlier", {
                identifier: INSTANCE_ID,
                task: "create_snapshot",
                isCluster: false,
            });
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
            assert.strictEqual(result.error, "ConcurrentRunError");
            assert.deepStrictEqual(rds.mutatingCalls(), []);
            assert.match(alerts.published[0].message, /execution 'earlier'/);
        });
    });

    describe("RDS faults", () => {
        it("a restore call RDS rejects rolls back with the SDK's error named in the alert", async () => {
            const before = snapshotOriginal(false);
            rds.failAlways("RestoreDBInstanceFromDBSnapshot", () => new InsufficientDBInstanceCapacityFault({ $metadata: {}, message: "no r6g.large in us-east-1b" }));
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
            assert.strictEqual(result.error, "InsufficientDBInstanceCapacityFault");
            assertOriginalIntact(false, before);
            assert.match(alerts.published[0].message, /no r6g.large/);
        });

        it("a cluster rename refused half-way (members renamed, cluster not) is undone member by member", async () => {
            const before = snapshotOriginal(true);
            rds.failAlways("ModifyDBCluster", () => new InvalidDBClusterStateFault({ $metadata: {}, message: "cluster is busy" }));
            const result = await run({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true });
            assert.strictEqual(result.error, "InvalidDBClusterStateFault");
            assert.ok(rds.callsOf("ModifyDBInstance").some((c) => String(c.input.NewDBInstanceIdentifier).includes("-pl-old-")), "members were renamed first");
            assert.ok(!result.path.includes("RestoreFromSnapshot"));
            assertOriginalIntact(true, before);
            assert.match(alerts.published[0].message, /Rollback: original-restored/);
        });

        it("throttling is retried and the restore completes", async () => {
            rds.failNext("ModifyDBInstance", undefined, 3);
            rds.failNext("DescribeDBInstances", undefined, 2);
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
            assert.strictEqual(result.status, "SUCCEEDED");
            assert.ok(result.taskFailures.filter((f) => f.error === "TransientError").length >= 5);
        });

        it("a failure once the original's deletion has begun keeps the restore: nothing is lost", async () => {
            let thrown = false;
            const flaky: Handler = async (event) => {
                if (!thrown && rds.callsOf("DeleteDBInstance").length > 0) {
                    thrown = true;
                    throw Object.assign(new Error("lost track"), { name: "InjectedFault" });
                }
                return HANDLERS[ARNS.deleteOld](event);
            };
            const result = await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }, { DeleteOriginal: flaky });
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(result.error, "RestoreKeptError");
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v1", "restored database kept");
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.status, "available");
            const final = [...rds.snapshots.values()].find((s) => s.info.DBSnapshotIdentifier!.includes("-pl-final-"));
            assert.strictEqual(final?.data, "orders-v2", "the original's data is in its final snapshot");
            assert.match(alerts.published[0].message, /Rollback: restore-kept - .*its data is in the final snapshot wordpress-pl-final-\d{14}/);
        });

        it("an alert channel failing does not stop the others", async () => {
            alerts.failSns = true;
            process.env.EMAIL_SENDER = "dr@example.com";
            process.env.EMAIL_RECIPIENTS = "ops@example.com";
            try {
                const result = await run({ identifier: "ghost", task: "db_restore", isCluster: false });
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(alerts.emails.length, 1);
                assert.deepStrictEqual(alerts.emails[0].to, ["ops@example.com"]);
            } finally {
                delete process.env.EMAIL_SENDER;
                delete process.env.EMAIL_RECIPIENTS;
            }
        });
    });
});
