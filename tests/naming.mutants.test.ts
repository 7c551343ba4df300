/** The names the machines rename and delete by, at the limits RDS sets. */
import * as assert from "assert";
import { compactTimestamp, identifierProblem, MAX_MANAGED_IDENTIFIER, runNames, snapshotIdentifierProblem } from "../functions/lib/naming";

const name = (length: number) => "a".repeat(length);

describe("naming: identifiers at their length limits", () => {
    it("a managed identifier of exactly the longest length is accepted, one longer is not", () => {
        assert.strictEqual(MAX_MANAGED_IDENTIFIER, 63 - "-pl-old-".length - 14);
        assert.strictEqual(identifierProblem(name(MAX_MANAGED_IDENTIFIER)), undefined);
        assert.match(identifierProblem(name(MAX_MANAGED_IDENTIFIER + 1)) ?? "", /at most 41 characters/);
        // Its renamed form is exactly RDS's 63-character limit.
        assert.strictEqual(runNames(name(MAX_MANAGED_IDENTIFIER), "2026-03-04T05:06:07Z").old.length, 63);
    });

    it("a snapshot identifier of 255 characters is accepted, 256 is not", () => {
        assert.strictEqual(snapshotIdentifierProblem(name(255)), undefined);
        assert.match(snapshotIdentifierProblem(name(256)) ?? "", /at most 255 characters/);
        assert.match(snapshotIdentifierProblem("db--1") ?? "", /single hyphens/);
    });
});

describe("naming: timestamps and run names", () => {
    it("a start time that is not a timestamp is refused naming the value", () => {
        assert.throws(() => compactTimestamp("not-a-date"), /not a timestamp: not-a-date/);
    });

    it("without members a run renames no members", () => {
        assert.deepStrictEqual(runNames("db", "2026-03-04T05:06:07.890Z"), {
            newSnapshot: "db-20260304050607",
            old: "db-pl-old-20260304050607",
            oldMembers: {},
            finalSnapshot: "db-pl-final-20260304050607",
            exportTask: "db-exp-20260304050607",
        });
    });
});
