import * as assert from "assert";
import { healthCheckSettings, HOLD_METRIC, peerRecordPolicy, peerTrustPolicy, primaryCheckSettings, setIdentifier } from "../components/failoverDns";
import { wildcardActions } from "../components/iam";
import { ProgramResource, ProgramRun, readStackConfig, runProgram } from "./program";

function one(run: ProgramRun, type: string, name: string): ProgramResource {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.strictEqual(found.length, 1, `expected one ${type} ${name}, found ${found.length}`);
    return found[0];
}

const RECORD = "aws:route53/record:Record";
const HEALTH = "aws:route53/healthCheck:HealthCheck";

describe("FailoverDns", () => {
    it("pure settings: set identifiers and health checks", () => {
        assert.deepStrictEqual([setIdentifier("PRIMARY"), setIdentifier("SECONDARY")], ["pilotlight-primary", "pilotlight-secondary"]);
        assert.deepStrictEqual(healthCheckSettings(true, "/health"), { type: "HTTPS", port: 443, resourcePath: "/health", failureThreshold: 3, requestInterval: 30, enableSni: true });
        assert.deepStrictEqual(healthCheckSettings(false, "/ready"), { type: "HTTP", port: 80, resourcePath: "/ready", failureThreshold: 3, requestInterval: 30 });
    });

    it("the peer may change only the failover A record of the zone", () => {
        const doc = peerRecordPolicy("Z0123456789ABCDEFGHIJ", "App.Example.com", "us-east-1");
        assert.deepStrictEqual(doc.Statement, [
            {
                Sid: "ChangeTheFailoverRecordOnly",
                Effect: "Allow",
                Action: ["route53:ChangeResourceRecordSets"],
                Resource: "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ",
                Condition: {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["app.example.com"],
                        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                    },
                },
            },
            { Sid: "ReadTheZone", Effect: "Allow", Action: ["route53:GetHostedZone", "route53:ListResourceRecordSets"], Resource: "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ" },
            { Sid: "WaitForChanges", Effect: "Allow", Action: ["route53:GetChange"], Resource: "arn:aws:route53:::change/*" },
        ]);
        assert.deepStrictEqual(wildcardActions(doc), []);
        assert.deepStrictEqual(peerTrustPolicy("222222222222", "us-east-1").Statement, [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:root" }, Action: "sts:AssumeRole" }]);
    });

    it("both stack files name the same zone and record", () => {
        const prod = JSON.parse(readStackConfig("prod").config["pilotlight:dns"]);
        const dr = JSON.parse(readStackConfig("dr").config["pilotlight:dns"]);
        assert.deepStrictEqual([prod.hostedZoneId, prod.recordName], [dr.hostedZoneId, dr.recordName]);
    });

    describe("prod", () => {
        let run: ProgramRun;
        before(async () => (run = await runProgram("prod")));

        it("PRIMARY alias to the prod ALB, its check calculated from the endpoint check and the hold-on-dr check", () => {
            const alb = one(run, "aws:lb/loadBalancer:LoadBalancer", "app-alb").state;
            const endpoint = one(run, HEALTH, "dns-health");
            assert.deepStrictEqual(
                { ...endpoint.inputs, tags: undefined },
                { fqdn: alb.dnsName, type: "HTTPS", port: 443, resourcePath: "/health", failureThreshold: 3, requestInterval: 30, enableSni: true, tags: undefined },
            );
            const hold = one(run, HEALTH, "dns-hold");
            const alarm = one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "dns-hold");
            assert.deepStrictEqual({ ...hold.inputs, tags: undefined }, { type: "CLOUDWATCH_METRIC", cloudwatchAlarmName: "pilotlight-hold-on-dr", cloudwatchAlarmRegion: "us-west-2", insufficientDataHealthStatus: "LastKnownStatus", tags: undefined });
            // The alarm lives in the DR region, in prod's (the zone's) account.
            assert.ok(alarm.provider?.includes("::dr-region::"), `${alarm.provider}`);
            assert.deepStrictEqual(
                [alarm.inputs.name, alarm.inputs.namespace, alarm.inputs.metricName, alarm.inputs.treatMissingData, alarm.inputs.threshold, alarm.inputs.comparisonOperator],
                ["pilotlight-hold-on-dr", HOLD_METRIC.namespace, HOLD_METRIC.metricName, "ignore", 1, "GreaterThanOrEqualToThreshold"],
            );
            const health = one(run, HEALTH, "dns-primary");
            assert.deepStrictEqual({ ...health.inputs, tags: undefined }, { type: "CALCULATED", childHealthThreshold: 2, childHealthchecks: [endpoint.id, hold.id], disabled: false, invertHealthcheck: false, tags: undefined });
            assert.deepStrictEqual(run.outputs.dnsHoldAlarm, { name: "pilotlight-hold-on-dr", region: "us-west-2", namespace: "pilotlight", metricName: "HoldOnDr" });
            const record = one(run, RECORD, "dns-record").inputs;
            assert.deepStrictEqual(record, {
                zoneId: "Z0123456789ABCDEFGHIJ",
                name: "app.example.com",
                type: "A",
                setIdentifier: "pilotlight-primary",
                failoverRoutingPolicies: [{ type: "PRIMARY" }],
                aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
                healthCheckId: health.id,
            });
            assert.deepStrictEqual([run.outputs.dnsRecord, run.outputs.dnsFailoverRole], ["app.example.com", "PRIMARY"]);
        });

        it("creates the role the dr account uses for its SECONDARY record", () => {
            const role = one(run, "aws:iam/role:Role", "dns-peer");
            assert.strictEqual(role.inputs.name, "pilotlight-dns-failover");
            assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy), peerTrustPolicy("222222222222", "us-east-1"));
            assert.deepStrictEqual(JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy", "dns-peer").inputs.policy), peerRecordPolicy("Z0123456789ABCDEFGHIJ", "app.example.com", "us-east-1"));
            assert.strictEqual(run.outputs.dnsPeerRoleArn, "arn:aws:iam::111111111111:role/pilotlight-dns-failover");
        });
    });

    it("dr, in the pilot light already: SECONDARY alias to the DR ALB, no health check, through the prod account's role with regional STS", async () => {
        const run = await runProgram("dr");
        const alb = one(run, "aws:lb/loadBalancer:LoadBalancer", "app-alb").state;
        const record = one(run, RECORD, "dns-record");
        assert.deepStrictEqual(record.inputs, {
            zoneId: "Z0123456789ABCDEFGHIJ",
            name: "app.example.com",
            type: "A",
            setIdentifier: "pilotlight-secondary",
            failoverRoutingPolicies: [{ type: "SECONDARY" }],
            aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
        });
        assert.strictEqual(run.resources.filter((r) => r.type === HEALTH).length, 0);
        const provider = one(run, "pulumi:providers:aws", "dns-zone-account");
        // Provider inputs reach the engine as JSON strings.
        assert.deepStrictEqual(JSON.parse(provider.inputs.assumeRoles), [{ roleArn: "arn:aws:iam::111111111111:role/pilotlight-dns-failover", sessionName: "pilotlight-dns" }]);
        assert.deepStrictEqual([provider.inputs.region, provider.inputs.stsRegion], ["us-west-2", "us-west-2"], "STS of the DR region, never the primary's");
        assert.ok(record.provider?.includes("dns-zone-account"), `record goes through the zone account's provider: ${record.provider}`);
    });

    it("same-account setup: no peer role, no assumed role", async () => {
        const sameAccount = (stack: string, account: string) => {
            const { config } = readStackConfig(stack);
            return { ...config, "pilotlight:peer": JSON.stringify({ ...JSON.parse(config["pilotlight:peer"]), accountId: account }) };
        };
        const prod = await runProgram("prod", { config: sameAccount("prod", "111111111111") });
        assert.strictEqual(prod.resources.filter((r) => r.name === "dns-peer").length, 0);
        const dr = await runProgram("dr", { config: sameAccount("dr", "222222222222") });
        assert.strictEqual(dr.resources.filter((r) => r.type === "pulumi:providers:aws" && r.name.startsWith("dns")).length, 0);
        assert.ok(!one(dr, RECORD, "dns-record").provider, "the default provider");
    });

    it("zone in a third account: the hold alarm goes with the health checks, into that account in the DR region", async () => {
        const run = await runProgram("prod", { sets: ["dns.roleArn=arn:aws:iam::333333333333:role/zone-admin"] });
        const alarm = one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "dns-hold");
        assert.ok(alarm.provider?.includes("::dns-zone-account-hold::"), `${alarm.provider}`);
        const provider = one(run, "pulumi:providers:aws", "dns-zone-account-hold");
        assert.deepStrictEqual([provider.inputs.region, provider.inputs.stsRegion, JSON.parse(provider.inputs.assumeRoles)[0].roleArn], ["us-west-2", "us-west-2", "arn:aws:iam::333333333333:role/zone-admin"]);
        assert.strictEqual(one(run, HEALTH, "dns-hold").inputs.cloudwatchAlarmRegion, "us-west-2");
    });

    it("no zone configured: no records anywhere", async () => {
        const { config } = readStackConfig("prod");
        delete config["pilotlight:dns"];
        const run = await runProgram("prod", { config });
        assert.strictEqual(run.resources.filter((r) => r.type.startsWith("aws:route53/") || r.type === "pilotlight:dns:FailoverDns").length, 0);
        assert.strictEqual(run.outputs.dnsRecord, undefined);
    });
    it("holdOnDr forces the PRIMARY's check unhealthy even while prod's endpoint fails: disabled and inverted, nothing else", async () => {
        // Inverting alone would report a failing endpoint healthy and send traffic back to it; a disabled
        // check is healthy to Route 53, and inverted, unhealthy, whatever the endpoint does.
        assert.deepStrictEqual(primaryCheckSettings(false), { type: "CALCULATED", childHealthThreshold: 2, disabled: false, invertHealthcheck: false });
        assert.deepStrictEqual(primaryCheckSettings(true), { type: "CALCULATED", childHealthThreshold: 2, disabled: true, invertHealthcheck: true });
        const normal = await runProgram("prod");
        const held = await runProgram("prod", { sets: ["dns.holdOnDr=true"] });
        const { disabled: d1, invertHealthcheck: i1, ...heldRest } = one(held, HEALTH, "dns-primary").inputs;
        const { disabled: d0, invertHealthcheck: i0, ...normalRest } = one(normal, HEALTH, "dns-primary").inputs;
        assert.deepStrictEqual([d0, i0, d1, i1], [false, false, true, true]);
        assert.deepStrictEqual(heldRest, normalRest);
        for (const name of ["dns-health", "dns-hold"]) assert.deepStrictEqual(one(held, HEALTH, name).inputs, one(normal, HEALTH, name).inputs, name);
        assert.deepStrictEqual(one(held, RECORD, "dns-record").inputs, one(normal, RECORD, "dns-record").inputs);
        await assert.rejects(runProgram("dr", { sets: ["failover=true", "dns.holdOnDr=true"] }), /pilotlight:dns\.holdOnDr is true; holdOnDr applies only to the primary stack/);
    });
});
