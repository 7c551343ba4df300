// What a preflight check returns and what it is given. Every check only reads.
import { ACMClient } from "@aws-sdk/client-acm";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { RDSClient } from "@aws-sdk/client-rds";
import { Route53Client } from "@aws-sdk/client-route-53";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { STSClient } from "@aws-sdk/client-sts";
import type { StackConfig } from "../../config";

/**
 * `ok`: as the runbook assumes. `warn`: worth fixing, does not break a failover. `fail`: would
 * break a failover (or the RPO it promises); the command exits non-zero. `skip`: not applicable.
 */
export type Status = "ok" | "warn" | "fail" | "skip";

/** One row of the table. */
export interface CheckResult {
    check: string;
    status: Status;
    /** What was found. */
    detail: string;
    /** What to do about it; empty when nothing. */
    action: string;
}

/** Temporary credentials (from sts:AssumeRole) for a client. */
export interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
}

/** Makes the SDK clients; one place, so the tests' mocks reach every call. */
export interface Clients {
    acm(region: string): ACMClient;
    ec2(region: string): EC2Client;
    iam(): IAMClient;
    rds(region: string): RDSClient;
    route53(credentials?: Credentials): Route53Client;
    s3(region: string): S3Client;
    secrets(region: string): SecretsManagerClient;
    sfn(region: string): SFNClient;
    sns(region: string): SNSClient;
    sts(region: string): STSClient;
}

/** The default clients: the operator's credentials from the environment (AWS_PROFILE, ...). */
export const awsClients: Clients = {
    acm: (region) => new ACMClient({ region }),
    ec2: (region) => new EC2Client({ region }),
    // IAM and Route 53 are global; their endpoints are in us-east-1 (aws partition).
    iam: () => new IAMClient({ region: "us-east-1" }),
    rds: (region) => new RDSClient({ region }),
    route53: (credentials) => new Route53Client({ region: "us-east-1", credentials }),
    s3: (region) => new S3Client({ region }),
    secrets: (region) => new SecretsManagerClient({ region }),
    sfn: (region) => new SFNClient({ region }),
    sns: (region) => new SNSClient({ region }),
    sts: (region) => new STSClient({ region }),
};

/** A resource in `pulumi stack export` output (only what preflight reads). */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    parent?: string;
    outputs?: Record<string, unknown>;
}

/** Everything a check may look at. */
export interface PreflightContext {
    cfg: StackConfig;
    clients: Clients;
    now: Date;
    /** Warn when the newest recovery point is older than this. */
    maxAgeHours: number;
    /** The stack's resources from `pulumi stack export`; undefined when not available. */
    state?: StateResource[];
    /** Why `state` is missing, when it is. */
    stateProblem?: string;
    /** The Pulumi backend URL in use (`s3://...`, `https://api.pulumi.com`, `file://...`). */
    backendUrl?: string;
    /** `secretsprovider` of Pulumi.<stack>.yaml; undefined for the default (Pulumi Cloud or passphrase). */
    secretsProvider?: string;
    /** Pulumi.<stack>.yaml has an `encryptionsalt` (the passphrase provider). */
    passphrase: boolean;
    /** How long the dr stack's only (non-blocking) call into the primary region may take. Defaults to 10 s. */
    primaryRegionTimeoutMs?: number;
}

/** A row; shorthand for the checks. */
export function row(check: string, status: Status, detail: string, action = ""): CheckResult {
    return { check, status, detail, action };
}

/** The primary region: where a disaster is assumed. */
export function primaryRegion(cfg: StackConfig): string {
    return cfg.role === "primary" ? cfg.region : cfg.peer.region;
}

/** An SDK error's name (`NoSuchEntityException`, `DBSnapshotNotFoundFault`, ...), or the message of a plain error. */
export function errorName(e: unknown): string {
    const { name, message } = (e ?? {}) as { name?: string; message?: string };
    return name && name !== "Error" ? name : (message ?? String(e));
}

/** Hours between two times, one decimal. */
export function hoursBetween(from: Date, to: Date): number {
    return Math.round(((to.getTime() - from.getTime()) / 3_600_000) * 10) / 10;
}
