// Typed, validated view of Pulumi.<stack>.yaml. Every rule reports the key, the
// bad value and what would be right; all problems are reported at once.
import * as pulumi from "@pulumi/pulumi";
import { identifierProblem, MAX_MANAGED_IDENTIFIER } from "./functions/lib/naming";
import { parseRequest, RestoreRequest } from "./functions/lib/restoreJob";
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
    /**
     * dr only: while failed over, replicate what the DR app writes back to the primary's
     * bucket (two-way replication). A drill sets it false so that nothing reaches prod.
     * Defaults to true.
     */
    replicateBack: boolean;
}

/** The workload database, as far as the network needs it. */
export interface DatabaseConfig extends DatabaseDeploymentConfig {
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

/** How the Database component deploys the workload database (`pilotlight:database`). */
export interface DatabaseDeploymentConfig {
    /** Engine version. Defaults per engine: see `DEFAULT_ENGINE_VERSIONS`. */
    engineVersion: string;
    /** Class of the RDS instance, or of the Aurora writer (the class failover recovery restores). Defaults to `db.t4g.medium`. */
    instanceClass: string;
    /** Aurora only: class of the readers. Defaults to `instanceClass`. */
    readerClass: string;
    /** Aurora only: instances in the cluster, writer included (1-16). Defaults to 2. */
    instanceCount: number;
    /** RDS instance only: storage in GiB (20-65536). Defaults to 20. */
    allocatedStorage: number;
    /** RDS instance only: storage autoscaling ceiling in GiB, at least `allocatedStorage`. Defaults to 100. */
    maxAllocatedStorage: number;
    /** RDS instance only: a standby in a second AZ. Defaults to false. */
    multiAz: boolean;
    /** Days of automated backups, 7-35. Defaults to 7. */
    backupRetentionDays: number;
    /** Daily backup window, UTC `hh:mm-hh:mm`. Defaults to `03:00-04:00`. */
    backupWindow: string;
    /** Weekly maintenance window, UTC `ddd:hh:mm-ddd:hh:mm`. Defaults to `sun:04:30-sun:05:30`. */
    maintenanceWindow: string;
    /** Performance Insights (7 days, encrypted with the stack's key). Defaults to true. */
    performanceInsights: boolean;
    /** Enhanced Monitoring interval in seconds (0 = off, 1, 5, 10, 15, 30, 60). Defaults to 0. */
    monitoringIntervalSeconds: number;
    /** Name of the application database created in a new database. Defaults to `app`. */
    name: string;
    /** Master user name of a new database (its password is RDS-managed). Defaults to `pilotlight`. */
    masterUsername: string;
    /** Deletion protection; set false only to remove the database on purpose (e.g. dr failback). Defaults to true. */
    deletionProtection: boolean;
}

/** Engine versions used when `pilotlight:database.engineVersion` is not set. */
export const DEFAULT_ENGINE_VERSIONS: Record<DatabaseEngine, string> = {
    postgres: "16.8",
    mysql: "8.0.41",
    "aurora-postgresql": "16.6",
    "aurora-mysql": "8.0.mysql_aurora.3.08.2",
};

const ENGINE_VERSION_RE: Record<DatabaseEngine, { re: RegExp; example: string }> = {
    postgres: { re: /^\d{2}(\.\d+)?$/, example: "16.8" },
    mysql: { re: /^\d\.\d\.\d+$/, example: "8.0.41" },
    "aurora-postgresql": { re: /^\d{2}\.\d+$/, example: "16.6" },
    "aurora-mysql": { re: /^\d\.\d\.mysql_aurora\.\d+\.\d+\.\d+$/, example: "8.0.mysql_aurora.3.08.2" },
};

/** True for the Aurora engines (a cluster with instances), false for a single RDS instance. */
export function isAuroraEngine(engine: DatabaseEngine): boolean {
    return engine.startsWith("aurora-");
}

/** Where the dr stack's database comes from on failover (`pilotlight:failoverDatabase`). */
export type FailoverDatabaseSource = "latestCopy" | "snapshot" | "pointInTime" | "adopt";
export const FAILOVER_DATABASE_SOURCES: readonly FailoverDatabaseSource[] = ["latestCopy", "snapshot", "pointInTime", "adopt"];

/** dr only: the failover database's source. */
export interface FailoverDatabaseConfig {
    /**
     * `latestCopy`: the newest snapshot copied into this region whose `pilotlight:source` tag is
     * `sourceIdentifier`; `snapshot`: `snapshotIdentifier`; `pointInTime`: the replicated automated
     * backups `automatedBackupsArn` (RDS instances only); `adopt`: the instance the copy target
     * already restored, as named by the secret `secretName`.
     */
    source: FailoverDatabaseSource;
    /** Identifier of the primary's database whose copies `latestCopy` looks for. Defaults to `<namePrefix>-db`. */
    sourceIdentifier: string;
    /** `snapshot` only: DB (cluster) snapshot identifier or ARN in this region and account. */
    snapshotIdentifier?: string;
    /** `pointInTime` only: ARN of the replicated automated backups in this region. */
    automatedBackupsArn?: string;
    /** `pointInTime` only: UTC time to restore to (`2026-01-31T23:45:00Z`). Defaults to the latest restorable time. */
    restoreTime?: string;
    /** `adopt` only: name or ARN of the secret `{host, port, identifier, version}` written by the copy target. Defaults to `pilotlight:copy`'s `secretName`. */
    secretName?: string;
}

/** The app tier (`pilotlight:app`). */
export interface AppConfig {
    /** EC2 instance type. Defaults to `t3.small`. */
    instanceType: string;
    /** AMI id; defaults to the newest available image of this account tagged `pilotlight:app`. */
    amiId?: string;
    /** Auto Scaling group minimum. Defaults to 2. */
    minSize: number;
    /** Auto Scaling group maximum. Defaults to 4. */
    maxSize: number;
    /** Auto Scaling group desired capacity, between min and max. Defaults to `minSize`. */
    desiredCapacity: number;
    /** Path the load balancer and Route 53 check. Defaults to `/health`. */
    healthCheckPath: string;
    /** ACM certificate of this stack's region for HTTPS; plain HTTP when unset. */
    certificateArn?: string;
    /** Root volume size in GiB. Defaults to 20. */
    volumeSizeGb: number;
    /** ElastiCache node type. Defaults to `cache.t4g.small`. */
    redisNodeType: string;
    /** Redis nodes (1-6); 2 or more adds a replica with automatic failover. Defaults to 2. */
    redisNodes: number;
    /** Redis engine version. Defaults to `7.1`. */
    redisEngineVersion: string;
}

/** Route 53 failover routing (`pilotlight:dns`); both stacks name the same zone and record. */
export interface DnsConfig {
    /** Hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`. */
    hostedZoneId: string;
    /** The application's name, e.g. `app.example.com`. */
    recordName: string;
    /**
     * Role to assume for the zone. Defaults to none on the primary (the zone is in its account)
     * and, on a dr stack in another account, to the role the primary creates for it
     * (`<namePrefix>-dns-failover` in the peer account).
     */
    roleArn?: string;
    /**
     * Primary only: keep traffic on dr after a failover, even once the primary's health check
     * passes again (it inverts the check), so a recovered region never serves its stale data.
     * Set it when failing over, clear it as the last step of failback. Defaults to false.
     */
    holdOnDr: boolean;
}

const SNAPSHOT_ID_RE = /^([a-zA-Z][a-zA-Z0-9-]{0,254}|arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:(snapshot|cluster-snapshot):[a-zA-Z][a-zA-Z0-9:-]{0,254})$/;
const DB_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const CERT_RE = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;

/** Region of an ACM certificate ARN; undefined when it is not one. Exported for testing. */
export function certificateRegion(arn: string): string | undefined {
    return CERT_RE.exec(arn)?.[1];
}

/** The `pilotlight:database` keys beyond engine and port. */
function parseDatabaseDeployment(c: Checker, engine: DatabaseEngine): DatabaseDeploymentConfig {
    const version = ENGINE_VERSION_RE[engine];
    const engineVersion = c.string("database.engineVersion", `expected a version of ${engine} such as ${version.example}`, (s) => version.re.test(s), DEFAULT_ENGINE_VERSIONS[engine]);
    const isClass = (s: string) => /^db\.[a-z0-9]+\.[a-z0-9]+$/.test(s);
    const instanceClass = c.string("database.instanceClass", "expected an RDS instance class such as db.t4g.medium or db.r7g.large", isClass, "db.t4g.medium");
    const readerClass = c.string("database.readerClass", "expected an RDS instance class such as db.r7g.large", isClass, instanceClass);
    const allocatedStorage = c.int("database.allocatedStorage", 20, 65536, 20);
    const maxAllocatedStorage = c.int("database.maxAllocatedStorage", 20, 65536, Math.max(100, allocatedStorage));
    if (maxAllocatedStorage < allocatedStorage) {
        c.fail("database.maxAllocatedStorage", maxAllocatedStorage, `expected at least pilotlight:database.allocatedStorage (${allocatedStorage}): it is the ceiling storage autoscaling may grow to`);
    }
    // Custom rule (not Checker.int): the message says why a week is the floor.
    const retentionRaw = c.get("database.backupRetentionDays");
    const retentionNum = typeof retentionRaw === "string" && /^\d+$/.test(retentionRaw) ? Number(retentionRaw) : retentionRaw;
    let backupRetentionDays = 7;
    if (retentionRaw !== undefined) {
        if (typeof retentionNum === "number" && Number.isInteger(retentionNum) && retentionNum >= 7 && retentionNum <= 35) backupRetentionDays = retentionNum;
        else c.fail("database.backupRetentionDays", retentionRaw, "expected 7 to 35 days: pilotlight keeps at least a week of automated backups and point-in-time recovery");
    }
    const monitoring = c.int("database.monitoringIntervalSeconds", 0, 60, 0);
    if (![0, 1, 5, 10, 15, 30, 60].includes(monitoring)) {
        c.fail("database.monitoringIntervalSeconds", monitoring, "expected one of 0 (off), 1, 5, 10, 15, 30, 60");
    }
    return {
        engineVersion,
        instanceClass,
        readerClass,
        instanceCount: c.int("database.instanceCount", 1, 16, 2),
        allocatedStorage,
        maxAllocatedStorage,
        multiAz: c.bool("database.multiAz", false),
        backupRetentionDays,
        backupWindow: c.string("database.backupWindow", "expected a UTC window hh:mm-hh:mm such as 03:00-04:00", (s) => /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/.test(s), "03:00-04:00"),
        maintenanceWindow: c.string(
            "database.maintenanceWindow",
            "expected a UTC window ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30",
            (s) => /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/.test(s),
            "sun:04:30-sun:05:30",
        ),
        performanceInsights: c.bool("database.performanceInsights", true),
        monitoringIntervalSeconds: monitoring,
        name: c.string("database.name", "expected a database name: a letter, then up to 62 letters, digits or underscores", (s) => DB_NAME_RE.test(s), "app"),
        deletionProtection: c.bool("database.deletionProtection", true),
        masterUsername: c.string("database.masterUsername", "expected a user name: a letter, then up to 62 letters, digits or underscores, not the reserved rdsadmin", (s) => DB_NAME_RE.test(s) && s.toLowerCase() !== "rdsadmin", "pilotlight"),
    };
}

/** `pilotlight:failoverDatabase`: validated whenever present; required on a dr stack with failover on. */
function parseFailoverDatabase(c: Checker, role: StackRole, failover: boolean, engine: DatabaseEngine, region: string, namePrefix: string, copySecretName?: string): FailoverDatabaseConfig | undefined {
    const raw = c.get("failoverDatabase");
    const howTo =
        'set pilotlight:failoverDatabase.source to "latestCopy" (the newest snapshot copied into this region), "snapshot" (with pilotlight:failoverDatabase.snapshotIdentifier), "pointInTime" (with pilotlight:failoverDatabase.automatedBackupsArn) or "adopt" (with pilotlight:failoverDatabase.secretName)';
    if (raw === undefined) {
        if (failover) c.fail("failoverDatabase", raw, `failover needs a database source: ${howTo}`);
        return undefined;
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        c.fail("failoverDatabase", raw, `expected a map: ${howTo}`);
        return undefined;
    }
    if (role === "primary") {
        c.fail("failoverDatabase", raw, "failoverDatabase applies only to a dr stack (it says where the failover database comes from); remove it here");
        return undefined;
    }
    const source = c.oneOf<FailoverDatabaseSource>("failoverDatabase.source", FAILOVER_DATABASE_SOURCES);
    const restore: FailoverDatabaseConfig = {
        source,
        sourceIdentifier: c.string("failoverDatabase.sourceIdentifier", "expected the primary database's identifier, e.g. pilotlight-db", (s) => /^[a-z][a-z0-9-]{0,62}$/.test(s), `${namePrefix}-db`),
    };
    // A required key: reports it missing (once) and returns false, so its format is checked only when present.
    const need = (key: string, why: string): boolean => {
        if (c.get(key) !== undefined) return true;
        c.fail(key, undefined, why);
        return false;
    };
    if (c.get("failoverDatabase.snapshotIdentifier") !== undefined || source === "snapshot") {
        if (need("failoverDatabase.snapshotIdentifier", 'failoverDatabase.source "snapshot" needs the DB snapshot identifier (or ARN) to restore, e.g. pilotlight-db-2026-01-31'))
            restore.snapshotIdentifier = c.string("failoverDatabase.snapshotIdentifier", "expected a DB snapshot identifier (a letter, then letters, digits, hyphens) or a snapshot ARN", (s) => SNAPSHOT_ID_RE.test(s));
    }
    if (source === "pointInTime") {
        if (isAuroraEngine(engine)) {
            c.fail("failoverDatabase.source", source, `${engine} has no cross-region automated backup replication; use "latestCopy", "snapshot" or "adopt"`);
        }
        if (need("failoverDatabase.automatedBackupsArn", `failoverDatabase.source "pointInTime" needs the ARN of the automated backups replicated into ${region || "this region"}, e.g. arn:aws:rds:${region || "us-west-2"}:222222222222:auto-backup:ab-abc123`)) {
            restore.automatedBackupsArn = c.string("failoverDatabase.automatedBackupsArn", `expected the ARN of replicated automated backups in this stack's region ${region}`, (s) => {
                const m = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:auto-backup:ab-[a-z0-9]+$/.exec(s);
                return !!m && (!region || m[1] === region);
            });
        }
        if (c.get("failoverDatabase.restoreTime") !== undefined) {
            restore.restoreTime = c.string("failoverDatabase.restoreTime", "expected a UTC time such as 2026-01-31T23:45:00Z", (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) && !Number.isNaN(Date.parse(s)));
        }
    }
    if (source === "adopt") {
        // Defaults to the secret the copy target of this stack keeps (pilotlight:copy.secretName).
        if (copySecretName !== undefined || need("failoverDatabase.secretName", 'failoverDatabase.source "adopt" needs the name or ARN of the copy target\'s secret {host, port, identifier, version} (or a pilotlight:copy section, whose secret it then uses)'))
            restore.secretName = c.string("failoverDatabase.secretName", "expected a Secrets Manager secret name or ARN", (s) => /^[A-Za-z0-9/_+=.@:-]{1,2048}$/.test(s), copySecretName);
        if (isAuroraEngine(engine)) c.fail("failoverDatabase.source", source, `the copy target restores RDS instances, not ${engine} clusters; use "latestCopy" or "snapshot"`);
    }
    return restore;
}

/** `pilotlight:app`. */
function parseApp(c: Checker, region: string): AppConfig {
    const minSize = c.int("app.minSize", 0, 100, 2);
    const maxSize = c.int("app.maxSize", 1, 100, Math.max(4, minSize));
    const desiredCapacity = c.int("app.desiredCapacity", 0, 100, minSize);
    if (minSize > maxSize) c.fail("app.minSize", minSize, `expected at most pilotlight:app.maxSize (${maxSize})`);
    if (desiredCapacity < minSize || desiredCapacity > maxSize) c.fail("app.desiredCapacity", desiredCapacity, `expected a number from pilotlight:app.minSize (${minSize}) to pilotlight:app.maxSize (${maxSize})`);
    const app: AppConfig = {
        instanceType: c.string("app.instanceType", "expected an EC2 instance type such as t3.small", (s) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(s), "t3.small"),
        minSize,
        maxSize,
        desiredCapacity,
        healthCheckPath: c.string("app.healthCheckPath", "expected an absolute URL path such as /health", (s) => /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(s) && s.length <= 255, "/health"),
        volumeSizeGb: c.int("app.volumeSizeGb", 8, 16384, 20),
        redisNodeType: c.string("app.redisNodeType", "expected an ElastiCache node type such as cache.t4g.small", (s) => /^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(s), "cache.t4g.small"),
        redisNodes: c.int("app.redisNodes", 1, 6, 2),
        redisEngineVersion: c.string("app.redisEngineVersion", "expected a Redis version such as 7.1", (s) => /^\d+\.\d+$/.test(s), "7.1"),
    };
    if (c.get("app.amiId") !== undefined) app.amiId = c.string("app.amiId", "expected an AMI id such as ami-0123456789abcdef0", (s) => /^ami-[0-9a-f]{8,17}$/.test(s));
    if (c.get("app.certificateArn") !== undefined) {
        const arn = c.string("app.certificateArn", "expected an ACM certificate ARN such as arn:aws:acm:us-east-1:111111111111:certificate/<uuid>", (s) => certificateRegion(s) !== undefined);
        const certRegion = certificateRegion(arn);
        if (certRegion && region && certRegion !== region) {
            c.fail("app.certificateArn", arn, `expected a certificate in this stack's region ${region}, not ${certRegion}: a load balancer can only use an ACM certificate of its own region (request or import one in ${region})`);
        }
        app.certificateArn = arn;
    }
    return app;
}

/** `pilotlight:dns`: optional; without it no records are managed. */
function parseDns(c: Checker, role: StackRole): DnsConfig | undefined {
    const raw = c.get("dns");
    if (raw === undefined) return undefined;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        c.fail("dns", raw, "expected a map with hostedZoneId and recordName (and roleArn when the zone is in another account)");
        return undefined;
    }
    const dns: DnsConfig = {
        hostedZoneId: c.string("dns.hostedZoneId", "expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ", (s) => /^Z[A-Z0-9]{1,31}$/.test(s)),
        recordName: c.string("dns.recordName", "expected the application's fully qualified name such as app.example.com", (s) => /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(s)),
        holdOnDr: false,
    };
    const holdOnDr = c.bool("dns.holdOnDr", false);
    dns.holdOnDr = holdOnDr;
    if (holdOnDr && role !== "primary") c.fail("dns.holdOnDr", true, "holdOnDr applies only to the primary stack, whose PRIMARY record it holds off; set it there");
    if (c.get("dns.roleArn") !== undefined) dns.roleArn = c.string("dns.roleArn", "expected an IAM role ARN such as arn:aws:iam::111111111111:role/pilotlight-dns", (s) => /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/.test(s));
    return dns;
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
}

/** `pilotlight:readiness`: what the recovery point age alarm and the replication alarms watch for. */
export interface ReadinessConfig {
    /** dr: alarm when the newest recovery point the failover would use is older than this. Defaults to one copy interval and a half (a daily copy: 2160). */
    rpoMinutes?: number;
    /** Alarm when media replication lags more than this many seconds. Defaults to 900 (S3 RTC's threshold). */
    replicationLatencySeconds: number;
    /** dr: the restore-test machine's schedule and throwaway class. */
    restoreTest: {
        /** EventBridge schedule. Defaults to `rate(7 days)`. */
        schedule: string;
        /** Whether the schedule runs. Defaults to false, like every schedule. */
        enabled: boolean;
        /** Class of the throwaway database. Defaults to `db.t4g.medium`. */
        instanceClass: string;
    };
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
export function parseStackConfig(stack: string, raw: RawConfig, awsRegion: string | undefined, project = "pilotlight", isSecret: (key: string) => boolean = () => false): StackConfig {
    const file = `Pulumi.${stack}.yaml`;
    const c = new Checker(raw);
    // Webhook URLs are credentials: refuse them in plaintext, without echoing them.
    if (raw.slackWebhookUrls !== undefined && !isSecret("slackWebhookUrls")) {
        c.problems.push(`pilotlight:slackWebhookUrls is stored in plaintext (value not shown); store it encrypted: pulumi config set --secret slackWebhookUrls '["https://hooks.slack.com/services/..."]' -s ${stack}`);
    }

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
        replicateBack: c.bool("media.replicateBack", true),
    };
    if (role === "primary" && c.get("media.replicateBack") !== undefined) {
        c.fail("media.replicateBack", c.get("media.replicateBack"), "replicateBack applies only to the dr stack, whose bucket replicates back while failed over; remove it from the primary's config");
    }

    const engine = c.oneOf<DatabaseEngine>("database.engine", DATABASE_ENGINES, "postgres");
    const database: DatabaseConfig = {
        engine,
        port: c.int("database.port", 1150, 65535, enginePort(engine)),
        ...parseDatabaseDeployment(c, engine),
    };
    const copy = parseCopy(c, namePrefix);
    const failoverDatabase = parseFailoverDatabase(c, role, failover, engine, region, namePrefix, copy?.secretName);
    const app = parseApp(c, region);
    const dns = parseDns(c, role);

    const auroraFailover = parseAuroraFailover(c, role, accountId);

    const tags = c.stringMap("tags");
    const backups = parseBackups(c, accountId === peer.accountId);
    const restore = parseRestoreConfig(c, role);
    const alerts = parseAlertsConfig(c);
    const readiness: ReadinessConfig = {
        rpoMinutes: c.get("readiness.rpoMinutes") === undefined ? undefined : c.int("readiness.rpoMinutes", 15, 525600),
        replicationLatencySeconds: c.int("readiness.replicationLatencySeconds", 60, 86400, 900),
        restoreTest: {
            schedule: c.string("readiness.restoreTest.schedule", SCHEDULE_RULE, isScheduleExpression, "rate(7 days)"),
            enabled: c.bool("readiness.restoreTest.enabled", false),
            instanceClass: c.string("readiness.restoreTest.instanceClass", "expected an RDS instance class such as db.t4g.medium", (x) => /^db\.[a-z0-9]+\.[a-z0-9]+$/.test(x), "db.t4g.medium"),
        },
    };
    if (role === "primary" && c.get("readiness.rpoMinutes") !== undefined) {
        c.fail("readiness.rpoMinutes", c.get("readiness.rpoMinutes"), "rpoMinutes applies to the dr stack, which measures the recovery points its failover would restore; set it in the dr stack's file");
    }

    if (c.problems.length > 0) throw new ConfigError(file, c.problems);
    return { project, stack, role, namePrefix, accountId, region, peer, failover, network, media, database, failoverDatabase, app, dns, auroraFailover, tags, backups, copy, restore, alerts, readiness };
}

// ---------------------------------------------------------------- backups and copies

/** A database the backup and copy machines work on. */
export interface BackupDatabase {
    /** RDS instance or Aurora cluster identifier. */
    identifier: string;
    /** True for an Aurora cluster. Defaults to false. */
    isCluster: boolean;
}

/** Scheduled snapshots copied to the DR region (`pilotlight:backups`). */
export interface BackupsConfig {
    /** Databases to snapshot each run. Defaults to none. */
    databases: BackupDatabase[];
    /** EventBridge schedule expression. Defaults to `rate(2 hours)`. */
    schedule: string;
    /** Whether the schedule rule runs. Defaults to false: enable it once the databases exist. */
    scheduleEnabled: boolean;
    /** pilotlight snapshots kept per database in each region, 1-100. Defaults to 12. */
    keep: number;
    /**
     * dr stack: replicate the automated backups of the listed instances (not clusters) into the
     * DR region, for point-in-time restore there. Defaults to false.
     */
    automatedBackupReplication: boolean;
    /** Days the replicated automated backups are kept, 1-35. Defaults to 7. */
    replicationRetentionDays: number;
    /** AMIs of tagged instances, copied to the DR region; absent when not configured. */
    images?: ImageBackupsConfig;
}

/** AMI backups (`pilotlight:backups.images`). */
export interface ImageBackupsConfig {
    /** Instances with this tag key... Defaults to `pilotlight:backup`. */
    tagKey: string;
    /** ...and this value are imaged. Defaults to `true`. */
    tagValue: string;
    /** Image without rebooting the instance (crash-consistent). Defaults to true. */
    noReboot: boolean;
    /** Images kept per source (Auto Scaling group, launch template or lone instance) in each region, 1-100. Defaults to 7. */
    keep: number;
    /** Days the images of a source that is no longer imaged are kept, 1-3650. Defaults to 30. */
    goneSourceDays: number;
}

/** How the target side restores a shared snapshot (`pilotlight:copy.restore`). */
export interface CopyRestoreConfig {
    /** Instance class of each copy. Defaults to `db.t4g.medium`. */
    instanceClass: string;
    /** DB subnet group. Defaults to the dr network's database subnet group. */
    subnetGroupName?: string;
    /** VPC security groups. Defaults to the dr network's database security group. */
    securityGroupIds?: string[];
    /** DB parameter group. Defaults to the engine's default group. */
    parameterGroupName?: string;
    /** Multi-AZ copies. Defaults to false. */
    multiAz: boolean;
    /** Extra tags on each copy. Defaults to none. */
    tags: Record<string, string>;
}

/** Cross-account copy of one instance (`pilotlight:copy`), read by both stacks. */
export interface CopyConfig {
    /** The source instance on the primary (clusters are not copied across accounts). */
    source: string;
    /** EventBridge schedule of the source machine. Defaults to `rate(1 day)`. */
    schedule: string;
    /** Whether the source schedule rule runs. Defaults to false. */
    scheduleEnabled: boolean;
    /** Copies (instances on dr, shared snapshots on the primary) kept, 1-20. Defaults to 2. */
    keep: number;
    /** Base name of the copies on dr: `<targetName>-v<N>`. Defaults to the source identifier. */
    targetName: string;
    /** Secrets Manager secret on dr holding `{host, port, identifier, version}`. Defaults to `<namePrefix>/copy/<targetName>`. */
    secretName: string;
    restore: CopyRestoreConfig;
}

const DB_IDENTIFIER_RE = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
/** Longest identifier whose derived names (`-v<N>-final`, `-bk-<timestamp>`) fit RDS's limits. */
export const MAX_BACKUP_IDENTIFIER = 40;
const isDbIdentifier = (s: string) => DB_IDENTIFIER_RE.test(s) && !s.endsWith("-") && s.length <= MAX_BACKUP_IDENTIFIER;
const DB_IDENTIFIER_RULE = `expected an RDS identifier: a letter, then lowercase letters, digits or single hyphens, not ending in a hyphen, at most ${MAX_BACKUP_IDENTIFIER} characters`;

/** `rate(2 hours)`, `rate(1 day)` or a six-field `cron(...)`. */
export function isScheduleExpression(s: string): boolean {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(s);
    if (rate) return Number(rate[1]) >= 1 && (Number(rate[1]) === 1) === !rate[2].endsWith("s");
    const cron = /^cron\(([^()]+)\)$/.exec(s);
    return !!cron && cron[1].trim().split(/\s+/).length === 6;
}
const SCHEDULE_RULE = 'expected an EventBridge schedule such as "rate(2 hours)", "rate(1 day)" or "cron(0 3 * * ? *)"';

function parseDatabases(c: Checker, key: string): BackupDatabase[] {
    const v = c.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
        c.fail(key, v, 'expected a list of {identifier, isCluster}, e.g. [{"identifier": "app-db", "isCluster": false}]');
        return [];
    }
    const out: BackupDatabase[] = [];
    v.forEach((_, i) => {
        const identifier = c.string(`${key}.${i}.identifier`, DB_IDENTIFIER_RULE, isDbIdentifier);
        const isCluster = c.bool(`${key}.${i}.isCluster`, false);
        if (identifier && out.some((d) => d.identifier === identifier)) c.fail(`${key}.${i}.identifier`, identifier, "expected each database once");
        else out.push({ identifier, isCluster });
    });
    return out;
}

/** `pilotlight:backups`; undefined when the key is absent. */
function parseBackups(c: Checker, sameAccount: boolean): BackupsConfig | undefined {
    if (c.get("backups") === undefined) return undefined;
    const backups: BackupsConfig = {
        databases: parseDatabases(c, "backups.databases"),
        schedule: c.string("backups.schedule", SCHEDULE_RULE, isScheduleExpression, "rate(2 hours)"),
        scheduleEnabled: c.bool("backups.scheduleEnabled", false),
        keep: c.int("backups.keep", 1, 100, 12),
        automatedBackupReplication: c.bool("backups.automatedBackupReplication", false),
        replicationRetentionDays: c.int("backups.replicationRetentionDays", 1, 35, 7),
        images:
            c.get("backups.images") === undefined
                ? undefined
                : {
                      tagKey: c.string("backups.images.tagKey", "expected an EC2 tag key (1-127 characters, not starting with aws:)", (s) => s.length >= 1 && s.length <= 127 && !s.startsWith("aws:"), "pilotlight:backup"),
                      tagValue: c.string("backups.images.tagValue", "expected an EC2 tag value (0-255 characters)", (s) => s.length <= 255, "true"),
                      noReboot: c.bool("backups.images.noReboot", true),
                      keep: c.int("backups.images.keep", 1, 100, 7),
                      goneSourceDays: c.int("backups.images.goneSourceDays", 1, 3650, 30),
                  },
    };
    if (backups.automatedBackupReplication && !sameAccount) {
        c.fail("backups.automatedBackupReplication", true, "RDS replicates automated backups only into another region of the same account; with the peer in another account use pilotlight:copy (cross-account copies) and the scheduled backups instead");
    } else if (backups.automatedBackupReplication && backups.databases.length > 0 && backups.databases.every((d) => d.isCluster)) {
        c.fail("backups.automatedBackupReplication", true, "applies to RDS instances only; list at least one instance (isCluster: false) or turn it off (Aurora clusters use Aurora global databases instead)");
    }
    return backups;
}

/** `pilotlight:copy`; undefined when the key is absent. */
function parseCopy(c: Checker, namePrefix: string): CopyConfig | undefined {
    if (c.get("copy") === undefined) return undefined;
    const source = c.string("copy.source", `${DB_IDENTIFIER_RULE}; the primary's RDS instance to copy`, isDbIdentifier);
    const targetName = c.string("copy.targetName", DB_IDENTIFIER_RULE, isDbIdentifier, source);
    const sgs = c.get("copy.restore.securityGroupIds");
    return {
        source,
        schedule: c.string("copy.schedule", SCHEDULE_RULE, isScheduleExpression, "rate(1 day)"),
        scheduleEnabled: c.bool("copy.scheduleEnabled", false),
        keep: c.int("copy.keep", 1, 20, 2),
        targetName,
        secretName: c.string("copy.secretName", "expected a Secrets Manager name: 1-512 letters, digits or /_+=.@-", (s) => /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(s), `${namePrefix}/copy/${targetName}`),
        restore: {
            instanceClass: c.string("copy.restore.instanceClass", "expected an RDS instance class such as db.t4g.medium", (s) => /^db\.[a-z0-9-]+\.[a-z0-9]+$/.test(s), "db.t4g.medium"),
            subnetGroupName: c.get("copy.restore.subnetGroupName") === undefined ? undefined : c.string("copy.restore.subnetGroupName", "expected a DB subnet group name (letters, digits, spaces, periods, underscores, hyphens)", (s) => /^[A-Za-z0-9 ._-]{1,255}$/.test(s)),
            securityGroupIds: sgs === undefined ? undefined : c.stringList("copy.restore.securityGroupIds", 'expected a list of security group ids, e.g. ["sg-0123456789abcdef0"]', (s) => /^sg-[0-9a-f]{8,17}$/.test(s)),
            parameterGroupName: c.get("copy.restore.parameterGroupName") === undefined ? undefined : c.string("copy.restore.parameterGroupName", "expected a DB parameter group name: a letter, then letters, digits or hyphens", (s) => /^[A-Za-z][A-Za-z0-9-]{0,254}$/.test(s)),
            multiAz: c.bool("copy.restore.multiAz", false),
            tags: c.stringMap("copy.restore.tags"),
        },
    };
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
    // The engine lists which keys are secrets; the runtime only exposes that internally.
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (key: string) => boolean };
    const isSecret = (key: string) => runtimeConfig.isConfigSecret?.(`${project}:${key}`) ?? false;
    return parseStackConfig(pulumi.getStack(), raw, region, project, isSecret);
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
    /**
     * The instances/clusters the machine may restore (at least one). Each entry of
     * `pilotlight:restore.databases` is an identifier (an RDS instance) or {identifier, isCluster}.
     * Listing the workload database `<namePrefix>-db` also deploys the failback machine
     * `<namePrefix>-failback`, which brings the dr stack's data home through this machine;
     * without it there is no failback machine.
     */
    databases: BackupDatabase[];
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

const RESTORE_DATABASE_RULE =
    `expected a list of RDS instance or Aurora cluster identifiers (lowercase letters, digits, single hyphens, at most ${MAX_MANAGED_IDENTIFIER} characters): ` +
    '"wordpress" for an instance or {"identifier": "shop", "isCluster": true} for a cluster, e.g. ["wordpress", {"identifier": "shop", "isCluster": true}]';

/** `pilotlight:restore.databases`: each entry a string (an RDS instance) or {identifier, isCluster}. */
function parseRestoreDatabases(c: Checker): BackupDatabase[] {
    const key = "restore.databases";
    const v = c.get(key);
    if (v === undefined) {
        c.fail(key, undefined, RESTORE_DATABASE_RULE);
        return [];
    }
    if (!Array.isArray(v)) {
        c.fail(key, v, RESTORE_DATABASE_RULE);
        return [];
    }
    if (v.length === 0) {
        c.fail(key, [], "expected at least one identifier");
        return [];
    }
    const out: BackupDatabase[] = [];
    v.forEach((entry, i) => {
        const at = `${key}.${i}`;
        let db: BackupDatabase | undefined;
        if (typeof entry === "string") {
            const problem = identifierProblem(entry);
            if (problem !== undefined) c.fail(at, entry, `expected an RDS instance identifier: ${problem}`);
            else db = { identifier: entry, isCluster: false };
        } else if (entry !== null && typeof entry === "object" && !Array.isArray(entry)) {
            const unknown = Object.keys(entry).filter((k) => k !== "identifier" && k !== "isCluster");
            if (unknown.length > 0) c.fail(at, entry, `expected only the keys identifier and isCluster, not ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
            const raw = (entry as Record<string, unknown>).identifier;
            const problem = typeof raw === "string" ? identifierProblem(raw) : undefined;
            if (typeof raw !== "string") c.fail(`${at}.identifier`, raw, 'expected an RDS instance or Aurora cluster identifier, e.g. "shop"');
            else if (problem !== undefined) c.fail(`${at}.identifier`, raw, `expected an RDS instance or Aurora cluster identifier: ${problem}`);
            // As in pilotlight:backups.databases, isCluster defaults to false (an RDS instance).
            const rawCluster = (entry as Record<string, unknown>).isCluster;
            const isCluster = rawCluster === true || rawCluster === "true";
            if (rawCluster !== undefined && !isCluster && rawCluster !== false && rawCluster !== "false") {
                c.fail(`${at}.isCluster`, rawCluster, "expected true (Aurora cluster) or false (RDS instance)");
            } else if (typeof raw === "string" && problem === undefined) db = { identifier: raw, isCluster };
        } else {
            c.fail(at, entry, 'expected an RDS instance identifier such as "wordpress" or {"identifier": "shop", "isCluster": true}');
        }
        if (!db) return;
        if (out.some((d) => d.identifier === db!.identifier)) c.fail(at, db.identifier, "expected each database once");
        else out.push(db);
    });
    return out;
}

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
    const databases = parseRestoreDatabases(c);
    const identifiers = databases.map((d) => d.identifier);
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
                const db = databases.find((d) => d.identifier === input!.identifier);
                if (!db) {
                    c.fail(`${key}.input.identifier`, input.identifier, `expected one of pilotlight:restore.databases (${identifiers.join(", ")})`);
                } else if (db.isCluster !== input.isCluster) {
                    c.fail(`${key}.input.isCluster`, input.isCluster, `expected ${db.isCluster}: pilotlight:restore.databases lists '${db.identifier}' as ${db.isCluster ? "an Aurora cluster" : "an RDS instance"}`);
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
