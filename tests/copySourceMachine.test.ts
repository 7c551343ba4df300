import * as assert from "assert";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { snapshotMachineDefinition } from "../components/machines/snapshotMachine";
import { snapshotJobStatements } from "../components/backupSchedule";
import { handler } from "../functions/copy-source";
import { COPY_SOURCE_JOB, CopyMessage } from "../functions/lib/backup";
import { CREATED_BY_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { ACCOUNT, FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { jobMachineHandlers, runMachine } from "./machineHarness";

const HOME = "us-east-1";
const DR = "us-west-2";
const PEER = "222222222222";
const SHARED_KEY = `arn:aws:kms:${HOME}:${ACCOUNT}:key/mrk-shared`;
const DR_KEY = `arn:aws:kms:${DR}:${ACCOUNT}:key/mrk-shared`;
const TOPIC = `arn:aws:sns:${HOME}:${ACCOUNT}:pilotlight-snapshot-copy`;
const JOB_FN = `arn:aws:lambda:${HOME}:${ACCOUNT}:function:pilotlight-copy-source`;
const ALERT_FN = `arn:aws:lambda:${HOME}:${ACCOUNT}:function:pilotlight-alert`;

describe("copy source machine", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;
    let sns: ReturnType<typeof mockClient>;
    let published: { TopicArn?: string; Message?: string }[];
    let alerts: any[];
    let faultStep: string | undefined;

    function env(peer: string) {
        Object.assign(process.env, {
            HOME_REGION: HOME,
            DR_REGION: DR,
            SHARED_KEY_ARN: SHARED_KEY,
            DR_KEY_ARN: DR_KEY,
            KEEP: "2",
            DATABASES: JSON.stringify([{ identifier: "wordpress", isCluster: false }]),
            PEER_ACCOUNT_ID: peer,
            TOPIC_ARN: TOPIC,
        });
    }

    function run(definition: object, input: unknown = {}) {
        return runMachine(definition, input, {
            machineName: "pilotlight-copy-source",
            handlers: jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => faultStep, alert: (e) => alerts.push(e) }),
        });
    }

    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        rds.addInstance({ identifier: "wordpress", data: "posts-v7", info: { KmsKeyId: SHARED_KEY } });
        sns = mockClient(SNSClient);
        published = [];
        sns.on(PublishCommand).callsFake(async (input: { TopicArn?: string; Message?: string }) => {
            published.push(input);
            return { MessageId: `m-${published.length}` };
        });
        alerts = [];
        faultStep = undefined;
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
        sns.restore();
        for (const k of ["HOME_REGION", "DR_REGION", "SHARED_KEY_ARN", "DR_KEY_ARN", "KEEP", "DATABASES", "PEER_ACCOUNT_ID", "TOPIC_ARN"]) delete process.env[k];
    });

    const crossAccount = snapshotMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { kind: "copy-source", maxAttempts: 10 });
    const sameAccount = snapshotMachineDefinition({ job: JOB_FN, alert: ALERT_FN }, { kind: "copy-source", maxAttempts: 10 });

    it("snapshots, copies to the target's region under the replica key, shares it with the peer and announces it", async () => {
        env(PEER);
        const result = await run(crossAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const dr = rds.inRegion(DR);
        const copy = [...dr.snapshots.values()][0];
        assert.match(copy.info.DBSnapshotIdentifier!, /^wordpress-cp-\d{14}$/);
        assert.strictEqual(copy.info.KmsKeyId, DR_KEY);
        assert.deepStrictEqual(copy.restoreAccounts, [PEER]);
        assert.deepStrictEqual(copy.tags, [
            { Key: CREATED_BY_TAG, Value: COPY_SOURCE_JOB },
            { Key: SOURCE_TAG, Value: "wordpress" },
        ]);
        assert.strictEqual(published.length, 1);
        assert.strictEqual(published[0].TopicArn, TOPIC);
        const message = JSON.parse(published[0].Message!) as CopyMessage;
        assert.deepStrictEqual(Object.keys(message).sort(), ["createdAt", "engine", "snapshotArn", "sourceIdentifier"]);
        assert.strictEqual(message.snapshotArn, copy.info.DBSnapshotArn);
        assert.match(message.snapshotArn, /^arn:aws:rds:us-west-2:123456789012:snapshot:wordpress-cp-\d{14}$/);
        assert.strictEqual(message.sourceIdentifier, "wordpress");
        assert.strictEqual(message.engine, "postgres");
        assert.ok(!Number.isNaN(Date.parse(message.createdAt)));
        // Shared only after the copy is available, announced only after sharing.
        const order = rds.mutatingCalls().map((c) => c.command);
        assert.deepStrictEqual(order, ["CreateDBSnapshot", "CopyDBSnapshot", "ModifyDBSnapshotAttribute", "AddTagsToResource"]);
    });

    it("re-encrypts a default-key snapshot under the shared key before sharing", async () => {
        env(PEER);
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        const result = await run(crossAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const copy = [...rds.inRegion(DR).snapshots.values()][0];
        assert.match(copy.info.DBSnapshotIdentifier!, /-sk$/);
        assert.deepStrictEqual(copy.restoreAccounts, [PEER]);
    });

    it("in a same-account setup shares nothing and still announces", async () => {
        env("");
        const result = await run(sameAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(rds.callsOf("ModifyDBSnapshotAttribute"), []);
        assert.strictEqual(published.length, 1);
    });

    const retention: { name: string; keep: number; existing: number }[] = [
        { name: "keeps the newest 2 of 3 + the new one", keep: 2, existing: 3 },
        { name: "keeps everything under the limit", keep: 5, existing: 2 },
        { name: "keep 1 leaves only the new snapshot", keep: 1, existing: 4 },
    ];
    for (const t of retention) {
        it(`retention ${t.name}, in each region, never touching manual, restore-machine, other jobs' or other databases' snapshots`, async () => {
            env(PEER);
            process.env.KEEP = String(t.keep);
            rds.addInstance({ identifier: "billing", data: "invoices", info: { KmsKeyId: SHARED_KEY } });
            const ours = (db: string) => [
                { Key: CREATED_BY_TAG, Value: COPY_SOURCE_JOB },
                { Key: SOURCE_TAG, Value: db },
            ];
            const untouchable = ["wordpress-manual", "wordpress-restore", "wordpress-bk-20250101000000", "billing-cp-20250101000000"];
            for (const fake of [rds, rds.inRegion(DR)]) {
                const kmsKeyId = fake === rds ? SHARED_KEY : DR_KEY;
                for (let i = 1; i <= t.existing; i++) {
                    const day = String(i).padStart(2, "0");
                    fake.addSnapshot(`wordpress-cp-202512${day}000000`, "wordpress", { created: `2025-12-${day}T00:00:00Z`, tags: ours("wordpress"), kmsKeyId });
                }
                // Older than every copy: age alone would make them the first to go.
                fake.addSnapshot("wordpress-manual", "wordpress", { created: "2025-01-01T00:00:00Z", kmsKeyId });
                fake.addSnapshot("wordpress-restore", "wordpress", { created: "2025-01-01T00:00:00Z", tags: [{ Key: CREATED_BY_TAG, Value: "restore-machine" }], kmsKeyId });
                fake.addSnapshot("wordpress-bk-20250101000000", "wordpress", { created: "2025-01-01T00:00:00Z", tags: [{ Key: CREATED_BY_TAG, Value: "backup-schedule" }, { Key: SOURCE_TAG, Value: "wordpress" }], kmsKeyId });
                fake.addSnapshot("billing-cp-20250101000000", "billing", { created: "2025-01-01T00:00:00Z", tags: ours("billing"), kmsKeyId });
            }
            const result = await run(crossAccount);
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            const expected = Array.from({ length: t.existing }, (_, i) => `wordpress-cp-202512${String(i + 1).padStart(2, "0")}000000`).slice(Math.max(0, t.existing - (t.keep - 1)));
            for (const fake of [rds, rds.inRegion(DR)]) {
                const live = [...fake.snapshots.values()].filter((x) => x.status !== "deleting").map((x) => x.info.DBSnapshotIdentifier!);
                const fresh = live.filter((id) => /^wordpress-cp-\d{14}$/.test(id) && !id.startsWith("wordpress-cp-202512"));
                assert.strictEqual(fresh.length, 1, `the new snapshot survives in ${fake.region}`);
                assert.deepStrictEqual(live.filter((id) => id.startsWith("wordpress-cp-202512")).sort(), expected, fake.region);
                for (const kept of untouchable) assert.ok(live.includes(kept), `${kept} in ${fake.region}`);
                const deleted = fake.calls.filter((c) => c.command === "DeleteDBSnapshot" && (c.region ?? HOME) === fake.region).map((c) => c.input.DBSnapshotIdentifier);
                for (const kept of untouchable) assert.ok(!deleted.includes(kept), `${kept} is never deleted in ${fake.region}`);
            }
        });
    }

    for (const step of ["plan", "snapshot", "status", "ensure_shared_key", "copy_to_dr", "share", "publish", "prune", "report"]) {
        it(`a fault at ${step} loses nothing and alerts`, async () => {
            env(PEER);
            faultStep = step;
            const result = await run(crossAccount);
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.strictEqual(alerts[0].source, "copy-source");
            assert.deepStrictEqual(rds.mutatingCalls().filter((c) => c.command.startsWith("Delete")), []);
            assert.strictEqual(rds.instances.get("wordpress")!.status, "available");
            if (["plan", "snapshot", "status", "ensure_shared_key", "copy_to_dr", "share"].includes(step)) assert.strictEqual(published.length, 0, "nothing announced");
        });
    }

    it("the Lambda's policy allows every RDS call the machine made, in the region it made it, and the publish", async () => {
        env(PEER);
        rds.instances.get("wordpress")!.info.KmsKeyId = undefined;
        const result = await run(crossAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        const statements = snapshotJobStatements({ job: COPY_SOURCE_JOB, machineName: "pilotlight-copy-source", accountId: ACCOUNT, homeRegion: HOME, drRegion: DR, databases: [{ identifier: "wordpress", isCluster: false }], sharedKeyArn: SHARED_KEY, drKeyArn: DR_KEY, peerAccountId: PEER, topicArn: TOPIC });
        const allowed = (action: string, region: string) =>
            statements.some((st) => ([] as string[]).concat(st.Action).includes(action) && ([] as string[]).concat(st.Resource as string[]).some((r) => r === "*" || r.includes(`:${region}:`)));
        const used = new Set(rds.calls.map((c) => `rds:${c.command}@${c.region ?? HOME}`));
        assert.ok(used.has(`rds:ModifyDBSnapshotAttribute@${DR}`));
        for (const u of used) {
            const [action, region] = u.split("@");
            assert.ok(allowed(action, region), `${action} in ${region} is not allowed`);
        }
        assert.ok(allowed("sns:Publish", HOME));
        // Sharing is allowed only on snapshots tagged as the copy source's: every snapshot it shared carries that tag.
        const share = statements.find((st) => st.Sid === "ShareDrCopyWithPeer")!;
        const [[key, value]] = Object.entries(share.Condition!.StringEquals) as [string, string][];
        assert.strictEqual(key, `rds:snapshot-tag/${CREATED_BY_TAG}`);
        const shared = rds.callsOf("ModifyDBSnapshotAttribute").map((c) => c.input.DBSnapshotIdentifier as string);
        assert.ok(shared.length > 0);
        for (const id of shared) assert.ok(rds.inRegion(DR).snapshots.get(id)!.tags.some((t) => t.Key === CREATED_BY_TAG && t.Value === value), `${id} carries ${CREATED_BY_TAG}=${value}`);
    });

    for (const [name, input, expect] of [
        ["a string", "wordpress", /the execution input must be a JSON object.*got "wordpress"/],
        ["a list", [], /the execution input must be a JSON object.*got \[\]/],
        ["a number", 1, /got 1/],
        ["a misspelled key", { databse: [] }, /unknown key\(s\) "databse"/],
        ["an unknown field", { databases: [{ identifier: "wordpress", share: false }] }, /databases\[0\] has unknown key\(s\) "share"/],
        ["a duplicate", { databases: [{ identifier: "wordpress" }, { identifier: "wordpress" }] }, /listed twice/],
    ] as [string, unknown, RegExp][]) {
        it(`refuses ${name} as input: nothing is snapshotted, shared, announced or pruned; the alert says why`, async () => {
            env(PEER);
            const result = await run(crossAccount, input);
            assert.strictEqual(result.status, "FAILED");
            assert.strictEqual(alerts.length, 1);
            assert.match(alerts[0].cause, expect);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
            assert.strictEqual(published.length, 0);
        });
    }

    it("a duplicate delivery (an older execution is running) changes nothing, announces nothing, and does not alert", async () => {
        env(PEER);
        sfn.addRunning("arn:aws:states:us-east-1:123456789012:stateMachine:pilotlight-copy-source", "daily", {});
        const result = await run(crossAccount);
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.match(result.output.report.skipped, /execution 'daily' .* is already running copy-source on wordpress/);
        assert.deepStrictEqual([rds.mutatingCalls(), published, alerts], [[], [], []]);
    });

    for (const step of ["snapshot", "copy_to_dr", "share", "publish", "prune"]) {
        it(`a ${step} whose response is lost is retried into one shared copy, without an alert`, async () => {
            env(PEER);
            let lost = false;
            const result = await runMachine(crossAccount, {}, {
                machineName: "pilotlight-copy-source",
                handlers: {
                    ...jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => undefined, alert: (e) => alerts.push(e) }),
                    [JOB_FN]: async (event: any) => {
                        const out = await handler(event);
                        if (event.step === step && !lost) {
                            lost = true;
                            throw Object.assign(new Error("response lost"), { name: "Lambda.Unknown" });
                        }
                        return out;
                    },
                },
            });
            assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
            assert.deepStrictEqual(alerts, []);
            const copies = [...rds.inRegion(DR).snapshots.values()];
            assert.strictEqual(copies.length, 1);
            assert.deepStrictEqual(copies[0].restoreAccounts, [PEER]);
            // A lost publish is published again: the target side treats a redelivery as the same snapshot.
            assert.strictEqual(published.length, step === "publish" ? 2 : 1);
            assert.ok(published.every((p) => p.Message === published[0].Message));
        });
    }

    it("racing twin calls of snapshot and copy end as one copy, shared once, without an alert", async () => {
        env(PEER);
        const result = await runMachine(crossAccount, {}, {
            machineName: "pilotlight-copy-source",
            handlers: {
                ...jobMachineHandlers({ job: JOB_FN, alert: ALERT_FN }, handler, { faultStep: () => undefined, alert: (e) => alerts.push(e) }),
                [JOB_FN]: async (event: any) => {
                    if (!["snapshot", "copy_to_dr", "share"].includes(event.step)) return handler(event);
                    const [a] = await Promise.all([handler(structuredClone(event)), handler(structuredClone(event))]);
                    return a;
                },
            },
        });
        assert.strictEqual(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.deepStrictEqual(alerts, []);
        assert.strictEqual(rds.inRegion(DR).snapshots.size, 1);
        assert.strictEqual(published.length, 1);
    });
});
