import * as assert from "assert";
import { AppSettings, autoScalingServiceRoleArn, baseImageParameter, instancePolicy, isArm64InstanceType, rdsManagedSecretArns, renderUserData } from "../components/appTier";
import { wildcardActions } from "../components/iam";
import { oneResource, ProgramRun, readStackConfig, runProgram } from "./program";

const runs = new Map<string, ProgramRun>();
async function run(stack: string, sets: string[] = []): Promise<ProgramRun> {
    const key = `${stack} ${sets.join(" ")}`;
    if (!runs.has(key)) runs.set(key, await runProgram(stack, { sets }));
    return runs.get(key)!;
}

/** The prod stack file without an app certificate. */
function prodWithoutCertificate(): Record<string, string> {
    const { config } = readStackConfig("prod");
    const app = JSON.parse(config["pilotlight:app"]);
    delete app.certificateArn;
    return { ...config, "pilotlight:app": JSON.stringify(app) };
}

const settings: AppSettings = {
    region: "us-west-2",
    appPort: 8080,
    dbEngine: "postgres",
    dbHost: "pilotlight-db.abc.us-west-2.rds.amazonaws.com",
    dbPort: 5432,
    dbName: "app",
    dbSecretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-1234-AbCdEf",
    redis: {
        host: "master.pilotlight-redis.abc.usw2.cache.amazonaws.com",
        port: 6379,
        authSecretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:pilotlight/redis-auth-AbCdEf",
    },
    mediaBucket: "pilotlight-media-222222222222-us-west-2",
};

/** The lines of a heredoc `cat > <path> <<'<marker>'` in the user-data. */
function heredoc(u: string, path: string): string[] {
    const lines = u.split("\n");
    const start = lines.findIndex((l) => l.startsWith(`cat > ${path} <<'`));
    assert.ok(start >= 0, `no ${path} in user-data`);
    const marker = /<<'([A-Z_]+)'$/.exec(lines[start])![1];
    return lines.slice(start + 1, lines.indexOf(marker, start + 1));
}

describe("AppTier", () => {
    describe("user-data", () => {
        it("writes every setting the app needs", () => {
            const u = renderUserData(settings);
            for (const line of [
                "AWS_REGION=us-west-2",
                "APP_PORT=8080",
                "DB_ENGINE=postgres",
                "DB_HOST=pilotlight-db.abc.us-west-2.rds.amazonaws.com",
                "DB_PORT=5432",
                "DB_NAME=app",
                "DB_SECRET_ARN=arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-1234-AbCdEf",
                "REDIS_HOST=master.pilotlight-redis.abc.usw2.cache.amazonaws.com",
                "REDIS_PORT=6379",
                "REDIS_TLS=true",
                "REDIS_AUTH_SECRET_ARN=arn:aws:secretsmanager:us-west-2:222222222222:secret:pilotlight/redis-auth-AbCdEf",
                "REDIS_AUTH_FILE=/run/pilotlight/redis-auth",
                "MEDIA_BUCKET=pilotlight-media-222222222222-us-west-2",
            ]) {
                assert.ok(u.split("\n").includes(line), `user-data lacks ${line}:\n${u}`);
            }
            assert.ok(u.startsWith("#!/bin/bash\n"));
            // The settings heredoc is quoted: nothing in it is expanded by the shell.
            assert.ok(u.includes("cat > /etc/pilotlight/app.env <<'PILOTLIGHT_ENV'"));
        });

        it("reads the password and the Redis token from Secrets Manager at boot into tmpfs and never carries one", () => {
            const u = renderUserData(settings);
            const fetch = heredoc(u, "/usr/local/sbin/pilotlight-fetch-secrets");
            assert.ok(fetch.includes('fetch() { aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" --query SecretString --output text > "$2.tmp" && mv "$2.tmp" "$2"; }'), fetch.join("\n"));
            assert.ok(fetch.includes('until fetch "$DB_SECRET_ARN" "$DB_CREDENTIALS_FILE" && fetch "$REDIS_AUTH_SECRET_ARN" "$REDIS_AUTH_FILE"; do'));
            assert.ok(fetch.includes("install -d -m 0750 /run/pilotlight"));
            assert.ok(u.includes("DB_CREDENTIALS_FILE=/run/pilotlight/db-credentials.json"), "credentials live in /run (tmpfs), never on disk or in an AMI");
            assert.ok(u.includes("systemctl enable --now pilotlight-db-credentials.service"));
            assert.ok(u.includes("Before=pilotlight-app.service"));
            assert.ok(!/password\s*[=:]/i.test(u), "no password assignment in user-data");
            assert.ok(!/PGPASSWORD|MYSQL_PWD/.test(u));
        });

        it("the unit runs on any systemd: a oneshot without Restart= (systemd < 244 refuses that) and without RuntimeDirectory options", () => {
            const unit = heredoc(renderUserData(settings), "/etc/systemd/system/pilotlight-db-credentials.service");
            assert.ok(unit.includes("Type=oneshot"));
            assert.deepStrictEqual(unit.filter((l) => /^(Restart|RestartSec|RuntimeDirectory\w*)=/.test(l)), []);
            assert.ok(unit.includes("ExecStart=/usr/local/sbin/pilotlight-fetch-secrets"));
            // The retry lives in the script: bounded, then a clear failure.
            const fetch = heredoc(renderUserData(settings), "/usr/local/sbin/pilotlight-fetch-secrets");
            assert.ok(fetch.some((l) => l.includes('[ "$i" -ge 30 ]') && l.includes("exit 1")), fetch.join("\n"));
        });

        it("starts the app when the image has it, and says so instead of failing when it does not (a base image)", () => {
            const u = renderUserData(settings).split("\n");
            const at = u.indexOf("if systemctl cat pilotlight-app.service >/dev/null 2>&1; then");
            assert.ok(at > 0);
            assert.deepStrictEqual(u.slice(at + 1, at + 6), [
                "  systemctl enable pilotlight-app.service",
                "  systemctl restart pilotlight-app.service",
                "else",
                "  echo 'pilotlight: this image has no pilotlight-app.service; install the app in the image (pilotlight:app.amiId)' >&2",
                "fi",
            ]);
        });

        it("refuses values that could break out of the settings file", () => {
            for (const [key, value] of [
                ["dbHost", "db.example\nrm -rf /"],
                ["mediaBucket", "bucket$(id)"],
                ["dbName", ""],
            ] as const) {
                assert.throws(() => renderUserData({ ...settings, [key]: value }), /user-data setting [A-Z_]+ is .*; expected letters, digits/, `${key}=${JSON.stringify(value)}`);
            }
            assert.throws(() => renderUserData({ ...settings, redis: { ...settings.redis!, host: "PILOTLIGHT_ENV'" } }), /user-data setting REDIS_HOST is .*; expected letters, digits/);
        });

        it("without Redis, neither writes its settings nor waits for its token at boot", () => {
            const u = renderUserData({ ...settings, redis: undefined });
            assert.deepStrictEqual(
                heredoc(u, "/etc/pilotlight/app.env").filter((l) => l.startsWith("REDIS")),
                [],
            );
            assert.deepStrictEqual(heredoc(u, "/usr/local/sbin/pilotlight-fetch-secrets").filter((l) => l.startsWith("until")), ['until fetch "$DB_SECRET_ARN" "$DB_CREDENTIALS_FILE"; do']);
            assert.ok(heredoc(renderUserData(settings), "/usr/local/sbin/pilotlight-fetch-secrets").some((l) => l.includes('fetch "$REDIS_AUTH_SECRET_ARN" "$REDIS_AUTH_FILE"')));
        });
    });

    describe("instance policy", () => {
        it("is exactly its bucket, its secrets and its key through S3 and Secrets Manager", () => {
            const doc = instancePolicy({ bucketName: "b", secretArns: ["arn:secret", "arn:redis", "arn:secret"], keyArns: ["arn:key", "arn:key"], region: "us-west-2" });
            assert.deepStrictEqual(doc, {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "ListMediaBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::b" },
                    { Sid: "ReadWriteMedia", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::b/*" },
                    { Sid: "ReadAppSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: ["arn:secret", "arn:redis"] },
                    {
                        Sid: "UseKeyThroughS3AndSecretsManager",
                        Effect: "Allow",
                        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                        Resource: ["arn:key"],
                        Condition: { StringEquals: { "kms:ViaService": ["s3.us-west-2.amazonaws.com", "secretsmanager.us-west-2.amazonaws.com"] } },
                    },
                ],
            });
            assert.deepStrictEqual(wildcardActions(doc), []);
        });

        it("RDS-managed secrets of its account and region only: RDS names them when it creates the database", () => {
            assert.deepStrictEqual(rdsManagedSecretArns("222222222222", "us-west-2"), [
                "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-*",
                "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!cluster-*",
            ]);
            assert.ok(rdsManagedSecretArns("222222222222", "us-gov-west-1")[0].startsWith("arn:aws-us-gov:"));
        });

        it("is the same in the pilot light and failed over (no IAM change on failover), and covers the restored database's secret", async () => {
            const r = await run("dr", ["failover=true"]);
            const policy = JSON.parse(oneResource(r, "aws:iam/rolePolicy:RolePolicy", "app-instance").inputs.policy);
            const pilot = JSON.parse(oneResource(await run("dr"), "aws:iam/rolePolicy:RolePolicy", "app-instance").inputs.policy);
            assert.deepStrictEqual(pilot, policy);
            const key = oneResource(r, "aws:kms/key:Key", "dr-key").state.arn;
            const redisSecret = oneResource(r, "aws:secretsmanager/secret:Secret", "app-redis-auth").state.arn;
            assert.deepStrictEqual(
                policy,
                instancePolicy({
                    bucketName: "pilotlight-media-222222222222-us-west-2",
                    secretArns: [...rdsManagedSecretArns("222222222222", "us-west-2"), redisSecret],
                    keyArns: [key],
                    region: "us-west-2",
                }),
            );
            // The restored database's secret matches the pattern and is under the same key.
            const db = oneResource(r, "aws:rds/instance:Instance", "database-instance");
            assert.match(db.state.masterUserSecrets[0].secretArn, /^arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-/);
            assert.strictEqual(db.inputs.masterUserSecretKmsKeyId, key);
            const role = oneResource(r, "aws:iam/role:Role", "app-instance");
            assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
            assert.strictEqual(oneResource(r, "aws:iam/instanceProfile:InstanceProfile", "app-instance").inputs.role, role.state.name);
            assert.strictEqual(r.resources.filter((x) => x.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && x.urn.includes("AppTier")).length, 0, "no managed policies on the instance role");
        });
    });

    describe("under the program", () => {
        it("launch template: IMDSv2 required, encrypted volume with the stack key, app SG, profile, user-data", async () => {
            const r = await run("prod");
            const lt = oneResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs;
            const key = oneResource(r, "aws:kms/key:Key", "shared-key").state.arn;
            assert.deepStrictEqual(lt.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" });
            assert.deepStrictEqual(lt.blockDeviceMappings, [
                { deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: key, volumeSize: 20, volumeType: "gp3", deleteOnTermination: "true" } },
            ]);
            assert.deepStrictEqual(lt.vpcSecurityGroupIds, [oneResource(r, "aws:ec2/securityGroup:SecurityGroup", "network-app").id]);
            assert.strictEqual(lt.iamInstanceProfile.arn, oneResource(r, "aws:iam/instanceProfile:InstanceProfile", "app-instance").state.arn);
            assert.strictEqual(lt.instanceType, "t3.small");
            assert.strictEqual(lt.imageId, "ami-0b23456789abcdef0", "the x86_64 Amazon Linux 2023 base image when none is configured");
            const userData = Buffer.from(lt.userData, "base64").toString("utf8");
            assert.ok(userData.includes("DB_HOST=pilotlight-db.mock.us-east-1.rds.amazonaws.com\n"), userData);
            assert.ok(userData.includes("REDIS_HOST=master.pilotlight-redis.mock.cache.amazonaws.com\n"));
            assert.ok(userData.includes("MEDIA_BUCKET=pilotlight-media-111111111111-us-east-1\n"));
            assert.ok(userData.includes("DB_SECRET_ARN=arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!db-pilotlight-db-AbCdEf\n"));
        });

        it("tags prod's instances for the image backups (whose copies dr boots from), dr's not", async () => {
            const tagsOf = async (stack: string, sets: string[]) =>
                (oneResource(await run(stack, sets), "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.tagSpecifications as any[]).find((t) => t.resourceType === "instance").tags;
            const prod = await tagsOf("prod", []);
            assert.deepStrictEqual([prod["pilotlight:backup"], prod.Name], ["true", "pilotlight-app"]);
            const asg = oneResource(await run("prod"), "aws:autoscaling/group:Group", "app-asg").inputs.tags as any[];
            assert.deepStrictEqual(asg.find((t) => t.key === "pilotlight:backup"), { key: "pilotlight:backup", value: "true", propagateAtLaunch: true });
            assert.strictEqual((await tagsOf("dr", ["failover=true"]))["pilotlight:backup"], undefined);
        });

        it("tells Graviton instance types from x86 ones", () => {
            for (const t of ["t4g.small", "m7g.large", "c7gn.xlarge", "r8g.medium", "x2gd.large", "im4gn.large", "g5g.xlarge", "a1.medium", "c6gd.large"]) assert.ok(isArm64InstanceType(t), t);
            for (const t of ["t3.small", "m7i.large", "g4dn.xlarge", "c5n.large", "p4d.24xlarge", "inf2.xlarge", "m5.large", "t3a.micro"]) assert.ok(!isArm64InstanceType(t), t);
        });

        it("defaults to AWS's public Amazon Linux 2023 parameter of the architecture, never to a backup image; a configured AMI wins", async () => {
            assert.strictEqual(baseImageParameter("t3.small"), "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
            assert.strictEqual(baseImageParameter("t4g.small"), "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
            const arm = await run("prod", ["app.instanceType=t4g.small"]);
            assert.strictEqual(oneResource(arm, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.imageId, "ami-0a23456789abcdef0");
            const r = await run("prod", ["app.amiId=ami-0fedcba9876543210"]);
            assert.strictEqual(oneResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.imageId, "ami-0fedcba9876543210");
        });

        it("Auto Scaling group: app subnets, sizes from config, ELB health checks, the target group, after the volume grant", async () => {
            const r = await run("prod", ["app.minSize=3", "app.maxSize=6", "app.desiredCapacity=4"]);
            const asg = oneResource(r, "aws:autoscaling/group:Group", "app-asg").inputs;
            assert.deepStrictEqual(asg.vpcZoneIdentifiers, ["subnet-network-vpc-app-1", "subnet-network-vpc-app-2", "subnet-network-vpc-app-3"]);
            assert.deepStrictEqual([asg.minSize, asg.maxSize, asg.desiredCapacity, asg.healthCheckType], [3, 6, 4, "ELB"]);
            assert.deepStrictEqual(asg.targetGroupArns, [oneResource(r, "aws:lb/targetGroup:TargetGroup", "app-tg").state.arn]);
            assert.deepStrictEqual(asg.launchTemplate, { id: oneResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").id, version: "1" });
            // Instances boot only once their egress (every NAT route), the key grant and the role's policy exist.
            const urnOf = (type: string, name: string) => oneResource(r, type, name).urn;
            assert.deepStrictEqual(
                oneResource(r, "aws:autoscaling/group:Group", "app-asg").dependsOn,
                [
                    urnOf("aws:ec2/route:Route", "network-app-default-1"),
                    urnOf("aws:ec2/route:Route", "network-app-default-2"),
                    urnOf("aws:ec2/route:Route", "network-app-default-3"),
                    urnOf("aws:iam/rolePolicy:RolePolicy", "app-instance"),
                    urnOf("aws:kms/grant:Grant", "app-asg-volumes"),
                ].sort(),
            );
            const grant = oneResource(r, "aws:kms/grant:Grant", "app-asg-volumes").inputs;
            assert.strictEqual(grant.granteePrincipal, autoScalingServiceRoleArn("111111111111", "us-east-1"));
            assert.strictEqual(grant.granteePrincipal, "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
            assert.strictEqual(grant.keyId, oneResource(r, "aws:kms/key:Key", "shared-key").state.arn);
            assert.ok(!grant.operations.includes("RetireGrant"));
        });

        it("ALB: public subnets, lb SG; HTTPS with the certificate and HTTP redirected to it", async () => {
            const r = await run("prod");
            const alb = oneResource(r, "aws:lb/loadBalancer:LoadBalancer", "app-alb").inputs;
            assert.deepStrictEqual([alb.internal, alb.loadBalancerType, alb.dropInvalidHeaderFields], [false, "application", true]);
            assert.deepStrictEqual(alb.subnets, ["subnet-network-vpc-public-1", "subnet-network-vpc-public-2", "subnet-network-vpc-public-3"]);
            assert.deepStrictEqual(alb.securityGroups, [oneResource(r, "aws:ec2/securityGroup:SecurityGroup", "network-lb").id]);
            const https = oneResource(r, "aws:lb/listener:Listener", "app-https").inputs;
            const tg = oneResource(r, "aws:lb/targetGroup:TargetGroup", "app-tg");
            assert.deepStrictEqual([https.port, https.protocol, https.certificateArn, https.sslPolicy], [443, "HTTPS", "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ELBSecurityPolicy-TLS13-1-2-2021-06"]);
            assert.deepStrictEqual(https.defaultActions, [{ type: "forward", targetGroupArn: tg.state.arn }]);
            const http = oneResource(r, "aws:lb/listener:Listener", "app-http").inputs;
            assert.deepStrictEqual(http.defaultActions, [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
            assert.deepStrictEqual([tg.inputs.port, tg.inputs.protocol, tg.inputs.healthCheck.path, tg.inputs.vpcId], [80, "HTTP", "/health", "vpc-network-vpc"]);
            assert.strictEqual(r.outputs.appUrl, "https://app-alb-mock.us-east-1.elb.amazonaws.com");
        });

        it("ALB without a certificate: one plain HTTP listener forwarding to the app", async () => {
            const r = await runProgram("prod", { config: prodWithoutCertificate(), sets: ["app.healthCheckPath=/ready"] });
            assert.strictEqual(r.resources.filter((x) => x.type === "aws:lb/listener:Listener").length, 1);
            const http = oneResource(r, "aws:lb/listener:Listener", "app-http").inputs;
            assert.deepStrictEqual([http.port, http.protocol, http.defaultActions[0].type], [80, "HTTP", "forward"]);
            assert.strictEqual(oneResource(r, "aws:lb/targetGroup:TargetGroup", "app-tg").inputs.healthCheck.path, "/ready");
            assert.strictEqual(r.outputs.appUrl, "http://app-alb-mock.us-east-1.elb.amazonaws.com");
        });

        it("Redis: encrypted in transit and at rest with the stack key, cache subnets, db SG, failover with 2 nodes", async () => {
            const r = await run("prod");
            const redis = oneResource(r, "aws:elasticache/replicationGroup:ReplicationGroup", "app-redis").inputs;
            assert.deepStrictEqual(
                [redis.replicationGroupId, redis.engine, redis.transitEncryptionEnabled, redis.atRestEncryptionEnabled, redis.kmsKeyId],
                ["pilotlight-redis", "redis", true, true, oneResource(r, "aws:kms/key:Key", "shared-key").state.arn],
            );
            assert.deepStrictEqual([redis.numCacheClusters, redis.automaticFailoverEnabled, redis.multiAzEnabled, redis.port], [2, true, true, 6379]);
            assert.strictEqual(redis.subnetGroupName, "pilotlight-cache");
            assert.deepStrictEqual(redis.securityGroupIds, [oneResource(r, "aws:ec2/securityGroup:SecurityGroup", "network-db").id]);
        });

        it("Redis requires AUTH with the token kept in Secrets Manager under the stack key, generated once", async () => {
            const r = await run("prod");
            const redis = oneResource(r, "aws:elasticache/replicationGroup:ReplicationGroup", "app-redis").inputs;
            const version = oneResource(r, "aws:secretsmanager/secretVersion:SecretVersion", "app-redis-auth");
            const secret = oneResource(r, "aws:secretsmanager/secret:Secret", "app-redis-auth");
            assert.deepStrictEqual(redis.authToken, version.inputs.secretString);
            // A Pulumi secret in the inputs: never shown in plain text in a preview or the state.
            const token: string = redis.authToken.value;
            assert.match(token, /^[A-Za-z0-9]{64}$/, "16-128 characters ElastiCache accepts, no / \" or @");
            assert.strictEqual(redis.authTokenUpdateStrategy, "SET");
            assert.deepStrictEqual([secret.inputs.name, secret.inputs.kmsKeyId], ["pilotlight/redis-auth", oneResource(r, "aws:kms/key:Key", "shared-key").state.arn]);
            assert.strictEqual(secret.inputs.recoveryWindowInDays, 0, "deleted at once: a re-created stack must not collide with a pending deletion");
            const userData = Buffer.from(oneResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.userData, "base64").toString("utf8");
            assert.ok(userData.includes(`REDIS_AUTH_SECRET_ARN=${secret.state.arn}\n`));
            assert.ok(!userData.includes(token), "the token itself never goes into user-data");
        });

        it("the pilot light keeps the load balancer, listeners, target group, instance role, Redis secret and key grant; failover adds Redis, launch template and group", async () => {
            const types = (x: ProgramRun) => x.resources.filter((res) => res.urn.includes("pilotlight:app:AppTier$")).map((res) => `${res.type} ${res.name}`).sort();
            const pilot = types(await run("dr"));
            assert.deepStrictEqual(pilot, [
                "aws:iam/instanceProfile:InstanceProfile app-instance",
                "aws:iam/role:Role app-instance",
                "aws:iam/rolePolicy:RolePolicy app-instance",
                "aws:kms/grant:Grant app-asg-volumes",
                "aws:lb/listener:Listener app-http",
                "aws:lb/listener:Listener app-https",
                "aws:lb/loadBalancer:LoadBalancer app-alb",
                "aws:lb/targetGroup:TargetGroup app-tg",
                "aws:secretsmanager/secret:Secret app-redis-auth",
                "aws:secretsmanager/secretVersion:SecretVersion app-redis-auth",
            ]);
            const added = types(await run("dr", ["failover=true"])).filter((t) => !pilot.includes(t));
            assert.deepStrictEqual(added, ["aws:autoscaling/group:Group app-asg", "aws:ec2/launchTemplate:LaunchTemplate app-lt", "aws:elasticache/replicationGroup:ReplicationGroup app-redis"]);
        });

        it("the key grant waits for the Auto Scaling service-linked role the stack creates; none is created when the account has it", async () => {
            const r = await run("dr");
            const slr = r.resources.filter((x) => x.type === "aws:iam/serviceLinkedRole:ServiceLinkedRole").map((x) => x.inputs.awsServiceName);
            assert.deepStrictEqual(slr, ["autoscaling.amazonaws.com", "elasticache.amazonaws.com", "rds.amazonaws.com"]);
            const role = r.resources.find((x) => x.type === "aws:iam/serviceLinkedRole:ServiceLinkedRole" && x.inputs.awsServiceName === "autoscaling.amazonaws.com")!;
            assert.deepStrictEqual(oneResource(r, "aws:kms/grant:Grant", "app-asg-volumes").dependsOn, [role.urn]);
            const without = await run("dr", ['serviceLinkedRoles=["rds.amazonaws.com"]']);
            assert.deepStrictEqual(oneResource(without, "aws:kms/grant:Grant", "app-asg-volumes").dependsOn, []);
            assert.deepStrictEqual(without.resources.filter((x) => x.type === "aws:iam/serviceLinkedRole:ServiceLinkedRole").map((x) => x.inputs.awsServiceName), ["rds.amazonaws.com"]);
        });

        it("security group rules are exactly: internet -> lb -> app -> db/redis", async () => {
            const r = await run("dr", ["failover=true"]);
            const sgName = new Map(r.resources.filter((x) => x.type === "aws:ec2/securityGroup:SecurityGroup").map((x) => [x.id, x.name.replace("network-", "")]));
            const rules = r.resources
                .filter((x) => x.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" || x.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                .map((x) => {
                    const i = x.inputs;
                    const peer = i.referencedSecurityGroupId ? `sg:${sgName.get(i.referencedSecurityGroupId)}` : (i.cidrIpv4 ?? i.cidrIpv6);
                    const ports = i.ipProtocol === "-1" ? "all" : `${i.fromPort}-${i.toPort}`;
                    return `${sgName.get(i.securityGroupId)} ${x.type.includes("Ingress") ? "in" : "out"} ${i.ipProtocol} ${ports} ${peer}`;
                })
                .sort();
            assert.deepStrictEqual(rules, [
                "app in -1 all sg:app",
                "app in tcp 80-80 sg:lb",
                "app out -1 all 0.0.0.0/0",
                "db in tcp 5432-5432 sg:app",
                "db in tcp 6379-6379 sg:app",
                "lb in tcp 443-443 0.0.0.0/0",
                "lb in tcp 443-443 ::/0",
                "lb in tcp 80-80 0.0.0.0/0",
                "lb in tcp 80-80 ::/0",
                "lb out tcp 80-80 sg:app",
                // The restore test's throwaway admits its probe only; the probe reaches nothing else.
                "restore-test-db in tcp 5432-5432 sg:restore-test-probe",
                "restore-test-probe out tcp 5432-5432 sg:restore-test-db",
            ]);
            // The tier each failover resource sits behind.
            assert.deepStrictEqual(oneResource(r, "aws:lb/loadBalancer:LoadBalancer", "app-alb").inputs.securityGroups.map((id: string) => sgName.get(id)), ["lb"]);
            assert.deepStrictEqual(oneResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-lt").inputs.vpcSecurityGroupIds.map((id: string) => sgName.get(id)), ["app"]);
            assert.deepStrictEqual(oneResource(r, "aws:elasticache/replicationGroup:ReplicationGroup", "app-redis").inputs.securityGroupIds.map((id: string) => sgName.get(id)), ["db"]);
            assert.deepStrictEqual(oneResource(r, "aws:rds/instance:Instance", "database-instance").inputs.vpcSecurityGroupIds.map((id: string) => sgName.get(id)), ["db"]);
        });
    });
});
