// The copy target's rules that decide what is adopted, pointed at and deleted, step by step against
// the fakes: each case is one a plausible regression (found by mutation testing) would get wrong.
import * as assert from "assert";
import {
    DBInstance,
    DBInstanceAlreadyExistsFault,
    DBSnapshotAlreadyExistsFault,
    InvalidDBInstanceStateFault,
    RDSClient,
    Tag,
} from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { COPY_TARGET_JOB, SOURCE_SNAPSHOT_TAG, VERSION_TAG } from "../functions/lib/backup";
import {
    copy,
    CopyJob,
    CopyTargetSettings,
    hold,
    isOwnCopy,
    listCopies,
    password,
    plan,
    point,
    prune,
    restore,
    runTargetStep,
    secretValue,
    sharedSnapshot,
    SOURCE_CREATED_TAG,
    status,
    TargetClients,
} from "../functions/lib/copyTarget";
import { CREATED_BY_TAG, MANAGED_TAG, SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSecrets } from "./fakeSecrets";

const REGION = "us-west-2";
const DR = "222222222222";
const SOURCE = "111111111111";
const DR_KEY = `arn:aws:kms:${REGION}:${DR}:key/dr`;
const SOURCE_KEY = `arn:aws:kms:${REGION}:${SOURCE}:key/mrk-shared`;
const arnOf = (day: string) => `arn:aws:rds:${REGION}:${SOURCE}:snapshot:wordpress-cp-202601${day}000000`;
const ARN = arnOf("02");
const OLD_ARN = arnOf("01");
const at = (day: string) => `2026-01-${day}T00:00:00.000Z`;
const S: CopyTargetSettings = {
    name: "wordpress",
    region: REGION,
    sourceAccountId: SOURCE,
    sourceIdentifier: "wordpress",
    drKeyArn: DR_KEY,
    secretId: "copy",
    holdSecretId: "copy/hold",
    keep: 2,
    instanceClass: "db.t4g.medium",
    subnetGroupName: "db",
    securityGroupIds: ["sg-1"],
    multiAz: false,
    tags: {},
};
const MESSAGE = { task: "copy", snapshotArn: ARN, sourceIdentifier: "wordpress", engine: "postgres", createdAt: "2026-01-02T00:00:00Z" };

/** The tags this machine puts on copy `v` of the shared snapshot `arn`. */
function ours(v: number, arn = ARN, day = "02"): Tag[] {
    return [
        { Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB },
        { Key: VERSION_TAG, Value: String(v) },
        { Key: SOURCE_SNAPSHOT_TAG, Value: arn },
        { Key: SOURCE_CREATED_TAG, Value: at(day) },
    ];
}

const sorted = (tags: Tag[]) => [...tags].sort((a, b) => a.Key!.localeCompare(b.Key!));
const named = (name: string) => (e: Error) => e.name === name;
const throttling = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });

/** A client whose `send` answers by command name: for pages and faults the fakes do not model. */
function scripted<T>(answer: (command: string, input: any) => unknown): T {
    return { send: async (cmd: { constructor: { name: string }; input: unknown }) => answer(cmd.constructor.name.replace(/Command$/, ""), cmd.input) } as unknown as T;
}

describe("copy target: what a regression could slip past", () => {
    it("isOwnCopy: the job's tags on a name that is not <name>-v<N> never make a copy, whatever the version tag says", () => {
        for (const name of ["wordpress", "wordpress-vx", "wordpress-v", "other-v1"]) {
            for (const version of ["undefined", "", "1", "NaN"]) {
                assert.ok(!isOwnCopy("wordpress", name, [{ Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB }, { Key: VERSION_TAG, Value: version }]), `${name} / ${version}`);
            }
        }
    });

    describe("pages and faults (scripted clients)", () => {
        it("listCopies reads every page and keeps only <name>-v<N> instances", async () => {
            let calls = 0;
            const rds = scripted<RDSClient>((command, input) => {
                assert.strictEqual(command, "DescribeDBInstances");
                if (++calls > 3) throw new Error("listCopies keeps asking for the same page");
                if (input.Marker === undefined) return { DBInstances: [{ DBInstanceIdentifier: "wordpress-v1" }, { DBInstanceIdentifier: "billing-v1" }, { DBInstanceIdentifier: "wordpress" }], Marker: "p2" };
                if (input.Marker === "p2") return { DBInstances: [{ DBInstanceIdentifier: "wordpress-v2" }, { DBInstanceIdentifier: "wordpress-v2-final" }], Marker: "p3" };
                return {};
            });
            assert.deepStrictEqual((await listCopies(rds, "wordpress")).map((i) => i.DBInstanceIdentifier), ["wordpress-v1", "wordpress-v2"]);
            assert.strictEqual(calls, 3);
        });

        /** Prune's world: own copies v2 and v3 (the secret points at v3); manual snapshots over two pages, the second with v1's old snapshot. */
        function pruneWorld(deleteError?: () => Error) {
            const deleted: string[] = [];
            let snapshotCalls = 0;
            const rds = scripted<RDSClient>((command, input) => {
                if (command === "DescribeDBInstances") return { DBInstances: [2, 3].map((v) => ({ DBInstanceIdentifier: `wordpress-v${v}`, DBInstanceStatus: "available", TagList: ours(v) })) };
                if (command === "DescribeDBSnapshots") {
                    if (++snapshotCalls > 3) throw new Error("prune keeps asking for the same page");
                    // A page may come without snapshots.
                    if (input.Marker === undefined) return { Marker: "s2" };
                    return { DBSnapshots: [{ DBSnapshotIdentifier: "wordpress-v1", Status: "available", TagList: ours(1) }] };
                }
                if (command === "DeleteDBSnapshot") {
                    if (deleteError) throw deleteError();
                    deleted.push(input.DBSnapshotIdentifier);
                    return {};
                }
                throw new Error(`unexpected ${command}`);
            });
            const secrets = scripted<SecretsManagerClient>((command) => {
                if (command === "DescribeSecret") throw Object.assign(new Error("no hold"), { name: "ResourceNotFoundException" });
                if (command === "GetSecretValue") return { SecretString: JSON.stringify({ identifier: "wordpress-v3" }) };
                throw new Error(`unexpected ${command}`);
            });
            return { c: { rds, secrets }, deleted };
        }
        const job: CopyJob = { task: "copy", identifier: "wordpress-v3", version: 3, attempt: 0 };

        it("prune reads every page of manual snapshots and deletes a long-gone copy's snapshot found on a later page", async () => {
            const w = pruneWorld();
            const out = await prune(w.c, S, job);
            assert.deepStrictEqual(out.pruned, { instances: [], snapshots: ["wordpress-v1"] });
            assert.deepStrictEqual(w.deleted, ["wordpress-v1"]);
        });

        it("prune: a snapshot already gone or being deleted counts as done; any other fault surfaces", async () => {
            for (const name of ["DBSnapshotNotFoundFault", "InvalidDBSnapshotStateFault"]) {
                const out = await prune(pruneWorld(() => Object.assign(new Error(name), { name })).c, S, job);
                assert.deepStrictEqual(out.pruned?.snapshots, ["wordpress-v1"], name);
            }
            await assert.rejects(prune(pruneWorld(throttling).c, S, job), named("ThrottlingException"));
        });

        it("a throttled or failing read never passes for 'absent': hold, secret, shared and own snapshots", async () => {
            const failing = scripted<any>(() => {
                throw throttling();
            });
            const c: TargetClients = { rds: failing, secrets: failing };
            // Taken for "no hold", a throttle would let the machine move the secret during a failover.
            await assert.rejects(hold(c, S), named("ThrottlingException"));
            // Taken for "no secret yet", it would copy older data over what the secret points at.
            await assert.rejects(secretValue(c, S), named("ThrottlingException"));
            await assert.rejects(sharedSnapshot(failing, ARN), named("ThrottlingException"));
            await assert.rejects(status(c, S, { task: "copy", identifier: "wordpress-v2", version: 2, attempt: 0, current: { kind: "snapshot", id: "wordpress-v2" } }), named("ThrottlingException"));
        });

        it("an answer without snapshots or a bare NotFound means absent", async () => {
            const empty = scripted<RDSClient>(() => ({}));
            assert.strictEqual(await sharedSnapshot(empty, ARN), undefined);
            await assert.rejects(status({ rds: empty, secrets: empty as any }, S, { task: "copy", identifier: "wordpress-v2", version: 2, attempt: 0, current: { kind: "snapshot", id: "wordpress-v2" } }), (e: Error) => e.name === "ResourceFailedError" && /snapshot wordpress-v2 disappeared/.test(e.message));
            const notFound = scripted<any>(() => {
                throw Object.assign(new Error("404"), { name: "NotFound" });
            });
            assert.strictEqual(await hold({ rds: notFound, secrets: notFound }, S), undefined);
            assert.strictEqual(await secretValue({ rds: notFound, secrets: notFound }, S), undefined);
            assert.strictEqual(await sharedSnapshot(notFound, ARN), undefined);
        });
    });

    describe("against the fakes", () => {
        let rds: FakeRds;
        let secrets: FakeSecrets;
        const c = (): TargetClients => ({ rds: new RDSClient({ region: REGION }), secrets: new SecretsManagerClient({ region: REGION }) });
        const job = (over: Partial<CopyJob> = {}): CopyJob => ({
            task: "copy",
            identifier: "wordpress-v2",
            version: 2,
            message: { snapshotArn: ARN, sourceIdentifier: "wordpress", engine: "postgres", createdAt: "2026-01-02T00:00:00Z" },
            sourceCreatedAt: at("02"),
            attempt: 0,
            ...over,
        });
        const share = (status = "available") => rds.addSharedSnapshot(ARN, { kmsKeyId: SOURCE_KEY, created: "2026-01-02T00:00:00Z", databaseIdentifier: "wordpress", status });
        const copyInstance = (id: string, st: string, tags: Tag[], info: Partial<DBInstance> = {}) => rds.addInstance({ identifier: id, status: st, tags, info });
        const activePassword = { SecretArn: `arn:aws:secretsmanager:${REGION}:${DR}:secret:rds!db-1`, SecretStatus: "active", KmsKeyId: DR_KEY };
        const pointAt = (value: object) => secrets.versions.get("copy")!.push(JSON.stringify(value));
        const mutating = () => rds.mutatingCalls().map((x) => x.command);

        beforeEach(() => {
            rds = new FakeRds({ region: REGION, account: DR });
            secrets = new FakeSecrets([S.secretId]);
        });
        afterEach(() => {
            rds.restore();
            secrets.restore();
        });

        describe("plan: input and the shared snapshot", () => {
            it("refuses what is not an object, an unknown task or an unknown field, before anything is read", async () => {
                const bad: [unknown, RegExp][] = [
                    [null, /input must be an object/],
                    ["copy", /input must be an object/],
                    [5, /input must be an object/],
                    [[MESSAGE], /input must be an object/],
                    [{ ...MESSAGE, task: "restore" }, /unknown task "restore"/],
                    [{ ...MESSAGE, keep: 1 }, /unknown field\(s\) keep for task copy/],
                    [{ task: "rollback", version: 1, snapshotArn: ARN }, /unknown field\(s\) snapshotArn for task rollback/],
                ];
                for (const [input, expect] of bad) {
                    await assert.rejects(plan(c(), S, input), (e: Error) => e.name === "InvalidInputError" && expect.test(e.message), JSON.stringify(input));
                }
                assert.deepStrictEqual([rds.calls.length, secrets.calls.length], [0, 0]);
            });

            it("a message without a task is a copy", async () => {
                share();
                const { task: _task, ...untasked } = MESSAGE;
                const out = await plan(c(), S, untasked);
                assert.deepStrictEqual([out.task, out.identifier, out.version, out.attempt], ["copy", "wordpress-v1", 1, 0]);
            });

            it("held: a delivery is planned as held without looking at RDS", async () => {
                secrets.create("copy/hold", "failed over");
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual({ ...out, message: undefined }, { task: "copy", identifier: "", version: 0, message: undefined, held: "held by copy/hold: failed over; the secret and every copy stay as they are", attempt: 0 });
                assert.deepStrictEqual(rds.calls, []);
            });

            it("a snapshot not shared with this account, or taken from another instance whatever the message says, is refused", async () => {
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "SnapshotNotFoundError" && /is not visible to this account/.test(e.message));
                rds.addSharedSnapshot(ARN, { kmsKeyId: SOURCE_KEY, created: "2026-01-02T00:00:00Z", databaseIdentifier: "billing" });
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "SnapshotMismatchError" && /was taken from "billing"/.test(e.message));
                assert.deepStrictEqual(mutating(), []);
            });
        });

        describe("plan: newer data only", () => {
            it("equal data time is not newer (skip); strictly newer is copied", async () => {
                share();
                pointAt({ identifier: "wordpress-v1", sourceCreatedAt: at("02") });
                assert.ok((await plan(c(), S, MESSAGE)).skip);
                pointAt({ identifier: "wordpress-v1", sourceCreatedAt: "2026-01-01T23:59:59.999Z" });
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.skip, out.identifier], [undefined, "wordpress-v1"]);
            });

            it("the data time the secret records wins over the pointed copy's tag", async () => {
                share();
                copyInstance("wordpress-v1", "available", ours(1, OLD_ARN, "01"));
                pointAt({ identifier: "wordpress-v1", sourceCreatedAt: at("05") });
                const out = await plan(c(), S, MESSAGE);
                assert.match(out.skip ?? "", /is not newer than wordpress-v1's data \(taken 2026-01-05/);
                assert.strictEqual(out.identifier, "");
            });

            it("a secret without a data time falls back to the tag of the very copy it names", async () => {
                share();
                copyInstance("wordpress-v2", "available", ours(2, OLD_ARN, "01"));
                copyInstance("wordpress-v1", "available", ours(1, OLD_ARN, "05"));
                pointAt({ identifier: "wordpress-v1" });
                const out = await plan(c(), S, MESSAGE);
                assert.match(out.skip ?? "", /not newer than wordpress-v1's data \(taken 2026-01-05/);
            });

            it("with nothing pointed at yet, an existing copy does not stop the first pointing copy", async () => {
                share();
                copyInstance("wordpress-v1", "available", ours(1, OLD_ARN, "01"));
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.skip, out.resumed], ["wordpress-v2", undefined, undefined]);
            });

            it("a shared snapshot still being made, or without a creation time, is refused before any change", async () => {
                share("creating");
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "SnapshotNotFoundError" && / is creating$/.test(e.message));
                rds.sharedWithMe.get(ARN)!.status = "available";
                rds.sharedWithMe.get(ARN)!.info.SnapshotCreateTime = undefined;
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "SnapshotNotFoundError" && /has no creation time yet/.test(e.message));
                assert.deepStrictEqual(mutating(), []);
            });
        });

        describe("plan: never adopts what is not the machine's", () => {
            it("an operator's <name>-vN instance carrying this snapshot's copied tags under another version is not continued, and is not a copy in progress", async () => {
                share();
                // Restored by hand from wordpress-v2's final snapshot, with its tags, as wordpress-v3.
                copyInstance("wordpress-v3", "creating", ours(2));
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.resumed], ["wordpress-v4", undefined]);
            });

            it("an operator's <name>-vN snapshot made with copied tags is not continued", async () => {
                share();
                rds.addSnapshot("wordpress-v3", "wordpress-v2", { tags: ours(2) });
                rds.addSnapshot("wordpress-v5", "wordpress-v2", { tags: [{ Key: SOURCE_SNAPSHOT_TAG, Value: ARN }] });
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.resumed], ["wordpress-v6", undefined]);
            });

            it("a final snapshot of an earlier copy of the same snapshot is not a copy to continue", async () => {
                share();
                rds.addSnapshot("wordpress-v2-final", "wordpress-v2", { tags: ours(2) });
                const out = await plan(c(), S, MESSAGE);
                assert.notStrictEqual(out.resumed, true);
                assert.match(out.identifier, /^wordpress-v\d+$/);
            });
        });

        describe("plan: continues the machine's own copy of this snapshot", () => {
            it("continues its snapshot that has no instance yet (a redelivery after the copy step)", async () => {
                share();
                rds.addSnapshot("wordpress-v3", "wordpress", { tags: ours(3) });
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.version, out.resumed, out.sourceCreatedAt], ["wordpress-v3", 3, true, at("02")]);
            });

            it("... also beside an older copy of another snapshot", async () => {
                share();
                copyInstance("wordpress-v1", "available", ours(1, OLD_ARN, "01"));
                rds.addSnapshot("wordpress-v3", "wordpress", { tags: ours(3) });
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.resumed], ["wordpress-v3", true]);
            });

            it("continues its instance still on its way (a redelivery while restoring)", async () => {
                share();
                copyInstance("wordpress-v2", "creating", ours(2));
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.resumed], ["wordpress-v2", true]);
            });

            it("another snapshot's copy still being made makes this one wait, naming it", async () => {
                share();
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2, OLD_ARN, "01"), status: "creating" });
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "ConcurrentRunError" && /\(snapshot wordpress-v2 is creating\)/.test(e.message));
            });

            it("a failed copy (instance or snapshot) is not continued: the run makes a new version", async () => {
                share();
                copyInstance("wordpress-v2", "failed", ours(2));
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2) });
                rds.addSnapshot("wordpress-v3", "wordpress", { tags: ours(3), status: "failed" });
                const out = await plan(c(), S, MESSAGE);
                assert.deepStrictEqual([out.identifier, out.resumed], ["wordpress-v4", undefined]);
            });

            it("another snapshot's copy still restoring makes this one wait, naming it", async () => {
                share();
                copyInstance("wordpress-v2", "backing-up", ours(2, OLD_ARN, "01"));
                await assert.rejects(plan(c(), S, MESSAGE), (e: Error) => e.name === "ConcurrentRunError" && /instance wordpress-v2 is backing-up/.test(e.message));
            });
        });

        describe("plan: rollback", () => {
            it("a version that is not a whole number >= 1 is refused before anything is read", async () => {
                for (const version of [0, -1, 1.5, "2"]) {
                    await assert.rejects(plan(c(), S, { task: "rollback", version }), (e: Error) => e.name === "InvalidInputError" && /rollback needs "version"/.test(e.message), String(version));
                }
                assert.deepStrictEqual([rds.calls.length, secrets.calls.length], [0, 0]);
            });

            it("points back at the named retained copy of the machine's, never a look-alike; a missing one names what is retained", async () => {
                copyInstance("wordpress-v1", "available", ours(1, OLD_ARN, "01"));
                copyInstance("wordpress-v2", "available", ours(2));
                copyInstance("wordpress-v3", "available", ours(9));
                assert.deepStrictEqual(await plan(c(), S, { task: "rollback", version: 1 }), { task: "rollback", identifier: "wordpress-v1", version: 1, attempt: 0 });
                assert.strictEqual((await plan(c(), S, { task: "rollback", version: 2 })).identifier, "wordpress-v2");
                await assert.rejects(plan(c(), S, { task: "rollback", version: 3 }), (e: Error) => e.name === "DatabaseNotFoundError" && /no retained copy wordpress-v3; retained copies: wordpress-v1, wordpress-v2$/.test(e.message));
                rds.instances.clear();
                await assert.rejects(plan(c(), S, { task: "rollback", version: 1 }), (e: Error) => e.name === "DatabaseNotFoundError" && /retained copies: none$/.test(e.message));
            });

            it("is refused while held, before looking at a copy", async () => {
                copyInstance("wordpress-v1", "available", ours(1));
                secrets.create("copy/hold");
                await assert.rejects(plan(c(), S, { task: "rollback", version: 1 }), (e: Error) => e.name === "UnexpectedStateError" && /^rollback refused: held by copy\/hold/.test(e.message));
                assert.deepStrictEqual(rds.calls, []);
            });

            it("refuses a retained copy that is not available", async () => {
                copyInstance("wordpress-v1", "storage-full", ours(1, OLD_ARN, "01"));
                await assert.rejects(plan(c(), S, { task: "rollback", version: 1 }), (e: Error) => e.name === "DatabaseNotReadyError" && /wordpress-v1 is storage-full/.test(e.message));
            });
        });

        describe("copy and restore take only their own name", () => {
            it("the copy carries the machine's tags but not the managed-database tag; the instance carries both and is not public", async () => {
                share();
                const copied = await copy(c(), S, job());
                assert.deepStrictEqual(copied.current, { kind: "snapshot", id: "wordpress-v2" });
                const expected = [...ours(2), { Key: SOURCE_TAG, Value: "wordpress" }];
                assert.deepStrictEqual(sorted(rds.snapshots.get("wordpress-v2")!.tags), sorted(expected));
                rds.snapshots.get("wordpress-v2")!.status = "available";
                await restore(c(), S, job());
                const input = rds.callsOf("RestoreDBInstanceFromDBSnapshot")[0].input;
                assert.strictEqual(input.PubliclyAccessible, false);
                assert.deepStrictEqual(sorted(rds.instances.get("wordpress-v2")!.tags), sorted([...expected, { Key: MANAGED_TAG, Value: "true" }]));
            });

            it("the configured tags go on the copy and the instance; the instance copies its tags to its snapshots", async () => {
                share();
                const T = { ...S, tags: { team: "web", cost: "dr" } };
                await copy(c(), T, job());
                rds.snapshots.get("wordpress-v2")!.status = "available";
                const restored = await restore(c(), T, job());
                assert.deepStrictEqual([restored.current, restored.status, restored.attempt], [{ kind: "instance", id: "wordpress-v2" }, "creating", 0]);
                for (const tags of [rds.snapshots.get("wordpress-v2")!.tags, rds.instances.get("wordpress-v2")!.tags]) {
                    assert.deepStrictEqual(tags.filter((t) => ["team", "cost"].includes(t.Key!)), [{ Key: "team", Value: "web" }, { Key: "cost", Value: "dr" }]);
                }
                assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot")[0].input.CopyTagsToSnapshot, true);
            });

            it("restore: a twin's restore between look and call is continued when it is this copy", async () => {
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2) });
                rds.failNext("RestoreDBInstanceFromDBSnapshot", () => {
                    copyInstance("wordpress-v2", "creating", ours(2));
                    return new DBInstanceAlreadyExistsFault({ $metadata: {}, message: "DBInstance wordpress-v2 already exists." });
                });
                const out = await restore(c(), S, job());
                assert.deepStrictEqual([out.current, out.status], [{ kind: "instance", id: "wordpress-v2" }, "creating"]);
                assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot").length, 1);
            });

            it("copy: a name taken by an operator's snapshot or another snapshot's copy is refused without copying", async () => {
                share();
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: [] });
                await assert.rejects(copy(c(), S, job()), (e: Error) => e.name === "ConcurrentRunError" && /snapshot wordpress-v2 exists already/.test(e.message));
                rds.snapshots.get("wordpress-v2")!.tags = ours(2, OLD_ARN, "01");
                await assert.rejects(copy(c(), S, job()), named("ConcurrentRunError"));
                assert.strictEqual(rds.callsOf("CopyDBSnapshot").length, 0);
            });

            it("copy: a twin's copy between look and call is continued if it is this copy, refused if not; a vanished twin or any other fault surfaces", async () => {
                share();
                const twin = (tags: Tag[]) => () => {
                    rds.addSnapshot("wordpress-v2", "wordpress", { tags, status: "creating" });
                    return new DBSnapshotAlreadyExistsFault({ $metadata: {}, message: "DBSnapshot wordpress-v2 already exists." });
                };
                rds.failNext("CopyDBSnapshot", twin(ours(2)));
                assert.deepStrictEqual((await copy(c(), S, job())).current, { kind: "snapshot", id: "wordpress-v2" });
                rds.snapshots.delete("wordpress-v2");
                rds.failNext("CopyDBSnapshot", twin(ours(2, OLD_ARN, "01")));
                await assert.rejects(copy(c(), S, job()), named("ConcurrentRunError"));
                rds.snapshots.delete("wordpress-v2");
                rds.failNext("CopyDBSnapshot", () => new DBSnapshotAlreadyExistsFault({ $metadata: {}, message: "DBSnapshot wordpress-v2 already exists." }));
                await assert.rejects(copy(c(), S, job()), named("DBSnapshotAlreadyExistsFault"));
                rds.failNext("CopyDBSnapshot", throttling);
                await assert.rejects(copy(c(), S, job()), named("ThrottlingException"));
                assert.strictEqual(rds.snapshots.has("wordpress-v2"), false);
            });

            it("restore: a name taken by an operator's instance is refused without restoring; a vanished twin or any other fault surfaces", async () => {
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2) });
                copyInstance("wordpress-v2", "available", [{ Key: SOURCE_SNAPSHOT_TAG, Value: ARN }]);
                await assert.rejects(restore(c(), S, job()), (e: Error) => e.name === "ConcurrentRunError" && /instance wordpress-v2 exists already/.test(e.message));
                assert.strictEqual(rds.callsOf("RestoreDBInstanceFromDBSnapshot").length, 0);
                rds.instances.delete("wordpress-v2");
                rds.failNext("RestoreDBInstanceFromDBSnapshot", () => new DBInstanceAlreadyExistsFault({ $metadata: {}, message: "DBInstance wordpress-v2 already exists." }));
                await assert.rejects(restore(c(), S, job()), named("DBInstanceAlreadyExistsFault"));
                rds.failNext("RestoreDBInstanceFromDBSnapshot", throttling);
                await assert.rejects(restore(c(), S, job()), named("ThrottlingException"));
                assert.strictEqual(rds.instances.has("wordpress-v2"), false);
            });
        });

        describe("status and password", () => {
            it("status: a vanished or failed snapshot copy fails the run", async () => {
                const waiting = job({ current: { kind: "snapshot", id: "wordpress-v2" } });
                await assert.rejects(status(c(), S, waiting), (e: Error) => e.name === "ResourceFailedError" && /snapshot wordpress-v2 disappeared/.test(e.message));
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2), status: "failed" });
                await assert.rejects(status(c(), S, waiting), (e: Error) => e.name === "ResourceFailedError" && /snapshot wordpress-v2 is failed/.test(e.message));
            });

            it("status: a snapshot or instance on its way reports its own state; an instance is ready without waiting for its password", async () => {
                rds.addSnapshot("wordpress-v1", "wordpress", { tags: ours(1) });
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: ours(2), status: "creating" });
                rds.stick("snapshot", "wordpress-v2");
                assert.strictEqual((await status(c(), S, job({ current: { kind: "snapshot", id: "wordpress-v2" } }))).status, "creating");
                copyInstance("wordpress-v2", "available", ours(2));
                assert.strictEqual((await status(c(), S, job({ current: { kind: "instance", id: "wordpress-v2" } }))).status, "available");
                rds.instances.get("wordpress-v2")!.status = "incompatible-parameters";
                await assert.rejects(status(c(), S, job({ current: { kind: "instance", id: "wordpress-v2" } })), (e: Error) => e.name === "ResourceFailedError" && /instance wordpress-v2 is incompatible-parameters/.test(e.message));
            });

            it("password: then waits for the managed password of this copy", async () => {
                copyInstance("wordpress-v2", "available", ours(2));
                const out = await password(c(), S, job());
                assert.deepStrictEqual([out.current, out.status, out.attempt], [{ kind: "password", id: "wordpress-v2" }, "modifying", 0]);
            });
        });

        describe("point", () => {
            it("held: changes nothing and says why", async () => {
                copyInstance("wordpress-v2", "available", ours(2), { MasterUserSecret: activePassword });
                secrets.create("copy/hold", "failed over");
                const out = await point(c(), S, job());
                assert.deepStrictEqual([out.held, out.pointed, out.identifier], ["held by copy/hold: failed over; the secret and every copy stay as they are", undefined, "wordpress-v2"]);
                assert.strictEqual(secrets.versions.get("copy")!.length, 0);
            });

            it("a copy of newer data moves the secret off older data", async () => {
                copyInstance("wordpress-v2", "available", ours(2), { MasterUserSecret: activePassword });
                pointAt({ identifier: "wordpress-v1", sourceCreatedAt: at("01") });
                const out = await point(c(), S, job());
                assert.deepStrictEqual([out.skip, secrets.current("copy").identifier, secrets.current("copy").sourceCreatedAt], [undefined, "wordpress-v2", at("02")]);
            });

            it("a copy job without its message is refused as not this copy (no crash), the secret unchanged", async () => {
                copyInstance("wordpress-v2", "available", ours(2), { MasterUserSecret: activePassword });
                await assert.rejects(point(c(), S, job({ message: undefined })), named("ConcurrentRunError"));
                assert.strictEqual(secrets.versions.get("copy")!.length, 0);
            });

            it("never at a copy that is not available or has no endpoint, for a copy or a rollback", async () => {
                const i = copyInstance("wordpress-v2", "modifying", ours(2), { MasterUserSecret: activePassword });
                for (const task of ["copy", "rollback"] as const) {
                    i.status = "modifying";
                    await assert.rejects(point(c(), S, job({ task })), (e: Error) => e.name === "DatabaseNotReadyError" && /wordpress-v2 is modifying/.test(e.message), task);
                    i.status = "available";
                    i.info.Endpoint = undefined;
                    await assert.rejects(point(c(), S, job({ task })), named("DatabaseNotReadyError"), task);
                    i.info.Endpoint = { Address: "wordpress-v2.abc.rds.amazonaws.com", Port: 5432 };
                }
                assert.strictEqual(secrets.versions.get("copy")!.length, 0);
                assert.strictEqual((await point(c(), S, job())).pointed?.host, "wordpress-v2.abc.rds.amazonaws.com");
            });
        });

        describe("prune", () => {
            const three = () => {
                for (const v of [1, 2, 3]) copyInstance(`wordpress-v${v}`, "available", ours(v), { CopyTagsToSnapshot: true });
            };

            it("held: deletes nothing", async () => {
                three();
                secrets.create("copy/hold", "failed over");
                const out = await prune(c(), { ...S, keep: 1 }, job());
                assert.deepStrictEqual([out.held, out.pruned], ["held by copy/hold: failed over; the secret and every copy stay as they are", undefined]);
                assert.deepStrictEqual(mutating(), []);
            });

            it("an old available copy goes with a final snapshot, a dead one without (RDS allows nothing else)", async () => {
                three();
                copyInstance("wordpress-v4", "failed", ours(4));
                pointAt({ identifier: "wordpress-v3" });
                const out = await prune(c(), S, job());
                assert.deepStrictEqual(out.pruned, { instances: ["wordpress-v1", "wordpress-v4"], snapshots: [] });
                assert.deepStrictEqual(
                    rds.callsOf("DeleteDBInstance").map((x) => x.input),
                    [
                        { DBInstanceIdentifier: "wordpress-v1", SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: "wordpress-v1-final" },
                        { DBInstanceIdentifier: "wordpress-v4", SkipFinalSnapshot: true },
                    ],
                );
            });

            it("before the secret has a value it prunes by keep alone", async () => {
                three();
                const out = await prune(c(), S, job());
                assert.deepStrictEqual(out.pruned, { instances: ["wordpress-v1"], snapshots: [] });
            });

            it("keeps the older copy a rollback pointed the secret at, deleting the one between", async () => {
                three();
                pointAt({ identifier: "wordpress-v1" });
                const out = await prune(c(), { ...S, keep: 1 }, job());
                assert.deepStrictEqual(out.pruned, { instances: ["wordpress-v2"], snapshots: [] });
                assert.strictEqual(rds.instances.get("wordpress-v1")!.status, "available");
            });

            it("deletes only the machine's own snapshots of long-gone copies, never an operator's <name>-vN, tagged by copy or not", async () => {
                for (const v of [3, 4]) copyInstance(`wordpress-v${v}`, "available", ours(v));
                pointAt({ identifier: "wordpress-v4" });
                rds.addSnapshot("wordpress-v1", "wordpress", { tags: ours(1) });
                rds.addSnapshot("wordpress-v1-final", "wordpress-v1", { tags: ours(1) });
                rds.addSnapshot("wordpress-v2", "wordpress", { tags: [] });
                rds.addSnapshot("wordpress-v2-final", "wordpress-v2", { tags: ours(1) });
                const out = await prune(c(), S, job());
                assert.deepStrictEqual(out.pruned, { instances: [], snapshots: ["wordpress-v1", "wordpress-v1-final"] });
                assert.deepStrictEqual(rds.callsOf("DeleteDBSnapshot").map((x) => x.input.DBSnapshotIdentifier), ["wordpress-v1", "wordpress-v1-final"]);
            });

            it("a delete refused because a twin is already deleting counts as done; refused in another state, gone meanwhile, or any other fault surfaces", async () => {
                three();
                pointAt({ identifier: "wordpress-v3" });
                const refuse = (then: () => void, name = "InvalidDBInstanceStateFault") => () => {
                    then();
                    return name === "InvalidDBInstanceStateFault" ? new InvalidDBInstanceStateFault({ $metadata: {}, message: "wordpress-v1 is not available." }) : Object.assign(new Error("bad"), { name });
                };
                const v1 = rds.instances.get("wordpress-v1")!;
                rds.failNext("DeleteDBInstance", refuse(() => (v1.status = "modifying")));
                await assert.rejects(prune(c(), S, job()), named("InvalidDBInstanceStateFault"));
                v1.status = "available";
                rds.failNext("DeleteDBInstance", refuse(() => (v1.status = "deleting"), "InvalidParameterCombination"));
                await assert.rejects(prune(c(), S, job()), named("InvalidParameterCombination"));
                v1.status = "available";
                rds.failNext("DeleteDBInstance", refuse(() => rds.instances.delete("wordpress-v1")));
                await assert.rejects(prune(c(), S, job()), named("InvalidDBInstanceStateFault"));
                rds.instances.set("wordpress-v1", v1);
                v1.status = "available";
                rds.failNext("DeleteDBInstance", refuse(() => (v1.status = "deleting")));
                assert.deepStrictEqual((await prune(c(), S, job())).pruned, { instances: ["wordpress-v1"], snapshots: [] });
            });
        });

        it("runTargetStep runs plan with the input and the other steps with the job", async () => {
            share();
            assert.strictEqual((await runTargetStep(c(), S, { step: "plan", input: MESSAGE })).identifier, "wordpress-v1");
            const copied = await runTargetStep(c(), S, { step: "copy", job: job({ identifier: "wordpress-v1", version: 1 }) });
            assert.deepStrictEqual(copied.current, { kind: "snapshot", id: "wordpress-v1" });
        });

        it("runTargetStep refuses a step that is not a string even if it names one, changing nothing", async () => {
            for (const v of [1, 2, 3]) copyInstance(`wordpress-v${v}`, "available", ours(v));
            await assert.rejects(runTargetStep(c(), S, { step: ["prune"], job: job() }), (e: Error) => e.name === "InvalidInputError" && /unknown step \["prune"\]/.test(e.message));
            assert.deepStrictEqual([rds.calls.length, secrets.calls.length], [0, 0]);
        });
    });
});
