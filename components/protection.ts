// Data that outlives a mistake. A mistaken `pulumi destroy`, `pulumi stack rm`, or a change that
// forces a replacement must not delete the keys (and with them every snapshot, copy and object
// encrypted under them), the buckets or the databases. One stack transformation, registered at the
// top of index.ts, gives every resource of a stateful type Pulumi's `protect` (and `retainOnDelete`
// where the data must outlive the stack) without each component having to remember it.
//
// Why a stack transformation and not `pulumi.runtime.registerResourceTransform`: in
// @pulumi/pulumi 3.248 the newer transforms run through the engine's callback server, and under
// `pulumi.runtime.setMocks` the SDK refuses them ("The Pulumi CLI does not support transforms"),
// so they could never be tested offline. A stack transformation runs inside the SDK, the same way
// under mocks and under `pulumi up`; it sees every resource this program constructs (not the
// children of remote components such as awsx's Vpc, none of which hold data).
import * as pulumi from "@pulumi/pulumi";

/** How a stateful resource is protected. */
export interface ProtectionRule {
    /**
     * `always`: Pulumi refuses to delete or replace it until released (`pulumi state unprotect`).
     * `whileDeletionProtection`: protected exactly while the resource's own `deletionProtection`
     * input is true (or not known), so the one config switch that lets RDS delete a database
     * (`pilotlight:database.deletionProtection false`) also lets Pulumi delete it.
     * `never`: a stateful type whose data here is disposable; `why` says so.
     */
    protect: "always" | "whileDeletionProtection" | "never";
    /** Pulumi removes it from the state but leaves it in AWS when deleting it (data outlives the stack). */
    retainOnDelete: boolean;
    /** One line: what is lost without it, or why nothing is. */
    why: string;
}

/**
 * Every AWS resource type that holds data, whether pilotlight creates it today or not: a new
 * resource of one of these types is protected by default (`protect: always`) unless a rule
 * below says otherwise.
 */
export const STATEFUL_TYPES: readonly string[] = [
    "aws:backup/vault:Vault",
    "aws:docdb/cluster:Cluster",
    "aws:dynamodb/globalTable:GlobalTable",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
    "aws:ebs/snapshot:Snapshot",
    "aws:ebs/snapshotCopy:SnapshotCopy",
    "aws:ebs/volume:Volume",
    "aws:ec2/ami:Ami",
    "aws:ec2/amiCopy:AmiCopy",
    "aws:ecr/repository:Repository",
    "aws:efs/fileSystem:FileSystem",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/cluster:Cluster",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/key:Key",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
    "aws:kms/replicaKey:ReplicaKey",
    "aws:memorydb/cluster:Cluster",
    "aws:neptune/cluster:Cluster",
    "aws:opensearch/domain:Domain",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterSnapshot:ClusterSnapshot",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:rds/instance:Instance",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    "aws:rds/snapshot:Snapshot",
    "aws:rds/snapshotCopy:SnapshotCopy",
    "aws:redshift/cluster:Cluster",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:s3/directoryBucket:DirectoryBucket",
    "aws:secretsmanager/secret:Secret",
];

const DEFAULT_RULE: ProtectionRule = { protect: "always", retainOnDelete: false, why: "holds data; release it deliberately (docs/teardown.md)" };

/** Rules that differ from the default, by type. */
export const TYPE_RULES: Readonly<Record<string, ProtectionRule>> = {
    "aws:kms/key:Key": { protect: "always", retainOnDelete: true, why: "every snapshot, copy, object and secret encrypted under it, final snapshots included, is unreadable without it" },
    "aws:kms/replicaKey:ReplicaKey": { protect: "always", retainOnDelete: true, why: "the DR-region copies (snapshots, AMIs, replicated objects) are encrypted under it" },
    "aws:s3/bucket:Bucket": { protect: "always", retainOnDelete: true, why: "the media objects and their versions; the replica is the DR copy" },
    "aws:rds/instance:Instance": { protect: "whileDeletionProtection", retainOnDelete: false, why: "the database; deleting it (deletionProtection off) leaves a final snapshot" },
    "aws:rds/cluster:Cluster": { protect: "whileDeletionProtection", retainOnDelete: false, why: "the Aurora cluster volume; deleting it (deletionProtection off) leaves a final snapshot" },
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": { protect: "always", retainOnDelete: false, why: "the point-in-time source of a pointInTime failover" },
    "aws:secretsmanager/secret:Secret": { protect: "always", retainOnDelete: false, why: "the copy target's pointer to the current copy (rollback and adopt read it)" },
    "aws:dynamodb/table:Table": { protect: "never", retainOnDelete: false, why: "the Aurora recovery guard: a lock that expires by itself; losing it allows at most one more recovery, which still checks the writer's class first" },
    "aws:elasticache/replicationGroup:ReplicationGroup": { protect: "never", retainOnDelete: false, why: "the app tier's cache: rebuilt by the app, created and removed with failover" },
};

/** Resources of a protected type that hold nothing worth protecting, by type and logical name. */
export const NAME_RULES: readonly { type: string; name: RegExp; rule: ProtectionRule }[] = [
    {
        type: "aws:secretsmanager/secret:Secret",
        name: /-slack$/,
        rule: { protect: "never", retainOnDelete: false, why: "holds only the Pulumi secret slackWebhookUrls, which every `pulumi up` writes again" },
    },
    {
        type: "aws:secretsmanager/secret:Secret",
        name: /-hold$/,
        rule: { protect: "never", retainOnDelete: false, why: "the copy target's hold: a marker with no value, created with failover and removed by failback" },
    },
];

/** The rule for a resource, or undefined when its type holds no data. Exported for testing. */
export function protectionRule(type: string, name: string): ProtectionRule | undefined {
    const byName = NAME_RULES.find((r) => r.type === type && r.name.test(name));
    if (byName) return byName.rule;
    if (TYPE_RULES[type]) return TYPE_RULES[type];
    return STATEFUL_TYPES.includes(type) ? DEFAULT_RULE : undefined;
}

/**
 * The options a resource gets: undefined when it is left as declared. Only AWS (custom) types
 * are listed, so no component is ever protected (its children would inherit it). A database's
 * `protect` follows its `deletionProtection` input; an input not known yet counts as on.
 * `retainOnDelete` is set only where it is true. Exported for testing.
 */
export function protectionOptions(type: string, name: string, props: Record<string, unknown>): { protect: boolean; retainOnDelete?: true } | undefined {
    const rule = protectionRule(type, name);
    if (!rule || rule.protect === "never") return undefined;
    const protect = rule.protect === "always" ? true : props.deletionProtection !== false;
    return rule.retainOnDelete ? { protect, retainOnDelete: true } : { protect };
}

/** The stack transformation: adds `protect` and `retainOnDelete` to stateful resources. */
export const protectStatefulResources: pulumi.ResourceTransformation = (args) => {
    const options = protectionOptions(args.type, args.name, (args.props ?? {}) as Record<string, unknown>);
    if (!options) return undefined;
    return { props: args.props, opts: pulumi.mergeOptions(args.opts, options) };
};

/** Registers the transformation for every resource the program constructs after this call. */
export function registerProtection(): void {
    pulumi.runtime.registerStackTransformation(protectStatefulResources);
}
