/**
 * Validation of a restore request, rule by rule: each test fails on a
 * regression the wider validation tests let through (found by mutation testing).
 */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";
import { CLUSTER_ID, INSTANCE_ID, PILOTLIGHT_TAGS, seedCluster, seedInstance } from "./fixtures";
import {
    buildJob,
    formatManagedKinds,
    parseManagedKinds,
    parseRequest,
    requireJob,
    RestoreJob,
    ValidateSettings,
} from "../functions/lib/restoreJob";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:restore";
const SELF_NAME = "self";
const SELF = `arn:aws:states:us-east-1:123456789012:execution:restore:${SELF_NAME}`;
const STARTED = "2026-03-04T05:06:07.000Z";

const SETTINGS: ValidateSettings = {
    managedIdentifiers: [INSTANCE_ID, CLUSTER_ID],
    managedKinds: { [INSTANCE_ID]: "instance", [CLUSTER_ID]: "cluster" },
    exportEnabled: true,
};

function build(request: unknown, settings: ValidateSettings = SETTINGS): Promise<RestoreJob> {
    return buildJob(
        { rds: new RDSClient({ region: "us-east-1" }), sfn: new SFNClient({ region: "us-east-1" }) },
        { request, executionArn: SELF, stateMachineArn: MACHINE, startedAt: STARTED },
        settings,
    );
}

function rejectsWith(p: Promise<unknown>, name: string, message: RegExp): Promise<void> {
    return assert.rejects(p, (err: Error) => {
        assert.strictEqual(err.name, name, err.message);
        assert.match(err.message, message);
        return true;
    });
}

describe("restore job: request parsing", () => {
    it("an unknown field is refused with the fields that are allowed", () => {
        assert.throws(() => parseRequest({ identifier: "wordpress", task: "db_restore", isCluster: false, force: true }), {
            name: "InvalidInputError",
            message: /unknown input field\(s\) force; allowed: identifier, task, isCluster, snapshotIdentifier/,
        });
    });

    it("an empty identifier is refused as empty", () => {
        assert.throws(() => parseRequest({ identifier: "", task: "db_restore", isCluster: false }), {
            name: "InvalidInputError",
            message: /identifier must be a non-empty string; got ""/,
        });
    });

    it("a snapshotIdentifier that is not a string is refused with a clear error, not a crash", () => {
        assert.throws(() => parseRequest({ identifier: "wordpress", task: "db_restore", isCluster: false, snapshotIdentifier: 42 }), {
            name: "InvalidInputError",
            message: /snapshotIdentifier must be a string; got 42/,
        });
    });

    it("a malformed snapshotIdentifier is refused before any call, naming it", () => {
        for (const bad of ["wordpress--x", "wordpress-x-", "wordpress_x"]) {
            assert.throws(() => parseRequest({ identifier: "wordpress", task: "export_snapshot", isCluster: false, snapshotIdentifier: bad }), {
                name: "InvalidInputError",
                message: new RegExp(`snapshotIdentifier '${bad}' must start with a letter`),
            });
        }
    });

    it("identifier and snapshotIdentifier are taken in lower case, as RDS stores them", () => {
        const r = parseRequest({ identifier: "WordPress", task: "db_restore", isCluster: false, snapshotIdentifier: "WordPress-Manual" });
        assert.deepStrictEqual(r, { identifier: "wordpress", task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-manual" });
    });
});

describe("restore job: MANAGED_KINDS", () => {
    it("formats and parses back, spaces around entries allowed", () => {
        const raw = formatManagedKinds([
            { identifier: "wordpress", isCluster: false },
            { identifier: "shop", isCluster: true },
        ]);
        assert.strictEqual(raw, "wordpress=instance,shop=cluster");
        assert.deepStrictEqual(parseManagedKinds(raw), { wordpress: "instance", shop: "cluster" });
        assert.deepStrictEqual(parseManagedKinds(" wordpress=instance , shop=cluster "), { wordpress: "instance", shop: "cluster" });
        assert.deepStrictEqual(parseManagedKinds(undefined), {});
        assert.deepStrictEqual(parseManagedKinds(""), {});
    });

    it("refuses an entry with anything before the identifier or after the kind", () => {
        for (const bad of ["wordpress=instances", "a=b=cluster", "wordpress=instance=cluster", "=cluster"]) {
            assert.throws(() => parseManagedKinds(bad), { message: new RegExp(`MANAGED_KINDS entry '${bad}' is not`) }, bad);
        }
    });
});

describe("restore job: validation against RDS", () => {
    let rds: FakeRds;
    let sfn: FakeSfn;

    beforeEach(() => {
        rds = new FakeRds();
        sfn = new FakeSfn();
        seedInstance(rds);
        seedCluster(rds);
        rds.addSnapshot("wordpress-20260201000000", INSTANCE_ID, { data: "orders-v1", tags: PILOTLIGHT_TAGS, created: "2026-02-01T00:00:00Z" });
        rds.addClusterSnapshot("shop-20260201000000", CLUSTER_ID, { data: "carts-v1", tags: PILOTLIGHT_TAGS, created: "2026-02-01T00:00:00Z" });
    });

    afterEach(() => {
        rds.restore();
        sfn.restore();
    });

    it("an unmanaged database is refused with the list of managed ones, or '(none)'", async () => {
        await rejectsWith(build({ identifier: "payroll", task: "db_restore", isCluster: false }), "InvalidInputError", /managed: wordpress, shop$/);
        await rejectsWith(
            build({ identifier: "payroll", task: "db_restore", isCluster: false }, { managedIdentifiers: [], managedKinds: {}, exportEnabled: true }),
            "InvalidInputError",
            /managed: \(none\)$/,
        );
        assert.deepStrictEqual(rds.calls, []);
    });

    it("exports a snapshot of a database that is not available (an instance, a cluster, a member)", async () => {
        rds.instances.get(INSTANCE_ID)!.status = "stopped";
        const job = await build({ identifier: INSTANCE_ID, task: "export_snapshot", isCluster: false });
        assert.strictEqual(job.snapshotIdentifier, "wordpress-20260201000000");
        rds.clusters.get(CLUSTER_ID)!.status = "stopped";
        rds.instances.get("shop-2")!.status = "stopped";
        const cjob = await build({ identifier: CLUSTER_ID, task: "export_snapshot", isCluster: true });
        assert.strictEqual(cjob.snapshotIdentifier, "shop-20260201000000");
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a cluster that is not available is refused for restores, naming its status", async () => {
        rds.clusters.get(CLUSTER_ID)!.status = "backing-up";
        await rejectsWith(build({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true }), "DatabaseNotReadyError", /Aurora cluster 'shop' is 'backing-up', not available/);
        await rejectsWith(build({ identifier: CLUSTER_ID, task: "create_snapshot_only", isCluster: true }), "DatabaseNotReadyError", /'backing-up'/);
    });

    it("a cluster member with an identifier RDS would not accept is refused", async () => {
        rds.addCluster({ identifier: "cart", members: [{ identifier: "cart-1", writer: true }, { identifier: "cart-a--b", writer: false }] });
        await rejectsWith(
            build({ identifier: "cart", task: "create_snapshot_only", isCluster: true }, { managedIdentifiers: ["cart"], managedKinds: { cart: "cluster" }, exportEnabled: false }),
            "InvalidInputError",
            /member 'cart-a--b' of cluster 'cart': identifier must start with a letter/,
        );
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a given snapshot that is not available is refused, naming its status", async () => {
        rds.addSnapshot("wordpress-manual", INSTANCE_ID, { status: "creating", created: "2026-02-15T00:00:00Z" });
        await rejectsWith(
            build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false, snapshotIdentifier: "wordpress-manual" }),
            "SnapshotMismatchError",
            /snapshot 'wordpress-manual' is 'creating', not available/,
        );
        await rejectsWith(
            build({ identifier: INSTANCE_ID, task: "export_snapshot", isCluster: false, snapshotIdentifier: "wordpress-manual" }),
            "SnapshotMismatchError",
            /'creating'/,
        );
    });

    it("a configured instance that is really a cluster, or a cluster member, is refused with what to do", async () => {
        const asInstance = { managedIdentifiers: [CLUSTER_ID, "shop-1"], managedKinds: { [CLUSTER_ID]: "instance", "shop-1": "instance" } as const, exportEnabled: false };
        await rejectsWith(build({ identifier: CLUSTER_ID, task: "create_snapshot_only", isCluster: false }, asInstance), "InvalidInputError", /'shop' is an Aurora cluster; set "isCluster": true$/);
        await rejectsWith(
            build({ identifier: "shop-1", task: "create_snapshot_only", isCluster: false }, asInstance),
            "InvalidInputError",
            /'shop-1' is a member of Aurora cluster 'shop'; restore the cluster with "isCluster": true/,
        );
        assert.deepStrictEqual(rds.mutatingCalls(), []);
    });

    it("a configured cluster that is really an instance is refused with what to do", async () => {
        const asCluster = { managedIdentifiers: [INSTANCE_ID], managedKinds: { [INSTANCE_ID]: "cluster" } as const, exportEnabled: false };
        await rejectsWith(
            build({ identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: true }, asCluster),
            "InvalidInputError",
            /'wordpress' is a DB instance, not an Aurora cluster; set "isCluster": false$/,
        );
    });

    it("remembers an instance's deletion protection as it is, and that it has no members", async () => {
        const protectedJob = await build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
        assert.strictEqual(protectedJob.original.deletionProtection, true);
        assert.deepStrictEqual(protectedJob.original.members, []);
        assert.deepStrictEqual([protectedJob.restoredMembers, protectedJob.oldMembers], [[], []]);
        rds.instances.get(INSTANCE_ID)!.info.DeletionProtection = false;
        assert.strictEqual((await build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false })).original.deletionProtection, false);
    });

    it("takes the tags from the describe calls: no separate tag read (one call fewer against RDS's throttle)", async () => {
        await build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
        await build({ identifier: CLUSTER_ID, task: "db_restore", isCluster: true });
        assert.deepStrictEqual(rds.callsOf("ListTagsForResource"), []);
    });

    it("its own execution among the running ones is not a concurrent run", async () => {
        sfn.addRunning(MACHINE, SELF_NAME, { identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
        const job = await build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
        assert.strictEqual(job.executionArn, SELF);
    });

    it("another execution whose input is not a request (no string identifier, or not JSON) does not block", async () => {
        sfn.addRunning(MACHINE, "numeric", { identifier: 42, task: "db_restore", isCluster: false });
        sfn.addRunning(MACHINE, "garbage", "{not json");
        sfn.addRunning(MACHINE, "empty", {});
        const job = await build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false });
        assert.strictEqual(job.identifier, INSTANCE_ID);
        // ...while one on the same database still does.
        sfn.addRunning(MACHINE, "same", { identifier: INSTANCE_ID, task: "create_snapshot_only", isCluster: false });
        await rejectsWith(build({ identifier: INSTANCE_ID, task: "db_restore", isCluster: false }), "ConcurrentRunError", /execution 'same'/);
    });
});

describe("restore job: requireJob", () => {
    const job = {
        task: "db_restore",
        identifier: "wordpress",
        isCluster: false,
        names: { old: "wordpress-pl-old-20260304050607" },
        original: { resourceId: "db-1", members: [] },
    };

    it("returns the job of a well-formed event", () => {
        assert.strictEqual(requireJob({ job }), job);
    });

    it("refuses an event without a usable job, quoting what it got", () => {
        const bad: [string, unknown][] = [
            ["no event", undefined],
            ["no job", {}],
            ["identifier not a string", { job: { ...job, identifier: 7 } }],
            ["isCluster not a boolean", { job: { ...job, isCluster: "false" } }],
            ["no names", { job: { ...job, names: undefined } }],
            ["no original", { job: { ...job, original: undefined } }],
        ];
        for (const [label, event] of bad) {
            assert.throws(() => requireJob(event), (err: Error) => {
                assert.strictEqual(err.name, "InvalidInputError", label);
                assert.match(err.message, /^expected \{"job": <output of the validation step>\}, got /, label);
                return true;
            });
        }
        assert.throws(() => requireJob(undefined), { message: /got undefined$/ });
        assert.throws(() => requireJob({ job: { ...job, isCluster: "no" } }), { message: /"isCluster":"no"/ });
    });

    it("quotes at most 300 characters of a large event", () => {
        assert.throws(() => requireJob({ job: { identifier: 1, padding: "x".repeat(5000) } }), (err: Error) => {
            assert.ok(err.message.length < 400, `message of ${err.message.length} characters`);
            return true;
        });
    });
});
