// Image backup steps (functions/lib/images.ts): what deletes (prune, gone sources, the orphan
// snapshot sweep), what looks before it creates, and what refuses bad input, asserted closely
// enough that a changed comparison, filter or guard fails a test.
import * as assert from "assert";
import { EC2Client, EC2ServiceException, InstanceStateName } from "@aws-sdk/client-ec2";
import { SFNClient } from "@aws-sdk/client-sfn";
import {
    checkItem,
    checkMachineInput,
    chooseInstances,
    copy,
    create,
    IMAGE_JOB,
    ImageClients,
    ImageItem,
    imageName,
    imageSettingsFromEnv,
    ImageSettings,
    plan,
    prune,
    pruneGone,
    report,
    runImageStep,
    status,
} from "../functions/lib/images";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeEc2 } from "./fakeEc2";

const HOME = "us-east-1";
const DR = "us-west-2";
const DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
const S: ImageSettings = { homeRegion: HOME, drRegion: DR, tagKey: "pilotlight:backup", tagValue: "true", noReboot: true, drKeyArn: DR_KEY, keep: 2, goneSourceDays: 30 };
const NOW = new Date("2026-03-01T00:00:00.000Z");
const OURS = (source: string) => [
    { Key: CREATED_BY_TAG, Value: IMAGE_JOB },
    { Key: SOURCE_TAG, Value: source },
];
const ago = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();
const ec2Error = (name: string) => new EC2ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: 400 }, message: name });
const item = (over: Partial<ImageItem> = {}): ImageItem => ({ source: "asg:web", instanceId: "i-0a01", imageName: "pilotlight-backup-asg-web-20260301000000", attempt: 0, ...over });

/** Clients over whatever `answer` returns for each EC2 call (an Error is thrown); records the calls. */
function scripted(answer: (command: string, input: any, region: string) => unknown) {
    const calls: { command: string; input: any; region: string }[] = [];
    const ec2 = (region: string) =>
        ({
            send: async (cmd: { constructor: { name: string }; input: unknown }) => {
                const command = cmd.constructor.name.replace(/Command$/, "");
                calls.push({ command, input: cmd.input, region });
                const out = answer(command, cmd.input, region);
                if (out instanceof Error) throw out;
                return out;
            },
        }) as unknown as EC2Client;
    const sfn = { send: async () => ({ executions: [] }) } as unknown as SFNClient;
    const c: ImageClients = { ec2, sfn, now: () => NOW };
    return { c, calls };
}

describe("image steps: what deletes", () => {
    let ec2: FakeEc2;
    const c: ImageClients = { ec2: (region) => new EC2Client({ region }), sfn: new SFNClient({}), now: () => NOW };
    beforeEach(() => (ec2 = new FakeEc2()));
    afterEach(() => ec2.restore());

    /** Every list of images or snapshots asks for this account's own only (never public or shared ones). */
    function assertOwnOnly() {
        for (const call of ec2.calls.filter((x) => x.command === "DescribeImages" && !x.input.ImageIds)) assert.deepStrictEqual(call.input.Owners, ["self"], JSON.stringify(call.input));
        for (const call of ec2.calls.filter((x) => x.command === "DescribeSnapshots")) assert.deepStrictEqual(call.input.OwnerIds, ["self"]);
    }

    it("prune never deregisters the run's own image, even when an image of the source is newer", async () => {
        const own = ec2.addImage(HOME, item().imageName, { source: "i-0a01", tags: OURS("asg:web"), created: "2026-03-01T00:00:00.000Z" });
        const newer = ec2.addImage(HOME, "pilotlight-backup-asg-web-20260302000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-03-02T00:00:00.000Z" });
        const out = await prune(c, { ...S, keep: 1 }, item());
        assert.deepStrictEqual(out.pruned, { [HOME]: [], [DR]: [] });
        assert.deepStrictEqual([own.state, newer.state], ["available", "available"]);
        assert.ok(!("keptSnapshots" in out), "nothing was left behind");
        assertOwnOnly();
    });

    it("prune names what it deregistered in each region and the snapshots EC2 left, only where some were left", async () => {
        const home = ["01", "02", "03"].map((d) => ec2.addImage(HOME, `pilotlight-backup-asg-web-202602${d}000000`, { source: "i-0a01", tags: OURS("asg:web"), created: `2026-02-${d}T00:00:00.000Z` }));
        const foreign = ec2.addImage(DR, "pilotlight-backup-asg-web-20260201000000", { source: "ami-1", tags: OURS("asg:web"), snapshotTags: [], created: "2026-02-01T00:00:00.000Z" });
        ec2.addImage(DR, "pilotlight-backup-asg-web-20260202000000", { source: "ami-2", tags: OURS("asg:web"), created: "2026-02-02T00:00:00.000Z" });
        const out = await prune(c, { ...S, keep: 1 }, item());
        assert.deepStrictEqual(out.pruned, { [HOME]: [home[1].imageId, home[0].imageId], [DR]: [foreign.imageId] });
        assert.deepStrictEqual(out.keptSnapshots, { [DR]: [`${foreign.snapshotIds[0]} (missing-permissions)`] });
        assert.deepStrictEqual(ec2.calls.filter((x) => x.command === "DeregisterImage").map((x) => x.input.DeleteAssociatedSnapshots), [true, true, true]);
    });

    for (const gone of ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"]) {
        it(`prune counts an image whose deregister answers ${gone} (a retry after a lost response) as deregistered`, async () => {
            const old = ec2.addImage(HOME, "pilotlight-backup-asg-web-20260201000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-02-01T00:00:00.000Z" });
            ec2.addImage(HOME, "pilotlight-backup-asg-web-20260202000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-02-02T00:00:00.000Z" });
            ec2.failNext("DeregisterImage", () => ec2Error(gone));
            const out = await prune(c, { ...S, keep: 1 }, item());
            assert.deepStrictEqual(out.pruned![HOME], [old.imageId]);
            assert.ok(!("keptSnapshots" in out));
        });
    }

    it("prune fails on any other deregister error", async () => {
        ec2.addImage(HOME, "pilotlight-backup-asg-web-20260201000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-02-01T00:00:00.000Z" });
        ec2.addImage(HOME, "pilotlight-backup-asg-web-20260202000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-02-02T00:00:00.000Z" });
        ec2.failNext("DeregisterImage", () => ec2Error("UnauthorizedOperation"));
        await assert.rejects(prune(c, { ...S, keep: 1 }, item()), { name: "UnauthorizedOperation" });
    });

    it("prune: a deregister that reports no snapshot results leaves nothing to name", async () => {
        const images = [1, 2].map((d) => ({ ImageId: `ami-${d}`, Name: `pilotlight-backup-asg-web-2026020${d}000000`, State: "available", CreationDate: `2026-02-0${d}T00:00:00.000Z`, Tags: OURS("asg:web") }));
        const { c: sc } = scripted((command) => (command === "DescribeImages" ? { Images: images } : {}));
        const out = await prune(sc, { ...S, keep: 1 }, item());
        assert.deepStrictEqual(out.pruned, { [HOME]: ["ami-1"], [DR]: ["ami-1"] });
        assert.ok(!("keptSnapshots" in out));
    });

    it("pruneGone: sources this run imaged and images without a source are left to prune; gone sources are pruned in source order", async () => {
        const current = ec2.addImage(HOME, "pilotlight-backup-asg-web-20250101000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2025-01-01T00:00:00.000Z" });
        const sourceless = ec2.addImage(HOME, "pilotlight-backup-x-20250101000000", { source: "i-0x01", tags: [{ Key: CREATED_BY_TAG, Value: IMAGE_JOB }], created: "2025-01-01T00:00:00.000Z" });
        const b = ec2.addImage(HOME, "pilotlight-backup-i-0b01-20250101000000", { source: "i-0b01", tags: OURS("i-0b01"), created: "2025-01-01T00:00:00.000Z" });
        const a = ec2.addImage(HOME, "pilotlight-backup-i-0a09-20250101000000", { source: "i-0a09", tags: OURS("i-0a09"), created: "2025-01-01T00:00:00.000Z" });
        const young = ec2.addImage(HOME, "pilotlight-backup-i-0c01-20260228000000", { source: "i-0c01", tags: OURS("i-0c01"), created: "2026-02-28T00:00:00.000Z" });
        const out = await pruneGone(c, S, [item()]);
        assert.deepStrictEqual(out.pruned, { [HOME]: [a.imageId, b.imageId], [DR]: [] });
        assert.deepStrictEqual([current.state, sourceless.state, young.state], ["available", "available", "available"]);
        assertOwnOnly();
    });

    it("the sweep deletes the job's unused snapshots once a day old (exactly a day included), never younger, untagged or used ones", async () => {
        const snap = (id: string, hours: number, tags = OURS("gone")) => ec2.snapshots.set(id, { region: HOME, tags, startTime: ago(hours) });
        snap("snap-day", 24);
        snap("snap-old", 100);
        snap("snap-young", 23.9);
        snap("snap-untagged", 100, []);
        const used = ec2.addImage(HOME, "golden", { source: "i-0a01", tags: [], snapshotTags: OURS("gone"), created: ago(100) });
        const out = await pruneGone(c, S, []);
        assert.deepStrictEqual(out.swept, { [HOME]: ["snap-day", "snap-old"], [DR]: [] });
        assert.deepStrictEqual(ec2.calls.filter((x) => x.command === "DeleteSnapshot").map((x) => x.input.SnapshotId), ["snap-day", "snap-old"]);
        for (const id of ["snap-young", "snap-untagged", used.snapshotIds[0]]) assert.ok(ec2.snapshots.has(id), id);
        assertOwnOnly();
    });

    for (const gone of ["InvalidSnapshot.NotFound", "InvalidSnapshot.InUse"]) {
        it(`the sweep leaves a snapshot whose delete answers ${gone} and goes on`, async () => {
            ec2.snapshots.set("snap-1", { region: HOME, tags: OURS("gone"), startTime: ago(48) });
            ec2.snapshots.set("snap-2", { region: HOME, tags: OURS("gone"), startTime: ago(48) });
            ec2.failNext("DeleteSnapshot", () => ec2Error(gone));
            const out = await pruneGone(c, S, []);
            assert.deepStrictEqual(out.swept[HOME], ["snap-2"]);
        });
    }

    it("the sweep fails on any other delete error", async () => {
        ec2.snapshots.set("snap-1", { region: HOME, tags: OURS("gone"), startTime: ago(48) });
        ec2.failNext("DeleteSnapshot", () => ec2Error("UnauthorizedOperation"));
        await assert.rejects(pruneGone(c, S, []), { name: "UnauthorizedOperation" });
    });

    it("the sweep counts only registered images' EBS snapshots as used, reads every page, and skips pending snapshots", async () => {
        const { c: sc, calls } = scripted((command, input) => {
            if (command === "DescribeImages") {
                return {
                    Images: [
                        { ImageId: "ami-1", State: "deregistered", BlockDeviceMappings: [{ Ebs: { SnapshotId: "snap-of-deregistered" } }] },
                        { ImageId: "ami-2", State: "available", BlockDeviceMappings: [{ DeviceName: "/dev/sdb", VirtualName: "ephemeral0" }, { Ebs: { SnapshotId: "snap-used" } }] },
                    ],
                };
            }
            if (command === "DescribeSnapshots") {
                const old = new Date(ago(48));
                if (!input.NextToken) return { Snapshots: [{ SnapshotId: "snap-of-deregistered", State: "completed", StartTime: old }], NextToken: "page-2" };
                return {
                    Snapshots: [
                        { SnapshotId: "snap-used", State: "completed", StartTime: old },
                        { SnapshotId: "snap-pending", State: "pending", StartTime: old },
                        { SnapshotId: "snap-last", State: "completed", StartTime: old },
                    ],
                };
            }
            return {};
        });
        const out = await pruneGone(sc, S, []);
        assert.deepStrictEqual(out.swept[HOME], ["snap-of-deregistered", "snap-last"]);
        assert.deepStrictEqual(calls.filter((x) => x.command === "DescribeSnapshots" && x.region === HOME).map((x) => x.input.NextToken), [undefined, "page-2"]);
    });
});

describe("image steps: look before creating", () => {
    let ec2: FakeEc2;
    const c: ImageClients = { ec2: (region) => new EC2Client({ region }), sfn: new SFNClient({}), now: () => NOW };
    beforeEach(() => {
        ec2 = new FakeEc2();
        ec2.addInstance("i-0a01", [{ Key: "pilotlight:backup", Value: "true" }]);
    });
    afterEach(() => ec2.restore());

    it("create makes one image for a retried step, tags its snapshots, and is not fooled by another image of the source", async () => {
        ec2.addImage(HOME, "pilotlight-backup-asg-web-20260201000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2026-02-01T00:00:00.000Z" });
        const first = await create(c, S, item());
        const again = await create(c, S, item());
        assert.strictEqual(again.homeImageId, first.homeImageId);
        assert.strictEqual(ec2.calls.filter((x) => x.command === "CreateImage").length, 1);
        const image = ec2.images.get(first.homeImageId!)!;
        assert.strictEqual(image.name, item().imageName);
        for (const s of image.snapshotIds) assert.deepStrictEqual(ec2.snapshots.get(s)!.tags, [...OURS("asg:web"), { Key: "pilotlight:instance", Value: "i-0a01" }]);
        for (const call of ec2.calls.filter((x) => x.command === "DescribeImages")) assert.deepStrictEqual(call.input.Owners, ["self"]);
    });

    it("copy makes one DR copy for a retried step", async () => {
        const made = await create(c, S, item());
        ec2.images.get(made.homeImageId!)!.state = "available";
        const first = await copy(c, S, made);
        const again = await copy(c, S, made);
        assert.strictEqual(again.drImageId, first.drImageId);
        assert.strictEqual(ec2.calls.filter((x) => x.command === "CopyImage").length, 1);
    });

    for (const [step, command] of [["create", "CreateImage"], ["copy", "CopyImage"]] as const) {
        it(`${step}: a retry that does not see the image its lost call made yet takes it when EC2 answers that the name is in use`, async () => {
            let lookups = 0;
            const { c: sc, calls } = scripted((name) => {
                // DescribeImages is eventually consistent: the first look misses the image the lost call made.
                if (name === "DescribeImages") return { Images: lookups++ === 0 ? [] : [{ ImageId: "ami-made", State: "pending", Name: item().imageName }] };
                if (name === command) return ec2Error("InvalidAMIName.Duplicate");
                return {};
            });
            const out = step === "create" ? await create(sc, S, item()) : await copy(sc, S, item({ homeImageId: "ami-home" }));
            assert.deepStrictEqual(out.current, { region: step === "create" ? HOME : DR, imageId: "ami-made" });
            assert.deepStrictEqual(calls.map((x) => x.command), ["DescribeImages", command, "DescribeImages"]);
        });

        it(`${step}: a name in use that still cannot be found is an error`, async () => {
            const { c: sc } = scripted((name) => (name === "DescribeImages" ? { Images: [] } : name === command ? ec2Error("InvalidAMIName.Duplicate") : {}));
            await assert.rejects(step === "create" ? create(sc, S, item()) : copy(sc, S, item({ homeImageId: "ami-home" })), { name: "InvalidAMIName.Duplicate" });
            const { c: other } = scripted((name) => (name === "DescribeImages" ? { Images: [] } : name === command ? ec2Error("InvalidParameterValue") : {}));
            await assert.rejects(step === "create" ? create(other, S, item()) : copy(other, S, item({ homeImageId: "ami-home" })), { name: "InvalidParameterValue" });
        });
    }

    it("create does not take a deregistered image of the run's name for its own", async () => {
        const { c: sc, calls } = scripted((command) => (command === "DescribeImages" ? { Images: [{ ImageId: "ami-old", State: "deregistered" }] } : command === "CreateImage" ? { ImageId: "ami-new" } : {}));
        assert.strictEqual((await create(sc, S, item())).homeImageId, "ami-new");
        assert.deepStrictEqual(calls.map((x) => x.command), ["DescribeImages", "CreateImage"]);
    });

    it("status of an image EC2 no longer lists fails the item, naming it", async () => {
        for (const answer of [{}, { Images: [] }]) {
            const { c: sc } = scripted(() => answer);
            await assert.rejects(status(sc, S, item({ current: { region: DR, imageId: "ami-9" } })), { name: "ResourceFailedError", message: `image ami-9 disappeared from ${DR}` });
        }
    });

    it("plan reads every page of instances, and a reservation without instances", async () => {
        const { c: sc, calls } = scripted((command, input) => {
            if (command === "DescribeInstances") {
                if (!input.NextToken) return { Reservations: [{ Instances: [{ InstanceId: "i-0a01", State: { Name: "running" }, Tags: [{ Key: "aws:autoscaling:groupName", Value: "web" }] }] }], NextToken: "p2" };
                return { Reservations: [{}, { Instances: [{ InstanceId: "i-0b01", State: { Name: "stopped" } }] }] };
            }
            return { Images: [] };
        });
        const out = await plan(sc, S, { input: {}, startedAt: "2026-03-01T00:00:00Z", executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m" });
        assert.deepStrictEqual(out.items.map((i) => [i.source, i.instanceId]), [["asg:web", "i-0a01"], ["i-0b01", "i-0b01"]]);
        assert.deepStrictEqual(calls.filter((x) => x.command === "DescribeInstances").map((x) => x.input.NextToken), [undefined, "p2"]);
    });
});

describe("image steps: bad input and results", () => {
    it("names the unexpected keys of a machine input", () => {
        assert.throws(() => checkMachineInput({ instances: ["i-1"], keep: 3 }), { name: "InvalidInputError", message: /got "instances", "keep"; start it with \{\}/ });
        for (const bad of [null, "x", [], 5]) assert.throws(() => checkMachineInput(bad), { name: "InvalidInputError", message: /takes no input but \{\}/ });
        assert.doesNotThrow(() => checkMachineInput({}));
    });

    it("refuses items the plan cannot have made, saying what is wrong", () => {
        for (const bad of [null, "x", 5, [item()]]) assert.throws(() => checkItem(bad), { name: "InvalidInputError", message: /: expected an object$/ }, JSON.stringify(bad));
        assert.throws(() => checkItem(item({ source: "" })), { message: /source must be a non-empty string$/ });
        assert.throws(() => checkItem({ ...item(), source: 7 }), { message: /source must be a non-empty string$/ });
        for (const id of ["xi-0a01", "i-0a01 ", "i-0a01Z", "i-", "I-0A01"]) assert.throws(() => checkItem(item({ instanceId: id })), { message: /instanceId must be an EC2 instance id/ }, id);
        // A list holding an id would pass a regular expression (it converts to the string).
        assert.throws(() => checkItem({ ...item(), instanceId: ["i-0a01"] }), { message: /instanceId must be an EC2 instance id/ });
        assert.throws(() => checkItem(item({ imageName: "golden-image" })), { message: /imageName must start with pilotlight-backup-$/ });
        assert.throws(() => checkItem({ ...item(), imageName: 3 }), { message: /imageName must start with/ });
        assert.strictEqual(checkItem(item()).instanceId, "i-0a01");
        let long = "";
        try {
            checkItem(item({ source: "s".repeat(1000), instanceId: "bad" }));
        } catch (e) {
            long = (e as Error).message;
        }
        assert.ok(long.length < 400 && long.includes("instanceId must be"), `${long.length}: ${long.slice(0, 80)}`);
    });

    it("refuses an unknown step, inherited object properties included, before any call", async () => {
        const { c, calls } = scripted(() => ({}));
        for (const step of ["nope", 5, undefined, "toString", "constructor", "__proto__", ["prune"]]) {
            await assert.rejects(runImageStep(c, S, { step, item: item() }), { name: "InvalidInputError", message: /^unknown step .*; expected plan, prune_gone, report or create, status, copy, share, prune$/ }, String(step));
        }
        assert.deepStrictEqual(calls, []);
    });

    it("refuses a peer account id that is not exactly 12 digits", () => {
        const env = { HOME_REGION: HOME, DR_REGION: DR, TAG_KEY: "k", TAG_VALUE: "v", DR_KEY_ARN: DR_KEY, KEEP: "3" };
        for (const peer of ["1222222222222", "x222222222222", "222222222222x", "22222222222"]) assert.throws(() => imageSettingsFromEnv({ ...env, PEER_ACCOUNT_ID: peer }), /is not a 12-digit account id/, peer);
        assert.strictEqual(imageSettingsFromEnv({ ...env, PEER_ACCOUNT_ID: "222222222222" }).peerAccountId, "222222222222");
    });

    it("reports the images made, or every failed source with its error and cause", () => {
        assert.deepStrictEqual(report([item(), item({ source: "i-0b01", imageName: "pilotlight-backup-i-0b01-1" })]), { images: [item().imageName, "pilotlight-backup-i-0b01-1"] });
        assert.throws(() => report([item(), item({ error: { Error: "ResourceFailedError" } }), item({ source: "i-0b01", instanceId: "i-0b01", error: { Cause: "gone" } })]), {
            name: "BackupFailedError",
            message: "image backup failed for 2 of 3 source(s): asg:web (i-0a01): ResourceFailedError; i-0b01 (i-0b01): error gone",
        });
    });

    it("names an image exactly pilotlight-backup-<source>-<time> when it fits, and picks one running instance per source whatever the order", () => {
        // 128 = the prefix (18) + the source (95) + "-" + the timestamp (14).
        const fits = `asg:${"g".repeat(91)}`;
        assert.strictEqual(imageName(fits, "2026-01-02T03:04:05Z"), `pilotlight-backup-asg-${"g".repeat(91)}-20260102030405`);
        const pick = (ids: [string, string | undefined][]) => chooseInstances(ids.map(([InstanceId, state]) => ({ InstanceId, State: state ? { Name: state as InstanceStateName } : undefined, Tags: [{ Key: "aws:autoscaling:groupName", Value: "web" }] })), "2026-01-01T00:00:00Z")[0].instanceId;
        assert.strictEqual(pick([["i-2", "running"], ["i-3", "running"], ["i-1", "stopped"]]), "i-2");
        assert.strictEqual(pick([["i-3", "running"], ["i-2", "running"], ["i-1", "stopped"]]), "i-2");
        assert.strictEqual(pick([["i-1", "stopped"], ["i-3", "running"], ["i-0", undefined]]), "i-3");
        assert.strictEqual(pick([["i-3", undefined], ["i-2", "stopped"]]), "i-2", "an instance without a state counts as not running");
    });
});
