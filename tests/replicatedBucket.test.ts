import * as assert from "assert";
import { PolicyDocument, wildcardActions } from "../components/iam";
import { replicationRule } from "../components/replicatedBucket";
import { oneResource, ProgramResource, ProgramRun, rolePolicyOf, runProgram } from "./program";

function one(run: ProgramRun, type: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type);
    assert.strictEqual(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0];
}

const PROD_BUCKET = "pilotlight-media-111111111111-us-east-1";
const DR_BUCKET = "pilotlight-media-222222222222-us-west-2";
const ROLE_ARN = "arn:aws:iam::111111111111:role/pilotlight-media-replication-us-east-1";
const FAILBACK_ROLE_ARN = "arn:aws:iam::222222222222:role/pilotlight-media-failback-us-west-2";
const REPLICATION_CONFIG = "aws:s3/bucketReplicationConfig:BucketReplicationConfig";

/** The rule both directions carry: the whole bucket, delete markers, SSE-KMS objects, replicas' metadata changes. */
function wholeBucketRule(id: string, destination: Record<string, unknown>) {
    return {
        id,
        status: "Enabled",
        priority: 1,
        filter: {},
        deleteMarkerReplication: { status: "Enabled" },
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" }, replicaModifications: { status: "Enabled" } },
        destination: { storageClass: "STANDARD", ...destination },
    };
}

/** The bucket named `name` is versioned (a BucketVersioning on its id, Enabled). */
function assertVersioned(run: ProgramRun, name: string): void {
    const bucket = run.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.inputs.bucket === name);
    assert.ok(bucket, `${run.stack} has no bucket ${name}`);
    const versioning = run.resources.filter((r) => r.type === "aws:s3/bucketVersioning:BucketVersioning" && r.inputs.bucket === bucket.id);
    assert.deepStrictEqual(versioning.map((v) => v.inputs.versioningConfiguration), [{ status: "Enabled" }], `${name} is not versioned`);
}

describe("replicatedBucket", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    let drFailover: ProgramRun;
    // Same-account setups: prod with dr in its account, and dr (failed over) with prod in its account.
    let prodOneAccount: ProgramRun;
    let drOneAccount: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        dr = await runProgram("dr");
        drFailover = await runProgram("dr", { sets: ["failover=true"] });
        prodOneAccount = await runProgram("prod", { sets: ["peer.accountId=111111111111"] });
        drOneAccount = await runProgram("dr", { sets: ["failover=true", "peer.accountId=222222222222"] });
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
            wholeBucketRule("media-to-dr", {
                bucket: `arn:aws:s3:::${DR_BUCKET}`,
                encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:us-west-2:222222222222:alias/pilotlight-dr" },
                account: "222222222222",
                accessControlTranslation: { owner: "Destination" },
                replicationTime: { status: "Enabled", time: { minutes: 15 } },
                metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
            }),
        ]);
    });

    it("omits Replication Time Control when off (metrics stay on), and the ownership override in one account", () => {
        const target = { bucketName: "b", bucketArn: "arn:aws:s3:::b", accountId: "111111111111", region: "us-west-2", keyAlias: "alias/x", keyAliasArn: "arn:aws:kms:us-west-2:111111111111:alias/x", keysPattern: "arn:aws:kms:us-west-2:111111111111:key/*", keyLabel: "X" };
        const dest = replicationRule("media-to-dr", target, false, false).destination as any;
        assert.deepStrictEqual(Object.keys(dest).sort(), ["bucket", "encryptionConfiguration", "metrics", "storageClass"]);
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

    it("dr replicates nothing back without failover, but its failback role and policy wait in the pilot light, unchanged by the switch", () => {
        assert.ok(!dr.resources.some((r) => r.type === REPLICATION_CONFIG));
        assert.strictEqual(dr.outputs.mediaFailbackReplicationRoleArn, FAILBACK_ROLE_ARN);
        for (const type of ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"]) {
            assert.deepStrictEqual(oneResource(dr, type, "media-failback").inputs, oneResource(drFailover, type, "media-failback").inputs, type);
        }
    });

    it("dr while failed over replicates every new object back to prod's bucket, re-encrypted with prod's shared key, ownership handed over", () => {
        const cfg = oneResource(drFailover, REPLICATION_CONFIG, "media-failback").inputs;
        assert.strictEqual(cfg.bucket, oneResource(drFailover, "aws:s3/bucket:Bucket", "media").id);
        assert.strictEqual(cfg.role, FAILBACK_ROLE_ARN);
        assert.deepStrictEqual(cfg.rules, [
            wholeBucketRule("media-to-primary", {
                bucket: `arn:aws:s3:::${PROD_BUCKET}`,
                encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:us-east-1:111111111111:alias/pilotlight-shared" },
                account: "111111111111",
                accessControlTranslation: { owner: "Destination" },
                metrics: { status: "Enabled" },
            }),
        ]);
        assert.strictEqual(drFailover.outputs.mediaFailbackReplicationRoleArn, FAILBACK_ROLE_ARN);
    });

    it("a drill (media.replicateBack false) replicates nothing back to prod and adds nothing to the bucket", async () => {
        const drill = await runProgram("dr", { sets: ["failover=true", "media.replicateBack=false"] });
        const mediaChildren = (p: typeof dr) => p.resources.filter((r) => r.parent?.endsWith("ReplicatedBucket::media")).map((r) => `${r.type} ${r.name}`).sort();
        assert.deepStrictEqual(mediaChildren(drill), mediaChildren(dr));
        assert.ok(!drill.resources.some((r) => r.type === REPLICATION_CONFIG));
        assert.ok(drill.resources.some((r) => r.name === "database-instance"), "the drill still fails over the database");
    });

    it("in one account the failback rule names no account and no owner override, and targets the shared key of that account", () => {
        const [rule] = oneResource(drOneAccount, REPLICATION_CONFIG, "media-failback").inputs.rules;
        assert.deepStrictEqual(rule.destination, {
            bucket: "arn:aws:s3:::pilotlight-media-222222222222-us-east-1",
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: "arn:aws:kms:us-east-1:222222222222:alias/pilotlight-shared" },
            metrics: { status: "Enabled" },
        });
    });

    it("the failback rule gets Replication Time Control from dr's own media settings", async () => {
        const withRtc = await runProgram("dr", { sets: ["failover=true", "media.replicationTimeControl=true"] });
        const [rule] = oneResource(withRtc, REPLICATION_CONFIG, "media-failback").inputs.rules;
        assert.deepStrictEqual([rule.destination.replicationTime, rule.destination.metrics], [
            { status: "Enabled", time: { minutes: 15 } },
            { status: "Enabled", eventThreshold: { minutes: 15 } },
        ]);
    });

    it("S3 requires versioning on both ends: every replication direction has a versioned source and destination", () => {
        const byName = new Map<string, ProgramRun>([
            [PROD_BUCKET, prod],
            [DR_BUCKET, drFailover],
        ]);
        const directions: string[] = [];
        for (const run of [prod, drFailover]) {
            for (const cfg of run.resources.filter((r) => r.type === REPLICATION_CONFIG)) {
                const source = run.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.id === cfg.inputs.bucket)!.inputs.bucket;
                const destination = (cfg.inputs.rules[0].destination.bucket as string).replace("arn:aws:s3:::", "");
                assertVersioned(run, source);
                assertVersioned(byName.get(destination)!, destination);
                directions.push(`${source} -> ${destination}`);
            }
        }
        assert.deepStrictEqual(directions, [`${PROD_BUCKET} -> ${DR_BUCKET}`, `${DR_BUCKET} -> ${PROD_BUCKET}`]);
    });

    it("the failback role, trusted by S3 alone, reads dr's bucket and DR key and writes prod's bucket under prod's shared key", () => {
        const role = oneResource(drFailover, "aws:iam/role:Role", "media-failback");
        assert.strictEqual(role.inputs.name, "pilotlight-media-failback-us-west-2");
        assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy), {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "222222222222" } } }],
        });
        assert.deepStrictEqual(rolePolicyOf(drFailover, "media-failback"), {
            Version: "2012-10-17",
            Statement: [
                { Sid: "ReadSourceConfiguration", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: `arn:aws:s3:::${DR_BUCKET}` },
                {
                    Sid: "ReadSourceVersions",
                    Effect: "Allow",
                    Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                    Resource: `arn:aws:s3:::${DR_BUCKET}/*`,
                },
                {
                    Sid: "WriteReplicas",
                    Effect: "Allow",
                    Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
                    Resource: `arn:aws:s3:::${PROD_BUCKET}/*`,
                },
                {
                    Sid: "DecryptSourceObjects",
                    Effect: "Allow",
                    Action: ["kms:Decrypt"],
                    Resource: "arn:aws:kms:us-west-2:222222222222:key/mrk-dr-key",
                    Condition: {
                        StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" },
                        StringLike: { "kms:EncryptionContext:aws:s3:arn": [`arn:aws:s3:::${DR_BUCKET}`, `arn:aws:s3:::${DR_BUCKET}/*`] },
                    },
                },
                {
                    Sid: "EncryptReplicasWithSharedKey",
                    Effect: "Allow",
                    Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                    Resource: "arn:aws:kms:us-east-1:111111111111:key/*",
                    Condition: {
                        StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" },
                        StringLike: { "kms:EncryptionContext:aws:s3:arn": [`arn:aws:s3:::${PROD_BUCKET}`, `arn:aws:s3:::${PROD_BUCKET}/*`] },
                        "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/pilotlight-shared" },
                    },
                },
            ],
        });
    });

    it("in one account the failback role's own policy admits the shared key (the key policy leaves it to IAM)", () => {
        const encrypt = rolePolicyOf(drOneAccount, "media-failback").Statement.find((s: any) => s.Sid === "EncryptReplicasWithSharedKey");
        assert.strictEqual(encrypt.Resource, "arn:aws:kms:us-east-1:222222222222:key/*");
        assert.deepStrictEqual(encrypt.Condition["ForAnyValue:StringEquals"], { "kms:ResourceAliases": "alias/pilotlight-shared" });
        assert.deepStrictEqual(encrypt.Condition.StringEquals, { "kms:ViaService": "s3.us-east-1.amazonaws.com" });
    });

    it("prod's bucket admits exactly dr's failback role, whether or not dr is failed over, cross-account and in one account", () => {
        for (const [run, account] of [
            [prod, "222222222222"],
            [prodOneAccount, "111111111111"],
        ] as const) {
            const policy = JSON.parse(one(run, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDocument;
            const fromRole = { ArnEquals: { "aws:PrincipalArn": `arn:aws:iam::${account}:role/pilotlight-media-failback-us-west-2` } };
            assert.deepStrictEqual(policy.Statement.slice(1), [
                {
                    Sid: "ReplicationRoleWritesReplicas",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${account}:root` },
                    Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
                    Resource: `arn:aws:s3:::${PROD_BUCKET}/*`,
                    Condition: fromRole,
                },
                {
                    Sid: "ReplicationRoleReadsBucketVersioning",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${account}:root` },
                    Action: ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:List*"],
                    Resource: `arn:aws:s3:::${PROD_BUCKET}`,
                    Condition: fromRole,
                },
            ]);
        }
    });

    it("names match across the two stacks for failback: dr's role is the one prod admits, prod's bucket and shared key alias are dr's target", () => {
        const failbackRole = drFailover.outputs.mediaFailbackReplicationRoleArn as string;
        assert.ok(one(prod, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy.includes(`"aws:PrincipalArn":"${failbackRole}"`));
        assert.ok(prod.resources.find((r) => r.type === "aws:kms/key:Key")!.inputs.policy.includes(`"aws:PrincipalArn":"${failbackRole}"`));
        const destination = oneResource(drFailover, REPLICATION_CONFIG, "media-failback").inputs.rules[0].destination;
        assert.strictEqual(destination.bucket, `arn:aws:s3:::${prod.outputs.mediaBucket}`);
        const alias = oneResource(prod, "aws:kms/alias:Alias", "shared-alias").inputs.name;
        const keyArn = prod.outputs.keyArn as string;
        assert.strictEqual(destination.encryptionConfiguration.replicaKmsKeyId, `${keyArn.slice(0, keyArn.indexOf(":key/"))}:${alias}`);
    });
});
