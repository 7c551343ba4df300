// The app tier: an internet-facing ALB in the public subnets (HTTPS when a certificate
// is configured, HTTP redirected to it), a target group, a launch template (IMDSv2,
// encrypted volumes, user-data with the app's settings and no secrets), an instance
// profile limited to its bucket, its secret and its key, an Auto Scaling group in the
// app tier, and an encrypted ElastiCache Redis with AUTH in the db tier.
//
// Split for static stability: what needs a global control plane (the instance role and
// profile) and what DNS points at (the load balancer, its listeners and target group) always
// exists; `serving` adds only regional resources (Redis, launch template, Auto Scaling group)
// that need nothing from IAM or Route 53 at creation.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, PolicyDocument, policyDocument, renderPolicy } from "./iam";
import { bucketArn, partitionOf } from "./naming";

/** The settings user-data writes for the app; the DB password is not one of them. */
export interface AppSettings {
    region: string;
    appPort: number;
    dbEngine: string;
    dbHost: string;
    dbPort: number;
    dbName: string;
    /** Secret with `{username, password}`, read at every boot with the instance role. */
    dbSecretArn: string;
    /** The Redis cache; none when the app tier has no cache. */
    redis?: {
        host: string;
        port: number;
        /** Secret holding the Redis AUTH token, read at every boot like the database's. */
        authSecretArn: string;
    };
    mediaBucket: string;
}

// Values land in a quoted heredoc and a systemd unit: only characters that need no quoting.
const SAFE_VALUE = /^[A-Za-z0-9._:/@+=,!-]+$/;

/**
 * The instances' user-data: writes /etc/pilotlight/app.env, installs a unit that reads
 * the database credentials from Secrets Manager into /run (tmpfs, never on disk, so never
 * in an AMI) at every boot, and starts the app's unit `pilotlight-app.service` after it.
 * Exported for testing.
 */
export function renderUserData(s: AppSettings): string {
    const env: [string, string | number][] = [
        ["AWS_REGION", s.region],
        ["APP_PORT", s.appPort],
        ["DB_ENGINE", s.dbEngine],
        ["DB_HOST", s.dbHost],
        ["DB_PORT", s.dbPort],
        ["DB_NAME", s.dbName],
        ["DB_SECRET_ARN", s.dbSecretArn],
        ["DB_CREDENTIALS_FILE", "/run/pilotlight/db-credentials.json"],
        ...(s.redis
            ? ([
                  ["REDIS_HOST", s.redis.host],
                  ["REDIS_PORT", s.redis.port],
                  ["REDIS_TLS", "true"],
                  ["REDIS_AUTH_SECRET_ARN", s.redis.authSecretArn],
                  ["REDIS_AUTH_FILE", "/run/pilotlight/redis-auth"],
              ] as [string, string | number][])
            : []),
        ["MEDIA_BUCKET", s.mediaBucket],
    ];
    for (const [k, v] of env) {
        if (!SAFE_VALUE.test(String(v))) throw new Error(`user-data setting ${k} is ${JSON.stringify(v)}; expected letters, digits and . _ : / @ + = , ! - only`);
    }
    return [
        "#!/bin/bash",
        "# pilotlight app instance: settings only; the database password is read from Secrets Manager at boot.",
        "set -euo pipefail",
        "install -d -m 0755 /etc/pilotlight",
        "cat > /etc/pilotlight/app.env <<'PILOTLIGHT_ENV'",
        ...env.map(([k, v]) => `${k}=${v}`),
        "PILOTLIGHT_ENV",
        "chmod 0644 /etc/pilotlight/app.env",
        // Portable to every systemd: no Restart= on a oneshot unit (needs systemd >= 244), no
        // RuntimeDirectory options; the fetch retries by itself while the network comes up.
        "cat > /etc/systemd/system/pilotlight-db-credentials.service <<'PILOTLIGHT_UNIT'",
        "[Unit]",
        "Description=pilotlight: fetch the database credentials and Redis AUTH token from Secrets Manager",
        "Wants=network-online.target",
        "After=network-online.target",
        "Before=pilotlight-app.service",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "EnvironmentFile=/etc/pilotlight/app.env",
        "UMask=0077",
        "ExecStart=/usr/local/sbin/pilotlight-fetch-secrets",
        "[Install]",
        "WantedBy=multi-user.target",
        "PILOTLIGHT_UNIT",
        "cat > /usr/local/sbin/pilotlight-fetch-secrets <<'PILOTLIGHT_FETCH'",
        "#!/bin/sh",
        "# Up to 30 tries 10 s apart: egress and the instance profile may take a moment after boot.",
        "install -d -m 0750 /run/pilotlight",
        "fetch() { aws secretsmanager get-secret-value --region \"$AWS_REGION\" --secret-id \"$1\" --query SecretString --output text > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"; }",
        "i=0",
        s.redis
            ? "until fetch \"$DB_SECRET_ARN\" \"$DB_CREDENTIALS_FILE\" && fetch \"$REDIS_AUTH_SECRET_ARN\" \"$REDIS_AUTH_FILE\"; do"
            : "until fetch \"$DB_SECRET_ARN\" \"$DB_CREDENTIALS_FILE\"; do",
        "  i=$((i + 1)); [ \"$i\" -ge 30 ] && { echo 'pilotlight: cannot read the secrets from Secrets Manager' >&2; exit 1; }",
        "  sleep 10",
        "done",
        "PILOTLIGHT_FETCH",
        "chmod 0755 /usr/local/sbin/pilotlight-fetch-secrets",
        "systemctl daemon-reload",
        "systemctl enable --now pilotlight-db-credentials.service",
        // The app comes with the image; a base image without it says so instead of failing the boot script.
        "if systemctl cat pilotlight-app.service >/dev/null 2>&1; then",
        "  systemctl enable pilotlight-app.service",
        "  systemctl restart pilotlight-app.service",
        "else",
        "  echo 'pilotlight: this image has no pilotlight-app.service; install the app in the image (pilotlight:app.amiId)' >&2",
        "fi",
        "",
    ].join("\n");
}

/** What the instance role may touch. */
export interface InstancePolicyInput {
    /** Media bucket name. */
    bucketName: string;
    /** Secrets the instances read: the database master-user secret(s) and the Redis AUTH token. */
    secretArns: string[];
    /** The stack's key: media, the database secret and the Redis token are all under it. */
    keyArns: string[];
    region: string;
}

/**
 * The RDS-managed master-user secrets of this account and region. RDS names them
 * `rds!db-<uuid>` / `rds!cluster-<uuid>` when it creates the database, so the name cannot be known
 * while the database does not exist yet, and the instance role must exist before it (the pilot
 * light); the key condition of the instance policy narrows them to secrets under the stack's key.
 * Exported for testing.
 */
export function rdsManagedSecretArns(accountId: string, region: string): string[] {
    const p = partitionOf(region);
    return [`arn:${p}:secretsmanager:${region}:${accountId}:secret:rds!db-*`, `arn:${p}:secretsmanager:${region}:${accountId}:secret:rds!cluster-*`];
}

/**
 * The instance profile's policy: read/write its media bucket's objects, read its secret,
 * and use its key(s) only through S3 and Secrets Manager. Nothing else. Exported for testing.
 */
export function instancePolicy(p: InstancePolicyInput): PolicyDocument {
    const bucket = bucketArn(p.bucketName, p.region);
    return policyDocument([
        { Sid: "ListMediaBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: bucket },
        { Sid: "ReadWriteMedia", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucket}/*` },
        { Sid: "ReadAppSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: [...new Set(p.secretArns)] },
        {
            Sid: "UseKeyThroughS3AndSecretsManager",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [...new Set(p.keyArns)],
            Condition: { StringEquals: { "kms:ViaService": [`s3.${p.region}.amazonaws.com`, `secretsmanager.${p.region}.amazonaws.com`] } },
        },
    ]);
}

/** The Auto Scaling service-linked role, which launches instances with encrypted volumes. */
export function autoScalingServiceRoleArn(accountId: string, region: string): string {
    return `arn:${partitionOf(region)}:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
}

/**
 * True for instance types of AWS Graviton (arm64) families: a generation digit followed by `g`
 * (t4g, m7g, c7gn, r8g, x2gd, im4gn, g5g, ...) and a1. Exported for testing.
 */
export function isArm64InstanceType(instanceType: string): boolean {
    const family = instanceType.split(".")[0];
    return family === "a1" || /^[a-z]+\d+g[a-z]*$/.test(family);
}

/**
 * The public SSM parameter AWS keeps pointing at the newest Amazon Linux 2023 AMI of the
 * instance type's architecture in every region (systemd 252, AWS CLI v2). Used when no
 * `amiId` is configured; image backups are never picked up by themselves. Exported for testing.
 */
export function baseImageParameter(instanceType: string): string {
    return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${isArm64InstanceType(instanceType) ? "arm64" : "x86_64"}`;
}

/** The Redis AUTH token's secret name. Exported for testing. */
export function redisAuthSecretName(namePrefix: string): string {
    return `${namePrefix}/redis-auth`;
}

export interface AppTierArgs {
    /** Prefix of physical names (Redis replication group, the Redis AUTH secret). */
    namePrefix: string;
    /**
     * Create the serving half: Redis, the launch template and the Auto Scaling group. Without it the
     * tier is what the pilot light keeps ready: the load balancer (the SECONDARY record's target),
     * its listeners and empty target group, the instance role and profile, the Redis AUTH secret and
     * the volume key grant. Defaults to true.
     */
    serving?: boolean;
    /** VPC of the target group. */
    vpcId: pulumi.Input<string>;
    /** Public subnets for the ALB. */
    publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** App-tier subnets for the instances. */
    appSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The network's load balancer security group. */
    lbSecurityGroupId: pulumi.Input<string>;
    /** The network's app security group. */
    appSecurityGroupId: pulumi.Input<string>;
    /** The network's database security group (Redis listens behind it on 6379). */
    cacheSecurityGroupId: pulumi.Input<string>;
    /** The network's ElastiCache subnet group. */
    cacheSubnetGroupName: pulumi.Input<string>;
    /** The instances' egress (NAT routes): the Auto Scaling group launches only after it exists. Defaults to none. */
    egress?: pulumi.Input<pulumi.Resource>[];
    /** Port the app listens on. Defaults to 80. */
    appPort?: number;
    /** EC2 instance type. Defaults to `t3.small`. */
    instanceType?: string;
    /** AMI with the app installed; defaults to the Amazon Linux 2023 base image of the instance type's architecture (`baseImageParameter`). */
    amiId?: pulumi.Input<string>;
    /** Auto Scaling group minimum. Defaults to 2. */
    minSize?: number;
    /** Auto Scaling group maximum. Defaults to 4. */
    maxSize?: number;
    /** Desired capacity. Defaults to `minSize`. */
    desiredCapacity?: number;
    /** Health-check path. Defaults to `/health`. */
    healthCheckPath?: string;
    /** ACM certificate (same region) for HTTPS. Defaults to none: plain HTTP. */
    certificateArn?: string;
    /** Root volume GiB. Defaults to 20. */
    volumeSizeGb?: number;
    /** ElastiCache node type. Defaults to `cache.t4g.small`. */
    redisNodeType?: string;
    /** Redis nodes; 2+ adds automatic failover. Defaults to 2. */
    redisNodes?: number;
    /** Redis engine version. Defaults to `7.1`. */
    redisEngineVersion?: string;
    /** Whether the app tier has its Redis cache (and the AUTH token's secret). Defaults to true. */
    redis?: boolean;
    /** The stack's key: volumes, Redis at rest, the Redis AUTH secret, media objects, the database secret. */
    kmsKeyArn: pulumi.Input<string>;
    /** Media bucket name (the replica on dr). */
    mediaBucketName: string;
    /** The database the app uses; required with `serving`. */
    database?: {
        /** Engine, written to the app's settings. */
        engine: string;
        /** Host name of the instance or the cluster's writer endpoint. */
        endpoint: pulumi.Input<string>;
        /** Port. */
        port: pulumi.Input<number>;
        /** Application database name. */
        name: string;
        /** RDS-managed master-user secret the instances read at boot (under `kmsKeyArn`, within `rdsManagedSecretArns`). */
        secretArn: pulumi.Input<string>;
    };
    /** Resources the volume key grant waits for, e.g. the Auto Scaling service-linked role it names. Defaults to none. */
    grantDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Account of the stack (the Auto Scaling service-linked role's ARN). */
    accountId: string;
    /** Region of the stack (settings, ARNs, KMS via-service conditions). */
    region: string;
    /** Extra tags on the instances only, e.g. the tag that selects them for image backups. Defaults to none. */
    instanceTags?: Record<string, string>;
    /** Tags. Defaults to none. */
    tags?: Record<string, string>;
}

/** ALB + Auto Scaling group + Redis. */
export class AppTier extends pulumi.ComponentResource {
    /** The load balancer. */
    public readonly loadBalancer: aws.lb.LoadBalancer;
    /** DNS name of the load balancer. */
    public readonly dnsName: pulumi.Output<string>;
    /** Hosted zone of the load balancer (for alias records). */
    public readonly zoneId: pulumi.Output<string>;
    /** The URL the app answers on (scheme + ALB name). */
    public readonly url: pulumi.Output<string>;
    /** True when the listener is HTTPS. */
    public readonly https: boolean;
    /** ARN of the secret holding the Redis AUTH token; undefined without Redis. */
    public readonly redisAuthSecretArn?: pulumi.Output<string>;
    /** Redis primary endpoint (serving only). */
    public readonly redisEndpoint?: pulumi.Output<string>;
    /** Auto Scaling group name (serving only). */
    public readonly autoScalingGroupName?: pulumi.Output<string>;
    /** The rendered instance policy. */
    public readonly instancePolicy: pulumi.Output<PolicyDocument>;
    /** The user-data (plain text, before base64; serving only). */
    public readonly userData?: pulumi.Output<string>;

    constructor(name: string, args: AppTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:app:AppTier", name, {}, opts);
        const tags = args.tags ?? {};
        const serving = args.serving ?? true;
        const appPort = args.appPort ?? 80;
        const minSize = args.minSize ?? 2;
        const maxSize = args.maxSize ?? 4;
        const desiredCapacity = args.desiredCapacity ?? minSize;
        if (!(minSize <= desiredCapacity && desiredCapacity <= maxSize)) throw new Error(`AppTier: expected minSize ${minSize} <= desiredCapacity ${desiredCapacity} <= maxSize ${maxSize}`);
        if (serving && !args.database) throw new Error("AppTier: serving needs the database the app uses");
        const healthCheckPath = args.healthCheckPath ?? "/health";
        this.https = !!args.certificateArn;
        const instanceType = args.instanceType ?? "t3.small";

        // --- Always there (pilot light): the load balancer DNS points at, IAM, the key grant, the Redis token.

        this.loadBalancer = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                loadBalancerType: "application",
                internal: false,
                securityGroups: [args.lbSecurityGroupId],
                subnets: args.publicSubnetIds,
                dropInvalidHeaderFields: true,
                tags,
            },
            { parent: this },
        );
        this.dnsName = this.loadBalancer.dnsName;
        this.zoneId = this.loadBalancer.zoneId;
        this.url = pulumi.interpolate`${this.https ? "https" : "http"}://${this.dnsName}`;

        const targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            {
                port: appPort,
                protocol: "HTTP",
                targetType: "instance",
                vpcId: args.vpcId,
                deregistrationDelay: 30,
                healthCheck: { enabled: true, path: healthCheckPath, protocol: "HTTP", matcher: "200-399", interval: 15, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
                tags,
            },
            { parent: this },
        );
        const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
        if (args.certificateArn) {
            new aws.lb.Listener(
                `${name}-https`,
                { loadBalancerArn: this.loadBalancer.arn, port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn: args.certificateArn, defaultActions: forward, tags },
                { parent: this },
            );
            new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: this.loadBalancer.arn,
                    port: 80,
                    protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                    tags,
                },
                { parent: this },
            );
        } else {
            new aws.lb.Listener(`${name}-http`, { loadBalancerArn: this.loadBalancer.arn, port: 80, protocol: "HTTP", defaultActions: forward, tags }, { parent: this });
        }

        // The Redis AUTH token: generated once by Secrets Manager (letters and digits, which ElastiCache
        // accepts), kept in the secret; a later `up` keeps it (rotation is a deliberate operation).
        // Deleted without a recovery window: it protects only the cache that goes with the stack, and a
        // window would block re-creating the same name for up to 30 days (a redeployed stack).
        const withRedis = args.redis ?? true;
        const redisSecret = withRedis
            ? new aws.secretsmanager.Secret(
                  `${name}-redis-auth`,
                  { name: redisAuthSecretName(args.namePrefix), description: "pilotlight: Redis AUTH token of the app cache", kmsKeyId: args.kmsKeyArn, recoveryWindowInDays: 0, tags },
                  { parent: this },
              )
            : undefined;
        const redisToken = redisSecret
            ? new aws.secretsmanager.SecretVersion(
                  `${name}-redis-auth`,
                  {
                      secretId: redisSecret.id,
                      secretString: pulumi.secret(
                          aws.secretsmanager.getRandomPasswordOutput({ passwordLength: 64, excludePunctuation: true, includeSpace: false, requireEachIncludedType: true }, { parent: this }).randomPassword,
                      ),
                  },
                  { parent: this, ignoreChanges: ["secretString"] },
              )
            : undefined;
        this.redisAuthSecretArn = redisSecret?.arn;

        this.instancePolicy = pulumi
            .all([args.kmsKeyArn, redisSecret?.arn])
            .apply(([keyArn, redisSecretArn]) =>
                instancePolicy({
                    bucketName: args.mediaBucketName,
                    secretArns: [...rdsManagedSecretArns(args.accountId, args.region), ...(redisSecretArn ? [redisSecretArn] : [])],
                    keyArns: [keyArn],
                    region: args.region,
                }),
            );
        const role = new aws.iam.Role(
            `${name}-instance`,
            { description: "pilotlight app instances: media bucket, database secret, stack key", assumeRolePolicy: renderPolicy(assumeRolePolicy("ec2.amazonaws.com")), tags },
            { parent: this },
        );
        const rolePolicy = new aws.iam.RolePolicy(`${name}-instance`, { role: role.id, policy: renderPolicy(this.instancePolicy) }, { parent: this });
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name, tags }, { parent: this });

        // Auto Scaling launches with the key only if its service-linked role may use it; KMS refuses a
        // grant to a role that does not exist, so the grant waits for it (grantDependsOn).
        const grant = new aws.kms.Grant(
            `${name}-asg-volumes`,
            {
                keyId: args.kmsKeyArn,
                granteePrincipal: autoScalingServiceRoleArn(args.accountId, args.region),
                operations: ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
            },
            { parent: this, dependsOn: args.grantDependsOn },
        );

        if (serving && args.database) {
            const db = args.database;
            // --- Serving (prod always, dr while failed over): regional resources only.
            const redisNodes = args.redisNodes ?? 2;
            const redis = redisToken && new aws.elasticache.ReplicationGroup(
                `${name}-redis`,
                {
                    replicationGroupId: `${args.namePrefix}-redis`,
                    description: "pilotlight app cache",
                    engine: "redis",
                    engineVersion: args.redisEngineVersion ?? "7.1",
                    nodeType: args.redisNodeType ?? "cache.t4g.small",
                    numCacheClusters: redisNodes,
                    automaticFailoverEnabled: redisNodes > 1,
                    multiAzEnabled: redisNodes > 1,
                    port: 6379,
                    subnetGroupName: args.cacheSubnetGroupName,
                    securityGroupIds: [args.cacheSecurityGroupId],
                    atRestEncryptionEnabled: true,
                    kmsKeyId: args.kmsKeyArn,
                    transitEncryptionEnabled: true,
                    // AUTH required, not only the security group; SET (not ROTATE) when a token is added
                    // to an existing cache, so that connections without it are refused at once.
                    authToken: redisToken.secretString,
                    authTokenUpdateStrategy: "SET",
                    snapshotRetentionLimit: 1,
                    tags,
                },
                { parent: this },
            );
            this.redisEndpoint = redis?.primaryEndpointAddress;

            const userData = pulumi
                .all([db.endpoint, db.port, db.secretArn, redis?.primaryEndpointAddress, redisSecret?.arn])
                .apply(([dbHost, dbPort, dbSecretArn, redisHost, redisAuthSecretArn]) =>
                    renderUserData({
                        region: args.region,
                        appPort,
                        dbEngine: db.engine,
                        dbHost,
                        dbPort,
                        dbName: db.name,
                        dbSecretArn,
                        redis: redisHost && redisAuthSecretArn ? { host: redisHost, port: 6379, authSecretArn: redisAuthSecretArn } : undefined,
                        mediaBucket: args.mediaBucketName,
                    }),
                );
            this.userData = userData;
            const imageId = args.amiId ?? aws.ssm.getParameterOutput({ name: baseImageParameter(instanceType) }, { parent: this }).insecureValue; // a public AMI id: shown in previews
            const instanceTags = { ...tags, ...args.instanceTags, Name: `${args.namePrefix}-app` };
            const launchTemplate = new aws.ec2.LaunchTemplate(
                `${name}-lt`,
                {
                    description: "pilotlight app instances",
                    imageId,
                    instanceType,
                    iamInstanceProfile: { arn: profile.arn },
                    vpcSecurityGroupIds: [args.appSecurityGroupId],
                    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
                    blockDeviceMappings: [
                        {
                            deviceName: "/dev/xvda",
                            ebs: { encrypted: "true", kmsKeyId: args.kmsKeyArn, volumeSize: args.volumeSizeGb ?? 20, volumeType: "gp3", deleteOnTermination: "true" },
                        },
                    ],
                    userData: userData.apply((u) => Buffer.from(u, "utf8").toString("base64")),
                    updateDefaultVersion: true,
                    tagSpecifications: [
                        { resourceType: "instance", tags: instanceTags },
                        { resourceType: "volume", tags: instanceTags },
                    ],
                    tags,
                },
                { parent: this },
            );

            // Instances boot only once they can reach Secrets Manager and their packages (NAT routes)
            // and read the secrets (the role's policy).
            const group = new aws.autoscaling.Group(
                `${name}-asg`,
                {
                    vpcZoneIdentifiers: args.appSubnetIds,
                    minSize,
                    maxSize,
                    desiredCapacity,
                    healthCheckType: "ELB",
                    healthCheckGracePeriod: 300,
                    targetGroupArns: [targetGroup.arn],
                    launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => String(v)) },
                    instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 50 } },
                    tags: Object.entries(instanceTags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
                },
                { parent: this, dependsOn: pulumi.output(args.egress ?? []).apply((egress) => [grant, rolePolicy, ...egress]) },
            );
            this.autoScalingGroupName = group.name;
        }

        this.registerOutputs({
            dnsName: this.dnsName,
            zoneId: this.zoneId,
            url: this.url,
            redisAuthSecretArn: this.redisAuthSecretArn,
            redisEndpoint: this.redisEndpoint,
            autoScalingGroupName: this.autoScalingGroupName,
        });
    }
}
