// @ts-nocheck
import * as assert from "assert";
import { imageJobStatements } from "../components/backupSchedule";
import { imageMachineDefinition } from "../components/machines/snapshotMachine";
import { handler } from "../functions/image-backup";
import { assertNoImageInProgress, IMAGE_JOB, ImageInfo, imageSettingsFromEnv, selectImagesToPrune } from "../functions/lib/images";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeEc2 } from "./fakeEc2";
import { FakeSfn } from "./fakeSfn";
import { allows } from "./iamCheck";
import { HARNESS_ACCOUNT, HARNESS_REGION, jobMachineHandlers, runMachine, taskStates } from "./machineHarness";

const HOME = "us-east-1";
const DR = "us-west-2";
const DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/mrk-shared";
const JOB_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-image-backup";
const ALERT_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-alerts";
const OURS = (instance: string) => [
    { Key: CREATED_BY_TAG, Value: IMAGE_JOB },
    { Key: SOURCE_TAG, Value: instance },
];

const MACHINE_NAME = "pilotlight-image-backup";
const MACHINE_ARN = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:${MACHINE_NAME}`;
const STATEMENTS = imageJobStatements({ machineName: MACHINE_NAME, accountId: HARNESS_ACCOUNT, homeRegion: HOME, drRegion: DR, tagKey: "pilotlight:backup", tagValue: "true", sharedKeyArn: DR_KEY.replace(DR, HOME), drKeyArn: DR_KEY });

const definition = imageMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { maxAttempts: 10 });

describe("image backup machine", () => {
    let ec2: FakeEc2;
    let sfn: FakeSfn;
    let alerts: any[];
    let faultStep: string | undefined;

    function run() {
        return runMachine(definition, {}, {
            machineName: MACHINE_NAME,
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
        });
    }

    beforeEach(() => {
        ec2 = new FakeEc2();
        sfn = new FakeSfn();
        alerts = [];
        faultStep = undefined;
        ec2.addInstance("i-app1", [{ Key: "pilotlight:backup", Value: "true" }]);
        ec2.addInstance("i-app2", [{ Key: "pilotlight:backup", Value: "true" }], "stopped");
        ec2.addInstance("i-other", [{ Key: "team", Value: "web" }]);
        ec2.addInstance("i-gone", [{ Key: "pilotlight:backup", Value: "true" }], "terminated");
        Object.assign(process.env, { HOME_REGION: HOME, DR_REGION: DR, TAG_KEY: "pilotlight:backup", TAG_VALUE: "true", NO_REBOOT: "true", DR_KEY_ARN: DR_KEY, KEEP: "2" });
    });

    afterEach(() => {
        ec2.restore();
        sfn.restore();
        for (const k of ["HOME_REGION", "DR_REGION", "TAG_KEY", "TAG_VALUE", "NO_REBOOT", "DR_KEY_ARN", "KEEP"]) delete process.env[k];
    });

    it("images every tagged instance without reboot and copies each to the DR region under the DR key, tags included", async () => {
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const home = ec2.imagesIn(HOME);
        assert.deepStrictEqual(home.map((i) => i.source).sort(), ["i-app1", "i-app2"]);
        assert.ok(home.every((i) => i.noReboot === true && /^pilotlight-i-app\d-\d{14}$/.test(i.name)));
        const dr = ec2.imagesIn(DR);
        assert.strictEqual(dr.length, 2);
        for (const copy of dr) {
            assert.strictEqual(copy.kmsKeyId, DR_KEY);
            assert.strictEqual(copy.state, "available");
            const src = ec2.images.get(copy.source)!;
            assert.strictEqual(copy.name, src.name);
            assert.deepStrictEqual(copy.tags, OURS(src.source));
            for (const snap of copy.snapshotIds) assert.deepStrictEqual(ec2.snapshots.get(snap)!.tags, OURS(src.source), `snapshot ${snap} of the DR copy is tagged`);
            const call = ec2.calls.find((c) => c.command === "CopyImage" && c.input.Name === copy.name)!;
            assert.deepStrictEqual(call.input.TagSpecifications.map((t: any) => t.ResourceType), ["image", "snapshot"]);
        }
        for (const image of home) assert.deepStrictEqual(ec2.snapshots.get(image.snapshotIds[0])!.tags, OURS(image.source));
    });

    it("keeps the newest 2 of its own images per instance in both regions, deregistering before deleting snapshots", async () => {
        const seeded: string[] = [];
        for (const region of [HOME, DR]) {
            for (const day of ["01", "02", "03"]) seeded.push(ec2.addImage(region, `pilotlight-i-app1-202512${day}000000`, { source: "i-app1", tags: OURS("i-app1"), created: `2025-12-${day}T00:00:00.000Z` }).imageId);
            ec2.addImage(region, "golden-image", { source: "i-app1", tags: [{ Key: SOURCE_TAG, Value: "i-app1" }], created: "2025-01-01T00:00:00.000Z" });
            ec2.addImage(region, "other-job", { source: "i-app1", tags: [{ Key: CREATED_BY_TAG, Value: "someone-else" }, { Key: SOURCE_TAG, Value: "i-app1" }], created: "2025-01-01T00:00:00.000Z" });
        }
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        for (const region of [HOME, DR]) {
            const names = ec2.imagesIn(region).filter((i) => i.source === "i-app1" || ec2.images.get(i.source)?.source === "i-app1").map((i) => i.name).sort();
            assert.strictEqual(names.length, 4, `${region}: ${names}`);
            assert.ok(names.includes("golden-image") && names.includes("other-job") && names.includes("pilotlight-i-app1-20251203000000"), `${region}: ${names}`);
        }
        const order = ec2.mutatingCalls().filter((c) => c.command === "DeregisterImage" || c.command === "DeleteSnapshot").map((c) => c.command);
        assert.deepStrictEqual(order, ["DeregisterImage", "DeleteSnapshot", "DeregisterImage", "DeleteSnapshot", "DeregisterImage", "DeleteSnapshot", "DeregisterImage", "DeleteSnapshot"]);
    });

    it("never deletes a snapshot without the job's tag, and the role may delete only tagged ones", async () => {
        for (const region of [HOME, DR]) {
            for (const day of ["01", "02"]) ec2.addImage(region, `pilotlight-i-app1-202512${day}000000`, { source: "i-app1", tags: OURS("i-app1"), created: `2025-12-${day}T00:00:00.000Z` });
            // An old copy made before copies tagged their snapshots: the image is the job's, its snapshot is not tagged.
            ec2.addImage(region, "pilotlight-i-app1-20251130000000", { source: "i-app1", tags: OURS("i-app1"), snapshotTags: [], created: "2025-11-30T00:00:00.000Z" });
        }
        const untagged = [...ec2.images.values()].filter((i) => i.name === "pilotlight-i-app1-20251130000000").flatMap((i) => i.snapshotIds);
        process.env.KEEP = "1";
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const deleted = ec2.calls.filter((c) => c.command === "DeleteSnapshot").map((c) => c.input.SnapshotId);
        assert.strictEqual(deleted.length, 4, "the tagged snapshots of the two pruned dated images per region");
        for (const snap of untagged) {
            assert.ok(!deleted.includes(snap), `${snap} has no tag and is not deleted`);
            assert.ok(ec2.snapshots.has(snap));
        }
        for (const snap of deleted) assert.ok(!ec2.snapshots.has(snap));
        assert.ok([...ec2.images.values()].filter((i) => i.name === "pilotlight-i-app1-20251130000000").every((i) => i.state === "deregistered"));

        const deletes = STATEMENTS.filter((st) => ([] as string[]).concat(st.Action).includes("ec2:DeleteSnapshot"));
        assert.strictEqual(deletes.length, 1);
        assert.deepStrictEqual(deletes[0].Condition, { StringEquals: { [`aws:ResourceTag/${CREATED_BY_TAG}`]: IMAGE_JOB } });
    });

    it("the fake refuses, like the role, to delete a snapshot without the job's tag", async () => {
        const image = ec2.addImage(HOME, "golden-image", { source: "i-app1", tags: [], created: "2025-01-01T00:00:00.000Z" });
        image.state = "deregistered";
        const { DeleteSnapshotCommand, EC2Client } = await import("@aws-sdk/client-ec2");
        await assert.rejects(new EC2Client({ region: HOME }).send(new DeleteSnapshotCommand({ SnapshotId: image.snapshotIds[0] })), { name: "UnauthorizedOperation" });
        assert.ok(ec2.snapshots.has(image.snapshotIds[0]));
    });

    /** Asserts the run stopped at Plan with a ConcurrentRunError whose cause matches `cause`, before any change. */
    function assertRefused(result: Awaited<ReturnType<typeof run>>, cause: RegExp) {
        assert.strictEqual(result.status, "FAILED");
        assert.deepStrictEqual(result.path, ["Plan", "NotifyFailure", "Failed"]);
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
            const earlier = ec2.addImage(region, "pilotlight-i-app2-20251231000000", { source: "i-app2", tags: OURS("i-app2"), created: "2025-12-31T00:00:00.000Z", state: "pending" });
            const result = await run();
            assertRefused(result, new RegExp(`another image-backup run is in progress on i-app2: its image ${earlier.imageId} \\(pilotlight-i-app2-20251231000000, pending\\) in ${region} is not finished`));
            assert.strictEqual(earlier.state, "pending");
        });
    }

    it("its own execution listed as running, an available earlier image and a pending one of someone else do not block a run; both regions were checked", async () => {
        sfn.addRunning(MACHINE_ARN, "exec-1", {});
        sfn.addRunning(MACHINE_ARN.replace(MACHINE_NAME, "pilotlight-backup"), "snapshots", {});
        for (const region of [HOME, DR]) {
            ec2.addImage(region, "pilotlight-i-app1-20251231000000", { source: "i-app1", tags: OURS("i-app1"), created: "2025-12-31T00:00:00.000Z" });
            ec2.addImage(region, "golden-image", { source: "i-app1", tags: [{ Key: SOURCE_TAG, Value: "i-app1" }], created: "2025-12-31T00:00:00.000Z", state: "pending" });
        }
        const result = await run();
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(result.path.slice(0, 2), ["Plan", "Images"]);
        assert.deepStrictEqual(alerts, []);
        assert.deepStrictEqual(sfn.calls.map((c) => [c.command, c.input.stateMachineArn]), [["ListExecutions", MACHINE_ARN]]);
        const beforeChanges = ec2.calls.slice(0, ec2.calls.findIndex((c) => c.command === "CreateImage"));
        const checked = beforeChanges.filter((c) => c.command === "DescribeImages" && c.input.Filters?.some((f: any) => f.Name === `tag:${CREATED_BY_TAG}`));
        assert.deepStrictEqual(checked.map((c) => `${c.input.Filters.find((f: any) => f.Name === `tag:${SOURCE_TAG}`).Values[0]}@${c.region}`).sort(), [`i-app1@${HOME}`, `i-app1@${DR}`, `i-app2@${HOME}`, `i-app2@${DR}`]);
    });

    it("a pending image with the run's own name is the run's own and does not block", async () => {
        const item = { instanceId: "i-app1", imageName: "pilotlight-i-app1-20260101000000", attempt: 0 };
        const own = ec2.addImage(DR, item.imageName, { source: "i-app1", tags: OURS("i-app1"), created: "2026-01-01T00:00:00.000Z", state: "pending" });
        const { EC2Client } = await import("@aws-sdk/client-ec2");
        const { SFNClient } = await import("@aws-sdk/client-sfn");
        const clients = { ec2: (region: string) => new EC2Client({ region }), sfn: new SFNClient({}) };
        await assertNoImageInProgress(clients, imageSettingsFromEnv(process.env), [item]);
        own.name = "pilotlight-i-app1-20251231000000";
        await assert.rejects(assertNoImageInProgress(clients, imageSettingsFromEnv(process.env), [item]), { name: "ConcurrentRunError" });
    });

    it("the Lambda may list its own machine's executions and nothing else of Step Functions", () => {
        const states = STATEMENTS.filter((st) => ([] as string[]).concat(st.Action).some((a) => a.startsWith("states:")));
        assert.deepStrictEqual(states, [{ Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: [MACHINE_ARN] }]);
    });

    it("has a Retry and a Catch on every Task", () => {
        for (const name of taskStates(definition as any)) {
            const state = (definition.States[name] ?? (definition.States.Images as any).ItemProcessor.States[name]) as any;
            assert.ok(state.Retry?.length && state.Catch?.length, name);
        }
    });

    for (const step of ["plan", "create", "status", "copy", "prune", "report"]) {
        it(`a fault at ${step} deregisters nothing and alerts`, async () => {
            ec2.addImage(HOME, "pilotlight-i-app1-20251201000000", { source: "i-app1", tags: OURS("i-app1"), created: "2025-12-01T00:00:00.000Z" });
            faultStep = step;
            const result = await run();
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].source, "image-backup");
            assert.deepStrictEqual(ec2.mutatingCalls().filter((c) => c.command !== "CreateImage" && c.command !== "CopyImage"), []);
        });
    }

    it("image retention never selects the newest, pending or foreign images", () => {
        const img = (imageId: string, day: number, createdBy: string | undefined, state = "available"): ImageInfo => ({ imageId, name: imageId, state, creationDate: `2026-01-0${day}T00:00:00.000Z`, createdBy, snapshotIds: [] });
        const list = [img("a", 1, IMAGE_JOB), img("b", 2, IMAGE_JOB), img("c", 3, IMAGE_JOB, "pending"), img("d", 4, undefined), img("e", 5, IMAGE_JOB)];
        assert.deepStrictEqual(selectImagesToPrune(list, 1).map((i) => i.imageId), ["b", "a"]);
        assert.deepStrictEqual(selectImagesToPrune(list, 3).map((i) => i.imageId), []);
        assert.throws(() => selectImagesToPrune(list, 0), /keep must be an integer >= 1/);
    });
});
