// Cross-cutting: every IAM document any stack would create, in every mode, is
// least-privilege. New components are checked here without writing anything.
import * as assert from "assert";
import { PolicyDocument, PolicyStatement, wildcardActions } from "../components/iam";
import { policyFiles } from "./synth";
import { ProgramRun, runProgram } from "./program";

/** Actions AWS authorizes only on Resource "*" (no resource-level permissions). */
const UNSCOPED_OK = [
    /^[a-z0-9-]+:(Describe|List)[A-Za-z]*$/,
    /^logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
    /^cloudwatch:PutMetricData$/,
    // Snapshot export: StartExportTask has no resource-level permissions.
    /^rds:StartExportTask$/,
    /^xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)$/,
];

function unscopedAllows(doc: PolicyDocument): string[] {
    const bad: string[] = [];
    for (const s of doc.Statement as PolicyStatement[]) {
        if (s.Effect !== "Allow") continue;
        const resources = ([] as unknown[]).concat(s.Resource ?? []);
        if (!resources.includes("*")) continue;
        for (const a of ([] as string[]).concat(s.Action)) if (!UNSCOPED_OK.some((re) => re.test(a))) bad.push(`${s.Sid ?? "(no Sid)"}: ${a} on *`);
    }
    return bad;
}

describe("least privilege across every stack", () => {
    const modes: [string, string[]][] = [
        ["prod", []],
        ["dr", []],
        ["dr", ["failover=true"]],
        ["dr", ["failover=true", "peer.accountId=222222222222"]],
        ["prod", ["network.lambdasInVpc=true"]],
    ];
    const runs: { label: string; run: ProgramRun }[] = [];
    before(async () => {
        for (const [stack, sets] of modes) runs.push({ label: `${stack} ${sets.join(" ")}`.trim(), run: await runProgram(stack, { sets }) });
    });

    it("no policy document allows a * or service:* action", () => {
        for (const { label, run } of runs) {
            for (const [file, doc] of policyFiles(run.resources)) assert.deepStrictEqual(wildcardActions(doc as PolicyDocument), [], `${label}: ${file}`);
        }
    });

    it("identity policies scope every action to resources, except actions AWS cannot scope", () => {
        for (const { label, run } of runs) {
            for (const [file, doc] of policyFiles(run.resources)) {
                if (!/\.(role-policy|policy)(\.\d+)?\.json$/.test(file)) continue;
                assert.deepStrictEqual(unscopedAllows(doc as PolicyDocument), [], `${label}: ${file}`);
            }
        }
    });

    it("every role trusts one service principal (the DNS peer role: exactly the peer account)", () => {
        for (const { label, run } of runs) {
            const peerAccount = run.outputs.role === "primary" ? "222222222222" : "111111111111";
            for (const [file, doc] of policyFiles(run.resources)) {
                if (!file.endsWith(".trust.json")) continue;
                for (const s of (doc as PolicyDocument).Statement) {
                    assert.strictEqual(s.Effect, "Allow", `${label}: ${file}`);
                    // The one cross-account role: the primary's, for the dr stack's SECONDARY record.
                    if (file === "dns-peer.trust.json") {
                        assert.deepStrictEqual(s.Principal, { AWS: `arn:aws:iam::${peerAccount}:root` }, `${label}: ${file}`);
                        continue;
                    }
                    assert.ok(typeof (s.Principal as any)?.Service === "string", `${label}: ${file} trusts ${JSON.stringify(s.Principal)}`);
                }
            }
        }
    });

    it("covers the media replication roles of both directions (dr's failback role is in the pilot light)", () => {
        const files = (label: string) => [...policyFiles(runs.find((r) => r.label === label)!.run.resources).keys()];
        assert.ok(files("prod").includes("media-replication.role-policy.json"));
        for (const label of ["dr", "dr failover=true", "dr failover=true peer.accountId=222222222222"]) {
            for (const f of ["media-failback.trust.json", "media-failback.role-policy.json"]) assert.ok(files(label).includes(f), `${label}: ${f}`);
        }
    });

    it("bucket and key policies admit another account only narrowed to a role or a service", () => {
        for (const { label, run } of runs) {
            const own = (run.outputs.keyArn as string).split(":")[4];
            for (const [file, doc] of policyFiles(run.resources)) {
                if (!/\.(bucket|key)-policy(\.\d+)?\.json$/.test(file)) continue;
                for (const s of (doc as PolicyDocument).Statement) {
                    const principal = JSON.stringify(s.Principal ?? "");
                    if (s.Effect !== "Allow" || !/iam::\d{12}:root/.test(principal) || principal.includes(`iam::${own}:root`)) continue;
                    const keys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
                    assert.ok(keys.includes("aws:PrincipalArn") || keys.includes("kms:ViaService"), `${label}: ${file} ${s.Sid} admits ${principal} unconditionally`);
                }
            }
        }
    });
});
