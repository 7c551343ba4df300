import * as assert from "assert";
import { PolicyDocument, wildcardActions } from "../components/iam";
import { KEY_ADMIN_ACTIONS, keyPolicy } from "../components/sharedKey";
import { ProgramResource, ProgramRun, runProgram } from "./program";

const peerStatements = (doc: PolicyDocument, peer: string) => doc.Statement.filter((s) => JSON.stringify(s.Principal).includes(`::${peer}:`));
const actionsOf = (doc: PolicyDocument) => doc.Statement.flatMap((s) => ([] as string[]).concat(s.Action));

function key(run: ProgramRun, type: string, name: string): ProgramResource {
    const r = run.resources.find((x) => x.type === type && x.name === name);
    assert.ok(r, `${type} ${name} missing`);
    return r;
}

describe("sharedKey", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        dr = await runProgram("dr");
    });

    it("prod has a multi-Region key with rotation, an alias, and a replica in the DR region through an explicit provider", () => {
        const k = key(prod, "aws:kms/key:Key", "shared-key");
        assert.strictEqual(k.inputs.multiRegion, true);
        assert.strictEqual(k.inputs.enableKeyRotation, true);
        assert.strictEqual(k.inputs.deletionWindowInDays, 30);
        const replica = key(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica");
        assert.strictEqual(replica.inputs.primaryKeyArn, "arn:aws:kms:us-east-1:111111111111:key/mrk-shared-key");
        const provider = prod.resources.find((r) => r.type === "pulumi:providers:aws" && r.name === "dr-region")!;
        assert.strictEqual(provider.inputs.region, "us-west-2");
        assert.ok(replica.provider?.startsWith(provider.urn), `replica provider ${replica.provider}`);
        const aliases = prod.resources.filter((r) => r.type === "aws:kms/alias:Alias").map((a) => [a.name, a.inputs.name, a.inputs.targetKeyId]);
        assert.deepStrictEqual(aliases, [
            ["shared-alias", "alias/pilotlight-shared", "mrk-shared-key"],
            ["shared-replica-alias", "alias/pilotlight-shared", "mrk-shared-replica"],
        ]);
        assert.ok(prod.resources.find((r) => r.name === "shared-replica-alias")!.provider?.startsWith(provider.urn));
    });

    it("lets the peer account use the key only through RDS (and dr's failback role through S3), never administer it", () => {
        for (const [res, viaS3] of [
            [key(prod, "aws:kms/key:Key", "shared-key"), ["PeerReplicationRoleEncryptsReplicas"]],
            [key(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica"), ["PeerUsesImagesThroughEc2", "PeerGrantsForEc2"]],
        ] as const) {
            const doc = JSON.parse(res.inputs.policy) as PolicyDocument;
            const peer = peerStatements(doc, "222222222222");
            assert.deepStrictEqual(peer.map((s) => s.Sid), ["PeerUsesThroughRds", "PeerGrantsForRds", ...viaS3]);
            for (const s of peer.slice(0, 2)) {
                assert.strictEqual(s.Effect, "Allow");
                assert.deepStrictEqual((s.Condition as any).StringEquals["kms:ViaService"], ["rds.us-east-1.amazonaws.com", "rds.us-west-2.amazonaws.com"]);
                for (const a of ([] as string[]).concat(s.Action)) {
                    assert.ok(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"].includes(a), `peer may ${a}`);
                }
            }
            assert.deepStrictEqual(peer[1].Action, ["kms:CreateGrant"]);
            assert.deepStrictEqual((peer[1].Condition as any).Bool, { "kms:GrantIsForAWSResource": true });
            const own = doc.Statement.filter((s) => JSON.stringify(s.Principal).includes("::111111111111:root"));
            assert.deepStrictEqual(own.map((s) => s.Sid), ["OwnAccountAdministers", "OwnAccountUses"]);
            assert.deepStrictEqual(wildcardActions(doc), [], "no kms:* anywhere");
        }
    });

    it("the replica lets the dr account launch and copy the image backups shared with it, through EC2 in the DR region only", () => {
        // The image copies in the DR region are encrypted with the replica: without EC2 use of it the
        // dr account can neither launch nor copy them.
        const doc = JSON.parse(key(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica").inputs.policy) as PolicyDocument;
        const ec2 = doc.Statement.filter((s) => /Ec2$/.test(s.Sid ?? ""));
        assert.deepStrictEqual(
            ec2.map((s) => [s.Sid, s.Principal, s.Action, s.Condition]),
            [
                ["PeerUsesImagesThroughEc2", { AWS: "arn:aws:iam::222222222222:root" }, ["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], { StringEquals: { "kms:ViaService": ["ec2.us-west-2.amazonaws.com"] } }],
                ["PeerGrantsForEc2", { AWS: "arn:aws:iam::222222222222:root" }, ["kms:CreateGrant"], { StringEquals: { "kms:ViaService": ["ec2.us-west-2.amazonaws.com"] }, Bool: { "kms:GrantIsForAWSResource": true } }],
            ],
        );
        // The home key never serves EC2 to the peer: images are shared in the DR region only.
        const home = JSON.parse(key(prod, "aws:kms/key:Key", "shared-key").inputs.policy) as PolicyDocument;
        assert.ok(!JSON.stringify(home).includes("ec2."), "no EC2 use of the home key");
        // Without image backups, the replica serves RDS only.
        assert.deepStrictEqual(keyPolicy({ accountId: "111111111111", region: "us-west-2", peerAccountId: "222222222222", rdsRegions: ["us-east-1", "us-west-2"] }).Statement.filter((s) => /Ec2$/.test(s.Sid ?? "")), []);
    });

    it("prod's key lets exactly dr's failback replication role encrypt replicas through S3 in prod's region", () => {
        const doc = JSON.parse(key(prod, "aws:kms/key:Key", "shared-key").inputs.policy) as PolicyDocument;
        assert.deepStrictEqual(
            doc.Statement.find((s) => s.Sid === "PeerReplicationRoleEncryptsReplicas"),
            {
                Sid: "PeerReplicationRoleEncryptsReplicas",
                Effect: "Allow",
                Principal: { AWS: "arn:aws:iam::222222222222:root" },
                Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                Resource: "*",
                Condition: {
                    StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" },
                    ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/pilotlight-media-failback-us-west-2" },
                },
            },
        );
    });

    it("grants nothing to a peer in the same account", () => {
        const doc = keyPolicy({ accountId: "111111111111", region: "us-east-1", peerAccountId: undefined, rdsRegions: ["us-east-1", "us-west-2"] });
        assert.deepStrictEqual(doc.Statement.map((s) => s.Sid), ["OwnAccountAdministers", "OwnAccountUses"]);
    });

    it("in a same-account setup the program itself adds no peer statements: the account's own use delegates to IAM", async () => {
        const run = await runProgram("prod", { sets: ["peer.accountId=111111111111"] });
        const doc = JSON.parse(key(run, "aws:kms/key:Key", "shared-key").inputs.policy) as PolicyDocument;
        assert.deepStrictEqual(doc.Statement.map((s) => s.Sid), ["OwnAccountAdministers", "OwnAccountUses"]);
        assert.strictEqual(run.outputs.sameAccount, true);
        // So dr's failback role in the same account encrypts with the key by its own IAM policy alone.
        const uses = doc.Statement[1];
        assert.deepStrictEqual([uses.Principal, uses.Resource, uses.Condition], [{ AWS: "arn:aws:iam::111111111111:root" }, "*", undefined]);
        for (const a of ["kms:Encrypt", "kms:GenerateDataKey*"]) assert.ok((uses.Action as string[]).includes(a), a);
    });

    it("dr has its own single-Region key; prod's replication role alone may encrypt replicas with it through S3", () => {
        const k = key(dr, "aws:kms/key:Key", "dr-key");
        assert.strictEqual(k.inputs.multiRegion, false);
        assert.strictEqual(k.inputs.enableKeyRotation, true);
        assert.ok(!dr.resources.some((r) => r.type === "aws:kms/replicaKey:ReplicaKey"));
        assert.strictEqual(dr.resources.find((r) => r.type === "aws:kms/alias:Alias")!.inputs.name, "alias/pilotlight-dr");
        const doc = JSON.parse(k.inputs.policy) as PolicyDocument;
        const replication = doc.Statement.find((s) => s.Sid === "PeerReplicationRoleEncryptsReplicas")!;
        assert.deepStrictEqual(replication.Action, ["kms:Encrypt", "kms:GenerateDataKey"]);
        assert.deepStrictEqual(replication.Condition, {
            StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" },
            ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/pilotlight-media-replication-us-east-1" },
        });
        for (const s of peerStatements(doc, "111111111111")) {
            for (const a of ([] as string[]).concat(s.Action)) assert.ok(!KEY_ADMIN_ACTIONS.includes(a), `peer may administer: ${a}`);
        }
    });

    it("keeps administration complete for the owner (no lock-out) without a kms:* action", () => {
        const doc = keyPolicy({ accountId: "111111111111", region: "us-east-1", peerAccountId: "222222222222", rdsRegions: ["us-east-1", "us-west-2"] });
        const owned = actionsOf({ Version: "2012-10-17", Statement: doc.Statement.filter((s) => s.Sid?.startsWith("OwnAccount")) });
        for (const needed of ["kms:Put*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Describe*", "kms:Decrypt", "kms:CreateGrant"]) assert.ok(owned.includes(needed), needed);
        assert.ok(!actionsOf(doc).includes("kms:*"));
    });
});
