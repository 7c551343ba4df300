// `npm run synth -- [--stack <name>] [--out <dir>] [--set key=value ...]`
// Runs the real program offline under mocks with Pulumi.<stack>.yaml and writes a
// deterministic, reviewable picture of what `pulumi up` would create:
//   <out>/<stack>/resources.json   every resource: type, name, parent, inputs (secrets masked)
//   <out>/<stack>/iam/*.json       every IAM, key, bucket, topic and secret policy document
//   <out>/<stack>/machines/*       state machine definitions and their diagrams
//   <out>/<stack>/SUMMARY.md       counts by type, components and children, a Mermaid diagram
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { knownStacks, PROJECT_ROOT, ProgramResource, ProgramRun, runProgram } from "./program";

export const SECRET = "[secret]";

/** Command-line arguments. */
export interface SynthArgs {
    stacks: string[];
    out: string;
    sets: string[];
}

/** Parses argv; an unknown stack lists the known ones. Exported for testing. */
export function parseArgs(argv: string[], known = knownStacks()): SynthArgs {
    const args: SynthArgs = { stacks: [], out: path.join(PROJECT_ROOT, "out"), sets: [] };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        const need = () => {
            if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value`);
            i++;
            return value;
        };
        if (flag === "--stack" || flag === "-s") args.stacks.push(need());
        else if (flag === "--out") args.out = path.resolve(need());
        else if (flag === "--set") args.sets.push(need());
        else throw new Error(`Unknown argument ${flag}. Usage: npm run synth -- [--stack <name>] [--out <dir>] [--set key=value ...]`);
    }
    for (const s of args.stacks) {
        if (!known.includes(s)) throw new Error(`Unknown stack "${s}": there is no Pulumi.${s}.yaml. Known stacks: ${known.join(", ")}`);
    }
    if (args.stacks.length === 0) args.stacks = known;
    return args;
}

/** JSON with sorted keys and a trailing newline: stable across runs. */
export function stableJson(v: unknown): string {
    const sort = (x: unknown): unknown => {
        if (Array.isArray(x)) return x.map(sort);
        if (x && typeof x === "object") {
            return Object.fromEntries(
                Object.keys(x as object)
                    .sort()
                    .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
            );
        }
        return x;
    };
    return JSON.stringify(sort(v), null, 2) + "\n";
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** Resolves assets inside inputs to content hashes, so a code change shows up as a diff. */
async function resolveAssets(v: unknown): Promise<unknown> {
    if (v instanceof pulumi.asset.StringAsset) {
        const text = await new Promise<string>((r) => pulumi.output((v as any).text as pulumi.Input<string>).apply((t) => r(t)));
        return { asset: "text", sha256: sha256(text), bytes: Buffer.byteLength(text) };
    }
    if (v instanceof pulumi.asset.FileAsset) {
        const p = await new Promise<string>((r) => pulumi.output((v as any).path as pulumi.Input<string>).apply((t) => r(t)));
        return { asset: "file", path: path.relative(PROJECT_ROOT, p) };
    }
    if (v instanceof pulumi.asset.AssetArchive) {
        const assets = await new Promise<Record<string, unknown>>((r) => pulumi.output((v as any).assets as pulumi.Input<Record<string, unknown>>).apply((t) => r(t as Record<string, unknown>)));
        const out: Record<string, unknown> = {};
        for (const [k, a] of Object.entries(assets)) out[k] = await resolveAssets(a);
        return { archive: out };
    }
    if (Array.isArray(v)) return Promise.all(v.map(resolveAssets));
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return SECRET;
        const entries = await Promise.all(Object.entries(o).map(async ([k, x]) => [k, await resolveAssets(x)] as const));
        return Object.fromEntries(entries);
    }
    return v;
}

/** Replaces every occurrence of a secret config value in rendered inputs. */
export function maskSecrets(v: unknown, secrets: string[]): unknown {
    if (secrets.length === 0) return v;
    if (typeof v === "string") return secrets.some((s) => s && v.includes(s)) ? SECRET : v;
    if (Array.isArray(v)) return v.map((x) => maskSecrets(x, secrets));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, maskSecrets(x, secrets)]));
    return v;
}

/** Which input of which resource type holds a policy document, and what to call the file. */
export const POLICY_FIELDS: Record<string, { field: string; kind: string }[]> = {
    "aws:iam/role:Role": [{ field: "assumeRolePolicy", kind: "trust" }],
    "aws:iam/rolePolicy:RolePolicy": [{ field: "policy", kind: "role-policy" }],
    "aws:iam/policy:Policy": [{ field: "policy", kind: "policy" }],
    "aws:kms/key:Key": [{ field: "policy", kind: "key-policy" }],
    "aws:kms/replicaKey:ReplicaKey": [{ field: "policy", kind: "key-policy" }],
    "aws:s3/bucketPolicy:BucketPolicy": [{ field: "policy", kind: "bucket-policy" }],
    "aws:sns/topicPolicy:TopicPolicy": [{ field: "policy", kind: "topic-policy" }],
    "aws:sns/topic:Topic": [{ field: "policy", kind: "topic-policy" }],
    "aws:sqs/queuePolicy:QueuePolicy": [{ field: "policy", kind: "queue-policy" }],
    "aws:secretsmanager/secretPolicy:SecretPolicy": [{ field: "policy", kind: "secret-policy" }],
};

function parseJson(s: unknown): unknown {
    if (typeof s !== "string") return s;
    try {
        return JSON.parse(s);
    } catch {
        return s;
    }
}

/** Policy documents keyed by file name. */
export function policyFiles(resources: ProgramResource[]): Map<string, unknown> {
    const files = new Map<string, unknown>();
    for (const r of resources) {
        for (const { field, kind } of POLICY_FIELDS[r.type] ?? []) {
            const doc = r.inputs[field];
            if (doc === undefined || doc === null || doc === "") continue;
            let file = `${r.name}.${kind}.json`;
            for (let n = 2; files.has(file); n++) file = `${r.name}.${kind}.${n}.json`;
            files.set(file, parseJson(doc));
        }
    }
    return files;
}

/** A Mermaid state diagram of an ASL definition (states, Next, Choices, Default, Catch). */
export function aslDiagram(definition: any): string {
    const lines = ["stateDiagram-v2"];
    const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
    const walk = (def: any, prefix: string) => {
        if (!def?.States) return;
        lines.push(`    [*] --> ${prefix}${id(def.StartAt)}`);
        for (const [name, st] of Object.entries<any>(def.States)) {
            const from = `${prefix}${id(name)}`;
            if (st.Next) lines.push(`    ${from} --> ${prefix}${id(st.Next)}`);
            for (const c of st.Choices ?? []) if (c.Next) lines.push(`    ${from} --> ${prefix}${id(c.Next)}: choice`);
            if (st.Default) lines.push(`    ${from} --> ${prefix}${id(st.Default)}: default`);
            for (const c of st.Catch ?? []) lines.push(`    ${from} --> ${prefix}${id(c.Next)}: ${[].concat(c.ErrorEquals).join(", ")}`);
            if (st.End || st.Type === "Succeed" || st.Type === "Fail") lines.push(`    ${from} --> [*]`);
        }
    };
    walk(definition, "");
    return lines.join("\n");
}

/** SUMMARY.md: counts by type, components and their children, a Mermaid diagram. */
/**
 * Every schedule of the stack and whether it runs: a schedule that is off makes nothing new
 * (no backups, copies or restore tests), so the summary says so where a reviewer looks.
 */
export function scheduleLines(run: ProgramRun): string[] {
    const rules = run.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.inputs.scheduleExpression);
    if (rules.length === 0) return [];
    const off = rules.filter((r) => r.inputs.state === "DISABLED");
    const out = ["## Schedules", "", "| schedule | expression | state |", "|---|---|---|"];
    for (const r of rules) out.push(`| ${r.inputs.name ?? r.name} | \`${r.inputs.scheduleExpression}\` | ${r.inputs.state === "DISABLED" ? "**OFF**: nothing new is made" : "on"} |`);
    out.push("");
    if (off.length > 0) out.push(`${off.length} of ${rules.length} schedules are off: ${off.map((r) => r.inputs.name ?? r.name).join(", ")}.`, "");
    return out;
}

export function summary(run: ProgramRun): string {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const counts = new Map<string, number>();
    for (const r of run.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    const components = run.resources.filter((r) => !r.custom && r.type.startsWith("pilotlight:"));
    const label = (r: ProgramResource) => `${r.name} (${r.type})`;
    const nodeId = (r: ProgramResource) => `n${run.resources.indexOf(r)}`;
    const out: string[] = [];
    out.push(`# Stack \`${run.stack}\``, "");
    for (const key of ["role", "sameAccount", "vpcId", "mediaBucket", "failover", "databaseSource", "databaseRestoredFrom", "appUrl", "dnsRecord", "dnsFailoverRole"]) {
        if (run.outputs[key] !== undefined) out.push(`- ${key}: \`${JSON.stringify(run.outputs[key])}\``);
    }
    out.push(`- resources: ${run.resources.length}`, "");
    out.push("## Resources by type", "", "| type | count |", "|---|---|");
    for (const [t, n] of [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) out.push(`| \`${t}\` | ${n} |`);
    out.push("", "## Components", "");
    for (const c of components) {
        const parent = c.parent ? byUrn.get(c.parent) : undefined;
        out.push(`### ${label(c)}${parent ? ` in ${parent.name}` : ""}`, "");
        const children = run.resources.filter((r) => r.parent === c.urn);
        for (const ch of children) out.push(`- ${ch.custom ? "" : "**"}${ch.name}${ch.custom ? "" : "**"} \`${ch.type}\``);
        out.push("");
    }
    out.push("## Diagram", "", "```mermaid", "graph TD", `    stack["stack ${run.stack}"]`);
    for (const c of components) {
        out.push(`    ${nodeId(c)}["${c.name}<br/>${c.type}"]`);
        const parent = c.parent ? byUrn.get(c.parent) : undefined;
        out.push(`    ${parent && !parent.custom ? nodeId(parent) : "stack"} --> ${nodeId(c)}`);
    }
    out.push("```", "");
    const machines = run.resources.filter((r) => r.type === "aws:sfn/stateMachine:StateMachine");
    if (machines.length > 0) {
        out.push("## State machines", "");
        for (const m of machines) out.push(`- [${m.name}](machines/${m.name}.md)`);
        out.push("");
    }
    out.push(...scheduleLines(run));
    return out.join("\n");
}

/** Renders one run into files (name -> content). Pure apart from asset hashing. */
export async function renderRun(run: ProgramRun, secretValues: string[] = []): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    const resources = [];
    for (const r of run.resources) {
        const inputs = maskSecrets(await resolveAssets(r.inputs), secretValues) as Record<string, unknown>;
        const parent = r.parent ? run.resources.find((p) => p.urn === r.parent) : undefined;
        resources.push({ type: r.type, name: r.name, urn: r.urn, parent: parent ? `${parent.type}::${parent.name}` : null, inputs });
    }
    files.set("resources.json", stableJson(resources));
    for (const [file, doc] of policyFiles(run.resources)) files.set(`iam/${file}`, stableJson(doc));
    for (const m of run.resources.filter((r) => r.type === "aws:sfn/stateMachine:StateMachine")) {
        const def = parseJson(m.inputs.definition);
        files.set(`machines/${m.name}.asl.json`, stableJson(def));
        files.set(`machines/${m.name}.md`, `# State machine \`${m.name}\`\n\n\`\`\`mermaid\n${aslDiagram(def)}\n\`\`\`\n`);
    }
    files.set("SUMMARY.md", summary(run));
    files.set("outputs.json", stableJson(maskSecrets(run.outputs, secretValues)));
    return files;
}

/** Synthesizes each stack into `<out>/<stack>/`, replacing what was there. Returns the folders. */
export async function synth(args: SynthArgs): Promise<string[]> {
    const dirs: string[] = [];
    for (const stack of args.stacks) {
        const run = await runProgram(stack, { sets: args.sets });
        const files = await renderRun(run);
        const dir = path.join(args.out, stack);
        fs.rmSync(dir, { recursive: true, force: true });
        for (const [name, content] of files) {
            const file = path.join(dir, name);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, content);
        }
        dirs.push(dir);
    }
    return dirs;
}

if (require.main === module) {
    (async () => {
        const args = parseArgs(process.argv.slice(2));
        const dirs = await synth(args);
        for (const d of dirs) {
            const n = fs.readdirSync(d, { recursive: true }).length;
            console.log(`${path.relative(process.cwd(), d) || "."}/  (${n} files; start with SUMMARY.md)`);
        }
    })().catch((e: Error) => {
        console.error(`synth failed: ${e.message}`);
        process.exit(1);
    });
}
