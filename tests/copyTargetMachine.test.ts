import * as assert from "assert";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { copyTargetDefinition } from "../components/machines/copyTarget";
import { copyTargetStatements } from "../components/copyMachine";
import { handler } from "../functions/copy-target";
import { COPY_SOURCE_JOB, COPY_TARGET_JOB, SOURCE_SNAPSHOT_TAG, VERSION_TAG } from "../functions/lib/backup";
import { CREATED_BY_TAG, MANAGED_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSecrets } from "./fakeSecrets";
import { allows, rdsAuthorizations } from "./iamCheck";
import { jobMachineHandlers, runMachine, taskStates } from "./machineHarness";

const REGION = "us-west-2";
const SOURCE_ACCOUNT = "111111111111";
const DR_ACCOUNT = "222222222222";
const DR_KEY = `arn:aws:kms:${REGION}:${DR_ACCOUNT}:key/dr`;
const SOURCE_REPLICA_KEY = `arn:aws:kms:${REGION}:${SOURCE_ACCOUNT}:key/mrk-shared`;
// The deployed Lambda gets the secret's full ARN (with its random suffix).
const SECRET = `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:pilotlight/copy/wordpress-Ab12Cd`;
const HOLD = "pilotlight/copy/wordpress/hold";
const ENV_KEYS = ["TARGET_NAME", "TARGET_REGION", "SOURCE_ACCOUNT_ID", "SOURCE_IDENTIFIER", "DR_KEY_ARN", "SECRET_ID", "HOLD_SECRET_ID", "KEEP", "INSTANCE_CLASS", "SUBNET_GROUP_NAME", "SECURITY_GROUP_IDS", "PARAMETER_GROUP_NAME", "MULTI_AZ", "COPY_TAGS"];
const POLICY = { namePrefix: "pilotlight", accountId: DR_ACCOUNT, region: REGION, sourceAccountId: SOURCE_ACCOUNT, sourceIdentifier: "wordpress", targetName: "wordpress", drKeyArn: DR_KEY, secretArn: SECRET, holdSecretName: HOLD };

/** The ARN IAM authorizes a Secrets Manager call on (a name gets the random suffix a real ARN has). */
function secretResource(id: string): string {
    return id.startsWith("arn:") ? id : `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:${id}-Xy12Zq`;
}
const JOB_FN = `arn:aws:lambda:${REGION}:${DR_ACCOUNT}:function:pilotlight-copy-target`;
const ALERT_FN = `arn:aws:lambda:${REGION}:${DR_ACCOUNT}:function:pilotlight-alert`;

const definition = copyTargetDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10 });

function sharedArn(day: string): string {
    return `arn:aws:rds:${REGION}:${SOURCE_ACCOUNT}:snapshot:wordpress-cp-202601${day}000000`;
}

function message(day: string) {
    return { task: "copy", snapshotArn: sharedArn(day), sourceIdentifier: "wordpress", engine: "postgres", createdAt: `2026-01-${day}T00:00:00Z` };
}

describe("copy target machine", () => {
    let rds: FakeRds;
    let secrets: FakeSecrets;
    let alerts: any[];
    let faultStep: string | undefined;
    let onCall: ((step: string) => void) | undefined;

    function share(day: string) {
        rds.addSharedSnapshot(sharedArn(day), { data: `posts-of-${day}`, kmsKeyId: SOURCE_REPLICA_KEY, created: `2026-01-${day}T00:00:00Z`, databaseIdentifier: "wordpress" });
    }

    function run(input: unknown, job: (event: any) => Promise<unknown> = handler, executionName?: string) {
        return runMachine(definition, input, {
            machineName: "pilotlight-copy-target",
            executionName,
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, job, { faultStep: () => faultStep, alert: (e) => alerts.push(e), call: (step) => onCall?.(step) }),
        });
    }

    async function copyOk(day: string) {
        share(day);
        const result = await run(message(day));
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause} ${JSON.stringify(alerts)}`);
        return result;
    }

    /** Instances of this target that are not being deleted. */
    function live(): string[] {
        return [...rds.instances.values()].filter((i) => i.status !== "deleting").map((i) => i.info.DBInstanceIdentifier!).sort();
    }

    beforeEach(() => {
        rds = new FakeRds({ region: REGION, account: DR_ACCOUNT });
        secrets = new FakeSecrets([SECRET]);
        alerts = [];
        faultStep = undefined;
        onCall = undefined;
        Object.assign(process.env, {
            TARGET_NAME: "wordpress",
            TARGET_REGION: REGION,
            SOURCE_ACCOUNT_ID: SOURCE_ACCOUNT,
            SOURCE_IDENTIFIER: "wordpress",
            DR_KEY_ARN: DR_KEY,
            SECRET_ID: SECRET,
            HOLD_SECRET_ID: HOLD,
            KEEP: "2",
            INSTANCE_CLASS: "db.t4g.medium",
            SUBNET_GROUP_NAME: "pilotlight-dr-db",
            SECURITY_GROUP_IDS: "sg-0123456789abcdef0",
            PARAMETER_GROUP_NAME: "wordpress-dr",
            MULTI_AZ: "false",
            COPY_TAGS: JSON.stringify({ team: "web" }),
        });
    });

    afterEach(() => {
        rds.restore();
        secrets.restore();
        for (const k of ENV_KEYS) delete process.env[k];
    });

    it("copies the shared snapshot under the DR key, restores <name>-v1 with the configured settings, manages its password under the DR key and points the secret at it", async () => {
        await copyOk("01");
        const copy = rds.snapshots.get("wordpress-v1")!;
        assert.strictEqual(copy.info.KmsKeyId, DR_KEY);
        assert.strictEqual(copy.data, "posts-of-01");
        const inst = rds.instances.get("wordpress-v1")!;
        assert.strictEqual(inst.status, "available");
        assert.strictEqual(inst.data, "posts-of-01");
        assert.strictEqual(inst.info.DBInstanceClass, "db.t4g.medium");
        assert.strictEqual(inst.info.DBSubnetGroup?.DBSubnetGroupName, "pilotlight-dr-db");
        assert.deepStrictEqual(inst.info.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId), ["sg-0123456789abcdef0"]);
        assert.strictEqual(inst.info.DBParameterGroups?.[0].DBParameterGroupName, "wordpress-dr");
        assert.strictEqual(inst.info.MultiAZ, false);
        const tags = Object.fromEntries(inst.tags.map((t) => [t.Key, t.Value]));
        assert.strictEqual(tags.team, "web");
        assert.strictEqual(tags[MANAGED_TAG], "true");
        assert.strictEqual(tags[CREATED_BY_TAG], COPY_TARGET_JOB);
        assert.strictEqual(tags[SOURCE_SNAPSHOT_TAG], sharedArn("01"));
        // The restore keeps the source's password (it lives in the source account): RDS manages a new one under the DR key.
        assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot")[0].input.ManageMasterUserPassword, undefined);
        assert.deepStrictEqual(rds.callsOf("ModifyDBInstance").map((c) => c.input), [{ DBInstanceIdentifier: "wordpress-v1", ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: DR_KEY, ApplyImmediately: true }]);
        assert.strictEqual(inst.info.MasterUserSecret?.KmsKeyId, DR_KEY);
        assert.strictEqual(rds.callsOf("DescribeDBSnapshots").find((c) => c.input.DBSnapshotIdentifier === sharedArn("01"))?.input.IncludeShared, true);
        assert.deepStrictEqual(secrets.current(SECRET), {
            host: inst.info.Endpoint?.Address,
            port: 5432,
            identifier: "wordpress-v1",
            version: 1,
            engine: "postgres",
            masterUserSecretArn: inst.info.MasterUserSecret?.SecretArn,
            sourceSnapshotArn: sharedArn("01"),
            sourceCreatedAt: "2026-01-01T00:00:00.000Z",
        });
        assert.deepStrictEqual(alerts, []);
    });

    it("keeps the newest 2 copies, deleting older ones with a final snapshot, and later their snapshots", async () => {
        await copyOk("01");
        await copyOk("02");
        await copyOk("03");
        assert.deepStrictEqual(live(), ["wordpress-v2", "wordpress-v3"]);
        const del = rds.callsOf("DeleteDBInstance");
        assert.deepStrictEqual(del.map((c) => [c.input.DBInstanceIdentifier, c.input.SkipFinalSnapshot, c.input.FinalDBSnapshotIdentifier]), [["wordpress-v1", false, "wordpress-v1-final"]]);
        assert.ok(rds.snapshots.has("wordpress-v1-final"), "the final snapshot of v1 outlives the run that deleted v1");
        // A day passes: the deletion of v1 completes.
        for (let i = 0; i < 3; i++) await new RDSClient({}).send(new DescribeDBInstancesCommand({}));
        assert.ok(!rds.instances.has("wordpress-v1"));
        await copyOk("04");
        assert.deepStrictEqual(live(), ["wordpress-v3", "wordpress-v4"]);
        assert.ok(!rds.snapshots.has("wordpress-v1-final") || rds.snapshots.get("wordpress-v1-final")!.status === "deleting");
        assert.ok(!rds.snapshots.has("wordpress-v1") || rds.snapshots.get("wordpress-v1")!.status === "deleting");
        assert.strictEqual(rds.snapshots.get("wordpress-v3")!.status, "available");
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v4");
    });

    it("a duplicate delivery creates no second instance", async () => {
        await copyOk("01");
        const again = await run(message("01"));
        assert.strictEqual(again.status, "SUCCEEDED");
        assert.ok(again.path.includes("AlreadyCopied"));
        assert.deepStrictEqual(live(), ["wordpress-v1"]);
        assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot").length, 1);
        assert.strictEqual(secrets.versions.get(SECRET)!.length, 1);
    });

    it("rollback points the secret at a retained older copy; the next copy numbers from the highest existing version", async () => {
        await copyOk("01");
        await copyOk("02");
        const rollback = await run({ task: "rollback", version: 1 });
        assert.strictEqual(rollback.status, "SUCCEEDED", `${rollback.error}: ${rollback.cause}`);
        assert.deepStrictEqual(secrets.current(SECRET), { ...secrets.current(SECRET), identifier: "wordpress-v1", version: 1 });
        assert.deepStrictEqual(live(), ["wordpress-v1", "wordpress-v2"], "rollback deletes nothing");
        await copyOk("03");
        assert.ok(rds.instances.has("wordpress-v3"), "numbered v3, not v2 again");
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v3");
        assert.deepStrictEqual(live(), ["wordpress-v2", "wordpress-v3"]);
    });

    const badInputs: { name: string; input: unknown; expect: RegExp }[] = [
        { name: "rollback to a version that is not retained", input: { task: "rollback", version: 7 }, expect: /no retained copy wordpress-v7; retained copies: wordpress-v1/ },
        { name: "rollback without a version", input: { task: "rollback" }, expect: /rollback needs "version"/ },
        { name: "an unknown task", input: { task: "restore" }, expect: /unknown task "restore"/ },
        { name: "a snapshot of another account", input: { ...message("05"), snapshotArn: "arn:aws:rds:us-west-2:999999999999:snapshot:wordpress-cp-1" }, expect: /belongs to account 999999999999/ },
        { name: "a snapshot of another instance", input: { ...message("05"), sourceIdentifier: "billing" }, expect: /"billing" is not the configured source wordpress/ },
        { name: "a snapshot that is not shared with this account", input: message("09"), expect: /is not visible to this account/ },
    ];
    for (const t of badInputs) {
        it(`rejects ${t.name}, changing nothing, and alerts`, async () => {
            await copyOk("01");
            const before = rds.mutatingCalls().length;
            const result = await run(t.input);
            assert.strictEqual(result.status, "FAILED");
            assert.match(alerts[0].cause, t.expect);
            assert.strictEqual(rds.mutatingCalls().length, before);
            assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
        });
    }

    it("refuses a second snapshot while a copy is in progress, before any change, and alerts", async () => {
        await copyOk("01");
        share("02");
        rds.addSnapshot("wordpress-v2", "wordpress", { status: "creating", tags: [{ Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB }, { Key: VERSION_TAG, Value: "2" }, { Key: SOURCE_SNAPSHOT_TAG, Value: sharedArn("03") }] });
        const before = rds.mutatingCalls().length;
        const result = await run(message("02"));
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].error, /ConcurrentRunError/);
        assert.match(alerts[0].cause, /snapshot wordpress-v2 is creating/);
        assert.strictEqual(rds.mutatingCalls().length, before);
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
    });

    it("a shared snapshot RDS says was taken from another instance is refused, whatever the message says, before any change", async () => {
        await copyOk("01");
        rds.addSharedSnapshot(sharedArn("02"), { kmsKeyId: SOURCE_REPLICA_KEY, created: "2026-01-02T00:00:00Z", databaseIdentifier: "billing" });
        const before = rds.mutatingCalls().length;
        const result = await run(message("02"));
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(alerts[0].error, "SnapshotMismatchError");
        assert.match(alerts[0].cause, /was taken from "billing", not from the configured source wordpress/);
        assert.strictEqual(rds.mutatingCalls().length, before);
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
    });

    it("an out-of-order announcement of older data never moves the secret back, copies nothing and does not alert", async () => {
        share("01");
        await copyOk("02");
        const before = rds.mutatingCalls().length;
        const late = await run(message("01"));
        assert.strictEqual(late.status, "SUCCEEDED");
        assert.ok(late.path.includes("AlreadyCopied"));
        assert.match(late.output.skip, /not newer than wordpress-v1's data/);
        assert.strictEqual(rds.mutatingCalls().length, before);
        assert.strictEqual(secrets.current(SECRET).sourceSnapshotArn, sharedArn("02"));
        assert.deepStrictEqual(alerts, []);
    });

    it("a failed copy never counts toward keep: the last good rollback copy stays and the dead one goes, without a final snapshot", async () => {
        await copyOk("01");
        await copyOk("02");
        share("03");
        rds.nextRestoreEndsIn("failed");
        const failed = await run(message("03"));
        assert.strictEqual(failed.status, "FAILED");
        assert.strictEqual(alerts[0].error, "ResourceFailedError");
        alerts = [];
        await copyOk("04");
        assert.deepStrictEqual(live(), ["wordpress-v2", "wordpress-v4"], "v2 is still the rollback copy");
        const del = rds.callsOf("DeleteDBInstance").map((c) => [c.input.DBInstanceIdentifier, c.input.SkipFinalSnapshot]);
        assert.deepStrictEqual(del, [["wordpress-v1", false], ["wordpress-v3", true]]);
        // The deletions complete; the next run deletes the snapshots of both, never those of the kept copies.
        for (let i = 0; i < 3; i++) await new RDSClient({}).send(new DescribeDBInstancesCommand({}));
        await copyOk("05");
        const gone = rds.callsOf("DeleteDBSnapshot").map((c) => c.input.DBSnapshotIdentifier).sort();
        assert.deepStrictEqual(gone, ["wordpress-v1", "wordpress-v1-final", "wordpress-v3"]);
        assert.deepStrictEqual(live(), ["wordpress-v4", "wordpress-v5"]);
    });

    it("retention and rollback touch only the machine's own copies, not a tagged look-alike", async () => {
        await copyOk("01");
        // An operator's restore of the v1 snapshot, tags copied, under a copy-like name; and an untagged one.
        const v1Tags = rds.instances.get("wordpress-v1")!.tags;
        rds.addInstance({ identifier: "wordpress-v7", tags: v1Tags, info: { MasterUserSecret: { SecretArn: "arn:x", SecretStatus: "active", KmsKeyId: DR_KEY } } });
        rds.addInstance({ identifier: "wordpress-v8" });
        const rollback = await run({ task: "rollback", version: 7 });
        assert.strictEqual(rollback.status, "FAILED");
        assert.match(alerts[0].cause, /no retained copy wordpress-v7; retained copies: wordpress-v1/);
        alerts = [];
        await copyOk("02");
        await copyOk("03");
        await copyOk("04");
        assert.ok(rds.instances.get("wordpress-v7")!.status === "available" && rds.instances.get("wordpress-v8")!.status === "available", "look-alikes stay");
        assert.ok(!rds.callsOf("DeleteDBInstance").some((c) => ["wordpress-v7", "wordpress-v8"].includes(c.input.DBInstanceIdentifier as string)));
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v11", "numbered above every <name>-v<N>, ours or not");
    });

    describe("while the dr stack is failed over (the hold secret exists)", () => {
        it("a delivery changes nothing and ends quietly", async () => {
            await copyOk("01");
            secrets.create(HOLD, "the dr stack is failed over");
            share("02");
            const before = rds.mutatingCalls().length;
            const result = await run(message("02"));
            assert.strictEqual(result.status, "SUCCEEDED");
            assert.ok(result.path.includes("Held"));
            assert.match(result.output.held, /held by pilotlight\/copy\/wordpress\/hold: the dr stack is failed over/);
            assert.strictEqual(rds.mutatingCalls().length, before);
            assert.strictEqual(secrets.versions.get(SECRET)!.length, 1);
            assert.deepStrictEqual(alerts, []);
        });

        it("a run that was copying when failover began keeps its copy but neither moves the secret nor prunes", async () => {
            await copyOk("01");
            await copyOk("02");
            share("03");
            onCall = (step) => {
                if (step === "point") secrets.create(HOLD);
            };
            const result = await run(message("03"));
            assert.strictEqual(result.status, "SUCCEEDED");
            assert.ok(result.path.includes("Held") && !result.path.includes("Prune"));
            assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v2", "the secret stays on the served copy");
            assert.deepStrictEqual(live(), ["wordpress-v1", "wordpress-v2", "wordpress-v3"]);
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
        });

        it("prune finds the hold too: failover beginning after the secret moved deletes nothing", async () => {
            await copyOk("01");
            await copyOk("02");
            share("03");
            onCall = (step) => {
                if (step === "prune") secrets.create(HOLD);
            };
            const result = await run(message("03"));
            assert.strictEqual(result.status, "SUCCEEDED");
            assert.ok(result.path.includes("Held"));
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
        });

        it("a rollback is refused with a clear error, before any change", async () => {
            await copyOk("01");
            await copyOk("02");
            secrets.create(HOLD);
            const before = rds.mutatingCalls().length;
            const result = await run({ task: "rollback", version: 1 });
            assert.strictEqual(result.status, "FAILED");
            assert.match(alerts[0].cause, /rollback refused: held by pilotlight\/copy\/wordpress\/hold/);
            assert.strictEqual(rds.mutatingCalls().length, before);
            assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v2");
        });

        it("after failback (the hold deleted) copies resume", async () => {
            secrets.create(HOLD);
            share("01");
            assert.ok((await run(message("01"))).path.includes("Held"));
            secrets.delete(HOLD);
            const again = await run(message("01"), handler, "redelivered");
            assert.strictEqual(again.status, "SUCCEEDED");
            assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
        });
    });

    describe("bad input changes nothing and reaches the alert", () => {
        const cases: { name: string; input: unknown; expect: RegExp }[] = [
            { name: "a string", input: "copy", expect: /input must be an object/ },
            { name: "a list", input: [message("02")], expect: /input must be an object/ },
            { name: "an unknown field", input: { ...message("02"), prune: true }, expect: /unknown field\(s\) prune for task copy/ },
            { name: "a rollback with extra fields", input: { task: "rollback", version: 1, snapshotArn: sharedArn("02") }, expect: /unknown field\(s\) snapshotArn for task rollback/ },
            { name: "a fractional version", input: { task: "rollback", version: 1.5 }, expect: /rollback needs "version"/ },
        ];
        for (const t of cases) {
            it(`refuses ${t.name}`, async () => {
                await copyOk("01");
                share("02");
                const before = rds.mutatingCalls().length;
                const result = await run(t.input);
                assert.strictEqual(result.status, "FAILED");
                assert.strictEqual(alerts[0].error, "InvalidInputError");
                assert.match(alerts[0].cause, t.expect);
                assert.strictEqual(rds.mutatingCalls().length, before);
                assert.strictEqual(secrets.versions.get(SECRET)!.length, 1);
            });
        }
    });

    it("racing twins of one delivery end as one copy and no alert", async () => {
        await copyOk("01");
        share("02");
        const [a, b] = await Promise.all([run(message("02"), handler, "twin-a"), run(message("02"), handler, "twin-b")]);
        assert.deepStrictEqual([a.status, b.status], ["SUCCEEDED", "SUCCEEDED"], `${a.error} ${a.cause} ${b.error} ${b.cause}`);
        assert.deepStrictEqual(live(), ["wordpress-v1", "wordpress-v2"]);
        assert.strictEqual(rds.instances.get("wordpress-v2")!.data, "posts-of-02");
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v2");
        assert.deepStrictEqual(alerts, []);
    });

    it("a redelivery while the first run is still restoring continues that copy instead of starting another", async () => {
        await copyOk("01");
        share("02");
        let second: Promise<any> | undefined;
        onCall = (step) => {
            if (step === "password" && !second) second = run(message("02"), handler, "redelivered");
        };
        const first = await run(message("02"));
        const again = await second!;
        assert.deepStrictEqual([first.status, again.status], ["SUCCEEDED", "SUCCEEDED"]);
        assert.strictEqual(rds.callsOf("CopyDBSnapshot").length, 2, "one copy per snapshot");
        assert.deepStrictEqual(live(), ["wordpress-v1", "wordpress-v2"]);
        assert.deepStrictEqual(alerts, []);
    });

    for (const step of ["plan", "copy", "restore", "password", "point", "prune"]) {
        it(`a lost response at ${step} (the call took effect) is retried and ends as one result, no alert`, async () => {
            await copyOk("01");
            share("02");
            let lost = false;
            const lossy = async (event: any) => {
                const result = await handler(event);
                if (event.step === step && !lost) {
                    lost = true;
                    const e = new Error("response lost");
                    e.name = step === "password" ? "Lambda.Unknown" : "Lambda.ServiceException";
                    throw e;
                }
                return result;
            };
            const result = await run(message("02"), lossy);
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            assert.ok(lost);
            assert.strictEqual(rds.callsOf("CopyDBSnapshot").length, 2);
            assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot").length, 2);
            assert.strictEqual(rds.callsOf("ModifyDBInstance").length, 2);
            assert.strictEqual(rds.callsOf("DeleteDBInstance").length, 0);
            assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v2");
            assert.deepStrictEqual(alerts, []);
        });
    }

    it("has a Retry and a Catch on every Task and a machine timeout", () => {
        assert.ok(definition.TimeoutSeconds >= 3 * 10 * 60);
        for (const name of taskStates(definition as any)) {
            const state = definition.States[name] as any;
            assert.ok(state.Retry?.length, `${name} has Retry`);
            assert.ok(state.Catch?.some((c: any) => c.ErrorEquals.includes("States.ALL")), `${name} has Catch`);
        }
    });

    for (const step of ["plan", "copy", "status", "restore", "password", "point", "prune"]) {
        it(`a fault at ${step} keeps the current copy and the secret, and alerts`, async () => {
            await copyOk("01");
            share("02");
            faultStep = step;
            const result = await run(message("02"));
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].source, "copy-target");
            assert.strictEqual(rds.instances.get("wordpress-v1")!.status, "available");
            assert.strictEqual(secrets.current(SECRET).identifier, step === "prune" ? "wordpress-v2" : "wordpress-v1");
            assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
        });
    }

    it("an endless restore exhausts its wait, keeps the secret and alerts", async () => {
        await copyOk("01");
        share("02");
        rds.nextRestoreNeverFinishes();
        const result = await run(message("02"));
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.visits.PollRestore, 10);
        assert.strictEqual(alerts[0].error, "WaitExhausted");
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
    });

    it("same-account mode: copies the source's own (unshared) DR-region snapshot, restores, points the secret and keeps the source's snapshots", async () => {
        // prod and dr in one account: the source's copy is an ordinary snapshot of this account.
        process.env.SOURCE_ACCOUNT_ID = DR_ACCOUNT;
        const sourceTags = [
            { Key: CREATED_BY_TAG, Value: COPY_SOURCE_JOB },
            { Key: SOURCE_TAG, Value: "wordpress" },
        ];
        const ownArn = (day: string) => `arn:aws:rds:${REGION}:${DR_ACCOUNT}:snapshot:wordpress-cp-202601${day}000000`;
        const SOURCE_KEY = `arn:aws:kms:${REGION}:${DR_ACCOUNT}:key/mrk-shared`;
        for (const day of ["01", "02", "03"]) {
            rds.addSnapshot(`wordpress-cp-202601${day}000000`, "wordpress", { data: `posts-of-${day}`, created: `2026-01-${day}T00:00:00Z`, tags: sourceTags, kmsKeyId: SOURCE_KEY });
            const result = await run({ ...message(day), snapshotArn: ownArn(day) });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause} ${JSON.stringify(alerts)}`);
        }
        assert.deepStrictEqual(live(), ["wordpress-v2", "wordpress-v3"]);
        assert.strictEqual(rds.instances.get("wordpress-v3")!.data, "posts-of-03");
        assert.strictEqual(rds.snapshots.get("wordpress-v3")!.info.KmsKeyId, DR_KEY);
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v3");
        assert.deepStrictEqual(rds.callsOf("ModifyDBSnapshotAttribute"), [], "nothing is shared");
        for (const day of ["01", "02", "03"]) assert.strictEqual(rds.snapshots.get(`wordpress-cp-202601${day}000000`)?.status, "available", `the source's snapshot of day ${day} is not the target's to delete`);
        const again = await run({ ...message("03"), snapshotArn: ownArn("03") });
        assert.strictEqual(again.status, "SUCCEEDED");
        assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot").length, 3, "a duplicate delivery restores nothing");
        assert.deepStrictEqual(alerts, []);
        const statements = copyTargetStatements({ ...POLICY, sourceAccountId: DR_ACCOUNT });
        const denied = rds.calls.flatMap((c) => rdsAuthorizations(c, { account: DR_ACCOUNT, region: REGION })).filter((a) => !allows(statements, a));
        assert.deepStrictEqual(denied, []);
    });

    it("the Lambda's policy allows every RDS and Secrets Manager call the machine made, on the resources it made it on", async () => {
        await copyOk("01");
        await copyOk("02");
        await copyOk("03");
        // The deletion of v1 completes; the next run prunes its snapshots.
        for (let i = 0; i < 3; i++) await new RDSClient({}).send(new DescribeDBInstancesCommand({}));
        await copyOk("04");
        const rollback = await run({ task: "rollback", version: 3 });
        assert.strictEqual(rollback.status, "SUCCEEDED", `${rollback.error}: ${rollback.cause}`);
        const statements = copyTargetStatements(POLICY);
        const needed = [
            ...rds.calls.filter((c) => !c.region || c.region === REGION).flatMap((c) => rdsAuthorizations(c, { account: DR_ACCOUNT, region: REGION })),
            ...secrets.calls.map((c) => ({ action: `secretsmanager:${c.command}`, resource: secretResource(c.input.SecretId) })),
        ];
        const kinds = new Set(needed.map((n) => n.action));
        for (const a of ["rds:CopyDBSnapshot", "rds:RestoreDBInstanceFromDBSnapshot", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:CreateDBSnapshot", "rds:DeleteDBSnapshot", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:CreateSecret", "kms:CreateGrant"]) {
            assert.ok(kinds.has(a), `the runs made no ${a} call: ${[...kinds].join(", ")}`);
        }
        assert.ok(needed.some((n) => n.resource === sharedArn("01")), "the source account's shared snapshot is checked by its own ARN");
        const denied = needed.filter((n) => !allows(statements, n));
        assert.deepStrictEqual([...new Set(denied.map((n) => `${n.action} on ${n.resource}`))], []);
    });

    it("the policy check refuses calls outside the copies' names and the secret", () => {
        const statements = copyTargetStatements(POLICY);
        const scope = { account: DR_ACCOUNT, region: REGION };
        const refused = [
            ...rdsAuthorizations({ command: "DeleteDBInstance", input: { DBInstanceIdentifier: "billing", SkipFinalSnapshot: true } }, scope),
            ...rdsAuthorizations({ command: "RestoreDBInstanceFromDBSnapshot", input: { DBInstanceIdentifier: "billing-v1", DBSnapshotIdentifier: "wordpress-v1" } }, scope).slice(0, 1),
            ...rdsAuthorizations({ command: "CopyDBSnapshot", input: { SourceDBSnapshotIdentifier: `arn:aws:rds:${REGION}:${SOURCE_ACCOUNT}:snapshot:billing-cp-1`, TargetDBSnapshotIdentifier: "wordpress-v9" } }, scope).slice(0, 1),
            { action: "secretsmanager:PutSecretValue", resource: `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:other-Ab12Cd` },
            ...rdsAuthorizations({ command: "ModifyDBInstance", input: { DBInstanceIdentifier: "billing", ManageMasterUserPassword: true } }, scope).slice(0, 1),
            { action: "secretsmanager:CreateSecret", resource: `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:app-Ab12Cd` },
            { action: "secretsmanager:DescribeSecret", resource: `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:other/hold-Ab12Cd` },
        ];
        for (const a of refused) assert.ok(!allows(statements, a), `${a.action} on ${a.resource} should not be allowed`);
    });
});
