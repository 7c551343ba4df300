// @ts-nocheck
import * as assert from "assert";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { copyTargetDefinition } from "../components/machines/copyTarget";
import { copyTargetStatements } from "../components/copyMachine";
import { handler } from "../functions/copy-target";
import { COPY_SOURCE_JOB, COPY_TARGET_JOB, SOURCE_SNAPSHOT_TAG } from "../functions/lib/backup";
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

    function share(day: string) {
        rds.addSharedSnapshot(sharedArn(day), { data: `posts-of-${day}`, kmsKeyId: SOURCE_REPLICA_KEY, created: `2026-01-${day}T00:00:00Z` });
    }

    function run(input: unknown) {
        return runMachine(definition, input, {
            machineName: "pilotlight-copy-target",
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
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
        Object.assign(process.env, {
            TARGET_NAME: "wordpress",
            TARGET_REGION: REGION,
            SOURCE_ACCOUNT_ID: SOURCE_ACCOUNT,
            SOURCE_IDENTIFIER: "wordpress",
            DR_KEY_ARN: DR_KEY,
            SECRET_ID: SECRET,
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
        for (const k of ["TARGET_NAME", "TARGET_REGION", "SOURCE_ACCOUNT_ID", "SOURCE_IDENTIFIER", "DR_KEY_ARN", "SECRET_ID", "KEEP", "INSTANCE_CLASS", "SUBNET_GROUP_NAME", "SECURITY_GROUP_IDS", "PARAMETER_GROUP_NAME", "MULTI_AZ", "COPY_TAGS"]) delete process.env[k];
    });

    it("copies the shared snapshot under the DR key, restores <name>-v1 with the configured settings and points the secret at it", async () => {
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
        const secret = secrets.current(SECRET);
        assert.deepStrictEqual(Object.keys(secret).sort(), ["host", "identifier", "port", "version"]);
        assert.strictEqual(secret.identifier, "wordpress-v1");
        assert.strictEqual(secret.version, 1);
        assert.strictEqual(secret.host, inst.info.Endpoint?.Address);
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
        rds.addSnapshot("wordpress-v2", "wordpress", { status: "creating", tags: [{ Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB }] });
        const before = rds.mutatingCalls().length;
        const result = await run(message("02"));
        assert.strictEqual(result.status, "FAILED");
        assert.match(alerts[0].error, /ConcurrentRunError/);
        assert.match(alerts[0].cause, /snapshot wordpress-v2 is creating/);
        assert.strictEqual(rds.mutatingCalls().length, before);
        assert.strictEqual(secrets.current(SECRET).identifier, "wordpress-v1");
    });

    it("has a Retry and a Catch on every Task and a machine timeout", () => {
        assert.ok(definition.TimeoutSeconds >= 2 * 10 * 60);
        for (const name of taskStates(definition as any)) {
            const state = definition.States[name] as any;
            assert.ok(state.Retry?.length, `${name} has Retry`);
            assert.ok(state.Catch?.some((c: any) => c.ErrorEquals.includes("States.ALL")), `${name} has Catch`);
        }
    });

    for (const step of ["plan", "copy", "status", "restore", "point", "prune"]) {
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
        const statements = copyTargetStatements({ namePrefix: "pilotlight", accountId: DR_ACCOUNT, region: REGION, sourceAccountId: DR_ACCOUNT, sourceIdentifier: "wordpress", targetName: "wordpress", drKeyArn: DR_KEY, secretArn: SECRET });
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
        const statements = copyTargetStatements({
            namePrefix: "pilotlight",
            accountId: DR_ACCOUNT,
            region: REGION,
            sourceAccountId: SOURCE_ACCOUNT,
            sourceIdentifier: "wordpress",
            targetName: "wordpress",
            drKeyArn: DR_KEY,
            secretArn: SECRET,
        });
        const needed = [
            ...rds.calls.filter((c) => !c.region || c.region === REGION).flatMap((c) => rdsAuthorizations(c, { account: DR_ACCOUNT, region: REGION })),
            ...secrets.calls.map((c) => ({ action: `secretsmanager:${c.command}`, resource: c.input.SecretId })),
        ];
        const kinds = new Set(needed.map((n) => n.action));
        for (const a of ["rds:CopyDBSnapshot", "rds:RestoreDBInstanceFromDBSnapshot", "rds:DeleteDBInstance", "rds:CreateDBSnapshot", "rds:DeleteDBSnapshot", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]) {
            assert.ok(kinds.has(a), `the runs made no ${a} call: ${[...kinds].join(", ")}`);
        }
        assert.ok(needed.some((n) => n.resource === sharedArn("01")), "the source account's shared snapshot is checked by its own ARN");
        const denied = needed.filter((n) => !allows(statements, n));
        assert.deepStrictEqual([...new Set(denied.map((n) => `${n.action} on ${n.resource}`))], []);
    });

    it("the policy check refuses calls outside the copies' names and the secret", () => {
        const statements = copyTargetStatements({ namePrefix: "pilotlight", accountId: DR_ACCOUNT, region: REGION, sourceAccountId: SOURCE_ACCOUNT, sourceIdentifier: "wordpress", targetName: "wordpress", drKeyArn: DR_KEY, secretArn: SECRET });
        const scope = { account: DR_ACCOUNT, region: REGION };
        const refused = [
            ...rdsAuthorizations({ command: "DeleteDBInstance", input: { DBInstanceIdentifier: "billing", SkipFinalSnapshot: true } }, scope),
            ...rdsAuthorizations({ command: "RestoreDBInstanceFromDBSnapshot", input: { DBInstanceIdentifier: "billing-v1", DBSnapshotIdentifier: "wordpress-v1" } }, scope).slice(0, 1),
            ...rdsAuthorizations({ command: "CopyDBSnapshot", input: { SourceDBSnapshotIdentifier: `arn:aws:rds:${REGION}:${SOURCE_ACCOUNT}:snapshot:billing-cp-1`, TargetDBSnapshotIdentifier: "wordpress-v9" } }, scope).slice(0, 1),
            { action: "secretsmanager:PutSecretValue", resource: `arn:aws:secretsmanager:${REGION}:${DR_ACCOUNT}:secret:other-Ab12Cd` },
        ];
        for (const a of refused) assert.ok(!allows(statements, a), `${a.action} on ${a.resource} should not be allowed`);
    });
});
