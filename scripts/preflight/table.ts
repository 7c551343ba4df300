// The result as a plain-text table: check, status, what was found, what to do.
import { CheckResult } from "./types";

const HEADERS = ["check", "status", "found", "what to do"] as const;

/** Renders rows as an aligned table; the last column is not padded. Exported for testing. */
export function renderTable(rows: CheckResult[]): string {
    const cells = rows.map((r) => [r.check, r.status.toUpperCase(), r.detail, r.action]);
    const widths = HEADERS.slice(0, 3).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: readonly string[]) => c.map((v, i) => (i < 3 ? v.padEnd(widths[i]) : v)).join("  ").trimEnd();
    return [line(HEADERS), line(widths.map((w) => "-".repeat(w)).concat("-".repeat(10))), ...cells.map(line)].join("\n") + "\n";
}

/** Exit code: 1 when any row would break a failover, else 0. */
export function exitCode(rows: CheckResult[]): number {
    return rows.some((r) => r.status === "fail") ? 1 : 0;
}

/** One line under the table. */
export function verdict(rows: CheckResult[]): string {
    if (rows.length === 1 && rows[0].check === "credentials" && rows[0].status === "fail") return "Nothing else was checked: these credentials cannot check this stack.";
    const fails = rows.filter((r) => r.status === "fail").length;
    const warns = rows.filter((r) => r.status === "warn").length;
    return fails > 0 ? `${fails} check(s) FAIL: a failover now would break; fix them first.` : `No check fails${warns ? ` (${warns} warning(s))` : ""}: what the runbook assumes holds now.`;
}
