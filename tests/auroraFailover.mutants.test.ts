// The Aurora recovery's decisions and steps at their edges, over the fake RDS: what each step
// deletes, discards, replaces or leaves alone, and the class comparisons that decide whether
// a writer is replaced at all.
import * as assert from "assert";
import { DBClusterNotFoundFault, DBInstanceNotFoundFault, InvalidDBInstanceStateFault, RDSClient } from "@aws-sdk/client-rds";
import { FakeRds, throttling } from "./fakeRds";
import {
    assessCluster,
    classSize,
    clusterIdentifierProblem,
    createReader,
    discardReader,
    eventClusterIdentifier,
    failedWriterAzs,
    failoverTarget,
    failoverTo,
    handleDemoted,
    intendedWriterClass,
    isInstanceClass,
    markReader,
    MemberView,
    readerParameters,
    readerStatus,
    recoveryInstancePrefix,
    RECOVERY_CREATED_BY,
    templateMember,
    writerBeforeFailover,
    writerFallsShort,
    writerStatus,
} from "../functions/lib/auroraFailover";
import { CREATED_BY_TAG, WRITER_CLASS_TAG } from "../functions/lib/tags";

const meta = { $metadata: {} };
const instanceNotFound = () => new DBInstanceNotFoundFault({ ...meta, message: "DBInstance not found." });
const clusterNotFound = () => new DBClusterNotFoundFault({ ...meta, message: "DBCluster not found." });

const view = (identifier: string, instanceClass: string, availabilityZone: string, isWriter = false, status = "available"): MemberView => ({
    identifier,
    instanceClass,
    availabilityZone,
    status,
    promotionTier: 1,
    isWriter,
});

describe("aurora failover recovery: edges a regression must not slip past", () => {
    describe("pure decisions", () => {
        it("small classes compare by size: a larger writer is never replaced by a smaller one", () => {
            assert.strictEqual(classSize("db.t4g.nano"), 0);
            assert.strictEqual(writerFallsShort("db.t4g.micro", "db.t4g.nano"), false);
            assert.strictEqual(writerFallsShort("db.t4g.small", "db.t4g.nano"), false);
            assert.strictEqual(writerFallsShort("db.t4g.nano", "db.t4g.small"), true);
            // The same class is never short, even when its size cannot be read.
            assert.strictEqual(writerFallsShort("db.r6g.huge", "db.r6g.huge"), false);
            // An unreadable current class against a readable intended one counts as short.
            assert.strictEqual(writerFallsShort("db.r6g.huge", "db.r6g.large"), true);
            assert.strictEqual(writerFallsShort("db.r6g.large", "db.r6g.huge"), true);
        });

        it("reads a size only from a whole class name", () => {
            for (const odd of ["mydb.r6g.large", "db.r6g.large.extra", "db.r6g.ab2xlarge", "db.r6g.2xlargeb"]) assert.strictEqual(classSize(odd), undefined, odd);
            assert.strictEqual(classSize("db.r6g.8xlarge"), classSize("db.r6g.xlarge")! + 3);
        });

        it("accepts only strings as identifiers and classes", () => {
            assert.ok(clusterIdentifierProblem(["orders"]), "a list is not an identifier");
            assert.strictEqual(isInstanceClass(["db.r6g.large"]), false);
            assert.strictEqual(isInstanceClass("db.r6g.large"), true);
            // The recovery prefix never carries a double hyphen out of a truncated name.
            assert.strictEqual(recoveryInstancePrefix(`${"a".repeat(36)}--b`), `${"a".repeat(36)}-pl-writer-`);
        });

        it("takes the intended class from the writer-class tag only", () => {
            const tags = [{ Key: "team", Value: "db.r6g.large" }, { Key: WRITER_CLASS_TAG, Value: "db.r6g.4xlarge" }];
            assert.deepStrictEqual(intendedWriterClass(undefined, tags), { instanceClass: "db.r6g.4xlarge", source: "tag" });
            assert.strictEqual(intendedWriterClass(undefined, [{ Key: "team", Value: "db.r6g.large" }]), undefined);
        });

        it("copies settings from a reader of the intended class, else the writer, else any available member", () => {
            const writer = view("c-1", "db.r6g.large", "a", true);
            const other = view("c-2", "db.r5.large", "b");
            const big = view("c-3", "db.r6g.2xlarge", "c");
            assert.strictEqual(templateMember([writer, other, big], "db.r6g.2xlarge")!.identifier, "c-3");
            assert.strictEqual(templateMember([{ ...writer, instanceClass: "db.r6g.2xlarge" }, big], "db.r6g.2xlarge")!.identifier, "c-3");
            assert.strictEqual(templateMember([other, writer], "db.r6g.2xlarge")!.identifier, "c-1");
            assert.strictEqual(templateMember([other, { ...writer, status: "rebooting" }], "db.r6g.2xlarge")!.identifier, "c-2");
        });

        it("infers the failed writer only from readers of the intended class other than the current writer", () => {
            const small = view("c-1", "db.r6g.large", "a", true);
            const smallReader = view("c-2", "db.r6g.large", "b");
            const big = view("c-3", "db.r6g.2xlarge", "c");
            assert.deepStrictEqual(failedWriterAzs([small, smallReader, big], "db.r6g.2xlarge", "c-1", null), { avoid: ["c"], source: "inferred" });
            // A writer of the intended class is not the failed one.
            assert.deepStrictEqual(failedWriterAzs([{ ...big, isWriter: true }, smallReader], "db.r6g.2xlarge", undefined, null), { avoid: [], source: "unknown" });
            // Nor the member the guard saw as the writer, even when this view lists it as a reader.
            assert.deepStrictEqual(failedWriterAzs([small, big], "db.r6g.2xlarge", "c-3", null), { avoid: [], source: "unknown" });
            // A record without an identifier, or whose AZ is not a string, is not used.
            assert.strictEqual(failedWriterAzs([small, big], "db.r6g.2xlarge", "c-1", { availabilityZone: "x" }).source, "inferred");
            assert.strictEqual(failedWriterAzs([small, big], "db.r6g.2xlarge", "c-1", { identifier: "c-9", availabilityZone: 5 }).source, "inferred");
        });

        it("reads a failover target only from a message string", () => {
            assert.strictEqual(failoverTarget(["Started cross AZ failover to DB instance: c-1"]), undefined);
            assert.strictEqual(failoverTarget("Completed failover to DB instance:c-1"), "c-1");
        });

        it("reads an event's cluster from a cluster ARN, else its source identifier", () => {
            assert.strictEqual(eventClusterIdentifier(undefined), undefined);
            assert.strictEqual(eventClusterIdentifier({ SourceIdentifier: "" }), undefined);
            assert.strictEqual(eventClusterIdentifier({ SourceArn: ["arn:aws:rds:us-east-1:1:cluster:x"], SourceIdentifier: "rds:y" }), "y");
            assert.strictEqual(eventClusterIdentifier({ SourceArn: "arn:aws:rds:us-east-1:1:db:x", SourceIdentifier: "rds:c" }), "c");
            assert.strictEqual(eventClusterIdentifier({ SourceArn: "arn:aws:rds:us-east-1:1:cluster:x:extra", SourceIdentifier: "c" }), "c");
        });

        it("builds reader parameters: Performance Insights with its key, monitoring only with the configured role", () => {
            const base = {
                identifier: "c-pl-writer-1",
                cluster: { DBClusterIdentifier: "c", Engine: "aurora-postgresql" },
                templateTags: [],
                intendedClass: "db.r6g.2xlarge",
                availabilityZone: "us-east-1a",
            };
            const pi = readerParameters({
                ...base,
                template: { DBInstanceIdentifier: "c-1", PerformanceInsightsEnabled: true, PerformanceInsightsKMSKeyId: "arn:aws:kms:us-east-1:1:key/k", PerformanceInsightsRetentionPeriod: 7 },
            });
            assert.deepStrictEqual(
                [pi.params.EnablePerformanceInsights, pi.params.PerformanceInsightsKMSKeyId, pi.params.PerformanceInsightsRetentionPeriod, pi.params.DBParameterGroupName, pi.warnings],
                [true, "arn:aws:kms:us-east-1:1:key/k", 7, undefined, []],
            );
            assert.ok(!("DBParameterGroupName" in pi.params));
            assert.strictEqual(readerParameters({ ...base, template: { DBInstanceIdentifier: "c-1", DBParameterGroups: [] } }).params.DBParameterGroupName, undefined);
            // Monitoring off on the template: none on the reader, even with a role configured.
            const off = readerParameters({ ...base, template: { DBInstanceIdentifier: "c-1", MonitoringInterval: 0 }, monitoringRoleArn: "arn:aws:iam::1:role/m" });
            assert.deepStrictEqual([off.params.MonitoringInterval, off.params.MonitoringRoleArn, off.warnings], [undefined, undefined, []]);
            // Monitoring on without a configured role: left off, and said so.
            const noRole = readerParameters({ ...base, template: { DBInstanceIdentifier: "c-1", MonitoringInterval: 60, MonitoringRoleArn: "arn:aws:iam::1:role/old" } });
            assert.deepStrictEqual([noRole.params.MonitoringInterval, noRole.params.MonitoringRoleArn], [undefined, undefined]);
            assert.match(noRole.warnings.join(), /enhanced monitoring left off: c-1 uses it, but no monitoringRoleArn is configured/);
            // The same role, or a template without one: no warning.
            for (const MonitoringRoleArn of ["arn:aws:iam::1:role/m", undefined]) {
                const same = readerParameters({ ...base, template: { DBInstanceIdentifier: "c-1", MonitoringInterval: 60, MonitoringRoleArn }, monitoringRoleArn: "arn:aws:iam::1:role/m" });
                assert.deepStrictEqual([same.params.MonitoringInterval, same.params.MonitoringRoleArn, same.warnings], [60, "arn:aws:iam::1:role/m", []]);
            }
        });
    });

    describe("over the fake RDS", () => {
        let rds: FakeRds;
        const client = () => new RDSClient({ region: "us-east-1" });
        const settings = { clusterIdentifier: "c" };
        const READER = "c-pl-writer-20260314092613";
        const STARTED = "2026-03-14T09:26:13Z";
        const ours = [{ Key: CREATED_BY_TAG, Value: RECOVERY_CREATED_BY }];
        const statusTag = (id: string) => rds.instances.get(id)!.tags.find((t) => t.Key === "pilotlight:recovery-status")?.Value;
        /** A recovery reader of cluster `c` (or `cluster`), available, with `tags`. */
        const addReader = (tags = ours, cluster = "c", identifier = READER) =>
            rds.addInstance({ identifier, tags, info: { DBClusterIdentifier: cluster, DBInstanceClass: "db.r6g.2xlarge", AvailabilityZone: "us-east-1b" } });

        beforeEach(() => {
            rds = new FakeRds();
            rds.addSubnetGroup("sg", ["us-east-1a", "us-east-1b"]);
            rds.addCluster({
                identifier: "c",
                info: { DBSubnetGroup: "sg" },
                members: [
                    { identifier: "c-small", writer: true, info: { DBInstanceClass: "db.r6g.large", AvailabilityZone: "us-east-1b" } },
                    { identifier: "c-big", writer: false, info: { DBInstanceClass: "db.r6g.2xlarge", AvailabilityZone: "us-east-1a", PromotionTier: 15 } },
                ],
            });
        });
        afterEach(() => rds.restore());

        describe("assess", () => {
            const assess = (input: { clusterIdentifier?: unknown } = { clusterIdentifier: "c" }, s: { clusterIdentifier: string; writerClass?: string } = { ...settings, writerClass: "db.r6g.2xlarge" }) =>
                assessCluster(client(), s, input);

            it("decides recover when the writer is smaller than intended, and reports every member", async () => {
                assert.deepStrictEqual(await assess(), {
                    action: "recover",
                    clusterIdentifier: "c",
                    clusterStatus: "available",
                    intendedClass: "db.r6g.2xlarge",
                    intendedClassSource: "config",
                    writer: { identifier: "c-small", instanceClass: "db.r6g.large", availabilityZone: "us-east-1b", status: "available", promotionTier: 1, isWriter: true },
                    members: [
                        { identifier: "c-small", instanceClass: "db.r6g.large", availabilityZone: "us-east-1b", status: "available", promotionTier: 1, isWriter: true },
                        { identifier: "c-big", instanceClass: "db.r6g.2xlarge", availabilityZone: "us-east-1a", status: "available", promotionTier: 15, isWriter: false },
                    ],
                    reason: "writer c-small is db.r6g.large, smaller than the intended db.r6g.2xlarge",
                });
                // The cluster's description carries its tags: no extra call for them.
                assert.strictEqual(rds.callsOf("ListTagsForResource").length, 0);
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("decides none when the writer is at least the intended class, from the tag when config says nothing", async () => {
                rds.clusters.get("c")!.tags = [{ Key: WRITER_CLASS_TAG, Value: "db.r6g.large" }];
                const a = await assess({ clusterIdentifier: "c" }, settings);
                assert.deepStrictEqual([a.action, a.intendedClass, a.intendedClassSource, a.writer?.identifier, a.reason], ["none", "db.r6g.large", "tag", "c-small", "writer c-small is db.r6g.large; intended db.r6g.large"]);
            });

            it("waits while the cluster, its writer count or its writer is not settled", async () => {
                rds.clusters.get("c")!.status = "failing-over";
                rds.stick("cluster", "c");
                const busy = await assess();
                assert.deepStrictEqual([busy.action, busy.reason, busy.clusterStatus, busy.writer], ["wait", "cluster is failing-over", "failing-over", undefined]);
                rds.stick("cluster", "c", "available");
                rds.instances.get("c-small")!.writer = false;
                const none = await assess();
                assert.deepStrictEqual([none.action, none.reason, none.writer, none.members.length], ["wait", "cluster has 0 writers", undefined, 2]);
                rds.instances.get("c-small")!.writer = true;
                rds.stick("instance", "c-small", "rebooting");
                const rebooting = await assess();
                assert.deepStrictEqual([rebooting.action, rebooting.reason, rebooting.writer?.identifier], ["wait", "writer c-small is rebooting", "c-small"]);
            });

            it("refuses a global database's secondary (no writer) but recovers its primary", async () => {
                rds.clusters.get("c")!.info.GlobalClusterIdentifier = "g";
                assert.strictEqual((await assess()).action, "recover");
                rds.instances.get("c-small")!.writer = false;
                await assert.rejects(assess(), (e: Error) => e.name === "InvalidInputError" && /secondary cluster of global database 'g'/.test(e.message));
                rds.stick("cluster", "c", "modifying");
                assert.strictEqual((await assess()).action, "wait");
            });

            it("fails clearly without the cluster, without an intended class, or for another cluster", async () => {
                await assert.rejects(assess({ clusterIdentifier: "d" }), (e: Error) => e.name === "InvalidInputError" && /"d" is not the cluster this recovery manages/.test(e.message));
                await assert.rejects(assess({ clusterIdentifier: "c" }, settings), (e: Error) => e.name === "InvalidInputError" && /has no intended writer class/.test(e.message));
                rds.clusters.delete("c");
                await assert.rejects(assess(), (e: Error) => e.name === "DatabaseNotFoundError" && /Aurora cluster 'c' does not exist/.test(e.message));
            });
        });

        describe("create", () => {
            const create = (extra: Record<string, unknown> = {}) =>
                createReader(client(), settings, { clusterIdentifier: "c", intendedClass: "db.r6g.2xlarge", startedAt: STARTED, currentWriter: "c-small", ...extra });

            it("refuses a bad class or start time, or a missing cluster, before any change", async () => {
                await assert.rejects(create({ intendedClass: "big" }), (e: Error) => e.name === "InvalidInputError" && /intendedClass "big"/.test(e.message));
                await assert.rejects(create({ startedAt: 12345 }), (e: Error) => e.name === "InvalidInputError" && /startedAt 12345 is not an ISO timestamp/.test(e.message));
                await assert.rejects(
                    createReader(client(), { clusterIdentifier: "gone" }, { clusterIdentifier: "gone", intendedClass: "db.r6g.2xlarge", startedAt: STARTED }),
                    (e: Error) => e.name === "DatabaseNotFoundError",
                );
                for (const id of ["c-small", "c-big"]) rds.stick("instance", id, "rebooting");
                await assert.rejects(create(), (e: Error) => e.name === "DatabaseNotReadyError" && /no available member/.test(e.message));
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("never adopts an instance of its name from another cluster or made by someone else", async () => {
                for (const [tags, cluster] of [
                    [ours, "d"],
                    [[{ Key: CREATED_BY_TAG, Value: "operator" }], "c"],
                    [[{ Key: "team", Value: RECOVERY_CREATED_BY }], "c"],
                ] as const) {
                    rds.instances.delete(READER);
                    addReader([...tags], cluster);
                    await assert.rejects(create(), /exists but is not a recovery reader of 'c'/, JSON.stringify(tags));
                }
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("a retry reports the reader as it is", async () => {
                const first = await create();
                Object.assign(rds.instances.get(first.identifier)!.info, { DBInstanceClass: "db.r6g.4xlarge" });
                assert.deepStrictEqual(await create(), {
                    identifier: READER,
                    instanceClass: "db.r6g.4xlarge",
                    availabilityZone: first.availabilityZone,
                    avoidedAvailabilityZones: [],
                    failedWriterSource: "unknown",
                    template: "",
                    warnings: ["the reader already existed (a retried create); reused it"],
                });
                assert.strictEqual(rds.callsOf("CreateDBInstance").length, 1);
            });

            it("copies the template reader's settings and tags, in the cluster's own subnet group, in the least busy AZ", async () => {
                rds.addSubnetGroup("sg3", ["us-east-1a", "us-east-1b", "us-east-1c"]);
                rds.clusters.get("c")!.info.DBSubnetGroup = "sg3";
                Object.assign(rds.instances.get("c-big")!.info, { CACertificateIdentifier: "rds-ca-ecc384-g1" });
                rds.instances.get("c-big")!.tags = [{ Key: "team", Value: "orders" }];
                const made = await create();
                // c-big (intended class, a reader) is taken for the failed writer: us-east-1a avoided; us-east-1c has no member yet.
                assert.deepStrictEqual([made.availabilityZone, made.avoidedAvailabilityZones, made.template], ["us-east-1c", ["us-east-1a"], "c-big"]);
                const input = rds.callsOf("CreateDBInstance")[0].input;
                assert.deepStrictEqual([input.CACertificateIdentifier, input.AvailabilityZone, (input.Tags as { Key: string }[])[0]], ["rds-ca-ecc384-g1", "us-east-1c", { Key: "team", Value: "orders" }]);
            });

            it("uses the cluster's subnet group, not the account's first", async () => {
                rds.addSubnetGroup("sg-c", ["us-east-1c"]);
                rds.clusters.get("c")!.info.DBSubnetGroup = "sg-c";
                assert.strictEqual((await create()).availabilityZone, "us-east-1c");
            });
        });

        describe("status, discard and mark", () => {
            it("reports the reader's status, and fails for a reader gone or failed", async () => {
                const status = (readerIdentifier: unknown = READER) => readerStatus(client(), settings, { clusterIdentifier: "c", readerIdentifier });
                await assert.rejects(status(), (e: Error) => e.name === "ResourceFailedError" && /disappeared/.test(e.message));
                const r = addReader();
                r.status = "creating";
                assert.deepStrictEqual(await status(), { status: "creating", available: false });
                r.status = "available";
                assert.deepStrictEqual(await status(), { status: "available", available: true });
                r.status = "incompatible-parameters";
                await assert.rejects(status(), (e: Error) => e.name === "ResourceFailedError" && /is incompatible-parameters/.test(e.message));
                await assert.rejects(status(7), (e: Error) => e.name === "InvalidInputError" && /readerIdentifier 7 is not a recovery reader/.test(e.message));
                rds.instances.delete(READER);
                addReader(ours, "d");
                await assert.rejects(status(), (e: Error) => e.name === "InvalidInputError" && /is not a member of 'c'/.test(e.message));
            });

            const discard = (startedAt: unknown = STARTED) => discardReader(client(), settings, { clusterIdentifier: "c", startedAt });

            it("discard deletes its own reader while it is not the writer", async () => {
                addReader();
                assert.deepStrictEqual(await discard(), { readerIdentifier: READER, outcome: "deleted", detail: "deleted while available" });
                assert.deepStrictEqual(rds.mutatingCalls().map((c) => [c.command, c.input.DBInstanceIdentifier]), [["DeleteDBInstance", READER]]);
                assert.strictEqual(rds.instances.get(READER)!.status, "deleting");
            });

            it("discard keeps the reader once it became the writer, and tags it abandoned", async () => {
                addReader();
                rds.simulateFailover("c", READER);
                assert.deepStrictEqual(await discard(), { readerIdentifier: READER, outcome: "tagged-abandoned", detail: "it is the writer now, so it was kept" });
                assert.deepStrictEqual(rds.callsOf("DeleteDBInstance"), []);
                assert.strictEqual(statusTag(READER), "abandoned");
            });

            it("discard leaves alone what it did not make, and reports what was never made", async () => {
                assert.deepStrictEqual(await discard(), { readerIdentifier: READER, outcome: "not-found", detail: "nothing was created" });
                for (const tags of [[], [{ Key: CREATED_BY_TAG, Value: "operator" }], [{ Key: "team", Value: RECOVERY_CREATED_BY }]]) {
                    rds.instances.delete(READER);
                    addReader(tags);
                    const out = await discard();
                    assert.deepStrictEqual([out.outcome, out.detail], ["not-ours", "left alone: not tagged pilotlight:created-by=aurora-failover"], JSON.stringify(tags));
                }
                await assert.rejects(discard(20260314), (e: Error) => e.name === "InvalidInputError" && /startedAt 20260314 is not an ISO timestamp/.test(e.message));
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("discard tags the reader abandoned when RDS refuses the delete, and lets any other error through", async () => {
                addReader();
                for (const error of [
                    () => new InvalidDBInstanceStateFault({ ...meta, message: "busy" }),
                    () => Object.assign(new Error("protected"), { name: "InvalidParameterCombination" }),
                ]) {
                    rds.instances.get(READER)!.tags = [...ours];
                    rds.failNext("DeleteDBInstance", error);
                    const out = await discard();
                    assert.deepStrictEqual([out.outcome, statusTag(READER)], ["tagged-abandoned", "abandoned"]);
                    assert.match(out.detail, /RDS refused the delete/);
                }
                rds.instances.get(READER)!.tags = [...ours];
                rds.failNext("DeleteDBInstance", throttling);
                await assert.rejects(discard(), (e: Error) => e.name === "Throttling");
                assert.strictEqual(statusTag(READER), undefined);
            });

            const mark = (input: Record<string, unknown>) => markReader(client(), settings, { clusterIdentifier: "c", ...input });

            it("mark tags the reader it is told, not one derived from the start time", async () => {
                addReader();
                addReader(ours, "c", "c-pl-writer-20260315000000");
                assert.deepStrictEqual(await mark({ readerIdentifier: READER, startedAt: "2026-03-15T00:00:00Z", status: "completed" }), { readerIdentifier: READER, status: "completed" });
                assert.deepStrictEqual([statusTag(READER), statusTag("c-pl-writer-20260315000000")], ["completed", undefined]);
                await assert.rejects(mark({ status: "completed" }), (e: Error) => e.name === "InvalidInputError" && /readerIdentifier undefined is not a recovery reader/.test(e.message));
                await assert.rejects(mark({ startedAt: 12345, status: "completed" }), (e: Error) => e.name === "InvalidInputError" && /startedAt 12345 is not an ISO timestamp/.test(e.message));
            });

            it("mark says failover-failed of a reader that is not the writer, and only corrects failover-failed", async () => {
                addReader();
                assert.deepStrictEqual(await mark({ readerIdentifier: READER, status: "failover-failed" }), { readerIdentifier: READER, status: "failover-failed" });
                assert.strictEqual(statusTag(READER), "failover-failed");
                rds.simulateFailover("c", READER);
                assert.deepStrictEqual(await mark({ readerIdentifier: READER, status: "abandoned" }), { readerIdentifier: READER, status: "abandoned" });
                assert.strictEqual(statusTag(READER), "abandoned");
            });

            it("mark never tags an instance it did not make", async () => {
                for (const tags of [[{ Key: CREATED_BY_TAG, Value: "operator" }], [{ Key: "team", Value: RECOVERY_CREATED_BY }]]) {
                    rds.instances.delete(READER);
                    addReader(tags);
                    await assert.rejects(mark({ readerIdentifier: READER, status: "completed" }), (e: Error) => e.name === "InvalidInputError" && /left alone/.test(e.message));
                }
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });
        });

        describe("failover and the writer's status", () => {
            const failover = () => failoverTo(client(), settings, { clusterIdentifier: "c", readerIdentifier: READER });

            it("asks Aurora to fail over to the reader", async () => {
                addReader();
                assert.deepStrictEqual(await failover(), { target: READER, clusterStatus: "failing-over", requested: true });
                assert.deepStrictEqual(rds.callsOf("FailoverDBCluster").map((c) => c.input), [{ DBClusterIdentifier: "c", TargetDBInstanceIdentifier: READER }]);
            });

            it("a retry after the failover finished finds the reader the writer and does not call again", async () => {
                addReader();
                rds.simulateFailover("c", READER);
                assert.deepStrictEqual(await failover(), { target: READER, clusterStatus: "available", requested: false });
                assert.deepStrictEqual(rds.callsOf("FailoverDBCluster"), []);
            });

            it("absorbs only the cluster-state race; other refusals fail even while the cluster fails over", async () => {
                addReader();
                rds.failNext("FailoverDBCluster", () => {
                    rds.clusters.get("c")!.status = "failing-over";
                    return new DBInstanceNotFoundFault({ ...meta, message: "gone" });
                });
                await assert.rejects(failover(), (e: Error) => e.name === "DBInstanceNotFoundFault");
            });

            it("fails clearly when the cluster disappears", async () => {
                addReader();
                rds.failNext("DescribeDBClusters", clusterNotFound);
                await assert.rejects(failover(), (e: Error) => e.name === "DatabaseNotFoundError");
            });

            it("says switched only when the cluster is available with the reader as its writer", async () => {
                const status = () => writerStatus(client(), settings, { clusterIdentifier: "c", readerIdentifier: READER });
                addReader();
                assert.deepStrictEqual(await status(), { switched: false, writer: "c-small", clusterStatus: "available" });
                rds.simulateFailover("c", READER);
                rds.stick("cluster", "c", "failing-over");
                assert.deepStrictEqual(await status(), { switched: false, writer: READER, clusterStatus: "failing-over" });
                rds.stick("cluster", "c", "available");
                assert.deepStrictEqual(await status(), { switched: true, writer: READER, clusterStatus: "available" });
                for (const m of rds.membersOf("c")) m.writer = false;
                assert.deepStrictEqual(await status(), { switched: false, writer: "", clusterStatus: "available" });
                await assert.rejects(writerStatus(client(), { clusterIdentifier: "gone" }, { clusterIdentifier: "gone" }), (e: Error) => e.name === "DatabaseNotFoundError");
            });

            it("the writer before a failover is undefined when the cluster, its writer or the writer's AZ cannot be read", async () => {
                const msg = "Started cross AZ failover to DB instance: c-big";
                assert.strictEqual(await writerBeforeFailover(client(), "gone", msg), undefined);
                rds.failNext("DescribeDBInstances", instanceNotFound);
                assert.strictEqual(await writerBeforeFailover(client(), "c", msg), undefined);
                delete rds.instances.get("c-small")!.info.AvailabilityZone;
                assert.strictEqual(await writerBeforeFailover(client(), "c", msg), undefined);
                rds.instances.get("c-small")!.writer = false;
                assert.strictEqual(await writerBeforeFailover(client(), "c", msg), undefined);
            });
        });

        describe("the demoted member", () => {
            const run = (action: string, demotedIdentifier: unknown = "c-small", intendedClass: unknown = "db.r6g.2xlarge") =>
                handleDemoted(client(), settings, { clusterIdentifier: "c", demotedIdentifier, intendedClass, action });
            beforeEach(() => rds.simulateFailover("c", "c-big"));

            it("delete deletes the smaller reader", async () => {
                assert.deepStrictEqual(await run("delete"), { demotedIdentifier: "c-small", action: "delete", done: true, detail: "deleting c-small (db.r6g.large)" });
                assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.input), [{ DBInstanceIdentifier: "c-small" }]);
                assert.deepStrictEqual(rds.mutatingCalls().map((c) => c.command), ["DeleteDBInstance"]);
            });

            it("resize resizes the smaller reader at once, and a retry finds the resize pending", async () => {
                assert.deepStrictEqual(await run("resize"), { demotedIdentifier: "c-small", action: "resize", done: true, detail: "resizing c-small from db.r6g.large to db.r6g.2xlarge" });
                assert.deepStrictEqual(rds.mutatingCalls().map((c) => [c.command, c.input]), [
                    ["ModifyDBInstance", { DBInstanceIdentifier: "c-small", DBInstanceClass: "db.r6g.2xlarge", ApplyImmediately: true }],
                ]);
                // RDS may still show the old class, the new one pending.
                Object.assign(rds.instances.get("c-small")!, { status: "modifying", timeline: [] });
                Object.assign(rds.instances.get("c-small")!.info, { DBInstanceClass: "db.r6g.large", PendingModifiedValues: { DBInstanceClass: "db.r6g.2xlarge" } });
                assert.deepStrictEqual(await run("resize"), { demotedIdentifier: "c-small", action: "resize", done: true, detail: "c-small is being resized to db.r6g.2xlarge" });
                assert.strictEqual(rds.mutatingCalls().length, 1);
            });

            it("keep reports a reader already at the last tier as done", async () => {
                rds.instances.get("c-small")!.info.PromotionTier = 15;
                assert.deepStrictEqual(await run("keep"), { demotedIdentifier: "c-small", action: "keep", done: true, detail: "c-small is at promotion tier 15 already" });
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("leaves alone a member not smaller, the writer, a non-member, a member that cannot be read, and other names", async () => {
                for (const action of ["keep", "delete", "resize"]) {
                    const writer = await run(action, "c-big");
                    assert.deepStrictEqual([writer.done, writer.detail], [false, "left alone: it is the writer again"], action);
                }
                rds.simulateFailover("c", "c-small");
                for (const action of ["keep", "delete"]) {
                    const big = await run(action, "c-big");
                    assert.deepStrictEqual([big.done, big.detail], [false, "left alone: it is db.r6g.2xlarge, not smaller than db.r6g.2xlarge"], action);
                }
                for (const action of ["keep", "resize"]) {
                    const gone = await run(action, "c-other");
                    assert.deepStrictEqual([gone.done, gone.detail], [false, "left alone: no longer a member of c"], action);
                    rds.failNext("DescribeDBInstances", instanceNotFound);
                    const unreadable = await run(action, "c-big");
                    assert.deepStrictEqual([unreadable.done, unreadable.detail], [false, "left alone: it no longer exists"], action);
                }
                const other = await run("delete", "other-db");
                assert.deepStrictEqual([other.done, other.demotedIdentifier], [false, "other-db"]);
                const numeric = await run("delete", 7);
                assert.deepStrictEqual([numeric.done, numeric.demotedIdentifier], [false, "7"]);
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("a delete whose instance vanished between reads is done; a keep of a vanished cluster changes nothing", async () => {
                rds.failNext("DescribeDBInstances", instanceNotFound);
                assert.deepStrictEqual(await run("delete"), { demotedIdentifier: "c-small", action: "delete", done: true, detail: "c-small is deleted" });
                rds.failNext("DescribeDBClusters", clusterNotFound);
                const keep = await run("keep");
                assert.deepStrictEqual([keep.done, keep.detail], [false, "left alone: no longer a member of c"]);
                assert.deepStrictEqual(rds.mutatingCalls(), []);
            });

            it("refuses a bad intended class before any call", async () => {
                await assert.rejects(run("delete", "c-small", "big"), (e: Error) => e.name === "InvalidInputError" && /intendedClass "big" is not an instance class/.test(e.message));
                assert.deepStrictEqual(rds.calls, []);
            });
        });
    });
});
