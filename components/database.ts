// The workload database: an RDS instance or an Aurora cluster, encrypted with the
// stack's key, RDS-managed master password, deletion protection, its own parameter
// group that enforces TLS, and the tags the machines use to recognise it. On the dr
// stack during failover the same component restores it (newest copied snapshot, a
// given snapshot, point in time) or adopts the instance the copy target restored.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DatabaseEngine, isAuroraEngine, FailoverDatabaseConfig } from "../config";
import { MANAGED_TAG, SOURCE_TAG, WRITER_CLASS_TAG } from "../functions/lib/tags";
import { isBackupCopyName, selectLatestCopy } from "../functions/lib/backup";
import { assumeRolePolicy, renderPolicy } from "./iam";
import { partitionOf } from "./naming";

/** Where the database comes from. */
export type DatabaseSource =
    /** A new, empty database (the primary). */
    | { kind: "new" }
    /**
     * The newest snapshot of `sourceIdentifier` in this region: with `sharedBy` (the primary in
     * another account) the newest one that account shared with this one, else this account's
     * newest manual one tagged `pilotlight:source` = `sourceIdentifier`.
     */
    | { kind: "latestCopy"; sourceIdentifier: string; sharedBy?: string }
    /** A named snapshot (identifier or ARN). */
    | { kind: "snapshot"; snapshotIdentifier: string }
    /** Replicated automated backups, at `restoreTime` or the latest restorable time. */
    | { kind: "pointInTime"; automatedBackupsArn: string; restoreTime?: string }
    /** An instance someone else restored, named by a secret `{host, port, identifier, version}`: nothing is created. */
    | { kind: "adopt"; secretName: string };

/** Maps the dr stack's `pilotlight:failoverDatabase` onto a database source. Exported for testing. */
export function restoreSource(restore: FailoverDatabaseConfig, sharedBy?: string): DatabaseSource {
    switch (restore.source) {
        case "latestCopy":
            return sharedBy ? { kind: "latestCopy", sourceIdentifier: restore.sourceIdentifier, sharedBy } : { kind: "latestCopy", sourceIdentifier: restore.sourceIdentifier };
        case "snapshot":
            return { kind: "snapshot", snapshotIdentifier: need(restore.snapshotIdentifier, "failoverDatabase.snapshotIdentifier") };
        case "pointInTime":
            return { kind: "pointInTime", automatedBackupsArn: need(restore.automatedBackupsArn, "failoverDatabase.automatedBackupsArn"), restoreTime: restore.restoreTime };
        case "adopt":
            return { kind: "adopt", secretName: need(restore.secretName, "failoverDatabase.secretName") };
    }
}

function need(v: string | undefined, key: string): string {
    if (!v) throw new Error(`pilotlight:${key} is missing; the restore source needs it`);
    return v;
}

/** One-line description of a source, shown as a stack output so a preview says what failover restores. */
export function describeSource(source: DatabaseSource): string {
    switch (source.kind) {
        case "new":
            return "new database";
        case "latestCopy":
            return source.sharedBy
                ? `newest snapshot of ${source.sourceIdentifier} shared into this region by account ${source.sharedBy}`
                : `newest snapshot copied into this region from ${source.sourceIdentifier}`;
        case "snapshot":
            return `snapshot ${source.snapshotIdentifier}`;
        case "pointInTime":
            return `point in time ${source.restoreTime ?? "(latest restorable)"} from ${source.automatedBackupsArn}`;
        case "adopt":
            return `instance named by secret ${source.secretName} (adopted, not restored)`;
    }
}

/**
 * Parameter group family of an engine version, major (16, 8.0) or full: postgres 16 or 16.8 ->
 * postgres16, mysql 8.0 or 8.0.41 -> mysql8.0, aurora-postgresql 16.6 -> aurora-postgresql16,
 * aurora-mysql 8.0.mysql_aurora.3.08.2 -> aurora-mysql8.0. Exported for testing.
 */
export function parameterGroupFamily(engine: DatabaseEngine, version: string): string {
    const pg = /^(\d+)(\.|$)/.exec(version);
    const my = /^(\d+\.\d+)(\.|$)/.exec(version);
    switch (engine) {
        case "postgres":
        case "aurora-postgresql":
            if (!pg) break;
            return `${engine}${pg[1]}`;
        case "mysql":
        case "aurora-mysql":
            if (!my) break;
            return `${engine}${my[1]}`;
    }
    throw new Error(`engine version ${JSON.stringify(version)} of ${engine} has no parameter group family; expected e.g. ${engine.includes("postgres") ? "16.6" : "8.0.41"}`);
}

/** The parameters pilotlight sets: every engine refuses connections without TLS. Exported for testing. */
export function engineParameters(engine: DatabaseEngine): { name: string; value: string }[] {
    return engine.includes("postgres") ? [{ name: "rds.force_ssl", value: "1" }] : [{ name: "require_secure_transport", value: "1" }];
}

/** RDS's longest DB (cluster) snapshot identifier. */
const MAX_SNAPSHOT_IDENTIFIER = 255;

/** Eight hex digits of a SHA-256: a short, stable stand-in for a longer string. */
function shortHash(s: string): string {
    return createHash("sha256").update(s).digest("hex").slice(0, 8);
}

/** Lower case letters, digits and single hyphens, no hyphen at either end. */
function identifierPart(s: string): string {
    return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * What a restored database's final snapshot is named after, so each failover cycle's final
 * snapshot gets its own name: the snapshot restored (its identifier, also from an ARN), or for a
 * point-in-time restore the restore time (or `latest`) and a hash of the automated backups' ARN.
 * Undefined for a new database. Exported for testing.
 */
export function finalSnapshotOrigin(source: DatabaseSource, snapshotIdentifier?: string): string | undefined {
    switch (source.kind) {
        case "new":
        case "adopt":
            return undefined;
        case "latestCopy":
        case "snapshot": {
            const snapshot = snapshotIdentifier ?? (source.kind === "snapshot" ? source.snapshotIdentifier : undefined);
            if (!snapshot) throw new Error(`the final snapshot name of a restore from ${describeSource(source)} needs the snapshot's identifier`);
            return snapshot.slice(snapshot.lastIndexOf(":") + 1);
        }
        case "pointInTime":
            return `pit-${source.restoreTime ?? "latest"}-${shortHash(source.automatedBackupsArn)}`;
    }
}

/**
 * Name of the snapshot RDS takes when the database is deleted: `<identifier>-final`, or for a
 * restored database `<identifier>-final-<origin>` (see `finalSnapshotOrigin`), so a second failover
 * cycle or drill does not collide with the first one's final snapshot. Always a valid snapshot
 * identifier: letters, digits and single hyphens, at most 255 characters; an origin too long to fit
 * is cut and ends in a hash of the whole origin. Exported for testing.
 */
export function finalSnapshotName(identifier: string, origin?: string): string {
    const base = `${identifier}-final`;
    if (origin === undefined) return base;
    const part = identifierPart(origin);
    const room = MAX_SNAPSHOT_IDENTIFIER - base.length - 1;
    if (part.length <= room && part !== "") return `${base}-${part}`;
    const hash = shortHash(origin);
    const cut = identifierPart(part.slice(0, Math.max(0, room - hash.length - 1)));
    return cut ? `${base}-${cut}-${hash}` : `${base}-${hash}`;
}

/** Tags of every database resource; the cluster also records its intended writer class. Exported for testing. */
export function databaseTags(tags: Record<string, string>, identifier: string, writerClass?: string): Record<string, string> {
    const t: Record<string, string> = { ...tags, Name: identifier, [MANAGED_TAG]: "true" };
    if (writerClass) t[WRITER_CLASS_TAG] = writerClass;
    return t;
}

/** What the copy target writes about the instance it restored. */
export interface AdoptedInstance {
    host: string;
    port: number;
    identifier: string;
    version: string;
    /** The instance's RDS-managed master-user secret, as the copy target recorded it (absent in older secrets). */
    masterUserSecretArn?: string;
}

/** Parses and checks the copy target's secret; a clear error when it is not what it should be. Exported for testing. */
export function parseAdoptedSecret(secretName: string, json: string): AdoptedInstance {
    let v: Record<string, unknown>;
    try {
        v = JSON.parse(json);
    } catch {
        throw new Error(`secret ${secretName} is not JSON; expected {"host", "port", "identifier", "version"} as written by the copy target`);
    }
    const port = typeof v.port === "string" && /^\d+$/.test(v.port) ? Number(v.port) : v.port;
    const problems: string[] = [];
    if (typeof v.host !== "string" || !/^[a-z0-9.-]+$/i.test(v.host)) problems.push(`host is ${JSON.stringify(v.host)}, expected a DNS name`);
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1150 || port > 65535) problems.push(`port is ${JSON.stringify(v.port)}, expected 1150-65535`);
    if (typeof v.identifier !== "string" || !/^[a-z][a-z0-9-]{0,62}$/.test(v.identifier)) problems.push(`identifier is ${JSON.stringify(v.identifier)}, expected a DB instance identifier`);
    if (v.version === undefined || v.version === null || String(v.version) === "") problems.push("version is missing");
    if (v.masterUserSecretArn !== undefined && (typeof v.masterUserSecretArn !== "string" || !v.masterUserSecretArn.startsWith("arn:"))) problems.push(`masterUserSecretArn is ${JSON.stringify(v.masterUserSecretArn)}, expected a secret ARN`);
    if (problems.length) throw new Error(`secret ${secretName}: ${problems.join("; ")}`);
    const adopted: AdoptedInstance = { host: v.host as string, port: port as number, identifier: v.identifier as string, version: String(v.version) };
    if (v.masterUserSecretArn !== undefined) adopted.masterUserSecretArn = v.masterUserSecretArn as string;
    return adopted;
}

/** The adopted instance's RDS-managed master-user secret; a clear error when it has none or another one. Exported for testing. */
export function adoptedMasterSecret<T extends { secretArn: string }>(secretName: string, adopted: AdoptedInstance, secrets: T[] | undefined): T {
    if (!secrets?.length) {
        throw new Error(
            `adopted instance ${adopted.identifier} has no RDS-managed master-user secret, so the app could not read its password; the copy target turns it on (ModifyDBInstance ManageMasterUserPassword) before it points ${secretName} at a copy: run it again, or roll back to a copy it made`,
        );
    }
    if (adopted.masterUserSecretArn && adopted.masterUserSecretArn !== secrets[0].secretArn) {
        throw new Error(`secret ${secretName} names master-user secret ${adopted.masterUserSecretArn}, but ${adopted.identifier}'s is ${secrets[0].secretArn}; let the copy target point the secret again`);
    }
    return secrets[0];
}

/**
 * The RDS Enhanced Monitoring role: trusted by the monitoring service for this account only, with
 * AWS's own policy for it (writes to the RDSOSMetrics log group only). The dr stack makes it in
 * the pilot light and passes it as `monitoringRoleArn`.
 */
export function enhancedMonitoringRole(name: string, accountId: string, region: string, tags: Record<string, string>, opts?: pulumi.CustomResourceOptions): aws.iam.Role {
    const role = new aws.iam.Role(
        name,
        { description: "RDS Enhanced Monitoring for the pilotlight database", assumeRolePolicy: renderPolicy(assumeRolePolicy("monitoring.rds.amazonaws.com", accountId)), tags },
        opts,
    );
    new aws.iam.RolePolicyAttachment(name, { role: role.name, policyArn: `arn:${partitionOf(region)}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole` }, opts);
    return role;
}

export interface DatabaseArgs {
    /** Identifier of the instance or cluster (Aurora members are `<identifier>-<n>`). */
    identifier: string;
    /** Engine. */
    engine: DatabaseEngine;
    /**
     * Engine version of a new database, best a major version (`16`, `8.0`): RDS picks the current
     * minor, automatic minor upgrades move it on, and the provider compares the major with
     * `engineVersionActual` instead of planning a downgrade. A restore never passes it: the
     * database comes back at the snapshot's version (never older). Decides the parameter group family.
     */
    engineVersion: string;
    /** Port the database listens on. */
    port: number;
    /** Class of the RDS instance or of the Aurora writer. */
    instanceClass: string;
    /** Aurora readers' class. Defaults to `instanceClass`. */
    readerClass?: string;
    /** Aurora instances including the writer. Defaults to 2. */
    instanceCount?: number;
    /** RDS instance storage in GiB of a new database (a restore takes the snapshot's; storage autoscaling grows either). Defaults to 20. */
    allocatedStorage?: number;
    /** RDS instance storage autoscaling ceiling in GiB. Defaults to 100. */
    maxAllocatedStorage?: number;
    /** RDS instance standby in a second AZ. Defaults to false. */
    multiAz?: boolean;
    /** Days of automated backups (7-35). Defaults to 7. */
    backupRetentionDays?: number;
    /** Daily backup window (UTC). Defaults to `03:00-04:00`. */
    backupWindow?: string;
    /** Weekly maintenance window (UTC). Defaults to `sun:04:30-sun:05:30`. */
    maintenanceWindow?: string;
    /** Performance Insights, encrypted with `kmsKeyArn`. Defaults to true. */
    performanceInsights?: boolean;
    /** Enhanced Monitoring interval in seconds; 0 turns it off. Defaults to 0. */
    monitoringIntervalSeconds?: number;
    /**
     * Enhanced Monitoring role made elsewhere (the dr stack keeps it in the pilot light, so a
     * failover creates no IAM). Defaults to a role this component creates when monitoring is on.
     */
    monitoringRoleArn?: pulumi.Input<string>;
    /** Application database created in a new database. Defaults to `app`. */
    databaseName?: string;
    /** Master user of a new database. Defaults to `pilotlight`. */
    masterUsername?: string;
    /** Deletion protection. Defaults to true. */
    deletionProtection?: boolean;
    /** Key for storage, the master-user secret and Performance Insights. */
    kmsKeyArn: pulumi.Input<string>;
    /** The network's DB subnet group. */
    subnetGroupName: pulumi.Input<string>;
    /** The network's database security group. */
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Where the data comes from. Defaults to a new database. */
    source?: DatabaseSource;
    /** Account of the stack (the monitoring role's trust condition). */
    accountId: string;
    /** Region of the stack (partition, messages). */
    region: string;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** The workload database (or, when adopting, a view of one that already exists). */
export class Database extends pulumi.ComponentResource {
    /** Instance or cluster identifier. */
    public readonly identifier: pulumi.Output<string>;
    /** Host name of the instance, or of the cluster's writer endpoint. */
    public readonly endpoint: pulumi.Output<string>;
    /** Port. */
    public readonly port: pulumi.Output<number>;
    /** ARN of the instance or cluster. */
    public readonly arn: pulumi.Output<string>;
    /** True for an Aurora cluster. */
    public readonly isCluster: boolean;
    /** ARN of the RDS-managed master-user secret (`{username, password}`). */
    public readonly masterUserSecretArn: pulumi.Output<string>;
    /** Key that encrypts the master-user secret. */
    public readonly masterUserSecretKeyArn: pulumi.Output<string>;
    /** Snapshot the database was restored from, or "" when new, point in time or adopted. */
    public readonly restoredFrom: pulumi.Output<string>;
    /** What the source is, in words. */
    public readonly sourceDescription: string;
    /** The engine version actually running (after RDS's minor upgrades, or the snapshot's), "" when adopted. */
    public readonly engineVersionActual: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:database:Database", name, {}, opts);
        const source = args.source ?? { kind: "new" };
        const aurora = isAuroraEngine(args.engine);
        const tags = args.tags ?? {};
        const id = args.identifier;
        this.isCluster = aurora;
        this.sourceDescription = describeSource(source);

        if (source.kind === "adopt") {
            if (aurora) throw new Error(`cannot adopt a ${args.engine} cluster: the copy target restores RDS instances`);
            // Read only: the copy target already restored and owns this instance.
            const secret = aws.secretsmanager.getSecretVersionOutput({ secretId: source.secretName }, { parent: this });
            const adopted = pulumi.unsecret(secret.secretString).apply((s) => parseAdoptedSecret(source.secretName, s));
            const instance = aws.rds.getInstanceOutput({ dbInstanceIdentifier: adopted.identifier }, { parent: this });
            const managed = pulumi.all([instance.masterUserSecrets, adopted]).apply(([s, a]) => adoptedMasterSecret(source.secretName, a, s));
            this.identifier = adopted.identifier;
            this.endpoint = adopted.host;
            this.port = adopted.port;
            this.arn = instance.dbInstanceArn;
            this.masterUserSecretArn = managed.secretArn;
            this.masterUserSecretKeyArn = managed.kmsKeyId;
            this.restoredFrom = pulumi.output("");
            this.engineVersionActual = pulumi.output("");
            this.registerAll();
            return;
        }

        const family = parameterGroupFamily(args.engine, args.engineVersion);
        const pgName = `${id}-${family.replace(/\./g, "-")}`;
        const parameters = engineParameters(args.engine);

        // Resolve the snapshot once; later `up`s must not re-restore from a newer one.
        let snapshotIdentifier: pulumi.Output<string> | undefined;
        if (source.kind === "snapshot") snapshotIdentifier = pulumi.output(source.snapshotIdentifier);
        if (source.kind === "latestCopy" && source.sharedBy) {
            // Two accounts: the primary shares its DR-region copies with this account. Shared snapshots are
            // listed only with IncludeShared, carry none of the owner's tags, and are restored by ARN.
            const want = { sourceIdentifier: source.sourceIdentifier, owner: source.sharedBy, region: args.region };
            snapshotIdentifier = aurora
                ? aws.rds
                      .getClusterSnapshotOutput({ dbClusterIdentifier: source.sourceIdentifier, snapshotType: "shared", includeShared: true, mostRecent: true }, { parent: this })
                      .apply((c) => selectLatestCopy([{ identifier: c.dbClusterSnapshotIdentifier ?? "", arn: c.dbClusterSnapshotArn, databaseIdentifier: c.dbClusterIdentifier ?? "", status: c.status, takenAt: c.snapshotCreateTime }], want).arn)
                : aws.rds
                      .getSnapshotsOutput({ snapshotType: "shared", includeShared: true }, { parent: this })
                      .apply((r) =>
                          selectLatestCopy(
                              (r.snapshots ?? []).map((x) => ({ identifier: x.dbSnapshotIdentifier, arn: x.dbSnapshotArn, databaseIdentifier: x.dbInstanceIdentifier, status: x.status, takenAt: x.originalSnapshotCreateTime || x.snapshotCreateTime })),
                              want,
                          ).arn,
                      );
        } else if (source.kind === "latestCopy" && !aurora) {
            // One account: the newest *available* DR-region copy the backups made of the source (their
            // `<source>-bk-<timestamp>` names): a copy the primary region's loss interrupted stays
            // `copying` and must not be picked, so the lookup lists them all (the provider's
            // most-recent lookup has no status filter) and picks as in the two-account layout.
            const want = { sourceIdentifier: source.sourceIdentifier, owner: args.accountId, region: args.region };
            snapshotIdentifier = aws.rds.getSnapshotsOutput({ dbInstanceIdentifier: source.sourceIdentifier, snapshotType: "manual" }, { parent: this }).apply(
                (r) =>
                    selectLatestCopy(
                        (r.snapshots ?? [])
                            .filter((x) => isBackupCopyName(source.sourceIdentifier, x.dbSnapshotIdentifier))
                            .map((x) => ({ identifier: x.dbSnapshotIdentifier, arn: x.dbSnapshotArn, databaseIdentifier: x.dbInstanceIdentifier, status: x.status, takenAt: x.originalSnapshotCreateTime || x.snapshotCreateTime })),
                        want,
                    ).identifier,
            );
        } else if (source.kind === "latestCopy") {
            // Aurora, one account: the provider has no list of cluster snapshots; its most recent tagged one.
            // Copies keep the source's identifier; the final snapshots of the copy target's older
            // restored instances carry the same tags but their own identifier, so both filters apply.
            const filter = { mostRecent: true, snapshotType: "manual", tags: { [SOURCE_TAG]: source.sourceIdentifier } };
            const found = aurora
                ? aws.rds.getClusterSnapshotOutput({ ...filter, dbClusterIdentifier: source.sourceIdentifier }, { parent: this }).dbClusterSnapshotIdentifier
                : aws.rds.getSnapshotOutput({ ...filter, dbInstanceIdentifier: source.sourceIdentifier }, { parent: this }).dbSnapshotIdentifier;
            snapshotIdentifier = pulumi.output(found).apply((s) => {
                if (!s) throw new Error(`no manual snapshot tagged ${SOURCE_TAG}=${source.sourceIdentifier} in ${args.region}; set pilotlight:failoverDatabase.source to "snapshot" with pilotlight:failoverDatabase.snapshotIdentifier`);
                return s;
            });
        }
        const restoring = source.kind !== "new";
        // The final snapshot is named after what was restored; kept like the restore itself, so a
        // newer copy found by a later `up` does not rename it. The name never replaces the database.
        // A restore's storage and engine version are the snapshot's: never passed, never fought over
        // afterwards. Storage autoscaling grows any instance past its configured size, so that is
        // never planned back either (RDS cannot shrink storage).
        const ignoreChanges = restoring ? ["snapshotIdentifier", "restoreToPointInTime", "finalSnapshotIdentifier", "engineVersion"] : [];
        const instanceIgnoreChanges = [...ignoreChanges, "allocatedStorage"];
        const engineVersion = restoring ? undefined : args.engineVersion;
        const finalSnapshotIdentifier = snapshotIdentifier
            ? snapshotIdentifier.apply((s) => finalSnapshotName(id, finalSnapshotOrigin(source, s)))
            : pulumi.output(finalSnapshotName(id, finalSnapshotOrigin(source)));

        const retention = args.backupRetentionDays ?? 7;
        if (retention < 7 || retention > 35) throw new Error(`backup retention ${retention} days: expected 7 to 35`);
        const monitoringInterval = args.monitoringIntervalSeconds ?? 0;
        const monitoringRoleArn =
            monitoringInterval > 0
                ? (args.monitoringRoleArn ?? enhancedMonitoringRole(`${name}-monitoring`, args.accountId, args.region, tags, { parent: this }).arn)
                : undefined;
        const performanceInsights = args.performanceInsights ?? true;
        const insights = {
            performanceInsightsEnabled: performanceInsights,
            performanceInsightsKmsKeyId: performanceInsights ? args.kmsKeyArn : undefined,
            performanceInsightsRetentionPeriod: performanceInsights ? 7 : undefined,
            monitoringInterval,
            monitoringRoleArn,
        };
        const common = {
            engine: args.engine,
            engineVersion,
            port: args.port,
            storageEncrypted: true,
            kmsKeyId: args.kmsKeyArn,
            manageMasterUserPassword: true,
            masterUserSecretKmsKeyId: args.kmsKeyArn,
            vpcSecurityGroupIds: args.securityGroupIds,
            copyTagsToSnapshot: true,
            deletionProtection: args.deletionProtection ?? true,
            skipFinalSnapshot: false,
            finalSnapshotIdentifier,
            snapshotIdentifier,
        };

        if (aurora) {
            if (source.kind === "pointInTime") throw new Error(`${args.engine} cannot restore to a point in time from replicated automated backups; restore from a snapshot`);
            const params = new aws.rds.ClusterParameterGroup(
                `${name}-cluster-params`,
                { name: pgName, family, description: `pilotlight ${id}: TLS required`, parameters, tags },
                { parent: this },
            );
            const cluster = new aws.rds.Cluster(
                `${name}-cluster`,
                {
                    ...common,
                    clusterIdentifier: id,
                    databaseName: restoring ? undefined : (args.databaseName ?? "app"),
                    masterUsername: restoring ? undefined : (args.masterUsername ?? "pilotlight"),
                    dbSubnetGroupName: args.subnetGroupName,
                    dbClusterParameterGroupName: params.name,
                    backupRetentionPeriod: retention,
                    preferredBackupWindow: args.backupWindow ?? "03:00-04:00",
                    preferredMaintenanceWindow: args.maintenanceWindow ?? "sun:04:30-sun:05:30",
                    tags: databaseTags(tags, id, args.instanceClass),
                },
                { parent: this, ignoreChanges },
            );
            const count = args.instanceCount ?? 2;
            let writer: aws.rds.ClusterInstance | undefined;
            for (let i = 1; i <= count; i++) {
                const memberId = `${id}-${i}`;
                // The first member is created alone, so it becomes the writer; readers follow at tier 1.
                const member: aws.rds.ClusterInstance = new aws.rds.ClusterInstance(
                    `${name}-instance-${i}`,
                    {
                        identifier: memberId,
                        clusterIdentifier: cluster.id,
                        engine: args.engine,
                        // Members follow the cluster's version (the snapshot's, on a restore).
                        engineVersion,
                        instanceClass: i === 1 ? args.instanceClass : (args.readerClass ?? args.instanceClass),
                        promotionTier: i === 1 ? 0 : 1,
                        dbSubnetGroupName: args.subnetGroupName,
                        publiclyAccessible: false,
                        autoMinorVersionUpgrade: true,
                        copyTagsToSnapshot: true,
                        ...insights,
                        tags: databaseTags(tags, memberId),
                    },
                    { parent: this, dependsOn: writer ? [writer] : [], ignoreChanges: restoring ? ["engineVersion"] : [] },
                );
                writer ??= member;
            }
            // From the resource, not the lookup: ignoreChanges keeps the snapshot actually restored.
            this.restoredFrom = cluster.snapshotIdentifier.apply((s) => s ?? "");
            this.engineVersionActual = cluster.engineVersionActual.apply((v) => v ?? "");
            this.identifier = cluster.clusterIdentifier;
            this.endpoint = cluster.endpoint;
            this.port = cluster.port;
            this.arn = cluster.arn;
            this.masterUserSecretArn = cluster.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? "");
        } else {
            const params = new aws.rds.ParameterGroup(
                `${name}-params`,
                { name: pgName, family, description: `pilotlight ${id}: TLS required`, parameters, tags },
                { parent: this },
            );
            const instance = new aws.rds.Instance(
                `${name}-instance`,
                {
                    ...common,
                    // An instance restore cannot re-encrypt: it keeps the key of the snapshot or backups
                    // (the copy target's copies are already under the DR key). Naming one would only
                    // make a later `up` see a difference on a property that replaces the database.
                    kmsKeyId: restoring ? undefined : args.kmsKeyArn,
                    identifier: id,
                    instanceClass: args.instanceClass,
                    dbName: restoring ? undefined : (args.databaseName ?? "app"),
                    username: restoring ? undefined : (args.masterUsername ?? "pilotlight"),
                    allocatedStorage: restoring ? undefined : (args.allocatedStorage ?? 20),
                    maxAllocatedStorage: args.maxAllocatedStorage ?? 100,
                    storageType: "gp3",
                    multiAz: args.multiAz ?? false,
                    publiclyAccessible: false,
                    dbSubnetGroupName: args.subnetGroupName,
                    parameterGroupName: params.name,
                    backupRetentionPeriod: retention,
                    backupWindow: args.backupWindow ?? "03:00-04:00",
                    maintenanceWindow: args.maintenanceWindow ?? "sun:04:30-sun:05:30",
                    autoMinorVersionUpgrade: true,
                    // Automated backups outlive the instance for their retention: a last way back.
                    deleteAutomatedBackups: false,
                    restoreToPointInTime:
                        source.kind === "pointInTime"
                            ? {
                                  sourceDbInstanceAutomatedBackupsArn: source.automatedBackupsArn,
                                  restoreTime: source.restoreTime,
                                  useLatestRestorableTime: source.restoreTime ? undefined : true,
                              }
                            : undefined,
                    ...insights,
                    tags: databaseTags(tags, id),
                },
                { parent: this, ignoreChanges: instanceIgnoreChanges },
            );
            this.restoredFrom = instance.snapshotIdentifier.apply((s) => s ?? "");
            this.engineVersionActual = instance.engineVersionActual.apply((v) => v ?? "");
            this.identifier = instance.identifier;
            this.endpoint = instance.address;
            this.port = instance.port;
            this.arn = instance.arn;
            this.masterUserSecretArn = instance.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? "");
        }
        this.masterUserSecretKeyArn = pulumi.output(args.kmsKeyArn);
        this.registerAll();
    }

    private registerAll(): void {
        this.registerOutputs({
            identifier: this.identifier,
            endpoint: this.endpoint,
            port: this.port,
            arn: this.arn,
            isCluster: this.isCluster,
            masterUserSecretArn: this.masterUserSecretArn,
            restoredFrom: this.restoredFrom,
            engineVersionActual: this.engineVersionActual,
        });
    }
}
