// The RPO metric and the restore test must measure the recovery point the failover would restore:
// the same lookup as components/database.ts over the same data. The failover's lookups are Pulumi
// data sources; here they are answered from the fake RDS the way the AWS provider answers them
// (terraform-provider-aws data sources aws_db_snapshot, aws_db_snapshots, aws_db_cluster_snapshot),
// and the database the program would restore is compared with the metric's pick.
import * as assert from "assert";
import { DBClusterSnapshot, DBSnapshot, DescribeDBClusterSnapshotsCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { failoverRecoveryPoint, newestRecoveryPoint, parseTargets, publishReadiness } from "../functions/lib/readiness";
import { SOURCE_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { ProgramRun, runProgram } from "./program";

const REGION = "us-west-2";
const PRIMARY = "111111111111";
const DR = "222222222222";
const NOW = new Date("2026-03-01T12:00:00Z");
const minutesBefore = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
const tagged = (db: string) => [{ Key: SOURCE_TAG, Value: db }];
const SAME_ACCOUNT = ["accountId=111111111111", "peer.accountId=111111111111", 'aws:allowedAccountIds=["111111111111"]'];
const AURORA = ["database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"];

/** RFC 3339 in whole seconds, as the provider sets time attributes (`Format(time.RFC3339)`). */
const rfc3339 = (d: Date | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : undefined);
/** The provider's `mostRecent`: sort by SnapshotCreateTime ("Snapshot creation can be in progress": no time sorts first), take the last. */
function providerMostRecent<T extends { SnapshotCreateTime?: Date }>(list: T[]): T {
    const sorted = [...list].sort((a, b) => (a.SnapshotCreateTime ? (b.SnapshotCreateTime ? a.SnapshotCreateTime.getTime() - b.SnapshotCreateTime.getTime() : 1) : -1));
    return sorted[sorted.length - 1];
}
/** The provider's `tags` argument: the snapshot's tags must contain all of them. */
const containsAll = (have: { Key?: string; Value?: string }[] | undefined, want: Record<string, string> | undefined) => Object.entries(want ?? {}).every(([k, v]) => (have ?? []).some((t) => t.Key === k && t.Value === v));

async function allSnapshots(input: Record<string, unknown>): Promise<DBSnapshot[]> {
    const out: DBSnapshot[] = [];
    let Marker: string | undefined;
    do {
        const page = await new RDSClient({ region: REGION }).send(new DescribeDBSnapshotsCommand({ ...input, Marker }));
        out.push(...(page.DBSnapshots ?? []));
        Marker = page.Marker;
    } while (Marker);
    return out;
}
async function allClusterSnapshots(input: Record<string, unknown>): Promise<DBClusterSnapshot[]> {
    const page = await new RDSClient({ region: REGION }).send(new DescribeDBClusterSnapshotsCommand(input));
    return page.DBClusterSnapshots ?? [];
}
const instanceOut = (s: DBSnapshot) => ({ id: s.DBSnapshotIdentifier, dbSnapshotIdentifier: s.DBSnapshotIdentifier, dbSnapshotArn: s.DBSnapshotArn, dbInstanceIdentifier: s.DBInstanceIdentifier, status: s.Status, snapshotCreateTime: rfc3339(s.SnapshotCreateTime), originalSnapshotCreateTime: rfc3339(s.OriginalSnapshotCreateTime) });

/** Answers the failover's snapshot lookups from the fake RDS as the provider would. */
async function providerLookup(token: string, inputs: Record<string, any>): Promise<Record<string, unknown> | undefined> {
    const describe = { IncludeShared: inputs.includeShared ?? false, IncludePublic: inputs.includePublic ?? false, SnapshotType: inputs.snapshotType };
    switch (token) {
        case "aws:rds/getSnapshot:getSnapshot": {
            const found = (await allSnapshots({ ...describe, DBInstanceIdentifier: inputs.dbInstanceIdentifier, DBSnapshotIdentifier: inputs.dbSnapshotIdentifier })).filter((s) => containsAll(s.TagList, inputs.tags));
            if (found.length === 0) throw new Error("Your query returned no results. Please change your search criteria and try again.");
            if (found.length > 1 && !inputs.mostRecent) throw new Error("Your query returned more than one result. Please try a more specific search criteria.");
            return { ...inputs, ...instanceOut(providerMostRecent(found)) };
        }
        case "aws:rds/getSnapshots:getSnapshots":
            return { ...inputs, id: REGION, snapshots: (await allSnapshots({ ...describe, DBInstanceIdentifier: inputs.dbInstanceIdentifier })).map(instanceOut) };
        case "aws:rds/getClusterSnapshot:getClusterSnapshot": {
            const found = (await allClusterSnapshots({ ...describe, DBClusterIdentifier: inputs.dbClusterIdentifier, DBClusterSnapshotIdentifier: inputs.dbClusterSnapshotIdentifier })).filter((s) => containsAll(s.TagList, inputs.tags));
            if (found.length === 0) throw new Error("Your query returned no results. Please change your search criteria and try again.");
            if (found.length > 1 && !inputs.mostRecent) throw new Error("Your query returned more than one result. Please try a more specific search criteria.");
            const c = providerMostRecent(found);
            return { ...inputs, id: c.DBClusterSnapshotIdentifier, dbClusterSnapshotIdentifier: c.DBClusterSnapshotIdentifier, dbClusterSnapshotArn: c.DBClusterSnapshotArn, dbClusterIdentifier: c.DBClusterIdentifier, status: c.Status, snapshotCreateTime: rfc3339(c.SnapshotCreateTime) };
        }
    }
    return undefined;
}

/** Runs the dr stack failed over, its snapshot lookups answered from the fake; returns what it restores and the metric's targets. */
async function failoverOver(sets: string[]): Promise<{ restored: string; run: ProgramRun }> {
    const { RecordingMocks } = await import("./mocks");
    const original = RecordingMocks.prototype.call;
    RecordingMocks.prototype.call = function (this: any, args: any) {
        return providerLookup(args.token, args.inputs).then((answer) => answer ?? original.call(this, args)) as any;
    };
    try {
        const run = await runProgram("dr", { sets: ["failover=true", ...sets] });
        const db = run.resources.find((r) => r.type === "aws:rds/instance:Instance" && r.name === "database-instance") ?? run.resources.find((r) => r.type === "aws:rds/cluster:Cluster" && r.name === "database-cluster");
        assert.ok(db, "the failover restores a database");
        return { restored: db!.inputs.snapshotIdentifier, run };
    } finally {
        RecordingMocks.prototype.call = original;
    }
}

function metricTargets(run: ProgramRun) {
    const fn = run.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.environment?.variables?.TARGETS);
    assert.ok(fn, "the dr stack has the RPO metric function");
    return parseTargets(fn!.inputs.environment.variables.TARGETS);
}

describe("readiness: the metric measures what the failover would restore", function () {
    this.timeout(60_000);
    let rds: FakeRds;
    afterEach(() => rds.restore());
    const client = () => new RDSClient({ region: REGION });

    async function compare(sets: string[]) {
        const { restored, run } = await failoverOver(sets);
        const [target] = metricTargets(run);
        const picked = await newestRecoveryPoint(client(), target, REGION);
        assert.strictEqual(picked?.ref, restored, "the metric's recovery point is the one the failover restores");
        return picked!;
    }

    it("two accounts, instance: only what the primary's account shared counts, never the dr account's own copies", async () => {
        rds = new FakeRds({ region: REGION, account: DR });
        rds.addSnapshot("pilotlight-db-v7", "pilotlight-db", { created: minutesBefore(1), tags: tagged("pilotlight-db") }); // the dr account's own, newest: never restored
        const older = `arn:aws:rds:${REGION}:${PRIMARY}:snapshot:pilotlight-db-bk-20260301070000`;
        const newer = `arn:aws:rds:${REGION}:${PRIMARY}:snapshot:pilotlight-db-bk-20260301100000`;
        rds.addSharedSnapshot(older, { created: minutesBefore(300), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        rds.addSharedSnapshot(newer, { created: minutesBefore(100), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" }).info.OriginalSnapshotCreateTime = new Date(minutesBefore(130));
        rds.addSharedSnapshot(`arn:aws:rds:${REGION}:333333333333:snapshot:pilotlight-db-bk-20260301115000`, { created: minutesBefore(10), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        rds.addSharedSnapshot(`arn:aws:rds:us-east-1:${PRIMARY}:snapshot:pilotlight-db-bk-20260301115500`, { created: minutesBefore(5), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        const picked = await compare([]);
        assert.strictEqual(picked.ref, newer);
        assert.deepStrictEqual(picked.time, new Date(minutesBefore(130)), "the age is the data's (OriginalSnapshotCreateTime)");
    });

    it("one account, instance: the backups' newest available copy by its data's time, never one still copying nor an operator's", async () => {
        rds = new FakeRds({ region: REGION, account: PRIMARY });
        const copiedLast = rds.addSnapshot("pilotlight-db-bk-20260301000000", "pilotlight-db", { created: minutesBefore(30), tags: tagged("pilotlight-db") });
        copiedLast.info.OriginalSnapshotCreateTime = new Date(minutesBefore(900));
        const fresherData = rds.addSnapshot("pilotlight-db-bk-20260301100000", "pilotlight-db", { created: minutesBefore(60), tags: tagged("pilotlight-db") });
        fresherData.info.OriginalSnapshotCreateTime = new Date(minutesBefore(120));
        // The primary region went down mid-copy: the newest copy stays copying and is never restored.
        rds.addSnapshot("pilotlight-db-bk-20260301115000", "pilotlight-db", { created: minutesBefore(5), tags: tagged("pilotlight-db"), status: "copying" }).info.OriginalSnapshotCreateTime = new Date(minutesBefore(10));
        rds.addSnapshot("pilotlight-db-operator", "pilotlight-db", { created: minutesBefore(2) });
        const picked = await compare(SAME_ACCOUNT);
        assert.strictEqual(picked.ref, "pilotlight-db-bk-20260301100000");
        assert.deepStrictEqual(picked.time, new Date(minutesBefore(120)));
    });

    it("two accounts, Aurora: the provider's most recent shared cluster snapshot of the source, not the dr account's own", async () => {
        rds = new FakeRds({ region: REGION, account: DR });
        rds.addClusterSnapshot("pilotlight-db-v2", "pilotlight-db", { created: minutesBefore(1), tags: tagged("pilotlight-db") });
        rds.addSharedClusterSnapshot(`arn:aws:rds:${REGION}:${PRIMARY}:cluster-snapshot:pilotlight-db-bk-20260301070000`, { created: minutesBefore(300), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        const newer = `arn:aws:rds:${REGION}:${PRIMARY}:cluster-snapshot:pilotlight-db-bk-20260301100000`;
        rds.addSharedClusterSnapshot(newer, { created: minutesBefore(100), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        assert.strictEqual((await compare(AURORA)).ref, newer);
    });

    it("one account, Aurora: the provider's most recent tagged cluster snapshot", async () => {
        rds = new FakeRds({ region: REGION, account: PRIMARY });
        rds.addClusterSnapshot("pilotlight-db-c1", "pilotlight-db", { created: minutesBefore(300), tags: tagged("pilotlight-db") });
        rds.addClusterSnapshot("pilotlight-db-c2", "pilotlight-db", { created: minutesBefore(100), tags: tagged("pilotlight-db") });
        rds.addClusterSnapshot("pilotlight-db-c3", "pilotlight-db", { created: minutesBefore(10) }); // untagged
        assert.strictEqual((await compare([...SAME_ACCOUNT, ...AURORA])).ref, "pilotlight-db-c2");
    });
});

describe("readiness: when the failover's pick cannot be restored", () => {
    let rds: FakeRds;
    afterEach(() => rds.restore());

    it("one account: the only copy is still being made, so the failover would fail: no age is published, and why is said", async () => {
        rds = new FakeRds({ region: REGION, account: PRIMARY });
        rds.addSnapshot("pilotlight-db-bk-20260301115000", "pilotlight-db", { created: minutesBefore(5), tags: tagged("pilotlight-db"), status: "creating" });
        const target = { database: "pilotlight-db", isCluster: false, kind: "snapshots" as const };
        const pick = await failoverRecoveryPoint(new RDSClient({ region: REGION }), target, REGION);
        assert.strictEqual(pick.point, undefined);
        assert.match(pick.why!, /no available snapshot of pilotlight-db owned by account 111111111111 in us-west-2/);
        const cw = mockClient(CloudWatchClient);
        try {
            const report = await publishReadiness({ rds: new RDSClient({ region: REGION }), cloudwatch: new CloudWatchClient({}) }, [target], REGION, NOW);
            assert.deepStrictEqual(report.missing.map((m) => m.database), ["pilotlight-db"]);
            assert.strictEqual(cw.commandCalls(PutMetricDataCommand).length, 0, "nothing published: the alarm breaches");
        } finally {
            cw.restore();
        }
    });

    it("two accounts: shared snapshots in another region or of another owner are no recovery point, whatever the dr account holds", async () => {
        rds = new FakeRds({ region: REGION, account: DR });
        rds.addSnapshot("pilotlight-db-v1", "pilotlight-db", { created: minutesBefore(5), tags: tagged("pilotlight-db") });
        rds.addSharedSnapshot(`arn:aws:rds:us-east-1:${PRIMARY}:snapshot:pilotlight-db-bk-20260301115500`, { created: minutesBefore(5), kmsKeyId: "k", databaseIdentifier: "pilotlight-db" });
        const pick = await failoverRecoveryPoint(new RDSClient({ region: REGION }), { database: "pilotlight-db", isCluster: false, kind: "snapshots", sharedFrom: PRIMARY }, REGION);
        assert.strictEqual(pick.point, undefined);
        assert.match(pick.why!, /no available snapshot of pilotlight-db owned by account 111111111111 in us-west-2/);
    });
});
