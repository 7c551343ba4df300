// Typed, validated view of Pulumi.<stack>.yaml. Every rule reports the key, the
// bad value and what would be right; all problems are reported at once.
import * as pulumi from "@pulumi/pulumi";
import { AFTER_RECOVERY, AfterRecovery, clusterIdentifierProblem, isInstanceClass } from "./functions/lib/auroraFailover";

/** The two roles a stack can play. */
export type StackRole = "primary" | "dr";
export const STACK_ROLES: readonly StackRole[] = ["primary", "dr"];

/** Database engines the network opens ports for (and the Database component deploys). */
export type DatabaseEngine = "postgres" | "mysql" | "aurora-postgresql" | "aurora-mysql";
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ["postgres", "mysql", "aurora-postgresql", "aurora-mysql"];

/** The peer stack: the other half of the pilot light. Its resource names are computed from this. */
export interface PeerConfig {
    /** Stack name of the peer (e.g. `dr` for prod). */
    stack: string;
    /** 12-digit AWS account id of the peer. Same as `accountId` for a same-account setup. */
    accountId: string;
    /** Region of the peer; must differ from this stack's region. */
    region: string;
    /** VPC CIDR of the peer; must not overlap this stack's. */
    vpcCidr: string;
}

/** Network settings. */
export interface NetworkConfig {
    /** VPC CIDR, /16 to /20. */
    vpcCidr: string;
    /** Availability zones of this stack's region (at least 2, at most 6). */
    availabilityZones: string[];
    /** `single` NAT gateway (default) or one per AZ (`onePerAz`) when NAT is on. */
    natGateways: "single" | "onePerAz";
    /** Put Lambdas in the app tier with interface endpoints. Defaults to false. */
    lambdasInVpc: boolean;
    /** Port the app instances listen on behind the load balancer. Defaults to 80. */
    appPort: number;
}

/** Media bucket replication settings. */
export interface MediaConfig {
    /** S3 Replication Time Control (15-minute SLA) and its metrics. Defaults to false. */
    replicationTimeControl: boolean;
    /** Days to keep noncurrent object versions. Defaults to 90. */
    noncurrentVersionDays: number;
}

/** The workload database, as far as the network needs it. */
export interface DatabaseConfig {
    /** Engine; decides the port the database security group opens. Defaults to `postgres`. */
    engine: DatabaseEngine;
    /** Port; defaults to the engine's (5432 PostgreSQL, 3306 MySQL). */
    port: number;
}

/** One Aurora cluster whose failovers to a smaller reader the primary repairs. */
export interface AuroraFailoverCluster {
    /** Aurora cluster identifier, e.g. `orders-aurora`. */
    identifier: string;
    /** Intended writer instance class, e.g. `db.r6g.2xlarge`. Defaults to the cluster's `pilotlight:writer-class` tag, read at run time. */
    writerClass?: string;
    /** ARN of the enhanced-monitoring role (in this account) the new reader may be given. Defaults to none: the reader gets no enhanced monitoring. */
    monitoringRoleArn?: string;
}

/** Aurora failover recovery settings (`pilotlight:auroraFailover`). */
export interface AuroraFailoverConfig {
    /** Clusters to watch. Defaults to none (nothing is deployed). */
    clusters: AuroraFailoverCluster[];
    /** At most one recovery per cluster within this many hours. Defaults to 24. */
    windowHours: number;
    /** After a successful recovery: `keep` the demoted smaller instance, `delete` it, or `resize` it to the intended class. Defaults to `keep`. */
    afterRecovery: AfterRecovery;
    /** Alert after a successful recovery too (failures always alert). Defaults to true. */
    notifyOnSuccess: boolean;
}

/** Validates `pilotlight:auroraFailover`. Exported for testing. */
export function parseAuroraFailover(c: Checker, role: StackRole, accountId: string): AuroraFailoverConfig {
    const key = "auroraFailover";
    const raw = c.get(key);
    const out: AuroraFailoverConfig = {
        clusters: [],
        windowHours: c.int(`${key}.windowHours`, 1, 720, 24),
        afterRecovery: c.oneOf(`${key}.afterRecovery`, AFTER_RECOVERY, "keep"),
        notifyOnSuccess: c.bool(`${key}.notifyOnSuccess`, true),
    };
    if (raw === undefined) return out;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        c.fail(key, raw, "expected a map with clusters, windowHours, afterRecovery and notifyOnSuccess");
        return out;
    }
    const clusters = c.get(`${key}.clusters`);
    if (clusters === undefined) return out;
    if (!Array.isArray(clusters)) {
        c.fail(`${key}.clusters`, clusters, 'expected a list of clusters, e.g. [{identifier: orders-aurora, writerClass: db.r6g.2xlarge}]');
        return out;
    }
    if (clusters.length > 0 && role !== "primary") {
        c.fail(`${key}.clusters`, clusters.map((x) => (x as { identifier?: unknown })?.identifier), "Aurora failover recovery runs on the primary stack only; list the clusters in the primary's stack file");
    }
    const seen = new Set<string>();
    clusters.forEach((entry, i) => {
        const at = `${key}.clusters[${i}]`;
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            c.fail(at, entry, "expected a map with identifier and optionally writerClass and monitoringRoleArn");
            return;
        }
        const e = entry as Record<string, unknown>;
        const unknown = Object.keys(e).filter((k) => !["identifier", "writerClass", "monitoringRoleArn"].includes(k));
        if (unknown.length > 0) c.fail(`${at}.${unknown[0]}`, e[unknown[0]], "is not a known setting; expected identifier, writerClass or monitoringRoleArn");
        const problem = clusterIdentifierProblem(e.identifier);
        if (problem) {
            c.fail(`${at}.identifier`, e.identifier, problem);
            return;
        }
        const identifier = e.identifier as string;
        if (seen.has(identifier)) c.fail(`${at}.identifier`, identifier, "expected each cluster once");
        seen.add(identifier);
        if (e.writerClass !== undefined && !isInstanceClass(e.writerClass)) {
            c.fail(`${at}.writerClass`, e.writerClass, "expected an instance class such as db.r6g.2xlarge, or leave it out to use the cluster's pilotlight:writer-class tag");
        }
        const roleRe = new RegExp(`^arn:aws(-cn|-us-gov)?:iam::${accountId}:role/[\\w+=,.@/-]{1,512}$`);
        if (e.monitoringRoleArn !== undefined && (typeof e.monitoringRoleArn !== "string" || !roleRe.test(e.monitoringRoleArn))) {
            c.fail(`${at}.monitoringRoleArn`, e.monitoringRoleArn, `expected the ARN of an IAM role in this account, e.g. arn:aws:iam::${accountId || "111111111111"}:role/rds-monitoring`);
        }
        out.clusters.push({
            identifier,
            ...(typeof e.writerClass === "string" ? { writerClass: e.writerClass } : {}),
            ...(typeof e.monitoringRoleArn === "string" ? { monitoringRoleArn: e.monitoringRoleArn } : {}),
        });
    });
    return out;
}

/** The whole validated stack configuration. */
export interface StackConfig {
    /** Pulumi project name (`pilotlight`). */
    project: string;
    /** This stack's name (e.g. `prod`). */
    stack: string;
    /** `primary` or `dr`. */
    role: StackRole;
    /** Prefix of every physical name; must be the same in both stacks. Defaults to `pilotlight`. */
    namePrefix: string;
    /** This stack's AWS account id. */
    accountId: string;
    /** This stack's region (`aws:region`). */
    region: string;
    /** The peer stack. */
    peer: PeerConfig;
    /** dr only: bring up the failover resources. Defaults to false. */
    failover: boolean;
    network: NetworkConfig;
    media: MediaConfig;
    database: DatabaseConfig;
    /** Aurora failover recovery (primary only). */
    auroraFailover: AuroraFailoverConfig;
    /** Extra tags on every resource. */
    tags: Record<string, string>;
}

/** Thrown when Pulumi.<stack>.yaml is wrong; lists every problem found. */
export class ConfigError extends Error {
    constructor(
        public readonly file: string,
        public readonly problems: string[],
    ) {
        super(`${file} has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** Raw stack config as read from the stack file: keys without the `pilotlight:` namespace. */
export type RawConfig = Record<string, unknown>;

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const PREFIX_RE = /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/;

/** Parses `a.b.c.d/n` into a 32-bit base and prefix; undefined when malformed or not aligned. */
export function parseCidr(cidr: unknown): { base: number; prefix: number } | undefined {
    if (typeof cidr !== "string") return undefined;
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return undefined;
    const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((base & mask) >>> 0 !== base) return undefined;
    return { base, prefix };
}

/** Formats a 32-bit base and prefix as a CIDR. */
export function formatCidr(base: number, prefix: number): string {
    return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${prefix}`;
}

/** True when two valid CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
    const x = parseCidr(a);
    const y = parseCidr(b);
    if (!x || !y) return false;
    const prefix = Math.min(x.prefix, y.prefix);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return (x.base & mask) >>> 0 === (y.base & mask) >>> 0;
}

/** The default port of each engine. */
export function enginePort(engine: DatabaseEngine): number {
    return engine === "mysql" || engine === "aurora-mysql" ? 3306 : 5432;
}

/**
 * Small helper that validates one key at a time and remembers every problem.
 * Exported for the sections other modules add to the config.
 */
export class Checker {
    readonly problems: string[] = [];
    constructor(readonly raw: RawConfig) {}

    /** Records a problem: `pilotlight:<key>` is `<value>`; <what would be right>. */
    fail(key: string, value: unknown, expected: string): void {
        this.problems.push(`pilotlight:${key} is ${show(value)}; ${expected}`);
    }

    /** Reads a nested key like `peer.region`. */
    get(key: string): unknown {
        let v: unknown = this.raw;
        for (const part of key.split(".")) {
            if (v === undefined || v === null || typeof v !== "object") return undefined;
            v = (v as Record<string, unknown>)[part];
        }
        return v;
    }

    string(key: string, expected: string, test: (s: string) => boolean, dflt?: string): string {
        const v = this.get(key);
        if (v === undefined && dflt !== undefined) return dflt;
        if (typeof v !== "string" || !test(v)) {
            this.fail(key, v, expected);
            return dflt ?? "";
        }
        return v;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[], dflt?: T): T {
        const v = this.get(key);
        if (v === undefined && dflt !== undefined) return dflt;
        if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
            this.fail(key, v, `expected one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
            return dflt ?? allowed[0];
        }
        return v as T;
    }

    bool(key: string, dflt: boolean): boolean {
        const v = this.get(key);
        if (v === undefined) return dflt;
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        this.fail(key, v, "expected true or false");
        return dflt;
    }

    int(key: string, min: number, max: number, dflt?: number): number {
        const v = this.get(key);
        if (v === undefined && dflt !== undefined) return dflt;
        const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
            this.fail(key, v, `expected a whole number from ${min} to ${max}`);
            return dflt ?? min;
        }
        return n;
    }

    stringList(key: string, expected: string, test: (s: string) => boolean, dflt?: string[]): string[] {
        const v = this.get(key);
        if (v === undefined && dflt !== undefined) return dflt;
        if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || !test(s))) {
            this.fail(key, v, expected);
            return dflt ?? [];
        }
        return v as string[];
    }

    stringMap(key: string): Record<string, string> {
        const v = this.get(key);
        if (v === undefined) return {};
        if (v === null || typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
            this.fail(key, v, "expected a map of string to string");
            return {};
        }
        return v as Record<string, string>;
    }
}

function show(v: unknown): string {
    if (v === undefined) return "missing";
    return JSON.stringify(v);
}

const isAccount = (s: string) => ACCOUNT_RE.test(s);
const isRegion = (s: string) => REGION_RE.test(s);

function checkVpcCidr(c: Checker, key: string): string {
    return c.string(key, "expected an IPv4 CIDR from /16 to /20 with its host bits zero, e.g. 10.10.0.0/16", (s) => {
        const p = parseCidr(s);
        return !!p && p.prefix >= 16 && p.prefix <= 20;
    });
}

/**
 * Validates a stack's raw config. Pure: tests call it table-driven.
 * @param raw keys of the `pilotlight:` namespace, plus `aws:region` under `region` when not set.
 */
export function parseStackConfig(stack: string, raw: RawConfig, awsRegion: string | undefined, project = "pilotlight"): StackConfig {
    const file = `Pulumi.${stack}.yaml`;
    const c = new Checker(raw);

    const role = c.oneOf<StackRole>("role", STACK_ROLES);
    const namePrefix = c.string("namePrefix", "expected 3-20 lowercase letters, digits or hyphens, starting with a letter", (s) => PREFIX_RE.test(s), "pilotlight");
    const accountId = c.string("accountId", 'expected a 12-digit AWS account id in quotes, e.g. "111111111111"', isAccount);
    let region = awsRegion ?? "";
    if (!isRegion(region)) {
        c.problems.push(`aws:region is ${show(awsRegion)}; expected an AWS region such as us-east-1`);
        region = "";
    }

    if (c.get("peer") === undefined || typeof c.get("peer") !== "object") {
        c.fail("peer", c.get("peer"), "expected a map with stack, accountId, region and vpcCidr of the other stack");
    }
    const peer: PeerConfig = {
        stack: c.string("peer.stack", "expected the peer stack's name, e.g. dr", (s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== stack),
        accountId: c.string("peer.accountId", 'expected the peer\'s 12-digit AWS account id in quotes, e.g. "222222222222"', isAccount),
        region: c.string("peer.region", "expected an AWS region such as us-west-2", isRegion),
        vpcCidr: checkVpcCidr(c, "peer.vpcCidr"),
    };
    if (peer.region && region && peer.region === region) {
        c.fail("peer.region", peer.region, `expected a region other than this stack's own (${region}): a pilot light in the same region does not survive a regional outage`);
    }

    const vpcCidr = checkVpcCidr(c, "vpcCidr");
    if (vpcCidr && peer.vpcCidr && cidrsOverlap(vpcCidr, peer.vpcCidr)) {
        c.fail("vpcCidr", vpcCidr, `must not overlap the peer's pilotlight:peer.vpcCidr ${peer.vpcCidr}; pick disjoint ranges (e.g. 10.10.0.0/16 and 10.20.0.0/16) so the VPCs can be peered and routes never collide`);
    }

    const azs = c.stringList("availabilityZones", `expected a list of at least 2 availability zones of ${region || "the stack's region"}, e.g. ["${region || "us-east-1"}a", "${region || "us-east-1"}b"]`, (s) => /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/.test(s));
    if (Array.isArray(c.get("availabilityZones")) && c.problems.every((p) => !p.startsWith("pilotlight:availabilityZones"))) {
        if (azs.length < 2 || azs.length > 6) {
            c.fail("availabilityZones", azs, "expected 2 to 6 availability zones: a database subnet group and a load balancer need at least 2");
        } else if (new Set(azs).size !== azs.length) {
            c.fail("availabilityZones", azs, "expected each availability zone once");
        } else if (region && azs.some((z) => !z.startsWith(region))) {
            c.fail("availabilityZones", azs, `expected zones of this stack's region ${region}, e.g. ${region}a`);
        }
    }

    const failover = c.bool("failover", false);
    if (failover && role === "primary") {
        c.fail("failover", true, "failover applies only to a dr stack; set it on the dr stack (pulumi config set failover true -s <dr stack>) and leave it unset here");
    }

    const network: NetworkConfig = {
        vpcCidr,
        availabilityZones: azs,
        natGateways: c.oneOf("network.natGateways", ["single", "onePerAz"] as const, "single"),
        lambdasInVpc: c.bool("network.lambdasInVpc", false),
        appPort: c.int("network.appPort", 1, 65535, 80),
    };

    const media: MediaConfig = {
        replicationTimeControl: c.bool("media.replicationTimeControl", false),
        noncurrentVersionDays: c.int("media.noncurrentVersionDays", 1, 3650, 90),
    };

    const engine = c.oneOf<DatabaseEngine>("database.engine", DATABASE_ENGINES, "postgres");
    const database: DatabaseConfig = {
        engine,
        port: c.int("database.port", 1150, 65535, enginePort(engine)),
    };

    const auroraFailover = parseAuroraFailover(c, role, accountId);

    const tags = c.stringMap("tags");

    if (c.problems.length > 0) throw new ConfigError(file, c.problems);
    return { project, stack, role, namePrefix, accountId, region, peer, failover, network, media, database, auroraFailover, tags };
}

/** Same-account setup: prod and dr in one account, nothing shared across accounts. */
export function isSameAccount(cfg: Pick<StackConfig, "accountId" | "peer">): boolean {
    return cfg.accountId === cfg.peer.accountId;
}

/**
 * Turns the engine's flat config map (`pilotlight:key` -> string) into raw values:
 * maps and lists are JSON, everything else stays a string (account ids must not
 * become numbers). Exported for the offline synthesis, which feeds the same map.
 */
export function rawFromConfigMap(all: Record<string, string>, project = "pilotlight"): RawConfig {
    const raw: RawConfig = {};
    const prefix = `${project}:`;
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith(prefix)) continue;
        const key = k.slice(prefix.length);
        const t = v.trim();
        if (t.startsWith("{") || t.startsWith("[")) {
            try {
                raw[key] = JSON.parse(t);
                continue;
            } catch {
                // Not JSON after all: validation reports it as the string it is.
            }
        }
        raw[key] = v;
    }
    return raw;
}

/** Reads and validates the current stack's config. */
export function loadConfig(): StackConfig {
    const project = pulumi.getProject();
    const raw = rawFromConfigMap(pulumi.runtime.allConfig(), project);
    const region = pulumi.runtime.allConfig()["aws:region"];
    return parseStackConfig(pulumi.getStack(), raw, region, project);
}
