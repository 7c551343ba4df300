// @ts-nocheck
// The app tier: an internet-facing ALB in the public subnets (HTTPS when a certificate
// is configured, HTTP redirected to it), a target group, a launch template (IMDSv2,
// encrypted volumes, user-data with the app's settings and no secrets), an instance
// profile limited to its bucket, its secret and its key, an Auto Scaling group in the
// app tier, and an encrypted ElastiCache Redis in the db tier.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CREATED_BY_TAG } from "../functions/lib/tags";
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
    redisHost: string;
    redisPort: number;
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
        ["REDIS_HOST", s.redisHost],
        ["REDIS_PORT", s.redisPort],
        ["REDIS_TLS", "true"],
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
        "cat > /etc/systemd/system/pilotlight-db-credentials.service <<'PILOTLIGHT_UNIT'",
        "[Unit]",
        "Description=pilotlight: fetch the database credentials from Secrets Manager",
        "Wants=network-online.target",
        "After=network-online.target",
        "Before=pilotlight-app.service",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "EnvironmentFile=/etc/pilotlight/app.env",
        "RuntimeDirectory=pilotlight",
        "RuntimeDirectoryMode=0750",
        "RuntimeDirectoryPreserve=yes",
        "UMask=0077",
        "Restart=on-failure",
        "RestartSec=10",
        "ExecStart=/bin/sh -c 'aws secretsmanager get-secret-value --region \"$AWS_REGION\" --secret-id \"$DB_SECRET_ARN\" --query SecretString --output text > \"$DB_CREDENTIALS_FILE\"'",
        "[Install]",
        "WantedBy=multi-user.target",
        "PILOTLIGHT_UNIT",
        "systemctl daemon-reload",
        "systemctl enable --now pilotlight-db-credentials.service",
        "systemctl enable pilotlight-app.service",
        "systemctl restart pilotlight-app.service",
        "",
    ].join("\n");
}

/** What the instance role may touch. */
export interface InstancePolicyInput {
    /** Media bucket name. */
    bucketName: string;
    /** Database master-user secret. */
    secretArn: string;
    /** Keys: the stack's key (media) and the secret's key when that is another one. */
    keyArns: string[];
    region: string;
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
        { Sid: "ReadDatabaseSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: p.secretArn },
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

/** AMI lookup used when no `amiId` is configured: this account's newest available pilotlight image. */
export function amiLookup(): aws.ec2.GetAmiOutputArgs {
    return {
        owners: ["self"],
        mostRecent: true,
        filters: [
            { name: "tag-key", values: [CREATED_BY_TAG] },
            { name: "state", values: ["available"] },
        ],
    };
}

export interface AppTierArgs {
    /** Prefix of physical names (Redis replication group). */
    namePrefix: string;
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
    /** Port the app listens on. Defaults to 80. */
    appPort?: number;
    /** EC2 instance type. Defaults to `t3.small`. */
    instanceType?: string;
    /** AMI; defaults to the newest image found by `amiLookup()`. */
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
    /** The stack's key: volumes, Redis at rest, media objects. */
    kmsKeyArn: pulumi.Input<string>;
    /** Media bucket name (the replica on dr). */
    mediaBucketName: string;
    /** The database the app uses. */
    database: {
        /** Engine, written to the app's settings. */
        engine: string;
        /** Host name of the instance or the cluster's writer endpoint. */
        endpoint: pulumi.Input<string>;
        /** Port. */
        port: pulumi.Input<number>;
        /** Application database name. */
        name: string;
        /** RDS-managed master-user secret the instances read at boot. */
        secretArn: pulumi.Input<string>;
        /** Key of the secret. Defaults to `kmsKeyArn`. */
        secretKeyArn?: pulumi.Input<string>;
    };
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
    /** Redis primary endpoint. */
    public readonly redisEndpoint: pulumi.Output<string>;
    /** Auto Scaling group name. */
    public readonly autoScalingGroupName: pulumi.Output<string>;
    /** The rendered instance policy. */
    public readonly instancePolicy: pulumi.Output<PolicyDocument>;
    /** The user-data (plain text, before base64). */
    public readonly userData: pulumi.Output<string>;

    constructor(name: string, args: AppTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:app:AppTier", name, {}, opts);
        const tags = args.tags ?? {};
        const appPort = args.appPort ?? 80;
        const minSize = args.minSize ?? 2;
        const maxSize = args.maxSize ?? 4;
        const desiredCapacity = args.desiredCapacity ?? minSize;
        if (!(minSize <= desiredCapacity && desiredCapacity <= maxSize)) throw new Error(`AppTier: expected minSize ${minSize} <= desiredCapacity ${desiredCapacity} <= maxSize ${maxSize}`);
        const healthCheckPath = args.healthCheckPath ?? "/health";
        this.https = !!args.certificateArn;

        const redisNodes = args.redisNodes ?? 2;
        const redis = new aws.elasticache.ReplicationGroup(
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
                snapshotRetentionLimit: 1,
                tags,
            },
            { parent: this },
        );
        this.redisEndpoint = redis.primaryEndpointAddress;

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

        const secretKeyArn = args.database.secretKeyArn ?? args.kmsKeyArn;
        this.instancePolicy = pulumi
            .all([args.database.secretArn, args.kmsKeyArn, secretKeyArn])
            .apply(([secretArn, keyArn, secretKey]) => instancePolicy({ bucketName: args.mediaBucketName, secretArn, keyArns: [keyArn, secretKey], region: args.region }));
        const role = new aws.iam.Role(
            `${name}-instance`,
            { description: "pilotlight app instances: media bucket, database secret, stack key", assumeRolePolicy: renderPolicy(assumeRolePolicy("ec2.amazonaws.com")), tags },
            { parent: this },
        );
        new aws.iam.RolePolicy(`${name}-instance`, { role: role.id, policy: renderPolicy(this.instancePolicy) }, { parent: this });
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name, tags }, { parent: this });

        this.userData = pulumi
            .all([args.database.endpoint, args.database.port, args.database.secretArn, redis.primaryEndpointAddress])
            .apply(([dbHost, dbPort, dbSecretArn, redisHost]) =>
                renderUserData({
                    region: args.region,
                    appPort,
                    dbEngine: args.database.engine,
                    dbHost,
                    dbPort,
                    dbName: args.database.name,
                    dbSecretArn,
                    redisHost,
                    redisPort: 6379,
                    mediaBucket: args.mediaBucketName,
                }),
            );
        const imageId = args.amiId ?? aws.ec2.getAmiOutput(amiLookup(), { parent: this }).id;
        const instanceTags = { ...tags, ...args.instanceTags, Name: `${args.namePrefix}-app` };
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: "pilotlight app instances",
                imageId,
                instanceType: args.instanceType ?? "t3.small",
                iamInstanceProfile: { arn: profile.arn },
                vpcSecurityGroupIds: [args.appSecurityGroupId],
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/xvda",
                        ebs: { encrypted: "true", kmsKeyId: args.kmsKeyArn, volumeSize: args.volumeSizeGb ?? 20, volumeType: "gp3", deleteOnTermination: "true" },
                    },
                ],
                userData: this.userData.apply((u) => Buffer.from(u, "utf8").toString("base64")),
                updateDefaultVersion: true,
                tagSpecifications: [
                    { resourceType: "instance", tags: instanceTags },
                    { resourceType: "volume", tags: instanceTags },
                ],
                tags,
            },
            { parent: this },
        );

        // Auto Scaling launches with the key only if its service-linked role may use it.
        const grant = new aws.kms.Grant(
            `${name}-asg-volumes`,
            {
                keyId: args.kmsKeyArn,
                granteePrincipal: autoScalingServiceRoleArn(args.accountId, args.region),
                operations: ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
            },
            { parent: this },
        );

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
            { parent: this, dependsOn: [grant] },
        );
        this.autoScalingGroupName = group.name;

        this.registerOutputs({
            dnsName: this.dnsName,
            zoneId: this.zoneId,
            url: this.url,
            redisEndpoint: this.redisEndpoint,
            autoScalingGroupName: this.autoScalingGroupName,
        });
    }
}
