/**
 * Steps of the image backup machine: an AMI of one instance per source (an Auto Scaling
 * group, else a launch template, else the instance itself) carrying the selector tag,
 * copied to the DR region encrypted with the DR-region key, shared with the peer account
 * when it is another one, and retention in both regions per source. Each step takes and
 * returns the item; every step looks before it creates.
 */
import {
    CopyImageCommand,
    CreateImageCommand,
    DeregisterImageCommand,
    DeleteSnapshotCommand,
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeSnapshotsCommand,
    EC2Client,
    Image,
    Instance,
    ModifyImageAttributeCommand,
    Tag,
} from "@aws-sdk/client-ec2";
import { createHash } from "crypto";
import { SFNClient } from "@aws-sdk/client-sfn";
import { BackupFailedError } from "./backup";
import { compactTimestamp } from "./naming";
import { ConcurrentRunError, InvalidInputError, ResourceFailedError } from "./errors";
import { assertNoOtherRun, checkExecutionContext, ExecutionContext } from "./executions";
import { CREATED_BY_TAG, SOURCE_TAG } from "./tags";
import { requireEnv, requirePositiveIntEnv } from "./env";

/** `pilotlight:created-by` of the images this job creates; retention only touches these. */
export const IMAGE_JOB = "image-backup";
/**
 * Every image this job makes is named `pilotlight-backup-...`: a name no launch template's
 * AMI lookup of the app tier may match (backup images are crash-consistent copies of a
 * running fleet, never a base image to launch from).
 */
export const IMAGE_NAME_PREFIX = "pilotlight-backup-";
/** Tag naming the instance an image was made of (the source tag names the group). */
export const INSTANCE_TAG = "pilotlight:instance";
/** EC2's own tags on instances launched by an Auto Scaling group / from a launch template. */
export const ASG_TAG = "aws:autoscaling:groupName";
export const LAUNCH_TEMPLATE_TAG = "aws:ec2launchtemplate:id";
/** Image states that never become usable: pruned whatever `keep` says. */
export const FAILED_IMAGE_STATES = ["failed", "error", "invalid"];
/** A tagged snapshot no image uses is swept only after this long (an image being made may not list it yet). */
export const ORPHAN_SNAPSHOT_MIN_AGE_HOURS = 24;

export interface ImageSettings {
    homeRegion: string;
    drRegion: string;
    /** Instances with this tag key and value are imaged. */
    tagKey: string;
    tagValue: string;
    /** Create images without rebooting the instance. */
    noReboot: boolean;
    /** ARN of the key the DR-region copies are encrypted with. */
    drKeyArn: string;
    /** Images kept per source in each region. */
    keep: number;
    /** Days the images of a source that is no longer imaged (its group or instance is gone) are kept. */
    goneSourceDays: number;
    /** The peer (dr) account the DR-region copies are shared with; undefined when it is this account. */
    peerAccountId?: string;
}

/** EC2 by region, and Step Functions for the concurrent-run check. */
export interface ImageClients {
    ec2(region: string): EC2Client;
    sfn: SFNClient;
    /** The current time; defaults to the clock. */
    now?: () => Date;
}

export interface ImageItem {
    /** What the images stand for: `asg:<group>`, `lt:<template id>` or the instance id. */
    source: string;
    /** The one instance of the source this run images. */
    instanceId: string;
    /** Name of the run's image (same in both regions). */
    imageName: string;
    homeImageId?: string;
    drImageId?: string;
    /** What the machine waits for. */
    current?: { region: string; imageId: string };
    status?: string;
    attempt: number;
    /** The account the DR copy was shared with. */
    sharedWith?: string;
    pruned?: Record<string, string[]>;
    /** Snapshots of pruned images EC2 did not delete (not the job's, or used by another image), by region. */
    keptSnapshots?: Record<string, string[]>;
    error?: { Error?: string; Cause?: string };
}

/** An image as retention sees it. */
export interface ImageInfo {
    imageId: string;
    name: string;
    state: string;
    creationDate: string;
    createdBy?: string;
    source?: string;
    snapshotIds: string[];
}

const tagOf = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

/** The source an instance belongs to: its Auto Scaling group, else its launch template, else itself. */
export function sourceOf(instanceId: string, tags: Tag[] | undefined): string {
    const group = tagOf(tags, ASG_TAG);
    if (group) return `asg:${group}`;
    const template = tagOf(tags, LAUNCH_TEMPLATE_TAG);
    if (template) return `lt:${template}`;
    return instanceId;
}

/** `pilotlight-backup-<source>-<timestamp>`: valid AMI name characters, at most 128, unique per source and run. */
export function imageName(source: string, startedAt: string): string {
    let slug = source.replace(/[^A-Za-z0-9()./_-]/g, "-");
    const room = 128 - IMAGE_NAME_PREFIX.length - 1 - 14;
    if (slug.length > room) slug = `${slug.slice(0, room - 9)}-${createHash("sha256").update(source).digest("hex").slice(0, 8)}`;
    return `${IMAGE_NAME_PREFIX}${slug}-${compactTimestamp(startedAt)}`;
}

/**
 * One item per source: of its instances the running one with the lowest id (a stopped one
 * only when none runs), so a group of ten is imaged once, not ten times. Sorted by source.
 */
export function chooseInstances(instances: Instance[], startedAt: string): ImageItem[] {
    const bySource = new Map<string, Instance>();
    const rank = (i: Instance) => (i.State?.Name === "running" ? 0 : 1);
    for (const inst of instances) {
        const source = sourceOf(inst.InstanceId!, inst.Tags);
        const best = bySource.get(source);
        if (!best || rank(inst) < rank(best) || (rank(inst) === rank(best) && inst.InstanceId! < best.InstanceId!)) bySource.set(source, inst);
    }
    return [...bySource.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([source, inst]) => ({ source, instanceId: inst.InstanceId!, imageName: imageName(source, startedAt), attempt: 0 }));
}

/**
 * Images to deregister, of one source in one region: this job's failed images, its
 * `available` images beyond the newest `keep`, and, for a source that is gone, every one
 * older than `goneBefore`. Never another job's or a manual image, never one still pending,
 * never one named `protect` (the run's own).
 */
export function selectImagesToPrune(images: ImageInfo[], keep: number, opts: { goneBefore?: Date; protect?: string } = {}): ImageInfo[] {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be an integer >= 1, got ${keep}`);
    const own = images.filter((i) => i.createdBy === IMAGE_JOB);
    const failed = own.filter((i) => FAILED_IMAGE_STATES.includes(i.state));
    const available = own
        .filter((i) => i.state === "available")
        .sort((a, b) => Date.parse(b.creationDate) - Date.parse(a.creationDate) || b.name.localeCompare(a.name));
    const beyond = available.slice(keep);
    const aged = opts.goneBefore ? available.slice(0, keep).filter((i) => Date.parse(i.creationDate) < opts.goneBefore!.getTime()) : [];
    return [...failed, ...beyond, ...aged].filter((i) => i.name !== opts.protect);
}

function info(i: Image): ImageInfo {
    return {
        imageId: i.ImageId!,
        name: i.Name ?? "",
        state: i.State ?? "",
        creationDate: i.CreationDate ?? "",
        createdBy: tagOf(i.Tags, CREATED_BY_TAG),
        source: tagOf(i.Tags, SOURCE_TAG),
        snapshotIds: (i.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((s): s is string => !!s),
    };
}

async function findImage(ec2: EC2Client, name: string): Promise<Image | undefined> {
    const out = await ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] }));
    return (out.Images ?? []).find((i) => i.State !== "deregistered");
}

/**
 * The id of the image named `name`, made by `make` unless it exists. EC2 lists a new image only
 * eventually: a retry after a lost response may miss the image the first call made, meet
 * `InvalidAMIName.Duplicate` ("The specified AMI name is already in use"), and finds it then.
 */
async function findOrMake(ec2: EC2Client, name: string, make: () => Promise<string>): Promise<string> {
    const found = (await findImage(ec2, name))?.ImageId;
    if (found) return found;
    try {
        return await make();
    } catch (err) {
        if ((err as Error).name !== "InvalidAMIName.Duplicate") throw err;
        const again = (await findImage(ec2, name))?.ImageId;
        if (!again) throw err;
        return again;
    }
}

/** This job's images in one region, of one source or of all, whatever their state. */
async function ownImages(ec2: EC2Client, source?: string): Promise<ImageInfo[]> {
    const filters = [{ Name: `tag:${CREATED_BY_TAG}`, Values: [IMAGE_JOB] }];
    if (source !== undefined) filters.push({ Name: `tag:${SOURCE_TAG}`, Values: [source] });
    const out = await ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: filters }));
    return (out.Images ?? []).map(info).filter((i) => i.state !== "deregistered");
}

/**
 * Refuses to start while an earlier run's image of one of the sources is still being
 * made or copied, in either region: that run has not finished even if its execution is
 * gone (timed out or stopped). The run's own images are not counted. Reads only.
 */
export async function assertNoImageInProgress(c: ImageClients, s: ImageSettings, items: ImageItem[]): Promise<void> {
    for (const item of items) {
        for (const region of [s.homeRegion, s.drRegion]) {
            const busy = (await ownImages(c.ec2(region), item.source)).filter((i) => i.state === "pending" && i.name !== item.imageName);
            if (busy.length > 0) {
                const what = busy.map((i) => `${i.imageId} (${i.name}, ${i.state})`).join(", ");
                throw new ConcurrentRunError(`another ${IMAGE_JOB} run is in progress on ${item.source}: its image ${what} in ${region} is not finished; this run changes nothing`);
            }
        }
    }
}

/** The machine input: `{}` (the schedule's). Anything else is refused with what it was. */
export function checkMachineInput(input: unknown): void {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
        throw new InvalidInputError(`the image backup takes no input but {} (it images every instance tagged by its configuration); got ${JSON.stringify(input)}`);
    }
    const keys = Object.keys(input);
    if (keys.length > 0) throw new InvalidInputError(`the image backup takes no settings in its input, got ${keys.map((k) => JSON.stringify(k)).join(", ")}; start it with {} (the instances are chosen by pilotlight:backups.images)`);
}

/** Validates the input, finds one tagged instance per source and checks that no other run works on them; reads only. */
export async function plan(c: ImageClients, s: ImageSettings, event: ExecutionContext & { input?: unknown }): Promise<{ items: ImageItem[] }> {
    checkExecutionContext(event);
    checkMachineInput(event.input);
    const instances: Instance[] = [];
    let token: string | undefined;
    do {
        const out = await c.ec2(s.homeRegion).send(
            new DescribeInstancesCommand({
                Filters: [
                    { Name: `tag:${s.tagKey}`, Values: [s.tagValue] },
                    { Name: "instance-state-name", Values: ["running", "stopped"] },
                ],
                NextToken: token,
            }),
        );
        for (const r of out.Reservations ?? []) instances.push(...(r.Instances ?? []));
        token = out.NextToken;
    } while (token);
    const items = chooseInstances(instances, event.startedAt);
    // Every run covers every tagged instance: any other running execution overlaps.
    await assertNoOtherRun(c.sfn, event, IMAGE_JOB);
    await assertNoImageInProgress(c, s, items);
    return { items };
}

const tagsFor = (item: ImageItem) => [
    { Key: CREATED_BY_TAG, Value: IMAGE_JOB },
    { Key: SOURCE_TAG, Value: item.source },
    { Key: INSTANCE_TAG, Value: item.instanceId },
];

/** Refuses an item the plan step cannot have made. */
export function checkItem(item: unknown): ImageItem {
    const i = item as Partial<ImageItem> | null;
    const bad = (what: string) => new InvalidInputError(`item ${JSON.stringify(item)?.slice(0, 300)}: ${what}`);
    if (!i || typeof i !== "object" || Array.isArray(i)) throw bad("expected an object");
    if (typeof i.source !== "string" || i.source === "") throw bad("source must be a non-empty string");
    if (typeof i.instanceId !== "string" || !/^i-[0-9a-f]+$/.test(i.instanceId)) throw bad("instanceId must be an EC2 instance id (i-...)");
    if (typeof i.imageName !== "string" || !i.imageName.startsWith(IMAGE_NAME_PREFIX)) throw bad(`imageName must start with ${IMAGE_NAME_PREFIX}`);
    if (typeof i.attempt !== "number") throw bad("attempt must be a number");
    return i as ImageItem;
}

/** Creates the run's image (and tags it and its snapshots). */
export async function create(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    const ec2 = c.ec2(s.homeRegion);
    const imageId = await findOrMake(ec2, item.imageName, async () => {
        const out = await ec2.send(
            new CreateImageCommand({
                InstanceId: item.instanceId,
                Name: item.imageName,
                Description: `pilotlight backup of ${item.source} (${item.instanceId})`,
                NoReboot: s.noReboot,
                TagSpecifications: [
                    { ResourceType: "image", Tags: tagsFor(item) },
                    { ResourceType: "snapshot", Tags: tagsFor(item) },
                ],
            }),
        );
        return out.ImageId!;
    });
    return { ...item, homeImageId: imageId, current: { region: s.homeRegion, imageId }, status: "pending", attempt: 0 };
}

/** Polls the image the item waits for. */
export async function status(c: ImageClients, _s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    if (!item.current) throw new InvalidInputError("nothing to wait for");
    const out = await c.ec2(item.current.region).send(new DescribeImagesCommand({ ImageIds: [item.current.imageId] }));
    const image = out.Images?.[0];
    if (!image) throw new ResourceFailedError(`image ${item.current.imageId} disappeared from ${item.current.region}`);
    if (image.State === "available") return { ...item, status: image.State, attempt: item.attempt + 1 };
    // `pending` (and the undocumented `transient`) are still on the way; anything else never becomes usable.
    if (image.State !== "pending" && image.State !== "transient") {
        throw new ResourceFailedError(`image ${item.current.imageId} in ${item.current.region} is ${image.State}: ${image.StateReason?.Message ?? ""}; the next run prunes it`);
    }
    return { ...item, status: image.State, attempt: item.attempt + 1 };
}

/** Copies the image to the DR region, encrypted with the DR-region key; the copy and its snapshots carry the job's tags. */
export async function copy(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    if (!item.homeImageId) throw new InvalidInputError(`${item.imageName} has no image yet`);
    const dr = c.ec2(s.drRegion);
    const imageId = await findOrMake(dr, item.imageName, async () => {
        const out = await dr.send(
            new CopyImageCommand({
                SourceImageId: item.homeImageId,
                SourceRegion: s.homeRegion,
                Name: item.imageName,
                Description: `pilotlight backup of ${item.source} (${item.instanceId}) from ${s.homeRegion}`,
                Encrypted: true,
                KmsKeyId: s.drKeyArn,
                // The copy's snapshots are tagged too: retention may delete only snapshots carrying the tag.
                TagSpecifications: [
                    { ResourceType: "image", Tags: tagsFor(item) },
                    { ResourceType: "snapshot", Tags: tagsFor(item) },
                ],
            }),
        );
        return out.ImageId!;
    });
    return { ...item, drImageId: imageId, current: { region: s.drRegion, imageId }, status: "pending", attempt: 0 };
}

/**
 * Lets the peer (dr) account launch the DR-region copy, so a dr stack in another account
 * has an image without an operator. Adding a launch permission that is already there
 * changes nothing, so a retry is harmless. Nothing to do in a same-account setup.
 */
export async function share(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    if (!s.peerAccountId) return item;
    if (!item.drImageId) throw new InvalidInputError(`${item.imageName} has no DR copy yet`);
    await c.ec2(s.drRegion).send(new ModifyImageAttributeCommand({ ImageId: item.drImageId, LaunchPermission: { Add: [{ UserId: s.peerAccountId }] } }));
    return { ...item, sharedWith: s.peerAccountId };
}

/**
 * Deregisters one image with its snapshots (`DeleteAssociatedSnapshots`: no separate
 * DeleteSnapshot that could meet `InvalidSnapshot.InUse`). Returns the snapshots EC2 did
 * not delete (not the job's, or used by another image). An image already gone (a retry
 * after a lost response) counts as deregistered.
 */
async function deregister(ec2: EC2Client, image: ImageInfo): Promise<string[]> {
    try {
        const out = await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId, DeleteAssociatedSnapshots: true }));
        return (out.DeleteSnapshotResults ?? []).filter((r) => r.ReturnCode !== "success").map((r) => `${r.SnapshotId} (${r.ReturnCode})`);
    } catch (err) {
        if ((err as Error).name === "InvalidAMIID.NotFound" || (err as Error).name === "InvalidAMIID.Unavailable") return [];
        throw err;
    }
}

/** Retention of one source in both regions (see selectImagesToPrune); the run's own image is never pruned. */
export async function prune(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    const pruned: Record<string, string[]> = {};
    const keptSnapshots: Record<string, string[]> = {};
    for (const region of [s.homeRegion, s.drRegion]) {
        const ec2 = c.ec2(region);
        const doomed = selectImagesToPrune(await ownImages(ec2, item.source), s.keep, { protect: item.imageName });
        const left: string[] = [];
        for (const image of doomed) left.push(...(await deregister(ec2, image)));
        pruned[region] = doomed.map((i) => i.imageId);
        if (left.length > 0) keptSnapshots[region] = left;
    }
    return { ...item, pruned, ...(Object.keys(keptSnapshots).length > 0 ? { keptSnapshots } : {}) };
}

/**
 * Retention of the sources this run did not image (a replaced group, a terminated
 * instance): their failed images, those beyond `keep`, and all older than `goneSourceDays`.
 * Then the sweep: this job's snapshots that no image uses any more (left by an earlier
 * deregister) are deleted once a day old. Reads its sources from the run's items.
 */
export async function pruneGone(c: ImageClients, s: ImageSettings, items: ImageItem[]): Promise<{ pruned: Record<string, string[]>; swept: Record<string, string[]> }> {
    const now = (c.now ?? (() => new Date()))();
    const current = new Set(items.map((i) => i.source));
    const goneBefore = new Date(now.getTime() - s.goneSourceDays * 86_400_000);
    const pruned: Record<string, string[]> = {};
    const swept: Record<string, string[]> = {};
    for (const region of [s.homeRegion, s.drRegion]) {
        const ec2 = c.ec2(region);
        const all = await ownImages(ec2);
        const bySource = new Map<string, ImageInfo[]>();
        for (const i of all) if (i.source !== undefined && !current.has(i.source)) bySource.set(i.source, [...(bySource.get(i.source) ?? []), i]);
        pruned[region] = [];
        for (const [, images] of [...bySource.entries()].sort(([a], [b]) => a.localeCompare(b))) {
            for (const image of selectImagesToPrune(images, s.keep, { goneBefore })) {
                await deregister(ec2, image);
                pruned[region].push(image.imageId);
            }
        }
        swept[region] = await sweepSnapshots(ec2, now);
    }
    return { pruned, swept };
}

/** Deletes this job's snapshots older than a day that no image of this account still uses. */
async function sweepSnapshots(ec2: EC2Client, now: Date): Promise<string[]> {
    const inUse = new Set<string>();
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ["self"] }));
    for (const i of images.Images ?? []) if (i.State !== "deregistered") for (const b of i.BlockDeviceMappings ?? []) if (b.Ebs?.SnapshotId) inUse.add(b.Ebs.SnapshotId);
    const swept: string[] = [];
    let token: string | undefined;
    do {
        const out = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: [{ Name: `tag:${CREATED_BY_TAG}`, Values: [IMAGE_JOB] }], NextToken: token }));
        for (const snap of out.Snapshots ?? []) {
            const old = snap.StartTime !== undefined && now.getTime() - new Date(snap.StartTime).getTime() >= ORPHAN_SNAPSHOT_MIN_AGE_HOURS * 3_600_000;
            if (!old || inUse.has(snap.SnapshotId!) || snap.State === "pending") continue;
            try {
                await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId }));
                swept.push(snap.SnapshotId!);
            } catch (err) {
                // Gone already (a retry), or taken into use since the list: leave it.
                if ((err as Error).name !== "InvalidSnapshot.NotFound" && (err as Error).name !== "InvalidSnapshot.InUse") throw err;
            }
        }
        token = out.NextToken;
    } while (token);
    return swept;
}

export const IMAGE_STEPS = { create, status, copy, share, prune } as const;

/** Reads the settings from the Lambda environment. */
export function imageSettingsFromEnv(env: NodeJS.ProcessEnv): ImageSettings {
    const need = (k: string) => requireEnv(k, env);
    const keep = requirePositiveIntEnv("KEEP", env);
    const peer = env.PEER_ACCOUNT_ID || undefined;
    if (peer !== undefined && !/^\d{12}$/.test(peer)) throw new Error(`environment variable PEER_ACCOUNT_ID '${peer}' is not a 12-digit account id`);
    return {
        homeRegion: need("HOME_REGION"),
        drRegion: need("DR_REGION"),
        tagKey: need("TAG_KEY"),
        tagValue: need("TAG_VALUE"),
        noReboot: env.NO_REBOOT !== "false",
        drKeyArn: need("DR_KEY_ARN"),
        keep,
        goneSourceDays: env.GONE_SOURCE_DAYS ? requirePositiveIntEnv("GONE_SOURCE_DAYS", env) : 30,
        peerAccountId: peer,
    };
}

/** The run's outcome: every item's error, or the images made. */
export function report(items: unknown): { images: string[] } {
    if (!Array.isArray(items)) throw new InvalidInputError(`report needs the list of items, got ${JSON.stringify(items)}`);
    const list = items as ImageItem[];
    const failed = list.filter((i) => i.error);
    if (failed.length > 0) {
        throw new BackupFailedError(`image backup failed for ${failed.length} of ${list.length} source(s): ${failed.map((i) => `${i.source} (${i.instanceId}): ${i.error?.Error ?? "error"} ${i.error?.Cause ?? ""}`.trim()).join("; ")}`);
    }
    return { images: list.map((i) => i.imageName) };
}

/** Runs one step: `{step: "plan", input, startedAt, executionArn, stateMachineArn}`, `{step: "prune_gone" | "report", items}` or `{step, item}`. */
export async function runImageStep(
    c: ImageClients,
    s: ImageSettings,
    event: { step?: unknown; item?: unknown; items?: unknown; input?: unknown; startedAt?: string; executionArn?: string; stateMachineArn?: string },
): Promise<unknown> {
    if (event.step === "plan") return plan(c, s, { input: event.input, startedAt: event.startedAt ?? "", executionArn: event.executionArn ?? "", stateMachineArn: event.stateMachineArn ?? "" });
    if (event.step === "report") return report(event.items);
    if (event.step === "prune_gone") {
        if (!Array.isArray(event.items)) throw new InvalidInputError(`prune_gone needs the list of items, got ${JSON.stringify(event.items)}`);
        return pruneGone(c, s, (event.items as unknown[]).map(checkItem));
    }
    // Own keys only: `in` would also accept inherited names such as "toString".
    if (typeof event.step !== "string" || !Object.hasOwn(IMAGE_STEPS, event.step)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(event.step)}; expected plan, prune_gone, report or ${Object.keys(IMAGE_STEPS).join(", ")}`);
    }
    return IMAGE_STEPS[event.step as keyof typeof IMAGE_STEPS](c, s, checkItem(event.item));
}
