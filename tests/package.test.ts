/**
 * The components as a package: build the JavaScript and declarations as `npm install` would
 * (`prepare`), install the result beside the example program, type-check the example against the
 * declarations, and run it under Pulumi mocks with plain Node (no TypeScript loader).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { PROJECT_ROOT } from "./program";

const TSC = require.resolve("typescript/bin/tsc");
const EXAMPLE = path.join(PROJECT_ROOT, "examples", "protect-existing-db");

function run(args: string[], cwd: string): string {
    const out = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    if (out.status !== 0) throw new Error(`${args.join(" ")} failed (${out.status}):\n${out.stdout}\n${out.stderr}`);
    return out.stdout;
}

// Plain JavaScript, run by plain Node: mocks that record what the example registers.
const RUNNER = `
const pulumi = require("@pulumi/pulumi");
const resources = [];
pulumi.runtime.setAllConfig({
    "aws:region": "us-east-1",
    "protect-existing-db:accountId": "111111111111",
    "protect-existing-db:database": "orders-db",
    "protect-existing-db:drRegion": "us-west-2",
    "protect-existing-db:sharedKeyArn": "arn:aws:kms:us-east-1:111111111111:key/mrk-1",
    "protect-existing-db:drKeyArn": "arn:aws:kms:us-west-2:111111111111:key/mrk-1",
    "protect-existing-db:alertEmail": "oncall@example.com",
});
pulumi.runtime.setMocks({
    newResource(a) {
        resources.push({ type: a.type, name: a.name, inputs: a.inputs });
        const name = a.inputs.name || a.name;
        return { id: a.name + "-id", state: { ...a.inputs, name, arn: "arn:aws:mock:us-east-1:111111111111:" + a.type.split(":")[1] + ":" + name } };
    },
    call() { return {}; },
}, "protect-existing-db", "dev", false);
(async () => {
    const program = require("./index.js");
    for (const v of Object.values(program)) await new Promise((resolve) => pulumi.output(v).apply(resolve));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    process.stdout.write(JSON.stringify({ resources, typescriptLoaded: Object.keys(require.cache).some((k) => /[\\\\/]ts-node[\\\\/]/.test(k)) }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe("the components as a package (examples/protect-existing-db)", function () {
    this.timeout(300_000);
    let dir: string;
    let result: { resources: { type: string; name: string; inputs: Record<string, any> }[]; typescriptLoaded: boolean };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pilotlight-package-"));
        const modules = path.join(dir, "node_modules");
        const pkg = path.join(modules, "pilotlight");
        fs.mkdirSync(pkg, { recursive: true });
        run([TSC, "-p", "tsconfig.build.json", "--outDir", path.join(pkg, "dist")], PROJECT_ROOT);
        const manifest = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
        fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: manifest.name, version: manifest.version, types: manifest.types, exports: manifest.exports, dependencies: manifest.dependencies }));
        // The package's own dependencies, as npm would have installed them beside it.
        for (const dep of fs.readdirSync(path.join(PROJECT_ROOT, "node_modules"))) {
            if (dep.startsWith(".") || dep === "pilotlight") continue;
            fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules", dep), path.join(modules, dep), "dir");
        }
        const example = path.join(dir, "example");
        fs.mkdirSync(example);
        const source = fs.readFileSync(path.join(EXAMPLE, "index.ts"), "utf8");
        fs.writeFileSync(path.join(example, "index.ts"), source);
        fs.writeFileSync(
            path.join(example, "tsconfig.json"),
            JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true, noEmit: true, types: [] }, files: ["index.ts"] }),
        );
        run([TSC, "-p", "tsconfig.json"], example);
        fs.writeFileSync(path.join(example, "index.js"), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText);
        fs.writeFileSync(path.join(example, "run.js"), RUNNER);
        result = JSON.parse(run(["run.js"], example));
    });
    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("ships JavaScript with type declarations for every exported component", () => {
        const dist = path.join(dir, "node_modules", "pilotlight", "dist");
        for (const f of ["components/index.js", "components/index.d.ts", "components/restoreMachine.d.ts", "functions/restore-validate/index.js"]) {
            assert.ok(fs.existsSync(path.join(dist, f)), f);
        }
        assert.ok(!fs.existsSync(path.join(dist, "index.js")), "the package does not ship (or run) the program");
    });

    it("the example runs with plain Node: alerts, the restore machine and backups for the existing database, nothing that replaces it", () => {
        assert.strictEqual(result.typescriptLoaded, false);
        const types = new Set(result.resources.map((r) => r.type));
        for (const t of ["pilotlight:alerts:Alerts", "aws:sfn/stateMachine:StateMachine", "aws:lambda/function:Function", "aws:sns/topic:Topic"]) assert.ok(types.has(t), t);
        assert.ok(![...types].some((t) => t.startsWith("aws:rds/")), "the example creates or modifies no database");
        const machines = result.resources.filter((r) => r.type === "aws:sfn/stateMachine:StateMachine").map((r) => r.inputs.name).sort();
        assert.deepStrictEqual(machines, ["protect-backup", "protect-restore"]);
        const backup = result.resources.find((r) => r.type === "aws:sfn/stateMachine:StateMachine" && r.inputs.name === "protect-backup")!;
        assert.ok(JSON.parse(backup.inputs.definition).States, "a real definition");
        // The Lambda code was bundled from the package's compiled handlers.
        const fn = result.resources.find((r) => r.type === "aws:lambda/function:Function")!;
        assert.ok(fn.inputs.code, "bundled code");
    });
});
