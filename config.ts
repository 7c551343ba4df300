// Typed, validated view of Pulumi.<stack>.yaml. One zod schema per `pilotlight:` key gives the
// TypeScript types, the defaults, the unknown-key rejection (with the closest known key) and the
// messages; rules that relate keys to each other, to the stack's role or to the peer's stack file
// follow the schema. Every problem names the key, the bad value and what would be right, and all
// problems are reported at once.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { identifierProblem, MAX_MANAGED_IDENTIFIER } from "./functions/lib/naming";
import { parseRequest } from "./functions/lib/restoreJob";
import { AFTER_RECOVERY, clusterIdentifierProblem, isInstanceClass } from "./functions/lib/auroraFailover";
import { planSubnets } from "./components/network";

// ---------------------------------------------------------------- plain facts and helpers

/** The two roles a stack can play. */
export type StackRole = "primary" | "dr";
export const STACK_ROLES = ["primary", "dr"] as const satisfies readonly StackRole[];

/** Database engines the network opens ports for (and the Database component deploys). */
export type DatabaseEngine = "postgres" | "mysql" | "aurora-postgresql" | "aurora-mysql";
export const DATABASE_ENGINES = ["postgres", "mysql", "aurora-postgresql", "aurora-mysql"] as const satisfies readonly DatabaseEngine[];

/**
 * Engine versions used when `pilotlight:database.engineVersion` is not set: major versions, so that
 * RDS's automatic minor upgrades never make a later `pulumi up` plan a downgrade. RDS picks the
 * default minor version of a major ("You can supply either 5.7 or 8.0 to use the default engine
 * version for Aurora MySQL version 2 or version 3", CreateDBCluster EngineVersion).
 */
export const DEFAULT_ENGINE_VERSIONS: Record<DatabaseEngine, string> = {
    postgres: "16",
    mysql: "8.0",
    "aurora-postgresql": "16",
    "aurora-mysql": "8.0",
};

/** Accepted versions per engine: a major version, or a full minor version. */
const ENGINE_VERSION_RE: Record<DatabaseEngine, { re: RegExp; example: string }> = {
    postgres: { re: /^\d{2}(\.\d+)?$/, example: "16 (or 16.8)" },
    mysql: { re: /^\d\.\d(\.\d+)?$/, example: "8.0 (or 8.0.41)" },
    "aurora-postgresql": { re: /^\d{2}(\.\d+)?$/, example: "16 (or 16.6)" },
    "aurora-mysql": { re: /^\d\.\d(\.mysql_aurora\.\d+\.\d+\.\d+)?$/, example: "8.0 (or 8.0.mysql_aurora.3.08.2)" },
};

/** Service-linked roles the serving half needs: Auto Scaling (named by the volume key grant), ElastiCache, RDS. */
export const SERVICE_LINKED_ROLES = ["autoscaling.amazonaws.com", "elasticache.amazonaws.com", "rds.amazonaws.com"] as const;

/** True for the Aurora engines (a cluster with instances), false for a single RDS instance. */
export function isAuroraEngine(engine: DatabaseEngine): boolean {
    return engine.startsWith("aurora-");
}

/** The default port of each engine. */
export function enginePort(engine: DatabaseEngine): number {
    return engine === "mysql" || engine === "aurora-mysql" ? 3306 : 5432;
}

/** Where the dr stack's database comes from on failover (`pilotlight:failoverDatabase`). */
export type FailoverDatabaseSource = "latestCopy" | "snapshot" | "pointInTime" | "adopt";
export const FAILOVER_DATABASE_SOURCES = ["latestCopy", "snapshot", "pointInTime", "adopt"] as const satisfies readonly FailoverDatabaseSource[];

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

/** `rate(2 hours)`, `rate(1 day)` or a six-field `cron(...)`. */
export function isScheduleExpression(s: string): boolean {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(s);
    if (rate) return Number(rate[1]) >= 1 && (Number(rate[1]) === 1) === !rate[2].endsWith("s");
    const cron = /^cron\(([^()]+)\)$/.exec(s);
    return !!cron && cron[1].trim().split(/\s+/).length === 6;
}

/** Region of an ACM certificate ARN; undefined when it is not one. Exported for testing. */
export function certificateRegion(arn: string): string | undefined {
    return CERT_RE.exec(arn)?.[1];
}

/**
 * Why `region` cannot host a stack, or undefined. pilotlight builds ARNs, service principals and
 * endpoint names of the `aws` partition; China (`cn-*`), GovCloud (`us-gov-*`) and the ISO
 * partitions (`*-iso*`) use other partitions and DNS suffixes, so they are refused rather than
 * deployed half-right. Exported for testing.
 */
export function regionProblem(region: unknown): string | undefined {
    if (typeof region !== "string" || !REGION_RE.test(region)) return "expected an AWS region such as us-east-1";
    if (region.startsWith("cn-") || region.startsWith("us-gov-") || /-iso[a-z]*-/.test(region)) {
        return `${region} belongs to the ${region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "ISO"} partition, which pilotlight does not serve (its ARNs, service principals and DNS suffixes are those of the aws partition); use a region of the aws partition such as us-east-1`;
    }
    return undefined;
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
/** 3-20 characters; no consecutive hyphens (RDS and ElastiCache identifiers refuse `--`). */
const PREFIX_RE = /^[a-z](?:[a-z0-9]|-(?!-)){1,18}[a-z0-9]$/;
const SNAPSHOT_ID_RE = /^([a-zA-Z][a-zA-Z0-9-]{0,254}|arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:(snapshot|cluster-snapshot):[a-zA-Z][a-zA-Z0-9:-]{0,254})$/;
const DB_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const CERT_RE = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const INSTANCE_CLASS_RE = /^db\.[a-z0-9-]+\.[a-z0-9]+$/;
const DB_IDENTIFIER_RE = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
/** Longest identifier whose derived names (`-v<N>-final`, `-bk-<timestamp>`) fit RDS's limits. */
export const MAX_BACKUP_IDENTIFIER = 40;
const isDbIdentifier = (s: string) => DB_IDENTIFIER_RE.test(s) && !s.endsWith("-") && s.length <= MAX_BACKUP_IDENTIFIER;
const DB_IDENTIFIER_RULE = `expected an RDS identifier: a letter, then lowercase letters, digits or single hyphens, not ending in a hyphen, at most ${MAX_BACKUP_IDENTIFIER} characters`;
const SCHEDULE_RULE = 'expected an EventBridge schedule such as "rate(2 hours)", "rate(1 day)" or "cron(0 3 * * ? *)"';
const BOOL_RULE = "expected true or false";
const SERVICE_LINKED_RULE = `expected a list of the service-linked roles to create in this account, each one of ${SERVICE_LINKED_ROLES.join(", ")}; leave out those the account already has (aws iam list-roles --path-prefix /aws-service-role/)`;

/**
 * The database the stack protects: on the primary `pilotlight:database.existing` when set, else the
 * program's own `<namePrefix>-db` (also dr's failover database).
 */
export function workloadIdentifier(cfg: { role: StackRole; namePrefix: string; database: { existing?: string } }): string {
    return cfg.role === "primary" && cfg.database.existing !== undefined ? cfg.database.existing : `${cfg.namePrefix}-db`;
}

/** A config value that is a map, or undefined. */
function asMap(v: unknown): Record<string, unknown> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Same-account setup: prod and dr in one account, nothing shared across accounts. */
export function isSameAccount(cfg: { accountId: string; peer: { accountId: string } }): boolean {
    return cfg.accountId === cfg.peer.accountId;
}

// ---------------------------------------------------------------- schema building blocks

/** A string passing `test`; one message for every way it can be wrong. */
function str(expected: string, test: (s: string) => boolean = () => true) {
    return z.string({ error: expected }).refine(test, { error: expected });
}

/** A boolean; the engine's flat config map turns top-level booleans into "true"/"false". */
function bool(expected = BOOL_RULE) {
    return z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: expected }));
}

/** A whole number in [min, max]; top-level numbers arrive as strings. */
function int(min: number, max: number, expected = `expected a whole number from ${min} to ${max}`) {
    return z.preprocess(
        (v) => (typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v),
        z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected }),
    );
}

/** One of fixed strings. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, { error: `expected one of ${values.map((a) => `"${a}"`).join(", ")}` });
}

/** A list of strings each passing `test`; the message is about the list. */
function strList(expected: string, test: (s: string) => boolean) {
    return z.array(z.string(), { error: expected }).refine((l) => l.every(test), { error: expected });
}

/** A map of string to string. */
function strMap() {
    return z.record(z.string(), z.string({ error: "expected a string: tags are a map of string to string" }), { error: "expected a map of string to string" });
}

/** Marker between an unknown key and the advice in an unrecognized-keys message. */
const UNKNOWN_SEP = "\u0000";

/**
 * A map with exactly these keys: an unknown key is reported with the closest known one.
 * `what` says what the map should look like when the value is no map at all.
 */
function map<S extends z.core.$ZodLooseShape>(shape: S, what: string) {
    const known = Object.keys(shape);
    return z.strictObject(shape, {
        error: (iss) => {
            if (iss.code === "unrecognized_keys") return iss.keys.map((k) => `${k}${UNKNOWN_SEP}${unknownKeyAdvice(k, known)}`).join("\n");
            if (iss.code === "invalid_type") return what;
            return undefined;
        },
    });
}

/** The keys of a map schema, through optional, default and pipe wrappers; none for other schemas. */
function keysOf(schema: z.ZodType): string[] {
    const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "object") return Object.keys(def.shape as object);
    for (const inner of [def.innerType, def.out, def.in]) {
        const keys = inner ? keysOf(inner as z.ZodType) : [];
        if (keys.length > 0) return keys;
    }
    return [];
}

/** Every key of a schema as `a.b`, list entries as `a[].b`; for the documentation test. */
export function schemaKeyPaths(schema: Record<string, z.ZodType> = stackSchema({ stack: "prod", region: "us-east-1" })): string[] {
    const walk = (s: z.ZodType, at: string): string[] => {
        const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
        if (def.type === "array") return walk(def.element as z.ZodType, `${at}[]`);
        const keys = keysOf(s);
        if (keys.length === 0) {
            for (const inner of [def.innerType, def.out, def.in]) {
                if (inner && (inner as { _zod: { def: { type: string } } })._zod.def.type === "array") return walk(inner as z.ZodType, at);
            }
            return [at];
        }
        const shapeOf = (x: z.ZodType): Record<string, z.ZodType> | undefined => {
            const d = (x as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
            if (d.type === "object") return d.shape as Record<string, z.ZodType>;
            for (const inner of [d.innerType, d.out, d.in]) {
                const found = inner ? shapeOf(inner as z.ZodType) : undefined;
                if (found) return found;
            }
            return undefined;
        };
        const shape = shapeOf(s)!;
        return [at, ...Object.entries(shape).flatMap(([k, v]) => walk(v, `${at}.${k}`))];
    };
    return Object.entries(schema).flatMap(([k, v]) => walk(v, k));
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const cur = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = cur;
        }
    }
    return row[b.length];
}

/** The known key closest to `key` (case-insensitive), when it is close enough to be a typo. Exported for testing. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const k of known) {
        const d = distance(key.toLowerCase(), k.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    if (best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))) return best;
    // A shortened or lengthened key (`writer` for `writerClass`, `databases` for `database`).
    const lower = key.toLowerCase();
    return lower.length >= 3 ? known.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase())) : undefined;
}

/** `did you mean {}<key>?`, where the caller puts the parent path in place of `{}`, or the list of known keys. */
function unknownKeyAdvice(key: string, known: readonly string[]): string {
    const near = closestKey(key, known);
    return near !== undefined ? `did you mean {}${near}?` : `expected one of ${known.join(", ")}`;
}

// ---------------------------------------------------------------- the schema of each key

/** What the sections' messages depend on: the stack and its region. */
interface SchemaContext {
    stack: string;
    region: string;
    /** The workload database `<namePrefix>-db` and its kind, when `namePrefix` and the engine are valid. */
    workload?: { identifier: string; isCluster: boolean };
}

/** An entry's kind when it does not say: the workload database's kind for the workload database, else an RDS instance. */
function defaultKind(c: SchemaContext, identifier: string): boolean {
    return c.workload?.identifier === identifier ? c.workload.isCluster : false;
}

const vpcCidr = () =>
    str("expected an IPv4 CIDR from /16 to /20 with its host bits zero, e.g. 10.10.0.0/16", (s) => {
        const p = parseCidr(s);
        return !!p && p.prefix >= 16 && p.prefix <= 20;
    });

const account = (example: string, whose = "") => str(`expected ${whose}a 12-digit AWS account id in quotes, e.g. "${example}"`, (s) => ACCOUNT_RE.test(s));

/** A database of `pilotlight:backups.databases`. */
const backupDatabase = (c: SchemaContext) =>
    map(
        {
            /** RDS instance or Aurora cluster identifier. */
            identifier: str(DB_IDENTIFIER_RULE, isDbIdentifier),
            /** True for an Aurora cluster. Defaults to the workload database's kind for `<namePrefix>-db`, else false. */
            isCluster: bool().optional(),
        },
        'expected {identifier, isCluster}, e.g. {"identifier": "app-db", "isCluster": false}',
    ).transform((d) => ({ identifier: d.identifier, isCluster: d.isCluster ?? defaultKind(c, d.identifier) }));

const RESTORE_DATABASE_RULE =
    `expected a list of RDS instance or Aurora cluster identifiers (lowercase letters, digits, single hyphens, at most ${MAX_MANAGED_IDENTIFIER} characters): ` +
    '"wordpress" for an instance or {"identifier": "shop", "isCluster": true} for a cluster, e.g. ["wordpress", {"identifier": "shop", "isCluster": true}]';

/** A database of `pilotlight:restore.databases`: an identifier (an RDS instance) or {identifier, isCluster}. */
const restoreDatabase = (c: SchemaContext) =>
    z.preprocess(
        (v) => (typeof v === "string" ? { identifier: v } : v),
        map(
            {
                identifier: z
                    .string({ error: 'expected an RDS instance or Aurora cluster identifier, e.g. "shop"' })
                    .superRefine((s, ctx) => {
                        const problem = identifierProblem(s);
                        if (problem) ctx.addIssue({ code: "custom", message: `expected an RDS instance or Aurora cluster identifier: ${problem}` });
                    }),
                isCluster: bool("expected true (Aurora cluster) or false (RDS instance)").optional(),
            },
            'expected an RDS instance identifier such as "wordpress" or {"identifier": "shop", "isCluster": true}',
        ).transform((d) => ({ identifier: d.identifier, isCluster: d.isCluster ?? defaultKind(c, d.identifier) })),
    );

/** Each identifier once: reported at the later entry. */
function uniqueIdentifiers(list: { identifier: string }[], ctx: z.core.$RefinementCtx, what: string, at: (i: number) => (string | number)[]) {
    list.forEach((d, i) => {
        if (list.findIndex((o) => o.identifier === d.identifier) < i) ctx.addIssue({ code: "custom", message: `expected each ${what} once`, path: at(i) });
    });
}

/** The schema of every `pilotlight:` key. Exported for the docs test and the key suggestions. */
export function stackSchema(c: SchemaContext) {
    const region = c.region || "us-east-1";
    return {
        /** `primary` (serves traffic) or `dr` (the pilot light). Required. */
        role: oneOf(STACK_ROLES),
        /** Prefix of every physical name; the same in both stacks. Defaults to `pilotlight`. */
        namePrefix: str("expected 3-20 lowercase letters, digits or single hyphens, starting with a letter and not ending in a hyphen (RDS and ElastiCache refuse consecutive hyphens)", (s) => PREFIX_RE.test(s)).default("pilotlight"),
        /** This stack's 12-digit account id. Required. */
        accountId: account("111111111111"),
        /** This stack's VPC CIDR, /16 to /20. Required. */
        vpcCidr: vpcCidr(),
        /** Availability zones of this stack's region, 2 to 6. Required. */
        availabilityZones: z
            .array(z.string(), { error: `expected a list of at least 2 availability zones of ${c.region || "the stack's region"}, e.g. ["${region}a", "${region}b"]` })
            .superRefine((azs, ctx) => {
                azs.forEach((z, i) => {
                    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/.test(z)) ctx.addIssue({ code: "custom", message: `expected an availability zone name such as ${region}a`, path: [i] });
                    else if (c.region && !z.startsWith(c.region)) ctx.addIssue({ code: "custom", message: `expected zones of this stack's region ${c.region}, e.g. ${c.region}a`, path: [i] });
                });
                if (azs.length < 2 || azs.length > 6) ctx.addIssue({ code: "custom", message: "expected 2 to 6 availability zones: a database subnet group and a load balancer need at least 2" });
                else if (new Set(azs).size !== azs.length) ctx.addIssue({ code: "custom", message: "expected each availability zone once" });
            }),
        /** The other stack of the pair. Required. */
        peer: map(
            {
                /** Stack name of the peer (e.g. `dr` for prod). */
                stack: str("expected the peer stack's name, e.g. dr", (s) => /^[A-Za-z0-9_.-]+$/.test(s)),
                /** The peer's account id; the same as `accountId` in a same-account setup. */
                accountId: account("222222222222", "the peer's "),
                /** The peer's region; must differ from this stack's. */
                region: z.string({ error: "expected an AWS region such as us-west-2" }).superRefine((s, ctx) => {
                    const problem = regionProblem(s);
                    if (problem) ctx.addIssue({ code: "custom", message: problem.replace("us-east-1", "us-west-2") });
                }),
                /** The peer's VPC CIDR; must not overlap this stack's. */
                vpcCidr: vpcCidr(),
            },
            "expected a map with stack, accountId, region and vpcCidr of the other stack",
        ),
        /** dr only: bring up the failover resources. Defaults to false. */
        failover: bool().default(false),
        network: map(
            {
                /** `single` NAT gateway or one per AZ (`onePerAz`) when NAT is on. Defaults to `single`. */
                natGateways: oneOf(["single", "onePerAz"]).default("single"),
                /** Put Lambdas in the app tier with interface endpoints. Defaults to false. */
                lambdasInVpc: bool().default(false),
                /** Port the app instances listen on behind the load balancer. Defaults to 80. */
                appPort: int(1, 65535).default(80),
                /** An existing VPC instead of a new one: its id and the subnets of each tier. Defaults to none (the program creates the VPC). */
                existing: existingNetworkSchema().optional(),
                /**
                 * Who else may reach the database port: IPv4 CIDRs or security group ids of this VPC (an app
                 * tier managed elsewhere, e.g. on dr after a failover). Defaults to none: the app tier only.
                 */
                databaseClients: strList(DATABASE_CLIENTS_RULE, isDatabaseClient)
                    .refine((l) => new Set(l).size === l.length, { error: "expected each client once" })
                    .default([]),
            },
            "expected a map with natGateways, lambdasInVpc, appPort and existing",
        ).default({ natGateways: "single", lambdasInVpc: false, appPort: 80, databaseClients: [] }),
        media: map(
            {
                /** S3 Replication Time Control (15-minute SLA) and its metrics. Defaults to false. */
                replicationTimeControl: bool().default(false),
                /** Days to keep noncurrent object versions. Defaults to 90. */
                noncurrentVersionDays: int(1, 3650).default(90),
                /** dr only: replicate what the DR app writes back to the primary's bucket while failed over. Defaults to true. */
                replicateBack: bool().optional(),
            },
            "expected a map with replicationTimeControl, noncurrentVersionDays and replicateBack",
        ).default({ replicationTimeControl: false, noncurrentVersionDays: 90 }),
        database: databaseSchema(),
        failoverDatabase: map(
            {
                /** `latestCopy`, `snapshot`, `pointInTime` or `adopt`. Required. */
                source: oneOf(FAILOVER_DATABASE_SOURCES),
                /** The primary database whose copies `latestCopy` looks for. Defaults to `<namePrefix>-db`. */
                sourceIdentifier: str("expected the primary database's identifier, e.g. pilotlight-db", (s) => /^[a-z][a-z0-9-]{0,62}$/.test(s)).optional(),
                /** `snapshot` only: DB (cluster) snapshot identifier or ARN in this region and account. */
                snapshotIdentifier: str("expected a DB snapshot identifier (a letter, then letters, digits, hyphens) or a snapshot ARN", (s) => SNAPSHOT_ID_RE.test(s)).optional(),
                /** `pointInTime` only: ARN of the automated backups replicated into this region. */
                automatedBackupsArn: str(`expected the ARN of replicated automated backups in this stack's region ${c.region}`, (s) => {
                    const m = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:auto-backup:ab-[a-z0-9]+$/.exec(s);
                    return !!m && (!c.region || m[1] === c.region);
                }).optional(),
                /** `pointInTime` only: UTC time to restore to. Defaults to the latest restorable time. */
                restoreTime: str("expected a UTC time such as 2026-01-31T23:45:00Z", (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) && !Number.isNaN(Date.parse(s))).optional(),
                /** `adopt` only: the copy target's secret. Defaults to `pilotlight:copy`'s `secretName`. */
                secretName: str("expected a Secrets Manager secret name or ARN", (s) => /^[A-Za-z0-9/_+=.@:-]{1,2048}$/.test(s)).optional(),
            },
            'expected a map: set pilotlight:failoverDatabase.source to "latestCopy", "snapshot", "pointInTime" or "adopt"',
        ).optional(),
        app: appSchema(),
        dns: map(
            {
                /** Hosted zone id. Required. */
                hostedZoneId: str("expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ", (s) => /^Z[A-Z0-9]{1,31}$/.test(s)),
                /** The application's name. Required. */
                recordName: str("expected the application's fully qualified name such as app.example.com", (s) => /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(s)),
                /** Role to assume for the zone. Defaults per role (see docs). */
                roleArn: str("expected an IAM role ARN such as arn:aws:iam::111111111111:role/pilotlight-dns", (s) => /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/.test(s)).optional(),
                /** Primary only: keep traffic on dr after a failover. Defaults to false. */
                holdOnDr: bool().default(false),
            },
            "expected a map with hostedZoneId and recordName (and roleArn when the zone is in another account)",
        ).optional(),
        /** Extra tags on every resource. Defaults to none. */
        tags: strMap().default({}),
        backups: backupsSchema(c).optional(),
        copy: copySchema().optional(),
        restore: restoreSchema(c).optional(),
        alerts: map(
            {
                /** Verified SES sender address. Defaults to none (no e-mail). */
                emailSender: str("expected the SES-verified address alerts are sent from, e.g. dr-alerts@example.com", (s) => EMAIL_RE.test(s)).optional(),
                /** Recipients of alert e-mails. Defaults to none. */
                // SES SendEmail: "The message may not include more than 50 recipients, across the To:, CC: and BCC: fields."
                emailRecipients: strList("expected a list of e-mail addresses", (s) => EMAIL_RE.test(s))
                    .refine((l) => l.length <= 50, { error: "expected at most 50 addresses: each alert is one SES message, which takes at most 50 recipients (use a distribution list)" })
                    .default([]),
            },
            "expected a map with emailSender and emailRecipients",
        )
            .superRefine((a, ctx) => {
                if (a.emailRecipients.length > 0 && a.emailSender === undefined) ctx.addIssue({ code: "custom", message: "expected a sender address because pilotlight:alerts.emailRecipients is set", path: ["emailSender"] });
            })
            .default({ emailRecipients: [] }),
        auroraFailover: auroraFailoverSchema(),
        readiness: map(
            {
                /** dr: alarm when the newest recovery point the failover would use is older than this (15-525600). Defaults to one copy interval and a half. */
                rpoMinutes: int(15, 525600).optional(),
                /** Alarm when media replication lags more than this many seconds (60-86400). Defaults to 900 (S3 RTC's threshold). */
                replicationLatencySeconds: int(60, 86400).default(900),
                /** dr: the restore-test machine's schedule and throwaway class. */
                restoreTest: map(
                    {
                        /** EventBridge schedule. Defaults to `rate(7 days)`. */
                        schedule: str(SCHEDULE_RULE, isScheduleExpression).default("rate(7 days)"),
                        /** Whether the schedule runs. Defaults to false, like every schedule. */
                        enabled: bool().default(false),
                        /** Class of the throwaway database. Defaults to `db.t4g.medium`. */
                        instanceClass: str("expected an RDS instance class such as db.t4g.medium", (x) => /^db\.[a-z0-9]+\.[a-z0-9]+$/.test(x)).default("db.t4g.medium"),
                    },
                    "expected a map with schedule, enabled and instanceClass",
                ).prefault({}),
            },
            "expected a map with rpoMinutes, replicationLatencySeconds and restoreTest",
        )
            .transform((r) => ({ rpoMinutes: r.rpoMinutes, replicationLatencySeconds: r.replicationLatencySeconds, restoreTest: r.restoreTest }))
            .prefault({}),
        /**
         * Service-linked roles this stack creates, by service principal, a subset of `SERVICE_LINKED_ROLES`.
         * Each exists once per account: list only those the account does not have yet. Defaults to all of them.
         */
        serviceLinkedRoles: z
            .array(z.string(), { error: SERVICE_LINKED_RULE })
            .refine((l) => l.every((x) => (SERVICE_LINKED_ROLES as readonly string[]).includes(x)), { error: SERVICE_LINKED_RULE })
            .refine((l) => new Set(l).size === l.length, { error: "expected each service once" })
            .default([...SERVICE_LINKED_ROLES]),
        /** Slack webhook URLs, a Pulumi secret read by index.ts; validated for being encrypted. */
        slackWebhookUrls: z.unknown().optional(),
    };
}

const DATABASE_CLIENTS_RULE = 'expected a list of IPv4 CIDRs or security group ids, e.g. ["10.20.0.0/16", "sg-0123456789abcdef0"]';
const isDatabaseClient = (s: string) => /^sg-[0-9a-f]{8,17}$/.test(s) || parseCidr(s) !== undefined;
const SUBNET_LIST_RULE = 'expected a list of at least 2 subnet ids in different availability zones, e.g. ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]';
const subnetList = () =>
    strList(SUBNET_LIST_RULE, (s) => /^subnet-[0-9a-f]{8,17}$/.test(s))
        .refine((l) => l.length >= 2, { error: SUBNET_LIST_RULE })
        .refine((l) => new Set(l).size === l.length, { error: "expected each subnet once" });

/** `pilotlight:network.existing`: a VPC the program uses without creating or changing it. */
function existingNetworkSchema() {
    return map(
        {
            /** The VPC's id. Required. */
            vpcId: str("expected a VPC id such as vpc-0123456789abcdef0", (s) => /^vpc-[0-9a-f]{8,17}$/.test(s)),
            /** Public subnets for the app tier's load balancer. Required unless `app.enabled` is false. */
            publicSubnetIds: subnetList().optional(),
            /** Private subnets with a route to AWS APIs (NAT or endpoints): app instances, Lambdas in the VPC, the restore test's probe. Required. */
            appSubnetIds: subnetList(),
            /** Subnets of the database tier: the DB and cache subnet groups. Required. */
            dbSubnetIds: subnetList(),
        },
        "expected a map with vpcId, publicSubnetIds, appSubnetIds and dbSubnetIds",
    ).superRefine((n, ctx) => {
        const tiers = [
            ["publicSubnetIds", n.publicSubnetIds ?? []],
            ["appSubnetIds", n.appSubnetIds],
            ["dbSubnetIds", n.dbSubnetIds],
        ] as const;
        tiers.forEach(([key, ids], i) => {
            for (const id of ids) {
                const earlier = tiers.slice(0, i).find(([, other]) => other.includes(id));
                if (earlier) ctx.addIssue({ code: "custom", message: `expected subnets of their own tier: ${id} is also in ${earlier[0]}`, path: [key] });
            }
        });
    });
}

/** What `pilotlight:database` keys only describe a database the program creates. */
export const DATABASE_CREATION_KEYS = [
    "engineVersion",
    "instanceClass",
    "readerClass",
    "instanceCount",
    "allocatedStorage",
    "maxAllocatedStorage",
    "multiAz",
    "backupRetentionDays",
    "backupWindow",
    "maintenanceWindow",
    "performanceInsights",
    "monitoringIntervalSeconds",
    "name",
    "masterUsername",
    "deletionProtection",
] as const;

function databaseSchema() {
    return map(
        {
            /**
             * Primary only: the identifier of an existing RDS instance (or Aurora cluster, by `engine`) that
             * pilotlight protects instead of creating `<namePrefix>-db`; it never creates or changes it
             * outside the restore machine's runs. Defaults to none.
             */
            existing: z.string({ error: "expected the identifier of an existing RDS instance or Aurora cluster, e.g. orders-db" }).superRefine((s, ctx) => {
                const problem = identifierProblem(s);
                if (problem) ctx.addIssue({ code: "custom", message: `expected the identifier of an existing RDS instance or Aurora cluster: ${problem}` });
            }).optional(),
            /** Engine. Defaults to `postgres`. */
            engine: oneOf(DATABASE_ENGINES).default("postgres"),
            /** Port. Defaults to the engine's (5432 PostgreSQL, 3306 MySQL). */
            port: int(1150, 65535).optional(),
            /** Engine version: a major version (`16`, `8.0`) or a full one. Defaults to the engine's major version (`DEFAULT_ENGINE_VERSIONS`). */
            engineVersion: z.string({ error: "expected an engine version such as 16 or 8.0" }).optional(),
            /** Class of the instance, or of the Aurora writer. Defaults to `db.t4g.medium`. */
            instanceClass: str("expected an RDS instance class such as db.t4g.medium or db.r7g.large", (s) => /^db\.[a-z0-9]+\.[a-z0-9]+$/.test(s)).default("db.t4g.medium"),
            /** Aurora only: class of the readers. Defaults to `instanceClass`. */
            readerClass: str("expected an RDS instance class such as db.r7g.large", (s) => /^db\.[a-z0-9]+\.[a-z0-9]+$/.test(s)).optional(),
            /** Aurora only: instances, writer included (1-16). Defaults to 2. */
            instanceCount: int(1, 16).default(2),
            /** RDS instance only: storage in GiB (20-65536). Defaults to 20. */
            allocatedStorage: int(20, 65536).default(20),
            /** RDS instance only: storage autoscaling ceiling in GiB. Defaults to the larger of 100 and `allocatedStorage`. */
            maxAllocatedStorage: int(20, 65536).optional(),
            /** RDS instance only: a standby in a second AZ. Defaults to false. */
            multiAz: bool().default(false),
            /** Days of automated backups, 7-35. Defaults to 7. */
            backupRetentionDays: int(7, 35, "expected 7 to 35 days: pilotlight keeps at least a week of automated backups and point-in-time recovery").default(7),
            /** Daily backup window, UTC. Defaults to `03:00-04:00`. */
            backupWindow: str("expected a UTC window hh:mm-hh:mm such as 03:00-04:00", (s) => /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/.test(s)).default("03:00-04:00"),
            /** Weekly maintenance window, UTC. Defaults to `sun:04:30-sun:05:30`. */
            maintenanceWindow: str("expected a UTC window ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30", (s) =>
                /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/.test(s),
            ).default("sun:04:30-sun:05:30"),
            /** Performance Insights. Defaults to true. */
            performanceInsights: bool().default(true),
            /** Enhanced Monitoring interval in seconds (0 = off). Defaults to 0. */
            monitoringIntervalSeconds: z
                .preprocess((v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v), z.number({ error: "expected one of 0 (off), 1, 5, 10, 15, 30, 60" }))
                .refine((n) => [0, 1, 5, 10, 15, 30, 60].includes(n), { error: "expected one of 0 (off), 1, 5, 10, 15, 30, 60" })
                .default(0),
            /** Application database created in a new database. Defaults to `app`. */
            name: str("expected a database name: a letter, then up to 62 letters, digits or underscores", (s) => DB_NAME_RE.test(s)).default("app"),
            /** Master user name (its password is RDS-managed). Defaults to `pilotlight`. */
            masterUsername: str("expected a user name: a letter, then up to 62 letters, digits or underscores, not the reserved rdsadmin", (s) => DB_NAME_RE.test(s) && s.toLowerCase() !== "rdsadmin").default("pilotlight"),
            /** Deletion protection. Defaults to true. */
            deletionProtection: bool().default(true),
        },
        "expected a map with engine, instanceClass and the other database settings",
    )
        .superRefine((d, ctx) => {
            const version = ENGINE_VERSION_RE[d.engine];
            if (d.engineVersion !== undefined && !version.re.test(d.engineVersion)) ctx.addIssue({ code: "custom", message: `expected a version of ${d.engine} such as ${version.example}`, path: ["engineVersion"] });
            if (d.maxAllocatedStorage !== undefined && d.maxAllocatedStorage < d.allocatedStorage) {
                ctx.addIssue({ code: "custom", message: `expected at least pilotlight:database.allocatedStorage (${d.allocatedStorage}): it is the ceiling storage autoscaling may grow to`, path: ["maxAllocatedStorage"] });
            }
        })
        .transform((d) => ({
            ...d,
            port: d.port ?? enginePort(d.engine),
            engineVersion: d.engineVersion ?? DEFAULT_ENGINE_VERSIONS[d.engine],
            readerClass: d.readerClass ?? d.instanceClass,
            maxAllocatedStorage: d.maxAllocatedStorage ?? Math.max(100, d.allocatedStorage),
        }))
        .prefault({});
}

function appSchema() {
    return map(
        {
            /** EC2 instance type. Defaults to `t3.small`. */
            instanceType: str("expected an EC2 instance type such as t3.small", (s) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(s)).default("t3.small"),
            /** AMI id. Defaults to the app tier's documented lookup. */
            amiId: str("expected an AMI id such as ami-0123456789abcdef0", (s) => /^ami-[0-9a-f]{8,17}$/.test(s)).optional(),
            /** Auto Scaling group minimum. Defaults to 2. */
            minSize: int(0, 100).default(2),
            /** Auto Scaling group maximum. Defaults to the larger of 4 and `minSize`. */
            maxSize: int(1, 100).optional(),
            /** Desired capacity. Defaults to `minSize`. */
            desiredCapacity: int(0, 100).optional(),
            /** Path the load balancer and Route 53 check. Defaults to `/health`. */
            healthCheckPath: str("expected an absolute URL path such as /health", (s) => /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(s) && s.length <= 255).default("/health"),
            /** ACM certificate of this stack's region; plain HTTP when unset. */
            certificateArn: str("expected an ACM certificate ARN such as arn:aws:acm:us-east-1:111111111111:certificate/<uuid>", (s) => certificateRegion(s) !== undefined).optional(),
            /** Root volume size in GiB. Defaults to 20. */
            volumeSizeGb: int(8, 16384).default(20),
            /** Whether this stack has the app tier (load balancer, instances, Redis). False when the app is managed elsewhere. Defaults to true. */
            enabled: bool().default(true),
            /** Whether the app tier has its Redis cache. Defaults to true. */
            redis: bool().default(true),
            /** ElastiCache node type. Defaults to `cache.t4g.small`. */
            redisNodeType: str("expected an ElastiCache node type such as cache.t4g.small", (s) => /^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(s)).default("cache.t4g.small"),
            /** Redis nodes (1-6). Defaults to 2. */
            redisNodes: int(1, 6).default(2),
            /** Redis engine version. Defaults to `7.1`. */
            redisEngineVersion: str("expected a Redis version such as 7.1", (s) => /^\d+\.\d+$/.test(s)).default("7.1"),
        },
        "expected a map with instanceType, minSize, maxSize and the other app tier settings",
    )
        .transform((a, ctx) => {
            const maxSize = a.maxSize ?? Math.max(4, a.minSize);
            const desiredCapacity = a.desiredCapacity ?? a.minSize;
            if (a.minSize > maxSize) ctx.addIssue({ code: "custom", message: `expected at most pilotlight:app.maxSize (${maxSize})`, path: ["minSize"] });
            if (desiredCapacity < a.minSize || desiredCapacity > maxSize) {
                ctx.addIssue({ code: "custom", message: `expected a number from pilotlight:app.minSize (${a.minSize}) to pilotlight:app.maxSize (${maxSize})`, path: ["desiredCapacity"], params: { value: desiredCapacity } });
            }
            return { ...a, maxSize, desiredCapacity };
        })
        .prefault({});
}

function backupsSchema(c: SchemaContext) {
    return map(
        {
            /** Databases to snapshot each run. Defaults to none. */
            databases: z.array(backupDatabase(c), { error: 'expected a list of {identifier, isCluster}, e.g. [{"identifier": "app-db", "isCluster": false}]' }).superRefine((l, ctx) => uniqueIdentifiers(l, ctx, "database", (i) => [i, "identifier"])).default([]),
            /** EventBridge schedule. Defaults to `rate(2 hours)`. */
            schedule: str(SCHEDULE_RULE, isScheduleExpression).default("rate(2 hours)"),
            /** Whether the schedule runs. Defaults to false. */
            scheduleEnabled: bool().default(false),
            /** Snapshots kept per database in each region, 1-100. Defaults to 12. */
            keep: int(1, 100).default(12),
            /** dr stack, same account: replicate the automated backups of the listed instances. Defaults to false. */
            automatedBackupReplication: bool().default(false),
            /** Days the replicated automated backups are kept, 1-35. Defaults to 7. */
            replicationRetentionDays: int(1, 35).default(7),
            /** AMIs of tagged instances, copied to the DR region; absent when not configured. */
            images: map(
                {
                    tagKey: str("expected an EC2 tag key (1-127 characters, not starting with aws:)", (s) => s.length >= 1 && s.length <= 127 && !s.startsWith("aws:")).default("pilotlight:backup"),
                    tagValue: str("expected an EC2 tag value (0-255 characters)", (s) => s.length <= 255).default("true"),
                    noReboot: bool().default(true),
                    /** Images kept per source (Auto Scaling group, launch template or lone instance) in each region, 1-100. Defaults to 7. */
                    keep: int(1, 100).default(7),
                    /** Days the images of a source that is no longer imaged are kept, 1-3650. Defaults to 30. */
                    goneSourceDays: int(1, 3650).default(30),
                },
                "expected a map with tagKey, tagValue, noReboot, keep and goneSourceDays",
            ).optional(),
        },
        "expected a map with databases, schedule, keep and the other backup settings",
    ).transform((b) => ({ ...b, images: b.images }));
}

function copySchema() {
    return map(
        {
            /** The source instance on the primary. Required. */
            source: str(`${DB_IDENTIFIER_RULE}; the primary's RDS instance to copy`, isDbIdentifier),
            /** EventBridge schedule of the source machine. Defaults to `rate(1 day)`. */
            schedule: str(SCHEDULE_RULE, isScheduleExpression).default("rate(1 day)"),
            /** Whether the source schedule runs. Defaults to false. */
            scheduleEnabled: bool().default(false),
            /** Copies kept, 1-20. Defaults to 2. */
            keep: int(1, 20).default(2),
            /** Base name of the copies on dr. Defaults to the source identifier. */
            targetName: str(DB_IDENTIFIER_RULE, isDbIdentifier).optional(),
            /** Secret on dr with the current copy. Defaults to `<namePrefix>/copy/<targetName>`. */
            secretName: str("expected a Secrets Manager name: 1-512 letters, digits or /_+=.@-", (s) => /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(s)).optional(),
            restore: map(
                {
                    instanceClass: str("expected an RDS instance class such as db.t4g.medium", (s) => INSTANCE_CLASS_RE.test(s)).default("db.t4g.medium"),
                    subnetGroupName: str("expected a DB subnet group name (letters, digits, spaces, periods, underscores, hyphens)", (s) => /^[A-Za-z0-9 ._-]{1,255}$/.test(s)).optional(),
                    securityGroupIds: strList('expected a list of security group ids, e.g. ["sg-0123456789abcdef0"]', (s) => /^sg-[0-9a-f]{8,17}$/.test(s)).optional(),
                    parameterGroupName: str("expected a DB parameter group name: a letter, then letters, digits or hyphens", (s) => /^[A-Za-z][A-Za-z0-9-]{0,254}$/.test(s)).optional(),
                    multiAz: bool().default(false),
                    tags: strMap().default({}),
                },
                "expected a map with instanceClass, subnetGroupName, securityGroupIds, parameterGroupName, multiAz and tags",
            )
                .transform((r) => ({ instanceClass: r.instanceClass, subnetGroupName: r.subnetGroupName, securityGroupIds: r.securityGroupIds, parameterGroupName: r.parameterGroupName, multiAz: r.multiAz, tags: r.tags }))
                .default({ instanceClass: "db.t4g.medium", subnetGroupName: undefined, securityGroupIds: undefined, parameterGroupName: undefined, multiAz: false, tags: {} }),
        },
        "expected a map with source and the other copy settings",
    ).transform((c) => ({ ...c, targetName: c.targetName ?? c.source }));
}

function restoreSchema(c: SchemaContext) {
    // A schedule's input may leave out isCluster: the kind the databases list gives its identifier.
    const fillKinds = (v: unknown) => {
        if (!v || typeof v !== "object" || Array.isArray(v)) return v;
        const r = v as { databases?: unknown; schedules?: unknown };
        if (!Array.isArray(r.databases) || !Array.isArray(r.schedules)) return v;
        const kinds = new Map<string, unknown>();
        for (const d of r.databases) {
            if (typeof d === "string") kinds.set(d, defaultKind(c, d));
            else if (d && typeof d === "object" && typeof (d as { identifier?: unknown }).identifier === "string") {
                const e = d as { identifier: string; isCluster?: unknown };
                kinds.set(e.identifier, e.isCluster === "true" ? true : e.isCluster === "false" ? false : (e.isCluster ?? defaultKind(c, e.identifier)));
            }
        }
        const schedules = r.schedules.map((s) => {
            const input = (s as { input?: unknown } | null)?.input;
            if (!input || typeof input !== "object" || Array.isArray(input)) return s;
            const i = input as { identifier?: unknown; isCluster?: unknown };
            if (i.isCluster !== undefined || typeof i.identifier !== "string" || !kinds.has(i.identifier.toLowerCase())) return s;
            return { ...(s as object), input: { ...i, isCluster: kinds.get(i.identifier.toLowerCase()) } };
        });
        return { ...r, schedules };
    };
    return z.preprocess(fillKinds, restoreMap(c));
}

function restoreMap(c: SchemaContext) {
    return map(
        {
            /** The instances/clusters the machine may restore. Required, at least one. */
            databases: z
                .array(restoreDatabase(c), { error: RESTORE_DATABASE_RULE })
                .min(1, { error: "expected at least one identifier" })
                .superRefine((l, ctx) => uniqueIdentifiers(l, ctx, "database", (i) => [i])),
            /** Seconds between polls. Defaults to 60. */
            pollIntervalSeconds: int(5, 3600).default(60),
            /** Polls per wait before failing. Defaults to 180. */
            maxAttempts: int(1, 10000).default(180),
            /** Pilotlight snapshots kept per database. Defaults to 2. */
            keepSnapshots: int(1, 100).default(2),
            /** Alert on success too. Defaults to false. */
            notifyOnSuccess: bool().default(false),
            /** Enable export_snapshot into the media bucket under this prefix. Defaults to none: export refused. */
            exportPrefix: str("expected an S3 key prefix of letters, digits, hyphens, underscores and slashes, e.g. rds-exports", (s) => /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(s)).optional(),
            /** Scheduled runs. Defaults to none. */
            schedules: z
                .array(
                    map(
                        {
                            /** Rule name suffix: 1-40 lowercase letters, digits, hyphens. */
                            name: str("expected 1-40 lowercase letters, digits or hyphens", (s) => /^[a-z0-9][a-z0-9-]{0,39}$/.test(s)),
                            /** EventBridge `cron(...)` or `rate(...)` expression. */
                            expression: str("expected an EventBridge schedule like cron(0 3 * * ? *) or rate(1 day)", (s) => /^(cron|rate)\(.+\)$/.test(s)),
                            /** Execution input: {identifier, task, isCluster[, snapshotIdentifier]}. */
                            input: z.unknown().transform((v, ctx) => {
                                try {
                                    return parseRequest(v);
                                } catch (err) {
                                    ctx.addIssue({ code: "custom", message: `expected a restore machine input: ${(err as Error).message}` });
                                    return z.NEVER;
                                }
                            }),
                            /** Defaults to false: the rule is created DISABLED. */
                            enabled: bool().default(false),
                        },
                        "expected a map with name, expression, input and enabled",
                    ),
                    { error: "expected a list of {name, expression, input, enabled}" },
                )
                .default([]),
        },
        "expected a map with at least databases: [<identifier>, ...]",
    )
        .superRefine((r, ctx) => {
            r.schedules.forEach((s, i) => {
                const db = r.databases.find((d) => d.identifier === s.input.identifier);
                if (!db) ctx.addIssue({ code: "custom", message: `expected one of pilotlight:restore.databases (${r.databases.map((d) => d.identifier).join(", ")})`, path: ["schedules", i, "input", "identifier"] });
                else if (db.isCluster !== s.input.isCluster) {
                    ctx.addIssue({ code: "custom", message: `expected ${db.isCluster}: pilotlight:restore.databases lists '${db.identifier}' as ${db.isCluster ? "an Aurora cluster" : "an RDS instance"}`, path: ["schedules", i, "input", "isCluster"] });
                }
            });
        })
        .transform((r) => ({ ...r, exportPrefix: r.exportPrefix }));
}

function auroraFailoverSchema() {
    return map(
        {
            /** Clusters to watch. Defaults to none. */
            clusters: z
                .array(
                    map(
                        {
                            /** Aurora cluster identifier, lowercase as RDS stores it. */
                            identifier: z.unknown().superRefine((id, ctx) => {
                                const problem = clusterIdentifierProblem(id);
                                if (problem) ctx.addIssue({ code: "custom", message: problem });
                                // RDS stores identifiers in lowercase, and its events name the cluster that way: a
                                // pattern on "Orders-Aurora" would never match.
                                else if ((id as string) !== (id as string).toLowerCase()) ctx.addIssue({ code: "custom", message: `expected lowercase, as RDS stores identifiers and names them in its events: "${(id as string).toLowerCase()}"` });
                            }) as unknown as z.ZodString,
                            /** Intended writer class. Defaults to the cluster's `pilotlight:writer-class` tag. */
                            writerClass: z.unknown().refine((v) => isInstanceClass(v), { error: "expected an instance class such as db.r6g.2xlarge, or leave it out to use the cluster's pilotlight:writer-class tag" }).optional() as unknown as z.ZodOptional<z.ZodString>,
                            /** Enhanced-monitoring role in this account. Defaults to none. */
                            monitoringRoleArn: z.string({ error: "expected the ARN of an IAM role in this account" }).optional(),
                        },
                        "expected a map with identifier and optionally writerClass and monitoringRoleArn",
                    ),
                    { error: "expected a list of clusters, e.g. [{identifier: orders-aurora, writerClass: db.r6g.2xlarge}]" },
                )
                .superRefine((l, ctx) => uniqueIdentifiers(l, ctx, "cluster", (i) => [i, "identifier"]))
                .default([]),
            /** At most one recovery per cluster within this many hours. Defaults to 24. */
            windowHours: int(1, 720).default(24),
            /** After a recovery: keep, delete or resize the demoted instance. Defaults to `keep`. */
            afterRecovery: oneOf(AFTER_RECOVERY as unknown as readonly ["keep", "delete", "resize"]).default("keep"),
            /** Alert after a successful recovery too. Defaults to true. */
            notifyOnSuccess: bool().default(true),
        },
        "expected a map with clusters, windowHours, afterRecovery and notifyOnSuccess",
    ).default({ clusters: [], windowHours: 24, afterRecovery: "keep", notifyOnSuccess: true });
}

type Sections = ReturnType<typeof stackSchema>;
type Out<K extends keyof Sections> = z.output<Sections[K]>;

// ---------------------------------------------------------------- the types

/** The peer stack: the other half of the pilot light. Its resource names are computed from this. */
export type PeerConfig = Out<"peer">;
/** Network settings, with the VPC CIDR and zones. */
export type NetworkConfig = { vpcCidr: string; availabilityZones: string[] } & Out<"network">;
/** Media bucket replication settings. */
export type MediaConfig = Omit<Out<"media">, "replicateBack"> & { replicateBack: boolean };
/** The workload database. */
export type DatabaseConfig = Out<"database">;
/** How the Database component deploys the workload database. */
export type DatabaseDeploymentConfig = Omit<DatabaseConfig, "engine" | "port">;
/** dr only: the failover database's source. */
export type FailoverDatabaseConfig = Omit<NonNullable<Out<"failoverDatabase">>, "sourceIdentifier"> & { sourceIdentifier: string };
/** The app tier. */
export type AppConfig = Out<"app">;
/** Route 53 failover routing; both stacks name the same zone and record. */
export type DnsConfig = NonNullable<Out<"dns">>;
/** Scheduled snapshots copied to the DR region. */
export type BackupsConfig = NonNullable<Out<"backups">>;
/** A database the backup and copy machines work on. */
export type BackupDatabase = BackupsConfig["databases"][number];
/** AMI backups. */
export type ImageBackupsConfig = NonNullable<BackupsConfig["images"]>;
/** Cross-account copy of one instance, read by both stacks. */
export type CopyConfig = Omit<NonNullable<Out<"copy">>, "secretName"> & { secretName: string };
/** How the target side restores a shared snapshot. */
export type CopyRestoreConfig = CopyConfig["restore"];
/** The restore machine on the primary. */
export type RestoreConfig = NonNullable<Out<"restore">>;
/** One scheduled run of the restore machine. */
export type RestoreScheduleConfig = RestoreConfig["schedules"][number];
/** Alert channels besides the SNS topic. */
export type AlertsConfig = Out<"alerts">;
/** DR readiness metrics, alarms and dashboard (`pilotlight:readiness`). */
export type ReadinessConfig = Out<"readiness">;
/** Aurora failover recovery settings. */
export type AuroraFailoverConfig = Out<"auroraFailover">;
/** One Aurora cluster whose failovers to a smaller reader the primary repairs. */
export type AuroraFailoverCluster = AuroraFailoverConfig["clusters"][number];

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
    /** dr only: where the failover database comes from; required with `failover: true`. */
    failoverDatabase?: FailoverDatabaseConfig;
    app: AppConfig;
    /** Route 53 failover routing; none when unset. */
    dns?: DnsConfig;
    /** Extra tags on every resource. */
    tags: Record<string, string>;
    /** Scheduled snapshots copied to the DR region; absent when not configured. */
    backups?: BackupsConfig;
    /** Cross-account copy of one instance; absent when not configured. */
    copy?: CopyConfig;
    /** primary only: the restore machine. Undefined when `pilotlight:restore` is not set. */
    restore?: RestoreConfig;
    /** Alert channels shared by the machines. */
    alerts: AlertsConfig;
    /** DR readiness metrics, alarms and dashboard (`pilotlight:readiness`). */
    readiness: ReadinessConfig;
    /** Service-linked roles this stack creates (`pilotlight:serviceLinkedRoles`), a subset of `SERVICE_LINKED_ROLES`. Defaults to all of them. */
    serviceLinkedRoles: string[];
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

// ---------------------------------------------------------------- messages

function show(v: unknown): string {
    if (v === undefined) return "missing";
    return JSON.stringify(v);
}

/** `a.b[0].c`: the form `pulumi config set --path` takes. */
export function keyPath(parts: readonly PropertyKey[]): string {
    return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/**
 * Turns schema issues into problems: `pilotlight:<key> is <value>; <what would be right>`. The value
 * is the one written in the file; where the path enters a value that is not a map or list (a
 * shorthand entry), the key stops there and that value is shown.
 */
function problemsOf(issues: readonly z.core.$ZodIssue[], base: PropertyKey[], raw: unknown): string[] {
    const out: string[] = [];
    for (const iss of issues) {
        let parts = [...base, ...iss.path];
        let value: unknown = raw;
        for (let i = base.length; i < parts.length; i++) {
            if (value === null || typeof value !== "object") {
                if (value !== undefined) parts = parts.slice(0, i);
                break;
            }
            value = (value as Record<PropertyKey, unknown>)[parts[i]];
        }
        if (iss.code === "unrecognized_keys") {
            for (const line of iss.message.split("\n")) {
                const [key, advice] = line.split(UNKNOWN_SEP);
                out.push(`pilotlight:${keyPath([...parts, key])} is not a key; ${advice.replace("{}", `pilotlight:${parts.length > 0 ? `${keyPath(parts)}.` : ""}`)}`);
            }
            continue;
        }
        const shown = iss.code === "custom" && iss.params && "value" in iss.params ? iss.params.value : value;
        out.push(`pilotlight:${keyPath(parts)} is ${show(shown)}; ${iss.message}`);
    }
    // A misspelt required key is reported once, as the typo: not also as missing.
    const suggested = new Set(out.map((p) => / is not a key; did you mean (\S+)\?$/.exec(p)?.[1]).filter((k) => k !== undefined));
    return [...new Set(out.filter((p) => !suggested.has(/^(\S+) is missing;/.exec(p)?.[1] ?? "")))];
}

// ---------------------------------------------------------------- derived names

/** A physical name pilotlight derives from config, and the AWS limit it must fit. */
export interface DerivedName {
    /** What AWS calls it. */
    what: string;
    name: string;
    /** Longest name AWS accepts. */
    max: number;
    /** The keys whose values make up the name (the first is the one to shorten). */
    keys: string[];
}

/**
 * The longest physical names derived from the prefix, regions, accounts and listed names, with
 * the limits AWS sets: S3 bucket names 3-63 characters; IAM role names and Lambda function names
 * at most 64; EventBridge rule names at most 64; ElastiCache replication group ids at most 40;
 * RDS identifiers that the restore machine renames at most 63 with its suffix. Exported for testing.
 */
export function derivedNames(cfg: Pick<StackConfig, "namePrefix" | "accountId" | "region" | "peer" | "restore">): DerivedName[] {
    const p = cfg.namePrefix;
    const names: DerivedName[] = [];
    for (const [accountId, region, key] of [
        [cfg.accountId, cfg.region, "aws:region"],
        [cfg.peer.accountId, cfg.peer.region, "peer.region"],
    ] as const) {
        names.push({ what: "S3 bucket name", name: `${p}-media-${accountId}-${region}`, max: 63, keys: ["namePrefix", key] });
        names.push({ what: "IAM role name", name: `${p}-media-replication-${region}`, max: 64, keys: ["namePrefix", key] });
        names.push({ what: "IAM role name", name: `${p}-media-failback-${region}`, max: 64, keys: ["namePrefix", key] });
    }
    names.push({ what: "RDS identifier the restore machine renames", name: `${p}-db`, max: MAX_MANAGED_IDENTIFIER, keys: ["namePrefix"] });
    names.push({ what: "ElastiCache replication group id", name: `${p}-redis`, max: 40, keys: ["namePrefix"] });
    names.push({ what: "Lambda function name", name: `${p}-restore-apply-settings`, max: 64, keys: ["namePrefix"] });
    (cfg.restore?.schedules ?? []).forEach((s, i) => {
        names.push({ what: "EventBridge rule name", name: `${p}-restore-${s.name}`, max: 64, keys: [`restore.schedules[${i}].name`, "namePrefix"] });
    });
    return names;
}

// ---------------------------------------------------------------- the whole stack file

/** What a stack file says besides its `pilotlight:` keys. */
export interface StackEnvironment {
    /** `aws:allowedAccountIds` as the engine gives it (a JSON list) or as a list. */
    allowedAccountIds?: unknown;
    /** Keys of other namespaces (`ns:key`), which this program does not read. */
    foreignKeys?: string[];
}

/** `aws:` keys the AWS provider reads at deployment; the program itself reads only region and allowedAccountIds. */
const AWS_KEYS_READ = ["aws:region", "aws:allowedAccountIds"];

/**
 * Validates a stack's raw config. Pure: tests call it table-driven.
 * @param raw keys of the `pilotlight:` namespace, without it.
 * @param env `aws:allowedAccountIds` and the keys of other namespaces.
 */
export function parseStackConfig(stack: string, raw: RawConfig, awsRegion: string | undefined, project = "pilotlight", isSecret: (key: string) => boolean = () => false, env: StackEnvironment = {}): StackConfig {
    const file = `Pulumi.${stack}.yaml`;
    const problems: string[] = [];
    const fail = (key: string, value: unknown, expected: string) => problems.push(`pilotlight:${key} is ${show(value)}; ${expected}`);

    const regionIssue = regionProblem(awsRegion);
    if (regionIssue) problems.push(`aws:region is ${show(awsRegion)}; ${regionIssue}`);
    const region = regionIssue ? "" : (awsRegion as string);

    // The workload database's kind is the default kind of every list entry that names it.
    const first = stackSchema({ stack, region });
    const prefixOk = first.namePrefix.safeParse(raw.namePrefix);
    const databaseOk = first.database.safeParse(raw.database);
    // An existing database (primary) is the workload database; otherwise the program's `<namePrefix>-db`.
    const existingDb = databaseOk.success && raw.role !== "dr" ? databaseOk.data.existing : undefined;
    const workload = prefixOk.success && databaseOk.success ? { identifier: existingDb ?? `${prefixOk.data}-db`, isCluster: isAuroraEngine(databaseOk.data.engine) } : undefined;
    const schema = stackSchema({ stack, region, workload });
    const known = Object.keys(schema);
    for (const key of Object.keys(raw)) {
        if (known.includes(key)) continue;
        // A nested key written at the top (`pilotlight:engine` for `pilotlight:database.engine`).
        const nested = closestKey(key, known) === undefined ? Object.entries(schema).find(([, s]) => keysOf(s as z.ZodType).some((k) => k.toLowerCase() === key.toLowerCase())) : undefined;
        const advice = nested ? `did you mean pilotlight:${nested[0]}.${keysOf(nested[1] as z.ZodType).find((k) => k.toLowerCase() === key.toLowerCase())}?` : unknownKeyAdvice(key, known).replace("{}", "pilotlight:");
        problems.push(`pilotlight:${key} is not a key; ${advice}`);
    }
    for (const key of env.foreignKeys ?? []) {
        if (key.startsWith("aws:")) continue;
        const name = key.slice(key.indexOf(":") + 1);
        const near = known.includes(name) ? name : closestKey(name, known);
        problems.push(`${key} is not read by this program (its keys are ${project}:<key>, plus ${AWS_KEYS_READ.join(" and ")})${near ? `; did you mean ${project}:${near}?` : ""}`);
    }

    // An existing VPC's subnets are in their own zones: availabilityZones is then not read.
    const rawNetwork = asMap(raw.network);
    const existingNetwork = rawNetwork?.existing !== undefined;

    // Each key on its own, so one wrong section does not hide the problems of the others.
    const failed = new Set<string>();
    const parsed: Record<string, unknown> = {};
    for (const [key, s] of Object.entries(schema)) {
        if (key === "availabilityZones" && existingNetwork) {
            if (raw[key] !== undefined) fail(key, raw[key], "not used with pilotlight:network.existing: the existing subnets are in their own zones; remove it");
            parsed[key] = [];
            continue;
        }
        const r = (s as z.ZodType).safeParse(raw[key]);
        if (r.success) parsed[key] = r.data;
        else {
            failed.add(key);
            problems.push(...problemsOf(r.error.issues, [key], raw[key]));
            const dflt = (s as z.ZodType).safeParse(undefined);
            parsed[key] = dflt.success ? dflt.data : undefined;
        }
    }
    const v = parsed as { [K in keyof Sections]: Out<K> };
    const ok = (...keys: string[]) => keys.every((k) => !failed.has(k));

    // Webhook URLs are credentials: refuse them in plaintext, without echoing them.
    if (raw.slackWebhookUrls !== undefined && !isSecret("slackWebhookUrls")) {
        problems.push(`pilotlight:slackWebhookUrls is stored in plaintext (value not shown); store it encrypted: pulumi config set --secret slackWebhookUrls '["https://hooks.slack.com/services/..."]' -s ${stack}`);
    }

    const role = (v.role ?? "primary") as StackRole;
    const primary = role === "primary";
    const namePrefix = v.namePrefix;
    const accountId = v.accountId ?? "";
    const peer = (v.peer ?? { stack: "", accountId: "", region: "", vpcCidr: "" }) as PeerConfig;

    // aws:allowedAccountIds keeps the provider from deploying into any other account than accountId.
    if (env.allowedAccountIds !== undefined && ok("accountId")) {
        let allowed: unknown = env.allowedAccountIds;
        if (typeof allowed === "string") {
            try {
                allowed = JSON.parse(allowed);
            } catch {
                // Reported below as the string it is.
            }
        }
        if (!Array.isArray(allowed) || allowed.length !== 1 || String(allowed[0]) !== accountId) {
            problems.push(`aws:allowedAccountIds is ${show(allowed)}; expected ["${accountId}"], the account pilotlight:accountId names: names and ARNs are computed from pilotlight:accountId, so the provider must refuse any other account`);
        }
    }

    if (ok("peer")) {
        if (peer.stack === stack) fail("peer.stack", peer.stack, `expected the other stack's name, not this stack's own (${stack})`);
        if (region && peer.region === region) fail("peer.region", peer.region, `expected a region other than this stack's own (${region}): a pilot light in the same region does not survive a regional outage`);
    }
    if (ok("vpcCidr", "peer") && cidrsOverlap(v.vpcCidr, peer.vpcCidr)) {
        fail("vpcCidr", v.vpcCidr, `must not overlap the peer's pilotlight:peer.vpcCidr ${peer.vpcCidr}; pick disjoint ranges (e.g. 10.10.0.0/16 and 10.20.0.0/16) so the VPCs can be peered and routes never collide`);
    }
    if (ok("vpcCidr", "availabilityZones") && !existingNetwork) {
        // An Application Load Balancer needs a /27 or larger subnet in each zone it serves.
        const plan = planSubnets(v.vpcCidr, v.availabilityZones.length);
        const smallest = Math.max(...plan.public.map((c) => parseCidr(c)!.prefix));
        if (smallest > 27) {
            fail("vpcCidr", v.vpcCidr, `its public subnets would be /${smallest} (${plan.public[0]}, ...), but a load balancer needs at least a /27 in each zone; use a larger VPC (e.g. a /16)`);
        }
    }

    if (v.failover && primary) {
        fail("failover", true, "failover applies only to a dr stack; set it on the dr stack (pulumi config set failover true -s <dr stack>) and leave it unset here");
    }
    if (primary && v.media.replicateBack !== undefined) {
        fail("media.replicateBack", v.media.replicateBack, "replicateBack applies only to the dr stack, whose bucket replicates back while failed over; remove it from the primary's config");
    }
    const media: MediaConfig = { ...v.media, replicateBack: v.media.replicateBack ?? true };

    const database = v.database;
    const engine = database.engine;
    const copy: CopyConfig | undefined = v.copy ? { ...v.copy, secretName: v.copy.secretName ?? `${namePrefix}/copy/${v.copy.targetName}` } : undefined;

    // failoverDatabase: validated whenever present; required on a dr stack with failover on.
    const howTo =
        'set pilotlight:failoverDatabase.source to "latestCopy" (the newest snapshot copied into this region), "snapshot" (with pilotlight:failoverDatabase.snapshotIdentifier), "pointInTime" (with pilotlight:failoverDatabase.automatedBackupsArn) or "adopt" (with pilotlight:failoverDatabase.secretName)';
    let failoverDatabase: FailoverDatabaseConfig | undefined;
    if (raw.failoverDatabase === undefined) {
        if (v.failover && !primary) fail("failoverDatabase", undefined, `failover needs a database source: ${howTo}`);
    } else if (primary) {
        fail("failoverDatabase", raw.failoverDatabase, "failoverDatabase applies only to a dr stack (it says where the failover database comes from); remove it here");
    } else if (v.failoverDatabase) {
        const f = v.failoverDatabase;
        failoverDatabase = { ...f, sourceIdentifier: f.sourceIdentifier ?? `${namePrefix}-db` };
        if (f.source === "snapshot" && f.snapshotIdentifier === undefined) {
            fail("failoverDatabase.snapshotIdentifier", undefined, 'failoverDatabase.source "snapshot" needs the DB snapshot identifier (or ARN) to restore, e.g. pilotlight-db-2026-01-31');
        }
        if (f.source === "pointInTime") {
            if (ok("database") && isAuroraEngine(engine)) fail("failoverDatabase.source", f.source, `${engine} has no cross-region automated backup replication; use "latestCopy", "snapshot" or "adopt"`);
            if (f.automatedBackupsArn === undefined) {
                fail("failoverDatabase.automatedBackupsArn", undefined, `failoverDatabase.source "pointInTime" needs the ARN of the automated backups replicated into ${region || "this region"}, e.g. arn:aws:rds:${region || "us-west-2"}:222222222222:auto-backup:ab-abc123`);
            }
        }
        if (f.source === "adopt") {
            if (f.secretName === undefined && copy === undefined) {
                fail("failoverDatabase.secretName", undefined, 'failoverDatabase.source "adopt" needs the name or ARN of the copy target\'s secret {host, port, identifier, version} (or a pilotlight:copy section, whose secret it then uses)');
            } else if (f.secretName === undefined) failoverDatabase.secretName = copy!.secretName;
            if (ok("database") && isAuroraEngine(engine)) fail("failoverDatabase.source", f.source, `the copy target restores RDS instances, not ${engine} clusters; use "latestCopy" or "snapshot"`);
        }
    }

    const app = v.app;
    // What the program does not create, it does not configure: keys that would be silently ignored are refused.
    const rawApp = asMap(raw.app) ?? {};
    const rawDatabase = asMap(raw.database) ?? {};
    if (database.existing !== undefined) {
        if (!primary && ok("role")) {
            fail("database.existing", database.existing, "applies only to the primary stack; dr creates its own database at failover from the primary's copies: name the primary's database in pilotlight:failoverDatabase.sourceIdentifier instead");
        } else {
            for (const k of DATABASE_CREATION_KEYS) {
                if (rawDatabase[k] !== undefined) fail(`database.${k}`, rawDatabase[k], `not used with pilotlight:database.existing (${database.existing}): pilotlight neither creates nor changes that database; remove it`);
            }
            if (app.enabled && ok("app")) {
                fail("app.enabled", app.enabled, `expected false with pilotlight:database.existing (${database.existing}): the app tier connects only to a database this program creates, and ${database.existing}'s application keeps its own settings`);
            }
        }
    }
    if (!app.enabled) {
        for (const k of Object.keys(rawApp)) if (k !== "enabled") fail(`app.${k}`, rawApp[k], "not used with pilotlight:app.enabled false (this stack has no app tier); remove it");
        if (rawNetwork?.appPort !== undefined) fail("network.appPort", rawNetwork.appPort, "not used with pilotlight:app.enabled false (this stack has no app tier); remove it");
        if (v.dns) fail("dns", raw.dns, "the records fail over between the stacks' load balancers, which pilotlight:app.enabled false leaves out; remove pilotlight:dns from both stack files or enable the app tier");
    } else if (!app.redis) {
        for (const k of ["redisNodeType", "redisNodes", "redisEngineVersion"]) if (rawApp[k] !== undefined) fail(`app.${k}`, rawApp[k], "not used with pilotlight:app.redis false (no cache); remove it");
    }
    const existingVpc = v.network.existing;
    if (existingVpc) {
        if (app.enabled && existingVpc.publicSubnetIds === undefined) {
            fail("network.existing.publicSubnetIds", undefined, "the app tier's internet-facing load balancer needs public subnets in at least 2 zones: list them, or set pilotlight:app.enabled false");
        }
        if (rawNetwork?.natGateways !== undefined) {
            fail("network.natGateways", rawNetwork.natGateways, "not used with pilotlight:network.existing: the existing VPC's own routes (NAT or endpoints) carry the app tier's and the Lambdas' traffic; remove it");
        }
    }
    if (app.certificateArn && region) {
        const certRegion = certificateRegion(app.certificateArn);
        if (certRegion && certRegion !== region) {
            fail("app.certificateArn", app.certificateArn, `expected a certificate in this stack's region ${region}, not ${certRegion}: a load balancer can only use an ACM certificate of its own region (request or import one in ${region})`);
        }
    }
    const dns = v.dns;
    if (dns?.holdOnDr && !primary) fail("dns.holdOnDr", true, "holdOnDr applies only to the primary stack, whose PRIMARY record it holds off; set it there");

    const auroraFailover = v.auroraFailover;
    if (auroraFailover.clusters.length > 0 && !primary && ok("role")) {
        fail("auroraFailover.clusters", auroraFailover.clusters.map((x) => x.identifier), "Aurora failover recovery runs on the primary stack only; list the clusters in the primary's stack file");
    }
    auroraFailover.clusters.forEach((cl, i) => {
        if (cl.monitoringRoleArn !== undefined && !new RegExp(`^arn:aws:iam::${accountId}:role/[\\w+=,.@/-]{1,512}$`).test(cl.monitoringRoleArn)) {
            fail(`auroraFailover.clusters[${i}].monitoringRoleArn`, cl.monitoringRoleArn, `expected the ARN of an IAM role in this account, e.g. arn:aws:iam::${accountId || "111111111111"}:role/rds-monitoring`);
        }
    });

    const backups = v.backups;
    if (backups?.automatedBackupReplication && ok("accountId", "peer") && accountId !== peer.accountId) {
        fail("backups.automatedBackupReplication", true, "RDS replicates automated backups only into another region of the same account; with the peer in another account use pilotlight:copy (cross-account copies) and the scheduled backups instead");
    } else if (backups?.automatedBackupReplication && backups.databases.length > 0 && backups.databases.every((d) => d.isCluster)) {
        fail("backups.automatedBackupReplication", true, "applies to RDS instances only; list at least one instance (isCluster: false) or turn it off (Aurora clusters use Aurora global databases instead)");
    }

    if (primary && v.readiness.rpoMinutes !== undefined && ok("role")) {
        fail("readiness.rpoMinutes", v.readiness.rpoMinutes, "rpoMinutes applies to the dr stack, which measures the recovery points its failover would restore; set it in the dr stack's file");
    }

    const restore = v.restore;
    if (raw.restore !== undefined && !primary && ok("role")) {
        fail("restore", raw.restore, "the restore machine runs on the primary stack only; remove pilotlight:restore from this stack");
    }

    // The workload database has one kind; every list that names it must say the same.
    if (ok("database", "namePrefix")) {
        const workload = workloadIdentifier({ role, namePrefix, database });
        const isCluster = isAuroraEngine(engine);
        const kind = (c: boolean) => (c ? "an Aurora cluster" : "an RDS instance");
        const lists: [string, { identifier: string; isCluster: boolean }[] | undefined][] = [
            ["restore.databases", restore?.databases],
            ["backups.databases", backups?.databases],
        ];
        for (const [key, list] of lists) {
            list?.forEach((d, i) => {
                if (d.identifier === workload && d.isCluster !== isCluster) {
                    fail(`${key}[${i}].isCluster`, d.isCluster, `expected ${isCluster}: ${workload} is the workload database, ${kind(isCluster)} (pilotlight:database.engine ${engine})`);
                }
            });
        }
        if (copy && copy.source === workload && isCluster) {
            fail("copy.source", copy.source, `the cross-account copy restores RDS instances, but ${workload} is an Aurora cluster (pilotlight:database.engine ${engine}); protect it with pilotlight:backups instead`);
        }
        auroraFailover.clusters.forEach((cl, i) => {
            if (cl.identifier === workload && !isCluster) fail(`auroraFailover.clusters[${i}].identifier`, cl.identifier, `${workload} is the workload database, an RDS instance (pilotlight:database.engine ${engine}); Aurora failover recovery watches Aurora clusters only`);
        });
    }

    // Names AWS would refuse: long prefixes, regions and schedule names add up.
    if (ok("namePrefix", "accountId", "peer", "restore") && region) {
        for (const n of derivedNames({ namePrefix, accountId, region, peer, restore })) {
            if (n.name.length > n.max) {
                const [key, ...others] = n.keys;
                const value = key === "aws:region" ? region : key === "peer.region" ? peer.region : key === "namePrefix" ? namePrefix : restore?.schedules[Number(/\[(\d+)\]/.exec(key)?.[1])]?.name;
                const shown = key.startsWith("aws:") ? `${key} is ${show(value)}` : `pilotlight:${key} is ${show(value)}`;
                problems.push(`${shown}; it makes the ${n.what} ${n.name} (${n.name.length} characters), but AWS allows at most ${n.max}: shorten ${[key, ...others].map((k) => (k.startsWith("aws:") ? k : `pilotlight:${k}`)).join(" or ")}`);
            }
        }
    }

    if (problems.length > 0) throw new ConfigError(file, [...new Set(problems)]);
    return {
        project,
        stack,
        role,
        namePrefix,
        accountId,
        region,
        peer,
        failover: v.failover,
        network: { vpcCidr: v.vpcCidr, availabilityZones: v.availabilityZones, ...v.network },
        media,
        database,
        failoverDatabase,
        app,
        dns,
        auroraFailover,
        tags: v.tags,
        backups,
        copy,
        restore,
        alerts: v.alerts,
        readiness: v.readiness,
        serviceLinkedRoles: v.serviceLinkedRoles,
    };
}

/**
 * What a valid config leaves out that an operator should know about; `loadConfig` logs each as a
 * warning. Exported for testing.
 */
export function configWarnings(cfg: StackConfig): string[] {
    const warnings: string[] = [];
    const workload = workloadIdentifier(cfg);
    // The failback brings dr's data home through the restore machine: only for a database it lists.
    if (cfg.role === "primary" && cfg.restore && !cfg.restore.databases.some((d) => d.identifier === workload)) {
        const entry = isAuroraEngine(cfg.database.engine) ? `{"identifier": "${workload}", "isCluster": true}` : `"${workload}"`;
        warnings.push(
            `pilotlight:restore.databases is ${show(cfg.restore.databases.map((d) => d.identifier))}; it leaves out the workload database ${workload}, so no failback machine is deployed and after a failover dr's data cannot come home through pilotlight; add ${entry} unless you bring it home another way`,
        );
    }
    return warnings;
}

// ---------------------------------------------------------------- the two stack files together

/** One stack file as the cross-file checks see it. */
export interface StackFile {
    /** `Pulumi.<stack>.yaml`. */
    file: string;
    /** Keys of the project's namespace, without it. */
    raw: RawConfig;
    /** `aws:region`. */
    region: string | undefined;
}

/**
 * What each file says of itself and of the other must agree: the peer's account, region and CIDR,
 * the name prefix, the database engine and the DNS record. Pure; both files are named in every
 * problem. Exported for testing.
 */
export function crossCheckStackFiles(own: StackFile, other: StackFile): string[] {
    const problems: string[] = [];
    const get = (f: StackFile, key: string): unknown => key.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), f.raw);
    const said = (f: StackFile, key: string, value: unknown) => `${f.file} ${key === "aws:region" ? key : `pilotlight:${key}`} is ${show(value)}`;
    const self = (f: StackFile) => ({ accountId: get(f, "accountId"), region: f.region, vpcCidr: get(f, "vpcCidr") });
    // Each file's peer section against what the other file says of itself.
    for (const [a, b] of [
        [own, other],
        [other, own],
    ] as const) {
        const facts = self(b);
        for (const [key, selfKey] of [
            ["peer.accountId", "accountId"],
            ["peer.region", "aws:region"],
            ["peer.vpcCidr", "vpcCidr"],
        ] as const) {
            const stated = get(a, key);
            const actual = facts[selfKey === "aws:region" ? "region" : selfKey];
            if (stated !== undefined && actual !== undefined && String(stated) !== String(actual)) {
                problems.push(`${said(a, key, stated)} but ${said(b, selfKey, actual)}; the two must agree`);
            }
        }
    }
    const peerStack = get(other, "peer.stack");
    const ownStack = /^Pulumi\.(.+)\.yaml$/.exec(own.file)?.[1];
    if (peerStack !== undefined && ownStack !== undefined && peerStack !== ownStack) {
        problems.push(`${said(other, "peer.stack", peerStack)} but this stack is ${ownStack} (${own.file}); the two must name each other`);
    }
    const same = (key: string, dflt: unknown) => {
        const a = get(own, key) ?? dflt;
        const b = get(other, key) ?? dflt;
        if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${said(own, key, a)} but ${said(other, key, b)}; both stacks must use the same value`);
    };
    same("namePrefix", "pilotlight");
    same("database.engine", "postgres");
    // dr restores the primary's snapshots: the same port (its security group and restore test open it).
    const port = (f: StackFile) => {
        const engine = get(f, "database.engine") ?? "postgres";
        const stated = get(f, "database.port");
        return stated !== undefined ? Number(stated) : (DATABASE_ENGINES as readonly unknown[]).includes(engine) ? enginePort(engine as DatabaseEngine) : undefined;
    };
    if (port(own) !== port(other)) {
        const says = (f: StackFile) => (get(f, "database.port") === undefined ? `${f.file} leaves pilotlight:database.port at its engine's default ${port(f)}` : said(f, "database.port", get(f, "database.port")));
        problems.push(`${says(own)} but ${says(other)}; both stacks must use the same port`);
    }
    // dr fails over from the database the primary protects: an existing one must be named on dr too.
    for (const [p, d] of [
        [own, other],
        [other, own],
    ] as const) {
        const existing = get(p, "database.existing");
        if (get(p, "role") !== "primary" || get(d, "role") !== "dr" || existing === undefined || get(d, "failoverDatabase") === undefined) continue;
        // dr's failover database gets a parameter group of dr's engine version: it must be the existing database's.
        if (get(d, "database.engineVersion") === undefined) {
            problems.push(
                `${d.file} leaves pilotlight:database.engineVersion at its default, but ${said(p, "database.existing", existing)}, whose version the program cannot know offline; set pilotlight:database.engineVersion in ${d.file} to that database's major version (e.g. 15 or 8.0): dr's failover restores its snapshots with a parameter group of that version`,
            );
        }
        const stated = get(d, "failoverDatabase.sourceIdentifier");
        const source = stated ?? `${get(d, "namePrefix") ?? "pilotlight"}-db`;
        if (source !== existing) {
            problems.push(`${said(d, "failoverDatabase.sourceIdentifier", source)}${stated === undefined ? " (its default)" : ""} but ${said(p, "database.existing", existing)}; dr fails over from the database the primary protects: set pilotlight:failoverDatabase.sourceIdentifier to ${show(existing)} in ${d.file}`);
        }
    }
    if (get(own, "dns") !== undefined && get(other, "dns") !== undefined) {
        same("dns.hostedZoneId", undefined);
        same("dns.recordName", undefined);
    } else if ((get(own, "dns") === undefined) !== (get(other, "dns") === undefined)) {
        const [has, lacks] = get(own, "dns") !== undefined ? [own, other] : [other, own];
        problems.push(`${has.file} sets pilotlight:dns but ${lacks.file} does not; the PRIMARY and SECONDARY records need the same zone and name in both stacks`);
    }
    return problems;
}

/** The `pilotlight:` keys, `aws:region` and `aws:allowedAccountIds` of a stack file's YAML document. */
export function stackFileFromYaml(file: string, doc: unknown, project = "pilotlight"): StackFile & { allowedAccountIds?: unknown } {
    const config = ((doc as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
    return { file, raw: rawFromConfigMap(flat, project), region: typeof config["aws:region"] === "string" ? config["aws:region"] : undefined, allowedAccountIds: config["aws:allowedAccountIds"] };
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

/** Keys of a flat config map outside the project's namespace that the program does not read. */
export function foreignKeys(all: Record<string, string>, project = "pilotlight"): string[] {
    return Object.keys(all).filter((k) => !k.startsWith(`${project}:`) && !AWS_KEYS_READ.includes(k));
}

/** Reads and validates the current stack's config, and checks it against the peer's stack file when that is beside it. */
export function loadConfig(): StackConfig {
    const project = pulumi.getProject();
    const all = pulumi.runtime.allConfig();
    const raw = rawFromConfigMap(all, project);
    // The engine lists which keys are secrets; the runtime only exposes that internally.
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (key: string) => boolean };
    const isSecret = (key: string) => runtimeConfig.isConfigSecret?.(`${project}:${key}`) ?? false;
    const cfg = parseStackConfig(pulumi.getStack(), raw, all["aws:region"], project, isSecret, { allowedAccountIds: all["aws:allowedAccountIds"], foreignKeys: foreignKeys(all, project) });
    // Under the engine (not under test mocks, which vary one stack's config on purpose; synth shows
    // the warnings in its summary and runs the cross-file check itself).
    if (pulumi.runtime.hasEngine()) {
        for (const w of configWarnings(cfg)) pulumi.log.warn(w);
        const peerFile = path.join(process.cwd(), `Pulumi.${cfg.peer.stack}.yaml`);
        if (fs.existsSync(peerFile)) {
            const yaml = require("js-yaml") as { load: (s: string) => unknown };
            const other = stackFileFromYaml(path.basename(peerFile), yaml.load(fs.readFileSync(peerFile, "utf8")), project);
            const problems = crossCheckStackFiles({ file: `Pulumi.${cfg.stack}.yaml`, raw, region: cfg.region }, other);
            if (problems.length > 0) throw new ConfigError(`Pulumi.${cfg.stack}.yaml`, problems);
        }
    }
    return cfg;
}
