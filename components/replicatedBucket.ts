// The media bucket. On the primary it replicates everything (objects, delete markers,
// KMS-encrypted objects re-encrypted with the DR key) to the dr stack's replica bucket,
// whose name and key alias are computed from the peer config. On dr, the replica
// bucket admits exactly the primary's replication role. While dr is failed over, its
// bucket replicates what the app writes there back to the primary's bucket (S3's
// two-way replication), which admits exactly dr's failback role at all times.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, PolicyDocument, policyDocument, PolicyStatement } from "./iam";
import { aliasArn, bucketArn, keysInRegion, mediaBucketName, NameScope } from "./naming";

/**
 * Denies every request that is not over TLS. A Deny of every S3 action, by everyone, on
 * this bucket only (the AWS-documented TLS guard): it grants nothing.
 */
export function tlsOnlyStatement(bucketArn: string): PolicyStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": false } },
    };
}

/** Where a bucket replicates to (dr's replica bucket, or the primary's for failback): all computed from the peer config. */
export interface ReplicationTarget {
    /** Destination bucket name. */
    bucketName: string;
    /** Destination bucket ARN. */
    bucketArn: string;
    /** Account owning the destination bucket. */
    accountId: string;
    /** Region of the destination bucket. */
    region: string;
    /** ARN of the destination key's alias (S3 accepts an alias ARN as the replica key). */
    keyAliasArn: string;
    /** The destination key's alias name (`alias/...`), for the role's KMS condition. */
    keyAlias: string;
    /** Key ARN pattern of the destination account and region, narrowed by the alias condition. */
    keysPattern: string;
    /** Names the destination key in the role policy (`EncryptReplicasWith<keyLabel>`), e.g. `DrKey`. */
    keyLabel: string;
}

/** The peer's media bucket as a replication destination, replicas encrypted under the peer's key `keyAlias`. */
export function peerBucketTarget(peer: NameScope, keyAlias: string, keyLabel: string): ReplicationTarget {
    const bucketName = mediaBucketName(peer);
    return {
        bucketName,
        bucketArn: bucketArn(bucketName, peer.region),
        accountId: peer.accountId,
        region: peer.region,
        keyAliasArn: aliasArn(peer, keyAlias),
        keyAlias,
        keysPattern: keysInRegion(peer),
        keyLabel,
    };
}

/** What the replication role policy needs. */
export interface ReplicationPolicyInput {
    sourceBucketArn: string;
    sourceKeyArn: string;
    sourceRegion: string;
    target: ReplicationTarget;
}

/**
 * The replication role may do only what S3 replication needs, on the two buckets and
 * the two keys. Exported for testing.
 */
export function replicationRolePolicy(p: ReplicationPolicyInput): PolicyDocument {
    const src = p.sourceBucketArn;
    const dst = p.target.bucketArn;
    return policyDocument([
        { Sid: "ReadSourceConfiguration", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: src },
        {
            Sid: "ReadSourceVersions",
            Effect: "Allow",
            Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            Resource: `${src}/*`,
        },
        {
            Sid: "WriteReplicas",
            Effect: "Allow",
            Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
            Resource: `${dst}/*`,
        },
        {
            Sid: "DecryptSourceObjects",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: p.sourceKeyArn,
            Condition: {
                StringEquals: { "kms:ViaService": `s3.${p.sourceRegion}.amazonaws.com` },
                StringLike: { "kms:EncryptionContext:aws:s3:arn": [src, `${src}/*`] },
            },
        },
        {
            // The destination key's ARN has a random id this stack cannot know; its alias is computed.
            Sid: `EncryptReplicasWith${p.target.keyLabel}`,
            Effect: "Allow",
            Action: ["kms:Encrypt", "kms:GenerateDataKey"],
            Resource: p.target.keysPattern,
            Condition: {
                StringEquals: { "kms:ViaService": `s3.${p.target.region}.amazonaws.com` },
                StringLike: { "kms:EncryptionContext:aws:s3:arn": [dst, `${dst}/*`] },
                "ForAnyValue:StringEquals": { "kms:ResourceAliases": p.target.keyAlias },
            },
        },
    ]);
}

/**
 * A replication destination's policy (dr's replica bucket; the primary's, for failback):
 * TLS only, and the peer's replication role may replicate in.
 */
export function replicaBucketPolicy(bucketArn: string, replicationRoleArn: string, sourceAccountRoot: string): PolicyDocument {
    // Principal is the source account narrowed to the role by aws:PrincipalArn: S3 rejects
    // a policy naming a role that does not exist yet, and either stack may be deployed first.
    const fromRole = { ArnEquals: { "aws:PrincipalArn": replicationRoleArn } };
    return policyDocument([
        tlsOnlyStatement(bucketArn),
        {
            Sid: "ReplicationRoleWritesReplicas",
            Effect: "Allow",
            Principal: { AWS: sourceAccountRoot },
            Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
            Resource: `${bucketArn}/*`,
            Condition: fromRole,
        },
        // The bucket-level set AWS documents for a cross-account replication destination.
        {
            Sid: "ReplicationRoleReadsBucketVersioning",
            Effect: "Allow",
            Principal: { AWS: sourceAccountRoot },
            Action: ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:List*"],
            Resource: bucketArn,
            Condition: fromRole,
        },
    ]);
}

/**
 * A replication rule: the whole bucket, delete markers, KMS objects re-encrypted, metadata
 * changes made to replicas synced back to their source (replica modification sync, which
 * both directions of two-way replication carry), replication metrics, optional RTC.
 */
export function replicationRule(id: string, target: ReplicationTarget, crossAccount: boolean, timeControl: boolean): aws.types.input.s3.BucketReplicationConfigRule {
    return {
        id,
        status: "Enabled",
        priority: 1,
        filter: {},
        deleteMarkerReplication: { status: "Enabled" },
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" }, replicaModifications: { status: "Enabled" } },
        destination: {
            bucket: target.bucketArn,
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: target.keyAliasArn },
            ...(crossAccount ? { account: target.accountId, accessControlTranslation: { owner: "Destination" } } : {}),
            // Replication metrics always, so failures and lag are alarmed on: "You can enable S3 Replication
            // metrics independently of S3 RTC." Metrics.EventThreshold ("Required: No") is the time for RTC's
            // s3:Replication:OperationMissedThreshold event, so it comes only with RTC.
            ...(timeControl
                ? {
                      replicationTime: { status: "Enabled", time: { minutes: 15 } },
                      metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
                  }
                : { metrics: { status: "Enabled" } }),
        },
    };
}

export interface ReplicatedBucketArgs {
    /** `primary`: the media bucket, replicating to dr. `dr`: the replica bucket, replicating back while failed over. */
    role: "primary" | "dr";
    /** Physical bucket name (computed, see naming.ts). */
    bucketName: string;
    /** Account owning this bucket. */
    accountId: string;
    /** Region of this bucket. */
    region: string;
    /** ARN of the KMS key for SSE-KMS. */
    kmsKeyArn: pulumi.Input<string>;
    /** Where the bucket replicates to: primary, dr's replica bucket; dr, the primary's bucket (failback). Its role always exists. Defaults to none. */
    replicateTo?: ReplicationTarget;
    /**
     * Turn the replication to `replicateTo` on (the bucket's replication configuration). dr turns it on
     * only while failed over; its role exists regardless, so that switching needs no IAM change.
     * Defaults to true.
     */
    replicationEnabled?: boolean;
    /** Physical name of the role replicating to `replicateTo` (computed, so the peer can admit it). Required with `replicateTo`. */
    replicationRoleName?: string;
    /** S3 Replication Time Control (15-minute SLA) for `replicateTo`; replication metrics are on either way. Defaults to false. */
    replicationTimeControl?: boolean;
    /** ARN of the peer's role replicating into this bucket (dr: the primary's replication role; primary: dr's failback role), admitted by the bucket policy. */
    peerReplicationRoleArn: string;
    /** Root principal of the peer's account. */
    peerAccountRoot: string;
    /** Days to keep noncurrent versions. Defaults to 90. */
    noncurrentVersionDays?: number;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** The media bucket (primary) or its replica (dr). */
export class ReplicatedBucket extends pulumi.ComponentResource {
    /** The bucket. */
    public readonly bucket: aws.s3.Bucket;
    /** Bucket name. */
    public readonly bucketName: pulumi.Output<string>;
    /** Bucket ARN. */
    public readonly bucketArn: pulumi.Output<string>;
    /** The bucket policy document. */
    public readonly policy: PolicyDocument;
    /** The role replicating to `replicateTo` (always created with it, also while replication is off). */
    public readonly replicationRole?: aws.iam.Role;
    /** That role's policy document. */
    public readonly replicationPolicy?: pulumi.Output<PolicyDocument>;

    constructor(name: string, args: ReplicatedBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:storage:ReplicatedBucket", name, {}, opts);
        const tags = args.tags ?? {};
        const arn = bucketArn(args.bucketName, args.region);
        if (args.role === "primary" && !args.replicateTo) {
            throw new Error("ReplicatedBucket: the primary bucket needs replicateTo");
        }
        if (args.replicateTo && !args.replicationRoleName) {
            throw new Error("ReplicatedBucket: replicateTo needs replicationRoleName");
        }

        this.bucket = new aws.s3.Bucket(`${name}`, { bucket: args.bucketName, forceDestroy: false, tags }, { parent: this });
        this.bucketName = this.bucket.bucket;
        this.bucketArn = this.bucket.arn;
        const child = { parent: this };

        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } }, child);
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket: this.bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true }] },
            child,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            child,
        );
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: this.bucket.id,
                rules: [
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 90 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            { parent: this, dependsOn: [versioning] },
        );

        // Both buckets receive replicas: dr's always, the primary's from dr while it is failed over.
        this.policy = replicaBucketPolicy(arn, args.peerReplicationRoleArn, args.peerAccountRoot);
        new aws.s3.BucketPolicy(`${name}-policy`, { bucket: this.bucket.id, policy: JSON.stringify(this.policy) }, { parent: this, dependsOn: [publicAccess] });

        if (args.replicateTo) {
            const target = args.replicateTo;
            // dr -> primary is S3's two-way pattern: S3 never replicates an object that is itself a
            // replica (replica modification sync carries only metadata changes made to replicas), so
            // what one direction writes is not sent back by the other and nothing loops.
            const [resource, ruleId] = args.role === "primary" ? [`${name}-replication`, "media-to-dr"] : [`${name}-failback`, "media-to-primary"];
            this.replicationPolicy = pulumi
                .output(args.kmsKeyArn)
                .apply((keyArn) => replicationRolePolicy({ sourceBucketArn: arn, sourceKeyArn: keyArn, sourceRegion: args.region, target }));
            this.replicationRole = new aws.iam.Role(
                resource,
                {
                    name: args.replicationRoleName,
                    description: `S3 replication of ${args.bucketName} to ${target.bucketName}`,
                    assumeRolePolicy: JSON.stringify(assumeRolePolicy("s3.amazonaws.com", args.accountId)),
                    tags,
                },
                child,
            );
            const inline = new aws.iam.RolePolicy(resource, { role: this.replicationRole.id, policy: this.replicationPolicy.apply((d) => JSON.stringify(d)) }, child);
            // The role and its policy are IAM (a global control plane): they stay; only the bucket's own
            // replication configuration (S3 in this region) follows the switch.
            if (args.replicationEnabled ?? true)
                new aws.s3.BucketReplicationConfig(
                resource,
                {
                    bucket: this.bucket.id,
                    role: this.replicationRole.arn,
                    rules: [replicationRule(ruleId, target, target.accountId !== args.accountId, args.replicationTimeControl ?? false)],
                },
                { parent: this, dependsOn: [versioning, inline] },
            );
        }

        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
