/** Reading a Lambda's configuration from its environment, failing loudly when it is missing. */
// @ts-nocheck


export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
    const value = env[name];
    if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
    return value;
}

/** A required positive integer. */
export function requirePositiveIntEnv(name: string, env: NodeJS.ProcessEnv = process.env): number {
    const raw = requireEnv(name, env);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`environment variable ${name} must be a positive integer, got ${raw}`);
    return n;
}

/** A comma-separated list; empty entries dropped. */
export function listEnv(name: string): string[] {
    return (process.env[name] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/** A positive integer, or `fallback` when unset. */
export function intEnv(name: string, fallback: number): number {
    const raw = process.env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`environment variable ${name} must be a positive integer, got '${raw}'`);
    return n;
}
