import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { aslDiagram, maskSecrets, parseArgs, policyFiles, stableJson, synth } from "./synth";
import { applyOverrides, readStackConfig, recordsByTypeAndName, runProgram } from "./program";

function readTree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
        const p = path.join(dir, f);
        if (fs.statSync(p).isFile()) out[f] = fs.readFileSync(p, "utf8");
    }
    return out;
}

describe("synth", () => {
    it("is byte-for-byte deterministic and covers both stacks", async () => {
        const a = fs.mkdtempSync(path.join(os.tmpdir(), "synth-a-"));
        const b = fs.mkdtempSync(path.join(os.tmpdir(), "synth-b-"));
        await synth(parseArgs(["--out", a]));
        await synth(parseArgs(["--out", b]));
        const ta = readTree(a);
        assert.deepStrictEqual(readTree(b), ta);
        for (const f of ["prod/resources.json", "prod/SUMMARY.md", "dr/resources.json", "dr/SUMMARY.md", "prod/iam/shared-key.key-policy.json", "dr/iam/media-policy.bucket-policy.json"]) {
            assert.ok(ta[f], `${f} missing; have ${Object.keys(ta).join(", ")}`);
        }
        const resources = JSON.parse(ta["prod/resources.json"]);
        assert.ok(resources.some((r: any) => r.type === "pilotlight:network:Network" && r.parent === null));
        assert.ok(resources.some((r: any) => r.type === "awsx:ec2:Vpc" && r.parent === "pilotlight:network:Network::network"));
        assert.match(ta["prod/SUMMARY.md"], /```mermaid\ngraph TD/);
        assert.match(ta["prod/SUMMARY.md"], /\| `aws:kms\/replicaKey:ReplicaKey` \| 1 \|/);
    });

    it("applies --set overrides: the failover plan of dr", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-f-"));
        await synth(parseArgs(["--stack", "dr", "--set", "failover=true", "--out", out]));
        const resources = JSON.parse(fs.readFileSync(path.join(out, "dr", "resources.json"), "utf8"));
        assert.ok(resources.some((r: any) => r.type === "aws:ec2/natGateway:NatGateway"));
    });

    it("rejects an unknown stack by listing the known ones, and bad arguments", () => {
        assert.throws(() => parseArgs(["--stack", "staging"]), /Unknown stack "staging": there is no Pulumi\.staging\.yaml\. Known stacks: dr, prod/);
        assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
        assert.throws(() => parseArgs(["--bogus"]), /Unknown argument --bogus/);
        assert.throws(() => applyOverrides({}, ["failover"]), /expected key=value/);
    });

    it("parses nested overrides into the map-valued key", () => {
        const out = applyOverrides({ "pilotlight:network": '{"appPort":80}' }, ["network.lambdasInVpc=true", "peer.accountId=111111111111"]);
        assert.deepStrictEqual(JSON.parse(out["pilotlight:network"]), { appPort: 80, lambdasInVpc: true });
        assert.deepStrictEqual(JSON.parse(out["pilotlight:peer"]), { accountId: "111111111111" });
    });

    it("refuses to join records when two registered resources share a type and name", () => {
        const role = { type: "aws:iam/role:Role", name: "restore-export-role", inputs: {}, id: "x", state: {} };
        assert.throws(
            () => recordsByTypeAndName([role, { type: "aws:s3/bucket:Bucket", name: "b" }, role], [role, role]),
            /share a type and logical name.*aws:iam\/role:Role::restore-export-role; give each a distinct name/,
        );
        assert.strictEqual(recordsByTypeAndName([role], [role]).get("aws:iam/role:Role::restore-export-role"), role);
    });

    it("shows each restore export role with its own trust: the export Lambda's and the one RDS assumes", async () => {
        const run = await runProgram("prod");
        const trust = (name: string) => {
            const r = run.resources.find((x) => x.type === "aws:iam/role:Role" && x.name === name);
            assert.ok(r, `${name} missing`);
            return JSON.parse(r!.inputs.assumeRolePolicy).Statement[0].Principal.Service;
        };
        assert.strictEqual(trust("restore-export-role"), "lambda.amazonaws.com");
        assert.strictEqual(trust("restore-rds-export-role"), "export.rds.amazonaws.com");
        const policy = run.resources.find((x) => x.type === "aws:iam/rolePolicy:RolePolicy" && x.name === "restore-rds-export-policy");
        assert.ok(JSON.parse(policy!.inputs.policy).Statement.some((s: any) => s.Sid === "WriteExport"));
    });

    for (const sets of [[], ["network.lambdasInVpc=true"]]) {
        for (const stack of ["prod", "dr"]) {
            it(`registers no two resources with one type and name: ${stack} ${sets.join(" ")}`, async () => {
                await runProgram(stack, { sets });
            });
        }
    }
    it("registers no two resources with one type and name: dr failover=true", async () => {
        await runProgram("dr", { sets: ["failover=true"] });
    });

    it("masks secret values wherever they appear", () => {
        assert.deepStrictEqual(maskSecrets({ a: ["x-hook-https://hooks.slack.example/T0/B0"], b: "plain" }, ["https://hooks.slack.example/T0/B0"]), { a: ["[secret]"], b: "plain" });
    });

    it("writes one file per policy document, named after its resource", async () => {
        const run = await runProgram("prod");
        const files = [...policyFiles(run.resources).keys()];
        for (const f of ["media-policy.bucket-policy.json", "media-replication.role-policy.json", "media-replication.trust.json", "shared-key.key-policy.json", "shared-replica.key-policy.json"]) {
            assert.ok(files.includes(f), `${f} missing from ${files.join(", ")}`);
        }
        assert.strictEqual(new Set(files).size, files.length);
        for (const f of ["restore-validate-policy.role-policy.json", "restore-machine-policy.role-policy.json"]) assert.ok(files.includes(f), `${f} missing`);
    });

    it("renders stable JSON and state machine diagrams", () => {
        assert.strictEqual(stableJson({ b: 1, a: { d: 2, c: 3 } }), '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n');
        const d = aslDiagram({ StartAt: "A", States: { A: { Type: "Task", Next: "B", Catch: [{ ErrorEquals: ["States.ALL"], Next: "F" }] }, B: { Type: "Succeed" }, F: { Type: "Fail" } } });
        assert.strictEqual(d, "stateDiagram-v2\n    [*] --> A\n    A --> B\n    A --> F: States.ALL\n    B --> [*]\n    F --> [*]");
    });
});

describe("secrets' recovery windows over the synthesized stacks", () => {
    // Secrets Manager keeps a deleted secret's name for its recovery window (30 days unless told),
    // and refuses to create a secret under that name meanwhile: a stack or feature turned off and on
    // again within the window would fail. Each secret says its window, so the choice is reviewed.
    it("every secret the program creates chooses its recovery window", async () => {
        const { config } = readStackConfig("prod");
        config["pilotlight:slackWebhookUrls"] = JSON.stringify(["https://hooks.slack.com/services/T/B/X"]);
        const runs = [await runProgram("prod", { config, secretKeys: ["pilotlight:slackWebhookUrls"] }), await runProgram("dr", { sets: ["failover=true"] })];
        const secrets = runs.flatMap((r) => r.resources.filter((x) => x.type === "aws:secretsmanager/secret:Secret"));
        assert.deepStrictEqual(secrets.map((s) => s.name).sort(), ["alerts-slack", "app-redis-auth", "app-redis-auth", "copy-hold", "copy-secret"]);
        for (const s of secrets) assert.ok(Number.isInteger(s.inputs.recoveryWindowInDays), `${s.urn} has no explicit recoveryWindowInDays`);
    });
});
