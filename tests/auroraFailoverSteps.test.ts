// The recovery's pure decisions and its step handlers, one by one, over the fake RDS.
import * as assert from "assert";
import { InvalidDBClusterStateFault, RDSClient } from "@aws-sdk/client-rds";
import { FakeRds } from "./fakeRds";
import {
    chooseAvailabilityZone,
    classSize,
    clusterIdentifierProblem,
    createReader,
    eventClusterIdentifier,
    failedWriterAzs,
    failoverTarget,
    failoverTo,
    markReader,
    writerBeforeFailover,
    handleDemoted,
    intendedWriterClass,
    readerParameters,
    recoveryInstanceId,
    recoveryInstancePrefix,
    settingsFromEnv,
    templateMember,
    writerFallsShort,
} from "../functions/lib/auroraFailover";
import { WRITER_CLASS_TAG } from "../functions/lib/tags";
import { handler as reader } from "../functions/aurora-reader";
import { handler as switcher } from "../functions/aurora-switch";

const member = (identifier: string, instanceClass: string, az: string, isWriter = false, status = "available") => ({
    identifier,
    instanceClass,
    availabilityZone: az,
    status,
    promotionTier: 1,
    isWriter,
});

describe("aurora failover recovery steps", () => {
    it("compares instance classes by size, never guessing for unknown shapes", () => {
        const rows: [string, string, boolean][] = [
            ["db.r6g.large", "db.r6g.2xlarge", true],
            ["db.r6g.xlarge", "db.r6g.2xlarge", true],
            ["db.r6g.2xlarge", "db.r6g.2xlarge", false],
            ["db.r6g.4xlarge", "db.r6g.2xlarge", false],
            ["db.r7g.2xlarge", "db.r6g.2xlarge", false],
            ["db.r6g.12xlarge", "db.r6g.16xlarge", true],
            ["db.r6g.16xlarge", "db.r6g.12xlarge", false],
            ["db.t4g.medium", "db.r6g.large", true],
            // Serverless v2 scales its own capacity: never short, so never a needless failover.
            ["db.serverless", "db.r6g.2xlarge", false],
            ["db.serverless", "db.r6g.metal", false],
            ["db.r6g.2xlarge", "db.serverless", true],
            ["db.serverless", "db.serverless", false],
            // metal is the whole host: the largest of its family.
            ["db.r6g.metal", "db.r6g.16xlarge", false],
            ["db.r6g.16xlarge", "db.r6g.metal", true],
            ["db.r6g.metal", "db.r6g.metal", false],
            ["db.t4g.nano", "db.t4g.micro", true],
            ["db.t4g.micro", "db.t4g.small", true],
            ["db.t4g.small", "db.t4g.medium", true],
            ["db.t4g.medium", "db.t4g.small", false],
            ["db.r6g.large", "db.t4g.medium", false],
            ["db.r6g.8xlarge", "db.r6g.4xlarge", false],
        ];
        for (const [current, intended, short] of rows) assert.strictEqual(writerFallsShort(current, intended), short, `${current} vs ${intended}`);
        assert.ok(classSize("db.r6g.large")! < classSize("db.r6g.xlarge")! && classSize("db.r6g.xlarge")! < classSize("db.r6g.2xlarge")!);
        assert.strictEqual(classSize("db.r6g.metal"), Number.POSITIVE_INFINITY);
        assert.strictEqual(classSize("db.serverless"), undefined);
        assert.strictEqual(classSize("db.r6g.huge"), undefined);
        assert.strictEqual(classSize("db.r6g.3xlarge"), 5 + Math.log2(3));
    });

    it("takes the intended class from config, else the cluster's tag, else nowhere", () => {
        const tag = [{ Key: WRITER_CLASS_TAG, Value: "db.r6g.4xlarge" }];
        assert.deepStrictEqual(intendedWriterClass("db.r6g.2xlarge", tag), { instanceClass: "db.r6g.2xlarge", source: "config" });
        assert.deepStrictEqual(intendedWriterClass(undefined, tag), { instanceClass: "db.r6g.4xlarge", source: "tag" });
        assert.strictEqual(intendedWriterClass(undefined, [{ Key: WRITER_CLASS_TAG, Value: "big" }]), undefined);
        assert.strictEqual(intendedWriterClass(undefined, []), undefined);
    });

    it("chooses an AZ of the subnet group away from the failed writer, then the least busy", () => {
        const rows: [string[], string[], string[], string][] = [
            [["us-east-1a", "us-east-1b", "us-east-1c"], ["us-east-1a"], ["us-east-1a", "us-east-1b"], "us-east-1c"],
            [["us-east-1a", "us-east-1b", "us-east-1c"], ["us-east-1a"], ["us-east-1a", "us-east-1c", "us-east-1c"], "us-east-1b"],
            [["us-east-1a", "us-east-1b"], ["us-east-1a"], ["us-east-1a", "us-east-1b"], "us-east-1b"],
            [["us-east-1a", "us-east-1b"], [], ["us-east-1a"], "us-east-1b"],
            // Every AZ is one to avoid: still an AZ of the subnet group.
            [["us-east-1a", "us-east-1b"], ["us-east-1a", "us-east-1b"], ["us-east-1b"], "us-east-1a"],
        ];
        for (const [azs, avoid, members, want] of rows) assert.strictEqual(chooseAvailabilityZone(azs, avoid, members), want, JSON.stringify([azs, avoid, members]));
        assert.throws(() => chooseAvailabilityZone([], [], []), /subnet group has no availability zones/);
    });

    it("takes the failed writer's AZ from the record of the failover start, else infers it from the topology", () => {
        const members = [
            member("c-1", "db.r6g.large", "us-east-1b", true),
            member("c-2", "db.r6g.2xlarge", "us-east-1c"),
            member("c-3", "db.r6g.2xlarge", "us-east-1a"),
        ];
        const recorded = { identifier: "c-3", availabilityZone: "us-east-1a", failoverStartedAt: "2026-03-14T09:26:13.882Z" };
        assert.deepStrictEqual(failedWriterAzs(members, "db.r6g.2xlarge", "c-1", recorded), { avoid: ["us-east-1a"], source: "recorded" });
        // The heuristic avoids every non-writer of the intended class: both AZs.
        assert.deepStrictEqual(failedWriterAzs(members, "db.r6g.2xlarge", "c-1", null), { avoid: ["us-east-1c", "us-east-1a"], source: "inferred" });
        // A record naming the current writer is about some other failover: not used.
        assert.strictEqual(failedWriterAzs(members, "db.r6g.2xlarge", "c-3", recorded).source, "inferred");
        assert.strictEqual(failedWriterAzs(members, "db.r6g.2xlarge", "c-1", { identifier: "c-3", availabilityZone: "" }).source, "inferred");
        assert.deepStrictEqual(failedWriterAzs([members[0]], "db.r6g.2xlarge", "c-1", undefined), { avoid: [], source: "unknown" });
    });

    it("reads the failover's target from the event message", () => {
        assert.strictEqual(failoverTarget("Started cross AZ failover to DB instance: orders-aurora-reader-1"), "orders-aurora-reader-1");
        assert.strictEqual(failoverTarget("Started same AZ failover to DB instance: orders-aurora-reader-1"), "orders-aurora-reader-1");
        assert.strictEqual(failoverTarget("Completed failover to DB instance: x-1"), "x-1");
        assert.strictEqual(failoverTarget("A failover started"), undefined);
        assert.strictEqual(failoverTarget(undefined), undefined);
    });

    it("copies settings from an available member of the intended class, else the writer", () => {
        const big = member("c-1", "db.r6g.2xlarge", "a");
        const writer = member("c-2", "db.r6g.large", "b", true);
        assert.strictEqual(templateMember([writer, big], "db.r6g.2xlarge")!.identifier, "c-1");
        assert.strictEqual(templateMember([writer, { ...big, status: "rebooting" }], "db.r6g.2xlarge")!.identifier, "c-2");
        assert.strictEqual(templateMember([{ ...writer, status: "modifying" }], "db.r6g.2xlarge"), undefined);
    });

    it("names recovery readers within 63 characters, under a prefix IAM can scope to", () => {
        assert.strictEqual(recoveryInstanceId("orders-aurora", "2026-03-14T09:26:13.000Z"), "orders-aurora-pl-writer-20260314092613");
        const long = "a".repeat(50) + "-b";
        const id = recoveryInstanceId(long, "2026-03-14T09:26:13Z");
        assert.ok(id.length <= 63 && id.startsWith(recoveryInstancePrefix(long)) && !id.includes("--"), id);
        assert.throws(() => recoveryInstanceId("orders-aurora", "yesterday"), /startedAt 'yesterday' is not an ISO timestamp/);
    });

    it("builds CreateDBInstance parameters: intended class, tier 0, copied settings, own tags, no aws: tags", () => {
        const { params, warnings } = readerParameters({
            identifier: "c-pl-writer-1",
            cluster: { DBClusterIdentifier: "c", Engine: "aurora-mysql" },
            template: {
                DBInstanceIdentifier: "c-1",
                DBInstanceClass: "db.r6g.large",
                DBParameterGroups: [{ DBParameterGroupName: "pg" }],
                MonitoringInterval: 15,
                MonitoringRoleArn: "arn:aws:iam::1:role/old",
                PerformanceInsightsEnabled: false,
                CACertificateIdentifier: "rds-ca-ecc384-g1",
            },
            templateTags: [{ Key: "team", Value: "x" }, { Key: "aws:cloudformation:stack-id", Value: "y" }, { Key: "pilotlight:recovery-status", Value: "completed" }],
            intendedClass: "db.r6g.2xlarge",
            availabilityZone: "us-east-1c",
            monitoringRoleArn: "arn:aws:iam::1:role/rds-monitoring",
        });
        assert.deepStrictEqual(params, {
            DBInstanceIdentifier: "c-pl-writer-1",
            DBClusterIdentifier: "c",
            Engine: "aurora-mysql",
            DBInstanceClass: "db.r6g.2xlarge",
            AvailabilityZone: "us-east-1c",
            PromotionTier: 0,
            DBParameterGroupName: "pg",
            CACertificateIdentifier: "rds-ca-ecc384-g1",
            MonitoringInterval: 15,
            MonitoringRoleArn: "arn:aws:iam::1:role/rds-monitoring",
            Tags: [
                { Key: "team", Value: "x" },
                { Key: "pilotlight:managed", Value: "true" },
                { Key: "pilotlight:created-by", Value: "aurora-failover" },
                { Key: "pilotlight:source", Value: "c" },
                { Key: "pilotlight:recovery-status", Value: "in-progress" },
            ],
        });
        assert.match(warnings.join(), /uses the configured role arn:aws:iam::1:role\/rds-monitoring, not arn:aws:iam::1:role\/old/);
    });

    it("reads the cluster from any form of event source", () => {
        assert.strictEqual(eventClusterIdentifier({ SourceIdentifier: "rds:orders-aurora" }), "orders-aurora");
        assert.strictEqual(eventClusterIdentifier({ SourceIdentifier: "orders-aurora" }), "orders-aurora");
        assert.strictEqual(eventClusterIdentifier({ SourceArn: "arn:aws:rds:us-east-1:1:cluster:orders-aurora", SourceIdentifier: "x" }), "orders-aurora");
        assert.strictEqual(eventClusterIdentifier({}), undefined);
    });

    it("validates identifiers and the Lambdas' environment", () => {
        for (const bad of ["", "1abc", "a--b", "a-", "a_b", "a".repeat(64), 7]) assert.ok(clusterIdentifierProblem(bad), String(bad));
        assert.strictEqual(clusterIdentifierProblem("orders-aurora"), undefined);
        // RDS stores identifiers lowercase: an uppercase one would never match events, ARNs or IAM.
        assert.strictEqual(clusterIdentifierProblem("Orders-Aurora"), "RDS stores cluster identifiers in lowercase, so its events, ARNs and IAM resources say 'orders-aurora': write it that way");
        assert.match(clusterIdentifierProblem("Orders--Aurora")!, /^expected an Aurora cluster identifier: a lowercase letter/);
        assert.throws(() => settingsFromEnv({ CLUSTER_IDENTIFIER: "Orders-Aurora" }), /CLUSTER_IDENTIFIER 'Orders-Aurora' is not an Aurora cluster identifier/);
        assert.throws(() => settingsFromEnv({ CLUSTER_IDENTIFIER: "a--b" }), /CLUSTER_IDENTIFIER 'a--b' is not an Aurora cluster identifier/);
        assert.throws(() => settingsFromEnv({ CLUSTER_IDENTIFIER: "c", WRITER_CLASS: "large" }), /WRITER_CLASS 'large' is not an instance class/);
        assert.deepStrictEqual(settingsFromEnv({ CLUSTER_IDENTIFIER: "c", WRITER_CLASS: "", MONITORING_ROLE_ARN: "" }), { clusterIdentifier: "c", writerClass: undefined, monitoringRoleArn: undefined });
    });

    describe("over the fake RDS", () => {
        let rds: FakeRds;
        const client = () => new RDSClient({ region: "us-east-1" });
        const settings = { clusterIdentifier: "c" };

        beforeEach(() => {
            rds = new FakeRds();
            rds.addSubnetGroup("sg", ["us-east-1a", "us-east-1b"]);
            rds.addCluster({
                identifier: "c",
                info: { DBSubnetGroup: "sg" },
                members: [
                    { identifier: "c-small", writer: true, info: { DBInstanceClass: "db.r6g.large", AvailabilityZone: "us-east-1b" } },
                    { identifier: "c-big", writer: false, info: { DBInstanceClass: "db.r6g.2xlarge", AvailabilityZone: "us-east-1a" } },
                ],
            });
            process.env.CLUSTER_IDENTIFIER = "c";
        });
        afterEach(() => {
            rds.restore();
            delete process.env.CLUSTER_IDENTIFIER;
        });

        it("create is idempotent: a retry finds its reader instead of making a second", async () => {
            const input = { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", startedAt: "2026-03-14T09:26:13Z", currentWriter: "c-small" };
            const first = await createReader(client(), settings, input);
            assert.deepStrictEqual([first.identifier, first.availabilityZone, first.avoidedAvailabilityZones, first.template], ["c-pl-writer-20260314092613", "us-east-1b", ["us-east-1a"], "c-big"]);
            const again = await createReader(client(), settings, input);
            assert.strictEqual(again.identifier, first.identifier);
            assert.match(again.warnings.join(), /already existed/);
            assert.strictEqual(rds.callsOf("CreateDBInstance").length, 1);
        });

        it("create avoids the recorded failed writer's AZ, even when that instance is gone and the AZ is the least busy", async () => {
            rds.addSubnetGroup("sg3", ["us-east-1a", "us-east-1b", "us-east-1c"]);
            rds.clusters.get("c")!.info.DBSubnetGroup = "sg3";
            // The failed big writer (in us-east-1a) is gone; the only big member left is a reader in us-east-1c.
            rds.instances.get("c-big")!.info.AvailabilityZone = "us-east-1c";
            const base = { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", currentWriter: "c-small" };
            // Without a record the heuristic takes c-big for the failed writer and lands in the failed, now empty, AZ.
            const inferred = await createReader(client(), settings, { ...base, startedAt: "2026-03-14T09:26:13Z", failedWriter: null });
            assert.deepStrictEqual([inferred.availabilityZone, inferred.avoidedAvailabilityZones, inferred.failedWriterSource], ["us-east-1a", ["us-east-1c"], "inferred"]);
            // With the record: us-east-1a (empty again, the least busy) is avoided.
            rds.instances.get(inferred.identifier)!.info.AvailabilityZone = "us-east-1c";
            const recorded = await createReader(client(), settings, {
                ...base,
                startedAt: "2026-03-14T10:26:13Z",
                failedWriter: { identifier: "c-old", availabilityZone: "us-east-1a", failoverStartedAt: "2026-03-14T10:20:00Z" },
            });
            assert.deepStrictEqual([recorded.availabilityZone, recorded.avoidedAvailabilityZones, recorded.failedWriterSource], ["us-east-1b", ["us-east-1a"], "recorded"]);
        });

        it("the failed writer is the writer when a failover starts, unless the failover already finished", async () => {
            assert.deepStrictEqual(await writerBeforeFailover(client(), "c", "Started cross AZ failover to DB instance: c-big"), { identifier: "c-small", availabilityZone: "us-east-1b" });
            assert.strictEqual(await writerBeforeFailover(client(), "c", "Started cross AZ failover to DB instance: c-small"), undefined, "already switched");
            assert.strictEqual(await writerBeforeFailover(client(), "c", "failover started"), undefined, "no target in the message");
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        it("mark names the reader by the claim's start, keeps tags truthful, and tags nothing that was never created", async () => {
            const startedAt = "2026-03-14T09:26:13Z";
            const created = await createReader(client(), settings, { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", startedAt, currentWriter: "c-small" });
            const tag = () => rds.instances.get(created.identifier)!.tags.find((t) => t.Key === "pilotlight:recovery-status")?.Value;
            assert.strictEqual(tag(), "in-progress");
            assert.deepStrictEqual(await markReader(client(), settings, { clusterIdentifier: "c", startedAt, status: "abandoned" }), { readerIdentifier: created.identifier, status: "abandoned" });
            assert.strictEqual(tag(), "abandoned");
            // Asked to say failover-failed about a reader that is the writer: it says completed.
            rds.simulateFailover("c", created.identifier);
            const marked = await markReader(client(), settings, { clusterIdentifier: "c", readerIdentifier: created.identifier, status: "failover-failed" });
            assert.deepStrictEqual([marked.status, tag()], ["completed", "completed"]);
            const none = await markReader(client(), settings, { clusterIdentifier: "c", startedAt: "2026-03-15T00:00:00Z", status: "abandoned" });
            assert.deepStrictEqual([none.readerIdentifier, none.status], ["c-pl-writer-20260315000000", "not-found"]);
            await assert.rejects(markReader(client(), settings, { clusterIdentifier: "c", startedAt: "2026-03-15T00:00:00Z", status: "completed" }), /does not exist/);
        });

        it("refuses to adopt an instance of the recovery name that is not its own", async () => {
            rds.addInstance({ identifier: "c-pl-writer-20260314092613", info: { DBClusterIdentifier: "c" } });
            await assert.rejects(
                createReader(client(), settings, { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", startedAt: "2026-03-14T09:26:13Z" }),
                /exists but is not a recovery reader of 'c'/,
            );
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        it("failover: a call that races another failover (InvalidDBClusterStateFault) waits for it; any other refusal fails", async () => {
            const reader = await createReader(client(), settings, { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", startedAt: "2026-03-14T09:26:13Z", currentWriter: "c-small" });
            rds.instances.get(reader.identifier)!.status = "available";
            rds.instances.get(reader.identifier)!.timeline = [];
            const cluster = rds.clusters.get("c")!;
            // The cluster turns failing-over between our read and our call.
            rds.failNext("FailoverDBCluster", () => {
                cluster.status = "failing-over";
                return new InvalidDBClusterStateFault({ $metadata: {}, message: "DBCluster c is failing-over." });
            });
            assert.deepStrictEqual(await failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: reader.identifier }), { target: reader.identifier, clusterStatus: "failing-over", requested: false });
            // Still failing over: a retry does not call again.
            const calls = rds.callsOf("FailoverDBCluster").length;
            assert.strictEqual((await failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: reader.identifier })).requested, false);
            assert.strictEqual(rds.callsOf("FailoverDBCluster").length, calls);
            // Available again with the reader not the writer: a refusal is a real failure.
            cluster.status = "available";
            rds.failNext("FailoverDBCluster", () => new InvalidDBClusterStateFault({ $metadata: {}, message: "DBCluster c is upgrading." }));
            await assert.rejects(failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: reader.identifier }), { name: "InvalidDBClusterStateFault" });
            rds.failNext("FailoverDBCluster", () => Object.assign(new Error("no"), { name: "InvalidParameterValue" }));
            await assert.rejects(failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: reader.identifier }), { name: "InvalidParameterValue" });
            // A reader that is not available is refused before any call.
            rds.instances.get(reader.identifier)!.status = "modifying";
            const before = rds.callsOf("FailoverDBCluster").length;
            await assert.rejects(failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: reader.identifier }), /is modifying, not available/);
            assert.strictEqual(rds.callsOf("FailoverDBCluster").length, before);
            await assert.rejects(failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: "c-pl-writer-20990101000000" }), /is missing, not available/);
        });

        it("the demoted step reports a resize or delete already under way as done, and keeps a smaller reader at the last tier", async () => {
            const run = (action: string) => handleDemoted(client(), settings, { clusterIdentifier: "c", demotedIdentifier: "c-small", intendedClass: "db.r6g.2xlarge", action });
            rds.simulateFailover("c", "c-big");
            assert.deepStrictEqual(await run("keep"), { demotedIdentifier: "c-small", action: "keep", done: true, detail: "kept c-small (db.r6g.large) at promotion tier 15, so a later failover picks it last" });
            assert.strictEqual(rds.instances.get("c-small")!.info.PromotionTier, 15);
            assert.match((await run("keep")).detail, /at promotion tier 15 already/);
            Object.assign(rds.instances.get("c-small")!, { status: "modifying", timeline: [] });
            rds.instances.get("c-small")!.info.DBInstanceClass = "db.r6g.2xlarge";
            assert.deepStrictEqual(await run("resize"), { demotedIdentifier: "c-small", action: "resize", done: true, detail: "c-small is being resized to db.r6g.2xlarge" });
            rds.instances.get("c-small")!.status = "available";
            assert.match((await run("resize")).detail, /c-small is resized to db.r6g.2xlarge/);
            rds.instances.get("c-small")!.status = "deleting";
            assert.deepStrictEqual(await run("delete"), { demotedIdentifier: "c-small", action: "delete", done: true, detail: "c-small is being deleted" });
            rds.instances.delete("c-small");
            const gone = await run("delete");
            assert.deepStrictEqual([gone.done, gone.detail], [true, "c-small is deleted"]);
            assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["ModifyDBInstance"]);
        });

        it("the demoted step touches only a smaller non-writer member named after the cluster", async () => {
            const run = (demotedIdentifier: string, action = "delete") => handleDemoted(client(), settings, { clusterIdentifier: "c", demotedIdentifier, intendedClass: "db.r6g.2xlarge", action });
            assert.match((await run("c-big")).detail, /not smaller than db.r6g.2xlarge/);
            assert.match((await run("c-small")).detail, /it is the writer again/);
            assert.match((await run("other-db")).detail, /only instances named c-\.\.\. may be changed/);
            await assert.rejects(run("c-small", "shrink"), /action "shrink" is not one of "keep", "delete", "resize"/);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });

        it("reader and switch handlers reject unknown operations and foreign readers before any call", async () => {
            await assert.rejects(reader({ op: "explode", clusterIdentifier: "c" }), (e: Error) => e.name === "InvalidInputError" && /op "explode" is not one of "create", "check", "discard", "mark"/.test(e.message));
            await assert.rejects(switcher({ op: "failover", clusterIdentifier: "c", readerIdentifier: "c-big" }), /"c-big" is not a recovery reader of 'c' \(expected c-pl-writer-<timestamp>\)/);
            await assert.rejects(reader({ op: "mark", clusterIdentifier: "c", readerIdentifier: "c-pl-writer-1", status: "done" }), /status "done" is not one of in-progress, completed, failover-failed, abandoned/);
            await assert.rejects(switcher({ op: "check", clusterIdentifier: "d" }), /"d" is not the cluster this recovery manages \('c'\)/);
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    });
});
