// @ts-nocheck
import * as assert from "assert";
import { copyTargetDefinition } from "../components/machines/copyTarget";
import { imageMachineDefinition, machineTimeout, snapshotMachineDefinition } from "../components/machines/snapshotMachine";
import { BACKUP_JOB, copyExecutionName, nextVersion, runSnapshotName, selectCopiesToPrune, selectCopySnapshotsToPrune, versionOf } from "../functions/lib/backup";
import { SnapshotInfo, selectSnapshotsToPrune } from "../functions/lib/rds";
import { CREATED_BY_TAG } from "../functions/lib/tags";

function snap(identifier: string, day: number, createdBy?: string, status = "available"): SnapshotInfo {
    return {
        identifier,
        databaseIdentifier: "app",
        status,
        arn: `arn:aws:rds:us-east-1:111111111111:snapshot:${identifier}`,
        createdAt: `2026-01-${String(day).padStart(2, "0")}T00:00:00Z`,
        type: "manual",
        tags: createdBy ? [{ Key: CREATED_BY_TAG, Value: createdBy }] : [],
    };
}

describe("backup and copy logic", () => {
    const retention: { name: string; snapshots: SnapshotInfo[]; keep: number; deleted: string[] }[] = [
        { name: "nothing beyond keep", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 2, BACKUP_JOB)], keep: 2, deleted: [] },
        { name: "the oldest beyond keep", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 2, deleted: ["a"] },
        { name: "never the newest, even with keep 1", snapshots: [snap("a", 1, BACKUP_JOB), snap("b", 9, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["c", "a"] },
        { name: "never a manual snapshot", snapshots: [snap("m", 1), snap("a", 2, BACKUP_JOB), snap("b", 3, BACKUP_JOB)], keep: 1, deleted: ["a"] },
        { name: "never another job's snapshot", snapshots: [snap("r", 1, "restore-machine"), snap("x", 1, "copy-source"), snap("a", 2, BACKUP_JOB), snap("b", 3, BACKUP_JOB)], keep: 1, deleted: ["a"] },
        { name: "never one still creating or deleting", snapshots: [snap("a", 1, BACKUP_JOB, "creating"), snap("d", 1, BACKUP_JOB, "deleting"), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["b"] },
        { name: "a newer creating one does not count towards keep", snapshots: [snap("new", 9, BACKUP_JOB, "creating"), snap("b", 2, BACKUP_JOB), snap("c", 3, BACKUP_JOB)], keep: 1, deleted: ["b"] },
    ];
    for (const t of retention) {
        it(`snapshot retention: ${t.name}`, () => {
            assert.deepStrictEqual(selectSnapshotsToPrune(t.snapshots, t.keep, BACKUP_JOB).map((s) => s.identifier), t.deleted);
        });
    }

    it("rejects a keep below 1", () => {
        assert.throws(() => selectSnapshotsToPrune([], 0, BACKUP_JOB), /keep must be an integer >= 1, got 0/);
        assert.throws(() => selectCopiesToPrune("app", [], 0, undefined), /keep must be an integer >= 1, got 0/);
    });

    const versions: [string, string, boolean, number | undefined][] = [
        ["app", "app-v1", false, 1],
        ["app", "app-v12", false, 12],
        ["app", "app-v12-final", false, undefined],
        ["app", "app-v12-final", true, 12],
        ["app", "app-v0", false, undefined],
        ["app", "app-v01", false, undefined],
        ["app", "app-va", false, undefined],
        ["app", "appx-v1", false, undefined],
        ["app", "app-db-v3", false, undefined],
        ["app-db", "app-db-v3", false, 3],
    ];
    for (const [name, id, final, expected] of versions) {
        it(`version of ${id} under ${name}${final ? " (finals allowed)" : ""} is ${expected}`, () => assert.strictEqual(versionOf(name, id, final), expected));
    }

    it("numbers from the highest existing version, ignoring gaps and other names", () => {
        assert.strictEqual(nextVersion("app", []), 1);
        assert.strictEqual(nextVersion("app", ["app-v1", "app-v3", "other-v9", "app-v2-final"]), 4);
        assert.strictEqual(nextVersion("app", ["app-v7"]), 8);
    });

    const copies: { name: string; instances: [string, string, boolean][]; keep: number; pointed?: string; deleted: string[] }[] = [
        { name: "keeps the newest by version, not by name order", instances: [["app-v9", "available", true], ["app-v10", "available", true], ["app-v8", "available", true]], keep: 2, pointed: "app-v10", deleted: ["app-v8"] },
        { name: "never the instance the secret points at", instances: [["app-v1", "available", true], ["app-v2", "available", true], ["app-v3", "available", true]], keep: 1, pointed: "app-v1", deleted: ["app-v2"] },
        { name: "never one pilotlight did not create", instances: [["app-v1", "available", false], ["app-v2", "available", true], ["app-v3", "available", true]], keep: 1, pointed: "app-v3", deleted: ["app-v2"] },
        { name: "never other instances", instances: [["app", "available", true], ["app-db-v1", "available", true], ["app-v2", "available", true]], keep: 1, deleted: [] },
        { name: "never one not available", instances: [["app-v1", "deleting", true], ["app-v2", "creating", true], ["app-v3", "available", true]], keep: 1, deleted: [] },
        { name: "nothing before the first secret value", instances: [["app-v1", "available", true]], keep: 2, deleted: [] },
    ];
    for (const t of copies) {
        it(`copy retention: ${t.name}`, () => {
            const list = t.instances.map(([identifier, status, pilotlight]) => ({ identifier, status, pilotlight }));
            assert.deepStrictEqual(selectCopiesToPrune("app", list, t.keep, t.pointed), t.deleted);
        });
    }

    it("target snapshots go only when older than every retained copy and their instance is gone", () => {
        const snaps = [
            { identifier: "app-v1", status: "available", pilotlight: true },
            { identifier: "app-v1-final", status: "available", pilotlight: true },
            { identifier: "app-v2", status: "available", pilotlight: true },
            { identifier: "app-v2-final", status: "creating", pilotlight: true },
            { identifier: "app-v3", status: "available", pilotlight: true },
            { identifier: "app-v0-manual", status: "available", pilotlight: false },
            { identifier: "app-v1x", status: "available", pilotlight: true },
        ];
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, ["app-v3", "app-v4"], ["app-v3", "app-v4"]), ["app-v1", "app-v1-final", "app-v2"]);
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, ["app-v3"], ["app-v1", "app-v3"]), ["app-v2"], "v1 is still being deleted");
        assert.deepStrictEqual(selectCopySnapshotsToPrune("app", snaps, [], []), [], "without a retained copy nothing goes");
    });

    it("names a run's snapshots and executions deterministically", () => {
        assert.strictEqual(runSnapshotName(BACKUP_JOB, "app", "2026-03-04T05:06:07.890Z"), "app-bk-20260304050607");
        assert.strictEqual(runSnapshotName("copy-source", "app", "2026-03-04T05:06:07.890Z"), "app-cp-20260304050607");
        assert.strictEqual(copyExecutionName("arn:aws:rds:us-west-2:111111111111:snapshot:app-cp-20260304050607"), "copy-app-cp-20260304050607");
        assert.ok(copyExecutionName(`arn:aws:rds:us-west-2:111111111111:snapshot:${"a".repeat(200)}`).length <= 80);
    });
});

describe("machineTimeout", () => {
    const o = { pollIntervalSeconds: 60, maxAttempts: 10 };
    it("defaults to the longest path through the waits plus an hour", () => {
        assert.strictEqual(machineTimeout(o, 3, undefined), 3 * 600 + 3600);
        assert.strictEqual(machineTimeout(o, 2, 5000), 5000);
    });
    it("refuses a timeout that would end the machine before a wait is exhausted", () => {
        assert.throws(() => machineTimeout(o, 2, 1199), /timeoutSeconds 1199 is shorter than the longest path through the waits \(1200 s\)/);
        assert.strictEqual(machineTimeout(o, 2, 1200), 1200);
    });
    it("every backup machine uses it", () => {
        assert.throws(() => snapshotMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { kind: "backup", timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
        assert.throws(() => imageMachineDefinition({ job: "arn:job", alert: "arn:alert" }, { timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
        assert.throws(() => copyTargetDefinition({ job: "arn:job", alert: "arn:alert" }, { timeoutSeconds: 60 }), /timeoutSeconds 60 is shorter/);
    });
});
