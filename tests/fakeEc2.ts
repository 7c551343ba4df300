/**
 * A stateful fake of the EC2 image API for the image backup tests, in the style of
 * FakeRds: installed with aws-sdk-client-mock on EC2Client, state public, statuses
 * moving one step per Describe, region taken from the calling client.
 *
 * Models: instances with tags (DescribeInstances with tag and state filters), images
 * per region with their EBS snapshots (CreateImage with TagSpecifications and NoReboot,
 * CopyImage across regions with KmsKeyId and CopyImageTags, DescribeImages by id or by
 * name/tag filters, DeregisterImage with DeleteAssociatedSnapshots, ModifyImageAttribute
 * launch permissions), snapshots with their tags and start times (CreateImage and CopyImage
 * tag them from TagSpecifications, DescribeSnapshots by id or tag filter; DeleteSnapshot
 * refuses one still used by a registered image, like EC2, and, like the image job's role,
 * one that does not carry `pilotlight:created-by=image-backup`).
 */
import {
    CopyImageCommand,
    CreateImageCommand,
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeSnapshotsCommand,
    EC2Client,
    EC2ServiceException,
    Filter,
    ModifyImageAttributeCommand,
    Tag,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { IMAGE_JOB } from "../functions/lib/images";
import { CREATED_BY_TAG } from "../functions/lib/tags";

export const EC2_HOME = "us-east-1";

export interface FakeImage {
    imageId: string;
    region: string;
    name: string;
    state: string;
    timeline: string[];
    creationDate: string;
    tags: Tag[];
    snapshotIds: string[];
    kmsKeyId?: string;
    /** The instance (or source image) it was made from. */
    source: string;
    noReboot?: boolean;
    /** Accounts allowed to launch it (ModifyImageAttribute LaunchPermission). */
    launchPermissions: string[];
}

export interface FakeEc2Instance {
    instanceId: string;
    state: string;
    tags: Tag[];
}

function ec2Error(code: string, message: string): EC2ServiceException {
    return new EC2ServiceException({ name: code, $fault: "client", $metadata: { httpStatusCode: 400 }, message });
}

function matches(filters: Filter[] | undefined, get: (name: string) => string[]): boolean {
    return (filters ?? []).every((f) => get(f.Name ?? "").some((v) => (f.Values ?? []).includes(v)));
}

export class FakeEc2 {
    readonly instances = new Map<string, FakeEc2Instance>();
    /** Images by id, every region. */
    readonly images = new Map<string, FakeImage>();
    /** Snapshots by id, every region. */
    readonly snapshots = new Map<string, { region: string; tags: Tag[]; startTime: string }>();
    readonly calls: { command: string; region: string; input: any }[] = [];
    imageTimeline = ["pending", "pending", "available"];
    private failures: { command: string; error: () => Error; remaining: number; after?: boolean }[] = [];
    private ids = 0;
    private clock = Date.parse("2026-01-01T00:00:00Z");
    private readonly mock = mockClient(EC2Client);

    constructor() {
        const handlers: [new (input: never) => unknown, string, (input: any, region: string) => unknown][] = [
            [DescribeInstancesCommand, "DescribeInstances", (i) => this.describeInstances(i)],
            [CreateImageCommand, "CreateImage", (i, r) => this.createImage(i, r)],
            [CopyImageCommand, "CopyImage", (i, r) => this.copyImage(i, r)],
            [DescribeImagesCommand, "DescribeImages", (i, r) => this.describeImages(i, r)],
            [DeregisterImageCommand, "DeregisterImage", (i, r) => this.deregisterImage(i, r)],
            [DeleteSnapshotCommand, "DeleteSnapshot", (i, r) => this.deleteSnapshot(i, r)],
            [DescribeSnapshotsCommand, "DescribeSnapshots", (i, r) => this.describeSnapshots(i, r)],
            [ModifyImageAttributeCommand, "ModifyImageAttribute", (i, r) => this.modifyImageAttribute(i, r)],
        ];
        this.mock.onAnyCommand().rejects(new Error("FakeEc2: unsupported command"));
        for (const [command, name, fn] of handlers) {
            this.mock.on(command as never).callsFake(async (input: any, getClient: () => { config: { region: () => Promise<string> } }) => {
                let region = EC2_HOME;
                try {
                    region = (await getClient().config.region()) || EC2_HOME;
                } catch {
                    // No region configured: the home region.
                }
                this.calls.push({ command: name, region, input: structuredClone(input) });
                const failure = this.failures.find((f) => f.command === name && f.remaining > 0);
                if (failure) {
                    failure.remaining -= 1;
                    if (failure.after) fn(input, region);
                    throw failure.error();
                }
                return fn(input, region);
            });
        }
    }

    restore(): void {
        this.mock.restore();
    }

    /** The next `times` calls of `command` throw `error()`. */
    failNext(command: string, error: () => Error, times = 1): void {
        this.failures.push({ command, error, remaining: times });
    }

    /** The next call of `command` takes effect, then its response is lost (a network timeout). */
    loseNextResponse(command: string): void {
        this.failures.push({ command, error: () => Object.assign(new Error("socket hang up"), { name: "TimeoutError" }), remaining: 1, after: true });
    }

    addInstance(instanceId: string, tags: Tag[], state = "running"): void {
        this.instances.set(instanceId, { instanceId, state, tags });
    }

    /** Adds an available image with one snapshot, tagged like the image unless `snapshotTags` says otherwise. */
    addImage(region: string, name: string, opts: { source: string; tags?: Tag[]; snapshotTags?: Tag[]; created: string; state?: string }): FakeImage {
        const image = this.newImage(region, name, opts.source, opts.tags ?? [], opts.created);
        for (const s of image.snapshotIds) Object.assign(this.snapshots.get(s)!, { tags: structuredClone(opts.snapshotTags ?? opts.tags ?? []), startTime: opts.created });
        image.state = opts.state ?? "available";
        image.timeline = [];
        return image;
    }

    /** Images of a region that are not deregistered. */
    imagesIn(region: string): FakeImage[] {
        return [...this.images.values()].filter((i) => i.region === region && i.state !== "deregistered");
    }

    mutatingCalls() {
        return this.calls.filter((c) => !c.command.startsWith("Describe"));
    }

    private newImage(region: string, name: string, source: string, tags: Tag[], created?: string): FakeImage {
        this.ids += 1;
        const snapshotId = `snap-${String(this.ids).padStart(8, "0")}`;
        this.clock += 60_000;
        this.snapshots.set(snapshotId, { region, tags: structuredClone(tags), startTime: created ?? new Date(this.clock).toISOString() });
        const image: FakeImage = {
            imageId: `ami-${String(this.ids).padStart(8, "0")}`,
            region,
            name,
            state: "",
            timeline: [],
            creationDate: created ?? new Date(this.clock).toISOString(),
            tags: structuredClone(tags),
            snapshotIds: [snapshotId],
            source,
            launchPermissions: [],
        };
        [image.state, ...image.timeline] = this.imageTimeline;
        this.images.set(image.imageId, image);
        return image;
    }

    private describeInstances(input: { Filters?: Filter[] }) {
        const list = [...this.instances.values()].filter((i) =>
            matches(input.Filters, (name) => {
                if (name === "instance-state-name") return [i.state];
                if (name.startsWith("tag:")) return i.tags.filter((t) => t.Key === name.slice(4)).map((t) => t.Value!);
                return [];
            }),
        );
        return { Reservations: list.length ? [{ Instances: list.map((i) => ({ InstanceId: i.instanceId, State: { Name: i.state }, Tags: i.tags })) }] : [] };
    }

    private createImage(input: { InstanceId: string; Name: string; NoReboot?: boolean; TagSpecifications?: { ResourceType?: string; Tags?: Tag[] }[] }, region: string) {
        if (region !== EC2_HOME || !this.instances.has(input.InstanceId)) throw ec2Error("InvalidInstanceID.NotFound", `The instance ID '${input.InstanceId}' does not exist`);
        if (this.imagesIn(region).some((i) => i.name === input.Name)) throw ec2Error("InvalidAMIName.Duplicate", `AMI name ${input.Name} is already in use by AMI`);
        const imageTags = input.TagSpecifications?.find((t) => t.ResourceType === "image")?.Tags ?? [];
        const image = this.newImage(region, input.Name, input.InstanceId, imageTags);
        image.noReboot = input.NoReboot;
        const snapTags = input.TagSpecifications?.find((t) => t.ResourceType === "snapshot")?.Tags ?? [];
        for (const s of image.snapshotIds) this.snapshots.get(s)!.tags = structuredClone(snapTags);
        return { ImageId: image.imageId };
    }

    private copyImage(
        input: { SourceImageId: string; SourceRegion: string; Name: string; Encrypted?: boolean; KmsKeyId?: string; CopyImageTags?: boolean; TagSpecifications?: { ResourceType?: string; Tags?: Tag[] }[] },
        region: string,
    ) {
        const source = this.images.get(input.SourceImageId);
        if (!source || source.region !== input.SourceRegion) throw ec2Error("InvalidAMIID.NotFound", `The image id '[${input.SourceImageId}]' does not exist in ${input.SourceRegion}`);
        if (source.state !== "available") throw ec2Error("IncorrectState", `Image ${input.SourceImageId} is ${source.state}`);
        if (input.KmsKeyId && !input.KmsKeyId.includes(`:${region}:`)) throw ec2Error("InvalidParameter", `KMS key ${input.KmsKeyId} is not in ${region}`);
        if (this.imagesIn(region).some((i) => i.name === input.Name)) throw ec2Error("InvalidAMIName.Duplicate", `AMI name ${input.Name} is already in use by AMI`);
        const bad = (input.TagSpecifications ?? []).find((t) => t.ResourceType !== "image" && t.ResourceType !== "snapshot");
        if (bad) throw ec2Error("InvalidParameterValue", `CopyImage cannot tag resource type ${bad.ResourceType}`);
        const specTags = (type: string) => input.TagSpecifications?.find((t) => t.ResourceType === type)?.Tags ?? [];
        const imageTags = [...(input.CopyImageTags ? source.tags : []).filter((t) => !specTags("image").some((x) => x.Key === t.Key)), ...specTags("image")];
        const image = this.newImage(region, input.Name, input.SourceImageId, imageTags);
        // A copy's snapshots carry only the tags asked for on them, never the image's.
        for (const s of image.snapshotIds) this.snapshots.get(s)!.tags = structuredClone(specTags("snapshot"));
        image.kmsKeyId = input.Encrypted ? input.KmsKeyId : undefined;
        return { ImageId: image.imageId };
    }

    private describeImages(input: { ImageIds?: string[]; Owners?: string[]; Filters?: Filter[] }, region: string) {
        let list = [...this.images.values()].filter((i) => i.region === region && i.state !== "deregistered");
        if (input.ImageIds) {
            list = list.filter((i) => input.ImageIds!.includes(i.imageId));
            if (list.length === 0) throw ec2Error("InvalidAMIID.NotFound", `The image id '[${input.ImageIds.join(",")}]' does not exist`);
        }
        list = list.filter((i) =>
            matches(input.Filters, (name) => {
                if (name === "name") return [i.name];
                if (name.startsWith("tag:")) return i.tags.filter((t) => t.Key === name.slice(4)).map((t) => t.Value!);
                return [];
            }),
        );
        const out = list.map((i) => ({
            ImageId: i.imageId,
            Name: i.name,
            State: i.state,
            CreationDate: i.creationDate,
            Tags: structuredClone(i.tags),
            BlockDeviceMappings: i.snapshotIds.map((s) => ({ DeviceName: "/dev/xvda", Ebs: { SnapshotId: s, Encrypted: true, KmsKeyId: i.kmsKeyId } })),
        }));
        for (const i of list) if (i.timeline.length) i.state = i.timeline.shift()!;
        return { Images: out };
    }

    private deregisterImage(input: { ImageId: string; DeleteAssociatedSnapshots?: boolean }, region: string) {
        const image = this.images.get(input.ImageId);
        if (!image || image.region !== region || image.state === "deregistered") throw ec2Error("InvalidAMIID.NotFound", `The image id '[${input.ImageId}]' does not exist`);
        image.state = "deregistered";
        if (!input.DeleteAssociatedSnapshots) return { Return: true };
        const results = image.snapshotIds.map((id) => {
            const snap = this.snapshots.get(id);
            if (!snap) return { SnapshotId: id, ReturnCode: "client-error" };
            // "If a snapshot is associated with multiple AMIs, it is not deleted, regardless of this setting."
            if ([...this.images.values()].some((i) => i.state !== "deregistered" && i.snapshotIds.includes(id))) return { SnapshotId: id, ReturnCode: "skipped" };
            // "missing-permissions - The snapshot was not deleted because the role lacks DeleteSnapshot permissions" (the job's role: tagged ones only).
            if (!snap.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === IMAGE_JOB)) return { SnapshotId: id, ReturnCode: "missing-permissions" };
            this.snapshots.delete(id);
            return { SnapshotId: id, ReturnCode: "success" };
        });
        return { Return: true, DeleteSnapshotResults: results };
    }

    private modifyImageAttribute(input: { ImageId: string; LaunchPermission?: { Add?: { UserId?: string }[]; Remove?: { UserId?: string }[] } }, region: string) {
        const image = this.images.get(input.ImageId);
        if (!image || image.region !== region || image.state === "deregistered") throw ec2Error("InvalidAMIID.NotFound", `The image id '[${input.ImageId}]' does not exist`);
        for (const p of input.LaunchPermission?.Add ?? []) if (p.UserId && !image.launchPermissions.includes(p.UserId)) image.launchPermissions.push(p.UserId);
        image.launchPermissions = image.launchPermissions.filter((a) => !(input.LaunchPermission?.Remove ?? []).some((p) => p.UserId === a));
        return {};
    }

    private deleteSnapshot(input: { SnapshotId: string }, region: string) {
        const snap = this.snapshots.get(input.SnapshotId);
        if (!snap || snap.region !== region) throw ec2Error("InvalidSnapshot.NotFound", `The snapshot '${input.SnapshotId}' does not exist.`);
        const user = [...this.images.values()].find((i) => i.state !== "deregistered" && i.snapshotIds.includes(input.SnapshotId));
        if (user) throw ec2Error("InvalidSnapshot.InUse", `The snapshot ${input.SnapshotId} is currently in use by ${user.imageId}`);
        if (!snap.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === IMAGE_JOB)) {
            throw ec2Error("UnauthorizedOperation", `You are not authorized to perform this operation: ec2:DeleteSnapshot on ${input.SnapshotId} (no ${CREATED_BY_TAG}=${IMAGE_JOB} tag)`);
        }
        this.snapshots.delete(input.SnapshotId);
        return {};
    }

    private describeSnapshots(input: { SnapshotIds?: string[]; Filters?: Filter[] }, region: string) {
        const ids = input.SnapshotIds ?? [...this.snapshots.keys()];
        const missing = ids.find((id) => this.snapshots.get(id)?.region !== region);
        if (input.SnapshotIds && missing) throw ec2Error("InvalidSnapshot.NotFound", `The snapshot '${missing}' does not exist.`);
        const inRegion = ids.filter((id) => this.snapshots.get(id)?.region === region);
        const listed = inRegion.filter((id) =>
            matches(input.Filters, (name) => (name.startsWith("tag:") ? this.snapshots.get(id)!.tags.filter((t) => t.Key === name.slice(4)).map((t) => t.Value!) : [])),
        );
        return {
            Snapshots: listed.map((id) => ({ SnapshotId: id, State: "completed", StartTime: new Date(this.snapshots.get(id)!.startTime), Tags: structuredClone(this.snapshots.get(id)!.tags) })),
        };
    }
}
