/**
 * The RestoreMachine component under Pulumi mocks: what it deploys, its IAM,
 * its schedules, and that the definition it deploys is the one that runs.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { PolicyDocument, PolicyStatement, wildcardActions } from "../components/iam";
import { RESTORE_JOBS, RestoreJobKey, RestoreMachine, restoreLambdaStatements, validateSchedules } from "../components/restoreMachine";
import { RecordingMocks } from "./mocks";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import { Handler, runMachine } from "./machineHarness";
import { handler as validate } from "../functions/restore-validate";
import { handler as snapshot } from "../functions/restore-snapshot";
import { handler as prune } from "../functions/restore-prune";
import { handler as status } from "../functions/restore-status";
import { handler as rename } from "../functions/restore-rename";
import { handler as restoreFromSnapshot } from "../functions/restore-from-snapshot";
import { handler as applySettings } from "../functions/restore-apply-settings";
import { handler as deleteOld } from "../functions/restore-delete-old";
import { handler as rollback } from "../functions/restore-rollback";
import { handler as exportSnapshot } from "../functions/restore-export";
import { handler as alert } from "../functions/alert";

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const ACCOUNT = "111111111111";
const REGION = "us-east-1";
const ALERT_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:pilotlight-alerts`;
const REAL_HANDLERS: Record<RestoreJobKey, Handler> = {
    validate,
    snapshot,
    prune,
    status,
    rename,
    restore: restoreFromSnapshot,
    applySettings,
    deleteOld,
    rollback,
    export: exportSnapshot,
};

const RDS_ARN = `arn:aws:rds:${REGION}:${ACCOUNT}:`;

/** Whether an IAM resource pattern (`*` any run of characters, `?` one) matches `arn`. */
function iamMatches(pattern: string, arn: string): boolean {
    const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${re}$`).test(arn);
}

/**
 * The action/resource pairs RDS authorizes for one call: the resource acted on, any resource
 * it is created from or renamed to, the tags a create applies and the final snapshot a delete takes.
 */
function authorizedPairs(command: string, input: Record<string, any>): { action: string; resource: string }[] {
    const pairs: { action: string; resource: string }[] = [];
    const add = (action: string, type: string, name: unknown) => {
        if (typeof name === "string") pairs.push({ action: `rds:${action}`, resource: `${RDS_ARN}${type}:${name}` });
    };
    const tagged = (type: string, name: unknown) => {
        if (Array.isArray(input.Tags) && input.Tags.length > 0) add("AddTagsToResource", type, name);
    };
    const byArn = (action: string, arn: string) => pairs.push({ action: `rds:${action}`, resource: arn.replace(/^arn:aws:rds:[^:]*:[^:]*:/, RDS_ARN) });
    switch (command) {
        case "DescribeDBInstances":
        case "ModifyDBInstance":
            add(command, "db", input.DBInstanceIdentifier ?? "*");
            add(command, "db", input.NewDBInstanceIdentifier);
            break;
        case "DescribeDBClusters":
        case "ModifyDBCluster":
            add(command, "cluster", input.DBClusterIdentifier ?? "*");
            add(command, "cluster", input.NewDBClusterIdentifier);
            break;
        case "DescribeDBSnapshots":
            add(command, "db", input.DBInstanceIdentifier);
            add(command, "snapshot", input.DBSnapshotIdentifier);
            if (!input.DBInstanceIdentifier && !input.DBSnapshotIdentifier) add(command, "snapshot", "*");
            break;
        case "DescribeDBClusterSnapshots":
            add(command, "cluster", input.DBClusterIdentifier);
            add(command, "cluster-snapshot", input.DBClusterSnapshotIdentifier);
            if (!input.DBClusterIdentifier && !input.DBClusterSnapshotIdentifier) add(command, "cluster-snapshot", "*");
            break;
        case "ListTagsForResource":
        case "AddTagsToResource":
            byArn(command, input.ResourceName);
            break;
        case "CreateDBSnapshot":
            add(command, "db", input.DBInstanceIdentifier);
            add(command, "snapshot", input.DBSnapshotIdentifier);
            tagged("snapshot", input.DBSnapshotIdentifier);
            break;
        case "CreateDBClusterSnapshot":
            add(command, "cluster", input.DBClusterIdentifier);
            add(command, "cluster-snapshot", input.DBClusterSnapshotIdentifier);
            tagged("cluster-snapshot", input.DBClusterSnapshotIdentifier);
            break;
        case "DeleteDBSnapshot":
            add(command, "snapshot", input.DBSnapshotIdentifier);
            break;
        case "DeleteDBClusterSnapshot":
            add(command, "cluster-snapshot", input.DBClusterSnapshotIdentifier);
            break;
        case "DeleteDBInstance":
            add(command, "db", input.DBInstanceIdentifier);
            if (input.FinalDBSnapshotIdentifier) {
                add("CreateDBSnapshot", "db", input.DBInstanceIdentifier);
                add("CreateDBSnapshot", "snapshot", input.FinalDBSnapshotIdentifier);
            }
            break;
        case "DeleteDBCluster":
            add(command, "cluster", input.DBClusterIdentifier);
            if (input.FinalDBSnapshotIdentifier) {
                add("CreateDBClusterSnapshot", "cluster", input.DBClusterIdentifier);
                add("CreateDBClusterSnapshot", "cluster-snapshot", input.FinalDBSnapshotIdentifier);
            }
            break;
        case "RestoreDBInstanceFromDBSnapshot":
            add(command, "db", input.DBInstanceIdentifier);
            add(command, "snapshot", input.DBSnapshotIdentifier);
            add(command, "pg", input.DBParameterGroupName);
            add(command, "og", input.OptionGroupName);
            add(command, "subgrp", input.DBSubnetGroupName);
            tagged("db", input.DBInstanceIdentifier);
            break;
        case "RestoreDBClusterFromSnapshot":
            add(command, "cluster", input.DBClusterIdentifier);
            add(command, "cluster-snapshot", input.SnapshotIdentifier);
            add(command, "cluster-pg", input.DBClusterParameterGroupName);
            add(command, "subgrp", input.DBSubnetGroupName);
            tagged("cluster", input.DBClusterIdentifier);
            break;
        case "CreateDBInstance":
            add(command, "db", input.DBInstanceIdentifier);
            add(command, "cluster", input.DBClusterIdentifier);
            add(command, "pg", input.DBParameterGroupName);
            tagged("db", input.DBInstanceIdentifier);
            break;
        case "DescribeExportTasks":
        case "StartExportTask":
            pairs.push({ action: `rds:${command}`, resource: "*" });
            break;
        default:
            throw new Error(`no authorization model for rds:${command}; add one`);
    }
    return pairs;
}

/** Whether `doc` allows `action` on `resource` (conditions are taken as met). */
function allows(doc: PolicyDocument, action: string, resource: string): boolean {
    return doc.Statement.some(
        (s) =>
            s.Effect === "Allow" &&
            ([] as string[]).concat(s.Action).includes(action) &&
            ([] as string[]).concat(s.Resource as string).some((r) => r === "*" || iamMatches(r, resource)),
    );
}

describe("RestoreMachine component", () => {
    let mocks: RecordingMocks;
    let machine: RestoreMachine;
    let definition: any;
    const policies = {} as Record<RestoreJobKey, PolicyDocument>;
    const arns = {} as Record<RestoreJobKey, string>;

    before(async () => {
        mocks = new RecordingMocks(REGION, ACCOUNT);
        await pulumi.runtime.setMocks(mocks, "pilotlight", "unit", false);
        machine = new RestoreMachine("restore", {
            namePrefix: "pilotlight",
            accountId: ACCOUNT,
            region: REGION,
            databases: [
                { identifier: INSTANCE_ID, isCluster: false },
                { identifier: CLUSTER_ID, isCluster: true },
            ],
            alertFunctionArn: ALERT_ARN,
            maxAttempts: 12,
            notifyOnSuccess: true,
            export: { bucketName: "pilotlight-media-111111111111-us-east-1", kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/mrk-shared`, prefix: "rds-exports" },
            schedules: [
                { name: "nightly", expression: "cron(0 3 * * ? *)", input: { identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false } },
                { name: "weekly", expression: "rate(7 days)", input: { identifier: CLUSTER_ID, task: "create_snapshot", isCluster: true }, enabled: true },
            ],
        });
        definition = await value(machine.definition);
        await value(machine.stateMachineArn);
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            policies[key] = JSON.parse(await value(machine.functions[key].policy));
            arns[key] = await value(machine.functions[key].arn);
        }
    });

    const resource = (type: string, name: string) => {
        const r = mocks.resources.find((x) => x.type === type && x.name === name);
        assert.ok(r, `${type} ${name} not created; have ${mocks.resources.map((x) => `${x.type}::${x.name}`).join(", ")}`);
        return r!;
    };

    /** The managed databases and their kinds exactly as the validate Lambda is deployed with them. */
    const deployedValidateEnv = () => {
        const vars = resource("aws:lambda/function:Function", "restore-validate").inputs.environment.variables;
        return { MANAGED_IDENTIFIERS: vars.MANAGED_IDENTIFIERS as string, MANAGED_KINDS: vars.MANAGED_KINDS as string };
    };

    it("deploys exactly JSON.stringify of the definition object it exposes, with logging and a timeout", () => {
        const sm = resource("aws:sfn/stateMachine:StateMachine", "restore-machine");
        assert.strictEqual(sm.inputs.definition, JSON.stringify(definition));
        assert.strictEqual(sm.inputs.name, "pilotlight-restore");
        assert.strictEqual(sm.inputs.type, "STANDARD");
        assert.strictEqual(sm.inputs.loggingConfiguration.level, "ERROR");
        assert.match(sm.inputs.loggingConfiguration.logDestination, /^arn:aws:logs:us-east-1:111111111111:log-group:\/aws\/vendedlogs\/states\/pilotlight-restore:\*$/);
        assert.ok(definition.TimeoutSeconds > 0);
    });

    it("runs that same definition end to end, each Task bound by the deployed Lambda ARN to its real handler", async () => {
        const rds = new FakeRds();
        const sfn = new FakeSfn();
        const alerts = new FakeAlerts();
        const env = { ...deployedValidateEnv(), EXPORT_ENABLED: "true", KEEP_SNAPSHOTS: "2", TOPIC_ARN };
        Object.assign(process.env, env);
        try {
            seedInstance(rds);
            rds.addSnapshot("wordpress-20260101000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS });
            const handlers: Record<string, Handler> = { [ALERT_ARN]: alert };
            for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) handlers[arns[key]] = REAL_HANDLERS[key];
            const result = await runMachine(definition, { identifier: INSTANCE_ID, task: "db_restore", isCluster: false }, { handlers, machineName: "pilotlight-restore" });
            assert.strictEqual(result.status, "SUCCEEDED");
            assert.strictEqual(rds.instances.get(INSTANCE_ID)!.data, "orders-v1");
            assert.strictEqual(alerts.published.length, 1);
        } finally {
            rds.restore();
            sfn.restore();
            alerts.restore();
            for (const k of Object.keys(env)) delete process.env[k];
        }
    });

    it("gives every job its own Lambda and role; no policy has a * or service:* action", () => {
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            assert.match(arns[key], new RegExp(`:function:pilotlight-restore-${RESTORE_JOBS[key].replace(/^restore-/, "")}$`));
            assert.deepStrictEqual(wildcardActions(policies[key]), [], key);
        }
        assert.strictEqual(new Set(Object.values(arns)).size, Object.keys(RESTORE_JOBS).length);
    });

    it("scopes RDS actions to the managed databases and their snapshots", () => {
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            for (const s of policies[key].Statement as PolicyStatement[]) {
                const actions = ([] as string[]).concat(s.Action);
                if (!actions.some((a) => a.startsWith("rds:"))) continue;
                for (const r of ([] as string[]).concat(s.Resource as string)) {
                    if (r === "*") {
                        assert.ok(actions.every((a) => a === "rds:DescribeExportTasks" || a === "rds:StartExportTask"), `${key}: ${actions} on *`);
                        continue;
                    }
                    const m = /^arn:aws:rds:us-east-1:111111111111:(db|cluster|snapshot|cluster-snapshot|pg|cluster-pg|og|subgrp|secgrp):(.*)$/.exec(r);
                    assert.ok(m, `${key}: unexpected resource ${r}`);
                    if (["db", "cluster", "snapshot", "cluster-snapshot"].includes(m![1])) {
                        // `<id>` itself or `<id>-...`: never `<id>*`, which would match `<id>2` too.
                        assert.ok([INSTANCE_ID, CLUSTER_ID].some((d) => m![2] === d || m![2].startsWith(`${d}-`)), `${key}: ${r} is not exactly a managed database or one of its names`);
                    }
                }
            }
        }
    });

    it("allows no RDS action on databases or snapshots whose names merely begin with a managed identifier", () => {
        const neighbours = ["wordpress2", "wordpressx-1", "shop2", "shopping", "shop2-pl-old-20260101000000"];
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            const actions = [...new Set(policies[key].Statement.flatMap((s) => ([] as string[]).concat(s.Action)))].filter((a) => a.startsWith("rds:"));
            for (const action of actions) {
                for (const type of ["db", "cluster", "snapshot", "cluster-snapshot"]) {
                    for (const n of neighbours) {
                        for (const name of [n, `${n}-20260101000000`]) {
                            const arn = `${RDS_ARN}${type}:${name}`;
                            const onStar = policies[key].Statement.some((s) => s.Resource === "*" && ([] as string[]).concat(s.Action).includes(action));
                            if (!onStar) assert.ok(!allows(policies[key], action, arn), `${key} allows ${action} on ${arn}`);
                        }
                    }
                }
            }
        }
    });

    it("lets delete-old delete and modify only the renamed original and its members, and snapshot only into its final snapshot", () => {
        const doc = policies.deleteOld;
        for (const action of ["rds:DeleteDBInstance", "rds:DeleteDBCluster", "rds:ModifyDBInstance", "rds:ModifyDBCluster"]) {
            const type = action.endsWith("Cluster") ? "cluster" : "db";
            assert.ok(allows(doc, action, `${RDS_ARN}${type}:${type === "db" ? INSTANCE_ID : CLUSTER_ID}-pl-old-20260101000000`), action);
            for (const live of [INSTANCE_ID, CLUSTER_ID, "shop-1", "shop-2"]) assert.ok(!allows(doc, action, `${RDS_ARN}${type}:${live}`), `${action} on ${live}`);
        }
        assert.ok(allows(doc, "rds:DeleteDBInstance", `${RDS_ARN}db:shop-1-pl-old-20260101000000`));
        assert.ok(allows(doc, "rds:CreateDBSnapshot", `${RDS_ARN}snapshot:wordpress-pl-final-20260101000000`));
        assert.ok(!allows(doc, "rds:CreateDBSnapshot", `${RDS_ARN}snapshot:wordpress-20260101000000`));
        assert.ok(!allows(doc, "rds:CreateDBSnapshot", `${RDS_ARN}db:wordpress`));
    });

    it("lets validation and polling only read, and retention delete only pilotlight-tagged snapshots", () => {
        const actionsOf = (key: RestoreJobKey) => new Set(policies[key].Statement.flatMap((s) => ([] as string[]).concat(s.Action)));
        for (const key of ["validate", "status"] as RestoreJobKey[]) {
            const writes = [...actionsOf(key)].filter((a) => !/^(rds|states):(Describe|List)/.test(a) && !a.startsWith("logs:"));
            assert.deepStrictEqual(writes, [], key);
        }
        const deletes = policies.prune.Statement.filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith("rds:Delete")));
        assert.strictEqual(deletes.length, 2);
        for (const s of deletes) assert.deepStrictEqual(Object.values((s.Condition as any).StringEquals), ["restore-machine"]);
        assert.ok(!actionsOf("rename").has("rds:DeleteDBInstance"));
        assert.ok(!actionsOf("snapshot").has("rds:DeleteDBSnapshot"));
    });

    it("allows each Lambda every RDS action its handler calls across instance, cluster, rollback and export runs", async () => {
        const rds = new FakeRds();
        const sfn = new FakeSfn();
        const alerts = new FakeAlerts();
        const env = {
            ...deployedValidateEnv(),
            EXPORT_ENABLED: "true",
            KEEP_SNAPSHOTS: "1",
            TOPIC_ARN,
            EXPORT_BUCKET: "b",
            EXPORT_PREFIX: "p",
            EXPORT_KMS_KEY_ARN: "k",
            EXPORT_ROLE_ARN: "r",
        };
        Object.assign(process.env, env);
        const used = {} as Record<RestoreJobKey, Set<string>>;
        const pairs = {} as Record<RestoreJobKey, Map<string, { action: string; resource: string }>>;
        try {
            seedInstance(rds);
            seedCluster(rds);
            rds.addSnapshot("wordpress-20250101000000", INSTANCE_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
            rds.addClusterSnapshot("shop-20250101000000", CLUSTER_ID, { tags: PILOTLIGHT_TAGS, created: "2025-01-01T00:00:00Z" });
            const handlers: Record<string, Handler> = { [ALERT_ARN]: alert };
            for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
                used[key] = new Set();
                pairs[key] = new Map();
                handlers[arns[key]] = async (event) => {
                    const before = rds.calls.length;
                    try {
                        return await REAL_HANDLERS[key](event);
                    } finally {
                        for (const c of rds.calls.slice(before)) {
                            used[key].add(`rds:${c.command}`);
                            for (const p of authorizedPairs(c.command, c.input)) pairs[key].set(`${p.action} ${p.resource}`, p);
                        }
                    }
                };
            }
            const run = (input: object) => runMachine(definition, input, { handlers, machineName: "pilotlight-restore" });
            assert.strictEqual((await run({ identifier: INSTANCE_ID, task: "create_snapshot", isCluster: false })).status, "SUCCEEDED");
            assert.strictEqual((await run({ identifier: CLUSTER_ID, task: "create_snapshot", isCluster: true })).status, "SUCCEEDED");
            assert.strictEqual((await run({ identifier: INSTANCE_ID, task: "export_snapshot", isCluster: false })).status, "SUCCEEDED");
            assert.strictEqual((await run({ identifier: CLUSTER_ID, task: "export_snapshot", isCluster: true })).status, "SUCCEEDED");
            rds.nextRestoreEndsIn("failed");
            assert.strictEqual((await run({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })).status, "FAILED");
            rds.nextRestoreEndsIn("failed");
            assert.strictEqual((await run({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true })).status, "FAILED");
        } finally {
            rds.restore();
            sfn.restore();
            alerts.restore();
            for (const k of Object.keys(env)) delete process.env[k];
        }
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            const allowed = new Set(policies[key].Statement.flatMap((s) => ([] as string[]).concat(s.Action)));
            const missing = [...used[key]].filter((a) => !allowed.has(a));
            assert.deepStrictEqual(missing, [], `${key} calls actions its role does not allow`);
            const denied = [...pairs[key].keys()].filter((k) => !allows(policies[key], pairs[key].get(k)!.action, pairs[key].get(k)!.resource));
            assert.deepStrictEqual(denied, [], `${key} acts on resources its role does not allow`);
            // And nothing RDS-wise beyond what it calls, except what RDS authorizes on the caller during those calls.
            // (tags on create, final snapshots on delete, tags read only when a describe lacks them, a snapshot read only on a retried create)
            const implied = new Set(["rds:AddTagsToResource", "rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:ListTagsForResource"]);
            if (key === "snapshot") ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"].forEach((a) => implied.add(a));
            // The rollback reads the original's final snapshot only after the point of no return (tests/restoreMachineFaults.test.ts).
            if (key === "rollback") ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"].forEach((a) => implied.add(a));
            const unused = [...allowed].filter((a) => a.startsWith("rds:") && !used[key].has(a) && !implied.has(a));
            assert.deepStrictEqual(unused, [], `${key} is allowed RDS actions it never calls`);
        }
    });

    it("creates schedules DISABLED unless enabled, each starting only this machine with its input", () => {
        const nightly = resource("aws:cloudwatch/eventRule:EventRule", "restore-nightly");
        const weekly = resource("aws:cloudwatch/eventRule:EventRule", "restore-weekly");
        assert.strictEqual(nightly.inputs.state, "DISABLED");
        assert.strictEqual(weekly.inputs.state, "ENABLED");
        assert.strictEqual(nightly.inputs.scheduleExpression, "cron(0 3 * * ? *)");
        const target = resource("aws:cloudwatch/eventTarget:EventTarget", "restore-nightly");
        assert.deepStrictEqual(JSON.parse(target.inputs.input), { identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false });
        const policy = JSON.parse(resource("aws:iam/rolePolicy:RolePolicy", "restore-schedule-policy").inputs.policy) as PolicyDocument;
        assert.deepStrictEqual(policy.Statement.map((s) => [s.Action, s.Resource]), [[["states:StartExecution"], ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-restore"]]]);
    });

    it("lets the machine invoke only its own Lambdas and the alert Lambda; log delivery alone is on *", () => {
        const policy = JSON.parse(resource("aws:iam/rolePolicy:RolePolicy", "restore-machine-policy").inputs.policy) as PolicyDocument;
        const invoke = policy.Statement.find((s) => s.Sid === "InvokeOwnLambdas")!;
        assert.deepStrictEqual(([] as string[]).concat(invoke.Resource as string).sort(), [...Object.values(arns), ALERT_ARN].sort());
        for (const s of policy.Statement) {
            if (s.Resource === "*") assert.ok(([] as string[]).concat(s.Action).every((a) => a.startsWith("logs:")), JSON.stringify(s));
        }
    });

    it("gives the export role write access to its prefix only", () => {
        const policy = JSON.parse(resource("aws:iam/rolePolicy:RolePolicy", "restore-rds-export-policy").inputs.policy) as PolicyDocument;
        const write = policy.Statement.find((s) => s.Sid === "WriteExport")!;
        assert.deepStrictEqual(write.Resource, ["arn:aws:s3:::pilotlight-media-111111111111-us-east-1/rds-exports/*"]);
        const trust = JSON.parse(resource("aws:iam/role:Role", "restore-rds-export-role").inputs.assumeRolePolicy) as PolicyDocument;
        assert.deepStrictEqual(trust.Statement[0].Principal, { Service: "export.rds.amazonaws.com" });
    });

    it("refuses schedules with bad input, unknown databases or the wrong kind, and export policies without export", () => {
        const ok = { name: "n", expression: "rate(1 day)", input: { identifier: INSTANCE_ID, task: "db_restore", isCluster: false } as const };
        const instance = [{ identifier: INSTANCE_ID, isCluster: false }];
        assert.doesNotThrow(() => validateSchedules([ok], instance));
        assert.throws(() => validateSchedules([{ ...ok, input: { ...ok.input, task: "nuke" as never } }], instance), /input is invalid: task must be one of/);
        assert.throws(() => validateSchedules([ok], [{ identifier: "other", isCluster: false }]), /not one of the managed databases/);
        assert.throws(() => validateSchedules([{ ...ok, expression: "every day" }], instance), /must be cron\(\.\.\.\) or rate\(\.\.\.\)/);
        assert.throws(() => validateSchedules([ok, ok], instance), /used twice/);
        assert.throws(() => validateSchedules([{ ...ok, input: { ...ok.input, isCluster: true } }], instance), /input isCluster is true but 'wordpress' is configured as an RDS instance/);
        const exportStatements = restoreLambdaStatements("export", { accountId: ACCOUNT, region: REGION, databases: instance, machineName: "m" });
        assert.ok(!exportStatements.some((s) => ([] as string[]).concat(s.Action).includes("rds:StartExportTask")));
    });

    it("grants cluster member names (`<id>-*`) only for identifiers configured as Aurora clusters", () => {
        const resources = (doc: PolicyDocument) => doc.Statement.flatMap((s) => ([] as string[]).concat(s.Resource as string));
        for (const key of Object.keys(RESTORE_JOBS) as RestoreJobKey[]) {
            for (const r of resources(policies[key])) {
                // The instance: itself, renamed `<id>-pl-old-*`, and its snapshots; never `db:<id>-*`.
                assert.notStrictEqual(r, `${RDS_ARN}db:${INSTANCE_ID}-*`, `${key} grants the instance's member pattern`);
                assert.notStrictEqual(r, `${RDS_ARN}db:${INSTANCE_ID}-*-pl-old-*`, `${key} grants the instance's renamed member pattern`);
                assert.notStrictEqual(r, `${RDS_ARN}cluster:${INSTANCE_ID}-pl-old-*`, `${key} grants a renamed cluster under the instance's name`);
            }
        }
        for (const action of ["rds:ModifyDBInstance", "rds:DeleteDBInstance"]) {
            // Another instance named like a member of the instance's: out of reach.
            assert.ok(!allows(policies.rollback, action, `${RDS_ARN}db:${INSTANCE_ID}-blog`), `rollback: ${action} on ${INSTANCE_ID}-blog`);
            assert.ok(allows(policies.rollback, action, `${RDS_ARN}db:${INSTANCE_ID}-pl-old-20260101000000`), `rollback: ${action} on the renamed instance`);
            assert.ok(allows(policies.rollback, action, `${RDS_ARN}db:${CLUSTER_ID}-1`), `rollback: ${action} on a cluster member`);
        }
        assert.ok(resources(policies.rename).includes(`${RDS_ARN}db:${CLUSTER_ID}-*`));
        assert.ok(resources(policies.deleteOld).includes(`${RDS_ARN}db:${CLUSTER_ID}-*-pl-old-*`));
        assert.ok(!allows(policies.deleteOld, "rds:DeleteDBInstance", `${RDS_ARN}db:${INSTANCE_ID}-blog-pl-old-20260101000000`));

        const ctx = { accountId: ACCOUNT, region: REGION, machineName: "m" };
        const onlyInstances = restoreLambdaStatements("rename", { ...ctx, databases: [{ identifier: "cart", isCluster: false }] });
        const onlyClusters = restoreLambdaStatements("rename", { ...ctx, databases: [{ identifier: "cart", isCluster: true }] });
        const flat = (ss: PolicyStatement[]) => ss.flatMap((s) => ([] as string[]).concat(s.Resource as string));
        assert.ok(!flat(onlyInstances).some((r) => r.includes(":db:cart-*")), JSON.stringify(flat(onlyInstances)));
        assert.ok(flat(onlyInstances).includes(`${RDS_ARN}db:cart-pl-old-*`));
        assert.ok(flat(onlyClusters).includes(`${RDS_ARN}db:cart-*`));
    });
});
