// The pure backup and copy logic (functions/lib/backup.ts) at the edges a regression would slip
// through: names retention relies on, copy-side retention, the copy message between accounts.
import * as assert from "assert";
import {
    BACKUP_JOB,
    copyExecutionName,
    CopyCandidate,
    isRunSnapshotName,
    jobTags,
    parseCopyMessage,
    parseSnapshotArn,
    selectCopySnapshotsToPrune,
    selectLatestCopy,
    sharedKeyCopyName,
    versionIdentifier,
    versionOf,
} from "../functions/lib/backup";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";

const invalid = (re: RegExp) => (e: Error) => e.name === "InvalidInputError" && re.test(e.message);

describe("backup logic: names retention relies on", () => {
    it("a run snapshot's name is the identifier, the job's infix and exactly a timestamp (an operator's name with a timestamp inside is not one)", () => {
        assert.strictEqual(isRunSnapshotName(BACKUP_JOB, "app", "app-bk-before-upgrade-20260101000000"), false);
        assert.strictEqual(isRunSnapshotName(BACKUP_JOB, "app", "app-bk-x20260101000000-sk"), false);
        assert.strictEqual(isRunSnapshotName(BACKUP_JOB, "app", "app-bk-20260101000000"), true);
    });

    it("the shared-key copy of a snapshot and the tags of a job's snapshots", () => {
        assert.strictEqual(sharedKeyCopyName("app-bk-20260101000000"), "app-bk-20260101000000-sk");
        assert.deepStrictEqual(jobTags(BACKUP_JOB, "app"), [
            { Key: CREATED_BY_TAG, Value: BACKUP_JOB },
            { Key: SOURCE_TAG, Value: "app" },
        ]);
        assert.strictEqual(versionIdentifier("app", 7), "app-v7");
    });

    it("a final snapshot has no version unless finals are asked for", () => {
        assert.strictEqual(versionOf("app", "app-v3-final"), undefined);
        assert.strictEqual(versionOf("app", "app-v3-final", true), 3);
    });

    it("another database's copies never count as versions, even with a name of the same length", () => {
        assert.strictEqual(versionOf("app", "api-v7"), undefined);
        assert.strictEqual(versionOf("app", "app-v1-2"), undefined);
        assert.strictEqual(versionOf("app", "app-vx1"), undefined);
    });
});

describe("backup logic: target-side snapshot retention", () => {
    const snap = (identifier: string, pilotlight = true, status = "available") => ({ identifier, status, pilotlight });

    it("never a snapshot pilotlight did not make, even under a copy's name and older than every retained copy", () => {
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", [snap("app-v1", false), snap("app-v1-final", false), snap("app-v2")], ["app-v3"], ["app-v3"]), ["app-v2"]);
    });

    it("a snapshot between two retained copies stays: only versions older than every retained copy go", () => {
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", [snap("app-v1"), snap("app-v3"), snap("app-v3-final")], ["app-v2", "app-v4"], ["app-v2", "app-v4"]), ["app-v1"]);
    });

    it("a retained identifier that is not a version of the name does not stop retention", () => {
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", [snap("app-v1")], ["app-v3", "app-blue"], ["app-v3", "app-blue"]), ["app-v1"]);
    });
});

describe("backup logic: the copy message", () => {
    const expect = { sourceAccount: "111111111111", sourceIdentifier: "app", region: "us-west-2" };
    const ARN = "arn:aws:rds:us-west-2:111111111111:snapshot:app-cp-20260101000000";
    const good = { snapshotArn: ARN, sourceIdentifier: "app", engine: "postgres", createdAt: "2026-01-01T00:00:00Z" };

    it("accepts a good message, as an object or as JSON", () => {
        assert.deepStrictEqual(parseCopyMessage(good, expect), good);
        assert.deepStrictEqual(parseCopyMessage(JSON.stringify(good), expect), good);
    });

    it("a snapshot ARN is parsed into its parts; anything else is undefined", () => {
        assert.deepStrictEqual(parseSnapshotArn(ARN), { partition: "aws", region: "us-west-2", account: "111111111111", id: "app-cp-20260101000000" });
        assert.strictEqual(parseSnapshotArn("app-cp-20260101000000"), undefined);
        assert.strictEqual(parseSnapshotArn("arn:aws:rds:us-west-2:111111111111:db:app"), undefined);
    });

    it("a message that is not JSON is refused with at most 200 characters of it", () => {
        assert.throws(
            () => parseCopyMessage(`{${"x".repeat(400)}`, expect),
            (e: Error) => invalid(/copy message is not JSON: \{x+$/)(e) && !e.message.includes("x".repeat(200)),
        );
    });

    for (const raw of [null, 7, "7", "null", true]) {
        it(`a message that is not an object (${JSON.stringify(raw)}) is refused as such`, () => {
            assert.throws(() => parseCopyMessage(raw, expect), invalid(/copy message must be an object with snapshotArn, sourceIdentifier, engine, createdAt/));
        });
    }

    const bad: [string, Record<string, unknown>, RegExp][] = [
        ["an ARN inside a list", { snapshotArn: [ARN] }, /snapshotArn \[".*"\] is not an RDS snapshot ARN/],
        ["an engine that is not a string", { engine: 7 }, /engine 7 is not an RDS engine name/],
        ["an engine with other characters at its end", { engine: "postgres;drop" }, /engine "postgres;drop" is not an RDS engine name/],
        ["an engine with other characters at its start", { engine: "Postgres postgres" }, /engine "Postgres postgres" is not an RDS engine name/],
        ["a time that is not a time", { createdAt: "yesterday" }, /createdAt "yesterday" is not an ISO timestamp/],
        ["a time inside a list", { createdAt: ["2026-01-01T00:00:00Z"] }, /createdAt \["2026-01-01T00:00:00Z"\] is not an ISO timestamp/],
    ];
    for (const [what, change, re] of bad) {
        it(`refuses ${what}`, () => assert.throws(() => parseCopyMessage({ ...good, ...change }, expect), invalid(re)));
    }

    it("an execution name needs a snapshot ARN", () => {
        assert.throws(() => copyExecutionName("app-cp-20260101000000"), invalid(/app-cp-20260101000000 is not an RDS snapshot ARN/));
    });
});

describe("backup logic: latestCopy", () => {
    const want = { sourceIdentifier: "app", owner: "111111111111", region: "us-west-2" };
    const candidate = (id: string, over: Partial<CopyCandidate> = {}): CopyCandidate => ({
        identifier: id,
        arn: `arn:aws:rds:us-west-2:111111111111:snapshot:${id}`,
        databaseIdentifier: "app",
        status: "available",
        takenAt: "2026-01-01T00:00:00Z",
        ...over,
    });

    it("two snapshots taken at the same time: the same one is chosen whatever the order of the lookup", () => {
        const a = candidate("app-bk-a");
        const b = candidate("app-bk-b");
        assert.strictEqual(selectLatestCopy([a, b], want).identifier, "app-bk-b");
        assert.strictEqual(selectLatestCopy([b, a], want).identifier, "app-bk-b");
    });

    it("an ARN with anything before `arn:` is not an ARN", () => {
        const list = [candidate("old"), candidate("new", { arn: "x-arn:aws:rds:us-west-2:111111111111:snapshot:new", takenAt: "2026-02-01T00:00:00Z" })];
        assert.strictEqual(selectLatestCopy(list, want).identifier, "old");
    });
});
