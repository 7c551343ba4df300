/** Failback's pure logic and its two definitions, table-driven. */
import * as assert from "assert";
import { failbackDefinition, failbackSourceDefinition } from "../components/machines/failback";
import { resolveRestoreOptions } from "../components/machines/restore";
import {
    checkSnapshotArn,
    engineFamily,
    executionArnOf,
    failbackSnapshotName,
    FailbackSettings,
    failbackTimestamp,
    parseRdsSnapshotArn,
    restoreExecutionName,
} from "../functions/lib/failback";
import { assertValidAsl } from "./machineHarness";

const ARNS = { job: "arn:aws:lambda:us-east-1:111111111111:function:pilotlight-failback", alert: "arn:aws:lambda:us-east-1:111111111111:function:pilotlight-alert" };

describe("failback logic", () => {
    it("names the dr snapshot after the execution's start, and reads its timestamp back", () => {
        assert.strictEqual(failbackSnapshotName("pilotlight-db", "2026-03-01T12:34:56.789Z"), "pilotlight-db-fb-20260301123456");
        const table: [string, string, string | undefined][] = [
            ["pilotlight-db", "pilotlight-db-fb-20260301123456", "20260301123456"],
            ["pilotlight-db", "pilotlight-db-fb-20260301123456-sk", undefined],
            ["pilotlight-db", "pilotlight-db-fb-2026030112345", undefined],
            ["pilotlight-db", "pilotlight-db-cp-20260301123456", undefined],
            ["pilotlight-db", "other-db-fb-20260301123456", undefined],
            ["pilotlight", "pilotlight-db-fb-20260301123456", undefined],
        ];
        for (const [db, name, ts] of table) assert.strictEqual(failbackTimestamp(db, name), ts, `${db} ${name}`);
        assert.strictEqual(restoreExecutionName("20260301123456"), "failback-20260301123456");
        assert.strictEqual(
            executionArnOf("arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-restore", "failback-20260301123456"),
            "arn:aws:states:us-east-1:111111111111:execution:pilotlight-restore:failback-20260301123456",
        );
    });

    it("takes snapshot and cluster snapshot ARNs apart, and nothing else", () => {
        assert.deepStrictEqual(parseRdsSnapshotArn("arn:aws:rds:us-west-2:222222222222:cluster-snapshot:pilotlight-db-fb-20260301123456"), {
            partition: "aws",
            region: "us-west-2",
            account: "222222222222",
            kind: "cluster-snapshot",
            id: "pilotlight-db-fb-20260301123456",
        });
        for (const bad of ["pilotlight-db-fb-20260301123456", "arn:aws:rds:us-west-2:222222222222:db:pilotlight-db", "arn:aws:rds:us-west-2:2222:snapshot:x", "arn:aws:rds:us-west-2:222222222222:snapshot:rds:pilotlight-db-2026"]) {
            assert.strictEqual(parseRdsSnapshotArn(bad), undefined, bad);
        }
    });

    it("engine families: editions and the legacy Aurora name are one family, different engines are not", () => {
        const same: [string, string][] = [
            ["postgres", "postgres"],
            ["aurora", "aurora-mysql"],
            ["oracle-ee", "oracle-se2"],
            ["sqlserver-se", "sqlserver-ee"],
        ];
        for (const [a, b] of same) assert.strictEqual(engineFamily(a), engineFamily(b), `${a} ~ ${b}`);
        const different: [string, string][] = [
            ["postgres", "aurora-postgresql"],
            ["mysql", "mariadb"],
            ["mysql", "aurora-mysql"],
            ["aurora-mysql", "aurora-postgresql"],
        ];
        for (const [a, b] of different) assert.notStrictEqual(engineFamily(a), engineFamily(b), `${a} !~ ${b}`);
    });

    it("checks an operator's snapshotArn before any call: kind, region, account and name", () => {
        const s: FailbackSettings = {
            accountId: "111111111111",
            homeRegion: "us-east-1",
            drRegion: "us-west-2",
            drAccountId: "222222222222",
            identifier: "pilotlight-db",
            drIdentifier: "pilotlight-db",
            isCluster: true,
            sharedKeyArn: "k",
            replicaKeyArn: "r",
            restoreMachineArn: "m",
        };
        const good = "arn:aws:rds:us-west-2:222222222222:cluster-snapshot:pilotlight-db-fb-20260301123456";
        assert.strictEqual(checkSnapshotArn(s, good).id, "pilotlight-db-fb-20260301123456");
        const table: [unknown, RegExp][] = [
            [42, /snapshotArn 42 is not an RDS cluster-snapshot ARN/],
            [good.replace("cluster-snapshot", "snapshot"), /is a snapshot, but pilotlight-db is an Aurora cluster/],
            [good.replace("us-west-2", "eu-west-1"), /is in eu-west-1; .* DR region us-west-2/],
            [good.replace("222222222222", "111111111111"), /belongs to account 111111111111; .* dr account 222222222222/],
            [good.replace("-fb-", "-bk-"), /names 'pilotlight-db-bk-20260301123456'/],
        ];
        for (const [arn, message] of table) assert.throws(() => checkSnapshotArn(s, arn), { name: "InvalidInputError", message }, String(arn));
    });

    it("definitions are valid ASL; the source shares only across accounts", () => {
        const cross = failbackSourceDefinition(ARNS);
        const same = failbackSourceDefinition(ARNS, { share: false });
        for (const d of [cross, same, failbackDefinition(ARNS)]) assertValidAsl(d);
        assert.strictEqual((cross.States["SnapshotReady?"] as { Choices: { Next: string }[] }).Choices[0].Next, "Share");
        assert.strictEqual((same.States["SnapshotReady?"] as { Choices: { Next: string }[] }).Choices[0].Next, "Output");
        assert.ok(!("Share" in same.States));
        assert.strictEqual(cross.TimeoutSeconds, 180 * 60 + 3600);
    });

    it("the primary's wait for the restore outlasts the restore machine's own timeout, and the machine's timeout covers every wait", () => {
        const table: { options: Parameters<typeof failbackDefinition>[1]; restoreAttempts: number; timeout: number }[] = [
            // Defaults: the restore machine's default timeout, polled every 60 s.
            { options: {}, restoreAttempts: Math.ceil(resolveRestoreOptions().timeoutSeconds / 60) + 1, timeout: (2 * 180 + Math.ceil(resolveRestoreOptions().timeoutSeconds / 60) + 1) * 60 + 3600 },
            { options: { pollIntervalSeconds: 30, maxAttempts: 10, restoreTimeoutSeconds: 3000 }, restoreAttempts: 101, timeout: (20 + 101) * 30 + 3600 },
            { options: { pollIntervalSeconds: 60, maxAttempts: 5, restoreTimeoutSeconds: 61, timeoutSeconds: 9000 }, restoreAttempts: 3, timeout: 9000 },
        ];
        for (const t of table) {
            const d = failbackDefinition(ARNS, t.options);
            const ready = d.States["RestoreReady?"] as { Choices: { Variable: string; StringEquals?: string; NumericGreaterThanEquals?: number }[] };
            assert.deepStrictEqual(ready.Choices[0], { Variable: "$.status", StringEquals: "SUCCEEDED", Next: "Cleanup" });
            assert.strictEqual(ready.Choices[1].NumericGreaterThanEquals, t.restoreAttempts);
            assert.ok(t.restoreAttempts * (t.options?.pollIntervalSeconds ?? 60) > (t.options?.restoreTimeoutSeconds ?? resolveRestoreOptions().timeoutSeconds));
            assert.strictEqual(d.TimeoutSeconds, t.timeout);
        }
        assert.throws(() => failbackDefinition(ARNS, { maxAttempts: 5, restoreTimeoutSeconds: 600, timeoutSeconds: 600 }), /timeoutSeconds 600 is shorter than the longest path/);
        assert.throws(() => failbackDefinition(ARNS, { restoreTimeoutSeconds: 0 }), /restoreTimeoutSeconds must be a whole number/);
    });
});
