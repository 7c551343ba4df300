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
        assert.deepStrictEqual(cfg.restore?.databases, [{ identifier: "pilotlight-db", isCluster: false }]);
        assert.strictEqual(cfg.restore?.exportPrefix, "rds-exports");
        assert.deepStrictEqual(cfg.restore?.schedules.map((s) => [s.name, s.enabled]), [["nightly-snapshot", false], ["weekly-refresh", false]]);
        assert.deepStrictEqual(cfg.restore?.schedules[0].input, { identifier: "pilotlight-db", task: "create_snapshot_only", isCluster: false, snapshotIdentifier: undefined });
        assert.strictEqual(cfg.alerts.emailSender, "dr-alerts@example.com");
    });

    it("applies defaults", () => {
        const cfg = parseStackConfig("prod", prodRawConfig({ restore: { databases: ["db1"] } }), "us-east-1");
        assert.deepStrictEqual(cfg.restore, {
            databases: [{ identifier: "db1", isCluster: false }],
            pollIntervalSeconds: 60,
            maxAttempts: 180,
            keepSnapshots: 2,
            notifyOnSuccess: false,
            exportPrefix: undefined,
            schedules: [],
        });
        assert.deepStrictEqual(parseStackConfig("prod", prodRawConfig(), "us-east-1").alerts, { emailRecipients: [] });
    });

    it("reads databases as plain identifiers (RDS instances) or {identifier, isCluster}", () => {
        const databases = ["wordpress", { identifier: "shop", isCluster: true }, { identifier: "blog", isCluster: false }, { identifier: "cart", isCluster: "true" }, { identifier: "crm" }];
        const cfg = parseStackConfig("prod", prodRawConfig({ restore: { databases } }), "us-east-1");
        assert.deepStrictEqual(cfg.restore?.databases, [
            { identifier: "wordpress", isCluster: false },
            { identifier: "shop", isCluster: true },
            { identifier: "blog", isCluster: false },
            { identifier: "cart", isCluster: true },
            { identifier: "crm", isCluster: false },
        ]);
    });

    it("accepts a schedule for a cluster marked isCluster", () => {
        const restore = { databases: [{ identifier: "shop", isCluster: true }], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "shop", task: "create_snapshot_only", isCluster: true } }] };
        assert.deepStrictEqual(problems(prodRawConfig({ restore })), []);
    });

    const bad: [string, RawConfig, RegExp][] = [
        ["no databases", { restore: {} }, /^pilotlight:restore\.databases is missing; expected a list of RDS instance or Aurora cluster identifiers/],
        ["an empty database list", { restore: { databases: [] } }, /^pilotlight:restore\.databases is \[\]; expected at least one identifier/],
        ["an invalid identifier", { restore: { databases: ["Word_Press"] } }, /^pilotlight:restore\.databases\[0\] is "Word_Press"; expected an RDS instance or Aurora cluster identifier: must start with a letter/],
        ["databases that are not a list", { restore: { databases: "wordpress" } }, /^pilotlight:restore\.databases is "wordpress"; expected a list of RDS instance or Aurora cluster identifiers .*\{"identifier": "shop", "isCluster": true\} for a cluster/],
        ["an entry that is neither a string nor a map", { restore: { databases: [42] } }, /^pilotlight:restore\.databases\[0\] is 42; expected an RDS instance identifier such as "wordpress" or \{"identifier": "shop", "isCluster": true\}/],
        ["a map entry without an identifier", { restore: { databases: [{ isCluster: true }] } }, /^pilotlight:restore\.databases\[0\]\.identifier is missing; expected an RDS instance or Aurora cluster identifier, e\.g\. "shop"/],
        ["a map entry with an invalid identifier", { restore: { databases: [{ identifier: "Shop_1", isCluster: true }] } }, /^pilotlight:restore\.databases\[0\]\.identifier is "Shop_1"; expected an RDS instance or Aurora cluster identifier: must start with a letter/],
        ["a map entry with an identifier too long to rename", { restore: { databases: [{ identifier: "a".repeat(42), isCluster: true }] } }, /^pilotlight:restore\.databases\[0\]\.identifier is "a{42}"; expected .*at most 41 characters/],
        ["isCluster as a word", { restore: { databases: [{ identifier: "shop", isCluster: "yes" }] } }, /^pilotlight:restore\.databases\[0\]\.isCluster is "yes"; expected true \(Aurora cluster\) or false \(RDS instance\)/],
        ["a map entry with an unknown key", { restore: { databases: [{ identifier: "shop", cluster: true }] } }, /^pilotlight:restore\.databases\[0\]\.cluster is not a key; did you mean pilotlight:restore\.databases\[0\]\.isCluster\?$/],
        ["a database listed twice", { restore: { databases: ["shop", { identifier: "shop", isCluster: true }] } }, /^pilotlight:restore\.databases\[1\] is \{"identifier":"shop","isCluster":true\}; expected each database once/],
        ["a schedule calling an instance a cluster", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "db1", task: "db_restore", isCluster: true } }] } }, /^pilotlight:restore\.schedules\[0\]\.input\.isCluster is true; expected false: pilotlight:restore\.databases lists 'db1' as an RDS instance/],
        ["a schedule calling a cluster an instance", { restore: { databases: [{ identifier: "shop", isCluster: true }], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "shop", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\[0\]\.input\.isCluster is false; expected true: pilotlight:restore\.databases lists 'shop' as an Aurora cluster/],
        ["keepSnapshots 0", { restore: { databases: ["db1"], keepSnapshots: 0 } }, /^pilotlight:restore\.keepSnapshots is 0; expected a whole number from 1 to 100/],
        ["a bad schedule expression", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "daily", input: { identifier: "db1", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\[0\]\.expression is "daily"; expected an EventBridge schedule/],
        ["a schedule with an unknown task", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "db1", task: "wipe", isCluster: false } }] } }, /^pilotlight:restore\.schedules\[0\]\.input is .*task must be one of create_snapshot_only/],
        ["a schedule for an unmanaged database", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", input: { identifier: "db2", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\[0\]\.input\.identifier is "db2"; expected one of pilotlight:restore\.databases \(db1\)/],
        ["a schedule enabled with a word", { restore: { databases: ["db1"], schedules: [{ name: "n", expression: "rate(1 day)", enabled: "yes", input: { identifier: "db1", task: "db_restore", isCluster: false } }] } }, /^pilotlight:restore\.schedules\[0\]\.enabled is "yes"; expected true or false/],
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
