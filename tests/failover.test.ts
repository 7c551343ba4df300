// The dr stack's config switch: `failover: true` adds the database, the app tier's serving half
// (Redis, launch template, Auto Scaling group), NAT, the failback source machine and the media
// bucket's replication back to prod, and changes nothing that exists without it. The SECONDARY
// record, the DR load balancer and every role exist in the pilot light (tests/failoverStatic.test.ts).
import * as assert from "assert";
import { oneResource, ProgramResource, ProgramRun, runProgram } from "./program";
import { summary } from "./synth";

const FAILOVER_COMPONENTS = ["pilotlight:database:Database"];
const PILOT_LIGHT_COMPONENTS = ["pilotlight:app:AppTier", "pilotlight:dns:FailoverDns"];
// The failback source is in the pilot light with its roles; failover adds its function, machine and logs.
const FAILBACK = "pilotlight:failback:Failback";
const FAILBACK_REGIONAL = ["pilotlight:lambda:BundledFunction", "pilotlight:sfn:LambdaStateMachine", "aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup", "aws:sfn/stateMachine:StateMachine"];
const SERVING_TYPES = [
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:autoscaling/group:Group",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:ec2/natGateway:NatGateway",
];
// The app tier's serving half, switched by the same flag inside the always-present AppTier.
const APP_SERVING_TYPES = ["aws:autoscaling/group:Group", "aws:ec2/launchTemplate:LaunchTemplate", "aws:elasticache/replicationGroup:ReplicationGroup"];
// NAT is the Network's own child, switched by the same flag.
const NAT_TYPES = ["aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway", "aws:ec2/route:Route"];
// Failback replication is the media bucket's own child, switched by the same flag (its role is always there).
const FAILBACK_TYPES = ["aws:s3/bucketReplicationConfig:BucketReplicationConfig"];

function count(run: ProgramRun, type: string): number {
    return run.resources.filter((r) => r.type === type).length;
}

/** True when a resource exists only because of failover: a failover component or inside one (at any depth), the app tier's serving half, NAT, or failback replication. */
function addedByFailover(r: ProgramResource, run: ProgramRun): boolean {
    const byUrn = new Map(run.resources.map((x) => [x.urn, x]));
    for (let at: ProgramResource | undefined = r; at; at = at.parent ? byUrn.get(at.parent) : undefined) {
        if (FAILOVER_COMPONENTS.includes(at.type)) return true;
        if (at.type === FAILBACK) return FAILBACK_REGIONAL.includes(r.type);
    }
    const chain = r.urn.split("::")[2] ?? "";
    if (chain.startsWith("pilotlight:storage:ReplicatedBucket$") && FAILBACK_TYPES.includes(r.type)) return true;
    if (chain.startsWith("pilotlight:app:AppTier$") && APP_SERVING_TYPES.includes(r.type)) return true;
    // The copy target's hold: while failed over it leaves the served database and its secret alone.
    if (chain.startsWith("pilotlight:copy:SnapshotCopy$") && r.type === "aws:secretsmanager/secret:Secret" && r.name.endsWith("-hold")) return true;
    return chain.startsWith("pilotlight:network:Network$") && NAT_TYPES.includes(r.type);
}

/** Every resource of `off` exists in `on` with the same URN, parent, provider and inputs; `on` adds only failover resources. */
function assertAdditive(off: ProgramRun, on: ProgramRun): void {
    const onByUrn = new Map(on.resources.map((r) => [r.urn, r]));
    assert.ok(off.resources.length > 20, "the pilot light has its network, key and bucket");
    for (const r of off.resources) {
        const twin = onByUrn.get(r.urn);
        assert.ok(twin, `failover removes ${r.urn}`);
        assert.deepStrictEqual({ parent: twin.parent, provider: twin.provider, inputs: twin.inputs }, { parent: r.parent, provider: r.provider, inputs: r.inputs }, `failover changes ${r.urn}`);
    }
    const offUrns = new Set(off.resources.map((r) => r.urn));
    const added = on.resources.filter((r) => !offUrns.has(r.urn));
    assert.ok(added.length > 0);
    const unexpected = added.filter((r) => !addedByFailover(r, on)).map((r) => r.urn);
    assert.deepStrictEqual(unexpected, [], "failover adds only database, the app tier's serving half, NAT, the failback source and failback replication");
    for (const r of off.resources.filter((x) => addedByFailover(x, off))) assert.fail(`${r.urn} exists without failover`);
}

describe("failover switch", () => {
    let prod: ProgramRun;
    let off: ProgramRun;
    let on: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        off = await runProgram("dr");
        on = await runProgram("dr", { sets: ["failover=true"] });
    });

    it("prod always has the database, the app tier, the PRIMARY record and (its restore machine covering the database) the failback machine", () => {
        for (const c of [...FAILOVER_COMPONENTS, ...PILOT_LIGHT_COMPONENTS, FAILBACK]) assert.strictEqual(count(prod, c), 1, c);
        for (const t of SERVING_TYPES.filter((t) => t !== "aws:rds/cluster:Cluster")) assert.strictEqual(count(prod, t), 1, t);
        assert.strictEqual(prod.outputs.dnsFailoverRole, "PRIMARY");
    });

    it("dr without failover is a pilot light: no database, instances, Redis, NAT or failback source; the DR load balancer and the SECONDARY record wait", () => {
        for (const c of FAILOVER_COMPONENTS) assert.strictEqual(count(off, c), 0, c);
        for (const t of SERVING_TYPES) assert.strictEqual(count(off, t), 0, t);
        for (const k of ["databaseIdentifier", "databaseEndpoint", "redisEndpoint", "appAutoScalingGroup"]) assert.strictEqual(off.outputs[k], undefined, k);
        assert.strictEqual(off.outputs.failover, false);
        for (const c of PILOT_LIGHT_COMPONENTS) assert.strictEqual(count(off, c), 1, c);
        assert.strictEqual(count(off, "aws:lb/loadBalancer:LoadBalancer"), 1);
        assert.strictEqual(count(off, "aws:route53/record:Record"), 1);
        assert.deepStrictEqual([off.outputs.dnsFailoverRole, off.outputs.appUrl], ["SECONDARY", "https://app-alb-mock.us-west-2.elb.amazonaws.com"]);
        assert.strictEqual(off.outputs.mediaFailbackReplicationRoleArn, "arn:aws:iam::222222222222:role/pilotlight-media-failback-us-west-2");
    });

    it("dr with failover has all of them, wired to the restored database", () => {
        for (const c of [...FAILOVER_COMPONENTS, ...PILOT_LIGHT_COMPONENTS]) assert.strictEqual(count(on, c), 1, c);
        for (const t of SERVING_TYPES.filter((t) => t !== "aws:rds/cluster:Cluster")) assert.strictEqual(count(on, t), 1, t);
        const db = oneResource(on, "aws:rds/instance:Instance", "database-instance");
        // Two accounts: the newest backup the primary's account shared with dr (restored by ARN).
        assert.strictEqual(db.inputs.snapshotIdentifier, "arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-bk-20260101000000");
        const userData = Buffer.from(oneResource(on, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.userData, "base64").toString("utf8");
        assert.ok(userData.includes(`DB_HOST=${db.state.address}\n`), userData);
        assert.ok(userData.includes(`DB_SECRET_ARN=${db.state.masterUserSecrets[0].secretArn}\n`));
        assert.ok(userData.includes("AWS_REGION=us-west-2\n"));
        assert.ok(userData.includes("MEDIA_BUCKET=pilotlight-media-222222222222-us-west-2\n"), "the DR app serves the replica bucket");
        const alb = oneResource(on, "aws:lb/loadBalancer:LoadBalancer", "app-alb").state;
        assert.deepStrictEqual(oneResource(on, "aws:route53/record:Record", "dns-record").inputs.aliases, [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }]);
        assert.deepStrictEqual(
            [on.outputs.failover, on.outputs.databaseSource, on.outputs.databaseRestoredFrom, on.outputs.dnsFailoverRole],
            [true, "newest snapshot of pilotlight-db shared into this region by account 111111111111", "arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-bk-20260101000000", "SECONDARY"],
        );
    });

    it("the synthesized summary shows the failover plan (npm run synth -- --stack dr --set failover=true)", () => {
        const plan = summary(on);
        for (const line of [
            "- failover: `true`",
            '- databaseSource: `"newest snapshot of pilotlight-db shared into this region by account 111111111111"`',
            '- databaseRestoredFrom: `"arn:aws:rds:us-west-2:111111111111:snapshot:pilotlight-db-bk-20260101000000"`',
            '- appUrl: `"https://app-alb-mock.us-west-2.elb.amazonaws.com"`',
            '- dnsFailoverRole: `"SECONDARY"`',
        ]) {
            assert.ok(plan.includes(line), `summary lacks ${line}:\n${plan}`);
        }
        assert.ok(!summary(off).includes("databaseSource"), "the pilot light has no database to describe");
    });

    it("turning failover on changes nothing that exists; turning it off removes only what it added", () => {
        assertAdditive(off, on);
    });

    it("outside its components failover adds exactly NAT, the app tier's serving half and the media bucket's replication back to prod", () => {
        const offUrns = new Set(off.resources.map((r) => r.urn));
        const byUrn = new Map(on.resources.map((x) => [x.urn, x]));
        const inComponent = (r: ProgramResource) => {
            for (let at: ProgramResource | undefined = r; at; at = at.parent ? byUrn.get(at.parent) : undefined) if ([...FAILOVER_COMPONENTS, FAILBACK].includes(at.type)) return true;
            return false;
        };
        const added = on.resources.filter((r) => !offUrns.has(r.urn) && !inComponent(r));
        assert.deepStrictEqual(added.map((r) => `${r.type} ${r.name}`).sort(), [
            "aws:autoscaling/group:Group app-asg",
            "aws:ec2/eip:Eip network-nat-1",
            "aws:ec2/launchTemplate:LaunchTemplate app-lt",
            "aws:ec2/natGateway:NatGateway network-nat-1",
            "aws:ec2/route:Route network-app-default-1",
            "aws:ec2/route:Route network-app-default-2",
            "aws:ec2/route:Route network-app-default-3",
            "aws:elasticache/replicationGroup:ReplicationGroup app-redis",
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig media-failback",
            "aws:secretsmanager/secret:Secret copy-hold",
        ]);
    });

    it("stays additive when adopting the copy target's instance and with Aurora", async () => {
        assertAdditive(off, await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=adopt", "failoverDatabase.secretName=pilotlight/copy/current"] }));
        const auroraSets = ["database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"];
        assertAdditive(await runProgram("dr", { sets: auroraSets }), await runProgram("dr", { sets: [...auroraSets, "failover=true"] }));
    });

    it("the database's protection is explicit: failback first lifts deletion protection, still with a final snapshot", async () => {
        const lifting = await runProgram("dr", { sets: ["failover=true", "database.deletionProtection=false"] });
        const db = oneResource(lifting, "aws:rds/instance:Instance", "database-instance").inputs;
        assert.deepStrictEqual([db.deletionProtection, db.skipFinalSnapshot, db.finalSnapshotIdentifier], [false, false, "pilotlight-db-final-pilotlight-db-bk-20260101000000"]);
    });

    it("each failover cycle's final snapshot is named after the snapshot it restored, so a second cycle or drill does not collide", async () => {
        const finalOf = async (snapshot: string) =>
            oneResource(await runProgram("dr", { sets: ["failover=true", "failoverDatabase.source=snapshot", `failoverDatabase.snapshotIdentifier=${snapshot}`] }), "aws:rds/instance:Instance", "database-instance").inputs
                .finalSnapshotIdentifier;
        const [first, second, again] = [await finalOf("pilotlight-db-copy-1"), await finalOf("pilotlight-db-copy-2"), await finalOf("pilotlight-db-copy-1")];
        assert.deepStrictEqual([first, second], ["pilotlight-db-final-pilotlight-db-copy-1", "pilotlight-db-final-pilotlight-db-copy-2"]);
        assert.strictEqual(again, first, "deterministic from config");
        assert.strictEqual(oneResource(prod, "aws:rds/instance:Instance", "database-instance").inputs.finalSnapshotIdentifier, "pilotlight-db-final", "prod keeps its name");
    });
});
