/**
 * Protecting an existing workload (docs/existing-workload.md): the example stack files in
 * examples/existing-workload run through the real program under mocks. What the program does not
 * own (the VPC, the database, the app tier, Redis, DNS) it neither creates nor configures; what
 * protects the database (restore, backups, Aurora recovery, failback, dr's failover source) names it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { crossCheckStackFiles, parseStackConfig, rawFromConfigMap, stackFileFromYaml, workloadIdentifier } from "../config";
import { oneResource, PROJECT_ROOT, ProgramRun, readStackConfig, rolePolicyOf, runProgram } from "./program";

const DIR = path.join(PROJECT_ROOT, "examples", "existing-workload");
const file = (stack: string) => stackFileFromYaml(`Pulumi.${stack}.yaml`, yaml.load(fs.readFileSync(path.join(DIR, `Pulumi.${stack}.yaml`), "utf8")));
const VPC = "vpc-0a1b2c3d4e5f60718";
const APP_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"];
const DB_SUBNETS = ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"];

const types = (run: ProgramRun) => new Set(run.resources.map((r) => r.type));
/** Types of what a workload owns: none may appear where the workload is the team's own. */
const WORKLOAD_TYPES = [
    "awsx:ec2:Vpc",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/route:Route",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:autoscaling/group:Group",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:route53/record:Record",
];

describe("protecting an existing workload (examples/existing-workload)", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    let drOn: ProgramRun;
    before(async () => {
        prod = await runProgram("prod", readStackConfig("prod", DIR));
        dr = await runProgram("dr", readStackConfig("dr", DIR));
        drOn = await runProgram("dr", { ...readStackConfig("dr", DIR), sets: ["failover=true"] });
    });

    it("the two files are valid, agree with each other, and name orders as the workload", () => {
        for (const stack of ["prod", "dr"]) {
            const { config } = readStackConfig(stack, DIR);
            const cfg = parseStackConfig(stack, rawFromConfigMap(config), config["aws:region"]);
            assert.strictEqual(workloadIdentifier(cfg), stack === "prod" ? "orders" : "orders-db");
        }
        assert.deepStrictEqual(crossCheckStackFiles(file("prod"), file("dr")), []);
        // The default source would be dr's own name, not the primary's database.
        const dr = file("dr");
        delete (dr.raw.failoverDatabase as Record<string, unknown>).sourceIdentifier;
        // The same port written out on one side and left to its default on the other agrees.
        const explicit = file("prod");
        (explicit.raw.database as Record<string, unknown>).port = 5432;
        assert.deepStrictEqual(crossCheckStackFiles(explicit, file("dr")), []);
        // dr's engine version and port left at their defaults: the program cannot know the existing database's.
        delete (dr.raw.database as Record<string, unknown>).engineVersion;
        const prod = file("prod");
        (prod.raw.database as Record<string, unknown>).port = "5433";
        assert.deepStrictEqual(crossCheckStackFiles(prod, dr), [
            'Pulumi.prod.yaml pilotlight:database.port is "5433" but Pulumi.dr.yaml leaves pilotlight:database.port at its engine\'s default 5432; both stacks must use the same port',
            "Pulumi.dr.yaml leaves pilotlight:database.engineVersion at its default, but Pulumi.prod.yaml pilotlight:database.existing is \"orders\", whose version the program cannot know offline; set pilotlight:database.engineVersion in Pulumi.dr.yaml to that database's major version (e.g. 15 or 8.0): dr's failover restores its snapshots with a parameter group of that version",
            'Pulumi.dr.yaml pilotlight:failoverDatabase.sourceIdentifier is "orders-db" (its default) but Pulumi.prod.yaml pilotlight:database.existing is "orders"; dr fails over from the database the primary protects: set pilotlight:failoverDatabase.sourceIdentifier to "orders" in Pulumi.dr.yaml',
        ]);
    });

    it("prod creates no VPC, database, app tier, cache or record, and changes nothing of the workload's", () => {
        for (const t of [...WORKLOAD_TYPES, "aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:secretsmanager/secret:Secret"]) {
            assert.ok(!types(prod).has(t), `prod registers a ${t}`);
        }
        // Its own additions to the VPC are new resources in it: the database tier's security group and
        // subnet group; without an app tier no load balancer or app security group, and no cache subnet group.
        const sgs = prod.resources.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup");
        assert.deepStrictEqual(sgs.map((sg) => [sg.name, sg.inputs.vpcId]), [["network-db", VPC]]);
        assert.ok(!types(prod).has("aws:elasticache/subnetGroup:SubnetGroup"));
        assert.ok(!prod.resources.some((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && (r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0")), "nothing open to the internet");
        assert.deepStrictEqual(oneResource(prod, "aws:rds/subnetGroup:SubnetGroup", "network-db-subnets").inputs.subnetIds, DB_SUBNETS);
        assert.strictEqual(prod.outputs.vpcId, VPC);
        assert.deepStrictEqual(prod.outputs.appSubnetIds, APP_SUBNETS);
        assert.strictEqual(prod.outputs.workloadDatabase, "orders");
        for (const k of ["databaseIdentifier", "appUrl", "redisAuthSecretArn", "dnsRecord"]) assert.strictEqual(prod.outputs[k], undefined, k);
    });

    it("prod's restore, backups, Aurora recovery and failback all protect orders", () => {
        const restore = JSON.stringify(rolePolicyOf(prod, "restore-rename-policy"));
        assert.match(restore, /:cluster:orders"/);
        assert.ok(prod.outputs.backupMachineArn, "backups");
        assert.deepStrictEqual(Object.keys(prod.outputs.auroraRecoveryMachineArns as object), ["orders"]);
        const failback = oneResource(prod, "aws:lambda/function:Function", "failback-fn").inputs.environment.variables;
        // Home is orders; dr's database, whose snapshots come home, is the program's orders-db.
        assert.deepStrictEqual([failback.DATABASE, failback.DR_DATABASE, failback.IS_CLUSTER], ["orders", "orders-db", "true"]);
        const policy = JSON.stringify(rolePolicyOf(prod, "failback-fn-policy"));
        assert.match(policy, /cluster-snapshot:orders-db-fb-\*"/);
        assert.match(policy, /us-east-1:111111111111:cluster-snapshot:orders-fb-\*-sk"/);
        assert.match(policy, /:cluster:orders"/);
    });

    it("dr's pilot light and failover use the program's own dr VPC, and restore orders' copies into orders-db", () => {
        assert.ok(types(dr).has("awsx:ec2:Vpc"), "dr creates its own network");
        for (const t of ["aws:lb/loadBalancer:LoadBalancer", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:route53/record:Record"]) assert.ok(!types(drOn).has(t), `dr registers a ${t}`);
        const cluster = drOn.resources.find((r) => r.type === "aws:rds/cluster:Cluster");
        assert.ok(cluster, "failover restores the database");
        assert.strictEqual(cluster!.inputs.clusterIdentifier, "orders-db");
        assert.strictEqual(drOn.outputs.databaseIdentifier, "orders-db");
        assert.strictEqual(oneResource(drOn, "aws:lambda/function:Function", "failback-source-fn").inputs.environment.variables.DATABASE, "orders-db");
    });
});

describe("an existing VPC, greenfield otherwise", () => {
    const existing = {
        vpcId: "vpc-0123456789abcdef0",
        publicSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        appSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000001b"],
        dbSubnetIds: ["subnet-0000000000000002a", "subnet-0000000000000002b"],
    };
    const withVpc = (stack: string, network: object) => {
        const { config, secretKeys } = readStackConfig(stack);
        delete config["pilotlight:availabilityZones"];
        config["pilotlight:network"] = JSON.stringify(network);
        return { config, secretKeys };
    };

    it("the app tier's load balancer, instances and cache go into the given subnets; no NAT, route or endpoint is made", async () => {
        const run = await runProgram("prod", withVpc("prod", { existing, lambdasInVpc: true }));
        for (const t of ["awsx:ec2:Vpc", "aws:ec2/natGateway:NatGateway", "aws:ec2/route:Route", "aws:ec2/vpcEndpoint:VpcEndpoint"]) assert.ok(!types(run).has(t), t);
        assert.deepStrictEqual(oneResource(run, "aws:lb/loadBalancer:LoadBalancer", "app-alb").inputs.subnets, existing.publicSubnetIds);
        assert.deepStrictEqual(oneResource(run, "aws:autoscaling/group:Group", "app-asg").inputs.vpcZoneIdentifiers, existing.appSubnetIds);
        assert.deepStrictEqual(oneResource(run, "aws:elasticache/subnetGroup:SubnetGroup", "network-cache-subnets").inputs.subnetIds, existing.dbSubnetIds);
        // In-VPC Lambdas go out through the VPC's own routes: HTTPS only, no endpoints of ours.
        const lambdaSg = oneResource(run, "aws:ec2/securityGroup:SecurityGroup", "network-lambda");
        const egress = run.resources.filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.inputs.securityGroupId === lambdaSg.id);
        assert.deepStrictEqual(egress.map((r) => [r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4]), [["tcp", 443, 443, "0.0.0.0/0"]]);
        const fn = run.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name === "alerts-fn")!;
        assert.deepStrictEqual(fn.inputs.vpcConfig.subnetIds, existing.appSubnetIds);
    });

    it("dr failed over in an existing VPC makes no NAT either", async () => {
        const { config, secretKeys } = withVpc("dr", { existing });
        const run = await runProgram("dr", { config, secretKeys, sets: ["failover=true"] });
        for (const t of ["awsx:ec2:Vpc", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:ec2/route:Route"]) assert.ok(!types(run).has(t), t);
        assert.ok(types(run).has("aws:autoscaling/group:Group"));
    });
});

describe("an existing RDS instance copied into the dr account", () => {
    it("the copy source snapshots it, the copy target restores its copies, and dr's failover adopts them", async () => {
        const prodCfg = readStackConfig("prod", DIR);
        Object.assign(prodCfg.config, {
            "pilotlight:database": JSON.stringify({ engine: "postgres", existing: "orders" }),
            "pilotlight:restore": JSON.stringify({ databases: ["orders"] }),
            "pilotlight:backups": JSON.stringify({ databases: [{ identifier: "orders" }] }),
            "pilotlight:copy": JSON.stringify({ source: "orders" }),
        });
        delete prodCfg.config["pilotlight:auroraFailover"];
        const prod = await runProgram("prod", prodCfg);
        const source = oneResource(prod, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables;
        assert.deepStrictEqual(JSON.parse(source.DATABASES), [{ identifier: "orders", isCluster: false }]);
        assert.match(JSON.stringify(rolePolicyOf(prod, "copy-fn-policy")), /:db:orders"/);

        const drCfg = readStackConfig("dr", DIR);
        Object.assign(drCfg.config, {
            "pilotlight:database": JSON.stringify({ engine: "postgres", engineVersion: "15" }),
            "pilotlight:failoverDatabase": JSON.stringify({ source: "adopt", sourceIdentifier: "orders" }),
            "pilotlight:copy": JSON.stringify({ source: "orders" }),
        });
        const dr = await runProgram("dr", { ...drCfg, sets: ["failover=true"] });
        assert.strictEqual(oneResource(dr, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables.SOURCE_IDENTIFIER, "orders");
        assert.strictEqual(dr.outputs.copySecretArn !== undefined, true);
    });
});

describe("an existing database in a VPC the program makes (no network.existing)", () => {
    it("makes no NAT, which nothing of its own would use, unless in-VPC Lambdas need it", async () => {
        const { config, secretKeys } = readStackConfig("prod", DIR);
        delete config["pilotlight:network"];
        config["pilotlight:availabilityZones"] = JSON.stringify(["us-east-1a", "us-east-1b"]);
        const run = await runProgram("prod", { config, secretKeys });
        assert.ok(types(run).has("awsx:ec2:Vpc"));
        for (const t of ["aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:ec2/route:Route"]) assert.ok(!types(run).has(t), t);
        const inVpc = await runProgram("prod", { config: { ...config, "pilotlight:network": JSON.stringify({ lambdasInVpc: true }) }, secretKeys });
        assert.ok(types(inVpc).has("aws:ec2/natGateway:NatGateway"), "the Lambdas reach the peer region and SES through NAT");
    });
});

describe("database clients other than the program's app tier (network.databaseClients)", () => {
    it("opens the database port, and only it, to each CIDR and security group named", async () => {
        const { config, secretKeys } = readStackConfig("dr", DIR);
        config["pilotlight:network"] = JSON.stringify({ databaseClients: ["10.20.64.0/18", "sg-0123456789abcdef0"] });
        const run = await runProgram("dr", { config, secretKeys, sets: ["failover=true"] });
        const db = oneResource(run, "aws:ec2/securityGroup:SecurityGroup", "network-db");
        const rules = run.resources.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.securityGroupId === db.id && r.name.startsWith("network-db-in-client"));
        assert.deepStrictEqual(
            rules.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]),
            [
                [5432, 5432, "10.20.64.0/18"],
                [5432, 5432, "sg-0123456789abcdef0"],
            ],
        );
        // The failover database is behind that security group.
        const cluster = run.resources.find((r) => r.type === "aws:rds/cluster:Cluster")!;
        assert.deepStrictEqual(cluster.inputs.vpcSecurityGroupIds, [db.id]);
    });
});

describe("an app tier without Redis", () => {
    it("makes no cache and no token secret, and the instances neither read nor wait for one", async () => {
        const run = await runProgram("prod", { sets: ['app={"redis": false}'] });
        assert.ok(!types(run).has("aws:elasticache/replicationGroup:ReplicationGroup"));
        assert.ok(!run.resources.some((r) => r.name === "app-redis-auth"), "no Redis AUTH secret");
        assert.ok(types(run).has("aws:autoscaling/group:Group"));
        const policy = rolePolicyOf(run, "app-instance");
        assert.ok(!JSON.stringify(policy).includes("redis"), JSON.stringify(policy));
        assert.strictEqual(run.outputs.redisAuthSecretArn, undefined);
        const userData = Buffer.from(oneResource(run, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.userData, "base64").toString("utf8");
        assert.ok(!userData.includes("REDIS_"), "no Redis settings");
    });
});
