import * as assert from "assert";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { imageJobStatements } from "../components/backupSchedule";
import { imageMachineDefinition } from "../components/machines/snapshotMachine";
import { handler } from "../functions/image-backup";
import {
    assertNoImageInProgress,
    chooseInstances,
    IMAGE_JOB,
    IMAGE_NAME_PREFIX,
    ImageInfo,
    imageName,
    imageSettingsFromEnv,
    INSTANCE_TAG,
    pruneGone,
    runImageStep,
    selectImagesToPrune,
    sourceOf,
} from "../functions/lib/images";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeEc2 } from "./fakeEc2";
import { FakeSfn } from "./fakeSfn";
import { allows, ec2Authorizations } from "./iamCheck";
import { allStates, HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, runMachine, taskStates } from "./machineHarness";

const HOME = "us-east-1";
const DR = "us-west-2";
const PEER = "222222222222";
const DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
const JOB_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-image-backup";
const ALERT_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-alerts";
const OURS = (source: string) => [
    { Key: CREATED_BY_TAG, Value: IMAGE_JOB },
    { Key: SOURCE_TAG, Value: source },
];
const BACKUP_TAG = { Key: "pilotlight:backup", Value: "true" };
const ASG = (name: string) => ({ Key: "aws:autoscaling:groupName", Value: name });

const MACHINE_NAME = "pilotlight-image-backup";
const MACHINE_ARN = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:${MACHINE_NAME}`;
const CONTEXT = { machineName: MACHINE_NAME, accountId: HARNESS_ACCOUNT, homeRegion: HOME, drRegion: DR, tagKey: "pilotlight:backup", tagValue: "true", sharedKeyArn: DR_KEY.replace(DR, HOME), drKeyArn: DR_KEY };
const STATEMENTS = imageJobStatements(CONTEXT);

const definition = imageMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10 });
const sharing = imageMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10, share: true });
const ENV_KEYS = ["HOME_REGION", "DR_REGION", "TAG_KEY", "TAG_VALUE", "NO_REBOOT", "DR_KEY_ARN", "KEEP", "GONE_SOURCE_DAYS", "PEER_ACCOUNT_ID"];
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

describe("image backup machine", () => {
    let ec2: FakeEc2;
    let sfn: FakeSfn;
    let alerts: any[];
    let faultStep: string | undefined;

    function run(input: unknown = {}, def: object = definition) {
        return runMachine(def, input, {
            machineName: MACHINE_NAME,
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
        });
    }
    const clients = () => ({ ec2: (region: string) => new EC2Client({ region }), sfn: new SFNClient({}) });

    beforeEach(() => {
        ec2 = new FakeEc2();
        sfn = new FakeSfn();
        alerts = [];
        faultStep = undefined;
        // Two members of one Auto Scaling group, a lone stopped instance, an untagged one and a terminated one.
        ec2.addInstance("i-0a02", [BACKUP_TAG, ASG("web")]);
        ec2.addInstance("i-0a01", [BACKUP_TAG, ASG("web")]);
        ec2.addInstance("i-0b01", [BACKUP_TAG], "stopped");
        ec2.addInstance("i-0c01", [{ Key: "team", Value: "web" }]);
        ec2.addInstance("i-0d01", [BACKUP_TAG], "terminated");
        Object.assign(process.env, { HOME_REGION: HOME, DR_REGION: DR, TAG_KEY: "pilotlight:backup", TAG_VALUE: "true", NO_REBOOT: "true", DR_KEY_ARN: DR_KEY, KEEP: "2" });
    });

    afterEach(() => {
        ec2.restore();
        sfn.restore();
        for (const k of ENV_KEYS) delete process.env[k];
    });

    it("images one instance per group (not every member) and each lone instance, without reboot, copied to the DR region under the DR key, tags included", async () => {
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const home = ec2.imagesIn(HOME);
        assert.deepStrictEqual(home.map((i) => i.source).sort(), ["i-0a01", "i-0b01"], "the group's lowest running member, and the lone instance");
        assert.deepStrictEqual(ec2.calls.filter((c) => c.command === "CreateImage").length, 2);
        assert.ok(home.every((i) => i.noReboot === true && i.name.startsWith(IMAGE_NAME_PREFIX)));
        assert.ok(home.some((i) => /^pilotlight-backup-asg-web-\d{14}$/.test(i.name)), home.map((i) => i.name).join());
        const dr = ec2.imagesIn(DR);
        assert.strictEqual(dr.length, 2);
        for (const copy of dr) {
            assert.strictEqual(copy.kmsKeyId, DR_KEY);
            assert.strictEqual(copy.state, "available");
            const src = ec2.images.get(copy.source)!;
            assert.strictEqual(copy.name, src.name);
            const source = src.source === "i-0a01" ? "asg:web" : "i-0b01";
            assert.deepStrictEqual(copy.tags, [...OURS(source), { Key: INSTANCE_TAG, Value: src.source }]);
            for (const snap of copy.snapshotIds) assert.deepStrictEqual(ec2.snapshots.get(snap)!.tags, copy.tags, `snapshot ${snap} of the DR copy is tagged`);
            assert.deepStrictEqual(copy.launchPermissions, [], "same account: shared with nobody");
        }
        assert.deepStrictEqual(ec2.calls.filter((c) => c.command === "ModifyImageAttribute"), []);
    });

    it("shares each DR copy with the peer account in the two-account layout, once even when retried", async () => {
        process.env.PEER_ACCOUNT_ID = PEER;
        ec2.loseNextResponse("ModifyImageAttribute");
        const result = await run({}, sharing);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.ok(result.path.includes("Share"));
        for (const copy of ec2.imagesIn(DR)) assert.deepStrictEqual(copy.launchPermissions, [PEER]);
        for (const image of ec2.imagesIn(HOME)) assert.deepStrictEqual(image.launchPermissions, [], "the home image stays private");
        // Every EC2 call of the run is allowed by the deployed role.
        const peerStatements = imageJobStatements({ ...CONTEXT, peerAccountId: PEER });
        for (const call of ec2.calls) for (const a of ec2Authorizations(call, { account: HARNESS_ACCOUNT })) assert.ok(allows(peerStatements, a), `${call.command}: ${a.action} on ${a.resource}`);
        const statements = imageJobStatements({ ...CONTEXT, peerAccountId: PEER });
        const shareSt = statements.find((s) => s.Sid === "ShareOwnDrCopiesWithPeer")!;
        assert.deepStrictEqual([shareSt.Action, shareSt.Resource, shareSt.Condition], [["ec2:ModifyImageAttribute"], [`arn:aws:ec2:${DR}::image/*`], { StringEquals: { [`aws:ResourceTag/${CREATED_BY_TAG}`]: IMAGE_JOB } }]);
        assert.ok(!STATEMENTS.some((s) => s.Sid === "ShareOwnDrCopiesWithPeer"), "same account: no sharing permission");
        assert.ok(!("Share" in (definition.States.Images as any).ItemProcessor.States));
    });

    it("keeps the newest 2 per source in both regions, deregistering with the snapshots, failed images and copies pruned, pending ones kept", async () => {
        for (const region of [HOME, DR]) {
            for (const day of ["01", "02", "03"]) ec2.addImage(region, `pilotlight-backup-asg-web-202512${day}000000`, { source: "i-0a09", tags: OURS("asg:web"), created: `2025-12-${day}T00:00:00.000Z` });
            ec2.addImage(region, "pilotlight-backup-asg-web-20251204000000", { source: "i-0a09", tags: OURS("asg:web"), created: "2025-12-04T00:00:00.000Z", state: "failed" });
            ec2.addImage(region, "golden-image", { source: "i-0a01", tags: [{ Key: SOURCE_TAG, Value: "asg:web" }], created: "2025-01-01T00:00:00.000Z" });
            ec2.addImage(region, "other-job", { source: "i-0a01", tags: [{ Key: CREATED_BY_TAG, Value: "someone-else" }, { Key: SOURCE_TAG, Value: "asg:web" }], created: "2025-01-01T00:00:00.000Z" });
        }
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        for (const region of [HOME, DR]) {
            const names = ec2.imagesIn(region).filter((i) => i.tags.some((t) => t.Key === SOURCE_TAG && t.Value === "asg:web")).map((i) => i.name).sort();
            // The run's own new image counts as one of the 2 kept.
            assert.strictEqual(names.length, 4, `${region}: ${names}`);
            assert.ok(names.includes("golden-image") && names.includes("other-job") && names.includes("pilotlight-backup-asg-web-20251203000000"), `${region}: ${names}`);
            assert.ok(!names.includes("pilotlight-backup-asg-web-20251204000000"), "the failed image is pruned, whatever keep says");
        }
        const deregisters = ec2.calls.filter((c) => c.command === "DeregisterImage");
        assert.strictEqual(deregisters.length, 6, "02, 01 and the failed one, in each region");
        assert.ok(deregisters.every((c) => c.input.DeleteAssociatedSnapshots === true));
        assert.deepStrictEqual(ec2.calls.filter((c) => c.command === "DeleteSnapshot"), [], "no separate DeleteSnapshot that could meet InvalidSnapshot.InUse");
        for (const call of ec2.calls) for (const a of ec2Authorizations(call, { account: HARNESS_ACCOUNT })) assert.ok(allows(STATEMENTS, a), `${call.command}: ${a.action} on ${a.resource}`);
        const pruned = [...ec2.images.values()].filter((i) => i.state === "deregistered");
        for (const image of pruned) for (const snap of image.snapshotIds) assert.ok(!ec2.snapshots.has(snap), `${snap} went with ${image.name}`);
    });

    it("never deletes a snapshot without the job's tag: reported as kept, and the role may delete only tagged ones", async () => {
        for (const region of [HOME, DR]) {
            for (const day of ["01", "02"]) ec2.addImage(region, `pilotlight-backup-i-0b01-202512${day}000000`, { source: "i-0b01", tags: OURS("i-0b01"), created: `2025-12-${day}T00:00:00.000Z` });
            // An old copy made before copies tagged their snapshots: the image is the job's, its snapshot is not tagged.
            ec2.addImage(region, "pilotlight-backup-i-0b01-20251130000000", { source: "i-0b01", tags: OURS("i-0b01"), snapshotTags: [], created: "2025-11-30T00:00:00.000Z" });
        }
        const untagged = [...ec2.images.values()].filter((i) => i.name === "pilotlight-backup-i-0b01-20251130000000").flatMap((i) => i.snapshotIds);
        process.env.KEEP = "1";
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        for (const snap of untagged) assert.ok(ec2.snapshots.has(snap), `${snap} has no tag and is not deleted`);
        const item = result.output.results.find((i: any) => i.source === "i-0b01");
        assert.deepStrictEqual(Object.values(item.keptSnapshots).flat().sort(), untagged.map((s) => `${s} (missing-permissions)`).sort());
        const deletes = STATEMENTS.filter((st) => ([] as string[]).concat(st.Action).includes("ec2:DeleteSnapshot"));
        assert.strictEqual(deletes.length, 1);
        assert.deepStrictEqual(deletes[0].Condition, { StringEquals: { [`aws:ResourceTag/${CREATED_BY_TAG}`]: IMAGE_JOB } });
    });

    it("prunes the images of sources that are gone: beyond keep at once, all once older than the age limit, in both regions", async () => {
        process.env.GONE_SOURCE_DAYS = "30";
        for (const region of [HOME, DR]) {
            // 5 old images of a terminated instance, keep 2: today's code keeps all 10 forever.
            for (const d of [40, 41, 42, 43, 44]) ec2.addImage(region, `pilotlight-backup-i-0d01-${d}`, { source: "i-0d01", tags: OURS("i-0d01"), created: daysAgo(d) });
            // A replaced group's recent images: beyond keep go, the newest 2 stay until they age out.
            for (const d of [1, 2, 3]) ec2.addImage(region, `pilotlight-backup-asg-old-${d}`, { source: "i-0e01", tags: OURS("asg:old"), created: daysAgo(d) });
        }
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        for (const region of [HOME, DR]) {
            const left = ec2.imagesIn(region).map((i) => i.name);
            assert.ok(!left.some((n) => n.startsWith("pilotlight-backup-i-0d01-")), `${region}: ${left}`);
            assert.deepStrictEqual(left.filter((n) => n.startsWith("pilotlight-backup-asg-old-")).sort(), ["pilotlight-backup-asg-old-1", "pilotlight-backup-asg-old-2"]);
        }
        assert.deepStrictEqual(result.output.gone.pruned[HOME].length, 6);
    });

    it("sweeps this job's snapshots that no image uses once a day old; never a young, foreign or used one", async () => {
        const now = new Date("2026-02-01T00:00:00Z");
        const snap = (id: string, tags: any[], startTime: string) => ec2.snapshots.set(id, { region: HOME, tags, startTime });
        snap("snap-orphan-old", OURS("i-0b01"), "2026-01-30T00:00:00Z");
        snap("snap-orphan-young", OURS("i-0b01"), "2026-01-31T23:00:00Z");
        snap("snap-foreign-old", [{ Key: "team", Value: "x" }], "2026-01-01T00:00:00Z");
        const used = ec2.addImage(HOME, "pilotlight-backup-i-0b01-20260101000000", { source: "i-0b01", tags: OURS("i-0b01"), created: "2026-01-01T00:00:00.000Z" });
        ec2.loseNextResponse("DeleteSnapshot");
        const s = imageSettingsFromEnv(process.env);
        const current = [{ source: "i-0b01", instanceId: "i-0b01", imageName: "pilotlight-backup-i-0b01-x", attempt: 0 }];
        await assert.rejects(pruneGone({ ...clients(), now: () => now }, s, current), { name: "TimeoutError" });
        // The retry after the lost response finds it gone and goes on.
        const out = await pruneGone({ ...clients(), now: () => now }, s, current);
        assert.ok(!ec2.snapshots.has("snap-orphan-old"));
        assert.deepStrictEqual(out.swept[HOME], []);
        for (const kept of ["snap-orphan-young", "snap-foreign-old", used.snapshotIds[0]]) assert.ok(ec2.snapshots.has(kept), kept);
    });

    it("a deregister whose response was lost is retried as done: one result, no false alert", async () => {
        for (const region of [HOME, DR]) for (const day of ["01", "02", "03"]) ec2.addImage(region, `pilotlight-backup-i-0b01-202512${day}000000`, { source: "i-0b01", tags: OURS("i-0b01"), created: `2025-12-${day}T00:00:00.000Z` });
        ec2.loseNextResponse("DeregisterImage");
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        assert.deepStrictEqual(result.taskFailures.map((f) => f.error), ["TransientError"]);
        for (const region of [HOME, DR]) assert.deepStrictEqual(ec2.imagesIn(region).filter((i) => i.source === "i-0b01" || i.name.includes("i-0b01-2025")).map((i) => i.name).filter((n) => n.includes("2025")), ["pilotlight-backup-i-0b01-20251203000000"]);
    });

    it("lost CreateImage and CopyImage responses and a Lambda.Unknown are retried into one image per source and region, without an alert", async () => {
        ec2.loseNextResponse("CreateImage");
        ec2.loseNextResponse("CopyImage");
        let unknown = 1;
        const result = await runMachine(definition, {}, {
            machineName: MACHINE_NAME,
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => undefined, alert: (e) => alerts.push(e) }),
            // The Lambda service fails the invocation after the step ran: Lambda.Unknown.
            stateHandlers: {
                Prune: async (event: any) => {
                    const out = await handler(event);
                    if (unknown-- > 0) throw Object.assign(new Error("Unhandled"), { name: "Lambda.Unknown" });
                    return out;
                },
            },
        });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        assert.deepStrictEqual(result.taskFailures.map((f) => [f.state, f.error]).sort(), [["CopyToDr", "TransientError"], ["CreateImage", "TransientError"], ["Prune", "Lambda.Unknown"]]);
        for (const region of [HOME, DR]) assert.deepStrictEqual(ec2.imagesIn(region).map((i) => i.name.replace(/\d{14}$/, "T")).sort(), ["pilotlight-backup-asg-web-T", "pilotlight-backup-i-0b01-T"], region);
    });

    for (const [what, input] of [
        ["a string", "everything"],
        ["a list", [{ instanceId: "i-0a01" }]],
        ["a number", 7],
        ["a setting it does not take", { instances: ["i-0a01"] }],
        ["a misspelled key", { keeep: 3 }],
    ] as [string, unknown][]) {
        it(`refuses ${what} as input before any EC2 call, and alerts`, async () => {
            const result = await run(input);
            assert.strictEqual(result.status, "FAILED");
            assert.deepStrictEqual(result.path, ["Input", "Plan", "NotifyFailure", "Failed"]);
            assert.strictEqual(alerts[0].error, "InvalidInputError");
            assert.deepStrictEqual(alerts[0].input, input);
            assert.match(alerts[0].cause, /the image backup takes no/);
            assert.deepStrictEqual(ec2.calls, []);
        });
    }

    it("status waits while an image is pending or transient, and fails it in any other state", async () => {
        const s = imageSettingsFromEnv(process.env);
        const image = ec2.addImage(HOME, "pilotlight-backup-i-0b01-20260101000000", { source: "i-0b01", tags: OURS("i-0b01"), created: "2026-01-01T00:00:00.000Z" });
        const item = { source: "i-0b01", instanceId: "i-0b01", imageName: image.name, attempt: 3, current: { region: HOME, imageId: image.imageId } };
        for (const state of ["pending", "transient", "available"]) {
            image.state = state;
            assert.deepStrictEqual(await runImageStep(clients(), s, { step: "status", item }), { ...item, status: state, attempt: 4 });
        }
        for (const state of ["failed", "error", "invalid", "disabled"]) {
            image.state = state;
            await assert.rejects(runImageStep(clients(), s, { step: "status", item }), (e: Error) => e.name === "ResourceFailedError" && e.message.includes(`is ${state}`));
        }
        await assert.rejects(runImageStep(clients(), s, { step: "status", item: { ...item, current: undefined } }), /nothing to wait for/);
        await assert.rejects(runImageStep(clients(), s, { step: "copy", item: { ...item, current: undefined } }), /has no image yet/);
        await assert.rejects(runImageStep(clients(), { ...s, peerAccountId: PEER }, { step: "share", item }), /has no DR copy yet/);
        assert.deepStrictEqual(await runImageStep(clients(), s, { step: "share", item }), item, "same account: nothing to share");
    });

    it("refuses an item the plan cannot have made, naming it", async () => {
        const s = imageSettingsFromEnv(process.env);
        for (const item of [undefined, "i-0a01", { source: "", instanceId: "i-0a01", imageName: "pilotlight-backup-x", attempt: 0 }, { source: "x", instanceId: "web", imageName: "pilotlight-backup-x", attempt: 0 }, { source: "x", instanceId: "i-0a01", imageName: "golden", attempt: 0 }, { source: "x", instanceId: "i-0a01", imageName: "pilotlight-backup-x" }]) {
            await assert.rejects(runImageStep(clients(), s, { step: "prune", item }), { name: "InvalidInputError" }, JSON.stringify(item));
        }
        // null cannot pass the harness's Pass state; the plan step refuses it all the same.
        await assert.rejects(runImageStep(clients(), s, { step: "plan", input: null, startedAt: "2026-01-01T00:00:00Z", executionArn: "e", stateMachineArn: MACHINE_ARN }), /takes no input but \{\}.*got null/);
        await assert.rejects(runImageStep(clients(), s, { step: "explode" }), /unknown step "explode"; expected plan, prune_gone, report or create, status, copy, share, prune/);
        await assert.rejects(runImageStep(clients(), s, { step: "report", items: "x" }), /report needs the list of items/);
        await assert.rejects(runImageStep(clients(), s, { step: "prune_gone", items: {} }), /prune_gone needs the list of items/);
        assert.deepStrictEqual(ec2.calls, []);
    });

    /** Asserts the run stopped at Plan with a ConcurrentRunError whose cause matches `cause`, before any change. */
    function assertRefused(result: Awaited<ReturnType<typeof run>>, cause: RegExp) {
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(result.path, ["Input", "Plan", "NotifyFailure", "Failed"]);
        assert.strictEqual(alerts.length, 1);
        assert.strictEqual(alerts[0].error, "ConcurrentRunError");
        assert.match(alerts[0].cause, cause);
        assert.match(alerts[0].cause, /this run changes nothing/);
        assert.deepStrictEqual(ec2.mutatingCalls(), []);
    }

    it("refuses to run while another execution of the machine is running, before any change, and alerts", async () => {
        sfn.addRunning(MACHINE_ARN, "scheduled-run", {});
        const result = await run();
        assertRefused(result, /execution 'scheduled-run' \(arn:aws:states:[^)]*:execution:pilotlight-image-backup:scheduled-run\) of this image-backup machine is already running/);
        const lists = sfn.calls.filter((c) => c.command === "ListExecutions");
        assert.deepStrictEqual(lists.map((c) => [c.input.stateMachineArn, c.input.statusFilter]), [[MACHINE_ARN, "RUNNING"]]);
        assert.ok(allows(STATEMENTS, { action: "states:ListExecutions", resource: MACHINE_ARN }));
        assert.deepStrictEqual(sfn.calls.filter((c) => c.command !== "ListExecutions"), [], "any other run overlaps: nothing to describe");
    });

    for (const region of [HOME, DR]) {
        it(`refuses to run while an earlier run's image is still pending in ${region === HOME ? "the home" : "the DR"} region, before any change, and alerts`, async () => {
            const earlier = ec2.addImage(region, "pilotlight-backup-i-0b01-20251231000000", { source: "i-0b01", tags: OURS("i-0b01"), created: "2025-12-31T00:00:00.000Z", state: "pending" });
            const result = await run();
            assertRefused(result, new RegExp(`another image-backup run is in progress on i-0b01: its image ${earlier.imageId} \\(pilotlight-backup-i-0b01-20251231000000, pending\\) in ${region} is not finished`));
            assert.strictEqual(earlier.state, "pending");
        });
    }

    it("its own execution listed as running, an available earlier image and a pending one of someone else do not block a run; both regions were checked", async () => {
        sfn.addRunning(MACHINE_ARN, "exec-1", {});
        sfn.addRunning(MACHINE_ARN.replace(MACHINE_NAME, "pilotlight-backup"), "snapshots", {});
        for (const region of [HOME, DR]) {
            ec2.addImage(region, "pilotlight-backup-asg-web-20251231000000", { source: "i-0a01", tags: OURS("asg:web"), created: "2025-12-31T00:00:00.000Z" });
            ec2.addImage(region, "golden-image", { source: "i-0a01", tags: [{ Key: SOURCE_TAG, Value: "asg:web" }], created: "2025-12-31T00:00:00.000Z", state: "pending" });
        }
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(result.path.slice(0, 3), ["Input", "Plan", "Images"]);
        assert.deepStrictEqual(alerts, []);
        assert.deepStrictEqual(sfn.calls.map((c) => [c.command, c.input.stateMachineArn]), [["ListExecutions", MACHINE_ARN]]);
        const beforeChanges = ec2.calls.slice(0, ec2.calls.findIndex((c) => c.command === "CreateImage"));
        const checked = beforeChanges.filter((c) => c.command === "DescribeImages" && c.input.Filters?.some((f: any) => f.Name === `tag:${CREATED_BY_TAG}`));
        assert.deepStrictEqual(checked.map((c) => `${c.input.Filters.find((f: any) => f.Name === `tag:${SOURCE_TAG}`).Values[0]}@${c.region}`).sort(), [`asg:web@${HOME}`, `asg:web@${DR}`, `i-0b01@${HOME}`, `i-0b01@${DR}`]);
    });

    it("a pending image with the run's own name is the run's own and does not block", async () => {
        const item = { source: "asg:web", instanceId: "i-0a01", imageName: "pilotlight-backup-asg-web-20260101000000", attempt: 0 };
        const own = ec2.addImage(DR, item.imageName, { source: "i-0a01", tags: OURS("asg:web"), created: "2026-01-01T00:00:00.000Z", state: "pending" });
        await assertNoImageInProgress(clients(), imageSettingsFromEnv(process.env), [item]);
        own.name = "pilotlight-backup-asg-web-20251231000000";
        await assert.rejects(assertNoImageInProgress(clients(), imageSettingsFromEnv(process.env), [item]), { name: "ConcurrentRunError" });
    });

    it("the Lambda may list its own machine's executions and nothing else of Step Functions; CopyImage on image and snapshot ARNs", () => {
        const states = STATEMENTS.filter((st) => ([] as string[]).concat(st.Action).some((a) => a.startsWith("states:")));
        assert.deepStrictEqual(states, [{ Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [MACHINE_ARN] }]);
        for (const region of [HOME, DR]) {
            assert.ok(allows(STATEMENTS, { action: "ec2:CopyImage", resource: `arn:aws:ec2:${region}::image/ami-00000001` }));
            assert.ok(allows(STATEMENTS, { action: "ec2:CopyImage", resource: `arn:aws:ec2:${region}::snapshot/snap-00000001` }));
            assert.ok(allows(STATEMENTS, { action: "ec2:DeregisterImage", resource: `arn:aws:ec2:${region}::image/ami-00000001` }));
        }
    });

    it("has a Retry and a Catch on every Task, and caps how many sources run at once", () => {
        for (const name of taskStates(definition as any)) {
            const state = (definition.States[name] ?? (definition.States.Images as any).ItemProcessor.States[name]) as any;
            assert.ok(state.Retry?.length && state.Catch?.length, name);
        }
        assert.strictEqual((definition.States.Images as any).MaxConcurrency, 10);
        assert.throws(() => imageMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxConcurrency: 0 }), /maxConcurrency must be a whole number >= 1, got 0/);
    });

    it("runs each source as its own child execution (distributed Map: its own history), at most maxConcurrency at once", () => {
        const map = definition.States.Images as any;
        assert.deepStrictEqual([map.Type, map.ItemProcessor.ProcessorConfig, map.MaxConcurrency, map.ToleratedFailurePercentage], ["Map", { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, 10, 0]);
        assert.strictEqual(map.Label, "Images", "children are named after the Map");
        assert.strictEqual((imageMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxConcurrency: 3 }).States.Images as any).MaxConcurrency, 3);
        // A child ends as its item (plus error): every Task of the item has a Catch to ItemFailed.
        for (const [name, state] of Object.entries(map.ItemProcessor.States) as [string, any][]) if (state.Type === "Task") assert.deepStrictEqual(state.Catch.map((c: any) => c.Next), ["ItemFailed"], name);
    });

    it("every job Task but Report retries Lambda service errors and hung calls (each step looks before it acts)", () => {
        for (const def of [definition, sharing]) {
            for (const [name, state] of allStates(def as any)) {
                if (state.Type !== "Task" || name === "NotifyFailure" || name === "Report") continue;
                const errors = (state.Retry as any[]).flatMap((r) => r.ErrorEquals);
                for (const e of ["Lambda.ServiceException", "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException", "States.Timeout"]) assert.ok(errors.includes(e), `${name} retries ${e}`);
            }
        }
    });

    for (const step of ["plan", "create", "status", "copy", "prune", "prune_gone", "report"]) {
        it(`a fault at ${step} deregisters nothing it should not and alerts`, async () => {
            ec2.addImage(HOME, "pilotlight-backup-i-0b01-20251201000000", { source: "i-0b01", tags: OURS("i-0b01"), created: "2025-12-01T00:00:00.000Z" });
            faultStep = step;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].source, "image-backup");
            assert.deepStrictEqual(ec2.mutatingCalls().filter((c) => c.command !== "CreateImage" && c.command !== "CopyImage"), []);
        });
    }

    it("an image that fails fails its source's item, alerts, and the next run prunes it", async () => {
        ec2.imageTimeline = ["pending", "failed"];
        const first = await run();
        assert.strictEqual(first.status, "FAILED");
        assert.match(alerts[0].cause, /image backup failed for 2 of 2 source\(s\)/);
        assert.match(alerts[0].cause, /is failed: ; the next run prunes it/);
        ec2.imageTimeline = ["pending", "pending", "available"];
        // Runs are named by their start time to the second: the next one starts later.
        await new Promise((r) => setTimeout(r, 1100));
        const second = await run();
        assert.strictEqual(second.status, "SUCCEEDED", `${second.error}: ${second.cause}`);
        assert.deepStrictEqual([...ec2.images.values()].filter((i) => i.state === "failed"), [], "the failed images were pruned");
    });
});

describe("image retention and sources (pure)", () => {
    const img = (imageId: string, day: number, createdBy: string | undefined, state = "available"): ImageInfo => ({ imageId, name: imageId, state, creationDate: `2026-01-0${day}T00:00:00.000Z`, createdBy, snapshotIds: [] });
    const list = [img("a", 1, IMAGE_JOB), img("b", 2, IMAGE_JOB), img("c", 3, IMAGE_JOB, "pending"), img("d", 4, undefined), img("e", 5, IMAGE_JOB), img("f", 6, IMAGE_JOB, "failed"), img("g", 7, "other", "failed")];

    it("never selects the newest, pending or foreign images; failed ones of the job always", () => {
        assert.deepStrictEqual(selectImagesToPrune(list, 1).map((i) => i.imageId), ["f", "b", "a"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 3).map((i) => i.imageId), ["f"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 1, { protect: "f" }).map((i) => i.imageId), ["b", "a"], "the run's own image is never pruned");
        assert.throws(() => selectImagesToPrune(list, 0), /keep must be an integer >= 1, got 0/);
        assert.throws(() => selectImagesToPrune(list, 1.5), /keep must be an integer >= 1/);
    });

    it("for a gone source prunes the newest too once older than the limit, never before", () => {
        assert.deepStrictEqual(selectImagesToPrune(list, 2, { goneBefore: new Date("2026-01-03T00:00:00Z") }).map((i) => i.imageId), ["f", "a", "b"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 2, { goneBefore: new Date("2026-01-02T00:00:00Z") }).map((i) => i.imageId), ["f", "a"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 2, { goneBefore: new Date("2026-01-06T00:00:00Z") }).map((i) => i.imageId), ["f", "a", "e", "b"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 2, { goneBefore: new Date("2026-01-01T00:00:00Z") }).map((i) => i.imageId), ["f", "a"], "exactly at the limit is not older");
        // Ties on the date: the name decides, newest name kept.
        const tie = [img("x1", 1, IMAGE_JOB), img("x2", 1, IMAGE_JOB)];
        assert.deepStrictEqual(selectImagesToPrune(tie, 1).map((i) => i.imageId), ["x1"]);
    });

    it("tells an instance's source from its group, then its launch template, else itself", () => {
        assert.strictEqual(sourceOf("i-1", [{ Key: "aws:autoscaling:groupName", Value: "web" }, { Key: "aws:ec2launchtemplate:id", Value: "lt-1" }]), "asg:web");
        assert.strictEqual(sourceOf("i-1", [{ Key: "aws:ec2launchtemplate:id", Value: "lt-1" }]), "lt:lt-1");
        assert.strictEqual(sourceOf("i-1", undefined), "i-1");
        const items = chooseInstances(
            [
                { InstanceId: "i-3", State: { Name: "running" }, Tags: [ASG("web")] },
                { InstanceId: "i-1", State: { Name: "stopped" }, Tags: [ASG("web")] },
                { InstanceId: "i-2", State: { Name: "running" }, Tags: [ASG("web")] },
                { InstanceId: "i-5", State: { Name: "stopped" }, Tags: [{ Key: "aws:ec2launchtemplate:id", Value: "lt-9" }] },
                { InstanceId: "i-4", State: { Name: "stopped" }, Tags: [{ Key: "aws:ec2launchtemplate:id", Value: "lt-9" }] },
                { InstanceId: "i-6", State: { Name: "running" }, Tags: [{ Key: "aws:ec2launchtemplate:id", Value: "lt-9" }] },
            ],
            "2026-01-01T00:00:00Z",
        );
        assert.deepStrictEqual(items.map((i) => [i.source, i.instanceId]), [["asg:web", "i-2"], ["lt:lt-9", "i-6"]], "a running member first (lowest id), a stopped one only when none runs");
        assert.deepStrictEqual(chooseInstances([{ InstanceId: "i-5", State: { Name: "stopped" }, Tags: [] }, { InstanceId: "i-4", State: { Name: "stopped" }, Tags: [] }], "2026-01-01T00:00:00Z").map((i) => i.instanceId), ["i-4", "i-5"]);
    });

    it("names every image pilotlight-backup-<source>-<timestamp>, valid and at most 128 characters", () => {
        assert.strictEqual(imageName("asg:web", "2026-01-02T03:04:05Z"), "pilotlight-backup-asg-web-20260102030405");
        const long = imageName(`asg:${"g".repeat(200)}`, "2026-01-02T03:04:05Z");
        assert.strictEqual(long.length, 128);
        assert.match(long, /^pilotlight-backup-asg-g+-[0-9a-f]{8}-20260102030405$/);
        assert.notStrictEqual(long, imageName(`asg:${"g".repeat(199)}h`, "2026-01-02T03:04:05Z"));
        assert.strictEqual(imageName(`asg:${"g".repeat(92)}`, "2026-01-02T03:04:05Z").length, 128, "fits exactly: no hash");
        assert.ok(!imageName(`asg:${"g".repeat(92)}`, "2026-01-02T03:04:05Z").includes("-2e"));
    });

    it("reads its settings from the environment, refusing a bad peer account", () => {
        const env = { HOME_REGION: HOME, DR_REGION: DR, TAG_KEY: "k", TAG_VALUE: "v", DR_KEY_ARN: DR_KEY, KEEP: "3" };
        assert.deepStrictEqual(imageSettingsFromEnv(env), { homeRegion: HOME, drRegion: DR, tagKey: "k", tagValue: "v", noReboot: true, drKeyArn: DR_KEY, keep: 3, goneSourceDays: 30, peerAccountId: undefined });
        assert.strictEqual(imageSettingsFromEnv({ ...env, NO_REBOOT: "false", GONE_SOURCE_DAYS: "9", PEER_ACCOUNT_ID: PEER }).goneSourceDays, 9);
        assert.strictEqual(imageSettingsFromEnv({ ...env, NO_REBOOT: "false" }).noReboot, false);
        assert.throws(() => imageSettingsFromEnv({ ...env, PEER_ACCOUNT_ID: "22222" }), /PEER_ACCOUNT_ID '22222' is not a 12-digit account id/);
    });
});

describe("FakeEc2 rules", () => {
    let ec2: FakeEc2;
    const client = (region = HOME) => new EC2Client({ region });
    beforeEach(() => (ec2 = new FakeEc2()));
    afterEach(() => ec2.restore());

    it("refuses, like the role, to delete a snapshot without the job's tag, and one a registered image uses", async () => {
        const { DeleteSnapshotCommand } = await import("@aws-sdk/client-ec2");
        const image = ec2.addImage(HOME, "golden-image", { source: "i-0a01", tags: [], created: "2025-01-01T00:00:00.000Z" });
        await assert.rejects(client().send(new DeleteSnapshotCommand({ SnapshotId: image.snapshotIds[0] })), { name: "InvalidSnapshot.InUse" });
        image.state = "deregistered";
        await assert.rejects(client().send(new DeleteSnapshotCommand({ SnapshotId: image.snapshotIds[0] })), { name: "UnauthorizedOperation" });
        assert.ok(ec2.snapshots.has(image.snapshotIds[0]));
    });

    it("DeregisterImage with DeleteAssociatedSnapshots deletes only what the caller may and no other image uses", async () => {
        const { DeregisterImageCommand } = await import("@aws-sdk/client-ec2");
        const ours = ec2.addImage(HOME, "a", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        const out = await client().send(new DeregisterImageCommand({ ImageId: ours.imageId, DeleteAssociatedSnapshots: true }));
        assert.deepStrictEqual(out.DeleteSnapshotResults, [{ SnapshotId: ours.snapshotIds[0], ReturnCode: "success" }]);
        assert.ok(!ec2.snapshots.has(ours.snapshotIds[0]));
        const foreign = ec2.addImage(HOME, "b", { source: "i-0a01", tags: OURS("x"), snapshotTags: [], created: "2025-01-01T00:00:00.000Z" });
        const out2 = await client().send(new DeregisterImageCommand({ ImageId: foreign.imageId, DeleteAssociatedSnapshots: true }));
        assert.deepStrictEqual(out2.DeleteSnapshotResults, [{ SnapshotId: foreign.snapshotIds[0], ReturnCode: "missing-permissions" }]);
        const shared = ec2.addImage(HOME, "c", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        const other = ec2.addImage(HOME, "d", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        other.snapshotIds = [...shared.snapshotIds];
        const out3 = await client().send(new DeregisterImageCommand({ ImageId: shared.imageId, DeleteAssociatedSnapshots: true }));
        assert.deepStrictEqual(out3.DeleteSnapshotResults, [{ SnapshotId: shared.snapshotIds[0], ReturnCode: "skipped" }]);
        await assert.rejects(client().send(new DeregisterImageCommand({ ImageId: shared.imageId })), { name: "InvalidAMIID.NotFound" });
        const plain = ec2.addImage(HOME, "e", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        await client().send(new DeregisterImageCommand({ ImageId: plain.imageId }));
        assert.ok(ec2.snapshots.has(plain.snapshotIds[0]), "without the flag the snapshots stay");
    });

    it("ModifyImageAttribute adds launch permissions once, in the image's region only", async () => {
        const { ModifyImageAttributeCommand } = await import("@aws-sdk/client-ec2");
        const image = ec2.addImage(DR, "a", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        for (let i = 0; i < 2; i++) await client(DR).send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: PEER }] } }));
        assert.deepStrictEqual(image.launchPermissions, [PEER]);
        await assert.rejects(client(HOME).send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: PEER }] } })), { name: "InvalidAMIID.NotFound" });
    });

    it("a lost response still takes effect", async () => {
        const { DeregisterImageCommand } = await import("@aws-sdk/client-ec2");
        const image = ec2.addImage(HOME, "a", { source: "i-0a01", tags: OURS("x"), created: "2025-01-01T00:00:00.000Z" });
        ec2.loseNextResponse("DeregisterImage");
        await assert.rejects(client().send(new DeregisterImageCommand({ ImageId: image.imageId })), { name: "TimeoutError" });
        assert.strictEqual(image.state, "deregistered");
    });
});
