/** The restore and alerts sections of the stack config. */
import * as assert from "assert";
import { ConfigError, parseStackConfig, RawConfig, rawFromConfigMap } from "../config";
import { prodRawConfig } from "./fixtures";
import { readStackConfig } from "./program";

function problems(raw: RawConfig, stack = "prod", region = "us-east-1"): string[] {
    try {
        parseStackConfig(stack, raw, region);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

describe("config: restore and alerts", () => {
    it("reads the prod stack file's restore machine with its schedules, disabled unless enabled", () => {
        const { config } = readStackConfig("prod");
        const cfg = parseStackConfig("prod", rawFromConfigMap(config), config["aws:region"]);
        assert.deepStrictEqual(cfg.restore?.databases, ["pilotlight-db"]);
        assert.strictEqual(cfg.restore?.exportPrefix, "rds-exports");
        assert.deepStrictEqual(cfg.restore?.schedules.map((s) => [s.name, s.enabled]), [["nightly-snapshot", false], ["weekly-refresh", false]]);
        assert.deepStrictEqual(cfg.restore?.schedules[0].input, { identifier: "pilotlight-db", task: "create_snapshot_only", isCluster: false, snapshotIdentifier: undefined });
        assert.strictEqual(cfg.alerts.emailSender, "dr-alerts@example.com");
    });

    it("applies defaults", () => {
        const cfg = parseStackConfig("prod", prodRawConfig({ restore: { databases: ["db1"] } }), "us-east-1");
        assert.deepStrictEqual(cfg.restore, {
            databases: ["db1"],
            pollIntervalSeconds: 60,
            maxAttempts: 180,
            keepSnapshots: 2,
            notifyOnSuccess: false,
            exportPrefix: undefined,
            schedules: [],
        });
        assert.deepStrictEqual(parseStackConfig("prod", prodRawConfig(), "us-east-1").alerts, { emailSender: undefined, emailRecipients: [] });
    });

    const bad: [string, RawConfig, RegExp][] = [
        ["no databases", { restore: {} }, /^pilotlight:restore\.databases is missing; expected a list of RDS instance or Aurora cluster identifiers/],
        ["an empty database list", { restore: { databases: [] } }, /^pilotlight:restore\.databases is \[\]; expected at least one identifier/],
        ["an invalid identifier", { restore: { databases: ["Word_Press"] } }, /^pilotlight:restore\.databases is \["Word_Press"\]; expected a list/],
        ["keepSnapshots 0", { restore: { databases: ["db1"], keepSnapshots: 0 } }, /^pilotlight:restore\.keepSnapshots is 0; expected a whole number from 1 to 100/],
        ["a bad schedule expression", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "daily", input: { identifier: "db1", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\.0\.expression is "daily"; expected an EventBridge schedule/],
        ["a schedule with an unknown task", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "db1", task: "wipe", isCluster: false } }] } }, /^pilotlight:restore\.schedules\.0\.input is .*task must be one of create_snapshot_only/],
        ["a schedule for an unmanaged database", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "db2", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\.0\.input\.identifier is "db2"; expected one of pilotlight:restore\.databases \(db1\)/],
        ["a schedule enabled with a word", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", enabled: "yes", input: { identifier: "db1", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\.0\.enabled is "yes"; expected true or false/],
        ["recipients without a sender", { alerts: { emailRecipients: ["ops@example.com"] } }, /^pilotlight:alerts\.emailSender is missing; expected a sender address/],
        ["a malformed recipient", { alerts: { emailSender: "a@b.co", emailRecipients: ["not-an-address"] } }, /^pilotlight:alerts\.emailRecipients is \["not-an-address"\]; expected a list of e-mail addresses/],
    ];
    for (const [label, extra, expected] of bad) {
        it(`names the key, the value and the fix for ${label}`, () => {
            const found = problems(prodRawConfig(extra));
            assert.ok(found.some((p) => expected.test(p)), `no problem matched ${expected}: ${JSON.stringify(found)}`);
        });
    }

    it("refuses a restore machine on a dr stack", () => {
        const dr: RawConfig = {
            role: "dr",
            accountId: "222222222222",
            vpcCidr: "10.20.0.0/16",
            availabilityZones: ["us-west-2a", "us-west-2b"],
            peer: { stack: "prod", accountId: "111111111111", region: "us-east-1", vpcCidr: "10.10.0.0/16" },
            restore: { databases: ["db1"] },
        };
        assert.ok(problems(dr, "dr", "us-west-2").some((p) => /^pilotlight:restore is .*runs on the primary stack only/.test(p)));
    });
});
