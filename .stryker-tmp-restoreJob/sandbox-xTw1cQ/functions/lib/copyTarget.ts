/**
 * Steps of the copy target machine (dr account): copy the shared snapshot under
 * the DR key, restore it as `<name>-v<N>`, point the secret at it, keep the newest
 * copies. Rollback points the secret at a retained older copy. Every step looks
 * before it creates, so a repeated step or a duplicate delivery changes nothing.
 */
// @ts-nocheck

import {
    CopyDBSnapshotCommand,
    DBInstance,
    DBSnapshot,
    DeleteDBInstanceCommand,
    DeleteDBSnapshotCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    RDSClient,
    RestoreDBInstanceFromDBSnapshotCommand,
    Tag,
} from "@aws-sdk/client-rds";
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
    COPY_TARGET_JOB,
    CopyMessage,
    parseCopyMessage,
    selectCopiesToPrune,
    selectCopySnapshotsToPrune,
    SOURCE_SNAPSHOT_TAG,
    VERSION_TAG,
    versionIdentifier,
    versionOf,
    nextVersion,
} from "./backup";
import { ConcurrentRunError, DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, ResourceFailedError, SnapshotNotFoundError } from "./errors";
import { FAILED_DB_STATUSES, FAILED_SNAPSHOT_STATUSES, findInstance, findSnapshot } from "./rds";
import { CREATED_BY_TAG, MANAGED_TAG, SOURCE_TAG } from "./tags";
import { requireEnv, requirePositiveIntEnv } from "./env";

/** The target's configuration (the Lambda's environment). */
export interface CopyTargetSettings {
    /** Base name of the copies: `<name>-v<N>`. */
    name: string;
    /** This region. */
    region: string;
    /** Account the shared snapshots come from. */
    sourceAccountId: string;
    /** The source instance the snapshots are of. */
    sourceIdentifier: string;
    /** ARN of the DR account's key. */
    drKeyArn: string;
    /** ARN (or name) of the secret pointing at the current copy. */
    secretId: string;
    /** Copies kept. */
    keep: number;
    /** Restore settings. */
    instanceClass: string;
    subnetGroupName: string;
    securityGroupIds: string[];
    parameterGroupName?: string;
    multiAz: boolean;
    tags: Record<string, string>;
}

export interface TargetClients {
    rds: RDSClient;
    secrets: SecretsManagerClient;
}

/** One run's state, carried by the machine between steps. */
export interface CopyJob {
    task: "copy" | "rollback";
    /** The copy this run creates or points at: `<name>-v<N>`. */
    identifier: string;
    version: number;
    /** copy: the shared snapshot. */
    message?: CopyMessage;
    /** copy: an instance restored from this snapshot exists already (duplicate delivery): nothing to do. */
    duplicate?: boolean;
    /** What the machine waits for. */
    current?: { kind: "snapshot" | "instance"; id: string };
    status?: string;
    attempt: number;
    /** Secret contents after `point`. */
    pointed?: SecretValue;
    /** Deleted by `prune`. */
    pruned?: { instances: string[]; snapshots: string[] };
}

/** What the secret holds. */
export interface SecretValue {
    host: string;
    port: number;
    identifier: string;
    version: number;
}

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
    return tags?.find((t) => t.Key === key)?.Value;
}

/** pilotlight's copies of this target: `<name>-v<N>` instances tagged by the copy machine. */
export async function listCopies(rds: RDSClient, name: string): Promise<DBInstance[]> {
    const out: DBInstance[] = [];
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
        out.push(...(page.DBInstances ?? []).filter((i) => versionOf(name, i.DBInstanceIdentifier ?? "") !== undefined));
        marker = page.Marker;
    } while (marker);
    return out;
}

/** Every manual snapshot of this account and region (every page). */
async function manualSnapshots(rds: RDSClient): Promise<DBSnapshot[]> {
    const out: DBSnapshot[] = [];
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: "manual", Marker: marker }));
        out.push(...(page.DBSnapshots ?? []));
        marker = page.Marker;
    } while (marker);
    return out;
}

/** Validates the input and decides the version; reads only. */
export async function plan(c: TargetClients, s: CopyTargetSettings, input: unknown): Promise<CopyJob> {
    const req = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
    const task = req.task ?? "copy";
    const copies = await listCopies(c.rds, s.name);
    if (task === "rollback") {
        const version = req.version;
        if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
            throw new InvalidInputError(`rollback needs "version": a whole number >= 1 naming a retained copy ${s.name}-v<N>; got ${JSON.stringify(version)}`);
        }
        const identifier = versionIdentifier(s.name, version);
        const inst = copies.find((i) => i.DBInstanceIdentifier === identifier);
        const retained = copies.filter((i) => tagValue(i.TagList, CREATED_BY_TAG) === COPY_TARGET_JOB).map((i) => i.DBInstanceIdentifier).join(", ");
        if (!inst || tagValue(inst.TagList, CREATED_BY_TAG) !== COPY_TARGET_JOB) {
            throw new DatabaseNotFoundError(`no retained copy ${identifier}; retained copies: ${retained || "none"}`);
        }
        if (inst.DBInstanceStatus !== "available") throw new DatabaseNotReadyError(`${identifier} is ${inst.DBInstanceStatus}; rollback points only at an available copy`);
        return { task: "rollback", identifier, version, attempt: 0 };
    }
    if (task !== "copy") throw new InvalidInputError(`unknown task ${JSON.stringify(task)}; expected "copy" (a shared snapshot) or "rollback" (with "version")`);
    const message = parseCopyMessage(req, { sourceAccount: s.sourceAccountId, sourceIdentifier: s.sourceIdentifier, region: s.region });
    const existing = copies.find((i) => tagValue(i.TagList, SOURCE_SNAPSHOT_TAG) === message.snapshotArn);
    if (existing) {
        return { task: "copy", identifier: existing.DBInstanceIdentifier!, version: versionOf(s.name, existing.DBInstanceIdentifier!)!, message, duplicate: true, attempt: 0 };
    }
    const shared = await findSnapshot(c.rds, message.snapshotArn, false);
    if (!shared) throw new SnapshotNotFoundError(`shared snapshot ${message.snapshotArn} is not visible to this account; is it shared with it?`);
    if (shared.status !== "available") throw new SnapshotNotFoundError(`shared snapshot ${message.snapshotArn} is ${shared.status}`);
    // Number from the highest existing copy (and copy snapshot), never from the secret: after a rollback the secret points lower.
    const snapshots = { DBSnapshots: await manualSnapshots(c.rds) };
    // Two copies at once would pick the same version: the second waits for the next delivery.
    const busy = [
        ...copies.filter((i) => ["creating", "backing-up", "modifying"].includes(i.DBInstanceStatus ?? "")).map((i) => `instance ${i.DBInstanceIdentifier} is ${i.DBInstanceStatus}`),
        ...(snapshots.DBSnapshots ?? []).filter((x) => versionOf(s.name, x.DBSnapshotIdentifier ?? "") !== undefined && x.Status === "creating").map((x) => `snapshot ${x.DBSnapshotIdentifier} is creating`),
    ];
    if (busy.length > 0) throw new ConcurrentRunError(`another copy is in progress (${busy.join("; ")}); ${message.snapshotArn} is not copied now`);
    const names = [...copies.map((i) => i.DBInstanceIdentifier!), ...(snapshots.DBSnapshots ?? []).map((x) => x.DBSnapshotIdentifier!)];
    const version = nextVersion(s.name, names);
    return { task: "copy", identifier: versionIdentifier(s.name, version), version, message, attempt: 0 };
}

function copyTags(s: CopyTargetSettings, job: CopyJob): Tag[] {
    return [
        ...Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
        { Key: MANAGED_TAG, Value: "true" },
        { Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB },
        { Key: SOURCE_TAG, Value: s.sourceIdentifier },
        { Key: SOURCE_SNAPSHOT_TAG, Value: job.message!.snapshotArn },
        { Key: VERSION_TAG, Value: String(job.version) },
    ];
}

/** Copies the shared snapshot into this account under the DR key, named like the copy it becomes. */
export async function copy(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    if (!job.message) throw new InvalidInputError("copy needs the shared snapshot");
    const existing = await findSnapshot(c.rds, job.identifier, false);
    if (existing && tagValue(existing.tags, SOURCE_SNAPSHOT_TAG) !== job.message.snapshotArn) {
        throw new InvalidInputError(`snapshot ${job.identifier} exists already and is not a copy of ${job.message.snapshotArn}`);
    }
    if (!existing) {
        await c.rds.send(
            new CopyDBSnapshotCommand({
                SourceDBSnapshotIdentifier: job.message.snapshotArn,
                TargetDBSnapshotIdentifier: job.identifier,
                KmsKeyId: s.drKeyArn,
                Tags: copyTags(s, job).filter((t) => t.Key !== MANAGED_TAG),
            }),
        );
    }
    return { ...job, current: { kind: "snapshot", id: job.identifier }, status: "creating", attempt: 0 };
}

/** Polls the snapshot or instance the job waits for. */
export async function status(c: TargetClients, _s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    if (!job.current) throw new InvalidInputError("nothing to wait for");
    let st: string | undefined;
    if (job.current.kind === "snapshot") {
        st = (await findSnapshot(c.rds, job.current.id, false))?.status;
        if (st && FAILED_SNAPSHOT_STATUSES.has(st)) throw new ResourceFailedError(`snapshot ${job.current.id} is ${st}`);
    } else {
        st = (await findInstance(c.rds, job.current.id))?.DBInstanceStatus;
        if (st && FAILED_DB_STATUSES.has(st)) throw new ResourceFailedError(`instance ${job.current.id} is ${st}`);
    }
    if (!st) throw new ResourceFailedError(`${job.current.kind} ${job.current.id} disappeared`);
    return { ...job, status: st, attempt: job.attempt + 1 };
}

/** Restores the copy as `<name>-v<N>` with the configured settings. */
export async function restore(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const existing = await findInstance(c.rds, job.identifier);
    if (existing && tagValue(existing.TagList, SOURCE_SNAPSHOT_TAG) !== job.message?.snapshotArn) {
        throw new InvalidInputError(`instance ${job.identifier} exists already and is not a copy of ${job.message?.snapshotArn}`);
    }
    if (!existing) {
        await c.rds.send(
            new RestoreDBInstanceFromDBSnapshotCommand({
                DBInstanceIdentifier: job.identifier,
                DBSnapshotIdentifier: job.identifier,
                DBInstanceClass: s.instanceClass,
                DBSubnetGroupName: s.subnetGroupName,
                VpcSecurityGroupIds: s.securityGroupIds,
                DBParameterGroupName: s.parameterGroupName,
                MultiAZ: s.multiAz,
                PubliclyAccessible: false,
                CopyTagsToSnapshot: true,
                Tags: copyTags(s, job),
            }),
        );
    }
    return { ...job, current: { kind: "instance", id: job.identifier }, status: "creating", attempt: 0 };
}

/** Points the secret at the job's copy, which must be available. */
export async function point(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const inst = await findInstance(c.rds, job.identifier);
    if (!inst || inst.DBInstanceStatus !== "available" || !inst.Endpoint?.Address) {
        throw new DatabaseNotReadyError(`${job.identifier} is ${inst?.DBInstanceStatus ?? "missing"}; the secret keeps pointing where it did`);
    }
    const value: SecretValue = { host: inst.Endpoint.Address, port: inst.Endpoint.Port ?? 0, identifier: job.identifier, version: job.version };
    await c.secrets.send(new PutSecretValueCommand({ SecretId: s.secretId, SecretString: JSON.stringify(value) }));
    return { ...job, pointed: value };
}

/** Where the secret points now; undefined before the first copy. */
export async function pointedAt(c: TargetClients, s: CopyTargetSettings): Promise<string | undefined> {
    try {
        const out = await c.secrets.send(new GetSecretValueCommand({ SecretId: s.secretId }));
        const v = JSON.parse(out.SecretString ?? "{}") as Partial<SecretValue>;
        return typeof v.identifier === "string" ? v.identifier : undefined;
    } catch (err) {
        if ((err as { name?: string }).name === "ResourceNotFoundException") return undefined;
        throw err;
    }
}

/** Deletes copies beyond the newest `keep` (never the one the secret points at), with a final snapshot, and the snapshots of long-gone copies. */
export async function prune(c: TargetClients, s: CopyTargetSettings, job: CopyJob): Promise<CopyJob> {
    const pointed = await pointedAt(c, s);
    const copies = await listCopies(c.rds, s.name);
    const doomed = selectCopiesToPrune(
        s.name,
        copies.map((i) => ({ identifier: i.DBInstanceIdentifier!, status: i.DBInstanceStatus ?? "", pilotlight: tagValue(i.TagList, CREATED_BY_TAG) === COPY_TARGET_JOB })),
        s.keep,
        pointed,
    );
    for (const id of doomed) {
        await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: `${id}-final` }));
    }
    const existing = copies.map((i) => i.DBInstanceIdentifier!);
    const retained = copies.filter((i) => i.DBInstanceStatus !== "deleting" && !doomed.includes(i.DBInstanceIdentifier!)).map((i) => i.DBInstanceIdentifier!);
    const snaps = { DBSnapshots: await manualSnapshots(c.rds) };
    const doomedSnapshots = selectCopySnapshotsToPrune(
        s.name,
        (snaps.DBSnapshots ?? []).map((x) => ({
            identifier: x.DBSnapshotIdentifier!,
            status: x.Status ?? "",
            // Final snapshots are named after a copy this machine deleted; copies carry the tag.
            pilotlight: tagValue(x.TagList, CREATED_BY_TAG) === COPY_TARGET_JOB || x.DBSnapshotIdentifier!.endsWith("-final"),
        })),
        retained,
        // Copies deleted in this run still exist: their snapshots wait for a later run, when the final snapshot is complete.
        existing,
    );
    for (const id of doomedSnapshots) await c.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    return { ...job, pruned: { instances: doomed, snapshots: doomedSnapshots } };
}

export const TARGET_STEPS = { copy, status, restore, point, prune } as const;

/** Reads the target's settings from the Lambda environment. */
export function targetSettingsFromEnv(env: NodeJS.ProcessEnv): CopyTargetSettings {
    const need = (k: string) => requireEnv(k, env);
    const keep = requirePositiveIntEnv("KEEP", env);
    return {
        name: need("TARGET_NAME"),
        region: need("TARGET_REGION"),
        sourceAccountId: need("SOURCE_ACCOUNT_ID"),
        sourceIdentifier: need("SOURCE_IDENTIFIER"),
        drKeyArn: need("DR_KEY_ARN"),
        secretId: need("SECRET_ID"),
        keep,
        instanceClass: need("INSTANCE_CLASS"),
        subnetGroupName: need("SUBNET_GROUP_NAME"),
        securityGroupIds: need("SECURITY_GROUP_IDS").split(",").filter(Boolean),
        parameterGroupName: env.PARAMETER_GROUP_NAME || undefined,
        multiAz: env.MULTI_AZ === "true",
        tags: env.COPY_TAGS ? (JSON.parse(env.COPY_TAGS) as Record<string, string>) : {},
    };
}

/** Runs one step: `{step: "plan", input}` or `{step, job}`. */
export async function runTargetStep(c: TargetClients, s: CopyTargetSettings, event: { step?: unknown; input?: unknown; job?: CopyJob }): Promise<CopyJob> {
    if (event.step === "plan") return plan(c, s, event.input);
    if (typeof event.step !== "string" || !(event.step in TARGET_STEPS)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(event.step)}; expected plan or ${Object.keys(TARGET_STEPS).join(", ")}`);
    }
    if (!event.job) throw new InvalidInputError(`step ${event.step} needs the job`);
    return TARGET_STEPS[event.step as keyof typeof TARGET_STEPS](c, s, event.job);
}
