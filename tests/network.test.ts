import * as assert from "assert";
import { checkLambdaEgress, planSubnets } from "../components/network";
import { cidrsOverlap, parseCidr } from "../config";
import { ProgramResource, ProgramRun, runProgram } from "./program";

const NETWORK_TYPES = ["awsx:ec2:Vpc", "aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup", "aws:ec2/securityGroup:SecurityGroup"];

function find(run: ProgramRun, type: string, name: string): ProgramResource {
    const r = run.resources.find((x) => x.type === type && x.name === name);
    assert.ok(r, `${type} ${name} not registered; have: ${run.resources.map((x) => x.name).join(", ")}`);
    return r;
}

describe("network", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    let drFailover: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        dr = await runProgram("dr");
        drFailover = await runProgram("dr", { sets: ["failover=true"] });
    });

    describe("planSubnets", () => {
        const cases: [string, number][] = [
            ["10.10.0.0/16", 2],
            ["10.10.0.0/16", 3],
            ["10.20.0.0/16", 6],
            ["172.16.0.0/20", 2],
            ["172.16.0.0/20", 6],
            ["192.168.0.0/18", 4],
            ["192.168.0.0/19", 6],
        ];
        for (const [cidr, azs] of cases) {
            it(`plans ${azs} AZs in ${cidr} without overlap and inside the VPC`, () => {
                const plan = planSubnets(cidr, azs);
                const all = [...plan.public, ...plan.app, ...plan.db];
                assert.strictEqual(all.length, 3 * azs);
                const vpc = parseCidr(cidr)!;
                for (const s of all) {
                    const p = parseCidr(s);
                    assert.ok(p, `${s} is not a valid network address`);
                    assert.ok(p.prefix <= 28, `${s} is smaller than AWS allows`);
                    if (plan.public.includes(s)) assert.ok(p.prefix <= 27, `public ${s}: a load balancer needs at least a /27`);
                    assert.ok(cidrsOverlap(s, cidr) && p.prefix >= vpc.prefix, `${s} is outside ${cidr}`);
                }
                for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) assert.ok(!cidrsOverlap(all[i], all[j]), `${all[i]} overlaps ${all[j]}`);
            });
        }
        it("gives the app tier the most room", () => {
            assert.deepStrictEqual(planSubnets("10.10.0.0/16", 2), {
                app: ["10.10.0.0/20", "10.10.16.0/20"],
                public: ["10.10.128.0/24", "10.10.129.0/24"],
                db: ["10.10.144.0/24", "10.10.145.0/24"],
            });
        });
        it("gives a /20's load balancer subnets a /27 and leaves larger VPCs' plans as they were", () => {
            assert.deepStrictEqual(planSubnets("172.16.0.0/20", 3), {
                app: ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24"],
                public: ["172.16.8.0/27", "172.16.8.32/27", "172.16.8.64/27"],
                db: ["172.16.9.0/28", "172.16.9.16/28", "172.16.9.32/28"],
            });
            assert.deepStrictEqual(planSubnets("10.10.0.0/19", 2).public, ["10.10.16.0/27", "10.10.16.32/27"]);
        });
        it("refuses what it cannot plan", () => {
            assert.throws(() => planSubnets("10.10.0.0/24", 2), /10\.10\.0\.0\/24 must be a \/16 to \/20/);
            assert.throws(() => planSubnets("10.10.0.0/16", 1), /1 availability zones: expected 2 to 6/);
            assert.throws(() => planSubnets("10.10.0.0/16", 7), /7 availability zones/);
        });
    });

    it("passes the three tiers across the configured AZs to awsx with no NAT of its own", () => {
        const vpc = find(prod, "awsx:ec2:Vpc", "network-vpc");
        assert.deepStrictEqual(vpc.inputs.availabilityZoneNames, ["us-east-1a", "us-east-1b", "us-east-1c"]);
        assert.strictEqual(vpc.inputs.cidrBlock, "10.10.0.0/16");
        assert.deepStrictEqual(vpc.inputs.natGateways, { strategy: "None" });
        const specs = vpc.inputs.subnetSpecs.map((s: any) => [s.type, s.name, s.cidrBlocks]);
        const plan = planSubnets("10.10.0.0/16", 3);
        assert.deepStrictEqual(specs, [
            ["Public", "public", plan.public],
            ["Private", "app", plan.app],
            ["Isolated", "db", plan.db],
        ]);
        assert.strictEqual(find(dr, "awsx:ec2:Vpc", "network-vpc").inputs.cidrBlock, "10.20.0.0/16");
    });

    it("opens exactly the documented security group rules", () => {
        const rules = prod.resources
            .filter((r) => r.type.startsWith("aws:vpc/securityGroup"))
            .map((r) => {
                const dir = r.type.includes("Ingress") ? "in" : "out";
                const sg = r.inputs.securityGroupId;
                const peer = r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6 ?? r.inputs.referencedSecurityGroupId;
                return `${sg} ${dir} ${r.inputs.ipProtocol} ${r.inputs.fromPort ?? "all"}-${r.inputs.toPort ?? "all"} ${peer}`;
            })
            .sort();
        assert.deepStrictEqual(rules, [
            "network-app-id in -1 all-all network-app-id",
            "network-app-id in tcp 80-80 network-lb-id",
            "network-app-id out -1 all-all 0.0.0.0/0",
            "network-db-id in tcp 5432-5432 network-app-id",
            "network-db-id in tcp 6379-6379 network-app-id",
            "network-lb-id in tcp 443-443 0.0.0.0/0",
            "network-lb-id in tcp 443-443 ::/0",
            "network-lb-id in tcp 80-80 0.0.0.0/0",
            "network-lb-id in tcp 80-80 ::/0",
            "network-lb-id out tcp 80-80 network-app-id",
        ]);
    });

    it("opens the engine's port for MySQL", async () => {
        const run = await runProgram("prod", { sets: ["database.engine=mysql", "database.engineVersion=8.0.41"] });
        assert.strictEqual(find(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "network-db-in-engine").inputs.fromPort, 3306);
    });

    it("puts the DB and cache subnet groups on the db tier", () => {
        for (const run of [prod, dr]) {
            const db = find(run, "aws:rds/subnetGroup:SubnetGroup", "network-db-subnets");
            const cache = find(run, "aws:elasticache/subnetGroup:SubnetGroup", "network-cache-subnets");
            const dbTier = ["subnet-network-vpc-db-1", "subnet-network-vpc-db-2", "subnet-network-vpc-db-3"];
            assert.deepStrictEqual(db.inputs.subnetIds, dbTier);
            assert.deepStrictEqual(cache.inputs.subnetIds, dbTier);
            assert.strictEqual(db.inputs.name, "pilotlight-db");
        }
    });

    it("has NAT on prod, none on the dr pilot light, and NAT with app-tier routes once dr fails over", () => {
        const nats = (run: ProgramRun) => run.resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway");
        const routes = (run: ProgramRun) => run.resources.filter((r) => r.type === "aws:ec2/route:Route");
        assert.strictEqual(nats(prod).length, 1);
        assert.strictEqual(nats(prod)[0].inputs.subnetId, "subnet-network-vpc-public-1");
        assert.strictEqual(routes(prod).length, 3);
        assert.deepStrictEqual(routes(prod).map((r) => r.inputs.routeTableId).sort(), ["rtb-for-subnet-network-vpc-app-1", "rtb-for-subnet-network-vpc-app-2", "rtb-for-subnet-network-vpc-app-3"]);
        assert.ok(routes(prod).every((r) => r.inputs.destinationCidrBlock === "0.0.0.0/0" && r.inputs.natGatewayId === "network-nat-1-id"));
        assert.strictEqual(nats(dr).length, 0);
        assert.strictEqual(routes(dr).length, 0);
        assert.strictEqual(nats(drFailover).length, 1);
        assert.strictEqual(routes(drFailover).length, 3);
    });

    it("puts one NAT gateway in each AZ when asked", async () => {
        const run = await runProgram("prod", { sets: ["network.natGateways=onePerAz"] });
        const nats = run.resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway");
        assert.deepStrictEqual(nats.map((n) => n.inputs.subnetId).sort(), ["subnet-network-vpc-public-1", "subnet-network-vpc-public-2", "subnet-network-vpc-public-3"]);
        const routes = run.resources.filter((r) => r.type === "aws:ec2/route:Route").sort((a, b) => (a.name < b.name ? -1 : 1));
        assert.deepStrictEqual(routes.map((r) => r.inputs.natGatewayId), ["network-nat-1-id", "network-nat-2-id", "network-nat-3-id"]);
    });

    it("switching failover on or off never replaces the VPC, subnets, subnet groups or security groups", () => {
        const pick = (run: ProgramRun) => run.resources.filter((r) => NETWORK_TYPES.includes(r.type) || r.type.startsWith("aws:vpc/"));
        const off = pick(dr);
        const on = pick(drFailover);
        assert.ok(off.length >= 6);
        assert.deepStrictEqual(on.map((r) => r.urn), off.map((r) => r.urn));
        for (let i = 0; i < off.length; i++) assert.deepStrictEqual(on[i].inputs, off[i].inputs, `${off[i].urn} changed`);
    });

    it("keeps Lambdas outside the VPC by default; on request every Lambda of the stack runs in the app tier with the endpoints it needs", async () => {
        assert.ok(!prod.resources.some((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint"));
        const run = await runProgram("prod", { sets: ["network.lambdasInVpc=true"] });
        const all = run.resources.filter((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint");
        const endpoints = all.filter((e) => e.inputs.vpcEndpointType === "Interface");
        assert.ok(endpoints.length >= 5);
        for (const e of endpoints) {
            assert.match(e.inputs.serviceName, /^com\.amazonaws\.us-east-1\.[a-z0-9]+$/);
            assert.strictEqual(e.inputs.privateDnsEnabled, true);
            assert.deepStrictEqual(e.inputs.subnetIds, ["subnet-network-vpc-app-1", "subnet-network-vpc-app-2", "subnet-network-vpc-app-3"]);
            assert.deepStrictEqual(e.inputs.securityGroupIds, ["network-endpoints-id"]);
        }
        const gateways = all.filter((e) => e.inputs.vpcEndpointType === "Gateway");
        assert.deepStrictEqual(gateways.map((g) => g.inputs.serviceName).sort(), ["com.amazonaws.us-east-1.dynamodb", "com.amazonaws.us-east-1.s3"]);
        for (const g of gateways) assert.deepStrictEqual(g.inputs.routeTableIds, ["rtb-for-subnet-network-vpc-app-1", "rtb-for-subnet-network-vpc-app-2", "rtb-for-subnet-network-vpc-app-3"]);
        const lambdaOut = run.resources.filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.inputs.securityGroupId === "network-lambda-id");
        // HTTPS through NAT for what no endpoint serves: the peer region, the SES API, Slack.
        assert.deepStrictEqual(lambdaOut.map((r) => r.inputs.referencedSecurityGroupId ?? r.inputs.prefixListId ?? `${r.inputs.cidrIpv4}:${r.inputs.fromPort}`).sort(), [
            "0.0.0.0/0:443",
            "network-endpoints-id",
            "pl-network-endpoint-dynamodb",
            "pl-network-endpoint-s3",
        ]);
        assert.ok(!endpoints.some((e) => /\.email(-smtp)?$/.test(e.inputs.serviceName)), "the SES API has no interface endpoint (email-smtp is SMTP only)");
        assert.ok(endpoints.some((e) => e.inputs.serviceName.endsWith(".rds")));
        assert.ok(endpoints.some((e) => e.inputs.serviceName.endsWith(".states")));
        const fns = run.resources.filter((r) => r.type === "aws:lambda/function:Function");
        assert.ok(fns.length >= 10);
        for (const f of fns) assert.deepStrictEqual(f.inputs.vpcConfig, { subnetIds: ["subnet-network-vpc-app-1", "subnet-network-vpc-app-2", "subnet-network-vpc-app-3"], securityGroupIds: ["network-lambda-id"] }, `${f.name} is outside the VPC`);
        assert.ok(prod.resources.filter((r) => r.type === "aws:lambda/function:Function").every((f) => f.inputs.vpcConfig === undefined));
    });

    it("refuses in-VPC Lambdas that must reach the peer region, SES or Slack on a stack without NAT (the dr pilot light)", async () => {
        assert.strictEqual(checkLambdaEgress({ lambdasInVpc: false, lambdasReachOutside: true, nat: false }), false);
        assert.strictEqual(checkLambdaEgress({ lambdasInVpc: true, lambdasReachOutside: false, nat: false }), false);
        assert.strictEqual(checkLambdaEgress({ lambdasInVpc: true, lambdasReachOutside: true, nat: true }), true);
        assert.throws(() => checkLambdaEgress({ lambdasInVpc: true, lambdasReachOutside: true, nat: false }), /network\.lambdasInVpc is true on a stack without NAT .* set pilotlight:network\.lambdasInVpc to false on this stack/);
        // dr e-mailing its alerts: the SES API is out of reach in the pilot light.
        const email = ["alerts.emailSender=dr-alerts@example.com", 'alerts.emailRecipients=["oncall@example.com"]'];
        await assert.rejects(runProgram("dr", { sets: ["network.lambdasInVpc=true", ...email] }), /network\.lambdasInVpc is true on a stack without NAT/);
        // Without e-mail or Slack, dr's Lambdas need only the endpoints (SNS alerts, RDS, Step Functions).
        const plain = await runProgram("dr", { sets: ["network.lambdasInVpc=true"] });
        assert.ok(!plain.resources.some((r) => r.name === "network-lambda-out-nat"));
    });
});
