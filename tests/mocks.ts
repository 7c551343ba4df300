// One set of Pulumi mocks for every test and for the offline synthesis. Resources
// get deterministic ids and the computed attributes the program reads (ARNs, names);
// awsx's remote Vpc registers no children under mocks, so its outputs are made here
// from the arguments it was given.
import * as pulumi from "@pulumi/pulumi";

/** A resource as the mocks saw it. */
export interface MockedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    id: string;
    state: Record<string, any>;
    provider?: string;
}

const REGION_FALLBACK = "us-east-1";

function arnFor(type: string, name: string, inputs: Record<string, any>, region: string, account: string): string {
    const [pkg, mod] = type.split(":");
    const svc = (mod ?? "").split("/")[0];
    switch (type) {
        case "aws:s3/bucket:Bucket":
            return `arn:aws:s3:::${inputs.bucket ?? name}`;
        case "aws:iam/role:Role":
            return `arn:aws:iam::${account}:role/${inputs.name ?? name}`;
        case "aws:lambda/function:Function":
            return `arn:aws:lambda:${region}:${account}:function:${inputs.name ?? name}`;
        case "aws:kms/key:Key":
        case "aws:kms/replicaKey:ReplicaKey":
            return `arn:aws:kms:${region}:${account}:key/mrk-${name}`;
        case "aws:sns/topic:Topic":
            return `arn:aws:sns:${region}:${account}:${inputs.name ?? name}`;
        case "aws:sfn/stateMachine:StateMachine":
            return `arn:aws:states:${region}:${account}:stateMachine:${inputs.name ?? name}`;
        case "aws:cloudwatch/logGroup:LogGroup":
            return `arn:aws:logs:${region}:${account}:log-group:${inputs.name ?? name}`;
        case "aws:dynamodb/table:Table":
            return `arn:aws:dynamodb:${region}:${account}:table/${inputs.name ?? name}`;
        case "aws:cloudwatch/eventRule:EventRule":
            return `arn:aws:events:${region}:${account}:rule/${inputs.name ?? name}`;
        default:
            return `arn:aws:${pkg === "aws" ? svc : pkg}:${region}:${account}:${name}`;
    }
}

/** The RDS-managed master-user secret of a database. */
function mockMasterSecret(region: string, account: string, ident: string, kmsKeyId: string | undefined) {
    return { secretArn: `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-${ident}-AbCdEf`, kmsKeyId: kmsKeyId ?? "", secretStatus: "active" };
}

/**
 * Values the mocks invent for what a real deployment looks up at deploy time (AMIs, snapshots,
 * secrets, the latest copy), each with what it stands for. Synth shows these as looked up at
 * deploy time instead of as if they were real; it clears the map before each run.
 */
export const DEPLOY_TIME_LOOKUPS = new Map<string, string>();

/** Records the invented values of `fields` of a lookup's result and returns the result. */
function lookedUp<T extends Record<string, any>>(token: string, result: T, fields: Record<string, unknown>): T {
    const fn = token.split(":").pop();
    for (const [field, value] of Object.entries(fields)) if (typeof value === "string" && value.length >= 8) DEPLOY_TIME_LOOKUPS.set(value, `${fn} ${field}`);
    return result;
}

/** An RDS instance outside any stack (the copy target machine restored it), as `aws.rds.getInstance` sees it. */
export interface ExternalInstance {
    /** Whether RDS manages its master password, and under which key (the copy target turns it on under the DR key). */
    managedPassword?: { kmsKeyId: string };
}

/** What exists outside the stacks, for the data sources. Tests change it with `setExternalWorld` and reset it after. */
export interface ExternalWorld {
    /** The copy target's secret, as its machine writes it; undefined when there is none. */
    copySecret?: { identifier: string; version: number; managedPassword: boolean };
    /** Instances by identifier. */
    instances: Record<string, ExternalInstance>;
}

/** By default: the copy target has made `pilotlight-db-v7` and turned on its managed password under the DR key. */
export function defaultExternalWorld(): ExternalWorld {
    return {
        copySecret: { identifier: "pilotlight-db-v7", version: 7, managedPassword: true },
        instances: { "pilotlight-db-v7": { managedPassword: { kmsKeyId: "key/copy-target" } } },
    };
}

let world: ExternalWorld = defaultExternalWorld();

/** Replaces the world outside the stacks (until `resetExternalWorld`). */
export function setExternalWorld(w: ExternalWorld): void {
    world = w;
}

export function resetExternalWorld(): void {
    world = defaultExternalWorld();
}

/** Mocks that record every resource and invoke. */
export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: MockedResource[] = [];
    readonly calls: pulumi.runtime.MockCallArgs[] = [];

    constructor(
        private readonly region: string = REGION_FALLBACK,
        private readonly accountId: string = "111111111111",
    ) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const inputs = args.inputs ?? {};
        const region = (inputs.region as string | undefined) ?? this.providerRegion(args.provider) ?? this.region;
        const id = `${args.name}-id`;
        const state: Record<string, any> = { ...inputs, arn: inputs.arn ?? arnFor(args.type, args.name, inputs, region, this.accountId) };
        switch (args.type) {
            case "awsx:ec2:Vpc": {
                const azs: string[] = inputs.availabilityZoneNames ?? ["a", "b"];
                const ids = (tier: string) => azs.map((_, i) => `subnet-${args.name}-${tier}-${i + 1}`);
                Object.assign(state, {
                    vpcId: `vpc-${args.name}`,
                    publicSubnetIds: ids("public"),
                    privateSubnetIds: ids("app"),
                    isolatedSubnetIds: ids("db"),
                });
                break;
            }
            case "aws:s3/bucket:Bucket":
                state.bucket = inputs.bucket ?? args.name;
                state.bucketRegionalDomainName = `${state.bucket}.s3.${region}.amazonaws.com`;
                break;
            case "aws:kms/key:Key":
            case "aws:kms/replicaKey:ReplicaKey":
                state.keyId = `mrk-${args.name}`;
                break;
            case "aws:iam/role:Role":
                state.name = inputs.name ?? args.name;
                break;
            case "aws:lambda/function:Function":
                state.name = inputs.name ?? args.name;
                state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/functions/${state.arn}/invocations`;
                break;
            case "aws:rds/instance:Instance": {
                const ident = inputs.identifier ?? args.name;
                state.identifier = ident;
                state.arn = `arn:aws:rds:${region}:${this.accountId}:db:${ident}`;
                state.address = `${ident}.mock.${region}.rds.amazonaws.com`;
                state.port = inputs.port ?? 5432;
                state.endpoint = `${state.address}:${state.port}`;
                state.masterUserSecrets = inputs.manageMasterUserPassword ? [mockMasterSecret(region, this.accountId, ident, inputs.masterUserSecretKmsKeyId)] : [];
                break;
            }
            case "aws:rds/cluster:Cluster": {
                const ident = inputs.clusterIdentifier ?? args.name;
                state.clusterIdentifier = ident;
                state.arn = `arn:aws:rds:${region}:${this.accountId}:cluster:${ident}`;
                state.endpoint = `${ident}.cluster-mock.${region}.rds.amazonaws.com`;
                state.readerEndpoint = `${ident}.cluster-ro-mock.${region}.rds.amazonaws.com`;
                state.port = inputs.port ?? 5432;
                state.masterUserSecrets = inputs.manageMasterUserPassword ? [mockMasterSecret(region, this.accountId, ident, inputs.masterUserSecretKmsKeyId)] : [];
                break;
            }
            case "aws:lb/loadBalancer:LoadBalancer":
                state.dnsName = `${args.name}-mock.${region}.elb.amazonaws.com`;
                state.zoneId = `ZALB${region.replace(/-/g, "").toUpperCase()}`;
                break;
            case "aws:ec2/launchTemplate:LaunchTemplate":
                state.id = `lt-${args.name}`;
                state.latestVersion = 1;
                break;
            case "aws:elasticache/replicationGroup:ReplicationGroup":
                state.primaryEndpointAddress = `master.${inputs.replicationGroupId ?? args.name}.mock.cache.amazonaws.com`;
                break;
            case "aws:route53/record:Record":
                state.fqdn = inputs.name;
                break;
            case "aws:iam/instanceProfile:InstanceProfile":
                state.name = inputs.name ?? args.name;
                state.arn = `arn:aws:iam::${this.accountId}:instance-profile/${state.name}`;
                break;
            case "aws:ec2/vpcEndpoint:VpcEndpoint":
                state.prefixListId = `pl-${args.name}`;
                break;
            default:
                if (state.name === undefined) state.name = args.name;
        }
        this.resources.push({ type: args.type, name: args.name, inputs, id, state, provider: args.provider });
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.calls.push(args);
        switch (args.token) {
            case "aws:ec2/getRouteTable:getRouteTable":
                return { id: `rtb-for-${args.inputs.subnetId}`, routeTableId: `rtb-for-${args.inputs.subnetId}` };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: this.accountId, arn: `arn:aws:iam::${this.accountId}:user/test`, userId: "test" };
            case "aws:index/getRegion:getRegion":
                return { name: this.region, region: this.region, id: this.region };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com" };
            // The newest copy of a database: named after the `pilotlight:source` tag it was filtered by.
            case "aws:rds/getSnapshot:getSnapshot": {
                const source = args.inputs.tags?.["pilotlight:source"] ?? args.inputs.dbInstanceIdentifier ?? "db";
                const snap = args.inputs.dbSnapshotIdentifier ?? `${source}-copy-latest`;
                const arn = `arn:aws:rds:${this.region}:${this.accountId}:snapshot:${snap}`;
                const found = { ...args.inputs, id: snap, dbSnapshotIdentifier: snap, dbSnapshotArn: arn, status: "available", encrypted: true };
                return args.inputs.dbSnapshotIdentifier ? found : lookedUp(args.token, found, { dbSnapshotIdentifier: snap, dbSnapshotArn: arn });
            }
            // Snapshots the other account shared with this one (two-account layout): the newest backup of the source.
            case "aws:rds/getSnapshots:getSnapshots": {
                if (args.inputs.snapshotType === "manual" && args.inputs.dbInstanceIdentifier) {
                    // One account: this account's own DR-region copies of the instance.
                    const id = `${args.inputs.dbInstanceIdentifier}-bk-20260101000000`;
                    const own = `arn:aws:rds:${this.region}:${this.accountId}:snapshot:${id}`;
                    const copy = { dbSnapshotIdentifier: id, dbSnapshotArn: own, dbInstanceIdentifier: args.inputs.dbInstanceIdentifier, status: "available", snapshotType: "manual", snapshotCreateTime: "2026-01-01T01:00:00Z", originalSnapshotCreateTime: "2026-01-01T00:00:00Z" };
                    return lookedUp(args.token, { ...args.inputs, snapshots: [copy] }, { dbSnapshotIdentifier: id, "snapshot name": id });
                }
                if (args.inputs.snapshotType !== "shared") return { ...args.inputs, snapshots: [] };
                const arn = `arn:aws:rds:${this.region}:${this.otherAccount()}:snapshot:pilotlight-db-bk-20260101000000`;
                const snap = { dbSnapshotIdentifier: arn, dbSnapshotArn: arn, dbInstanceIdentifier: "pilotlight-db", status: "available", snapshotType: "shared", snapshotCreateTime: "2026-01-01T01:00:00Z", originalSnapshotCreateTime: "2026-01-01T00:00:00Z" };
                return lookedUp(args.token, { ...args.inputs, snapshots: [snap] }, { dbSnapshotArn: arn, "snapshot name": arn.split(":").pop() });
            }
            case "aws:rds/getClusterSnapshot:getClusterSnapshot": {
                if (args.inputs.snapshotType === "shared") {
                    const arn = `arn:aws:rds:${this.region}:${this.otherAccount()}:cluster-snapshot:${args.inputs.dbClusterIdentifier}-bk-20260101000000`;
                    return lookedUp(args.token, { ...args.inputs, id: arn, dbClusterSnapshotIdentifier: arn, dbClusterSnapshotArn: arn, status: "available", snapshotCreateTime: "2026-01-01T01:00:00Z" }, { dbClusterSnapshotArn: arn, "snapshot name": arn.split(":").pop() });
                }
                const source = args.inputs.tags?.["pilotlight:source"] ?? args.inputs.dbClusterIdentifier ?? "cluster";
                const snap = args.inputs.dbClusterSnapshotIdentifier ?? `${source}-copy-latest`;
                const arn = `arn:aws:rds:${this.region}:${this.accountId}:cluster-snapshot:${snap}`;
                const found = { ...args.inputs, id: snap, dbClusterSnapshotIdentifier: snap, dbClusterSnapshotArn: arn, status: "available" };
                return args.inputs.dbClusterSnapshotIdentifier ? found : lookedUp(args.token, found, { dbClusterSnapshotIdentifier: snap, dbClusterSnapshotArn: arn });
            }
            // Secrets Manager's GetRandomPassword: a fixed stand-in of the requested length (letters and digits).
            case "aws:secretsmanager/getRandomPassword:getRandomPassword":
                return lookedUp(args.token, { ...args.inputs, id: "random", randomPassword: "R4nd0m".repeat(20).slice(0, args.inputs.passwordLength ?? 32) }, { randomPassword: "R4nd0m".repeat(20).slice(0, args.inputs.passwordLength ?? 32) });
            // AWS's public AMI parameters: an image id per name (architecture).
            case "aws:ssm/getParameter:getParameter": {
                const arch = String(args.inputs.name).endsWith("arm64") ? "0a" : "0b";
                const ami = `ami-${arch}23456789abcdef0`;
                return lookedUp(args.token, { ...args.inputs, id: args.inputs.name, type: "String", value: ami, insecureValue: ami }, { value: ami });
            }
            case "aws:ec2/getAmi:getAmi":
                return lookedUp(args.token, { ...args.inputs, id: "ami-0123456789abcdef0", imageId: "ami-0123456789abcdef0", state: "available" }, { imageId: "ami-0123456789abcdef0" });
            // The copy target's secret, as its machine writes it (functions/lib/copyTarget.ts `point`).
            case "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                const s = world.copySecret;
                if (!s) throw new Error(`ResourceNotFoundException: Secrets Manager can't find the specified secret ${args.inputs.secretId}`);
                const ident = s.identifier;
                const value = {
                    host: `${ident}.mock.${this.region}.rds.amazonaws.com`,
                    port: 5432,
                    identifier: ident,
                    version: s.version,
                    engine: "postgres",
                    ...(s.managedPassword ? { masterUserSecretArn: mockMasterSecret(this.region, this.accountId, ident, undefined).secretArn } : {}),
                    sourceSnapshotArn: `arn:aws:rds:${this.region}:111111111111:snapshot:pilotlight-db-cp-20260101000000`,
                    sourceCreatedAt: "2026-01-01T00:00:00.000Z",
                };
                const arn = `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${args.inputs.secretId}-AbCdEf`;
                const secretString = JSON.stringify(value);
                return lookedUp(
                    args.token,
                    { ...args.inputs, id: args.inputs.secretId, arn, secretString, versionId: `v${s.version}` },
                    { arn, secretString, "secret host": value.host, "secret identifier": ident, "secret's managed password": value.masterUserSecretArn, "secret's source snapshot": value.sourceSnapshotArn },
                );
            }
            // Only instances that exist outside the stacks; a managed password only where RDS manages one.
            case "aws:rds/getInstance:getInstance": {
                const ident = args.inputs.dbInstanceIdentifier;
                const inst = world.instances[ident];
                if (!inst) throw new Error(`couldn't find resource: DB instance ${ident} not found`);
                const secrets = inst.managedPassword ? [mockMasterSecret(this.region, this.accountId, ident, `arn:aws:kms:${this.region}:${this.accountId}:${inst.managedPassword.kmsKeyId}`)] : [];
                const found = {
                    ...args.inputs,
                    id: ident,
                    dbInstanceArn: `arn:aws:rds:${this.region}:${this.accountId}:db:${ident}`,
                    address: `${ident}.mock.${this.region}.rds.amazonaws.com`,
                    port: 5432,
                    masterUserSecrets: secrets,
                };
                return lookedUp(args.token, found, { address: found.address, "master user secret": secrets[0]?.secretArn, "master user secret key": secrets[0]?.kmsKeyId });
            }
            default:
                return args.inputs;
        }
    }

    /** The other of the two accounts the stack files use: the owner of snapshots shared with this one. */
    private otherAccount(): string {
        return this.accountId === "111111111111" ? "222222222222" : "111111111111";
    }

    /** Region of an explicit provider, from its recorded inputs (`urn::id` reference). */
    private providerRegion(ref: string | undefined): string | undefined {
        if (!ref) return undefined;
        const id = ref.split("::").pop();
        return this.resources.find((r) => r.type === "pulumi:providers:aws" && r.id === id)?.inputs.region;
    }
}
