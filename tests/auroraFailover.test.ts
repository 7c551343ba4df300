import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    clusterEventPattern,
    FAILOVER_COMPLETED,
    FAILOVER_STARTED,
    recoveryBaseName,
    recoveryChildName,
    recoveryEventPattern,
    recoveryInputTransformer,
    recoveryStatements,
    startedEventPattern,
} from "../components/auroraFailover";
import { PolicyDocument, PolicyStatement, wildcardActions, policyDocument } from "../components/iam";
import { assertValidAsl, taskStates } from "./machineHarness";
import { allows } from "./iamCheck";
import { ProgramResource, ProgramRun, runProgram } from "./program";
import { rdsEventSamples } from "./fixtures";

const SAMPLES = rdsEventSamples();

/**
 * EventBridge's matching for the pattern subset pilotlight uses: every pattern
 * key must be present; a list matches when the event's value (or any element of
 * an event list) equals one of its values; a map recurses. Anything else
 * (prefix, anything-but, numeric...) throws, so no pattern passes untested.
 */
function matches(pattern: unknown, event: unknown): boolean {
    if (Array.isArray(pattern)) {
        for (const p of pattern) if (typeof p === "object" && p !== null) throw new Error(`unsupported pattern operator ${JSON.stringify(p)}`);
        const values = Array.isArray(event) ? event : [event];
        return values.some((v) => pattern.includes(v));
    }
    if (pattern && typeof pattern === "object") {
        if (!event || typeof event !== "object") return false;
        return Object.entries(pattern).every(([k, p]) => k in (event as object) && matches(p, (event as Record<string, unknown>)[k]));
    }
    throw new Error(`pattern leaves must be lists, got ${JSON.stringify(pattern)}`);
}

function samples(): [string, any][] {
    return fs
        .readdirSync(SAMPLES)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => [f, JSON.parse(fs.readFileSync(path.join(SAMPLES, f), "utf8"))]);
}

describe("aurora failover recovery component", () => {
    describe("event patterns against every AWS sample event", () => {
        const CLUSTER = "orders-aurora";
        // Which rule each sample must trigger; every other sample must trigger neither.
        const expected: Record<string, "recovery" | "started" | "none"> = {
            "cluster-failover-completed.json": "recovery",
            "cluster-failover-started-same-az.json": "started",
            "cluster-failover-started-cross-az.json": "started",
            "cluster-failover-failed.json": "none",
            "cluster-snapshot-manual-created.json": "none",
            "instance-created.json": "none",
            "instance-multi-az-failover-completed.json": "none",
            "instance-parameter-group-updated.json": "none",
            "instance-restored-from-snapshot.json": "none",
            "snapshot-copy-cross-region-finished.json": "none",
            "snapshot-manual-created.json": "none",
        };

        it("knows every sample file", () => {
            assert.deepStrictEqual(samples().map(([f]) => f), Object.keys(expected).sort());
        });

        for (const [file, event] of samples()) {
            it(`${file} (${event.detail.EventID}, SourceIdentifier ${event.detail.SourceIdentifier})`, () => {
                const want = expected[file];
                assert.strictEqual(matches(recoveryEventPattern(CLUSTER), event), want === "recovery", "recovery rule");
                assert.strictEqual(matches(startedEventPattern(CLUSTER), event), want === "started", "started rule");
            });
        }

        it("matches the cluster bare and rds:-prefixed, and no other cluster", () => {
            const [, completed] = samples().find(([f]) => f === "cluster-failover-completed.json")!;
            for (const id of ["orders-aurora", "rds:orders-aurora"]) {
                assert.ok(matches(recoveryEventPattern(CLUSTER), { ...completed, detail: { ...completed.detail, SourceIdentifier: id } }), id);
            }
            for (const id of ["billing-aurora", "rds:billing-aurora", "orders-aurora-2", "rds:orders", "arn:aws:rds:us-east-1:111111111111:cluster:orders-aurora"]) {
                assert.ok(!matches(recoveryEventPattern(CLUSTER), { ...completed, detail: { ...completed.detail, SourceIdentifier: id } }), id);
            }
        });

        it("0092 (parameter group updated) never starts anything, even about the recovery reader", () => {
            const [, p92] = samples().find(([f]) => f === "instance-parameter-group-updated.json")!;
            assert.strictEqual(p92.detail.EventID, "RDS-EVENT-0092");
            for (const cluster of [CLUSTER, "orders-aurora-writer-recovery"]) {
                assert.ok(!matches(recoveryEventPattern(cluster), p92));
                assert.ok(!matches(startedEventPattern(cluster), p92));
            }
        });

        it("uses only the event IDs it acts on", () => {
            assert.deepStrictEqual(recoveryEventPattern(CLUSTER).detail.EventID, [FAILOVER_COMPLETED]);
            assert.deepStrictEqual(startedEventPattern(CLUSTER).detail.EventID, FAILOVER_STARTED);
            assert.throws(() => clusterEventPattern(CLUSTER, []), /at least one RDS event ID/);
        });

        it("hands the machine the configured cluster, not one parsed from the event", () => {
            const t = recoveryInputTransformer(CLUSTER);
            const [, completed] = samples().find(([f]) => f === "cluster-failover-completed.json")!;
            // Apply the transformer as EventBridge does: each <name> becomes the JSON of its path's value.
            const get = (p: string) => p.slice(2).split(".").reduce((o: any, k) => o?.[k], completed);
            const rendered = t.inputTemplate.replace(/<(\w+)>/g, (_, name) => JSON.stringify(get(t.inputPaths[name])));
            assert.deepStrictEqual(JSON.parse(rendered), {
                clusterIdentifier: CLUSTER,
                event: { id: completed.id, time: completed.time, eventId: "RDS-EVENT-0071", message: completed.detail.Message, sourceIdentifier: "orders-aurora" },
            });
        });
    });

    describe("in the program (index.ts under mocks)", () => {
        const TOKEN = "pilotlight:auroraFailover:AuroraFailoverRecovery";
        let prod: ProgramRun;
        before(async () => {
            prod = await runProgram("prod");
        });

        const component = (run: ProgramRun, cluster: string) => run.resources.find((r) => r.type === TOKEN && r.name === `aurora-${cluster}`);
        const children = (run: ProgramRun, parent: ProgramResource) => {
            const out: ProgramResource[] = [];
            const walk = (urn: string) => {
                for (const r of run.resources.filter((x) => x.parent === urn)) {
                    out.push(r);
                    walk(r.urn);
                }
            };
            walk(parent.urn);
            return out;
        };
        const ofType = (rs: ProgramResource[], type: string) => rs.filter((r) => r.type === type);
        const policyOf = (rs: ProgramResource[], fnName: string): PolicyDocument => {
            const role = rs.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === `${fnName}-policy`)!;
            return JSON.parse(role.inputs.policy);
        };

        it("deploys one recovery per configured cluster on prod, with its rules, machine, table, Lambdas and roles", () => {
            const c = component(prod, "orders-aurora");
            assert.ok(c, "component for orders-aurora");
            assert.strictEqual(prod.resources.filter((r) => r.type === TOKEN).length, 1);
            const rs = children(prod, c!);
            assert.ok(rs.every((r) => r.name.startsWith("aurora-orders-aurora-")), rs.map((r) => r.name).join(", "));

            const rules = ofType(rs, "aws:cloudwatch/eventRule:EventRule");
            assert.deepStrictEqual(rules.map((r) => [r.inputs.name, JSON.parse(r.inputs.eventPattern)]).sort(), [
                ["pilotlight-aurora-orders-aurora-completed", recoveryEventPattern("orders-aurora")],
                ["pilotlight-aurora-orders-aurora-started", startedEventPattern("orders-aurora")],
            ]);
            const targets = ofType(rs, "aws:cloudwatch/eventTarget:EventTarget");
            const machine = ofType(rs, "aws:sfn/stateMachine:StateMachine")[0];
            const completedTarget = targets.find((t) => t.inputs.rule === "pilotlight-aurora-orders-aurora-completed")!;
            assert.strictEqual(completedTarget.inputs.arn, machine.state.arn);
            assert.deepStrictEqual(completedTarget.inputs.inputTransformer, recoveryInputTransformer("orders-aurora"));

            const startedTarget = targets.find((t) => t.inputs.rule === "pilotlight-aurora-orders-aurora-started")!;
            const record = ofType(rs, "aws:lambda/function:Function").find((f) => f.inputs.name.endsWith("-record"))!;
            assert.strictEqual(startedTarget.inputs.arn, record.state.arn);
            const permission = ofType(rs, "aws:lambda/permission:Permission")[0];
            const startedRule = rules.find((r) => r.inputs.name.endsWith("-started"))!;
            assert.deepStrictEqual([permission.inputs.principal, permission.inputs.sourceArn, permission.inputs.function], ["events.amazonaws.com", startedRule.state.arn, record.inputs.name]);
            const eventsPolicy: PolicyDocument = JSON.parse(rs.find((r) => r.name === "aurora-orders-aurora-events-policy")!.inputs.policy);
            assert.deepStrictEqual(eventsPolicy.Statement.map((st) => [st.Action, st.Resource]), [[["states:StartExecution"], [machine.state.arn]]]);

            const table = ofType(rs, "aws:dynamodb/table:Table")[0];
            assert.deepStrictEqual([table.inputs.name, table.inputs.hashKey, table.inputs.billingMode], ["pilotlight-aurora-orders-aurora-guard", "clusterIdentifier", "PAY_PER_REQUEST"]);

            const fns = ofType(rs, "aws:lambda/function:Function").map((f) => f.inputs.name).sort();
            assert.deepStrictEqual(fns, ["assess", "demoted", "guard", "reader", "record", "switch"].map((j) => `pilotlight-aurora-orders-aurora-${j}`));
            assert.deepStrictEqual(targets.map((t) => t.inputs.targetId).sort(), ["record-start", "recovery-machine"]);
            const reader = ofType(rs, "aws:lambda/function:Function").find((f) => f.inputs.name.endsWith("-reader"))!;
            assert.deepStrictEqual(reader.inputs.environment.variables, { CLUSTER_IDENTIFIER: "orders-aurora", WRITER_CLASS: "db.r6g.2xlarge" });
        });

        it("deploys the machine it was tested with, invoking only its own Lambdas and the shared alert Lambda", () => {
            const rs = children(prod, component(prod, "orders-aurora")!);
            const machine = ofType(rs, "aws:sfn/stateMachine:StateMachine")[0];
            const def = JSON.parse(machine.inputs.definition);
            assertValidAsl(def);
            const own = ofType(rs, "aws:lambda/function:Function").map((f) => f.state.arn);
            const alert = prod.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name === "alerts-fn")!;
            const used = new Set(taskStates(def).map((n) => def.States[n].Resource));
            for (const arn of used) assert.ok(own.includes(arn) || arn === alert.state.arn, `unexpected Task resource ${arn}`);
            assert.ok(used.has(alert.state.arn), "alerts go through the shared alert Lambda");
            const machinePolicy: PolicyDocument = JSON.parse(rs.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "aurora-orders-aurora-machine-policy")!.inputs.policy);
            assert.deepStrictEqual([...(machinePolicy.Statement[0].Resource as string[])].sort(), [...used].sort());
        });

        it("is least privilege: no PassRole without a monitoring role; with one, only it", async () => {
            const rs = children(prod, component(prod, "orders-aurora")!);
            for (const r of ofType(rs, "aws:iam/rolePolicy:RolePolicy")) assert.deepStrictEqual(wildcardActions(JSON.parse(r.inputs.policy)), [], r.name);
            const all = ofType(rs, "aws:iam/rolePolicy:RolePolicy").flatMap((r) => JSON.parse(r.inputs.policy).Statement as PolicyStatement[]);
            assert.ok(!all.some((s) => ([] as string[]).concat(s.Action).includes("iam:PassRole")));

            const role = "arn:aws:iam::111111111111:role/rds-monitoring";
            const run = await runProgram("prod", { sets: [`auroraFailover.clusters=[{"identifier":"orders-aurora","monitoringRoleArn":"${role}"}]`, "auroraFailover.afterRecovery=delete"] });
            const rs2 = children(run, component(run, "orders-aurora")!);
            const pass = ofType(rs2, "aws:iam/rolePolicy:RolePolicy").flatMap((r) => (JSON.parse(r.inputs.policy).Statement as PolicyStatement[]).map((s) => [r.name, s] as const)).filter(([, s]) => ([] as string[]).concat(s.Action).includes("iam:PassRole"));
            assert.deepStrictEqual(pass.map(([name, s]) => [name, s.Resource]), [["aurora-orders-aurora-reader-policy", [role]]]);
            assert.ok(ofType(rs2, "aws:lambda/function:Function").some((f) => f.inputs.name === "pilotlight-aurora-orders-aurora-demoted"));
            const reader = ofType(rs2, "aws:lambda/function:Function").find((f) => f.inputs.name.endsWith("-reader"))!;
            assert.deepStrictEqual(reader.inputs.environment.variables, { CLUSTER_IDENTIFIER: "orders-aurora", MONITORING_ROLE_ARN: role });
            assert.deepStrictEqual(policyOf(rs2, "aurora-orders-aurora-demoted").Statement.find((s) => s.Sid === "DeleteDemotedMember")!.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-*"]);
        });

        it("keeps every name AWS limits within its limit for a 63-character cluster id", async () => {
            const long = `orders-${"x".repeat(49)}-aurora`;
            assert.strictEqual(long.length, 63);
            const run = await runProgram("prod", { sets: [`auroraFailover.clusters=[{"identifier":"${long}","writerClass":"db.r6g.2xlarge"}]`] });
            const c = run.resources.find((r) => r.type === TOKEN && r.name === `aurora-${long}`)!;
            const rs = children(run, c);
            assert.ok(rs.length > 20, `${rs.length} children`);
            for (const r of rs) {
                // Pulumi auto-names a resource without a physical name as its logical name plus 8 characters.
                if (r.type === "aws:iam/role:Role" && !r.inputs.name) assert.ok(r.name.length + 8 <= 64, `role ${r.name} auto-names past 64`);
                if (r.type === "aws:cloudwatch/eventTarget:EventTarget") assert.ok(r.inputs.targetId && r.inputs.targetId.length <= 64, `target id of ${r.name}`);
                for (const key of ["name", "roleName", "functionName"]) {
                    if (typeof r.inputs[key] === "string" && !r.inputs[key].startsWith("/")) assert.ok(r.inputs[key].length <= 64, `${r.type} ${r.name}: ${key} ${r.inputs[key]}`);
                }
            }
            assert.ok(rs.some((r) => r.type === "aws:iam/role:Role" && !r.inputs.name), "there are auto-named roles to check");
            // The rules still match the cluster's own events.
            const rule = rs.find((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.inputs.name.endsWith("-completed"))!;
            assert.deepStrictEqual(JSON.parse(rule.inputs.eventPattern), recoveryEventPattern(long));
            assert.strictEqual(recoveryChildName("aurora-orders-aurora"), "aurora-orders-aurora", "short names stay: existing stacks keep their resources");
            assert.notStrictEqual(recoveryChildName(`aurora-${long}`), recoveryChildName(`aurora-${long.replace("orders", "orderz")}`));
        });

        it("exports each cluster's machine ARN", () => {
            assert.deepStrictEqual(prod.outputs.auroraRecoveryMachineArns, { "orders-aurora": "arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-aurora-orders-aurora-recovery" });
        });

        it("deploys nothing without clusters, and nothing on dr", async () => {
            const none = await runProgram("prod", { sets: ["auroraFailover.clusters=[]"] });
            assert.strictEqual(none.resources.filter((r) => r.type === TOKEN).length, 0);
            const dr = await runProgram("dr", { sets: ["failover=true"] });
            assert.strictEqual(dr.resources.filter((r) => r.type === TOKEN).length, 0);
        });

        it("puts every Lambda in the VPC when asked (DynamoDB through the network's gateway endpoint)", async () => {
            const run = await runProgram("prod", { sets: ["network.lambdasInVpc=true"] });
            const fns = ofType(children(run, component(run, "orders-aurora")!), "aws:lambda/function:Function");
            const inVpc = fns.filter((f) => f.inputs.vpcConfig).map((f) => f.inputs.name.split("-").pop()).sort();
            assert.deepStrictEqual(inVpc, ["assess", "demoted", "guard", "reader", "record", "switch"]);
        });
    });

    describe("names and policies", () => {
        it("keeps every physical name within AWS's 64 characters", () => {
            assert.strictEqual(recoveryBaseName("pilotlight", "orders-aurora"), "pilotlight-aurora-orders-aurora");
            const long = "a".repeat(40) + "-cluster-with-a-long-name";
            const base = recoveryBaseName("pilotlight", long);
            assert.ok(base.length + "-completed".length <= 64, base);
            assert.notStrictEqual(base, recoveryBaseName("pilotlight", long + "x"), "distinct clusters keep distinct names");
        });

        const scope = { accountId: "111111111111", region: "us-east-1", clusterIdentifier: "orders-aurora" };
        const table = "arn:aws:dynamodb:us-east-1:111111111111:table/pilotlight-aurora-orders-aurora-guard";
        const actions = (ss: PolicyStatement[]) => ss.flatMap((s) => ([] as string[]).concat(s.Action)).sort();

        it("gives each Lambda only what its step needs", () => {
            const st = recoveryStatements(scope, { tableArn: table, afterRecovery: "keep" });
            assert.deepStrictEqual(actions(st.assess), ["rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:ListTagsForResource"]);
            assert.deepStrictEqual(actions(st.guard), ["dynamodb:UpdateItem"]);
            // Recording a failover start reads which member is the writer; it changes nothing in RDS.
            assert.deepStrictEqual(actions(st.record), ["dynamodb:UpdateItem", "rds:DescribeDBClusters", "rds:DescribeDBInstances"]);
            assert.deepStrictEqual(st.guard[0].Condition, { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["orders-aurora"] } });
            assert.deepStrictEqual(actions(st.switch), ["rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:FailoverDBCluster"]);
            // keep: the demoted member only moves to the last promotion tier.
            assert.deepStrictEqual(actions(st.demoted), ["rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:ModifyDBInstance"]);
            assert.deepStrictEqual(st.demoted.find((s) => s.Sid === "MoveDemotedMemberToLastTier")!.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-*"]);
            // The Performance Insights key of the template member: through RDS only, to grant RDS only.
            const kms = st.reader.find((s) => s.Sid === "UsePerformanceInsightsKeyThroughRds")!;
            assert.deepStrictEqual([kms.Action, kms.Resource, kms.Condition], [
                ["kms:CreateGrant", "kms:DescribeKey"],
                ["arn:aws:kms:us-east-1:111111111111:key/*"],
                { StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" }, Bool: { "kms:GrantIsForAWSResource": "true" } },
            ]);
            const mutating = st.reader.filter((s) => ([] as string[]).concat(s.Action).some((a) => !/^rds:Describe/.test(a)));
            const create = st.reader.find((s) => s.Sid === "CreateRecoveryReader")!;
            assert.deepStrictEqual(create.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-pl-writer-*"]);
            assert.deepStrictEqual(st.reader.find((s) => s.Sid === "TagAndDiscardRecoveryReader")!.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-pl-writer-*"]);
            assert.ok(mutating.every((s) => !([] as unknown[]).concat(s.Resource).includes("*")));
            assert.ok(allows(st.reader, { action: "kms:CreateGrant", resource: "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab" }));
            assert.ok(!actions(st.reader).includes("iam:PassRole"), "no monitoring role configured: nothing to pass");
            for (const ss of Object.values(st)) assert.deepStrictEqual(wildcardActions(policyDocument(ss)), []);
        });

        it("passes only the configured monitoring role, only to RDS monitoring; pins the class when known", () => {
            const role = "arn:aws:iam::111111111111:role/rds-monitoring";
            const st = recoveryStatements(scope, { tableArn: table, afterRecovery: "keep", monitoringRoleArn: role, writerClass: "db.r6g.2xlarge" });
            const pass = st.reader.filter((s) => ([] as string[]).concat(s.Action).includes("iam:PassRole"));
            assert.deepStrictEqual(pass, [
                { Sid: "PassMonitoringRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: [role], Condition: { StringEquals: { "iam:PassedToService": "monitoring.rds.amazonaws.com" } } },
            ]);
            assert.deepStrictEqual(st.reader.find((s) => s.Sid === "CreateRecoveryReader")!.Condition, { StringEquals: { "rds:DatabaseClass": "db.r6g.2xlarge" } });
        });

        it("lets the after-recovery step delete or resize only the cluster's own members", () => {
            const del = recoveryStatements(scope, { tableArn: table, afterRecovery: "delete" }).demoted;
            assert.deepStrictEqual(actions(del), ["rds:DeleteDBInstance", "rds:DescribeDBClusters", "rds:DescribeDBInstances"]);
            assert.deepStrictEqual(del.find((s) => s.Sid === "DeleteDemotedMember")!.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-*"]);
            const resize = recoveryStatements(scope, { tableArn: table, afterRecovery: "resize" }).demoted;
            assert.deepStrictEqual(actions(resize), ["rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:ModifyDBInstance"]);
        });
    });
});
