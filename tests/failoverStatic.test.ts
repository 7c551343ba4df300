// Static stability of the failover: `failover: true` on dr may only ask the DR region's own
// regional services to create things. Everything that needs a global control plane (IAM,
// Route 53, CloudFront, Organizations, ...) or another region must already exist in the pilot
// light, so that a failover still works while the primary region (and with it us-east-1, where
// the global control planes run) is down. Compared by URN over the synthesized stacks.
import * as assert from "assert";
import { ProgramResource, ProgramRun, runProgram } from "./program";

/**
 * Pulumi AWS modules of services whose control plane is global (AWS whitepaper "AWS Fault
 * Isolation Boundaries", appendix A: IAM, Route 53, CloudFront, Organizations, Global
 * Accelerator, Shield Advanced, WAF Classic global, Route 53 ARC configuration, account and
 * billing APIs all run their control plane in one region). Exported for testing.
 */
export const GLOBAL_MODULES = [
    "iam",
    "route53",
    "route53domains",
    "route53recoverycontrol",
    "route53recoveryreadiness",
    "cloudfront",
    "organizations",
    "globalaccelerator",
    "shield",
    "waf",
    "account",
    "budgets",
    "costexplorer",
    "s3control",
    "networkmanager",
];

/** The module of a resource type token (`aws:iam/role:Role` -> `iam`); undefined for non-AWS types. */
export function awsModule(type: string): string | undefined {
    const m = /^aws:([a-z0-9]+)(\/|:)/.exec(type);
    return m?.[1];
}

/** True for a resource of a global service. Exported for testing. */
export function isGlobalService(type: string): boolean {
    const mod = awsModule(type);
    return mod !== undefined && GLOBAL_MODULES.includes(mod);
}

/** The region a resource is managed in: its own `region` input, its explicit provider's, or the stack's. */
export function regionOf(r: ProgramResource, run: ProgramRun, stackRegion: string): string {
    if (typeof r.inputs.region === "string" && r.inputs.region) return r.inputs.region;
    if (r.provider) {
        const providerUrn = r.provider.split("::").slice(0, -1).join("::");
        const provider = run.resources.find((p) => p.urn === providerUrn);
        if (provider?.inputs.region) return provider.inputs.region;
    }
    return stackRegion;
}

/** What `failover: true` adds to the pilot light that it must not: one line per offending resource. */
export function staticStabilityViolations(off: ProgramRun, on: ProgramRun, drRegion: string): string[] {
    const offUrns = new Set(off.resources.map((r) => r.urn));
    const added = on.resources.filter((r) => r.custom && !offUrns.has(r.urn));
    const problems: string[] = [];
    for (const r of added) {
        if (isGlobalService(r.type)) problems.push(`${r.urn}: global service (${awsModule(r.type)})`);
        const region = r.type.startsWith("pulumi:providers:") ? (r.inputs.region ?? drRegion) : regionOf(r, on, drRegion);
        if (region !== drRegion) problems.push(`${r.urn}: managed in ${region}, not the DR region ${drRegion}`);
    }
    return problems;
}

/**
 * Data sources the dr stack reads on every `pulumi up` (so also while failing over) that would need
 * a global service or another region: one line each. Exported for testing.
 */
export function nonRegionalCalls(run: ProgramRun, drRegion: string): string[] {
    const problems: string[] = [];
    for (const c of run.calls) {
        const mod = /^aws:([a-z0-9]+)\//.exec(c.token)?.[1];
        if (mod && GLOBAL_MODULES.includes(mod)) problems.push(`${c.token}: global service (${mod})`);
        if (c.provider) {
            const providerUrn = c.provider.split("::").slice(0, -1).join("::");
            const region = run.resources.find((p) => p.urn === providerUrn)?.inputs.region ?? drRegion;
            if (region !== drRegion) problems.push(`${c.token}: through a provider of ${region}`);
        }
    }
    return [...new Set(problems)];
}

describe("static stability: what failover adds on dr", () => {
    let off: ProgramRun;
    let on: ProgramRun;
    before(async () => {
        off = await runProgram("dr");
        on = await runProgram("dr", { sets: ["failover=true"] });
    });

    it("knows the global services by their Pulumi module", () => {
        for (const t of ["aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile", "aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck", "aws:cloudfront/distribution:Distribution", "aws:organizations/account:Account"]) {
            assert.ok(isGlobalService(t), t);
        }
        for (const t of ["aws:rds/instance:Instance", "aws:ec2/natGateway:NatGateway", "aws:lb/targetGroup:TargetGroup", "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws:kms/grant:Grant", "pilotlight:app:AppTier"]) {
            assert.ok(!isGlobalService(t), t);
        }
    });

    it("adds no resource of a global service and none in another region", () => {
        const problems = staticStabilityViolations(off, on, "us-west-2");
        assert.deepStrictEqual(problems, []);
    });

    it("reads no data source of a global service or another region, in the pilot light or failed over", () => {
        assert.ok(on.calls.length > 0, "failover reads the snapshot to restore and the base image");
        assert.deepStrictEqual(nonRegionalCalls(off, "us-west-2"), []);
        assert.deepStrictEqual(nonRegionalCalls(on, "us-west-2"), []);
        const tampered: ProgramRun = { ...on, calls: [...on.calls, { token: "aws:iam/getRole:getRole" }, { token: "aws:route53/getZone:getZone" }] };
        assert.deepStrictEqual(nonRegionalCalls(tampered, "us-west-2"), ["aws:iam/getRole:getRole: global service (iam)", "aws:route53/getZone:getZone: global service (route53)"]);
    });

    it("every explicit provider calls STS in its own region (never the primary's from dr)", async () => {
        const providers = [...off.resources, ...on.resources, ...(await runProgram("prod")).resources].filter((r) => r.type === "pulumi:providers:aws");
        assert.ok(providers.some((p) => p.name === "dr-region") && providers.some((p) => p.name === "dns-zone-account"));
        for (const p of providers) assert.strictEqual(p.inputs.stsRegion, p.inputs.region, `${p.urn}: stsRegion`);
    });

    it("stays so for Aurora, Enhanced Monitoring, adopt, a drill and a same-account pair", async () => {
        for (const sets of [
            ["database.engine=aurora-postgresql", "database.engineVersion=16", "copy.source=reports-db"],
            ["database.monitoringIntervalSeconds=30"],
            ["failoverDatabase.source=adopt", "failoverDatabase.secretName=pilotlight/copy/current"],
            ["media.replicateBack=false"],
            ["peer.accountId=222222222222"],
        ]) {
            const problems = staticStabilityViolations(await runProgram("dr", { sets }), await runProgram("dr", { sets: [...sets, "failover=true"] }), "us-west-2");
            assert.deepStrictEqual(problems, [], sets.join(" "));
        }
    });

    it("would catch a global or cross-region resource added by failover", () => {
        const fake = (urn: string, type: string, extra: Partial<ProgramResource> = {}): ProgramResource => ({ urn, type, name: urn, inputs: {}, id: "", state: {}, custom: true, dependsOn: [], ignoreChanges: [], ...extra });
        const provider = fake("urn:pulumi:dr::pilotlight::pulumi:providers:aws::east", "pulumi:providers:aws", { inputs: { region: "us-east-1" } });
        const tampered: ProgramRun = {
            ...on,
            resources: [
                ...on.resources,
                fake("urn:x::aws:iam/role:Role::sneaky", "aws:iam/role:Role"),
                provider,
                fake("urn:x::aws:sns/topicSubscription:TopicSubscription::sub", "aws:sns/topicSubscription:TopicSubscription", { provider: `${provider.urn}::east-id` }),
                fake("urn:x::aws:sqs/queue:Queue::q", "aws:sqs/queue:Queue", { inputs: { region: "eu-west-1" } }),
            ],
        };
        const before = new Set(staticStabilityViolations(off, on, "us-west-2"));
        const problems = staticStabilityViolations(off, tampered, "us-west-2").filter((p) => !before.has(p));
        assert.strictEqual(problems.length, 4, problems.join("\n"));
        assert.ok(problems[0].includes("global service (iam)"));
        assert.ok(problems.some((p) => p.includes("sub: managed in us-east-1")));
        assert.ok(problems.some((p) => p.includes("q: managed in eu-west-1")));
    });
});
