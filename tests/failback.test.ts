// The Failback component in the real program: which stack gets which side, the exact
// policies, and the definitions as deployed.
import * as assert from "assert";
import { failbackDefinition, failbackSourceDefinition } from "../components/machines/failback";
import { resolveRestoreOptions } from "../components/machines/restore";
import { assertValidAsl, taskStates } from "./machineHarness";
import { oneResource, ProgramResource, ProgramRun, readStackConfig, rolePolicyOf, runProgram } from "./program";

// The cross-account copy is for instances: with an Aurora workload it copies another database.
const AURORA = ["database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"];

function failbacks(run: ProgramRun): string[] {
    return run.resources.filter((r) => r.type === "pilotlight:failback:Failback").map((r) => r.name);
}

function machine(run: ProgramRun, name: string): any {
    return JSON.parse(oneResource(run, "aws:sfn/stateMachine:StateMachine", name).inputs.definition);
}

describe("Failback component", () => {
    let prod: ProgramRun;
    let drOn: ProgramRun;

    before(async () => {
        prod = await runProgram("prod");
        drOn = await runProgram("dr", { sets: ["failover=true"] });
    });

    it("dr while failed over has the failback source machine, prod (its restore machine covering the database) the failback machine", () => {
        assert.deepStrictEqual(failbacks(drOn), ["failback-source"]);
        assert.deepStrictEqual(failbacks(prod), ["failback"]);
        assert.strictEqual(oneResource(drOn, "aws:sfn/stateMachine:StateMachine", "failback-source-machine").inputs.name, "pilotlight-failback-source");
        assert.strictEqual(oneResource(drOn, "aws:lambda/function:Function", "failback-source-fn").inputs.name, "pilotlight-failback-source");
        assert.strictEqual(oneResource(prod, "aws:sfn/stateMachine:StateMachine", "failback-machine").inputs.name, "pilotlight-failback");
        assert.strictEqual(oneResource(prod, "aws:lambda/function:Function", "failback-fn").inputs.name, "pilotlight-failback");
        assert.strictEqual(drOn.outputs.failbackSourceMachineArn, "arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-failback-source");
        assert.strictEqual(prod.outputs.failbackMachineArn, "arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-failback");
        assert.strictEqual(drOn.outputs.failbackMachineArn, undefined);
        assert.strictEqual(prod.outputs.failbackSourceMachineArn, undefined);
        // Started by an operator only.
        assert.ok(!prod.resources.some((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.name.startsWith("failback")));
    });

    it("dr keeps the failback source's roles and policies in the pilot light; failover adds only its function, machine and log groups", async () => {
        const drOff = await runProgram("dr");
        assert.deepStrictEqual(failbacks(drOff), ["failback-source"]);
        assert.strictEqual(drOff.outputs.failbackSourceMachineArn, undefined);
        const inFailback = (run: ProgramRun) => {
            const component = oneResource(run, "pilotlight:failback:Failback", "failback-source").urn;
            const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
            const under = (r: ProgramResource): boolean => !!r.parent && (r.parent === component || under(byUrn.get(r.parent)!));
            return run.resources.filter(under);
        };
        const iam = (run: ProgramRun) => inFailback(run).filter((r) => r.type.startsWith("aws:iam/"));
        const off = iam(drOff);
        assert.deepStrictEqual(off.map((r) => `${r.type} ${r.name}`).sort(), [
            "aws:iam/role:Role failback-source-fn-role",
            "aws:iam/role:Role failback-source-machine-role",
            "aws:iam/rolePolicy:RolePolicy failback-source-fn-policy",
            "aws:iam/rolePolicy:RolePolicy failback-source-machine-policy",
        ]);
        // Same URNs, parents and inputs either way: switching failover makes no IAM call.
        const on = new Map(iam(drOn).map((r) => [r.urn, r]));
        assert.strictEqual(on.size, off.length);
        for (const r of off) assert.deepStrictEqual({ parent: on.get(r.urn)?.parent, inputs: on.get(r.urn)?.inputs }, { parent: r.parent, inputs: r.inputs }, r.urn);
        assert.deepStrictEqual(rolePolicyOf(drOff, "failback-source-fn-policy"), rolePolicyOf(drOn, "failback-source-fn-policy"));
        const offUrns = new Set(inFailback(drOff).map((r) => r.urn));
        assert.deepStrictEqual(
            inFailback(drOn)
                .filter((r) => !offUrns.has(r.urn))
                .map((r) => `${r.type} ${r.name}`)
                .sort(),
            [
                "aws:cloudwatch/logGroup:LogGroup failback-source-fn-logs",
                "aws:cloudwatch/logGroup:LogGroup failback-source-machine-logs",
                "aws:lambda/function:Function failback-source-fn",
                "aws:sfn/stateMachine:StateMachine failback-source-machine",
                "pilotlight:lambda:BundledFunction failback-source-fn",
                "pilotlight:sfn:LambdaStateMachine failback-source-machine",
            ],
        );
        // The machine's role may invoke the function that failover creates, by its ARN.
        assert.deepStrictEqual(rolePolicyOf(drOff, "failback-source-machine-policy").Statement[0].Resource, [
            oneResource(drOn, "aws:lambda/function:Function", "failback-source-fn").state.arn,
            oneResource(drOff, "aws:lambda/function:Function", "alerts-fn").state.arn,
        ]);
        const role = oneResource(drOn, "aws:lambda/function:Function", "failback-source-fn").inputs.role;
        assert.strictEqual(role, oneResource(drOff, "aws:iam/role:Role", "failback-source-fn-role").state.arn);
        // Aurora: the roles are the cluster's from the start.
        const auroraOff = await runProgram("dr", { sets: AURORA });
        assert.deepStrictEqual(rolePolicyOf(auroraOff, "failback-source-fn-policy"), rolePolicyOf(await runProgram("dr", { sets: [...AURORA, "failover=true"] }), "failback-source-fn-policy"));
        assert.ok(JSON.stringify(rolePolicyOf(auroraOff, "failback-source-fn-policy")).includes("rds:CreateDBClusterSnapshot"));
    });

    it("prod without a restore machine for the database has no failback machine", async () => {
        const { config, secretKeys } = readStackConfig("prod");
        delete config["pilotlight:restore"];
        const noRestore = await runProgram("prod", { config, secretKeys });
        assert.deepStrictEqual(failbacks(noRestore), []);
        assert.strictEqual(noRestore.outputs.failbackMachineArn, undefined);
        const otherDatabase = await runProgram("prod", { sets: ['restore={"databases":["billing"]}'] });
        assert.ok(otherDatabase.outputs.restoreMachineArn, "the restore machine is there");
        assert.deepStrictEqual(failbacks(otherDatabase), [], "but it does not cover pilotlight-db");
    });

    it("source: its exact policy, environment and definition", () => {
        assert.deepStrictEqual(rolePolicyOf(drOn, "failback-source-fn-policy").Statement.slice(1), [
            { Sid: "DescribeDatabase", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: ["arn:aws:rds:us-west-2:222222222222:db:pilotlight-db"] },
            { Sid: "DescribeFailbackSnapshots", Effect: "Allow", Action: ["rds:DescribeDBSnapshots"], Resource: ["arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*"] },
            { Sid: "SnapshotDatabase", Effect: "Allow", Action: ["rds:CreateDBSnapshot"], Resource: ["arn:aws:rds:us-west-2:222222222222:db:pilotlight-db", "arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*"] },
            { Sid: "TagFailbackSnapshots", Effect: "Allow", Action: ["rds:AddTagsToResource"], Resource: ["arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*"] },
            { Sid: "ReadSharing", Effect: "Allow", Action: ["rds:DescribeDBSnapshotAttributes"], Resource: ["arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*"] },
            {
                Sid: "ShareWithPrimary",
                Effect: "Allow",
                Action: ["rds:ModifyDBSnapshotAttribute"],
                Resource: ["arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*"],
                Condition: { StringEquals: { "rds:snapshot-tag/pilotlight:created-by": "failback-source" } },
            },
            { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: ["arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-failback-source"] },
        ]);
        const fn = oneResource(drOn, "aws:lambda/function:Function", "failback-source-fn");
        assert.deepStrictEqual(fn.inputs.environment.variables, { REGION: "us-west-2", DATABASE: "pilotlight-db", IS_CLUSTER: "false", PEER_ACCOUNT_ID: "111111111111" });
        assert.deepStrictEqual([fn.inputs.runtime, fn.inputs.architectures], ["nodejs22.x", ["arm64"]]);
        const def = machine(drOn, "failback-source-machine");
        const alert = oneResource(drOn, "aws:lambda/function:Function", "alerts-fn").state.arn;
        assert.deepStrictEqual(def, failbackSourceDefinition({ job: fn.state.arn, alert }, { share: true }));
        assertValidAsl(def);
    });

    it("source, same account: nothing is shared", async () => {
        const same = await runProgram("dr", { sets: ["failover=true", "peer.accountId=222222222222"] });
        assert.ok(!rolePolicyOf(same, "failback-source-fn-policy").Statement.some((s: any) => s.Sid === "ShareWithPrimary"));
        assert.strictEqual(oneResource(same, "aws:lambda/function:Function", "failback-source-fn").inputs.environment.variables.PEER_ACCOUNT_ID, "");
        assert.ok(!taskStates(machine(same, "failback-source-machine")).includes("Share"));
    });

    it("target: its exact policy, environment and definition, waiting out the restore machine's timeout", () => {
        const sharedKey = oneResource(prod, "aws:kms/key:Key", "shared-key").state.arn;
        const replicaKey = oneResource(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica").state.arn;
        const useKey = ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];
        assert.deepStrictEqual(rolePolicyOf(prod, "failback-fn-policy").Statement.slice(1), [
            { Sid: "DescribeDatabase", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: ["arn:aws:rds:us-east-1:111111111111:db:pilotlight-db"] },
            {
                Sid: "FindSnapshots",
                Effect: "Allow",
                Action: ["rds:DescribeDBSnapshots"],
                Resource: ["arn:aws:rds:us-west-2:111111111111:snapshot:*", "arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*", "arn:aws:rds:us-east-1:111111111111:snapshot:pilotlight-db-fb-*-sk"],
            },
            {
                Sid: "CopyFailbackSnapshots",
                Effect: "Allow",
                Action: ["rds:CopyDBSnapshot"],
                Resource: ["arn:aws:rds:us-west-2:222222222222:snapshot:pilotlight-db-fb-*", "arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-fb-*-sk", "arn:aws:rds:us-east-1:111111111111:snapshot:pilotlight-db-fb-*-sk"],
            },
            { Sid: "TagOwnCopies", Effect: "Allow", Action: ["rds:AddTagsToResource"], Resource: ["arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-fb-*-sk", "arn:aws:rds:us-east-1:111111111111:snapshot:pilotlight-db-fb-*-sk"] },
            {
                Sid: "DeleteOnlyOwnDrCopies",
                Effect: "Allow",
                Action: ["rds:DeleteDBSnapshot"],
                Resource: ["arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-fb-*-sk"],
                Condition: { StringEquals: { "rds:snapshot-tag/pilotlight:created-by": "failback" } },
            },
            {
                Sid: "ReadDrKeyThroughRds",
                Effect: "Allow",
                Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"],
                Resource: ["arn:aws:kms:us-west-2:222222222222:key/*"],
                Condition: { StringEquals: { "kms:ViaService": "rds.us-west-2.amazonaws.com" }, "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/pilotlight-dr" } },
            },
            { Sid: "UseReplicaKeyThroughRds", Effect: "Allow", Action: useKey, Resource: [replicaKey], Condition: { StringEquals: { "kms:ViaService": "rds.us-west-2.amazonaws.com" } } },
            { Sid: "UseSharedKeyThroughRds", Effect: "Allow", Action: useKey, Resource: [sharedKey], Condition: { StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" } } },
            { Sid: "StartRestore", Effect: "Allow", Action: ["states:StartExecution"], Resource: ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-restore"] },
            { Sid: "WatchRestore", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: ["arn:aws:states:us-east-1:111111111111:execution:pilotlight-restore:*"] },
            { Sid: "ListRestores", Effect: "Allow", Action: ["states:ListExecutions"], Resource: ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-restore"] },
            { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-failback"] },
        ]);
        assert.ok(replicaKey.includes(":us-west-2:") && sharedKey.includes(":us-east-1:"));
        // The restore machine the policy names is the one the stack deploys.
        assert.strictEqual(prod.outputs.restoreMachineArn, "arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-restore");
        const fn = oneResource(prod, "aws:lambda/function:Function", "failback-fn");
        assert.deepStrictEqual(fn.inputs.environment.variables, {
            ACCOUNT_ID: "111111111111",
            HOME_REGION: "us-east-1",
            DR_REGION: "us-west-2",
            DR_ACCOUNT_ID: "222222222222",
            DATABASE: "pilotlight-db",
            DR_DATABASE: "pilotlight-db",
            IS_CLUSTER: "false",
            SHARED_KEY_ARN: sharedKey,
            REPLICA_KEY_ARN: replicaKey,
            RESTORE_MACHINE_ARN: prod.outputs.restoreMachineArn,
        });
        const def = machine(prod, "failback-machine");
        const alert = oneResource(prod, "aws:lambda/function:Function", "alerts-fn").state.arn;
        const restoreTimeout = resolveRestoreOptions({ pollIntervalSeconds: 60, maxAttempts: 180 }).timeoutSeconds;
        assert.deepStrictEqual(def, failbackDefinition({ job: fn.state.arn, alert }, { restoreTimeoutSeconds: restoreTimeout }));
        assert.strictEqual(machine(prod, "failback-machine").States["RestoreReady?"].Choices[1].NumericGreaterThanEquals, Math.ceil(restoreTimeout / 60) + 1);
        assertValidAsl(def);
        const machinePolicy = rolePolicyOf(prod, "failback-machine-policy");
        assert.deepStrictEqual(machinePolicy.Statement[0].Resource, [fn.state.arn, alert], "the machine invokes its Lambda and the alerts only");
    });

    it("target: a longer restore (restore.maxAttempts) makes the failback wait longer", async () => {
        const slow = await runProgram("prod", { sets: ["restore.maxAttempts=400"] });
        const expected = Math.ceil(resolveRestoreOptions({ pollIntervalSeconds: 60, maxAttempts: 400 }).timeoutSeconds / 60) + 1;
        assert.strictEqual(machine(slow, "failback-machine").States["RestoreReady?"].Choices[1].NumericGreaterThanEquals, expected);
    });

    it("Aurora: both sides work on the cluster and its cluster snapshots only", async () => {
        const dr = await runProgram("dr", { sets: [...AURORA, "failover=true"] });
        const source = rolePolicyOf(dr, "failback-source-fn-policy").Statement;
        const sid = (doc: any[], s: string) => doc.find((x) => x.Sid === s);
        assert.deepStrictEqual(sid(source, "SnapshotDatabase"), {
            Sid: "SnapshotDatabase",
            Effect: "Allow",
            Action: ["rds:CreateDBClusterSnapshot"],
            Resource: ["arn:aws:rds:us-west-2:222222222222:cluster:pilotlight-db", "arn:aws:rds:us-west-2:222222222222:cluster-snapshot:pilotlight-db-fb-*"],
        });
        assert.deepStrictEqual(sid(source, "ShareWithPrimary").Condition, { StringEquals: { "rds:cluster-snapshot-tag/pilotlight:created-by": "failback-source" } });
        assert.strictEqual(oneResource(dr, "aws:lambda/function:Function", "failback-source-fn").inputs.environment.variables.IS_CLUSTER, "true");

        const prodAurora = await runProgram("prod", { sets: [...AURORA, 'restore={"databases":[{"identifier":"pilotlight-db","isCluster":true}]}'] });
        const target = rolePolicyOf(prodAurora, "failback-fn-policy").Statement;
        assert.deepStrictEqual(sid(target, "DescribeDatabase").Action, ["rds:DescribeDBClusters"]);
        assert.deepStrictEqual(sid(target, "CopyFailbackSnapshots"), {
            Sid: "CopyFailbackSnapshots",
            Effect: "Allow",
            Action: ["rds:CopyDBClusterSnapshot"],
            Resource: [
                "arn:aws:rds:us-west-2:222222222222:cluster-snapshot:pilotlight-db-fb-*",
                "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:pilotlight-db-fb-*-sk",
                "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:pilotlight-db-fb-*-sk",
            ],
        });
        assert.deepStrictEqual(sid(target, "DeleteOnlyOwnDrCopies").Action, ["rds:DeleteDBClusterSnapshot"]);
        assert.deepStrictEqual(sid(target, "DeleteOnlyOwnDrCopies").Condition, { StringEquals: { "rds:cluster-snapshot-tag/pilotlight:created-by": "failback" } });
        const actions = target.flatMap((s: any) => s.Action);
        assert.ok(!actions.some((a: string) => /DBSnapshot$|DBInstances$/.test(a)), `no instance actions: ${actions.join(", ")}`);
        assert.strictEqual(oneResource(prodAurora, "aws:lambda/function:Function", "failback-fn").inputs.environment.variables.IS_CLUSTER, "true");
    });
});
