/**
 * Steps of the image backup machine: an AMI of every instance carrying the selector
 * tag, copied to the DR region encrypted with the DR-region key, and retention in both
 * regions (deregister the image, then delete its snapshots). Each step takes and returns
 * the item; every step looks before it creates.
 */
// @ts-nocheck

import {
    CopyImageCommand,
    CreateImageCommand,
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeSnapshotsCommand,
    EC2Client,
    Image,
} from "@aws-sdk/client-ec2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { BackupFailedError } from "./backup";
import { compactTimestamp } from "./naming";
import { ConcurrentRunError, InvalidInputError, ResourceFailedError } from "./errors";
import { assertNoOtherRun, checkExecutionContext, ExecutionContext } from "./executions";
import { CREATED_BY_TAG, SOURCE_TAG } from "./tags";
import { requireEnv, requirePositiveIntEnv } from "./env";

/** `pilotlight:created-by` of the images this job creates; retention only touches these. */
export const IMAGE_JOB = "image-backup";

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
    /** Images kept per instance in each region. */
    keep: number;
}

/** EC2 by region, and Step Functions for the concurrent-run check. */
export interface ImageClients {
    ec2(region: string): EC2Client;
    sfn: SFNClient;
}

export interface ImageItem {
    instanceId: string;
    /** Name of the run's image (same in both regions). */
    imageName: string;
    homeImageId?: string;
    drImageId?: string;
    /** What the machine waits for. */
    current?: { region: string; imageId: string };
    status?: string;
    attempt: number;
    pruned?: Record<string, string[]>;
    /** Snapshots of pruned images left in place because they do not carry the job's tag, by region. */
    untaggedSnapshots?: Record<string, string[]>;
    error?: { Error?: string; Cause?: string };
}

/** An image as retention sees it. */
export interface ImageInfo {
    imageId: string;
    name: string;
    state: string;
    creationDate: string;
    createdBy?: string;
    snapshotIds: string[];
}

/** `pilotlight-<instance>-<timestamp>`: valid AMI name characters, unique per run. */
export function imageName(instanceId: string, startedAt: string): string {
    return `pilotlight-${instanceId}-${compactTimestamp(startedAt)}`;
}

/**
 * Images to deregister: this job's `available` images beyond the newest `keep`; never
 * another job's or a manual image, never one still pending.
 */
export function selectImagesToPrune(images: ImageInfo[], keep: number): ImageInfo[] {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be an integer >= 1, got ${keep}`);
    return images
        .filter((i) => i.createdBy === IMAGE_JOB && i.state === "available")
        .sort((a, b) => Date.parse(b.creationDate) - Date.parse(a.creationDate) || b.name.localeCompare(a.name))
        .slice(keep);
}

function info(i: Image): ImageInfo {
    return {
        imageId: i.ImageId!,
        name: i.Name ?? "",
        state: i.State ?? "",
        creationDate: i.CreationDate ?? "",
        createdBy: i.Tags?.find((t) => t.Key === CREATED_BY_TAG)?.Value,
        snapshotIds: (i.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((s): s is string => !!s),
    };
}

async function findImage(ec2: EC2Client, name: string): Promise<Image | undefined> {
    const out = await ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] }));
    return (out.Images ?? []).find((i) => i.State !== "deregistered");
}

/** This job's images of an instance in one region, whatever their state. */
async function ownImages(ec2: EC2Client, instanceId: string): Promise<ImageInfo[]> {
    const out = await ec2.send(
        new DescribeImagesCommand({
            Owners: ["self"],
            Filters: [
                { Name: `tag:${CREATED_BY_TAG}`, Values: [IMAGE_JOB] },
                { Name: `tag:${SOURCE_TAG}`, Values: [instanceId] },
            ],
        }),
    );
    return (out.Images ?? []).map(info);
}

/**
 * Refuses to start while an earlier run's image of one of the instances is still being
 * made or copied, in either region: that run has not finished even if its execution is
 * gone (timed out or stopped). The run's own images are not counted. Reads only.
 */
export async function assertNoImageInProgress(c: ImageClients, s: ImageSettings, items: ImageItem[]): Promise<void> {
    for (const item of items) {
        for (const region of [s.homeRegion, s.drRegion]) {
            const busy = (await ownImages(c.ec2(region), item.instanceId)).filter((i) => i.state === "pending" && i.name !== item.imageName);
            if (busy.length > 0) {
                const what = busy.map((i) => `${i.imageId} (${i.name}, ${i.state})`).join(", ");
                throw new ConcurrentRunError(`another ${IMAGE_JOB} run is in progress on ${item.instanceId}: its image ${what} in ${region} is not finished; this run changes nothing`);
            }
        }
    }
}

/** Finds the tagged instances and checks that no other run works on them; reads only. */
export async function plan(c: ImageClients, s: ImageSettings, event: ExecutionContext): Promise<{ items: ImageItem[] }> {
    checkExecutionContext(event);
    const items: ImageItem[] = [];
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
        for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) items.push({ instanceId: i.InstanceId!, imageName: imageName(i.InstanceId!, event.startedAt), attempt: 0 });
        token = out.NextToken;
    } while (token);
    // Every run covers every tagged instance: any other running execution overlaps.
    await assertNoOtherRun(c.sfn, event, IMAGE_JOB);
    await assertNoImageInProgress(c, s, items);
    return { items };
}

const tagsFor = (instanceId: string) => [
    { Key: CREATED_BY_TAG, Value: IMAGE_JOB },
    { Key: SOURCE_TAG, Value: instanceId },
];

/** Creates the run's image (and tags it and its snapshots). */
export async function create(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    const ec2 = c.ec2(s.homeRegion);
    let imageId = (await findImage(ec2, item.imageName))?.ImageId;
    if (!imageId) {
        const out = await ec2.send(
            new CreateImageCommand({
                InstanceId: item.instanceId,
                Name: item.imageName,
                Description: `pilotlight backup of ${item.instanceId}`,
                NoReboot: s.noReboot,
                TagSpecifications: [
                    { ResourceType: "image", Tags: tagsFor(item.instanceId) },
                    { ResourceType: "snapshot", Tags: tagsFor(item.instanceId) },
                ],
            }),
        );
        imageId = out.ImageId!;
    }
    return { ...item, homeImageId: imageId, current: { region: s.homeRegion, imageId }, status: "pending", attempt: 0 };
}

/** Polls the image the item waits for. */
export async function status(c: ImageClients, _s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    if (!item.current) throw new InvalidInputError("nothing to wait for");
    const out = await c.ec2(item.current.region).send(new DescribeImagesCommand({ ImageIds: [item.current.imageId] }));
    const image = out.Images?.[0];
    if (!image) throw new ResourceFailedError(`image ${item.current.imageId} disappeared from ${item.current.region}`);
    if (image.State === "failed" || image.State === "error" || image.State === "deregistered") {
        throw new ResourceFailedError(`image ${item.current.imageId} in ${item.current.region} is ${image.State}: ${image.StateReason?.Message ?? ""}`);
    }
    return { ...item, status: image.State, attempt: item.attempt + 1 };
}

/** Copies the image to the DR region, encrypted with the DR-region key; the copy and its snapshots carry the job's tags. */
export async function copy(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    if (!item.homeImageId) throw new InvalidInputError(`${item.imageName} has no image yet`);
    const dr = c.ec2(s.drRegion);
    let imageId = (await findImage(dr, item.imageName))?.ImageId;
    if (!imageId) {
        const out = await dr.send(
            new CopyImageCommand({
                SourceImageId: item.homeImageId,
                SourceRegion: s.homeRegion,
                Name: item.imageName,
                Description: `pilotlight backup of ${item.instanceId} from ${s.homeRegion}`,
                Encrypted: true,
                KmsKeyId: s.drKeyArn,
                // The copy's snapshots are tagged too: retention may delete only snapshots carrying the tag.
                TagSpecifications: [
                    { ResourceType: "image", Tags: tagsFor(item.instanceId) },
                    { ResourceType: "snapshot", Tags: tagsFor(item.instanceId) },
                ],
            }),
        );
        imageId = out.ImageId!;
    }
    return { ...item, drImageId: imageId, current: { region: s.drRegion, imageId }, status: "pending", attempt: 0 };
}

/** Of `snapshotIds`, those tagged as this job's (the only ones the role may delete). */
async function ownSnapshots(ec2: EC2Client, snapshotIds: string[]): Promise<Set<string>> {
    if (snapshotIds.length === 0) return new Set();
    const out = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], SnapshotIds: snapshotIds }));
    return new Set((out.Snapshots ?? []).filter((sn) => sn.Tags?.some((t) => t.Key === CREATED_BY_TAG && t.Value === IMAGE_JOB)).map((sn) => sn.SnapshotId!));
}

/**
 * Retention in both regions: deregisters this job's images beyond the newest `keep`, then
 * deletes their snapshots that carry the job's tag. A snapshot without it (an image copied
 * before copies tagged their snapshots) is left in place and reported.
 */
export async function prune(c: ImageClients, s: ImageSettings, item: ImageItem): Promise<ImageItem> {
    const pruned: Record<string, string[]> = {};
    const untaggedSnapshots: Record<string, string[]> = {};
    for (const region of [s.homeRegion, s.drRegion]) {
        const ec2 = c.ec2(region);
        const doomed = selectImagesToPrune(await ownImages(ec2, item.instanceId), s.keep).filter((i) => i.name !== item.imageName);
        const left: string[] = [];
        for (const image of doomed) {
            const ours = await ownSnapshots(ec2, image.snapshotIds);
            await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId }));
            for (const snap of image.snapshotIds) {
                if (ours.has(snap)) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap }));
                else left.push(snap);
            }
        }
        pruned[region] = doomed.map((i) => i.imageId);
        if (left.length > 0) untaggedSnapshots[region] = left;
    }
    return { ...item, pruned, ...(Object.keys(untaggedSnapshots).length > 0 ? { untaggedSnapshots } : {}) };
}

export const IMAGE_STEPS = { create, status, copy, prune } as const;

/** Reads the settings from the Lambda environment. */
export function imageSettingsFromEnv(env: NodeJS.ProcessEnv): ImageSettings {
    const need = (k: string) => requireEnv(k, env);
    const keep = requirePositiveIntEnv("KEEP", env);
    return {
        homeRegion: need("HOME_REGION"),
        drRegion: need("DR_REGION"),
        tagKey: need("TAG_KEY"),
        tagValue: need("TAG_VALUE"),
        noReboot: env.NO_REBOOT !== "false",
        drKeyArn: need("DR_KEY_ARN"),
        keep,
    };
}

/** Runs one step: `{step: "plan", startedAt, executionArn, stateMachineArn}`, `{step: "report", items}` or `{step, item}`. */
export async function runImageStep(
    c: ImageClients,
    s: ImageSettings,
    event: { step?: unknown; item?: ImageItem; items?: ImageItem[]; startedAt?: string; executionArn?: string; stateMachineArn?: string },
): Promise<unknown> {
    if (event.step === "plan") return plan(c, s, { startedAt: event.startedAt ?? "", executionArn: event.executionArn ?? "", stateMachineArn: event.stateMachineArn ?? "" });
    if (event.step === "report") {
        const items = event.items ?? [];
        const failed = items.filter((i) => i.error);
        if (failed.length > 0) {
            throw new BackupFailedError(`image backup failed for ${failed.length} of ${items.length} instance(s): ${failed.map((i) => `${i.instanceId}: ${i.error?.Error ?? "error"} ${i.error?.Cause ?? ""}`.trim()).join("; ")}`);
        }
        return { images: items.map((i) => i.imageName) };
    }
    if (typeof event.step !== "string" || !(event.step in IMAGE_STEPS)) {
        throw new InvalidInputError(`unknown step ${JSON.stringify(event.step)}; expected plan, report or ${Object.keys(IMAGE_STEPS).join(", ")}`);
    }
    if (!event.item) throw new InvalidInputError(`step ${event.step} needs an item`);
    return IMAGE_STEPS[event.step as keyof typeof IMAGE_STEPS](c, s, event.item);
}
