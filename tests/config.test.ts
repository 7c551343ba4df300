import * as assert from "assert";
import { cidrsOverlap, ConfigError, parseCidr, parseStackConfig, RawConfig, rawFromConfigMap } from "../config";
import { readStackConfig } from "./program";

function prodRaw(): RawConfig {
    return {
        role: "primary",
        accountId: "111111111111",
        vpcCidr: "10.10.0.0/16",
        availabilityZones: ["us-east-1a", "us-east-1b"],
        peer: { stack: "dr", accountId: "222222222222", region: "us-west-2", vpcCidr: "10.20.0.0/16" },
    };
}

function drRaw(): RawConfig {
    return {
        role: "dr",
        accountId: "222222222222",
        vpcCidr: "10.20.0.0/16",
        availabilityZones: ["us-west-2a", "us-west-2b"],
        peer: { stack: "prod", accountId: "111111111111", region: "us-east-1", vpcCidr: "10.10.0.0/16" },
    };
}

function problemsOf(stack: string, raw: RawConfig, region: string | undefined): string[] {
    try {
        parseStackConfig(stack, raw, region);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        assert.ok(e.message.startsWith(`Pulumi.${stack}.yaml has`), e.message);
        return e.problems;
    }
    return [];
}

describe("config", () => {
    it("accepts both example stack files as they are", () => {
        for (const stack of ["prod", "dr"]) {
            const { config } = readStackConfig(stack);
            const cfg = parseStackConfig(stack, rawFromConfigMap(config), config["aws:region"]);
            assert.strictEqual(cfg.stack, stack);
        }
        const prod = parseStackConfig("prod", rawFromConfigMap(readStackConfig("prod").config), "us-east-1");
        assert.deepStrictEqual(
            [prod.role, prod.accountId, prod.region, prod.network.vpcCidr, prod.peer.stack, prod.peer.accountId, prod.peer.region],
            ["primary", "111111111111", "us-east-1", "10.10.0.0/16", "dr", "222222222222", "us-west-2"],
        );
        const dr = parseStackConfig("dr", rawFromConfigMap(readStackConfig("dr").config), "us-west-2");
        assert.deepStrictEqual(
            [dr.role, dr.accountId, dr.region, dr.network.vpcCidr, dr.peer.stack, dr.failover],
            ["dr", "222222222222", "us-west-2", "10.20.0.0/16", "prod", false],
        );
    });

    it("applies documented defaults", () => {
        const cfg = parseStackConfig("prod", prodRaw(), "us-east-1");
        assert.strictEqual(cfg.namePrefix, "pilotlight");
        assert.strictEqual(cfg.failover, false);
        assert.deepStrictEqual(cfg.network, { vpcCidr: "10.10.0.0/16", availabilityZones: ["us-east-1a", "us-east-1b"], natGateways: "single", lambdasInVpc: false, appPort: 80 });
        assert.deepStrictEqual(cfg.media, { replicationTimeControl: false, noncurrentVersionDays: 90 });
        assert.deepStrictEqual(cfg.database, { engine: "postgres", port: 5432 });
        assert.strictEqual(parseStackConfig("prod", { ...prodRaw(), database: { engine: "aurora-mysql" } }, "us-east-1").database.port, 3306);
    });

    // Each rule: the change, the stack, and fragments the message must contain (key, bad value, what is right).
    const rules: { rule: string; stack: "prod" | "dr"; change: (r: RawConfig) => void; region?: string; expect: string[] }[] = [
        { rule: "malformed CIDR", stack: "prod", change: (r) => (r.vpcCidr = "10.10.0.0/33"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/33"', "IPv4 CIDR from /16 to /20"] },
        { rule: "CIDR with host bits", stack: "prod", change: (r) => (r.vpcCidr = "10.10.1.0/16"), expect: ["pilotlight:vpcCidr", '"10.10.1.0/16"', "host bits zero"] },
        { rule: "CIDR too small", stack: "prod", change: (r) => (r.vpcCidr = "10.10.0.0/24"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/24"', "/16 to /20"] },
        { rule: "peer CIDR invalid", stack: "prod", change: (r) => ((r.peer as any).vpcCidr = "banana"), expect: ["pilotlight:peer.vpcCidr", '"banana"'] },
        { rule: "same CIDR in both stacks", stack: "prod", change: (r) => ((r.peer as any).vpcCidr = "10.10.0.0/16"), expect: ["pilotlight:vpcCidr", '"10.10.0.0/16"', "must not overlap", "10.10.0.0/16 and 10.20.0.0/16"] },
        { rule: "overlapping CIDRs", stack: "dr", change: (r) => (r.vpcCidr = "10.10.16.0/20"), expect: ["pilotlight:vpcCidr", '"10.10.16.0/20"', "must not overlap the peer's pilotlight:peer.vpcCidr 10.10.0.0/16"] },
        { rule: "peer region equals own region", stack: "prod", change: (r) => ((r.peer as any).region = "us-east-1"), expect: ["pilotlight:peer.region", '"us-east-1"', "other than this stack's own (us-east-1)"] },
        { rule: "own account not 12 digits", stack: "prod", change: (r) => (r.accountId = "11111111111"), expect: ["pilotlight:accountId", '"11111111111"', "12-digit"] },
        { rule: "account as a number", stack: "prod", change: (r) => (r.accountId = 111111111111), expect: ["pilotlight:accountId", "111111111111", "in quotes"] },
        { rule: "peer account not 12 digits", stack: "dr", change: (r) => ((r.peer as any).accountId = "12345"), expect: ["pilotlight:peer.accountId", '"12345"', "12-digit"] },
        { rule: "fewer than 2 AZs", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a"]), expect: ["pilotlight:availabilityZones", '["us-east-1a"]', "2 to 6 availability zones"] },
        { rule: "AZ of another region", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a", "us-west-2b"]), expect: ["pilotlight:availabilityZones", "us-west-2b", "zones of this stack's region us-east-1"] },
        { rule: "duplicate AZ", stack: "prod", change: (r) => (r.availabilityZones = ["us-east-1a", "us-east-1a"]), expect: ["pilotlight:availabilityZones", "each availability zone once"] },
        { rule: "AZs missing", stack: "dr", change: (r) => delete r.availabilityZones, expect: ["pilotlight:availabilityZones is missing", "us-west-2a"] },
        { rule: "unknown role", stack: "prod", change: (r) => (r.role = "secondary"), expect: ["pilotlight:role", '"secondary"', '"primary", "dr"'] },
        { rule: "failover on a primary", stack: "prod", change: (r) => (r.failover = true), expect: ["pilotlight:failover", "true", "only to a dr stack"] },
        { rule: "failover not a boolean", stack: "dr", change: (r) => (r.failover = "yes"), expect: ["pilotlight:failover", '"yes"', "true or false"] },
        { rule: "peer missing", stack: "dr", change: (r) => delete r.peer, expect: ["pilotlight:peer is missing", "stack, accountId, region and vpcCidr"] },
        { rule: "peer names itself", stack: "prod", change: (r) => ((r.peer as any).stack = "prod"), expect: ["pilotlight:peer.stack", '"prod"'] },
        { rule: "bad region", stack: "prod", change: () => undefined, region: "mars-1", expect: ["aws:region", '"mars-1"', "us-east-1"] },
        { rule: "unknown NAT mode", stack: "prod", change: (r) => (r.network = { natGateways: "many" }), expect: ["pilotlight:network.natGateways", '"many"', '"single", "onePerAz"'] },
        { rule: "unknown engine", stack: "prod", change: (r) => (r.database = { engine: "oracle" }), expect: ["pilotlight:database.engine", '"oracle"', '"postgres"'] },
        { rule: "bad name prefix", stack: "prod", change: (r) => (r.namePrefix = "Pilot_Light"), expect: ["pilotlight:namePrefix", '"Pilot_Light"', "lowercase"] },
        { rule: "bad tags", stack: "prod", change: (r) => (r.tags = { team: 7 }), expect: ["pilotlight:tags", "map of string to string"] },
        { rule: "aurora cluster on dr", stack: "dr", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders-aurora" }] }), expect: ["pilotlight:auroraFailover.clusters", '["orders-aurora"]', "primary stack only"] },
        { rule: "aurora clusters not a list", stack: "prod", change: (r) => (r.auroraFailover = { clusters: "orders-aurora" }), expect: ["pilotlight:auroraFailover.clusters", '"orders-aurora"', "list of clusters"] },
        { rule: "aurora cluster identifier", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "orders--aurora" }] }), expect: ["pilotlight:auroraFailover.clusters[0].identifier", '"orders--aurora"', "single hyphens"] },
        { rule: "aurora cluster missing identifier", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ writerClass: "db.r6g.large" }] }), expect: ["pilotlight:auroraFailover.clusters[0].identifier is missing", "Aurora cluster identifier"] },
        { rule: "aurora cluster twice", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1" }, { identifier: "a1" }] }), expect: ["pilotlight:auroraFailover.clusters[1].identifier", '"a1"', "each cluster once"] },
        { rule: "aurora writer class", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", writerClass: "r6g.2xlarge" }] }), expect: ["pilotlight:auroraFailover.clusters[0].writerClass", '"r6g.2xlarge"', "db.r6g.2xlarge"] },
        { rule: "aurora monitoring role of another account", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", monitoringRoleArn: "arn:aws:iam::222222222222:role/rds-monitoring" }] }), expect: ["pilotlight:auroraFailover.clusters[0].monitoringRoleArn", "222222222222", "role in this account", "arn:aws:iam::111111111111:role/rds-monitoring"] },
        { rule: "aurora unknown cluster setting", stack: "prod", change: (r) => (r.auroraFailover = { clusters: [{ identifier: "a1", writer: "db.r6g.large" }] }), expect: ["pilotlight:auroraFailover.clusters[0].writer", "not a known setting"] },
        { rule: "aurora window", stack: "prod", change: (r) => (r.auroraFailover = { windowHours: 0 }), expect: ["pilotlight:auroraFailover.windowHours", "0", "from 1 to 720"] },
        { rule: "aurora afterRecovery", stack: "prod", change: (r) => (r.auroraFailover = { afterRecovery: "shrink" }), expect: ["pilotlight:auroraFailover.afterRecovery", '"shrink"', '"keep", "delete", "resize"'] },
        { rule: "aurora notifyOnSuccess", stack: "prod", change: (r) => (r.auroraFailover = { notifyOnSuccess: "often" }), expect: ["pilotlight:auroraFailover.notifyOnSuccess", '"often"', "true or false"] },
        { rule: "aurora section not a map", stack: "prod", change: (r) => (r.auroraFailover = ["orders-aurora"]), expect: ["pilotlight:auroraFailover", "expected a map with clusters"] },
    ];

    for (const t of rules) {
        it(`rejects ${t.rule}`, () => {
            const raw = t.stack === "prod" ? prodRaw() : drRaw();
            t.change(raw);
            const problems = problemsOf(t.stack, raw, t.region ?? (t.stack === "prod" ? "us-east-1" : "us-west-2"));
            assert.ok(problems.length > 0, "expected the config to be rejected");
            const all = problems.join("\n");
            for (const fragment of t.expect) assert.ok(all.includes(fragment), `message lacks ${JSON.stringify(fragment)}:\n${all}`);
        });
    }

    it("parses the Aurora failover section with its defaults", () => {
        assert.deepStrictEqual(parseStackConfig("prod", prodRaw(), "us-east-1").auroraFailover, { clusters: [], windowHours: 24, afterRecovery: "keep", notifyOnSuccess: true });
        const raw = prodRaw();
        raw.auroraFailover = {
            clusters: [{ identifier: "orders-aurora", writerClass: "db.r6g.2xlarge", monitoringRoleArn: "arn:aws:iam::111111111111:role/rds-monitoring" }, { identifier: "billing" }],
            windowHours: "6",
            afterRecovery: "resize",
            notifyOnSuccess: false,
        };
        assert.deepStrictEqual(parseStackConfig("prod", raw, "us-east-1").auroraFailover, {
            clusters: [{ identifier: "orders-aurora", writerClass: "db.r6g.2xlarge", monitoringRoleArn: "arn:aws:iam::111111111111:role/rds-monitoring" }, { identifier: "billing" }],
            windowHours: 6,
            afterRecovery: "resize",
            notifyOnSuccess: false,
        });
        assert.deepStrictEqual(parseStackConfig("dr", { ...drRaw(), auroraFailover: { clusters: [] } }, "us-west-2").auroraFailover.clusters, []);
    });

    it("reports every problem at once", () => {
        const raw = prodRaw();
        raw.role = "boss";
        raw.accountId = "1";
        (raw.peer as any).region = "us-east-1";
        assert.strictEqual(problemsOf("prod", raw, "us-east-1").length, 3);
    });

    it("accepts a same-account setup", () => {
        const raw = prodRaw();
        (raw.peer as any).accountId = "111111111111";
        assert.strictEqual(parseStackConfig("prod", raw, "us-east-1").peer.accountId, "111111111111");
    });

    it("parses and compares CIDRs", () => {
        assert.deepStrictEqual(parseCidr("10.10.0.0/16"), { base: (10 << 24) + (10 << 16), prefix: 16 });
        for (const bad of ["10.10.0/16", "256.0.0.0/8", "10.0.0.1/16", 42]) assert.strictEqual(parseCidr(bad), undefined, String(bad));
        assert.ok(cidrsOverlap("10.0.0.0/8", "10.20.0.0/16"));
        assert.ok(!cidrsOverlap("10.10.0.0/16", "10.20.0.0/16"));
        assert.ok(cidrsOverlap("10.10.0.0/16", "10.10.255.0/24"));
    });

    it("reads the engine's flat config map without turning account ids into numbers", () => {
        const raw = rawFromConfigMap({ "pilotlight:accountId": "111111111111", "pilotlight:peer": '{"accountId":"222222222222"}', "pilotlight:failover": "true", "aws:region": "us-east-1" });
        assert.deepStrictEqual(raw, { accountId: "111111111111", peer: { accountId: "222222222222" }, failover: "true" });
    });
});
