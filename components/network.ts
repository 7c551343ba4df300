// The VPC of a stack: public (load balancer, NAT), app and db tiers across the
// configured AZs, the tier security groups, the DB and cache subnet groups, NAT on
// demand and, when Lambdas run in the VPC, the interface endpoints they need.
// Or an existing VPC: then only the tier security groups and subnet groups are added to it.
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { formatCidr, parseCidr } from "../config";
import { LambdaVpcConfig } from "./lambdaFunction";

/** The CIDR blocks of each tier, one per AZ, in AZ order. */
export interface SubnetPlan {
    public: string[];
    app: string[];
    db: string[];
}

/** An Application Load Balancer needs a subnet of at least /27 in each of its AZs. */
export const MAX_PUBLIC_PREFIX = 27;

/**
 * Plans the subnets of a /16-/20 VPC for up to 6 AZs, deterministically: the first
 * half holds the app tier (each /p+4, the big one: instances), the second half
 * public subnets (each /p+8, but never smaller than the /27 a load balancer needs) and
 * db subnets (each /p+8, from a sixteenth of the VPC past the second half's start).
 * Never overlapping; spare room stays free for later tiers. Exported for testing.
 */
export function planSubnets(vpcCidr: string, azCount: number): SubnetPlan {
    const vpc = parseCidr(vpcCidr);
    if (!vpc || vpc.prefix < 16 || vpc.prefix > 20) throw new Error(`VPC CIDR ${vpcCidr} must be a /16 to /20 network address`);
    if (!Number.isInteger(azCount) || azCount < 2 || azCount > 6) throw new Error(`${azCount} availability zones: expected 2 to 6`);
    const size = 2 ** (32 - vpc.prefix);
    const appSize = size / 16;
    const smallSize = size / 256;
    const half = vpc.base + size / 2;
    const range = (start: number, step: number, prefix: number) =>
        Array.from({ length: azCount }, (_, i) => formatCidr(start + i * step, prefix));
    // /16-/19 keep /p+8 (unchanged for existing stacks); a /20 gets /27 public subnets, 6 of
    // which (192 addresses) still end before the db tier starts 256 addresses in.
    const publicPrefix = Math.min(vpc.prefix + 8, MAX_PUBLIC_PREFIX);
    return {
        app: range(vpc.base, appSize, vpc.prefix + 4),
        public: range(half, 2 ** (32 - publicPrefix), publicPrefix),
        db: range(half + 16 * smallSize, smallSize, vpc.prefix + 8),
    };
}

/**
 * AWS services the Lambdas call, reached through interface endpoints when they run in the VPC.
 * Not the SES API: its only interface endpoint (`email-smtp`) serves SMTP, not the API the alert
 * Lambda calls; SES, Slack and other regions are reached through NAT (`lambdasReachOutside`).
 */
export const DEFAULT_ENDPOINT_SERVICES = ["rds", "states", "sns", "secretsmanager", "ec2", "kms", "sts"];

/** Services reached through gateway endpoints (free, routed) when Lambdas run in the VPC. */
export const GATEWAY_ENDPOINT_SERVICES = ["s3", "dynamodb"];

/** A VPC the program uses without creating or changing it. */
export interface ExistingVpc {
    vpcId: pulumi.Input<string>;
    /** Public subnets (the app tier's load balancer); needed only with an app tier. */
    publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** Private subnets whose routes reach AWS APIs (NAT or endpoints). */
    appSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Database-tier subnets. */
    dbSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
}

export interface NetworkArgs {
    /**
     * Use this VPC instead of creating one: no VPC, subnets, NAT, routes or endpoints are made; the
     * tier security groups and the DB and cache subnet groups are added to it. The VPC's own routes
     * (NAT or its endpoints) must carry the app tier's and in-VPC Lambdas' traffic to AWS APIs.
     */
    existing?: ExistingVpc;
    /** VPC CIDR (/16 to /20); not read with `existing`. */
    vpcCidr: string;
    /** Availability zones, at least 2; one subnet per tier in each. */
    availabilityZones: string[];
    /** Create NAT gateways and default routes for the app tier. Defaults to false. */
    nat?: boolean;
    /** One NAT gateway (`single`, default) or one per AZ (`onePerAz`). */
    natGateways?: "single" | "onePerAz";
    /** Port the database listens on (opened from the app tier and `databaseClients`). */
    databasePort: number;
    /** Others who may reach the database port: IPv4 CIDRs or security group ids of this VPC. Defaults to none. */
    databaseClients?: string[];
    /**
     * Whether the stack has the program's app tier. Without it there is no load balancer or app
     * security group, no cache subnet group, and the database port is open to `databaseClients` only.
     * Defaults to true.
     */
    appTier?: boolean;
    /** Port the app instances listen on (opened from the load balancer only). Defaults to 80. */
    appPort?: number;
    /** Put Lambdas in the app tier and create interface endpoints for them. Defaults to false. */
    lambdasInVpc?: boolean;
    /**
     * Some Lambdas call what no VPC endpoint reaches: another region's endpoints (copies and backups
     * to the peer region), the SES API, Slack. With `lambdasInVpc` they go out through NAT (HTTPS
     * only), and the combination is refused without NAT. Defaults to false.
     */
    lambdasReachOutside?: boolean;
    /** Services for the interface endpoints. Defaults to `DEFAULT_ENDPOINT_SERVICES`. */
    endpointServices?: string[];
    /** Region (for endpoint service names). */
    region: string;
    /** Prefix of physical names (subnet groups). */
    namePrefix: string;
    /** Tags for every resource. Defaults to none. */
    tags?: Record<string, string>;
}

/**
 * Whether in-VPC Lambdas go out through NAT: only when they run in the VPC and must reach what
 * no endpoint serves. Throws when they would need NAT and there is none (the dr pilot light).
 * Exported for testing.
 */
export function checkLambdaEgress(args: Pick<NetworkArgs, "lambdasInVpc" | "lambdasReachOutside" | "nat">): boolean {
    if (!args.lambdasInVpc || !args.lambdasReachOutside) return false;
    if (!args.nat) {
        throw new Error(
            "network.lambdasInVpc is true on a stack without NAT (the dr pilot light): its Lambdas could not reach the SES API, Slack or the peer region, which no VPC endpoint serves; set pilotlight:network.lambdasInVpc to false on this stack",
        );
    }
    return true;
}

/** The stack's network. */
export class Network extends pulumi.ComponentResource {
    /** The awsx VPC; undefined for an existing VPC. */
    public readonly vpc?: awsx.ec2.Vpc;
    /** VPC id. */
    public readonly vpcId: pulumi.Output<string>;
    /** Public subnets (load balancer, NAT), one per AZ. */
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    /** App-tier subnets (instances, Lambdas in VPC), one per AZ. */
    public readonly appSubnetIds: pulumi.Output<string[]>;
    /** DB-tier subnets (databases, cache), one per AZ, no route to the internet. */
    public readonly dbSubnetIds: pulumi.Output<string[]>;
    /** Load balancer security group: 80/443 from the internet; undefined without an app tier. */
    public readonly lbSecurityGroup?: aws.ec2.SecurityGroup;
    /** App security group: from the load balancer and from itself; undefined without an app tier. */
    public readonly appSecurityGroup?: aws.ec2.SecurityGroup;
    /** Database security group: engine port and 6379 from the app tier only. */
    public readonly dbSecurityGroup: aws.ec2.SecurityGroup;
    /** RDS subnet group on the db tier. */
    public readonly dbSubnetGroup: aws.rds.SubnetGroup;
    /** ElastiCache subnet group on the db tier; undefined without an app tier. */
    public readonly cacheSubnetGroup?: aws.elasticache.SubnetGroup;
    /** NAT gateways (empty when NAT is off). */
    public readonly natGateways: aws.ec2.NatGateway[];
    /** The app tier's default routes through NAT (empty when NAT is off): instances boot after them. */
    public readonly natRoutes: aws.ec2.Route[];
    /** Where Lambdas run when `lambdasInVpc` is on; undefined otherwise. */
    public readonly lambdaVpc?: LambdaVpcConfig;
    /** The planned subnet CIDRs; undefined for an existing VPC. */
    public readonly plan?: SubnetPlan;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:network:Network", name, {}, opts);
        const tags = args.tags ?? {};
        const azs = args.availabilityZones;
        const appPort = args.appPort ?? 80;
        const existing = args.existing;
        if (existing && args.nat) throw new Error("Network: an existing VPC keeps its own routes; NAT is made only in a VPC this program creates");
        // An existing VPC's own routes carry the in-VPC Lambdas' traffic; no NAT check applies.
        const lambdaNat = existing ? false : checkLambdaEgress(args);

        if (existing) {
            const ids = (l: pulumi.Input<pulumi.Input<string>[]>) => pulumi.output(l).apply((x) => [...x]);
            this.vpcId = pulumi.output(existing.vpcId);
            this.publicSubnetIds = ids(existing.publicSubnetIds ?? []);
            this.appSubnetIds = ids(existing.appSubnetIds);
            this.dbSubnetIds = ids(existing.dbSubnetIds);
        } else {
            this.plan = planSubnets(args.vpcCidr, azs.length);
            // NAT is never the VPC's own (strategy None): turning it on for failover adds
            // resources next to the VPC instead of changing the VPC component's inputs.
            this.vpc = new awsx.ec2.Vpc(
                `${name}-vpc`,
                {
                    cidrBlock: args.vpcCidr,
                    availabilityZoneNames: azs,
                    enableDnsHostnames: true,
                    enableDnsSupport: true,
                    natGateways: { strategy: "None" },
                    subnetStrategy: "Auto",
                    subnetSpecs: [
                        { type: "Public", name: "public", cidrBlocks: this.plan.public, tags: { ...tags, tier: "public" } },
                        { type: "Private", name: "app", cidrBlocks: this.plan.app, tags: { ...tags, tier: "app" } },
                        { type: "Isolated", name: "db", cidrBlocks: this.plan.db, tags: { ...tags, tier: "db" } },
                    ],
                    tags,
                },
                { parent: this },
            );
            this.vpcId = this.vpc.vpcId;
            this.publicSubnetIds = this.vpc.publicSubnetIds;
            this.appSubnetIds = this.vpc.privateSubnetIds;
            this.dbSubnetIds = this.vpc.isolatedSubnetIds;
        }

        const sg = (suffix: string, description: string) =>
            new aws.ec2.SecurityGroup(
                `${name}-${suffix}`,
                { vpcId: this.vpcId, description, revokeRulesOnDelete: true, tags: { ...tags, Name: `${args.namePrefix}-${suffix}` } },
                { parent: this },
            );
        const appTier = args.appTier ?? true;
        this.dbSecurityGroup = sg("db", appTier ? "Databases and cache: from the app tier only" : "Databases: from the clients named in pilotlight:network.databaseClients only");

        const ingress = (rule: string, sgId: pulumi.Input<string>, r: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId">) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${rule}`, { securityGroupId: sgId, ...r, tags }, { parent: this });
        const egress = (rule: string, sgId: pulumi.Input<string>, r: Omit<aws.vpc.SecurityGroupEgressRuleArgs, "securityGroupId">) =>
            new aws.vpc.SecurityGroupEgressRule(`${name}-${rule}`, { securityGroupId: sgId, ...r, tags }, { parent: this });

        if (appTier) {
            const lb = sg("lb", "Load balancer: HTTP and HTTPS from the internet");
            const app = sg("app", "App tier: from the load balancer and from itself");
            this.lbSecurityGroup = lb;
            this.appSecurityGroup = app;
            for (const port of [80, 443]) {
                ingress(`lb-in-${port}-v4`, lb.id, { ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `Port ${port} from the internet` });
                ingress(`lb-in-${port}-v6`, lb.id, { ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv6: "::/0", description: `Port ${port} from the internet (IPv6)` });
            }
            egress("lb-out-app", lb.id, { ipProtocol: "tcp", fromPort: appPort, toPort: appPort, referencedSecurityGroupId: app.id, description: "To the app instances" });

            ingress("app-in-lb", app.id, { ipProtocol: "tcp", fromPort: appPort, toPort: appPort, referencedSecurityGroupId: lb.id, description: "From the load balancer" });
            ingress("app-in-self", app.id, { ipProtocol: "-1", referencedSecurityGroupId: app.id, description: "Between app instances" });
            // Instances fetch packages and call AWS APIs (through NAT or endpoints).
            egress("app-out-all", app.id, { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "Outbound to AWS APIs and package mirrors" });

            ingress("db-in-engine", this.dbSecurityGroup.id, { ipProtocol: "tcp", fromPort: args.databasePort, toPort: args.databasePort, referencedSecurityGroupId: app.id, description: "Database engine from the app tier" });
            ingress("db-in-redis", this.dbSecurityGroup.id, { ipProtocol: "tcp", fromPort: 6379, toPort: 6379, referencedSecurityGroupId: app.id, description: "Redis from the app tier" });
            this.cacheSubnetGroup = new aws.elasticache.SubnetGroup(
                `${name}-cache-subnets`,
                { name: `${args.namePrefix}-cache`, description: "pilotlight cache tier", subnetIds: this.dbSubnetIds, tags },
                { parent: this },
            );
        }
        for (const client of args.databaseClients ?? []) {
            const from = client.startsWith("sg-") ? { referencedSecurityGroupId: client } : { cidrIpv4: client };
            ingress(`db-in-client-${client.replace(/[^A-Za-z0-9]/g, "-")}`, this.dbSecurityGroup.id, {
                ipProtocol: "tcp",
                fromPort: args.databasePort,
                toPort: args.databasePort,
                ...from,
                description: "Database engine from a client named in pilotlight:network.databaseClients",
            });
        }

        this.dbSubnetGroup = new aws.rds.SubnetGroup(
            `${name}-db-subnets`,
            { name: `${args.namePrefix}-db`, description: "pilotlight database tier", subnetIds: this.dbSubnetIds, tags },
            { parent: this },
        );
        this.natGateways = [];
        this.natRoutes = [];
        if (args.nat) {
            const count = args.natGateways === "onePerAz" ? azs.length : 1;
            for (let i = 0; i < count; i++) {
                const eip = new aws.ec2.Eip(`${name}-nat-${i + 1}`, { domain: "vpc", tags: { ...tags, Name: `${args.namePrefix}-nat-${i + 1}` } }, { parent: this });
                this.natGateways.push(
                    new aws.ec2.NatGateway(
                        `${name}-nat-${i + 1}`,
                        { allocationId: eip.id, subnetId: this.publicSubnetIds.apply((ids) => ids[i]), tags: { ...tags, Name: `${args.namePrefix}-nat-${i + 1}` } },
                        { parent: this },
                    ),
                );
            }
            azs.forEach((_, i) => {
                const routeTable = aws.ec2.getRouteTableOutput({ subnetId: this.appSubnetIds.apply((ids) => ids[i]) }, { parent: this });
                this.natRoutes.push(
                    new aws.ec2.Route(
                        `${name}-app-default-${i + 1}`,
                        { routeTableId: routeTable.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: this.natGateways[i % count].id },
                        { parent: this },
                    ),
                );
            });
        }

        if (args.lambdasInVpc && existing) {
            // Endpoints with private DNS would collide with those the VPC may already have: none are
            // made, and the Lambdas go out over HTTPS through the VPC's own routes.
            const lambdaSg = sg("lambda", "Lambdas: outbound HTTPS through the VPC's own routes");
            egress("lambda-out-https", lambdaSg.id, { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", description: "HTTPS to AWS APIs (and, where needed, other regions, the SES API, Slack) through the VPC's routes" });
            this.lambdaVpc = { subnetIds: this.appSubnetIds, securityGroupIds: [lambdaSg.id] };
        } else if (args.lambdasInVpc) {
            const lambdaSg = sg("lambda", "Lambdas: outbound HTTPS to the VPC's interface endpoints only");
            const endpointSg = sg("endpoints", "Interface endpoints: HTTPS from the Lambdas");
            egress("lambda-out-endpoints", lambdaSg.id, { ipProtocol: "tcp", fromPort: 443, toPort: 443, referencedSecurityGroupId: endpointSg.id, description: "To the interface endpoints" });
            ingress("endpoints-in-lambda", endpointSg.id, { ipProtocol: "tcp", fromPort: 443, toPort: 443, referencedSecurityGroupId: lambdaSg.id, description: "From the Lambdas" });
            for (const service of args.endpointServices ?? DEFAULT_ENDPOINT_SERVICES) {
                new aws.ec2.VpcEndpoint(
                    `${name}-endpoint-${service}`,
                    {
                        vpcId: this.vpcId,
                        serviceName: `com.amazonaws.${args.region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: this.appSubnetIds,
                        securityGroupIds: [endpointSg.id],
                        tags: { ...tags, Name: `${args.namePrefix}-${service}` },
                    },
                    { parent: this },
                );
            }
            // S3 and DynamoDB are reached through free gateway endpoints on the app tier's
            // route tables (the Lambdas' security group allows 443 to their prefix lists).
            const appRouteTables = azs.map((_, i) => aws.ec2.getRouteTableOutput({ subnetId: this.appSubnetIds.apply((ids) => ids[i]) }, { parent: this }).id);
            for (const service of GATEWAY_ENDPOINT_SERVICES) {
                const endpoint = new aws.ec2.VpcEndpoint(
                    `${name}-endpoint-${service}`,
                    {
                        vpcId: this.vpcId,
                        serviceName: `com.amazonaws.${args.region}.${service}`,
                        vpcEndpointType: "Gateway",
                        routeTableIds: appRouteTables,
                        tags: { ...tags, Name: `${args.namePrefix}-${service}` },
                    },
                    { parent: this },
                );
                egress(`lambda-out-${service}`, lambdaSg.id, { ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: endpoint.prefixListId, description: `To ${service} through its gateway endpoint` });
            }
            if (lambdaNat) {
                egress("lambda-out-nat", lambdaSg.id, { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", description: "HTTPS through NAT: other regions, the SES API, Slack" });
            }
            this.lambdaVpc = { subnetIds: this.appSubnetIds, securityGroupIds: [lambdaSg.id] };
        }

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            appSubnetIds: this.appSubnetIds,
            dbSubnetIds: this.dbSubnetIds,
            dbSubnetGroupName: this.dbSubnetGroup.name,
            cacheSubnetGroupName: this.cacheSubnetGroup?.name,
        });
    }
}
