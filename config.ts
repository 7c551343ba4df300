// Typed, validated view of Pulumi.<stack>.yaml. Every rule reports the key, the
// bad value and what would be right; all problems are reported at once.
import * as pulumi from "@pulumi/pulumi";
import { identifierProblem, MAX_MANAGED_IDENTIFIER } from "./functions/lib/naming";
import { parseRequest, RestoreRequest } from "./functions/lib/restoreJob";

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
    /** Extra tags on every resource. */
    tags: Record<string, string>;
    /** primary only: the restore machine. Undefined when `pilotlight:restore` is not set. */
    restore?: RestoreConfig;
    /** Alert channels shared by the machines. */
    alerts: AlertsConfig;
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

    const tags = c.stringMap("tags");
    const restore = parseRestoreConfig(c, role);
    const alerts = parseAlertsConfig(c);

    if (c.problems.length > 0) throw new ConfigError(file, c.problems);
    return { project, stack, role, namePrefix, accountId, region, peer, failover, network, media, database, tags, restore, alerts };
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

// ---------------------------------------------------------------- restore machine

/** One scheduled run of the restore machine. */
export interface RestoreScheduleConfig {
    /** Rule name suffix: 1-40 lowercase letters, digits, hyphens. */
    name: string;
    /** EventBridge `cron(...)` or `rate(...)` expression. */
    expression: string;
    /** Execution input: {identifier, task, isCluster[, snapshotIdentifier]}. */
    input: RestoreRequest;
    /** Defaults to false: the rule is created DISABLED. */
    enabled: boolean;
}

/** `pilotlight:restore`: the restore machine on the primary. */
export interface RestoreConfig {
    /** Identifiers of the instances/clusters the machine may restore (at least one). */
    databases: string[];
    /** Seconds between polls. Defaults to 60. */
    pollIntervalSeconds: number;
    /** Polls per wait before failing (and rolling back). Defaults to 180. */
    maxAttempts: number;
    /** Pilotlight snapshots kept per database. Defaults to 2. */
    keepSnapshots: number;
    /** Alert on success too. Defaults to false. */
    notifyOnSuccess: boolean;
    /** Enable export_snapshot into the media bucket under this prefix. Defaults to undefined: export refused. */
    exportPrefix?: string;
    /** Scheduled runs. Defaults to none. */
    schedules: RestoreScheduleConfig[];
}

/** `pilotlight:alerts`: channels besides the SNS topic (which always exists). */
export interface AlertsConfig {
    /** Verified SES sender address. Defaults to none (no e-mail). */
    emailSender?: string;
    /** Recipients of alert e-mails. Defaults to none. */
    emailRecipients: string[];
}

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Validates `pilotlight:restore` (primary only). Exported for testing. */
export function parseRestoreConfig(c: Checker, role: StackRole): RestoreConfig | undefined {
    const raw = c.get("restore");
    if (raw === undefined) return undefined;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        c.fail("restore", raw, "expected a map with at least databases: [<identifier>, ...]");
        return undefined;
    }
    if (role !== "primary") {
        c.fail("restore", raw, "the restore machine runs on the primary stack only; remove pilotlight:restore from this stack");
        return undefined;
    }
    const databases = c.stringList(
        "restore.databases",
        `expected a list of RDS instance or Aurora cluster identifiers (lowercase letters, digits, single hyphens, at most ${MAX_MANAGED_IDENTIFIER} characters), e.g. ["wordpress"]`,
        (s) => identifierProblem(s) === undefined,
    );
    if (Array.isArray(c.get("restore.databases")) && databases.length === 0) c.fail("restore.databases", [], "expected at least one identifier");
    const exportPrefix = c.get("restore.exportPrefix") === undefined
        ? undefined
        : c.string("restore.exportPrefix", "expected an S3 key prefix of letters, digits, hyphens, underscores and slashes, e.g. rds-exports", (s) => /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(s));
    const schedulesRaw = c.get("restore.schedules");
    const schedules: RestoreScheduleConfig[] = [];
    if (schedulesRaw !== undefined && !Array.isArray(schedulesRaw)) {
        c.fail("restore.schedules", schedulesRaw, "expected a list of {name, expression, input, enabled}");
    } else {
        (schedulesRaw as unknown[] | undefined)?.forEach((_, i) => {
            const key = `restore.schedules.${i}`;
            const name = c.string(`${key}.name`, "expected 1-40 lowercase letters, digits or hyphens", (s) => /^[a-z0-9][a-z0-9-]{0,39}$/.test(s));
            const expression = c.string(`${key}.expression`, "expected an EventBridge schedule like cron(0 3 * * ? *) or rate(1 day)", (s) => /^(cron|rate)\(.+\)$/.test(s));
            const enabled = c.bool(`${key}.enabled`, false);
            let input: RestoreRequest | undefined;
            try {
                input = parseRequest(c.get(`${key}.input`));
                if (!databases.includes(input.identifier)) {
                    c.fail(`${key}.input.identifier`, input.identifier, `expected one of pilotlight:restore.databases (${databases.join(", ")})`);
                }
            } catch (err) {
                c.fail(`${key}.input`, c.get(`${key}.input`), `expected a restore machine input: ${(err as Error).message}`);
            }
            if (input) schedules.push({ name, expression, input, enabled });
        });
    }
    return {
        databases,
        pollIntervalSeconds: c.int("restore.pollIntervalSeconds", 5, 3600, 60),
        maxAttempts: c.int("restore.maxAttempts", 1, 10000, 180),
        keepSnapshots: c.int("restore.keepSnapshots", 1, 100, 2),
        notifyOnSuccess: c.bool("restore.notifyOnSuccess", false),
        exportPrefix,
        schedules,
    };
}

/** Validates `pilotlight:alerts`. Exported for testing. */
export function parseAlertsConfig(c: Checker): AlertsConfig {
    const emailSender = c.get("alerts.emailSender") === undefined
        ? undefined
        : c.string("alerts.emailSender", "expected the SES-verified address alerts are sent from, e.g. dr-alerts@example.com", (s) => EMAIL_RE.test(s));
    const emailRecipients = c.stringList("alerts.emailRecipients", "expected a list of e-mail addresses", (s) => EMAIL_RE.test(s), []);
    if (emailRecipients.length > 0 && emailSender === undefined) {
        c.fail("alerts.emailSender", undefined, "expected a sender address because pilotlight:alerts.emailRecipients is set");
    }
    return { emailSender, emailRecipients };
}
