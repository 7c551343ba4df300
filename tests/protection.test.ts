import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { protectionOptions, protectionRule, protectStatefulResources, STATEFUL_TYPES, TYPE_RULES } from "../components/protection";
import { ProgramRun, readStackConfig, runProgram } from "./program";

/** `type name protect[ retain]` for every resource the engine would be told to protect or retain. */
function protectedList(run: ProgramRun): string[] {
    return run.resources
        .filter((r) => r.protect !== undefined || r.retainOnDelete !== undefined)
        .map((r) => `${r.type} ${r.name} protect=${r.protect}${r.retainOnDelete ? " retainOnDelete" : ""}`)
        .sort();
}

const KEY = "aws:kms/key:Key";
const REPLICA = "aws:kms/replicaKey:ReplicaKey";
const BUCKET = "aws:s3/bucket:Bucket";
const INSTANCE = "aws:rds/instance:Instance";
const CLUSTER = "aws:rds/cluster:Cluster";
const SECRET = "aws:secretsmanager/secret:Secret";

describe("protection: data that outlives a mistake", () => {
    describe("rules", () => {
        const cases: { type: string; name: string; props?: Record<string, unknown>; expect: ReturnType<typeof protectionOptions> }[] = [
            { type: KEY, name: "shared-key", expect: { protect: true, retainOnDelete: true } },
            { type: REPLICA, name: "shared-replica", expect: { protect: true, retainOnDelete: true } },
            { type: BUCKET, name: "media", expect: { protect: true, retainOnDelete: true } },
            // `always` ignores a deletionProtection input; a name rule applies to its own type only.
            { type: KEY, name: "k", props: { deletionProtection: false }, expect: { protect: true, retainOnDelete: true } },
            { type: BUCKET, name: "alerts-slack", expect: { protect: true, retainOnDelete: true } },
            { type: INSTANCE, name: "database-instance", props: { deletionProtection: true }, expect: { protect: true } },
            { type: INSTANCE, name: "database-instance", props: { deletionProtection: false }, expect: { protect: false } },
            { type: INSTANCE, name: "database-instance", props: {}, expect: { protect: true } },
            { type: CLUSTER, name: "database-cluster", props: { deletionProtection: pulumi.output(false) }, expect: { protect: true } },
            { type: CLUSTER, name: "database-cluster", props: { deletionProtection: false }, expect: { protect: false } },
            { type: SECRET, name: "copy-secret", expect: { protect: true } },
            { type: SECRET, name: "alerts-slack", expect: undefined },
            { type: SECRET, name: "copy-hold", expect: undefined },
            { type: "aws:dynamodb/table:Table", name: "aurora-x-guard", expect: undefined },
            { type: "aws:elasticache/replicationGroup:ReplicationGroup", name: "app-redis", expect: undefined },
            // A stateful type pilotlight does not use yet is protected by default.
            { type: "aws:efs/fileSystem:FileSystem", name: "shared-files", expect: { protect: true } },
            { type: "aws:rds/clusterInstance:ClusterInstance", name: "database-instance-1", expect: undefined },
            { type: "aws:iam/role:Role", name: "anything", expect: undefined },
            { type: "pilotlight:database:Database", name: "database", expect: undefined },
        ];
        for (const c of cases) {
            it(`${c.type} ${c.name} ${JSON.stringify(c.props ?? {})} -> ${JSON.stringify(c.expect)}`, () => {
                assert.deepStrictEqual(protectionOptions(c.type, c.name, c.props ?? {}), c.expect);
            });
        }

        it("gives every rule a reason, and rules only types of the stateful list", () => {
            for (const [type, rule] of Object.entries(TYPE_RULES)) {
                assert.ok(STATEFUL_TYPES.includes(type), `${type} has a rule but is not in STATEFUL_TYPES`);
                assert.ok(rule.why.length > 20, `${type}: say why`);
            }
            assert.ok(STATEFUL_TYPES.every((t) => t.startsWith("aws:")), "only custom resources: a protected component would protect all its children");
            assert.strictEqual(protectionRule("aws:lambda/function:Function", "x"), undefined);
        });

        it("the transformation merges the options and keeps the parent", () => {
            const parent = {} as pulumi.Resource;
            const out = protectStatefulResources({ resource: {} as pulumi.Resource, type: BUCKET, name: "media", props: { bucket: "b" }, opts: { parent, ignoreChanges: ["tags"] } });
            assert.ok(out);
            assert.strictEqual(out.opts.parent, parent);
            assert.strictEqual(out.opts.protect, true);
            assert.strictEqual(out.opts.retainOnDelete, true);
            assert.deepStrictEqual(out.opts.ignoreChanges, ["tags"]);
            assert.deepStrictEqual(out.props, { bucket: "b" });
            assert.strictEqual(protectStatefulResources({ resource: {} as pulumi.Resource, type: "aws:iam/role:Role", name: "r", props: {}, opts: {} }), undefined);
        });
    });

    describe("the synthesized stacks", () => {
        let prod: ProgramRun;
        let prodAurora: ProgramRun;
        let prodSlack: ProgramRun;
        let dr: ProgramRun;
        let drFailover: ProgramRun;
        let drReleased: ProgramRun;
        let drReplication: ProgramRun;

        before(async () => {
            prod = await runProgram("prod");
            prodAurora = await runProgram("prod", { sets: ["database.engine=aurora-postgresql", "database.engineVersion=16.6", "copy.source=reports-db"] });
            const { config } = readStackConfig("prod");
            config["pilotlight:slackWebhookUrls"] = JSON.stringify(["https://hooks.slack.com/services/T/B/X"]);
            prodSlack = await runProgram("prod", { config, secretKeys: ["pilotlight:slackWebhookUrls"] });
            dr = await runProgram("dr");
            drFailover = await runProgram("dr", { sets: ["failover=true"] });
            drReleased = await runProgram("dr", { sets: ["failover=true", "database.deletionProtection=false"] });
            drReplication = await runProgram("dr", {
                sets: ['backups={"databases":[{"identifier":"pilotlight-db"}]}', "backups.automatedBackupReplication=true", "accountId=111111111111", "peer.accountId=111111111111", 'aws:allowedAccountIds=["111111111111"]'],
            });
        });

        it("prod: the shared key and its replica, the media bucket (all kept on delete) and the database", () => {
            assert.deepStrictEqual(protectedList(prod), [
                // Service-linked roles are kept on delete: other stacks and services of the account use them.
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-autoscaling protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-elasticache protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-rds protect=undefined retainOnDelete",
                `${KEY} shared-key protect=true retainOnDelete`,
                `${REPLICA} shared-replica protect=true retainOnDelete`,
                `${INSTANCE} database-instance protect=true`,
                `${BUCKET} media protect=true retainOnDelete`,
                `${SECRET} app-redis-auth protect=true`,
            ]);
        });

        it("prod with Aurora: the cluster, not its instances (the data is in the cluster volume)", () => {
            assert.deepStrictEqual(protectedList(prodAurora), [
                // Service-linked roles are kept on delete: other stacks and services of the account use them.
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-autoscaling protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-elasticache protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-rds protect=undefined retainOnDelete",
                `${KEY} shared-key protect=true retainOnDelete`,
                `${REPLICA} shared-replica protect=true retainOnDelete`,
                `${CLUSTER} database-cluster protect=true`,
                `${BUCKET} media protect=true retainOnDelete`,
                `${SECRET} app-redis-auth protect=true`,
            ]);
        });

        it("prod with Slack webhooks: the webhook secret is not protected (pulumi up writes it again)", () => {
            assert.ok(prodSlack.resources.some((r) => r.type === SECRET && r.name === "alerts-slack"));
            assert.deepStrictEqual(protectedList(prodSlack), protectedList(prod));
        });

        it("dr as a pilot light: its key, the replica bucket and the copy target's secret", () => {
            assert.deepStrictEqual(protectedList(dr), [
                // Service-linked roles are kept on delete: other stacks and services of the account use them.
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-autoscaling protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-elasticache protect=undefined retainOnDelete",
                "aws:iam/serviceLinkedRole:ServiceLinkedRole slr-rds protect=undefined retainOnDelete",
                `${KEY} dr-key protect=true retainOnDelete`,
                `${BUCKET} media protect=true retainOnDelete`,
                `${SECRET} app-redis-auth protect=true`,
                `${SECRET} copy-secret protect=true`,
            ]);
        });

        it("dr failed over: adds only the database, which deletionProtection=false releases for failback", () => {
            assert.ok(drFailover.resources.some((r) => r.type === SECRET && r.name === "copy-hold"), "the copy target's hold exists, unprotected, so failback can remove it");
            assert.deepStrictEqual(protectedList(drFailover), [...protectedList(dr), `${INSTANCE} database-instance protect=true`].sort());
            assert.deepStrictEqual(protectedList(drReleased), [...protectedList(dr), `${INSTANCE} database-instance protect=false`].sort());
        });

        it("dr with automated backups replication: the replication is protected", () => {
            assert.ok(protectedList(drReplication).includes("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication backup-replication-pilotlight-db protect=true"));
        });

        it("every resource of a stateful type is protected unless its rule says why not; nothing else is", () => {
            for (const run of [prod, prodAurora, prodSlack, dr, drFailover, drReplication]) {
                for (const r of run.resources) {
                    const rule = protectionRule(r.type, r.name);
                    const expected = rule && rule.protect !== "never";
                    assert.strictEqual(r.protect === true, !!expected, `${run.stack}: ${r.type} ${r.name} protect=${r.protect}, rule ${JSON.stringify(rule)}`);
                    if (!r.custom) assert.strictEqual(r.protect, undefined, `component ${r.name} must not be protected: its children would inherit it`);
                }
            }
        });
    });
});
