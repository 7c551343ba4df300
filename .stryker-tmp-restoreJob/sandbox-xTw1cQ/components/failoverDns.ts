// @ts-nocheck
// Route 53 failover routing for the application's name. The primary stack owns the
// PRIMARY alias to its load balancer, with a health check on the app's health path;
// the dr stack, only while failed over, owns the SECONDARY alias to the DR load
// balancer. Route 53 answers with the secondary while the primary's check fails, so
// DNS moves by itself: no record is edited during a disaster.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountRoot, partitionOf } from "./naming";
import { PolicyDocument, policyDocument, renderPolicy } from "./iam";

/** Which half of the failover pair a stack owns. */
export type FailoverRole = "PRIMARY" | "SECONDARY";

/** The record's set identifier: one per role, the same in every deployment. Exported for testing. */
export function setIdentifier(role: FailoverRole): string {
    return role === "PRIMARY" ? "pilotlight-primary" : "pilotlight-secondary";
}

/** The health check of the primary's load balancer. Exported for testing. */
export function healthCheckSettings(https: boolean, path: string): Pick<aws.route53.HealthCheckArgs, "type" | "port" | "resourcePath" | "failureThreshold" | "requestInterval" | "enableSni"> {
    return https
        ? { type: "HTTPS", port: 443, resourcePath: path, failureThreshold: 3, requestInterval: 30, enableSni: true }
        : { type: "HTTP", port: 80, resourcePath: path, failureThreshold: 3, requestInterval: 30 };
}

/**
 * What the peer (dr) account may do in the zone through the role the primary creates:
 * change exactly the failover record's A set, and read what Route 53 needs to apply it.
 * Exported for testing.
 */
export function peerRecordPolicy(hostedZoneId: string, recordName: string, region: string): PolicyDocument {
    const p = partitionOf(region);
    return policyDocument([
        {
            Sid: "ChangeTheFailoverRecordOnly",
            Effect: "Allow",
            Action: ["route53:ChangeResourceRecordSets"],
            Resource: `arn:${p}:route53:::hostedzone/${hostedZoneId}`,
            Condition: {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [recordName.toLowerCase()],
                    "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                },
            },
        },
        { Sid: "ReadTheZone", Effect: "Allow", Action: ["route53:GetHostedZone", "route53:ListResourceRecordSets"], Resource: `arn:${p}:route53:::hostedzone/${hostedZoneId}` },
        { Sid: "WaitForChanges", Effect: "Allow", Action: ["route53:GetChange"], Resource: `arn:${p}:route53:::change/*` },
    ]);
}

/** Trust of the peer record role: the peer account (its own IAM decides who in it). Exported for testing. */
export function peerTrustPolicy(peerAccountId: string, region: string): PolicyDocument {
    return policyDocument([{ Effect: "Allow", Principal: { AWS: accountRoot(peerAccountId, region) }, Action: "sts:AssumeRole" }]);
}

export interface FailoverDnsArgs {
    /** `PRIMARY` (prod, with a health check) or `SECONDARY` (dr while failed over). */
    role: FailoverRole;
    /** Hosted zone id; both stacks name the same zone. */
    hostedZoneId: string;
    /** The application's name; both stacks name the same record. */
    recordName: string;
    /** DNS name of the load balancer the alias points at (and the primary's health check probes). */
    targetDnsName: pulumi.Input<string>;
    /** Hosted zone id of that load balancer (alias target zone). */
    targetZoneId: pulumi.Input<string>;
    /** PRIMARY: check over HTTPS (else HTTP). Defaults to false. */
    https?: boolean;
    /** PRIMARY: path to check. Defaults to `/health`. */
    healthCheckPath?: string;
    /**
     * PRIMARY: invert the health check so Route 53 treats the primary as down and keeps answering
     * with the SECONDARY (held on dr after a failover, until failback). Defaults to false.
     */
    holdOnDr?: boolean;
    /** Role to assume when the zone lives in another account. Defaults to none. */
    roleArn?: string;
    /**
     * PRIMARY only: the dr account, when it is another one, gets a role named `peerRoleName` that
     * may change just this record. Defaults to none (same account, or the zone is elsewhere).
     */
    peer?: { accountId: string; roleName: string };
    /** Region for the provider that assumes `roleArn`. */
    region: string;
    /** Tags for the health check. Defaults to none. */
    tags?: Record<string, string>;
}

/** One failover record (and, for the primary, its health check). */
export class FailoverDns extends pulumi.ComponentResource {
    /** The record's FQDN. */
    public readonly fqdn: pulumi.Output<string>;
    /** Health check id (PRIMARY only). */
    public readonly healthCheckId?: pulumi.Output<string>;
    /** ARN of the role the peer assumes for its record (PRIMARY with a peer only). */
    public readonly peerRoleArn?: pulumi.Output<string>;

    constructor(name: string, args: FailoverDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:dns:FailoverDns", name, {}, opts);
        const tags = args.tags ?? {};
        // Health checks must live in the zone's account, so both go through the same provider.
        const provider = args.roleArn
            ? new aws.Provider(`${name}-zone-account`, { region: args.region as aws.Region, assumeRoles: [{ roleArn: args.roleArn, sessionName: "pilotlight-dns" }] }, { parent: this })
            : undefined;
        const childOpts = { parent: this, provider };

        let healthCheck: aws.route53.HealthCheck | undefined;
        if (args.role === "PRIMARY") {
            healthCheck = new aws.route53.HealthCheck(
                `${name}-health`,
                { fqdn: args.targetDnsName, ...healthCheckSettings(!!args.https, args.healthCheckPath ?? "/health"), invertHealthcheck: args.holdOnDr ?? false, tags: { ...tags, Name: `${args.recordName} primary` } },
                childOpts,
            );
            this.healthCheckId = healthCheck.id;
        }
        const record = new aws.route53.Record(
            `${name}-record`,
            {
                zoneId: args.hostedZoneId,
                name: args.recordName,
                type: "A",
                setIdentifier: setIdentifier(args.role),
                failoverRoutingPolicies: [{ type: args.role }],
                aliases: [{ name: args.targetDnsName, zoneId: args.targetZoneId, evaluateTargetHealth: true }],
                healthCheckId: healthCheck?.id,
            },
            childOpts,
        );
        this.fqdn = record.fqdn;

        if (args.role === "PRIMARY" && args.peer) {
            const peerRole = new aws.iam.Role(
                `${name}-peer`,
                {
                    name: args.peer.roleName,
                    description: `pilotlight: the dr account manages the SECONDARY ${args.recordName} record`,
                    assumeRolePolicy: renderPolicy(peerTrustPolicy(args.peer.accountId, args.region)),
                    tags,
                },
                childOpts,
            );
            new aws.iam.RolePolicy(`${name}-peer`, { role: peerRole.id, policy: renderPolicy(peerRecordPolicy(args.hostedZoneId, args.recordName, args.region)) }, childOpts);
            this.peerRoleArn = peerRole.arn;
        }
        this.registerOutputs({ fqdn: this.fqdn, healthCheckId: this.healthCheckId, peerRoleArn: this.peerRoleArn });
    }
}
