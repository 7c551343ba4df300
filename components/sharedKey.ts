// KMS keys. On the primary: a multi-Region customer-managed key whose replica lives
// in the DR region, usable (never administrable) by the peer account through RDS so
// that snapshots can be shared and copied, and which dr's failback replication role
// may encrypt with through S3. On dr: the DR account's own key, which re-encrypts
// copies and the replica bucket and which the primary's replication role may encrypt
// with through S3.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyDocument, policyDocument, PolicyStatement } from "./iam";
import { accountRoot } from "./naming";

/** Administration of a key by its own account: every management action, listed (no `kms:*`). */
export const KEY_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
    "kms:RotateKeyOnDemand",
];

/** Cryptographic use of a key. */
export const KEY_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];

/** What a key policy needs to know. */
export interface KeyPolicyInput {
    /** Account that owns and administers the key. */
    accountId: string;
    /** Region of the key (for the partition). */
    region: string;
    /** The other account, or undefined in a same-account setup (then nothing is granted to it). */
    peerAccountId?: string;
    /** Regions in which the peer may use the key through RDS (the two stacks' regions). */
    rdsRegions: string[];
    /** Peer principal ARN that may encrypt through S3: the peer's replication role into this stack's bucket. */
    replicationRoleArn?: string;
    /** Region whose S3 service the replication role uses the key through. */
    s3Region?: string;
    /**
     * Regions in which the peer may use the key through EC2: the DR region of the replica, whose
     * image backups are shared with the dr account (launching or copying an encrypted AMI decrypts
     * its snapshots with the caller's permissions). Defaults to none.
     */
    ec2Regions?: string[];
}

/**
 * The key policy. The owning account administers and uses the key; the peer account
 * (only when it is another account) may use it for RDS snapshot sharing and exactly the
 * peer's replication role into this stack's bucket (dr key: the primary's; primary key:
 * dr's failback role) may encrypt replicas through S3. The peer never administers. In
 * one account, OwnAccountUses leaves it to the roles' own IAM policies. In a key policy,
 * Resource "*" means this key and nothing else (KMS requires it). Exported for testing.
 */
export function keyPolicy(k: KeyPolicyInput): PolicyDocument {
    const own = accountRoot(k.accountId, k.region);
    const statements: PolicyStatement[] = [
        { Sid: "OwnAccountAdministers", Effect: "Allow", Principal: { AWS: own }, Action: KEY_ADMIN_ACTIONS, Resource: "*" },
        {
            Sid: "OwnAccountUses",
            Effect: "Allow",
            Principal: { AWS: own },
            Action: [...KEY_USE_ACTIONS, "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            Resource: "*",
        },
    ];
    if (k.peerAccountId && k.peerAccountId !== k.accountId) {
        const peer = accountRoot(k.peerAccountId, k.region);
        // The peer uses the key only through one service in the given regions, and grants only to AWS resources.
        const throughService = (useSid: string, grantSid: string, service: string, regions: string[], actions: string[]): PolicyStatement[] => {
            const via = { "kms:ViaService": regions.map((r) => `${service}.${r}.amazonaws.com`) };
            return [
                { Sid: useSid, Effect: "Allow", Principal: { AWS: peer }, Action: actions, Resource: "*", Condition: { StringEquals: via } },
                { Sid: grantSid, Effect: "Allow", Principal: { AWS: peer }, Action: ["kms:CreateGrant"], Resource: "*", Condition: { StringEquals: via, Bool: { "kms:GrantIsForAWSResource": true } } },
            ];
        };
        statements.push(...throughService("PeerUsesThroughRds", "PeerGrantsForRds", "rds", k.rdsRegions, KEY_USE_ACTIONS));
        if (k.ec2Regions && k.ec2Regions.length > 0) {
            // Launching or copying an image shared with the peer decrypts its snapshots (EBS also asks for data keys).
            statements.push(...throughService("PeerUsesImagesThroughEc2", "PeerGrantsForEc2", "ec2", k.ec2Regions, ["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]));
        }
        if (k.replicationRoleArn && k.s3Region) {
            // The role is named by computation and may not exist yet (either deploy order
            // works): a root principal narrowed by aws:PrincipalArn is accepted by KMS
            // even then, and still admits exactly that role.
            statements.push({
                Sid: "PeerReplicationRoleEncryptsReplicas",
                Effect: "Allow",
                Principal: { AWS: peer },
                Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                Resource: "*",
                Condition: {
                    StringEquals: { "kms:ViaService": `s3.${k.s3Region}.amazonaws.com` },
                    ArnEquals: { "aws:PrincipalArn": k.replicationRoleArn },
                },
            });
        }
    }
    return policyDocument(statements);
}

export interface SharedKeyArgs {
    /** `primary`: multi-Region key + replica in the DR region. `dr`: the DR account's own key. */
    role: "primary" | "dr";
    /** Alias name, `alias/...`. */
    alias: string;
    /** Account owning the key. */
    accountId: string;
    /** Region of the key. */
    region: string;
    /** Peer account (omit or equal to `accountId` for a same-account setup). */
    peerAccountId: string;
    /** Peer region: where the replica (primary) lives. */
    peerRegion: string;
    /** Provider for the DR region; required on the primary for the replica. */
    replicaProvider?: pulumi.ProviderResource;
    /** primary: image backups are copied into the DR region and shared with the peer account (the replica then serves EC2 to it). */
    imagesSharedWithPeer?: boolean;
    /** The peer's replication role ARN allowed to encrypt replicas (dr: the primary's role; primary: dr's failback role). Defaults to none. */
    replicationRoleArn?: string;
    /** Days before a deleted key is gone. Defaults to 30 (the maximum). */
    deletionWindowInDays?: number;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** The stack's KMS key (and, on the primary, its DR-region replica). */
export class SharedKey extends pulumi.ComponentResource {
    /** The key. */
    public readonly key: aws.kms.Key;
    /** ARN of the key. */
    public readonly keyArn: pulumi.Output<string>;
    /** ARN of the replica in the peer region (primary only). */
    public readonly replicaKeyArn?: pulumi.Output<string>;
    /** The key policy (primary region). */
    public readonly policy: PolicyDocument;
    /** The replica's key policy (primary only). */
    public readonly replicaPolicy?: PolicyDocument;

    constructor(name: string, args: SharedKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:kms:SharedKey", name, {}, opts);
        const tags = args.tags ?? {};
        const rdsRegions = [args.region, args.peerRegion];
        const deletionWindowInDays = args.deletionWindowInDays ?? 30;
        const peerAccountId = args.peerAccountId === args.accountId ? undefined : args.peerAccountId;

        this.policy = keyPolicy({
            accountId: args.accountId,
            region: args.region,
            peerAccountId,
            rdsRegions,
            replicationRoleArn: args.replicationRoleArn,
            s3Region: args.region,
        });
        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: args.role === "primary" ? "pilotlight shared key (multi-Region): databases, snapshots, media" : "pilotlight DR key: re-encrypted copies and the media replica",
                multiRegion: args.role === "primary",
                enableKeyRotation: true,
                deletionWindowInDays,
                policy: JSON.stringify(this.policy),
                tags,
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-alias`, { name: args.alias, targetKeyId: this.key.keyId }, { parent: this });
        this.keyArn = this.key.arn;

        if (args.role === "primary") {
            if (!args.replicaProvider) throw new Error("SharedKey: the primary key needs replicaProvider for the DR region");
            this.replicaPolicy = keyPolicy({
                accountId: args.accountId,
                region: args.peerRegion,
                peerAccountId,
                rdsRegions,
                ec2Regions: args.imagesSharedWithPeer ? [args.peerRegion] : undefined,
            });
            const replica = new aws.kms.ReplicaKey(
                `${name}-replica`,
                {
                    description: "pilotlight shared key, replica in the DR region",
                    primaryKeyArn: this.key.arn,
                    deletionWindowInDays,
                    policy: JSON.stringify(this.replicaPolicy),
                    tags,
                },
                { parent: this, provider: args.replicaProvider },
            );
            new aws.kms.Alias(`${name}-replica-alias`, { name: args.alias, targetKeyId: replica.keyId }, { parent: this, provider: args.replicaProvider });
            this.replicaKeyArn = replica.arn;
        }

        this.registerOutputs({ keyArn: this.keyArn, replicaKeyArn: this.replicaKeyArn });
    }
}
