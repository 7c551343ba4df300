/**
 * Aurora failover recovery: after Aurora failed over to a reader smaller than
 * the intended writer, add a reader of the intended class at promotion tier 0,
 * fail over to it and confirm it became the writer.
 *
 * The intended writer class comes from a durable record (the stack's config,
 * or the cluster's `pilotlight:writer-class` tag), never from whoever is the
 * writer now. Pure decisions are exported functions; the RDS steps take the
 * client to use, so tests pass one backed by the fake RDS.
 */
import {
    AddTagsToResourceCommand,
    CreateDBInstanceCommand,
    CreateDBInstanceCommandInput,
    DBCluster,
    DBInstance,
    DeleteDBInstanceCommand,
    DescribeDBSubnetGroupsCommand,
    FailoverDBClusterCommand,
    ModifyDBInstanceCommand,
    RDSClient,
    Tag,
} from "@aws-sdk/client-rds";
import { DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, ResourceFailedError } from "./errors";
import { clusterMembers, FAILED_DB_STATUSES, findCluster, findInstance, tagsOf } from "./rds";
import { CREATED_BY_TAG, MANAGED_TAG, SOURCE_TAG, WRITER_CLASS_TAG } from "./tags";

/** Value of `pilotlight:created-by` on the readers this recovery creates. */
export const RECOVERY_CREATED_BY = "aurora-failover";
/** Tag on a recovery reader saying where the recovery stands, so no one mistakes a half-done one for a finished one. */
export const RECOVERY_STATUS_TAG = "pilotlight:recovery-status";
/** Values of `RECOVERY_STATUS_TAG`. */
export type RecoveryStatus = "in-progress" | "completed" | "failover-failed" | "abandoned";
export const RECOVERY_STATUSES: readonly RecoveryStatus[] = ["in-progress", "completed", "failover-failed", "abandoned"];

/** What to do with the demoted smaller instance after a successful recovery. */
export type AfterRecovery = "keep" | "delete" | "resize";
export const AFTER_RECOVERY: readonly AfterRecovery[] = ["keep", "delete", "resize"];

const MAX_DB_IDENTIFIER = 63;
/** Infix of recovery readers: `<cluster>-pl-writer-<yyyymmddhhmmss>`. */
export const RECOVERY_INFIX = "-pl-writer-";
const RECOVERY_SUFFIX_LENGTH = RECOVERY_INFIX.length + 14;

/**
 * Aurora cluster identifier rules: a letter, then letters, digits and single hyphens; at most 63; no
 * trailing hyphen. Lowercase only: RDS stores identifiers in lowercase, so an uppercase one would
 * never match the cluster's events, ARNs or IAM resources.
 */
const CLUSTER_ID_RE = /^[a-z](?:[a-z0-9]|-(?!-))*(?<!-)$/;
/** Instance classes such as `db.r6g.2xlarge` or `db.serverless`. */
const INSTANCE_CLASS_RE = /^db\.[a-z0-9-]+(\.[a-z0-9]+)?$/;

/** Why `id` is not a valid Aurora cluster identifier, or undefined when it is. */
export function clusterIdentifierProblem(id: unknown): string | undefined {
    if (typeof id === "string" && id !== id.toLowerCase() && clusterIdentifierProblem(id.toLowerCase()) === undefined) {
        return `RDS stores cluster identifiers in lowercase, so its events, ARNs and IAM resources say '${id.toLowerCase()}': write it that way`;
    }
    if (typeof id !== "string" || !CLUSTER_ID_RE.test(id) || id.length > MAX_DB_IDENTIFIER) {
        return "expected an Aurora cluster identifier: a lowercase letter, then lowercase letters, digits and single hyphens, at most 63 characters, not ending in a hyphen";
    }
    return undefined;
}

/** True for an RDS instance class name (`db.r6g.2xlarge`, `db.serverless`). */
export function isInstanceClass(s: unknown): s is string {
    return typeof s === "string" && INSTANCE_CLASS_RE.test(s);
}

/** Prefix of every recovery reader of a cluster; IAM scopes creation and deletion to it. */
export function recoveryInstancePrefix(cluster: string): string {
    const base = cluster.slice(0, MAX_DB_IDENTIFIER - RECOVERY_SUFFIX_LENGTH).replace(/-+$/, "");
    return `${base}${RECOVERY_INFIX}`;
}

/** The recovery reader's identifier: fixed by the guard's start time, so every retry of the create computes the same one. */
export function recoveryInstanceId(cluster: string, startedAt: string): string {
    const t = Date.parse(startedAt);
    if (Number.isNaN(t)) throw new InvalidInputError(`startedAt '${startedAt}' is not an ISO timestamp`);
    const stamp = new Date(t).toISOString().replace(/\D/g, "").slice(0, 14);
    return `${recoveryInstancePrefix(cluster)}${stamp}`;
}

const SIZE_RANK = ["nano", "micro", "small", "medium", "large", "xlarge"];

/** Aurora Serverless v2: its capacity scales within the cluster's range, so it is never "too small". */
export const SERVERLESS_CLASS = "db.serverless";

/**
 * Relative size of a class from its size part (`large` < `xlarge` < `2xlarge` ... < `metal`,
 * the whole host, the largest of its family); undefined when not comparable.
 */
export function classSize(instanceClass: string): number | undefined {
    const size = /^db\.[a-z0-9-]+\.([a-z0-9]+)$/.exec(instanceClass)?.[1];
    if (!size) return undefined;
    if (size === "metal") return Number.POSITIVE_INFINITY;
    const named = SIZE_RANK.indexOf(size);
    if (named >= 0) return named;
    const m = /^(\d+)xlarge$/.exec(size);
    return m ? SIZE_RANK.length - 1 + Math.log2(Number(m[1])) : undefined;
}

/**
 * Whether the current writer's class falls short of the intended one. A writer
 * at least as large (someone scaled it up on purpose) is left alone; classes
 * that cannot be compared count as short unless they are the same class. A
 * `db.serverless` writer scales its own capacity and is never short.
 */
export function writerFallsShort(current: string, intended: string): boolean {
    if (current === intended || current === SERVERLESS_CLASS) return false;
    const a = classSize(current);
    const b = classSize(intended);
    if (a === undefined || b === undefined) return true;
    return a < b;
}

/** The intended writer class: the stack's config first, else the cluster's tag; never the current topology. */
export function intendedWriterClass(configured: string | undefined, clusterTags: Tag[]): { instanceClass: string; source: "config" | "tag" } | undefined {
    if (configured) return { instanceClass: configured, source: "config" };
    const tagged = clusterTags.find((t) => t.Key === WRITER_CLASS_TAG)?.Value;
    return isInstanceClass(tagged) ? { instanceClass: tagged, source: "tag" } : undefined;
}

/**
 * The AZ for the new reader: one of the subnet group's AZs, avoiding the AZs
 * to avoid (where the failed writer was) when any other is left, then the AZ
 * with the fewest members, then by name.
 */
export function chooseAvailabilityZone(subnetGroupAzs: string[], avoid: string[], memberAzs: string[]): string {
    const azs = [...new Set(subnetGroupAzs)].sort();
    if (azs.length === 0) throw new InvalidInputError("the cluster's DB subnet group has no availability zones");
    const preferred = azs.filter((az) => !avoid.includes(az));
    const pool = preferred.length > 0 ? preferred : azs;
    const load = (az: string) => memberAzs.filter((m) => m === az).length;
    return pool.slice().sort((a, b) => load(a) - load(b) || a.localeCompare(b))[0];
}

/** One member of the cluster, as the machine reports it. */
export interface MemberView {
    identifier: string;
    instanceClass: string;
    availabilityZone: string;
    status: string;
    promotionTier: number;
    isWriter: boolean;
}

function memberView(inst: DBInstance, cluster: DBCluster): MemberView {
    const member = cluster.DBClusterMembers?.find((m) => m.DBInstanceIdentifier === inst.DBInstanceIdentifier);
    return {
        identifier: inst.DBInstanceIdentifier ?? "",
        instanceClass: inst.DBInstanceClass ?? "",
        availabilityZone: inst.AvailabilityZone ?? "",
        status: inst.DBInstanceStatus ?? "",
        promotionTier: member?.PromotionTier ?? inst.PromotionTier ?? 1,
        isWriter: member?.IsClusterWriter === true,
    };
}

/** What the first step decided. */
export interface Assessment {
    /** `wait`: the cluster is still settling; `none`: the writer is right; `recover`: add a reader and fail over. */
    action: "wait" | "none" | "recover";
    clusterIdentifier: string;
    clusterStatus: string;
    intendedClass: string;
    intendedClassSource: "config" | "tag";
    /** The current writer, once there is exactly one. */
    writer?: MemberView;
    members: MemberView[];
    /** One line for the alert and the execution history. */
    reason: string;
}

/** Settings the recovery Lambdas run with (from their environment). */
export interface RecoverySettings {
    /** The one cluster this deployment recovers. */
    clusterIdentifier: string;
    /** Intended writer class from the stack's config, when set there. */
    writerClass?: string;
    /** Enhanced-monitoring role the new reader may be given; without it the reader gets no enhanced monitoring. */
    monitoringRoleArn?: string;
}

function requireSameCluster(settings: RecoverySettings, requested: unknown): string {
    if (requested !== settings.clusterIdentifier) {
        throw new InvalidInputError(
            `clusterIdentifier ${JSON.stringify(requested)} is not the cluster this recovery manages ('${settings.clusterIdentifier}')`,
        );
    }
    return settings.clusterIdentifier;
}

/** Reads the cluster and decides; never changes anything. */
export async function assessCluster(rds: RDSClient, settings: RecoverySettings, input: { clusterIdentifier?: unknown }): Promise<Assessment> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    const cluster = await findCluster(rds, id);
    if (!cluster) throw new DatabaseNotFoundError(`Aurora cluster '${id}' does not exist`);
    const tags = cluster.TagList ?? (await tagsOf(rds, cluster.DBClusterArn!));
    const intended = intendedWriterClass(settings.writerClass, tags);
    if (!intended) {
        throw new InvalidInputError(
            `Aurora cluster '${id}' has no intended writer class: set writerClass for it under pilotlight:auroraFailover.clusters, or tag the cluster ${WRITER_CLASS_TAG}=<class>`,
        );
    }
    const members = (await clusterMembers(rds, cluster)).map((m) => memberView(m, cluster));
    const writers = members.filter((m) => m.isWriter);
    if (cluster.GlobalClusterIdentifier && writers.length === 0 && cluster.Status === "available") {
        // A secondary cluster of a global database has readers only; its writer is in the primary region.
        throw new InvalidInputError(
            `Aurora cluster '${id}' is a secondary cluster of global database '${cluster.GlobalClusterIdentifier}': it has no writer to recover; list the global database's primary cluster under pilotlight:auroraFailover.clusters instead`,
        );
    }
    const base = { clusterIdentifier: id, clusterStatus: cluster.Status ?? "", intendedClass: intended.instanceClass, intendedClassSource: intended.source, members };
    if (cluster.Status !== "available") return { ...base, action: "wait", reason: `cluster is ${cluster.Status}` };
    if (writers.length !== 1) return { ...base, action: "wait", reason: `cluster has ${writers.length} writers` };
    const writer = writers[0];
    if (writer.status !== "available") return { ...base, action: "wait", writer, reason: `writer ${writer.identifier} is ${writer.status}` };
    if (!writerFallsShort(writer.instanceClass, intended.instanceClass)) {
        return { ...base, action: "none", writer, reason: `writer ${writer.identifier} is ${writer.instanceClass}; intended ${intended.instanceClass}` };
    }
    return {
        ...base,
        action: "recover",
        writer,
        reason: `writer ${writer.identifier} is ${writer.instanceClass}, smaller than the intended ${intended.instanceClass}`,
    };
}

/** User tags worth carrying over to the new reader (not AWS's, not pilotlight's own recovery markers). */
function carriedTags(tags: Tag[]): Tag[] {
    const own = new Set([MANAGED_TAG, CREATED_BY_TAG, SOURCE_TAG, RECOVERY_STATUS_TAG]);
    return tags.filter((t) => t.Key && !t.Key.startsWith("aws:") && !own.has(t.Key));
}

/**
 * CreateDBInstance parameters for the recovery reader: the intended class at
 * promotion tier 0, the instance-level settings copied from the template
 * member (the rest, such as storage, backups and snapshot tags, belong to the cluster).
 * Enhanced monitoring is kept only with the configured role (the only role
 * the Lambda may pass); otherwise it is left off and a warning says so.
 */
export function readerParameters(args: {
    identifier: string;
    cluster: DBCluster;
    template: DBInstance;
    templateTags: Tag[];
    intendedClass: string;
    availabilityZone: string;
    monitoringRoleArn?: string;
}): { params: CreateDBInstanceCommandInput; warnings: string[] } {
    const { template } = args;
    const warnings: string[] = [];
    const params: CreateDBInstanceCommandInput = {
        DBInstanceIdentifier: args.identifier,
        DBClusterIdentifier: args.cluster.DBClusterIdentifier,
        Engine: args.cluster.Engine,
        DBInstanceClass: args.intendedClass,
        AvailabilityZone: args.availabilityZone,
        PromotionTier: 0,
        DBParameterGroupName: template.DBParameterGroups?.[0]?.DBParameterGroupName,
        AutoMinorVersionUpgrade: template.AutoMinorVersionUpgrade,
        PubliclyAccessible: template.PubliclyAccessible,
        CACertificateIdentifier: template.CACertificateIdentifier,
        PreferredMaintenanceWindow: template.PreferredMaintenanceWindow,
        Tags: [
            ...carriedTags(args.templateTags),
            { Key: MANAGED_TAG, Value: "true" },
            { Key: CREATED_BY_TAG, Value: RECOVERY_CREATED_BY },
            { Key: SOURCE_TAG, Value: args.cluster.DBClusterIdentifier },
            { Key: RECOVERY_STATUS_TAG, Value: "in-progress" },
        ],
    };
    if (template.PerformanceInsightsEnabled) {
        params.EnablePerformanceInsights = true;
        params.PerformanceInsightsKMSKeyId = template.PerformanceInsightsKMSKeyId;
        params.PerformanceInsightsRetentionPeriod = template.PerformanceInsightsRetentionPeriod;
    }
    const interval = template.MonitoringInterval ?? 0;
    if (interval > 0) {
        if (args.monitoringRoleArn) {
            params.MonitoringInterval = interval;
            params.MonitoringRoleArn = args.monitoringRoleArn;
            if (template.MonitoringRoleArn && template.MonitoringRoleArn !== args.monitoringRoleArn) {
                warnings.push(`enhanced monitoring uses the configured role ${args.monitoringRoleArn}, not ${template.MonitoringRoleArn} of ${template.DBInstanceIdentifier}`);
            }
        } else {
            warnings.push(
                `enhanced monitoring left off: ${template.DBInstanceIdentifier} uses it, but no monitoringRoleArn is configured for this cluster under pilotlight:auroraFailover.clusters`,
            );
        }
    }
    for (const key of Object.keys(params) as (keyof CreateDBInstanceCommandInput)[]) {
        if (params[key] === undefined) delete params[key];
    }
    return { params, warnings };
}

/** The member whose settings the new reader copies: an available one of the intended class if any, else the writer. */
export function templateMember(members: MemberView[], intendedClass: string): MemberView | undefined {
    const available = members.filter((m) => m.status === "available");
    return (
        available.find((m) => !m.isWriter && m.instanceClass === intendedClass) ??
        available.find((m) => m.isWriter) ??
        available[0]
    );
}

/** Result of creating (or finding, on a retry) the recovery reader. */
export interface CreatedReader {
    identifier: string;
    instanceClass: string;
    availabilityZone: string;
    /** AZs avoided because the failed writer was there. */
    avoidedAvailabilityZones: string[];
    /**
     * How the failed writer was told: `recorded` at the "failover started"
     * event (the writer then), `inferred` from the topology (a non-writer of
     * the intended class), `unknown` when neither worked.
     */
    failedWriterSource: "recorded" | "inferred" | "unknown";
    /** Settings copied from this member. */
    template: string;
    warnings: string[];
}

async function subnetGroupAzs(rds: RDSClient, name: string): Promise<string[]> {
    const out = await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: name }));
    const group = out.DBSubnetGroups?.[0];
    return (group?.Subnets ?? []).map((s) => s.SubnetAvailabilityZone?.Name ?? "").filter(Boolean);
}

async function requireRecoveryReader(rds: RDSClient, cluster: string, identifier: unknown): Promise<DBInstance | undefined> {
    if (typeof identifier !== "string" || !identifier.startsWith(recoveryInstancePrefix(cluster))) {
        throw new InvalidInputError(`readerIdentifier ${JSON.stringify(identifier)} is not a recovery reader of '${cluster}' (expected ${recoveryInstancePrefix(cluster)}<timestamp>)`);
    }
    const inst = await findInstance(rds, identifier);
    if (inst && inst.DBClusterIdentifier !== cluster) {
        throw new InvalidInputError(`instance '${identifier}' is not a member of '${cluster}'`);
    }
    return inst;
}

/**
 * Adds the reader of the intended class. Idempotent: a retry that finds the
 * reader already created by this recovery returns it instead of failing.
 */
export async function createReader(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; intendedClass?: unknown; startedAt?: unknown; currentWriter?: unknown; failedWriter?: unknown },
): Promise<CreatedReader> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    if (!isInstanceClass(input.intendedClass)) throw new InvalidInputError(`intendedClass ${JSON.stringify(input.intendedClass)} is not an instance class such as db.r6g.2xlarge`);
    if (typeof input.startedAt !== "string") throw new InvalidInputError(`startedAt ${JSON.stringify(input.startedAt)} is not an ISO timestamp`);
    const intendedClass = input.intendedClass;
    const identifier = recoveryInstanceId(id, input.startedAt);
    const cluster = await findCluster(rds, id);
    if (!cluster) throw new DatabaseNotFoundError(`Aurora cluster '${id}' does not exist`);

    const existing = await findInstance(rds, identifier);
    if (existing) {
        if (existing.DBClusterIdentifier !== id || !(existing.TagList ?? []).some((t) => t.Key === CREATED_BY_TAG && t.Value === RECOVERY_CREATED_BY)) {
            throw new InvalidInputError(`instance '${identifier}' exists but is not a recovery reader of '${id}'`);
        }
        return {
            identifier,
            instanceClass: existing.DBInstanceClass ?? intendedClass,
            availabilityZone: existing.AvailabilityZone ?? "",
            avoidedAvailabilityZones: [],
            failedWriterSource: "unknown",
            template: "",
            warnings: ["the reader already existed (a retried create); reused it"],
        };
    }

    const instances = await clusterMembers(rds, cluster);
    const members = instances.map((m) => memberView(m, cluster));
    const template = templateMember(members, intendedClass);
    if (!template) throw new DatabaseNotReadyError(`Aurora cluster '${id}' has no available member to copy settings from`);
    const templateInstance = instances.find((i) => i.DBInstanceIdentifier === template.identifier)!;

    const { avoid, source } = failedWriterAzs(members, intendedClass, input.currentWriter, input.failedWriter);
    const azs = await subnetGroupAzs(rds, cluster.DBSubnetGroup!);
    const availabilityZone = chooseAvailabilityZone(azs, avoid, members.map((m) => m.availabilityZone));
    const { params, warnings } = readerParameters({
        identifier,
        cluster,
        template: templateInstance,
        templateTags: templateInstance.TagList ?? [],
        intendedClass,
        availabilityZone,
        monitoringRoleArn: settings.monitoringRoleArn,
    });
    await rds.send(new CreateDBInstanceCommand(params));
    return { identifier, instanceClass: intendedClass, availabilityZone, avoidedAvailabilityZones: [...new Set(avoid)], failedWriterSource: source, template: template.identifier, warnings };
}

/**
 * The AZs of the failed writer. First the writer recorded when the failover
 * started (the guard's `failedWriter`), unless it is the writer again; else
 * the old heuristic: every non-writer of the intended class (a demoted writer
 * rejoins as a reader), which may over-avoid when there are several.
 */
export function failedWriterAzs(
    members: MemberView[],
    intendedClass: string,
    currentWriter: unknown,
    recorded: unknown,
): { avoid: string[]; source: CreatedReader["failedWriterSource"] } {
    const r = recorded as { identifier?: unknown; availabilityZone?: unknown } | null | undefined;
    if (r && typeof r.identifier === "string" && typeof r.availabilityZone === "string" && r.availabilityZone !== "" && r.identifier !== currentWriter) {
        return { avoid: [r.availabilityZone], source: "recorded" };
    }
    const avoid = members.filter((m) => !m.isWriter && m.instanceClass === intendedClass && m.identifier !== currentWriter).map((m) => m.availabilityZone);
    return { avoid, source: avoid.length > 0 ? "inferred" : "unknown" };
}

/** Target of a failover from an RDS-EVENT-0071/0072/0073 message ("... failover to DB instance: <id>"). */
export function failoverTarget(message: unknown): string | undefined {
    return typeof message === "string" ? /failover to DB instance:\s*([A-Za-z][A-Za-z0-9-]*)/i.exec(message)?.[1] : undefined;
}

/**
 * The writer a starting failover moves away from: the cluster's writer when
 * the "failover started" event is handled, provided it is not the failover's
 * target (then the failover already finished and the old writer can no longer
 * be told). Undefined when it cannot be told for sure.
 */
export async function writerBeforeFailover(
    rds: RDSClient,
    clusterIdentifier: string,
    message: unknown,
): Promise<{ identifier: string; availabilityZone: string } | undefined> {
    const target = failoverTarget(message);
    if (!target) return undefined;
    const cluster = await findCluster(rds, clusterIdentifier);
    const writer = cluster?.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier;
    if (!writer || writer === target) return undefined;
    const inst = await findInstance(rds, writer);
    if (!inst?.AvailabilityZone) return undefined;
    return { identifier: writer, availabilityZone: inst.AvailabilityZone };
}

/** Where the new reader stands. */
export async function readerStatus(rds: RDSClient, settings: RecoverySettings, input: { clusterIdentifier?: unknown; readerIdentifier?: unknown }): Promise<{ status: string; available: boolean }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    const inst = await requireRecoveryReader(rds, id, input.readerIdentifier);
    if (!inst) throw new ResourceFailedError(`recovery reader '${input.readerIdentifier}' disappeared`);
    const status = inst.DBInstanceStatus ?? "";
    if (FAILED_DB_STATUSES.has(status)) throw new ResourceFailedError(`recovery reader '${input.readerIdentifier}' is ${status}`);
    return { status, available: status === "available" };
}

/**
 * Removes a reader that never became usable, named from the claim's start time
 * (so it works even when the create's response was lost). Only this recovery's own reader,
 * never a writer; when RDS refuses the delete, the reader is tagged
 * `abandoned` so no one takes it for a working recovery.
 */
export async function discardReader(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; startedAt?: unknown },
): Promise<{ readerIdentifier: string; outcome: "deleted" | "tagged-abandoned" | "not-found" | "not-ours"; detail: string }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    if (typeof input.startedAt !== "string") throw new InvalidInputError(`startedAt ${JSON.stringify(input.startedAt)} is not an ISO timestamp`);
    const readerId = recoveryInstanceId(id, input.startedAt);
    const inst = await requireRecoveryReader(rds, id, readerId);
    if (!inst) return { readerIdentifier: readerId, outcome: "not-found", detail: "nothing was created" };
    if (!(inst.TagList ?? []).some((t) => t.Key === CREATED_BY_TAG && t.Value === RECOVERY_CREATED_BY)) {
        return { readerIdentifier: readerId, outcome: "not-ours", detail: `left alone: not tagged ${CREATED_BY_TAG}=${RECOVERY_CREATED_BY}` };
    }
    const cluster = await findCluster(rds, id);
    if (cluster?.DBClusterMembers?.some((m) => m.DBInstanceIdentifier === readerId && m.IsClusterWriter)) {
        await tagStatus(rds, inst, "abandoned");
        return { readerIdentifier: readerId, outcome: "tagged-abandoned", detail: "it is the writer now, so it was kept" };
    }
    try {
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: readerId }));
        return { readerIdentifier: readerId, outcome: "deleted", detail: `deleted while ${inst.DBInstanceStatus}` };
    } catch (err) {
        const name = (err as Error).name;
        if (name !== "InvalidDBInstanceStateFault" && name !== "InvalidParameterCombination") throw err;
        await tagStatus(rds, inst, "abandoned");
        return { readerIdentifier: readerId, outcome: "tagged-abandoned", detail: `RDS refused the delete (${name}: ${(err as Error).message}); delete it by hand` };
    }
}

async function tagStatus(rds: RDSClient, inst: DBInstance, status: RecoveryStatus): Promise<void> {
    await rds.send(new AddTagsToResourceCommand({ ResourceName: inst.DBInstanceArn!, Tags: [{ Key: RECOVERY_STATUS_TAG, Value: status }] }));
}

/**
 * Records where the recovery stands on the reader itself. The reader is named
 * by `readerIdentifier`, or by the claim's `startedAt` (for the cleanup's last
 * resort, which may run before the create returned). Two corrections keep the
 * tag truthful: `failover-failed` on a reader that is in fact the writer now
 * becomes `completed`; `abandoned` for a reader that was never created tags nothing.
 */
export async function markReader(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; readerIdentifier?: unknown; startedAt?: unknown; status?: unknown },
): Promise<{ readerIdentifier: string; status: RecoveryStatus | "not-found"; detail?: string }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    if (!RECOVERY_STATUSES.includes(input.status as RecoveryStatus)) {
        throw new InvalidInputError(`status ${JSON.stringify(input.status)} is not one of ${RECOVERY_STATUSES.join(", ")}`);
    }
    let readerId = input.readerIdentifier;
    if (readerId === undefined && input.startedAt !== undefined) {
        if (typeof input.startedAt !== "string") throw new InvalidInputError(`startedAt ${JSON.stringify(input.startedAt)} is not an ISO timestamp`);
        readerId = recoveryInstanceId(id, input.startedAt);
    }
    const inst = await requireRecoveryReader(rds, id, readerId);
    const status = input.status as RecoveryStatus;
    if (!inst) {
        if (status === "abandoned") return { readerIdentifier: readerId as string, status: "not-found", detail: "nothing was created" };
        throw new ResourceFailedError(`recovery reader '${readerId}' does not exist`);
    }
    if (!(inst.TagList ?? []).some((t) => t.Key === CREATED_BY_TAG && t.Value === RECOVERY_CREATED_BY)) {
        throw new InvalidInputError(`instance '${readerId}' is not tagged ${CREATED_BY_TAG}=${RECOVERY_CREATED_BY}; left alone`);
    }
    if (status === "failover-failed") {
        const cluster = await findCluster(rds, id);
        if (cluster?.DBClusterMembers?.some((m) => m.DBInstanceIdentifier === readerId && m.IsClusterWriter)) {
            await tagStatus(rds, inst, "completed");
            return { readerIdentifier: readerId as string, status: "completed", detail: "it is the writer: the failover went through" };
        }
    }
    await tagStatus(rds, inst, status);
    return { readerIdentifier: readerId as string, status };
}

/**
 * Asks Aurora to make the recovery reader the writer; checks first that it is an available
 * reader of the cluster. A retry whose first call went through (its response lost) finds the
 * cluster `failing-over`, or the reader already the writer, and goes on to wait for the
 * failover instead of calling again and failing.
 */
export async function failoverTo(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; readerIdentifier?: unknown },
): Promise<{ target: string; clusterStatus: string; requested: boolean }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    const inst = await requireRecoveryReader(rds, id, input.readerIdentifier);
    if (!inst) throw new DatabaseNotReadyError(`recovery reader '${input.readerIdentifier}' is missing, not available`);
    const target = inst.DBInstanceIdentifier!;
    const under = await failoverUnderWay(rds, id, target);
    if (under) return { target, clusterStatus: under, requested: false };
    if (inst.DBInstanceStatus !== "available") throw new DatabaseNotReadyError(`recovery reader '${target}' is ${inst.DBInstanceStatus}, not available`);
    try {
        const out = await rds.send(new FailoverDBClusterCommand({ DBClusterIdentifier: id, TargetDBInstanceIdentifier: target }));
        return { target, clusterStatus: out.DBCluster?.Status ?? "", requested: true };
    } catch (err) {
        // Raced with a failover that started between the read and the call: wait for it like the rest.
        const now = (err as Error).name === "InvalidDBClusterStateFault" ? await failoverUnderWay(rds, id, target) : undefined;
        if (now) return { target, clusterStatus: now, requested: false };
        throw err;
    }
}

/** The cluster's status when a failover is under way or `target` is already the writer; undefined otherwise. */
async function failoverUnderWay(rds: RDSClient, id: string, target: string): Promise<string | undefined> {
    const cluster = await findCluster(rds, id);
    if (!cluster) throw new DatabaseNotFoundError(`Aurora cluster '${id}' does not exist`);
    const isWriter = cluster.DBClusterMembers?.some((m) => m.DBInstanceIdentifier === target && m.IsClusterWriter) === true;
    return cluster.Status === "failing-over" || isWriter ? (cluster.Status ?? "") : undefined;
}

/** Whether the failover finished with the recovery reader as the writer. */
export async function writerStatus(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; readerIdentifier?: unknown },
): Promise<{ switched: boolean; writer: string; clusterStatus: string }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    const cluster = await findCluster(rds, id);
    if (!cluster) throw new DatabaseNotFoundError(`Aurora cluster '${id}' does not exist`);
    const writer = cluster.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier ?? "";
    return { switched: cluster.Status === "available" && writer === input.readerIdentifier, writer, clusterStatus: cluster.Status ?? "" };
}

/** Promotion tier given to a smaller instance kept after a recovery: the last Aurora picks for a failover (tiers run 0-15). */
export const DEMOTED_PROMOTION_TIER = 15;

/**
 * After a successful recovery: `keep` the demoted smaller instance but move it to the last
 * promotion tier (so the next failover does not pick it again), `delete` it, or `resize` it
 * to the intended class. Acts only on a reader of this cluster named like its members
 * (`<cluster>-...`) that is still smaller than intended; anything else is left alone and
 * reported. A retry after a lost response finds the delete or resize under way and reports
 * it done.
 */
export async function handleDemoted(
    rds: RDSClient,
    settings: RecoverySettings,
    input: { clusterIdentifier?: unknown; demotedIdentifier?: unknown; intendedClass?: unknown; action?: unknown },
): Promise<{ demotedIdentifier: string; action: AfterRecovery; done: boolean; detail: string }> {
    const id = requireSameCluster(settings, input.clusterIdentifier);
    const action = input.action as AfterRecovery;
    if (!AFTER_RECOVERY.includes(action)) throw new InvalidInputError(`action ${JSON.stringify(input.action)} is not one of ${AFTER_RECOVERY.map((a) => JSON.stringify(a)).join(", ")}`);
    if (!isInstanceClass(input.intendedClass)) throw new InvalidInputError(`intendedClass ${JSON.stringify(input.intendedClass)} is not an instance class`);
    const demoted = input.demotedIdentifier;
    if (typeof demoted !== "string" || !demoted.startsWith(`${id}-`)) {
        return { demotedIdentifier: String(demoted), action, done: false, detail: `left alone: only instances named ${id}-... may be changed by the recovery` };
    }
    const result = (done: boolean, detail: string) => ({ demotedIdentifier: demoted, action, done, detail });
    const cluster = await findCluster(rds, id);
    const member = cluster?.DBClusterMembers?.find((m) => m.DBInstanceIdentifier === demoted);
    const inst = member ? await findInstance(rds, demoted) : undefined;
    if (action === "delete" && (!member || !inst || inst.DBInstanceStatus === "deleting")) {
        // Gone or going: a retried delete whose first call went through.
        return result(true, inst ? `${demoted} is being deleted` : `${demoted} is deleted`);
    }
    if (!member) return result(false, `left alone: no longer a member of ${id}`);
    if (member.IsClusterWriter) return result(false, "left alone: it is the writer again");
    if (!inst) return result(false, "left alone: it no longer exists");
    if (action === "resize" && (inst.DBInstanceClass === input.intendedClass || inst.PendingModifiedValues?.DBInstanceClass === input.intendedClass)) {
        return result(true, `${demoted} is ${inst.DBInstanceStatus === "available" ? "resized" : "being resized"} to ${input.intendedClass}`);
    }
    if (!writerFallsShort(inst.DBInstanceClass ?? "", input.intendedClass)) {
        return result(false, `left alone: it is ${inst.DBInstanceClass}, not smaller than ${input.intendedClass}`);
    }
    if (action === "keep") {
        if ((member.PromotionTier ?? inst.PromotionTier) === DEMOTED_PROMOTION_TIER) return result(true, `${demoted} is at promotion tier ${DEMOTED_PROMOTION_TIER} already`);
        // A promotion tier change applies without a reboot.
        await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: demoted, PromotionTier: DEMOTED_PROMOTION_TIER, ApplyImmediately: true }));
        return result(true, `kept ${demoted} (${inst.DBInstanceClass}) at promotion tier ${DEMOTED_PROMOTION_TIER}, so a later failover picks it last`);
    }
    if (action === "delete") {
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: demoted }));
        return result(true, `deleting ${demoted} (${inst.DBInstanceClass})`);
    }
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: demoted, DBInstanceClass: input.intendedClass, ApplyImmediately: true }));
    return result(true, `resizing ${demoted} from ${inst.DBInstanceClass} to ${input.intendedClass}`);
}

/** Identifier of the cluster an RDS event is about; accepts `rds:<id>`, `<id>` or the SourceArn. */
export function eventClusterIdentifier(detail: { SourceIdentifier?: unknown; SourceArn?: unknown } | undefined): string | undefined {
    const arn = typeof detail?.SourceArn === "string" ? /:cluster:([^:]+)$/.exec(detail.SourceArn)?.[1] : undefined;
    if (arn) return arn;
    const id = detail?.SourceIdentifier;
    if (typeof id !== "string" || id === "") return undefined;
    return id.startsWith("rds:") ? id.slice(4) : id;
}

/** The settings from a recovery Lambda's environment: CLUSTER_IDENTIFIER, optional WRITER_CLASS and MONITORING_ROLE_ARN. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RecoverySettings {
    const clusterIdentifier = env.CLUSTER_IDENTIFIER ?? "";
    if (clusterIdentifierProblem(clusterIdentifier)) throw new Error(`environment variable CLUSTER_IDENTIFIER '${clusterIdentifier}' is not an Aurora cluster identifier`);
    const writerClass = env.WRITER_CLASS || undefined;
    if (writerClass !== undefined && !isInstanceClass(writerClass)) throw new Error(`environment variable WRITER_CLASS '${writerClass}' is not an instance class`);
    return { clusterIdentifier, writerClass, monitoringRoleArn: env.MONITORING_ROLE_ARN || undefined };
}
