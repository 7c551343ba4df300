/**
 * Names the restore machine gives to things, derived only from the
 * database identifier and the execution's start time so that every retry of
 * every step computes the same names.
 */
// @ts-nocheck


import { CREATED_BY_TAG } from "./tags";

/** Tag marking snapshots the restore machine created (retention only ever deletes these). */
export const SNAPSHOT_TAG_KEY = CREATED_BY_TAG;
export const SNAPSHOT_TAG_VALUE = "restore-machine";

/** Suffix of a renamed original: `<identifier>-pl-old-<timestamp>`. */
export const OLD_INFIX = "-pl-old-";
/** Infix of the final snapshot of a deleted original: `<identifier>-pl-final-<timestamp>`. */
export const FINAL_INFIX = "-pl-final-";
const MAX_DB_IDENTIFIER = 63;
/** Length of `OLD_INFIX` plus a 14-digit timestamp. */
export const RENAME_SUFFIX_LENGTH = OLD_INFIX.length + 14;
/** Longest identifier whose renamed form still fits RDS's 63-character limit. */
export const MAX_MANAGED_IDENTIFIER = MAX_DB_IDENTIFIER - RENAME_SUFFIX_LENGTH;

/** RDS instance/cluster identifier rules: a letter, then letters, digits, single hyphens; no trailing hyphen. */
const IDENTIFIER_RE = /^[a-z](?:[a-z0-9]|-(?!-))*(?<!-)$/;
/** Snapshot identifiers follow the same character rules, up to 255 characters. */
const MAX_SNAPSHOT_IDENTIFIER = 255;

/** Why `identifier` is not a valid managed database identifier, or undefined if it is. */
export function identifierProblem(identifier: string): string | undefined {
    if (!IDENTIFIER_RE.test(identifier)) {
        return "must start with a letter and contain only lowercase letters, digits and single hyphens, not ending in a hyphen";
    }
    if (identifier.length > MAX_MANAGED_IDENTIFIER) {
        return `must be at most ${MAX_MANAGED_IDENTIFIER} characters so that its temporary name '<identifier>${OLD_INFIX}<timestamp>' fits RDS's ${MAX_DB_IDENTIFIER}`;
    }
    return undefined;
}

/** Why `id` is not a valid snapshot identifier, or undefined if it is. */
export function snapshotIdentifierProblem(id: string): string | undefined {
    if (!IDENTIFIER_RE.test(id) || id.length > MAX_SNAPSHOT_IDENTIFIER) {
        return `must start with a letter, contain only lowercase letters, digits and single hyphens, not end in a hyphen, and be at most ${MAX_SNAPSHOT_IDENTIFIER} characters`;
    }
    return undefined;
}

/** `2026-03-04T05:06:07.890Z` -> `20260304050607` (UTC). */
export function compactTimestamp(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${iso}`);
    return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** Every name one execution uses, fixed at validation time. */
export interface RunNames {
    /** The snapshot `create_snapshot*` takes: `<identifier>-<timestamp>`. */
    newSnapshot: string;
    /** The original's temporary name during a restore. */
    old: string;
    /** Temporary names of cluster members: original member identifier -> temporary name. */
    oldMembers: Record<string, string>;
    /** Final snapshot taken when the renamed original is deleted. */
    finalSnapshot: string;
    /** Export task identifier. */
    exportTask: string;
}

export function runNames(identifier: string, startedAt: string, members: string[] = []): RunNames {
    const ts = compactTimestamp(startedAt);
    const oldMembers: Record<string, string> = {};
    for (const m of members) oldMembers[m] = `${m}${OLD_INFIX}${ts}`;
    return {
        newSnapshot: `${identifier}-${ts}`,
        old: `${identifier}${OLD_INFIX}${ts}`,
        oldMembers,
        finalSnapshot: `${identifier}${FINAL_INFIX}${ts}`,
        // Export task identifiers are limited to 60 characters: 41 + 5 + 14.
        exportTask: `${identifier}-exp-${ts}`,
    };
}
