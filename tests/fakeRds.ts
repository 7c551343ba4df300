/**
 * A stateful fake of the RDS API for handler and machine tests.
 *
 * Installed with aws-sdk-client-mock, so every `RDSClient` instance in the
 * process (including those handlers build at module level) talks to it.
 *
 * State (all public, so tests can arrange and inspect it directly):
 * - `instances`: DB instances by identifier. Each holds the SDK's own
 *   `DBInstance` shape (`info`) plus a `data` marker standing in for the
 *   database's contents. Aurora members are instances whose
 *   `info.DBClusterIdentifier` names their cluster; they carry no data.
 * - `clusters`: Aurora clusters by identifier, `DBCluster` shape + `data`.
 *   `DBClusterMembers` is derived from the member instances on every read.
 * - `snapshots` / `clusterSnapshots`: manual and final snapshots; each copies
 *   the `data` of its source at creation time.
 * - `exportTasks`: StartExportTask results.
 * - `calls`: every command received, in order, with its input.
 *
 * Time is counted in polls: each Describe* that returns a resource advances
 * that resource one step along its `timeline` (e.g. a restore goes
 * `creating` → `backing-up` → `available`). A status of `GONE` removes the
 * resource. `stick(...)` freezes a resource; `failNext(...)` makes the next
 * call(s) of a command throw; `nextRestoreEndsIn(...)` makes the next restore
 * end in `failed` or `incompatible-restore`.
 *
 * To extend (cross-region copies, sharing, failover...), add a handler method
 * and register it in `COMMANDS`; keep state in these maps.
 */
import {
    AddTagsToResourceCommand,
    CopyDBClusterSnapshotCommand,
    CopyDBSnapshotCommand,
    DescribeDBClusterSnapshotAttributesCommand,
    DescribeDBSnapshotAttributesCommand,
    ModifyDBClusterSnapshotAttributeCommand,
    ModifyDBSnapshotAttributeCommand,
    CreateDBClusterSnapshotCommand,
    CreateDBInstanceCommand,
    CreateDBSnapshotCommand,
    DBCluster,
    DBClusterAlreadyExistsFault,
    DBClusterNotFoundFault,
    DBClusterSnapshot,
    DBClusterSnapshotAlreadyExistsFault,
    DBClusterSnapshotNotFoundFault,
    DBInstance,
    DBInstanceAlreadyExistsFault,
    DBInstanceNotFoundFault,
    DBSnapshot,
    DBSnapshotAlreadyExistsFault,
    DBSnapshotNotFoundFault,
    DBSubnetGroupNotFoundFault,
    DeleteDBClusterCommand,
    DeleteDBClusterSnapshotCommand,
    DeleteDBInstanceCommand,
    DeleteDBSnapshotCommand,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClustersCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    DescribeDBSubnetGroupsCommand,
    DescribeExportTasksCommand,
    ExportTask,
    ExportTaskAlreadyExistsFault,
    ExportTaskNotFoundFault,
    FailoverDBClusterCommand,
    Filter,
    InvalidDBClusterSnapshotStateFault,
    InvalidDBClusterStateFault,
    InvalidDBInstanceStateFault,
    InvalidDBSnapshotStateFault,
    InvalidExportSourceStateFault,
    ListTagsForResourceCommand,
    ModifyDBClusterCommand,
    ModifyDBInstanceCommand,
    RDSClient,
    RDSServiceException,
    RemoveTagsFromResourceCommand,
    RestoreDBClusterFromSnapshotCommand,
    RestoreDBInstanceFromDBSnapshotCommand,
    StartExportTaskCommand,
    Tag,
    DescribeAccountAttributesCommand,
    SnapshotQuotaExceededFault,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
/** Status that removes a resource when reached. */
export const GONE = "__gone__";
const STUCK = "__stuck__";

/** ARN of an RDS resource in the fake's account and region. */
export function rdsArn(kind: "db" | "cluster" | "snapshot" | "cluster-snapshot", id: string): string {
    return `arn:aws:rds:${REGION}:${ACCOUNT}:${kind}:${id}`;
}

/** A resource whose status moves along a timeline, one step per poll. */
interface Timed {
    status: string;
    timeline: string[];
    stuck: boolean;
}

export interface FakeInstance extends Timed {
    info: DBInstance;
    /** For Aurora members: whether this instance is the cluster's writer. */
    writer?: boolean;
    /** Stands in for the database's contents; empty for cluster members. */
    data: string;
    tags: Tag[];
}

export interface FakeCluster extends Timed {
    info: DBCluster;
    data: string;
    tags: Tag[];
    /** During a FailoverDBCluster: the member that becomes the writer when the cluster leaves `failing-over`. */
    pendingWriter?: string;
}

export interface FakeSnapshot extends Timed {
    info: DBSnapshot;
    data: string;
    tags: Tag[];
    /** ARN of the snapshot this one is a copy of. */
    copiedFrom?: string;
    /** Accounts (or "all") the snapshot is shared with: its `restore` attribute. */
    restoreAccounts?: string[];
}

export interface FakeClusterSnapshot extends Timed {
    info: DBClusterSnapshot;
    data: string;
    tags: Tag[];
    /** ARN of the snapshot this one is a copy of. */
    copiedFrom?: string;
    /** Accounts (or "all") the snapshot is shared with: its `restore` attribute. */
    restoreAccounts?: string[];
}

export interface FakeExportTask extends Timed {
    info: ExportTask;
}

export interface RecordedCall {
    command: string;
    input: Record<string, unknown>;
    /** Region of the client, when it is not the fake's home region. */
    region?: string;
}

/** Where a fake lives; other regions are shards of the home fake. */
export interface FakeRdsOptions {
    /** Defaults to `REGION`. */
    region?: string;
    /** Defaults to `ACCOUNT`. */
    account?: string;
    /** Home fake of a region shard: shares its call log and clock; installs no mock. */
    home?: FakeRds;
}

/** KMS key id of the account's `aws/rds` default key in a region (snapshots under it can be neither shared nor copied to another account). */
export function defaultRdsKey(region: string, account: string): string {
    return `arn:aws:kms:${region}:${account}:key/aws-rds-default`;
}

/** Steps a new or changed resource goes through; tests may shorten or lengthen them. */
export interface Timelines {
    instanceCreate: string[];
    clusterCreate: string[];
    rename: string[];
    modify: string[];
    instanceDelete: string[];
    clusterDelete: string[];
    snapshotCreate: string[];
    snapshotDelete: string[];
    exportTask: string[];
    failover: string[];
}

export const DEFAULT_TIMELINES: Timelines = {
    instanceCreate: ["creating", "creating", "backing-up", "available"],
    clusterCreate: ["creating", "creating", "available"],
    rename: ["renaming", "available"],
    modify: ["modifying", "available"],
    instanceDelete: ["deleting", "deleting", GONE],
    clusterDelete: ["deleting", GONE],
    snapshotCreate: ["creating", "creating", "available"],
    snapshotDelete: ["deleting", GONE],
    exportTask: ["STARTING", "IN_PROGRESS", "IN_PROGRESS", "COMPLETE"],
    failover: ["failing-over", "failing-over", "available"],
};

/** Statuses of a copy that ended without becoming available. */
const FAILED_COPY = new Set(["failed", "error"]);

/** Commands whose names start with these never change state. */
const READ_ONLY_PREFIXES = ["Describe", "List"];

function fault(name: string, message: string): RDSServiceException {
    return new RDSServiceException({ name, $fault: "client", $metadata: { httpStatusCode: 400 }, message });
}

/** The SDK's throttling error as the RDS API returns it (Query protocol `Throttling`). */
export function throttling(): RDSServiceException {
    return new RDSServiceException({
        name: "Throttling",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message: "Rate exceeded",
    });
}

const meta = { $metadata: {} };

function clone<T>(value: T): T {
    return structuredClone(value);
}

function start<T extends Timed>(r: T, steps: string[]): void {
    const [first, ...rest] = steps;
    r.status = first;
    r.timeline = rest;
}

function mergeTags(existing: Tag[], added: Tag[] | undefined): Tag[] {
    const out = existing.filter((t) => !(added ?? []).some((a) => a.Key === t.Key));
    return [...out, ...(added ?? []).map((t) => ({ Key: t.Key, Value: t.Value }))];
}

function filterValues(filters: Filter[] | undefined, name: string): string[] | undefined {
    return filters?.find((f) => f.Name === name)?.Values;
}

/** Options for seeding a snapshot another account shared with the fake's. */
export interface SeedShared {
    data?: string;
    engine?: string;
    created?: string;
    /** The owner's key (the copy needs a key of this account anyway). */
    kmsKeyId: string;
    status?: string;
    /** The instance or cluster it was taken from. Defaults to the snapshot's name less a trailing `-<14 digits>`. */
    databaseIdentifier?: string;
}

/** Options for seeding a DB instance. `info` fields override the defaults. */
export interface SeedInstance {
    identifier: string;
    data?: string;
    status?: string;
    tags?: Tag[];
    info?: Partial<DBInstance>;
}

export interface SeedCluster {
    identifier: string;
    data?: string;
    status?: string;
    tags?: Tag[];
    info?: Partial<DBCluster>;
    /** Member instances, writer first unless `writer` says otherwise. */
    members: { identifier: string; writer?: boolean; info?: Partial<DBInstance> }[];
}

export class FakeRds {
    readonly instances = new Map<string, FakeInstance>();
    readonly clusters = new Map<string, FakeCluster>();
    readonly snapshots = new Map<string, FakeSnapshot>();
    readonly clusterSnapshots = new Map<string, FakeClusterSnapshot>();
    readonly exportTasks = new Map<string, FakeExportTask>();
    /** Automated backups kept after their database was deleted with `DeleteAutomatedBackups: false`. */
    readonly retainedBackups: { identifier: string; resourceId: string; data: string }[] = [];
    /** DB subnet groups by name: the AZs of their subnets. */
    readonly subnetGroups = new Map<string, string[]>();
    readonly calls: RecordedCall[];
    timelines: Timelines = clone(DEFAULT_TIMELINES);
    readonly region: string;
    readonly account: string;
    /** Snapshots other accounts shared with this one, by ARN. */
    readonly sharedWithMe = new Map<string, FakeSnapshot>();
    /** Cluster snapshots other accounts shared with this one, by ARN. */
    readonly sharedClustersWithMe = new Map<string, FakeClusterSnapshot>();
    /** RDS quotas `ManualSnapshots` and `ManualClusterSnapshots` of this region (adjustable, 100 by default). */
    manualSnapshotQuota = 100;
    manualClusterSnapshotQuota = 100;
    /** Copy requests that found 20 others in progress to this region: RDS does not allow them. */
    readonly copyLimitViolations: string[] = [];
    /** Other regions of the same account, created on first use by a client of that region. */
    readonly shards = new Map<string, FakeRds>();
    private readonly home?: FakeRds;
    private readonly table = new Map<string, (input: never) => unknown>();

    private readonly failures: { command: string; error: () => Error; remaining: number }[] = [];
    private restoreOutcome: string | undefined;
    private failoverSwitches = true;
    private resourceIds = 0;
    private clock = Date.parse("2026-01-01T00:00:00Z");
    private readonly mock?: ReturnType<typeof mockClient>;

    constructor(options: FakeRdsOptions = {}) {
        this.region = options.region ?? options.home?.region ?? REGION;
        this.account = options.account ?? options.home?.account ?? ACCOUNT;
        this.home = options.home;
        this.calls = options.home?.calls ?? [];
        const handlers: [new (input: never) => unknown, string, (input: never) => unknown][] = [
            [DescribeDBInstancesCommand, "DescribeDBInstances", (i) => this.describeDBInstances(i)],
            [DescribeDBClustersCommand, "DescribeDBClusters", (i) => this.describeDBClusters(i)],
            [DescribeDBSnapshotsCommand, "DescribeDBSnapshots", (i) => this.describeDBSnapshots(i)],
            [DescribeDBClusterSnapshotsCommand, "DescribeDBClusterSnapshots", (i) => this.describeDBClusterSnapshots(i)],
            [DescribeExportTasksCommand, "DescribeExportTasks", (i) => this.describeExportTasks(i)],
            [ListTagsForResourceCommand, "ListTagsForResource", (i) => this.listTagsForResource(i)],
            [AddTagsToResourceCommand, "AddTagsToResource", (i) => this.addTagsToResource(i)],
            [RemoveTagsFromResourceCommand, "RemoveTagsFromResource", (i) => this.removeTagsFromResource(i)],
            [CreateDBSnapshotCommand, "CreateDBSnapshot", (i) => this.createDBSnapshot(i)],
            [CreateDBClusterSnapshotCommand, "CreateDBClusterSnapshot", (i) => this.createDBClusterSnapshot(i)],
            [DeleteDBSnapshotCommand, "DeleteDBSnapshot", (i) => this.deleteDBSnapshot(i)],
            [DeleteDBClusterSnapshotCommand, "DeleteDBClusterSnapshot", (i) => this.deleteDBClusterSnapshot(i)],
            [ModifyDBInstanceCommand, "ModifyDBInstance", (i) => this.modifyDBInstance(i)],
            [ModifyDBClusterCommand, "ModifyDBCluster", (i) => this.modifyDBCluster(i)],
            [RestoreDBInstanceFromDBSnapshotCommand, "RestoreDBInstanceFromDBSnapshot", (i) => this.restoreDBInstance(i)],
            [RestoreDBClusterFromSnapshotCommand, "RestoreDBClusterFromSnapshot", (i) => this.restoreDBCluster(i)],
            [CreateDBInstanceCommand, "CreateDBInstance", (i) => this.createDBInstance(i)],
            [DeleteDBInstanceCommand, "DeleteDBInstance", (i) => this.deleteDBInstance(i)],
            [DeleteDBClusterCommand, "DeleteDBCluster", (i) => this.deleteDBCluster(i)],
            [StartExportTaskCommand, "StartExportTask", (i) => this.startExportTask(i)],
            [CopyDBSnapshotCommand, "CopyDBSnapshot", (i) => this.copyDBSnapshot(i)],
            [CopyDBClusterSnapshotCommand, "CopyDBClusterSnapshot", (i) => this.copyDBClusterSnapshot(i)],
            [ModifyDBSnapshotAttributeCommand, "ModifyDBSnapshotAttribute", (i) => this.modifySnapshotAttribute(i, false)],
            [ModifyDBClusterSnapshotAttributeCommand, "ModifyDBClusterSnapshotAttribute", (i) => this.modifySnapshotAttribute(i, true)],
            [DescribeDBSnapshotAttributesCommand, "DescribeDBSnapshotAttributes", (i) => this.describeSnapshotAttributes(i, false)],
            [DescribeDBClusterSnapshotAttributesCommand, "DescribeDBClusterSnapshotAttributes", (i) => this.describeSnapshotAttributes(i, true)],
            [DescribeDBSubnetGroupsCommand, "DescribeDBSubnetGroups", (i) => this.describeDBSubnetGroups(i)],
            [FailoverDBClusterCommand, "FailoverDBCluster", (i) => this.failoverDBCluster(i)],
            [DescribeAccountAttributesCommand, "DescribeAccountAttributes", () => this.describeAccountAttributes()],
        ];
        for (const [, name, fn] of handlers) this.table.set(name, fn);
        if (options.home) return;
        const mock = mockClient(RDSClient);
        this.mock = mock;
        mock.onAnyCommand().callsFake((input: Record<string, unknown>) => {
            this.calls.push({ command: "Unsupported", input: clone(input ?? {}) });
            throw new Error(`FakeRds: unsupported command with input ${JSON.stringify(input)}`);
        });
        for (const [command, name] of handlers) {
            mock.on(command as never).callsFake(async (input: unknown, getClient: () => { config: { region: () => Promise<string> } }) => {
                const target = this.inRegion(await clientRegion(getClient, this.region));
                return target.dispatch(name, input as never, target.table.get(name)!);
            });
        }
    }

    /** Removes the mock from RDSClient; call in `afterEach`. */
    restore(): void {
        this.mock?.restore();
    }

    /** The fake of `region` in the same account (this one for its own region). */
    inRegion(region: string): FakeRds {
        const home = this.home ?? this;
        if (region === home.region) return home;
        let shard = home.shards.get(region);
        if (!shard) {
            shard = new FakeRds({ region, home });
            shard.timelines = home.timelines;
            home.shards.set(region, shard);
        }
        return shard;
    }

    /** ARN of an RDS resource of this fake's account and region. */
    arn(kind: "db" | "cluster" | "snapshot" | "cluster-snapshot", id: string): string {
        return `arn:aws:rds:${this.region}:${this.account}:${kind}:${id}`;
    }

    // ---------------------------------------------------------------- seeding

    /** Adds an `available` instance with sensible settings; returns it. */
    addInstance(seed: SeedInstance): FakeInstance {
        const id = seed.identifier;
        const inst: FakeInstance = {
            status: seed.status ?? "available",
            timeline: [],
            stuck: false,
            data: seed.data ?? `data-of-${id}`,
            tags: clone(seed.tags ?? []),
            info: {
                DBInstanceIdentifier: id,
                DBInstanceArn: this.arn("db", id),
                DbiResourceId: this.newResourceId("db"),
                Engine: "postgres",
                EngineVersion: "16.4",
                DBInstanceClass: "db.t4g.micro",
                AllocatedStorage: 20,
                StorageType: "gp3",
                StorageEncrypted: true,
                Endpoint: { Address: `${id}.abc123.${REGION}.rds.amazonaws.com`, Port: 5432 },
                DbInstancePort: 0,
                MultiAZ: false,
                AvailabilityZone: `${REGION}a`,
                PubliclyAccessible: false,
                DBSubnetGroup: { DBSubnetGroupName: "default" },
                VpcSecurityGroups: [],
                DBParameterGroups: [{ DBParameterGroupName: "default.postgres16", ParameterApplyStatus: "in-sync" }],
                OptionGroupMemberships: [{ OptionGroupName: "default:postgres-16", Status: "in-sync" }],
                DeletionProtection: false,
                BackupRetentionPeriod: 1,
                ...clone(seed.info ?? {}),
            },
        };
        this.instances.set(id, inst);
        return inst;
    }

    /** Adds an `available` Aurora cluster and its member instances; returns it. */
    addCluster(seed: SeedCluster): FakeCluster {
        const id = seed.identifier;
        const cluster: FakeCluster = {
            status: seed.status ?? "available",
            timeline: [],
            stuck: false,
            data: seed.data ?? `data-of-${id}`,
            tags: clone(seed.tags ?? []),
            info: {
                DBClusterIdentifier: id,
                DBClusterArn: this.arn("cluster", id),
                DbClusterResourceId: this.newResourceId("cluster"),
                Engine: "aurora-postgresql",
                EngineVersion: "16.4",
                EngineMode: "provisioned",
                Port: 5432,
                Endpoint: `${id}.cluster-abc123.${REGION}.rds.amazonaws.com`,
                DBSubnetGroup: "default",
                VpcSecurityGroups: [],
                DBClusterParameterGroup: "default.aurora-postgresql16",
                StorageEncrypted: true,
                DeletionProtection: false,
                BackupRetentionPeriod: 1,
                ...clone(seed.info ?? {}),
            },
        };
        this.clusters.set(id, cluster);
        const hasWriterFlag = seed.members.some((m) => m.writer !== undefined);
        seed.members.forEach((m, index) => {
            const inst = this.addInstance({
                identifier: m.identifier,
                data: "",
                info: {
                    Engine: cluster.info.Engine,
                    EngineVersion: cluster.info.EngineVersion,
                    DBInstanceClass: "db.r6g.large",
                    DBParameterGroups: [{ DBParameterGroupName: "default.aurora-postgresql16", ParameterApplyStatus: "in-sync" }],
                    StorageType: "aurora",
                    PromotionTier: 1,
                    ...clone(m.info ?? {}),
                    DBClusterIdentifier: id,
                },
            });
            inst.writer = hasWriterFlag ? m.writer === true : index === 0;
        });
        return cluster;
    }

    /** Adds an available manual snapshot of an instance (or of a name that no longer exists). */
    addSnapshot(id: string, of: string, opts: { data?: string; created?: string; tags?: Tag[]; status?: string; kmsKeyId?: string } = {}): FakeSnapshot {
        const source = this.instances.get(of);
        const snap: FakeSnapshot = {
            status: opts.status ?? "available",
            timeline: [],
            stuck: false,
            data: opts.data ?? source?.data ?? `data-of-${of}`,
            tags: clone(opts.tags ?? []),
            info: {
                DBSnapshotIdentifier: id,
                DBSnapshotArn: this.arn("snapshot", id),
                DBInstanceIdentifier: of,
                DbiResourceId: source?.info.DbiResourceId,
                Engine: source?.info.Engine ?? "postgres",
                EngineVersion: source?.info.EngineVersion,
                SnapshotType: "manual",
                SnapshotCreateTime: new Date(opts.created ?? this.tick()),
                Encrypted: true,
                KmsKeyId: opts.kmsKeyId ?? source?.info.KmsKeyId ?? defaultRdsKey(this.region, this.account),
                AllocatedStorage: source?.info.AllocatedStorage ?? 20,
            },
        };
        this.snapshots.set(id, snap);
        return snap;
    }

    /** Adds an available manual cluster snapshot. */
    addClusterSnapshot(
        id: string,
        of: string,
        opts: { data?: string; created?: string; tags?: Tag[]; status?: string; kmsKeyId?: string } = {},
    ): FakeClusterSnapshot {
        const source = this.clusters.get(of);
        const snap: FakeClusterSnapshot = {
            status: opts.status ?? "available",
            timeline: [],
            stuck: false,
            data: opts.data ?? source?.data ?? `data-of-${of}`,
            tags: clone(opts.tags ?? []),
            info: {
                DBClusterSnapshotIdentifier: id,
                DBClusterSnapshotArn: this.arn("cluster-snapshot", id),
                DBClusterIdentifier: of,
                Engine: source?.info.Engine ?? "aurora-postgresql",
                EngineVersion: source?.info.EngineVersion,
                EngineMode: source?.info.EngineMode,
                SnapshotType: "manual",
                SnapshotCreateTime: new Date(opts.created ?? this.tick()),
                // A snapshot is encrypted as its cluster is.
                StorageEncrypted: source?.info.StorageEncrypted ?? true,
                KmsKeyId: source?.info.StorageEncrypted === false ? undefined : (opts.kmsKeyId ?? source?.info.KmsKeyId ?? defaultRdsKey(this.region, this.account)),
            },
        };
        this.clusterSnapshots.set(id, snap);
        return snap;
    }

    /** Adds a DB subnet group whose subnets are in `azs`. */
    addSubnetGroup(name: string, azs: string[]): void {
        this.subnetGroups.set(name, [...azs]);
    }

    /** An Aurora-initiated failover that already happened: `newWriter` is the writer now, the old writer a reader. */
    simulateFailover(clusterId: string, newWriter: string): void {
        const members = this.membersOf(clusterId);
        if (!members.some((m) => m.info.DBInstanceIdentifier === newWriter)) throw new Error(`FakeRds.simulateFailover: ${newWriter} is not a member of ${clusterId}`);
        for (const m of members) m.writer = m.info.DBInstanceIdentifier === newWriter;
    }

    // -------------------------------------------------------- fault injection

    /** Makes the next FailoverDBCluster run its course but leave the writer where it was (Aurora gave up). */
    nextFailoverDoesNotSwitch(): void {
        this.failoverSwitches = false;
    }

    /** The next `times` calls of `command` (e.g. "ModifyDBInstance") throw `error()` (a throttling error by default). */
    failNext(command: string, error: () => Error = throttling, times = 1): void {
        this.failures.push({ command, error, remaining: times });
    }

    /** Every call of `command` throws from now on. */
    failAlways(command: string, error: () => Error): void {
        this.failures.push({ command, error, remaining: Number.POSITIVE_INFINITY });
    }

    /** Freezes a resource in `status` (it never advances again). */
    stick(kind: "instance" | "cluster" | "snapshot" | "cluster-snapshot", id: string, status?: string): void {
        const r = this.find(kind, id);
        if (!r) throw new Error(`FakeRds.stick: no ${kind} ${id}`);
        if (status) r.status = status;
        r.timeline = [];
        r.stuck = true;
    }

    /** Makes the next restored instance or cluster end in `status` instead of `available`. */
    nextRestoreEndsIn(status: "failed" | "incompatible-restore" | "incompatible-parameters"): void {
        this.restoreOutcome = status;
    }

    /** Makes the next restored instance or cluster stay `creating` forever. */
    nextRestoreNeverFinishes(): void {
        this.restoreOutcome = STUCK;
    }

    // ---------------------------------------------------------------- queries

    /** Calls that may change state (everything but Describe* and List*). */
    mutatingCalls(): RecordedCall[] {
        return this.calls.filter((c) => !READ_ONLY_PREFIXES.some((p) => c.command.startsWith(p)));
    }

    callsOf(command: string): RecordedCall[] {
        return this.calls.filter((c) => c.command === command);
    }

    /** Members of a cluster, writer first. */
    membersOf(clusterId: string): FakeInstance[] {
        return [...this.instances.values()]
            .filter((i) => i.info.DBClusterIdentifier === clusterId)
            .sort((a, b) => Number(b.writer === true) - Number(a.writer === true));
    }

    // --------------------------------------------------------------- plumbing

    private async dispatch(command: string, input: never, fn: (input: never) => unknown): Promise<unknown> {
        const call: RecordedCall = { command, input: clone((input ?? {}) as Record<string, unknown>) };
        if (this.home) call.region = this.region;
        this.calls.push(call);
        const failure = this.failures.find((f) => f.command === command && f.remaining > 0);
        if (failure) {
            failure.remaining -= 1;
            throw failure.error();
        }
        return fn(input);
    }

    private tick(): string {
        if (this.home) return this.home.tick();
        this.clock += 60_000;
        return new Date(this.clock).toISOString();
    }

    private newResourceId(kind: "db" | "cluster"): string {
        this.resourceIds += 1;
        return `${kind}-FAKE${String(this.resourceIds).padStart(6, "0")}`;
    }

    private find(kind: string, id: string): Timed | undefined {
        switch (kind) {
            case "instance":
            case "db":
                return this.instances.get(id);
            case "cluster":
                return this.clusters.get(id);
            case "snapshot":
                return this.snapshots.get(id);
            case "cluster-snapshot":
                return this.clusterSnapshots.get(id);
            default:
                return undefined;
        }
    }

    /** Advances one poll; returns false when the resource just disappeared. */
    private advance<T extends Timed>(r: T, remove: () => void): boolean {
        if (r.stuck || r.timeline.length === 0) return true;
        const next = r.timeline.shift()!;
        if (next === GONE) {
            remove();
            return false;
        }
        r.status = next;
        return true;
    }

    private resolveArn(arn: string): { tags: Tag[] } & Timed {
        const m = /^arn:aws:rds:[^:]+:\d+:(db|cluster|snapshot|cluster-snapshot):(.+)$/.exec(arn);
        const r = m ? (this.find(m[1], m[2]) as ({ tags: Tag[] } & Timed) | undefined) : undefined;
        if (!r) {
            const kind = m?.[1];
            const msg = `${arn} not found`;
            if (kind === "cluster") throw new DBClusterNotFoundFault({ ...meta, message: msg });
            if (kind === "snapshot") throw new DBSnapshotNotFoundFault({ ...meta, message: msg });
            if (kind === "cluster-snapshot") throw new DBClusterSnapshotNotFoundFault({ ...meta, message: msg });
            throw new DBInstanceNotFoundFault({ ...meta, message: msg });
        }
        return r;
    }

    private instanceView(i: FakeInstance): DBInstance {
        const view = clone(i.info);
        view.DBInstanceStatus = i.status;
        view.TagList = clone(i.tags);
        return view;
    }

    private clusterView(c: FakeCluster): DBCluster {
        const view = clone(c.info);
        view.Status = c.status;
        view.TagList = clone(c.tags);
        const id = c.info.DBClusterIdentifier!;
        view.DBClusterMembers = this.membersOf(id).map((m) => ({
            DBInstanceIdentifier: m.info.DBInstanceIdentifier,
            IsClusterWriter: m.writer === true,
            PromotionTier: m.info.PromotionTier,
            DBClusterParameterGroupStatus: "in-sync",
        }));
        return view;
    }

    private requireInstance(id: string | undefined): FakeInstance {
        const inst = id ? this.instances.get(id) : undefined;
        if (!inst) throw new DBInstanceNotFoundFault({ ...meta, message: `DBInstance ${id} not found.` });
        return inst;
    }

    private requireCluster(id: string | undefined): FakeCluster {
        const c = id ? this.clusters.get(id) : undefined;
        if (!c) throw new DBClusterNotFoundFault({ ...meta, message: `DBCluster ${id} not found.` });
        return c;
    }

    // ------------------------------------------------------------- describes

    private describeDBInstances(input: { DBInstanceIdentifier?: string; Filters?: Filter[] }) {
        let list: FakeInstance[];
        if (input.DBInstanceIdentifier) {
            list = [this.requireInstance(input.DBInstanceIdentifier)];
        } else {
            list = [...this.instances.values()];
            const clusterIds = filterValues(input.Filters, "db-cluster-id");
            if (clusterIds) list = list.filter((i) => clusterIds.includes(i.info.DBClusterIdentifier ?? ""));
        }
        const out = list.map((i) => this.instanceView(i));
        for (const i of list) this.advance(i, () => this.instances.delete(i.info.DBInstanceIdentifier!));
        return { ...meta, DBInstances: out };
    }

    private describeDBClusters(input: { DBClusterIdentifier?: string }) {
        const list = input.DBClusterIdentifier
            ? [this.requireCluster(input.DBClusterIdentifier)]
            : [...this.clusters.values()];
        const out = list.map((c) => this.clusterView(c));
        for (const c of list) {
            if (this.advance(c, () => this.clusters.delete(c.info.DBClusterIdentifier!))) this.settleFailover(c);
        }
        return { ...meta, DBClusters: out };
    }

    /** Once the cluster leaves `failing-over`, the failover's target becomes the writer. */
    private settleFailover(c: FakeCluster): void {
        if (c.pendingWriter === undefined || c.status === "failing-over") return;
        const target = c.pendingWriter;
        c.pendingWriter = undefined;
        if (target && this.instances.has(target)) this.simulateFailover(c.info.DBClusterIdentifier!, target);
    }

    private describeDBSubnetGroups(input: { DBSubnetGroupName?: string }) {
        const names = input.DBSubnetGroupName ? [input.DBSubnetGroupName] : [...this.subnetGroups.keys()];
        const groups = names.map((name) => {
            const azs = this.subnetGroups.get(name);
            if (!azs) throw new DBSubnetGroupNotFoundFault({ ...meta, message: `DBSubnetGroup ${name} not found.` });
            return {
                DBSubnetGroupName: name,
                SubnetGroupStatus: "Complete",
                Subnets: azs.map((az, i) => ({ SubnetIdentifier: `subnet-${name}-${i + 1}`, SubnetAvailabilityZone: { Name: az }, SubnetStatus: "Active" })),
            };
        });
        return { ...meta, DBSubnetGroups: groups };
    }

    private failoverDBCluster(input: { DBClusterIdentifier: string; TargetDBInstanceIdentifier?: string }) {
        const c = this.requireCluster(input.DBClusterIdentifier);
        if (c.status !== "available") {
            throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} is ${c.status}.` });
        }
        const readers = this.membersOf(input.DBClusterIdentifier).filter((m) => !m.writer);
        let target: FakeInstance | undefined;
        if (input.TargetDBInstanceIdentifier) {
            target = this.instances.get(input.TargetDBInstanceIdentifier);
            if (!target || target.info.DBClusterIdentifier !== input.DBClusterIdentifier) {
                throw new DBInstanceNotFoundFault({ ...meta, message: `DBInstance ${input.TargetDBInstanceIdentifier} is not a member of ${input.DBClusterIdentifier}.` });
            }
            if (target.writer) throw fault("InvalidParameterValue", `${input.TargetDBInstanceIdentifier} is already the writer.`);
            if (target.status !== "available") {
                throw new InvalidDBInstanceStateFault({ ...meta, message: `DBInstance ${input.TargetDBInstanceIdentifier} is ${target.status}.` });
            }
        } else {
            // Aurora picks the available reader with the best (lowest) promotion tier.
            target = readers
                .filter((r) => r.status === "available")
                .sort((a, b) => (a.info.PromotionTier ?? 1) - (b.info.PromotionTier ?? 1))[0];
            if (!target) throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} has no reader to fail over to.` });
        }
        c.pendingWriter = this.failoverSwitches ? target.info.DBInstanceIdentifier : "";
        this.failoverSwitches = true;
        start(c, this.timelines.failover);
        return { ...meta, DBCluster: this.clusterView(c) };
    }

    private describeDBSnapshots(input: { DBSnapshotIdentifier?: string; DBInstanceIdentifier?: string; SnapshotType?: string; IncludeShared?: boolean }) {
        let list: FakeSnapshot[];
        // "Shared and public DB snapshots are not included in the returned results by default. You can include shared
        // snapshots with these results by enabling the IncludeShared parameter." (DescribeDBSnapshots, SnapshotType)
        const sharedVisible = input.SnapshotType === "shared" || (input.IncludeShared === true && !["manual", "automated", "public", "awsbackup"].includes(input.SnapshotType ?? ""));
        if (input.DBSnapshotIdentifier && !sharedVisible && this.sharedWithMe.has(input.DBSnapshotIdentifier)) {
            throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.` });
        }
        if (input.SnapshotType === "shared" && !input.DBSnapshotIdentifier) {
            const shared = [...this.sharedWithMe.values()].filter((s) => !input.DBInstanceIdentifier || s.info.DBInstanceIdentifier === input.DBInstanceIdentifier);
            return { ...meta, DBSnapshots: shared.map((s) => ({ ...clone(s.info), Status: s.status, TagList: [] })) };
        }
        if (input.DBSnapshotIdentifier) {
            const s = this.snapshotByIdOrArn(input.DBSnapshotIdentifier);
            if (!s) throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.` });
            list = [s];
        } else {
            list = [...this.snapshots.values()].filter(
                (s) =>
                    (!input.DBInstanceIdentifier || s.info.DBInstanceIdentifier === input.DBInstanceIdentifier) &&
                    (!input.SnapshotType || s.info.SnapshotType === input.SnapshotType),
            );
        }
        const out = list.map((s) => ({ ...clone(s.info), Status: s.status, TagList: clone(s.tags) }));
        for (const s of list) this.advance(s, () => this.snapshots.delete(s.info.DBSnapshotIdentifier!));
        return { ...meta, DBSnapshots: out };
    }

    private describeDBClusterSnapshots(input: {
        DBClusterSnapshotIdentifier?: string;
        DBClusterIdentifier?: string;
        SnapshotType?: string;
    }) {
        let list: FakeClusterSnapshot[];
        if (input.SnapshotType === "shared" && !input.DBClusterSnapshotIdentifier) {
            const shared = [...this.sharedClustersWithMe.values()].filter((s) => !input.DBClusterIdentifier || s.info.DBClusterIdentifier === input.DBClusterIdentifier);
            return { ...meta, DBClusterSnapshots: shared.map((s) => ({ ...clone(s.info), Status: s.status, TagList: [] })) };
        }
        if (input.DBClusterSnapshotIdentifier) {
            const s = this.clusterSnapshotByIdOrArn(input.DBClusterSnapshotIdentifier);
            if (!s) {
                throw new DBClusterSnapshotNotFoundFault({
                    ...meta,
                    message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} not found.`,
                });
            }
            list = [s];
        } else {
            list = [...this.clusterSnapshots.values()].filter(
                (s) =>
                    (!input.DBClusterIdentifier || s.info.DBClusterIdentifier === input.DBClusterIdentifier) &&
                    (!input.SnapshotType || s.info.SnapshotType === input.SnapshotType),
            );
        }
        const out = list.map((s) => ({ ...clone(s.info), Status: s.status, TagList: clone(s.tags) }));
        for (const s of list) this.advance(s, () => this.clusterSnapshots.delete(s.info.DBClusterSnapshotIdentifier!));
        return { ...meta, DBClusterSnapshots: out };
    }

    private describeExportTasks(input: { ExportTaskIdentifier?: string }) {
        let list: FakeExportTask[];
        if (input.ExportTaskIdentifier) {
            const t = this.exportTasks.get(input.ExportTaskIdentifier);
            if (!t) throw new ExportTaskNotFoundFault({ ...meta, message: `Export task ${input.ExportTaskIdentifier} not found.` });
            list = [t];
        } else {
            list = [...this.exportTasks.values()];
        }
        const out = list.map((t) => ({ ...clone(t.info), Status: t.status }));
        for (const t of list) this.advance(t, () => this.exportTasks.delete(t.info.ExportTaskIdentifier!));
        return { ...meta, ExportTasks: out };
    }

    // ------------------------------------------------------------------ tags

    private listTagsForResource(input: { ResourceName: string }) {
        return { ...meta, TagList: clone(this.resolveArn(input.ResourceName).tags) };
    }

    private addTagsToResource(input: { ResourceName: string; Tags?: Tag[] }) {
        const r = this.resolveArn(input.ResourceName);
        r.tags = mergeTags(r.tags, input.Tags);
        return meta;
    }

    private removeTagsFromResource(input: { ResourceName: string; TagKeys?: string[] }) {
        const r = this.resolveArn(input.ResourceName);
        r.tags = r.tags.filter((t) => !(input.TagKeys ?? []).includes(t.Key!));
        return meta;
    }

    // ------------------------------------------------------------- snapshots

    private createDBSnapshot(input: { DBSnapshotIdentifier: string; DBInstanceIdentifier: string; Tags?: Tag[] }) {
        const inst = this.requireInstance(input.DBInstanceIdentifier);
        if (inst.info.DBClusterIdentifier) {
            throw fault("InvalidParameterCombination", "Cannot snapshot an Aurora cluster member; snapshot the cluster.");
        }
        if (inst.status !== "available") {
            throw new InvalidDBInstanceStateFault({ ...meta, message: `DBInstance ${input.DBInstanceIdentifier} is ${inst.status}.` });
        }
        if (this.snapshots.has(input.DBSnapshotIdentifier)) {
            throw new DBSnapshotAlreadyExistsFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} already exists.` });
        }
        this.checkSnapshotQuota(false);
        const snap = this.addSnapshot(input.DBSnapshotIdentifier, input.DBInstanceIdentifier, {
            tags: mergeTags(inst.info.CopyTagsToSnapshot ? inst.tags : [], input.Tags),
        });
        start(snap, this.timelines.snapshotCreate);
        return { ...meta, DBSnapshot: { ...clone(snap.info), Status: snap.status } };
    }

    private createDBClusterSnapshot(input: { DBClusterSnapshotIdentifier: string; DBClusterIdentifier: string; Tags?: Tag[] }) {
        const c = this.requireCluster(input.DBClusterIdentifier);
        if (c.status !== "available") {
            throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} is ${c.status}.` });
        }
        if (this.clusterSnapshots.has(input.DBClusterSnapshotIdentifier)) {
            throw new DBClusterSnapshotAlreadyExistsFault({
                ...meta,
                message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} already exists.`,
            });
        }
        this.checkSnapshotQuota(true);
        const snap = this.addClusterSnapshot(input.DBClusterSnapshotIdentifier, input.DBClusterIdentifier, {
            tags: mergeTags(c.info.CopyTagsToSnapshot ? c.tags : [], input.Tags),
        });
        start(snap, this.timelines.snapshotCreate);
        return { ...meta, DBClusterSnapshot: { ...clone(snap.info), Status: snap.status } };
    }

    private deleteDBSnapshot(input: { DBSnapshotIdentifier: string }) {
        const s = this.snapshots.get(input.DBSnapshotIdentifier);
        if (!s) throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.` });
        if (s.status !== "available") {
            throw new InvalidDBSnapshotStateFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} is ${s.status}.` });
        }
        this.failCopiesOf(s.info.DBSnapshotArn!);
        start(s, this.timelines.snapshotDelete);
        return { ...meta, DBSnapshot: { ...clone(s.info), Status: s.status } };
    }

    private deleteDBClusterSnapshot(input: { DBClusterSnapshotIdentifier: string }) {
        const s = this.clusterSnapshots.get(input.DBClusterSnapshotIdentifier);
        if (!s) {
            throw new DBClusterSnapshotNotFoundFault({
                ...meta,
                message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} not found.`,
            });
        }
        if (s.status !== "available") {
            throw new InvalidDBClusterSnapshotStateFault({
                ...meta,
                message: `DBClusterSnapshot ${input.DBClusterSnapshotIdentifier} is ${s.status}.`,
            });
        }
        this.failCopiesOf(s.info.DBClusterSnapshotArn!);
        start(s, this.timelines.snapshotDelete);
        return { ...meta, DBClusterSnapshot: { ...clone(s.info), Status: s.status } };
    }

    // ---------------------------------------------------------------- modify

    private modifyDBInstance(input: Record<string, unknown> & { DBInstanceIdentifier: string }) {
        const inst = this.requireInstance(input.DBInstanceIdentifier);
        if (inst.status !== "available") {
            throw new InvalidDBInstanceStateFault({ ...meta, message: `DBInstance ${input.DBInstanceIdentifier} is ${inst.status}.` });
        }
        const { DBInstanceIdentifier, NewDBInstanceIdentifier, ApplyImmediately, ...changes } = input;
        if (!ApplyImmediately) {
            // Without ApplyImmediately, changes wait for the maintenance window: nothing visible happens now.
            inst.info.PendingModifiedValues = { ...inst.info.PendingModifiedValues, ...(changes as object) };
            if (NewDBInstanceIdentifier) inst.info.PendingModifiedValues.DBInstanceIdentifier = NewDBInstanceIdentifier as string;
            return { ...meta, DBInstance: this.instanceView(inst) };
        }
        let steps = this.timelines.modify;
        if (NewDBInstanceIdentifier) {
            const newId = NewDBInstanceIdentifier as string;
            if (this.instances.has(newId)) {
                throw new DBInstanceAlreadyExistsFault({ ...meta, message: `DBInstance ${newId} already exists.` });
            }
            this.instances.delete(DBInstanceIdentifier);
            inst.info.DBInstanceIdentifier = newId;
            inst.info.DBInstanceArn = this.arn("db", newId);
            inst.info.Endpoint = { ...inst.info.Endpoint, Address: `${newId}.abc123.${REGION}.rds.amazonaws.com` };
            this.instances.set(newId, inst);
            steps = this.timelines.rename;
        }
        this.applyInstanceChanges(inst, changes);
        start(inst, steps);
        return { ...meta, DBInstance: this.instanceView(inst) };
    }

    /** Maps Create/Modify/Restore input names onto the DBInstance shape. */
    private applyInstanceChanges(inst: FakeInstance, changes: Record<string, unknown>): void {
        const info = inst.info;
        for (const [key, value] of Object.entries(changes)) {
            if (value === undefined) continue;
            switch (key) {
                case "DBSubnetGroupName":
                    info.DBSubnetGroup = { DBSubnetGroupName: value as string };
                    break;
                case "VpcSecurityGroupIds":
                    info.VpcSecurityGroups = (value as string[]).map((id) => ({ VpcSecurityGroupId: id, Status: "active" }));
                    break;
                case "DBParameterGroupName":
                    info.DBParameterGroups = [{ DBParameterGroupName: value as string, ParameterApplyStatus: "in-sync" }];
                    break;
                case "OptionGroupName":
                    info.OptionGroupMemberships = [{ OptionGroupName: value as string, Status: "in-sync" }];
                    break;
                case "Port":
                case "DBPortNumber":
                    info.Endpoint = { ...info.Endpoint, Port: value as number };
                    break;
                case "EnableIAMDatabaseAuthentication":
                    info.IAMDatabaseAuthenticationEnabled = value as boolean;
                    break;
                case "EnablePerformanceInsights":
                    info.PerformanceInsightsEnabled = value as boolean;
                    break;
                case "PerformanceInsightsKMSKeyId":
                    info.PerformanceInsightsKMSKeyId = value as string;
                    break;
                case "EnableCloudwatchLogsExports":
                    info.EnabledCloudwatchLogsExports = value as string[];
                    break;
                case "CloudwatchLogsExportConfiguration": {
                    const cfg = value as { EnableLogTypes?: string[]; DisableLogTypes?: string[] };
                    const current = new Set(info.EnabledCloudwatchLogsExports ?? []);
                    for (const t of cfg.EnableLogTypes ?? []) current.add(t);
                    for (const t of cfg.DisableLogTypes ?? []) current.delete(t);
                    info.EnabledCloudwatchLogsExports = [...current];
                    break;
                }
                case "Tags":
                    inst.tags = mergeTags(inst.tags, value as Tag[]);
                    break;
                case "ManageMasterUserPassword":
                    info.MasterUserSecret = value
                        ? { SecretArn: `arn:aws:secretsmanager:${this.region}:${this.account}:secret:rds!${info.DbiResourceId}`, SecretStatus: "active" }
                        : undefined;
                    break;
                case "MasterUserSecretKmsKeyId":
                    info.MasterUserSecret = { ...info.MasterUserSecret, KmsKeyId: value as string };
                    break;
                case "DBSnapshotIdentifier":
                case "DBClusterIdentifier":
                case "Engine":
                    break;
                default:
                    (info as Record<string, unknown>)[key] = clone(value);
            }
        }
    }

    private modifyDBCluster(input: Record<string, unknown> & { DBClusterIdentifier: string }) {
        const c = this.requireCluster(input.DBClusterIdentifier);
        if (c.status !== "available") {
            throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} is ${c.status}.` });
        }
        const { DBClusterIdentifier, NewDBClusterIdentifier, ApplyImmediately, ...changes } = input;
        if (!ApplyImmediately && NewDBClusterIdentifier) {
            // Aurora applies most changes at once, but a rename without ApplyImmediately waits for the window.
            c.info.PendingModifiedValues = { ...c.info.PendingModifiedValues, DBClusterIdentifier: NewDBClusterIdentifier as string };
            return { ...meta, DBCluster: this.clusterView(c) };
        }
        let steps = this.timelines.modify;
        if (NewDBClusterIdentifier) {
            const newId = NewDBClusterIdentifier as string;
            if (this.clusters.has(newId)) {
                throw new DBClusterAlreadyExistsFault({ ...meta, message: `DBCluster ${newId} already exists.` });
            }
            this.clusters.delete(DBClusterIdentifier);
            c.info.DBClusterIdentifier = newId;
            c.info.DBClusterArn = this.arn("cluster", newId);
            c.info.Endpoint = `${newId}.cluster-abc123.${REGION}.rds.amazonaws.com`;
            for (const m of this.membersOf(DBClusterIdentifier)) m.info.DBClusterIdentifier = newId;
            this.clusters.set(newId, c);
            steps = this.timelines.rename;
        }
        this.applyClusterChanges(c, changes);
        start(c, steps);
        return { ...meta, DBCluster: this.clusterView(c) };
    }

    private applyClusterChanges(c: FakeCluster, changes: Record<string, unknown>): void {
        const info = c.info;
        for (const [key, value] of Object.entries(changes)) {
            if (value === undefined) continue;
            switch (key) {
                case "DBSubnetGroupName":
                    info.DBSubnetGroup = value as string;
                    break;
                case "VpcSecurityGroupIds":
                    info.VpcSecurityGroups = (value as string[]).map((id) => ({ VpcSecurityGroupId: id, Status: "active" }));
                    break;
                case "DBClusterParameterGroupName":
                    info.DBClusterParameterGroup = value as string;
                    break;
                case "EnableIAMDatabaseAuthentication":
                    info.IAMDatabaseAuthenticationEnabled = value as boolean;
                    break;
                case "EnableCloudwatchLogsExports":
                    info.EnabledCloudwatchLogsExports = value as string[];
                    break;
                case "EnablePerformanceInsights":
                    info.PerformanceInsightsEnabled = value as boolean;
                    break;
                case "Tags":
                    c.tags = mergeTags(c.tags, value as Tag[]);
                    break;
                case "DatabaseName":
                    info.DatabaseName = value as string;
                    break;
                case "ManageMasterUserPassword":
                    info.MasterUserSecret = value
                        ? { SecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!${info.DbClusterResourceId}`, SecretStatus: "active" }
                        : undefined;
                    break;
                case "MasterUserSecretKmsKeyId":
                    info.MasterUserSecret = { ...info.MasterUserSecret, KmsKeyId: value as string };
                    break;
                case "SnapshotIdentifier":
                case "DBClusterIdentifier":
                    break;
                default:
                    (info as Record<string, unknown>)[key] = clone(value);
            }
        }
    }

    // --------------------------------------------------------------- restore

    private restoreDBInstance(input: Record<string, unknown> & { DBInstanceIdentifier: string; DBSnapshotIdentifier?: string }) {
        const snap = input.DBSnapshotIdentifier ? this.snapshots.get(input.DBSnapshotIdentifier) : undefined;
        if (!snap) throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.` });
        if (snap.status !== "available") {
            throw new InvalidDBSnapshotStateFault({ ...meta, message: `DBSnapshot ${input.DBSnapshotIdentifier} is ${snap.status}.` });
        }
        if (this.instances.has(input.DBInstanceIdentifier)) {
            throw new DBInstanceAlreadyExistsFault({ ...meta, message: `DBInstance ${input.DBInstanceIdentifier} already exists.` });
        }
        const engine = (input.Engine as string | undefined) ?? snap.info.Engine ?? "";
        // RestoreDBInstanceFromDBSnapshot.ManageMasterUserPassword: "Constraints: Applies to RDS for Oracle only."
        if (input.ManageMasterUserPassword !== undefined && !engine.startsWith("oracle")) {
            throw fault("InvalidParameterCombination", `ManageMasterUserPassword applies to RDS for Oracle only, not ${engine}.`);
        }
        // AllocatedStorage: "Be sure to allocate enough storage for your new DB instance so that the restore operation can succeed."
        if (input.AllocatedStorage !== undefined && (input.AllocatedStorage as number) < (snap.info.AllocatedStorage ?? 0)) {
            throw fault("InvalidParameterValue", `AllocatedStorage ${input.AllocatedStorage} is less than the snapshot's ${snap.info.AllocatedStorage} GiB.`);
        }
        // A restore starts from RDS defaults, not from the source instance's settings; the instance restore has no
        // KmsKeyId: "RestoreDBInstanceFromDBSnapshot" keeps the snapshot's encryption key.
        const inst = this.addInstance({
            identifier: input.DBInstanceIdentifier,
            data: snap.data,
            info: { Engine: snap.info.Engine, EngineVersion: snap.info.EngineVersion, AllocatedStorage: snap.info.AllocatedStorage, KmsKeyId: snap.info.KmsKeyId },
        });
        const { DBInstanceIdentifier: _id, ...changes } = input;
        this.applyInstanceChanges(inst, changes);
        this.startCreated(inst, this.timelines.instanceCreate);
        return { ...meta, DBInstance: this.instanceView(inst) };
    }

    private restoreDBCluster(input: Record<string, unknown> & { DBClusterIdentifier: string; SnapshotIdentifier: string; Engine: string }) {
        const snap = this.clusterSnapshots.get(input.SnapshotIdentifier);
        if (!snap) {
            throw new DBClusterSnapshotNotFoundFault({ ...meta, message: `DBClusterSnapshot ${input.SnapshotIdentifier} not found.` });
        }
        if (snap.status !== "available") {
            throw new InvalidDBClusterSnapshotStateFault({ ...meta, message: `DBClusterSnapshot ${input.SnapshotIdentifier} is ${snap.status}.` });
        }
        if (this.clusters.has(input.DBClusterIdentifier)) {
            throw new DBClusterAlreadyExistsFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} already exists.` });
        }
        // "When you create a DB snapshot, the snapshot is based on the engine version used by your DB instance. You can
        // upgrade the engine version for your DB snapshots" (RDS User Guide): upgrades only, never an older version.
        const wanted = input.EngineVersion as string | undefined;
        if (wanted !== undefined && snap.info.EngineVersion !== undefined && compareEngineVersions(wanted, snap.info.EngineVersion) < 0) {
            throw fault("InvalidParameterCombination", `Cannot restore a ${snap.info.EngineVersion} snapshot to the older engine version ${wanted}.`);
        }
        const c = this.addCluster({
            identifier: input.DBClusterIdentifier,
            data: snap.data,
            members: [],
            info: { Engine: input.Engine, EngineVersion: snap.info.EngineVersion, EngineMode: snap.info.EngineMode },
        });
        const { DBClusterIdentifier: _id, ...changes } = input;
        this.applyClusterChanges(c, changes);
        this.startCreated(c, this.timelines.clusterCreate);
        return { ...meta, DBCluster: this.clusterView(c) };
    }

    private createDBInstance(input: Record<string, unknown> & { DBInstanceIdentifier: string; DBClusterIdentifier?: string }) {
        if (!input.DBClusterIdentifier) {
            throw fault("InvalidParameterCombination", "FakeRds models CreateDBInstance for Aurora cluster members only.");
        }
        const c = this.requireCluster(input.DBClusterIdentifier);
        // RestoreDBClusterFromSnapshot: "You can create DB instances only after the RestoreDBClusterFromSnapshot operation has completed and the DB cluster is available."
        if (c.status !== "available") {
            throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} is ${c.status}; instances can be created only in an available cluster.` });
        }
        if (this.instances.has(input.DBInstanceIdentifier)) {
            throw new DBInstanceAlreadyExistsFault({ ...meta, message: `DBInstance ${input.DBInstanceIdentifier} already exists.` });
        }
        const isFirst = this.membersOf(input.DBClusterIdentifier).length === 0;
        const inst = this.addInstance({
            identifier: input.DBInstanceIdentifier,
            data: "",
            info: {
                Engine: c.info.Engine,
                EngineVersion: c.info.EngineVersion,
                StorageType: "aurora",
                DBParameterGroups: [{ DBParameterGroupName: "default.aurora-postgresql16", ParameterApplyStatus: "in-sync" }],
                DBClusterIdentifier: c.info.DBClusterIdentifier,
            },
        });
        // Aurora makes the first instance created in a cluster its writer.
        inst.writer = isFirst;
        const { DBInstanceIdentifier: _id, ...changes } = input;
        this.applyInstanceChanges(inst, changes);
        this.startCreated(inst, this.timelines.instanceCreate);
        return { ...meta, DBInstance: this.instanceView(inst) };
    }

    private startCreated(r: Timed, steps: string[]): void {
        if (this.restoreOutcome === STUCK) {
            start(r, steps.slice(0, 1));
            r.stuck = true;
            this.restoreOutcome = undefined;
        } else if (this.restoreOutcome) {
            start(r, [...steps.slice(0, -1), this.restoreOutcome]);
            this.restoreOutcome = undefined;
        } else {
            start(r, steps);
        }
    }

    // ---------------------------------------------------------------- delete

    private deleteDBInstance(input: {
        DBInstanceIdentifier: string;
        SkipFinalSnapshot?: boolean;
        FinalDBSnapshotIdentifier?: string;
        DeleteAutomatedBackups?: boolean;
    }) {
        const inst = this.requireInstance(input.DBInstanceIdentifier);
        // FinalDBSnapshotIdentifier: "Can't be specified when deleting a read replica."
        if (input.FinalDBSnapshotIdentifier && (inst.info.ReadReplicaSourceDBInstanceIdentifier || inst.info.ReadReplicaSourceDBClusterIdentifier)) {
            throw fault("InvalidParameterCombination", `${input.DBInstanceIdentifier} is a read replica; FinalDBSnapshotIdentifier can't be specified.`);
        }
        if (inst.info.DeletionProtection) {
            throw fault("InvalidParameterCombination", "Cannot delete protected DB Instance, please disable deletion protection and try again.");
        }
        if (inst.status === "deleting") {
            throw new InvalidDBInstanceStateFault({ ...meta, message: `DBInstance ${input.DBInstanceIdentifier} is already being deleted.` });
        }
        const member = Boolean(inst.info.DBClusterIdentifier);
        const failedState = ["failed", "incompatible-restore", "incompatible-parameters", "incompatible-network"].includes(inst.status);
        if (!member) {
            if (!input.SkipFinalSnapshot && !input.FinalDBSnapshotIdentifier) {
                throw fault("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
            }
            if (failedState && !input.SkipFinalSnapshot) {
                throw new InvalidDBInstanceStateFault({
                    ...meta,
                    message: `DBInstance ${input.DBInstanceIdentifier} is ${inst.status}; it can only be deleted with SkipFinalSnapshot.`,
                });
            }
            if (input.FinalDBSnapshotIdentifier && !input.SkipFinalSnapshot) {
                if (this.snapshots.has(input.FinalDBSnapshotIdentifier)) {
                    throw new DBSnapshotAlreadyExistsFault({ ...meta, message: `DBSnapshot ${input.FinalDBSnapshotIdentifier} already exists.` });
                }
                // CopyTagsToSnapshot: "Specifies whether to copy all tags from the DB instance to snapshots of the DB instance."
                this.addSnapshot(input.FinalDBSnapshotIdentifier, input.DBInstanceIdentifier, { data: inst.data, tags: inst.info.CopyTagsToSnapshot ? inst.tags : [] });
            }
        }
        // DeleteAutomatedBackups: "The default is to remove automated backups immediately after the DB instance is deleted."
        if (input.DeleteAutomatedBackups === false && !member && (inst.info.BackupRetentionPeriod ?? 0) > 0) {
            this.retainedBackups.push({ identifier: input.DBInstanceIdentifier, resourceId: inst.info.DbiResourceId!, data: inst.data });
        }
        const view = this.instanceView(inst);
        start(inst, this.timelines.instanceDelete);
        inst.stuck = false;
        view.DBInstanceStatus = inst.status;
        return { ...meta, DBInstance: view };
    }

    private deleteDBCluster(input: { DBClusterIdentifier: string; SkipFinalSnapshot?: boolean; FinalDBSnapshotIdentifier?: string; DeleteAutomatedBackups?: boolean }) {
        const c = this.requireCluster(input.DBClusterIdentifier);
        if (c.info.DeletionProtection) {
            throw fault("InvalidParameterCombination", "Cannot delete protected Cluster, please disable deletion protection and try again.");
        }
        if (c.status === "deleting") {
            throw new InvalidDBClusterStateFault({ ...meta, message: `DBCluster ${input.DBClusterIdentifier} is already being deleted.` });
        }
        if (this.membersOf(input.DBClusterIdentifier).some((m) => m.status !== "deleting")) {
            throw new InvalidDBClusterStateFault({
                ...meta,
                message: "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
            });
        }
        if (!input.SkipFinalSnapshot) {
            if (!input.FinalDBSnapshotIdentifier) {
                throw fault("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
            }
            if (this.clusterSnapshots.has(input.FinalDBSnapshotIdentifier)) {
                throw new DBClusterSnapshotAlreadyExistsFault({
                    ...meta,
                    message: `DBClusterSnapshot ${input.FinalDBSnapshotIdentifier} already exists.`,
                });
            }
            this.addClusterSnapshot(input.FinalDBSnapshotIdentifier, input.DBClusterIdentifier, { data: c.data, tags: [] });
        }
        // DeleteAutomatedBackups: "The default is to remove automated backups immediately after the DB cluster is deleted".
        if (input.DeleteAutomatedBackups === false && (c.info.BackupRetentionPeriod ?? 0) > 0) {
            this.retainedBackups.push({ identifier: input.DBClusterIdentifier, resourceId: c.info.DbClusterResourceId!, data: c.data });
        }
        const view = this.clusterView(c);
        start(c, this.timelines.clusterDelete);
        c.stuck = false;
        view.Status = c.status;
        return { ...meta, DBCluster: view };
    }

    // ---------------------------------------------------------------- export

    private startExportTask(input: {
        ExportTaskIdentifier: string;
        SourceArn: string;
        S3BucketName: string;
        IamRoleArn: string;
        KmsKeyId: string;
        S3Prefix?: string;
    }) {
        if (this.exportTasks.has(input.ExportTaskIdentifier)) {
            throw new ExportTaskAlreadyExistsFault({ ...meta, message: `Export task ${input.ExportTaskIdentifier} already exists.` });
        }
        const source = this.resolveArn(input.SourceArn);
        if (source.status !== "available") {
            throw new InvalidExportSourceStateFault({ ...meta, message: `${input.SourceArn} is ${source.status}.` });
        }
        const task: FakeExportTask = {
            status: "",
            timeline: [],
            stuck: false,
            info: {
                ExportTaskIdentifier: input.ExportTaskIdentifier,
                SourceArn: input.SourceArn,
                S3Bucket: input.S3BucketName,
                S3Prefix: input.S3Prefix,
                IamRoleArn: input.IamRoleArn,
                KmsKeyId: input.KmsKeyId,
                TaskStartTime: new Date(this.tick()),
            },
        };
        start(task, this.timelines.exportTask);
        this.exportTasks.set(input.ExportTaskIdentifier, task);
        return { ...meta, ...clone(task.info), Status: task.status };
    }

    // ----------------------------------------------- quotas (snapshot jobs)

    private describeAccountAttributes() {
        return {
            ...meta,
            AccountQuotas: [
                { AccountQuotaName: "ManualSnapshots", Used: this.manualSnapshotCount(false), Max: this.manualSnapshotQuota },
                { AccountQuotaName: "ManualClusterSnapshots", Used: this.manualSnapshotCount(true), Max: this.manualClusterSnapshotQuota },
            ],
        };
    }

    private manualSnapshotCount(cluster: boolean): number {
        return [...(cluster ? this.clusterSnapshots : this.snapshots).values()].filter((x) => x.info.SnapshotType === "manual").length;
    }

    /** Throws what RDS throws when one more manual snapshot would exceed the region's quota. */
    private checkSnapshotQuota(cluster: boolean): void {
        // RDS quotas: "After a quota for a resource has been reached, additional calls to create that resource fail with an exception." (Manual DB instance / cluster snapshots: 100 per Region)
        const max = cluster ? this.manualClusterSnapshotQuota : this.manualSnapshotQuota;
        if (this.manualSnapshotCount(cluster) >= max) {
            throw new SnapshotQuotaExceededFault({ ...meta, message: `Cannot create more than ${max} manual ${cluster ? "cluster " : ""}snapshots.` });
        }
    }

    /** Records a copy request made while 20 others are in progress to this region. */
    private checkCopyLimit(target: string): void {
        // RDS copying limitations: "You can have up to 20 snapshot copy requests in progress to a single destination Region per account."
        const copying = [...this.snapshots.values(), ...this.clusterSnapshots.values()].filter((x) => x.copiedFrom !== undefined && x.status !== "available" && !FAILED_COPY.has(x.status)).length;
        if (copying >= 20) {
            this.copyLimitViolations.push(target);
            throw new Error(`FakeRds: copy of ${target} requested while ${copying} copy requests are in progress to ${this.region}; RDS allows 20`);
        }
    }

    /** Copies of `sourceArn` still in progress in any region of this account fail: their source is gone. */
    private failCopiesOf(sourceArn: string): void {
        // RDS copying limitations: "If you delete a source snapshot before the target snapshot becomes available, the snapshot copy might fail."
        const home = this.home ?? this;
        for (const region of [home, ...home.shards.values()]) {
            for (const copy of [...region.snapshots.values(), ...region.clusterSnapshots.values()]) {
                if (copy.copiedFrom === sourceArn && copy.status !== "available") {
                    copy.status = "failed";
                    copy.timeline = [];
                }
            }
        }
    }

    // -------------------------------------------------- copies and sharing

    /**
     * Adds a snapshot another account shared with this one (as the target account sees it).
     * `arn` names the owner's account and region; copying it needs a key of this account.
     */
    addSharedSnapshot(arn: string, opts: SeedShared): FakeSnapshot {
        const { base, databaseIdentifier, created } = this.shared(arn, "snapshot", opts);
        const snap: FakeSnapshot = {
            ...base,
            info: {
                DBSnapshotIdentifier: arn,
                DBSnapshotArn: arn,
                DBInstanceIdentifier: databaseIdentifier,
                Engine: opts.engine ?? "postgres",
                EngineVersion: "16.4",
                SnapshotType: "shared",
                SnapshotCreateTime: created,
                Encrypted: true,
                KmsKeyId: opts.kmsKeyId,
                AllocatedStorage: 20,
            },
        };
        this.sharedWithMe.set(arn, snap);
        return snap;
    }

    /** Adds a cluster snapshot another account shared with this one (see `addSharedSnapshot`). */
    addSharedClusterSnapshot(arn: string, opts: SeedShared): FakeClusterSnapshot {
        const { base, databaseIdentifier, created } = this.shared(arn, "cluster-snapshot", opts);
        const snap: FakeClusterSnapshot = {
            ...base,
            info: {
                DBClusterSnapshotIdentifier: arn,
                DBClusterSnapshotArn: arn,
                DBClusterIdentifier: databaseIdentifier,
                Engine: opts.engine ?? "aurora-postgresql",
                EngineVersion: "16.4",
                EngineMode: "provisioned",
                SnapshotType: "shared",
                SnapshotCreateTime: created,
                StorageEncrypted: true,
                KmsKeyId: opts.kmsKeyId,
            },
        };
        this.sharedClustersWithMe.set(arn, snap);
        return snap;
    }

    /** What every shared snapshot starts as: shared with this account, untagged (tags do not cross accounts). */
    private shared(arn: string, kind: "snapshot" | "cluster-snapshot", opts: SeedShared) {
        const m = new RegExp(`^arn:aws:rds:([^:]+):(\\d{12}):${kind}:(.+)$`).exec(arn);
        if (!m) throw new Error(`FakeRds: not a ${kind} ARN: ${arn}`);
        return {
            base: { status: opts.status ?? "available", timeline: [] as string[], stuck: false, data: opts.data ?? `data-of-${m[3]}`, tags: [] as Tag[], restoreAccounts: [this.account] },
            databaseIdentifier: opts.databaseIdentifier ?? m[3].replace(/-\d{14}$/, ""),
            created: new Date(opts.created ?? this.tick()),
        };
    }

    /** A snapshot by identifier, or by ARN: own (any region of this account) or shared with this account. */
    private snapshotByIdOrArn(idOrArn: string): FakeSnapshot | undefined {
        if (!idOrArn.startsWith("arn:")) return this.snapshots.get(idOrArn);
        const shared = this.sharedWithMe.get(idOrArn);
        if (shared) return shared;
        const m = /^arn:aws:rds:([^:]+):(\d{12}):snapshot:(.+)$/.exec(idOrArn);
        if (!m || m[2] !== this.account) return undefined;
        return this.inRegion(m[1]).snapshots.get(m[3]);
    }

    private clusterSnapshotByIdOrArn(idOrArn: string): FakeClusterSnapshot | undefined {
        if (!idOrArn.startsWith("arn:")) return this.clusterSnapshots.get(idOrArn);
        const shared = this.sharedClustersWithMe.get(idOrArn);
        if (shared) return shared;
        const m = /^arn:aws:rds:([^:]+):(\d{12}):cluster-snapshot:(.+)$/.exec(idOrArn);
        if (!m || m[2] !== this.account) return undefined;
        return this.inRegion(m[1]).clusterSnapshots.get(m[3]);
    }

    /**
     * Checks RDS's rules for copying an encrypted snapshot; returns the copy's key. A copy from
     * another region names its source by ARN (the SDK presigns the source-region request from it).
     */
    private copyKey(sourceArn: string, sourceKey: string | undefined, kmsKeyId: string | undefined, sourceId: string): string {
        const m = /^arn:aws:rds:([^:]+):(\d{12}):/.exec(sourceArn)!;
        const crossRegion = m[1] !== this.region;
        const crossAccount = m[2] !== this.account;
        if ((crossRegion || crossAccount) && !sourceId.startsWith("arn:")) {
            throw fault("InvalidParameterValue", `The source snapshot of a copy from another region or account must be given by ARN, not ${sourceId}.`);
        }
        if (crossAccount && sourceKey === defaultRdsKey(m[1], m[2])) {
            throw fault("InvalidParameterValue", "A snapshot encrypted with the default KMS key of another account cannot be copied.");
        }
        if ((crossRegion || crossAccount) && !kmsKeyId) {
            throw fault("InvalidParameterValue", "KmsKeyId is required to copy an encrypted snapshot to another region or from another account.");
        }
        const key = kmsKeyId ?? sourceKey!;
        const k = /^arn:aws:kms:([^:]+):(\d{12}):/.exec(key);
        if (k && (k[1] !== this.region || (k[2] !== this.account && key !== sourceKey))) {
            throw fault("KMSKeyNotAccessibleFault", `KMS key ${key} is not usable in ${this.region} by account ${this.account}.`);
        }
        return key;
    }

    private copyDBSnapshot(input: {
        SourceDBSnapshotIdentifier: string;
        TargetDBSnapshotIdentifier: string;
        KmsKeyId?: string;
        CopyTags?: boolean;
        Tags?: Tag[];
    }) {
        const source = this.snapshotByIdOrArn(input.SourceDBSnapshotIdentifier);
        if (!source) throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${input.SourceDBSnapshotIdentifier} not found.` });
        if (source.status !== "available") {
            throw new InvalidDBSnapshotStateFault({ ...meta, message: `DBSnapshot ${input.SourceDBSnapshotIdentifier} is ${source.status}.` });
        }
        if (this.snapshots.has(input.TargetDBSnapshotIdentifier)) {
            throw new DBSnapshotAlreadyExistsFault({ ...meta, message: `DBSnapshot ${input.TargetDBSnapshotIdentifier} already exists.` });
        }
        const kmsKeyId = this.copyKey(source.info.DBSnapshotArn!, source.info.KmsKeyId, input.KmsKeyId, input.SourceDBSnapshotIdentifier);
        this.checkSnapshotQuota(false);
        this.checkCopyLimit(input.TargetDBSnapshotIdentifier);
        const snap = this.addSnapshot(input.TargetDBSnapshotIdentifier, source.info.DBInstanceIdentifier!, {
            data: source.data,
            kmsKeyId,
            tags: mergeTags(input.CopyTags ? source.tags : [], input.Tags),
        });
        Object.assign(snap.info, {
            Engine: source.info.Engine,
            EngineVersion: source.info.EngineVersion,
            DbiResourceId: source.info.DbiResourceId,
            SourceDBSnapshotIdentifier: source.info.DBSnapshotArn,
            SourceRegion: /^arn:aws:rds:([^:]+):/.exec(source.info.DBSnapshotArn!)![1],
            // OriginalSnapshotCreateTime: "Doesn't change when the snapshot is copied."
            OriginalSnapshotCreateTime: source.info.OriginalSnapshotCreateTime ?? source.info.SnapshotCreateTime,
        });
        snap.copiedFrom = source.info.DBSnapshotArn;
        start(snap, this.timelines.snapshotCreate);
        return { ...meta, DBSnapshot: { ...clone(snap.info), Status: snap.status } };
    }

    private copyDBClusterSnapshot(input: {
        SourceDBClusterSnapshotIdentifier: string;
        TargetDBClusterSnapshotIdentifier: string;
        KmsKeyId?: string;
        CopyTags?: boolean;
        Tags?: Tag[];
    }) {
        const source = this.clusterSnapshotByIdOrArn(input.SourceDBClusterSnapshotIdentifier);
        if (!source) {
            throw new DBClusterSnapshotNotFoundFault({ ...meta, message: `DBClusterSnapshot ${input.SourceDBClusterSnapshotIdentifier} not found.` });
        }
        if (source.status !== "available") {
            throw new InvalidDBClusterSnapshotStateFault({ ...meta, message: `DBClusterSnapshot ${input.SourceDBClusterSnapshotIdentifier} is ${source.status}.` });
        }
        if (this.clusterSnapshots.has(input.TargetDBClusterSnapshotIdentifier)) {
            throw new DBClusterSnapshotAlreadyExistsFault({ ...meta, message: `DBClusterSnapshot ${input.TargetDBClusterSnapshotIdentifier} already exists.` });
        }
        // CopyDBClusterSnapshot.KmsKeyId: "If you copy an unencrypted DB cluster snapshot and specify a value
        // for the KmsKeyId parameter, an error is returned." (The reference names no fault for it.)
        if (source.info.StorageEncrypted === false && input.KmsKeyId !== undefined) {
            throw fault("InvalidParameterCombination", `DBClusterSnapshot ${input.SourceDBClusterSnapshotIdentifier} is not encrypted; a copy of it cannot be given a KMS key.`);
        }
        const kmsKeyId = this.copyKey(source.info.DBClusterSnapshotArn!, source.info.KmsKeyId, input.KmsKeyId, input.SourceDBClusterSnapshotIdentifier);
        this.checkSnapshotQuota(true);
        this.checkCopyLimit(input.TargetDBClusterSnapshotIdentifier);
        const snap = this.addClusterSnapshot(input.TargetDBClusterSnapshotIdentifier, source.info.DBClusterIdentifier!, {
            data: source.data,
            kmsKeyId,
            tags: mergeTags(input.CopyTags ? source.tags : [], input.Tags),
        });
        Object.assign(snap.info, { Engine: source.info.Engine, EngineVersion: source.info.EngineVersion, EngineMode: source.info.EngineMode });
        snap.copiedFrom = source.info.DBClusterSnapshotArn;
        // DBClusterSnapshot.Status: "Valid statuses are the following: available, copying, creating" — a copy is `copying`.
        start(snap, this.timelines.snapshotCreate.map((x) => (x === "creating" ? "copying" : x)));
        return { ...meta, DBClusterSnapshot: { ...clone(snap.info), Status: snap.status } };
    }

    private modifySnapshotAttribute(
        input: { DBSnapshotIdentifier?: string; DBClusterSnapshotIdentifier?: string; AttributeName: string; ValuesToAdd?: string[]; ValuesToRemove?: string[] },
        cluster: boolean,
    ) {
        const id = (cluster ? input.DBClusterSnapshotIdentifier : input.DBSnapshotIdentifier) ?? "";
        const snap = cluster ? this.clusterSnapshots.get(id) : this.snapshots.get(id);
        if (!snap) {
            if (cluster) throw new DBClusterSnapshotNotFoundFault({ ...meta, message: `DBClusterSnapshot ${id} not found.` });
            throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${id} not found.` });
        }
        if (input.AttributeName !== "restore") throw fault("InvalidParameterValue", `Unknown attribute ${input.AttributeName}.`);
        if (snap.status !== "available") throw fault("InvalidDBSnapshotState", `Snapshot ${id} is ${snap.status}.`);
        if ((input.ValuesToAdd ?? []).length > 0 && snap.info.KmsKeyId === defaultRdsKey(this.region, this.account)) {
            throw fault("InvalidParameterValue", "Snapshots encrypted with the default KMS key can not be shared.");
        }
        const current = new Set(snap.restoreAccounts ?? []);
        for (const v of input.ValuesToAdd ?? []) current.add(v);
        for (const v of input.ValuesToRemove ?? []) current.delete(v);
        snap.restoreAccounts = [...current];
        const result = { AttributeName: "restore", AttributeValues: [...current] };
        return cluster
            ? { ...meta, DBClusterSnapshotAttributesResult: { DBClusterSnapshotIdentifier: id, DBClusterSnapshotAttributes: [result] } }
            : { ...meta, DBSnapshotAttributesResult: { DBSnapshotIdentifier: id, DBSnapshotAttributes: [result] } };
    }

    private describeSnapshotAttributes(input: { DBSnapshotIdentifier?: string; DBClusterSnapshotIdentifier?: string }, cluster: boolean) {
        const id = (cluster ? input.DBClusterSnapshotIdentifier : input.DBSnapshotIdentifier) ?? "";
        const snap = cluster ? this.clusterSnapshots.get(id) : this.snapshots.get(id);
        if (!snap) {
            if (cluster) throw new DBClusterSnapshotNotFoundFault({ ...meta, message: `DBClusterSnapshot ${id} not found.` });
            throw new DBSnapshotNotFoundFault({ ...meta, message: `DBSnapshot ${id} not found.` });
        }
        const result = { AttributeName: "restore", AttributeValues: [...(snap.restoreAccounts ?? [])] };
        return cluster
            ? { ...meta, DBClusterSnapshotAttributesResult: { DBClusterSnapshotIdentifier: id, DBClusterSnapshotAttributes: [result] } }
            : { ...meta, DBSnapshotAttributesResult: { DBSnapshotIdentifier: id, DBSnapshotAttributes: [result] } };
    }
}

/** Compares engine versions part by part (`16.10` > `16.4`; `8.0.mysql_aurora.3.05.2` by its numbers). */
export function compareEngineVersions(a: string, b: string): number {
    const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
    const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

/** The region of the client that sent a command; the home region when it has none configured. */
async function clientRegion(getClient: () => { config: { region: () => Promise<string> } }, fallback: string): Promise<string> {
    try {
        return (await getClient().config.region()) || fallback;
    } catch {
        return fallback;
    }
}
