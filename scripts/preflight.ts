// `npm run preflight -- --stack <name> [--state <file>] [--max-age-hours <n>]`
// A read-only check, with the operator's AWS credentials, that what the runbook assumes is true
// right now. Prints a table (check, status, what to do) and exits 1 when something would break a
// failover. Only read APIs are called; the IAM policy it needs is in docs/preflight.md.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig, rawFromConfigMap, StackConfig } from "../config";
import { knownStacks, PROJECT, PROJECT_ROOT, readStackConfig } from "../tests/program";
import { runChecks } from "./preflight/checks";
import { readPulumiSettings } from "./preflight/pulumiSettings";
import { exitCode, renderTable, verdict } from "./preflight/table";
import { awsClients, PreflightContext, StateResource } from "./preflight/types";

/** Command-line arguments. */
export interface PreflightArgs {
    stack: string;
    statePath?: string;
    maxAgeHours: number;
}

const USAGE = "Usage: npm run preflight -- --stack <name> [--state <pulumi stack export file>] [--max-age-hours <n>]";

/** Parses argv; bad input names the bad value and what would be right. Exported for testing. */
export function parseArgs(argv: string[], known = knownStacks()): PreflightArgs {
    let stack: string | undefined;
    let statePath: string | undefined;
    let maxAgeHours = 26;
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        const need = () => {
            if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value. ${USAGE}`);
            i++;
            return value;
        };
        if (flag === "--stack" || flag === "-s") stack = need();
        else if (flag === "--state") statePath = need();
        else if (flag === "--max-age-hours") {
            const v = need();
            if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new Error(`--max-age-hours ${v}: expected a positive number of hours, e.g. 26`);
            maxAgeHours = Number(v);
        } else throw new Error(`Unknown argument ${flag}. ${USAGE}`);
    }
    if (!stack) throw new Error(`--stack is required (one of: ${known.join(", ")}). ${USAGE}`);
    if (!known.includes(stack)) throw new Error(`Unknown stack "${stack}": there is no Pulumi.${stack}.yaml. Known stacks: ${known.join(", ")}`);
    return { stack, statePath, maxAgeHours };
}

/** The stack's validated config, read the way the program reads it. */
export function stackConfig(stack: string): StackConfig {
    const { config, secretKeys } = readStackConfig(stack);
    return parseStackConfig(stack, rawFromConfigMap(config, PROJECT), config["aws:region"], PROJECT, (k) => secretKeys.includes(`${PROJECT}:${k}`));
}

/** The resources of `pulumi stack export` output. Exported for testing. */
export function stateResources(exported: string): StateResource[] {
    const doc = JSON.parse(exported) as { deployment?: { resources?: StateResource[] } };
    return doc.deployment?.resources ?? [];
}

/** Reads the deployed state: from a file, else by `pulumi stack export` (read-only). */
function readState(args: PreflightArgs): { state?: StateResource[]; problem?: string } {
    try {
        const text = args.statePath
            ? fs.readFileSync(path.resolve(args.statePath), "utf8")
            : execFileSync("pulumi", ["stack", "export", "--stack", args.stack], { cwd: PROJECT_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
        return { state: stateResources(text) };
    } catch (e) {
        return { problem: args.statePath ? `${args.statePath}: ${(e as Error).message}` : `pulumi stack export failed (${(e as Error).message.split("\n")[0]})` };
    }
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const cfg = stackConfig(args.stack);
    const { state, problem } = readState(args);
    const ctx: PreflightContext = { cfg, clients: awsClients, now: new Date(), maxAgeHours: args.maxAgeHours, state, stateProblem: problem, ...readPulumiSettings(PROJECT_ROOT, args.stack) };
    const rows = await runChecks(ctx);
    process.stdout.write(`preflight ${cfg.stack} (${cfg.role}, account ${cfg.accountId}, ${cfg.region})\n\n${renderTable(rows)}\n${verdict(rows)}\n`);
    return exitCode(rows);
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`${(e as Error).message}\n`);
            process.exit(2);
        },
    );
}
