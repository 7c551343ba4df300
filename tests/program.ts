// Runs the real program (index.ts) under Pulumi mocks with a stack's config, and
// returns everything it registered. Used by the component tests and `npm run synth`.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { MockedResource, RecordingMocks } from "./mocks";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const PROJECT = "pilotlight";

/** A registered resource with its place in the tree. */
export interface ProgramResource extends MockedResource {
    urn: string;
    /** URN of the parent (undefined for the stack's direct children). */
    parent?: string;
    /** Custom resource (true) or component (false). */
    custom: boolean;
    /** URNs of the resources named in its `dependsOn` option (sorted). */
    dependsOn: string[];
    /** Its `ignoreChanges` option. */
    ignoreChanges: string[];
    /** Pulumi's `protect` as the engine would receive it (undefined: not set). */
    protect?: boolean;
    /** Pulumi's `retainOnDelete` as the engine would receive it (undefined: not set). */
    retainOnDelete?: boolean;
}

/** The outcome of one run. */
export interface ProgramRun {
    stack: string;
    resources: ProgramResource[];
    outputs: Record<string, unknown>;
    /** Config keys (project-qualified) that are secrets. */
    secretKeys: string[];
    /** Every provider function the program called (data sources): token and provider reference. */
    calls: { token: string; provider?: string }[];
}

/** The one resource of `type` named `name`; fails naming the resources of that type otherwise. */
export function oneResource(run: ProgramRun, type: string, name: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.strictEqual(found.length, 1, `${type} ${name} in ${run.stack}: ${run.resources.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
    return found[0];
}

/** The document of the inline role policy named `name`. */
export function rolePolicyOf(run: ProgramRun, name: string): any {
    return JSON.parse(oneResource(run, "aws:iam/rolePolicy:RolePolicy", name).inputs.policy);
}

/** Names of the stacks that have a Pulumi.<name>.yaml. */
export function knownStacks(dir = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}

/** The flat config map (`ns:key` -> string) of a stack file, and its secret keys. */
export function readStackConfig(stack: string, dir = PROJECT_ROOT): { config: Record<string, string>; secretKeys: string[] } {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`No stack "${stack}": ${path.basename(file)} does not exist. Known stacks: ${knownStacks(dir).join(", ") || "none"}`);
    }
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        if (v && typeof v === "object" && !Array.isArray(v) && "secure" in (v as object)) {
            // Encrypted values cannot be read offline; a stand-in keeps the key set.
            config[k] = "[secret]";
            secretKeys.push(k);
        } else {
            config[k] = typeof v === "string" ? v : JSON.stringify(v);
        }
    }
    return { config, secretKeys };
}

/**
 * Applies `key=value` overrides (`failover=true`, `network.lambdasInVpc=true`,
 * `aws:region=...`). A dotted key sets a field inside a map-valued key; numbers stay strings
 * (account ids must not lose their quotes), config validation reads them.
 */
export function applyOverrides(config: Record<string, string>, sets: string[], project = PROJECT): Record<string, string> {
    const out = { ...config };
    for (const set of sets) {
        const eq = set.indexOf("=");
        if (eq <= 0) throw new Error(`--set ${set}: expected key=value, e.g. failover=true`);
        const rawKey = set.slice(0, eq);
        const value = set.slice(eq + 1);
        const [top, ...rest] = rawKey.split(".");
        const key = top.includes(":") ? top : `${project}:${top}`;
        if (rest.length === 0) {
            out[key] = value;
            continue;
        }
        const obj = out[key] ? JSON.parse(out[key]) : {};
        let cur = obj;
        for (const part of rest.slice(0, -1)) cur = cur[part] ??= {};
        let parsed: unknown = value;
        if (value === "true" || value === "false" || /^[[{]/.test(value)) {
            try {
                parsed = JSON.parse(value);
            } catch {
                parsed = value;
            }
        }
        cur[rest[rest.length - 1]] = parsed;
        out[key] = JSON.stringify(obj);
    }
    return out;
}

// Only the entry point is re-run: components are pure modules, and keeping them
// loaded keeps the esbuild bundle cache (the slow part) across runs.
function clearProjectModules(): void {
    delete require.cache[require.resolve(path.join(PROJECT_ROOT, "index.ts"))];
}

function outputValue(o: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(o)) return new Promise((resolve) => (o as pulumi.Output<unknown>).apply((v) => resolve(v)));
    return Promise.resolve(o);
}

/**
 * The mocks' records keyed by `type::name`, the only key both they and the registered
 * resources carry. Pulumi accepts two resources of one type and name under different
 * parents (their URNs differ), but then the records cannot be told apart: refuse.
 * Exported for testing.
 */
export function recordsByTypeAndName(created: { type: string; name: string }[], records: MockedResource[]): Map<string, MockedResource> {
    const registered = new Set<string>();
    const duplicates = new Set<string>();
    for (const c of created) {
        const key = `${c.type}::${c.name}`;
        if (registered.has(key)) duplicates.add(key);
        registered.add(key);
    }
    if (duplicates.size > 0) {
        throw new Error(
            `two or more resources share a type and logical name, so their inputs cannot be told apart: ${[...duplicates].sort().join(", ")}; give each a distinct name`,
        );
    }
    const byKey = new Map<string, MockedResource>();
    for (const r of records) byKey.set(`${r.type}::${r.name}`, r);
    return byKey;
}

/**
 * What each registration tells the engine about the resource's lifecycle (`protect`,
 * `retainOnDelete`), read from the request itself, keyed by `type::name`. The mocks' own
 * callback does not receive these options.
 */
function recordLifecycleOptions(): Map<string, { protect?: boolean; retainOnDelete?: boolean }> {
    const seen = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, callback: unknown) => unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
        const options: { protect?: boolean; retainOnDelete?: boolean } = {};
        if (req.hasProtect()) options.protect = req.getProtect();
        if (req.hasRetainondelete()) options.retainOnDelete = req.getRetainondelete();
        seen.set(`${req.getType()}::${req.getName()}`, options);
        return register(req, callback);
    };
    return seen;
}

/**
 * Runs index.ts for `stack` with `config` (defaults to the stack file) under mocks.
 * Pulumi records a stack trace for every promise it makes, and source-map support
 * makes each one expensive; stack traces are off while the program runs (error
 * messages are unaffected).
 */
export async function runProgram(stack: string, opts: { config?: Record<string, string>; sets?: string[]; secretKeys?: string[] } = {}): Promise<ProgramRun> {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return await runProgramTraced(stack, opts);
    } finally {
        Error.stackTraceLimit = limit;
    }
}

async function runProgramTraced(stack: string, opts: { config?: Record<string, string>; sets?: string[]; secretKeys?: string[] } = {}): Promise<ProgramRun> {
    const fromFile = opts.config ? { config: opts.config, secretKeys: opts.secretKeys ?? [] } : readStackConfig(stack);
    const config = applyOverrides(fromFile.config, opts.sets ?? []);
    const region = config["aws:region"] ?? "us-east-1";
    const account = (() => {
        try {
            return String(config[`${PROJECT}:accountId`] ?? "111111111111");
        } catch {
            return "111111111111";
        }
    })();
    const mocks = new RecordingMocks(region, account);
    pulumi.runtime.setAllConfig(config, fromFile.secretKeys);
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
    const lifecycle = recordLifecycleOptions();

    const created: { res: pulumi.Resource; type: string; name: string; parent?: pulumi.Resource; dependsOn?: unknown; ignoreChanges?: string[] }[] = [];
    // Known only once the constructor has finished (transformations run inside it).
    const isCustom = (r: pulumi.Resource) => pulumi.CustomResource.isInstance(r) || pulumi.ProviderResource.isInstance(r);
    let program: Record<string, unknown> = {};
    clearProjectModules();
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((a) => {
            created.push({ res: a.resource, type: a.type, name: a.name, parent: a.opts.parent, dependsOn: a.opts.dependsOn, ignoreChanges: a.opts.ignoreChanges });
            return undefined;
        });
        program = require(path.join(PROJECT_ROOT, "index.ts")) as Record<string, unknown>;
        return undefined;
    });

    // Settle: resolve every resource's URN (and every output) until nothing new appears.
    let seen = -1;
    const urns = new Map<pulumi.Resource, string>();
    while (seen !== created.length || mocks.resources.length < created.filter((c) => isCustom(c.res)).length) {
        seen = created.length;
        await Promise.all(created.map(async (c) => urns.set(c.res, (await outputValue(c.res.urn)) as string)));
        await Promise.all(Object.values(program).map(outputValue));
        await new Promise((r) => setImmediate(r));
    }

    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(program)) {
        if (typeof v === "function") continue;
        const value = await outputValue(v);
        if (value !== undefined) outputs[k] = value;
    }

    const dependsOn = new Map<pulumi.Resource, string[]>();
    for (const c of created) {
        const deps = ([] as unknown[]).concat((await outputValue(c.dependsOn)) ?? []);
        const resolved = await Promise.all(deps.map((d) => outputValue(d)));
        dependsOn.set(c.res, resolved.map((d) => urns.get(d as pulumi.Resource) ?? "?").sort());
    }

    const byKey = recordsByTypeAndName(created, mocks.resources);
    const resources: ProgramResource[] = created.map((c) => {
        const mocked = byKey.get(`${c.type}::${c.name}`);
        return {
            type: c.type,
            name: c.name,
            inputs: mocked?.inputs ?? {},
            id: mocked?.id ?? "",
            state: mocked?.state ?? {},
            provider: mocked?.provider,
            urn: urns.get(c.res)!,
            parent: c.parent ? urns.get(c.parent) : undefined,
            custom: isCustom(c.res),
            dependsOn: dependsOn.get(c.res) ?? [],
            ignoreChanges: c.ignoreChanges ?? [],
            ...lifecycle.get(`${c.type}::${c.name}`),
        };
    });
    resources.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const calls = mocks.calls.map((c) => ({ token: c.token, provider: c.provider }));
    return { stack, resources, outputs, secretKeys: fromFile.secretKeys, calls };
}
