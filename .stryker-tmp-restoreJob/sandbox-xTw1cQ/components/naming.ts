// @ts-nocheck
// Physical names that both stacks compute, so neither has to look the other up
// and the stacks can be deployed in either order. Pure functions.

/** The parts of a stack's identity that names are made of. */
export interface NameScope {
    /** Prefix shared by both stacks (`namePrefix`). */
    prefix: string;
    /** Account that owns the resource. */
    accountId: string;
    /** Region the resource lives in. */
    region: string;
}

/** ARN partition for a region (GovCloud and China differ). */
export function partitionOf(region: string): string {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    return "aws";
}

/** The media bucket of a stack (primary or replica): globally unique by account and region. */
export function mediaBucketName(s: NameScope): string {
    return `${s.prefix}-media-${s.accountId}-${s.region}`;
}

/** ARN of a bucket. */
export function bucketArn(bucket: string, region: string): string {
    return `arn:${partitionOf(region)}:s3:::${bucket}`;
}

/** Name of the primary's S3 replication role (IAM is global; the region keeps two deployments apart). */
export function replicationRoleName(s: NameScope): string {
    return `${s.prefix}-media-replication-${s.region}`;
}

/** Name of the dr stack's S3 replication role back to the primary while failed over (prod's bucket admits it always). */
export function failbackReplicationRoleName(s: NameScope): string {
    return `${s.prefix}-media-failback-${s.region}`;
}

/** ARN of an IAM role in an account. */
export function roleArn(accountId: string, roleName: string, region: string): string {
    return `arn:${partitionOf(region)}:iam::${accountId}:role/${roleName}`;
}

/** Root principal of an account (the account, not a user in it). */
export function accountRoot(accountId: string, region: string): string {
    return `arn:${partitionOf(region)}:iam::${accountId}:root`;
}

/** Alias of the primary's multi-Region shared key (same alias on its replica). */
export function sharedKeyAlias(prefix: string): string {
    return `alias/${prefix}-shared`;
}

/** Alias of the dr account's own key. */
export function drKeyAlias(prefix: string): string {
    return `alias/${prefix}-dr`;
}

/** ARN of a KMS alias: usable wherever AWS accepts "key ARN or alias ARN". */
export function aliasArn(s: Omit<NameScope, "prefix">, alias: string): string {
    return `arn:${partitionOf(s.region)}:kms:${s.region}:${s.accountId}:${alias}`;
}

/** ARN pattern of every key in an account and region; narrowed by conditions where used. */
export function keysInRegion(s: Omit<NameScope, "prefix">): string {
    return `arn:${partitionOf(s.region)}:kms:${s.region}:${s.accountId}:key/*`;
}

/** Identifier of the workload database: the same in both stacks, so dr finds the copies of prod's. */
export function databaseIdentifier(prefix: string): string {
    return `${prefix}-db`;
}

/** Role in the zone's (primary's) account that the dr stack assumes to manage its failover record. */
export function dnsFailoverRoleName(prefix: string): string {
    return `${prefix}-dns-failover`;
}

/** SNS topic the primary's copy source machine publishes shared snapshots to; the dr stack subscribes to it. */
export function copyTopicName(prefix: string): string {
    return `${prefix}-snapshot-copy`;
}

/** ARN of an SNS topic. */
export function topicArn(s: Omit<NameScope, "prefix">, topic: string): string {
    return `arn:${partitionOf(s.region)}:sns:${s.region}:${s.accountId}:${topic}`;
}

/** Kinds of RDS resources pilotlight names in ARNs. */
export type RdsResourceKind = "db" | "cluster" | "snapshot" | "cluster-snapshot" | "subgrp" | "pg" | "cluster-pg" | "og" | "secgrp";

/** ARN of an RDS resource (a `*` in `id` makes it a pattern). */
export function rdsArn(s: Omit<NameScope, "prefix">, kind: RdsResourceKind, id: string): string {
    return `arn:${partitionOf(s.region)}:rds:${s.region}:${s.accountId}:${kind}:${id}`;
}

/** Name of a state machine, function or rule of one job: `<prefix>-<job>`. */
export function jobName(prefix: string, job: string): string {
    return `${prefix}-${job}`;
}

/** ARN of a state machine. */
export function stateMachineArn(s: Omit<NameScope, "prefix">, name: string): string {
    return `arn:${partitionOf(s.region)}:states:${s.region}:${s.accountId}:stateMachine:${name}`;
}

/** ARN pattern of every execution of a state machine. */
export function executionsOf(s: Omit<NameScope, "prefix">, name: string): string {
    return `arn:${partitionOf(s.region)}:states:${s.region}:${s.accountId}:execution:${name}:*`;
}
