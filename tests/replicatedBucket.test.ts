import * as assert from "assert";
import { PolicyDocument, wildcardActions } from "../components/iam";
import { replicationRule } from "../components/replicatedBucket";
import { ProgramResource, ProgramRun, runProgram } from "./program";

function one(run: ProgramRun, type: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type);
    assert.strictEqual(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0];
}

const PROD_BUCKET = "pilotlight-media-111111111111-us-east-1";
const DR_BUCKET = "pilotlight-media-222222222222-us-west-2";
const ROLE_ARN = "arn:aws:iam::111111111111:role/pilotlight-media-replication-us-east-1";

describe("replicatedBucket", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        dr = await runProgram("dr");
    });

    it("both buckets: versioned, SSE-KMS with bucket keys under the stack's key, public access blocked, owner-enforced", () => {
        for (const [run, name, keyArn] of [
            [prod, PROD_BUCKET, "arn:aws:kms:us-east-1:111111111111:key/mrk-shared-key"],
            [dr, DR_BUCKET, "arn:aws:kms:us-west-2:222222222222:key/mrk-dr-key"],
        ] as const) {
            assert.strictEqual(one(run, "aws:s3/bucket:Bucket").inputs.bucket, name);
            assert.deepStrictEqual(one(run, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration, { status: "Enabled" });
            assert.deepStrictEqual(one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules, [
                { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true },
            ]);
            const pab = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
            assert.deepStrictEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
            assert.deepStrictEqual(one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
            const policy = JSON.parse(one(run, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDocument;
            assert.deepStrictEqual(policy.Statement[0], {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: "s3:*",
                Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
                Condition: { Bool: { "aws:SecureTransport": false } },
            });
        }
    });

    it("prod replicates the whole bucket to the computed dr bucket, re-encrypting with the DR key and handing ownership over", () => {
        const cfg = one(prod, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs;
        assert.strictEqual(cfg.role, ROLE_ARN);
        assert.deepStrictEqual(cfg.rules, [
            {
                id: "media-to-dr",
                status: "Enabled",
                priority: 1,
                filter: {},
                deleteMarkerReplication: { status: "Enabled" },
                sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" }, replicaModifications: { status: "Enabled" } },
                destination: {
                    bucket: `arn:aws:s3:::${DR_BUCKET}`,
                    storageClass: "STANDARD",
                    encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:us-west-2:222222222222:alias/pilotlight-dr" },
                    account: "222222222222",
                    accessControlTranslation: { owner: "Destination" },
                    replicationTime: { status: "Enabled", time: { minutes: 15 } },
                    metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
                },
            },
        ]);
    });

    it("omits Replication Time Control when off, and the ownership override in one account", () => {
        const target = { bucketName: "b", bucketArn: "arn:aws:s3:::b", accountId: "111111111111", region: "us-west-2", keyAlias: "alias/x", keyAliasArn: "arn:aws:kms:us-west-2:111111111111:alias/x", keysPattern: "arn:aws:kms:us-west-2:111111111111:key/*" };
        const dest = replicationRule(target, false, false).destination as any;
        assert.deepStrictEqual(Object.keys(dest).sort(), ["bucket", "encryptionConfiguration", "storageClass"]);
    });

    it("the replication role may do only what replication needs, on the two buckets and keys", () => {
        const role = prod.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "media-replication")!;
        assert.strictEqual(role.inputs.name, "pilotlight-media-replication-us-east-1");
        const trust = JSON.parse(role.inputs.assumeRolePolicy) as PolicyDocument;
        assert.deepStrictEqual(trust.Statement[0].Principal, { Service: "s3.amazonaws.com" });
        const doc = JSON.parse(prod.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "media-replication")!.inputs.policy) as PolicyDocument;
        assert.deepStrictEqual(wildcardActions(doc), []);
        const resources = doc.Statement.flatMap((s) => ([] as string[]).concat(s.Resource as string));
        assert.deepStrictEqual(resources, [
            `arn:aws:s3:::${PROD_BUCKET}`,
            `arn:aws:s3:::${PROD_BUCKET}/*`,
            `arn:aws:s3:::${DR_BUCKET}/*`,
            "arn:aws:kms:us-east-1:111111111111:key/mrk-shared-key",
            "arn:aws:kms:us-west-2:222222222222:key/*",
        ]);
        const drKey = doc.Statement.find((s) => s.Sid === "EncryptReplicasWithDrKey")!;
        assert.deepStrictEqual((drKey.Condition as any)["ForAnyValue:StringEquals"], { "kms:ResourceAliases": "alias/pilotlight-dr" });
        assert.deepStrictEqual((drKey.Condition as any).StringEquals, { "kms:ViaService": "s3.us-west-2.amazonaws.com" });
        assert.ok(!doc.Statement.some((s) => s.Resource === "*"));
    });

    it("the dr bucket admits exactly prod's replication role", () => {
        const policy = JSON.parse(one(dr, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDocument;
        const allows = policy.Statement.filter((s) => s.Effect === "Allow");
        assert.strictEqual(allows.length, 2);
        for (const s of allows) {
            assert.deepStrictEqual(s.Principal, { AWS: "arn:aws:iam::111111111111:root" });
            assert.deepStrictEqual(s.Condition, { ArnEquals: { "aws:PrincipalArn": ROLE_ARN } });
        }
        assert.deepStrictEqual(allows[0].Resource, `arn:aws:s3:::${DR_BUCKET}/*`);
        assert.deepStrictEqual(allows[0].Action, ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]);
        assert.deepStrictEqual(allows[1].Resource, `arn:aws:s3:::${DR_BUCKET}`);
        assert.deepStrictEqual(allows[1].Action, ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:List*"]);
        assert.ok(!dr.resources.some((r) => r.type === "aws:s3/bucketReplicationConfig:BucketReplicationConfig"));
    });

    it("names match across the two stacks: prod's target is dr's bucket, dr's admitted role is prod's role", () => {
        assert.strictEqual(prod.outputs.mediaReplicaBucket, dr.outputs.mediaBucket);
        const roleName = prod.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "media-replication")!.inputs.name;
        assert.ok(JSON.stringify(JSON.parse(one(dr, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy)).includes(`role/${roleName}`));
        assert.ok(JSON.stringify(JSON.parse(dr.resources.find((r) => r.type === "aws:kms/key:Key")!.inputs.policy)).includes(`role/${roleName}`));
    });
});
