import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    clusterEventPattern,
    FAILOVER_COMPLETED,
    FAILOVER_STARTED,
    recoveryBaseName,
    recoveryEventPattern,
    recoveryInputTransformer,
    recoveryStatements,
    startedEventPattern,
} from "../components/auroraFailover";
import { PolicyStatement, wildcardActions, policyDocument } from "../components/iam";

const SAMPLES = path.resolve(__dirname, "..", "..", "shared", "samples", "rds-events");

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
            assert.deepStrictEqual(st.guard[0].Condition, { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["orders-aurora"] } });
            assert.deepStrictEqual(actions(st.switch), ["rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:FailoverDBCluster"]);
            assert.deepStrictEqual(st.demoted, [], "keep: no Lambda may touch the demoted instance");
            const mutating = st.reader.filter((s) => ([] as string[]).concat(s.Action).some((a) => !/^rds:Describe/.test(a)));
            const create = st.reader.find((s) => s.Sid === "CreateRecoveryReader")!;
            assert.deepStrictEqual(create.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-pl-writer-*"]);
            assert.deepStrictEqual(st.reader.find((s) => s.Sid === "TagAndDiscardRecoveryReader")!.Resource, ["arn:aws:rds:us-east-1:111111111111:db:orders-aurora-pl-writer-*"]);
            assert.ok(mutating.every((s) => !([] as unknown[]).concat(s.Resource).includes("*")));
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
