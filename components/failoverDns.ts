// Route 53 failover routing for the application's name. The primary stack owns the
// PRIMARY alias to its load balancer; the dr stack owns the SECONDARY alias to the DR
// load balancer, which exists in the pilot light (failover only adds its targets). Both
// records and every health check exist before a disaster: Route 53 answers with the
// secondary while the primary's check fails (data plane), so no record or health check
// is created or edited during a disaster.
//
// The PRIMARY's check is calculated: healthy only while the app's endpoint is healthy AND
// the hold-on-dr alarm is not in ALARM. That alarm lives in the DR region: publishing one
// data point there (CloudWatch PutMetricData, a regional data-plane call) keeps traffic on
// dr even after the primary's endpoint recovers, with the primary region down or up.
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

/** Namespace and name of the hold-on-dr metric the operator publishes. */
export const HOLD_METRIC = { namespace: "pilotlight", metricName: "HoldOnDr" } as const;

/** Name of the hold-on-dr alarm (in the DR region). Exported for testing. */
export function holdAlarmName(namePrefix: string): string {
    return `${namePrefix}-hold-on-dr`;
}

/**
 * The hold-on-dr alarm: in ALARM from the first data point >= 1 until a data point < 1. Missing
 * data keeps the state ("ignore"), and the health check keeps its last known status when
 * CloudWatch has no data, so one `put-metric-data` holds until released by another; no data ever
 * leaves a new health check healthy, "not held".
 * Exported for testing.
 */
export function holdAlarmSettings(namePrefix: string): aws.cloudwatch.MetricAlarmArgs {
    return {
        name: holdAlarmName(namePrefix),
        alarmDescription: `pilotlight: keep ${namePrefix}'s traffic on dr while in ALARM (publish ${HOLD_METRIC.namespace}/${HOLD_METRIC.metricName} = 1 to hold, 0 to release)`,
        namespace: HOLD_METRIC.namespace,
        metricName: HOLD_METRIC.metricName,
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "ignore",
    };
}

/**
 * The PRIMARY record's own health check, calculated from its children (the endpoint check and
 * the hold check): healthy only when both are. `holdOnDr` forces it unhealthy the way the
 * Route 53 documentation gives: disabled (Route 53 then considers it healthy) and inverted.
 * Exported for testing.
 */
export function primaryCheckSettings(holdOnDr: boolean): Pick<aws.route53.HealthCheckArgs, "type" | "childHealthThreshold" | "disabled" | "invertHealthcheck"> {
    return { type: "CALCULATED", childHealthThreshold: 2, disabled: holdOnDr, invertHealthcheck: holdOnDr };
}

/** Trust of the peer record role: the peer account (its own IAM decides who in it). Exported for testing. */
export function peerTrustPolicy(peerAccountId: string, region: string): PolicyDocument {
    return policyDocument([{ Effect: "Allow", Principal: { AWS: accountRoot(peerAccountId, region) }, Action: "sts:AssumeRole" }]);
}

export interface FailoverDnsArgs {
    /** `PRIMARY` (prod, with its health checks) or `SECONDARY` (dr, in the pilot light). */
    role: FailoverRole;
    /** Hosted zone id; both stacks name the same zone. */
    hostedZoneId: string;
    /** The application's name; both stacks name the same record. */
    recordName: string;
    /** DNS name of the load balancer the alias points at (and the primary's health check probes). */
    targetDnsName: pulumi.Input<string>;
    /** Hosted zone id of that load balancer (alias target zone). */
    targetZoneId: pulumi.Input<string>;
    /** Prefix of physical names (the hold-on-dr alarm). */
    namePrefix: string;
    /**
     * PRIMARY: where the hold-on-dr alarm lives, the DR region (a provider for it in this account;
     * with `roleArn`, the alarm goes to the zone's account through that role instead). Required for PRIMARY.
     */
    hold?: { provider: pulumi.ProviderResource; region: string };
    /** PRIMARY: check over HTTPS (else HTTP). Defaults to false. */
    https?: boolean;
    /** PRIMARY: path to check. Defaults to `/health`. */
    healthCheckPath?: string;
    /**
     * PRIMARY: force the PRIMARY's check unhealthy (disabled + inverted) so Route 53 keeps answering
     * with the SECONDARY until failback; the durable form of the hold-on-dr alarm, set once the
     * primary region can be deployed again. Defaults to false.
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
    /** Id of the health check the record uses (PRIMARY only: the calculated check). */
    public readonly healthCheckId?: pulumi.Output<string>;
    /** Name of the hold-on-dr alarm in the DR region (PRIMARY only). */
    public readonly holdAlarmName?: string;
    /** ARN of the role the peer assumes for its record (PRIMARY with a peer only). */
    public readonly peerRoleArn?: pulumi.Output<string>;

    constructor(name: string, args: FailoverDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:dns:FailoverDns", name, {}, opts);
        const tags = args.tags ?? {};
        // Health checks must live in the zone's account, so both go through the same provider. Its STS
        // calls stay in this stack's region (never the primary's on the dr stack).
        const provider = args.roleArn
            ? new aws.Provider(
                  `${name}-zone-account`,
                  { region: args.region as aws.Region, stsRegion: args.region, assumeRoles: [{ roleArn: args.roleArn, sessionName: "pilotlight-dns" }] },
                  { parent: this },
              )
            : undefined;
        const childOpts = { parent: this, provider };

        let healthCheck: aws.route53.HealthCheck | undefined;
        if (args.role === "PRIMARY") {
            if (!args.hold) throw new Error("FailoverDns: the PRIMARY record needs hold (a provider for the DR region, where the hold-on-dr alarm lives)");
            const endpoint = new aws.route53.HealthCheck(
                `${name}-health`,
                { fqdn: args.targetDnsName, ...healthCheckSettings(!!args.https, args.healthCheckPath ?? "/health"), tags: { ...tags, Name: `${args.recordName} primary endpoint` } },
                childOpts,
            );
            // The alarm must be in the zone's account (where the health checks are): Route 53 reads the
            // alarms of its own account. With `roleArn` that is another account, reached in the DR region.
            const holdProvider = args.roleArn
                ? new aws.Provider(
                      `${name}-zone-account-hold`,
                      { region: args.hold.region as aws.Region, stsRegion: args.hold.region, assumeRoles: [{ roleArn: args.roleArn, sessionName: "pilotlight-dns" }] },
                      { parent: this },
                  )
                : args.hold.provider;
            const alarm = new aws.cloudwatch.MetricAlarm(`${name}-hold`, { ...holdAlarmSettings(args.namePrefix), tags }, { parent: this, provider: holdProvider });
            this.holdAlarmName = holdAlarmName(args.namePrefix);
            const hold = new aws.route53.HealthCheck(
                `${name}-hold`,
                {
                    type: "CLOUDWATCH_METRIC",
                    cloudwatchAlarmName: alarm.name,
                    cloudwatchAlarmRegion: args.hold.region,
                    // One data point must hold until another releases it, whether Route 53 follows the
                    // alarm's state or its data: without data it keeps the last status ("LastKnownStatus:
                    // Route 53 uses the status of the health check from the last time that CloudWatch had
                    // sufficient data to determine the alarm state. For new health checks that have no
                    // last known status, the default status for the health check is healthy" - Route 53
                    // API reference, HealthCheckConfig). Never fed: healthy, not held.
                    insufficientDataHealthStatus: "LastKnownStatus",
                    tags: { ...tags, Name: `${args.recordName} hold on dr` },
                },
                childOpts,
            );
            healthCheck = new aws.route53.HealthCheck(
                `${name}-primary`,
                { ...primaryCheckSettings(args.holdOnDr ?? false), childHealthchecks: [endpoint.id, hold.id], tags: { ...tags, Name: `${args.recordName} primary` } },
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
        this.registerOutputs({ fqdn: this.fqdn, healthCheckId: this.healthCheckId, holdAlarmName: this.holdAlarmName, peerRoleArn: this.peerRoleArn });
    }
}
