import * as assert from "assert";
import { amiLookup, AppSettings, autoScalingServiceRoleArn, instancePolicy, renderUserData } from "../components/appTier";
import { wildcardActions } from "../components/iam";
import { CREATED_BY_TAG } from "../functions/lib/tags";
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
    redisHost: "master.pilotlight-redis.abc.usw2.cache.amazonaws.com",
    redisPort: 6379,
    mediaBucket: "pilotlight-media-222222222222-us-west-2",
};

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
                "MEDIA_BUCKET=pilotlight-media-222222222222-us-west-2",
            ]) {
                assert.ok(u.split("\n").includes(line), `user-data lacks ${line}:\n${u}`);
            }
            assert.ok(u.startsWith("#!/bin/bash\n"));
            // The settings heredoc is quoted: nothing in it is expanded by the shell.
            assert.ok(u.includes("cat > /etc/pilotlight/app.env <<'PILOTLIGHT_ENV'"));
        });

        it("reads the password from Secrets Manager at boot into tmpfs and never carries one", () => {
            const u = renderUserData(settings);
            assert.ok(u.includes('aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$DB_SECRET_ARN" --query SecretString --output text > "$DB_CREDENTIALS_FILE"'), u);
            assert.ok(u.includes("DB_CREDENTIALS_FILE=/run/pilotlight/db-credentials.json"), "credentials live in /run (tmpfs), never on disk or in an AMI");
            assert.ok(u.includes("systemctl enable --now pilotlight-db-credentials.service"));
            assert.ok(u.includes("Before=pilotlight-app.service"));
            assert.ok(!/password\s*[=:]/i.test(u), "no password assignment in user-data");
            assert.ok(!/PGPASSWORD|MYSQL_PWD/.test(u));
        });

        it("refuses values that could break out of the settings file", () => {
            for (const [key, value] of [
                ["dbHost", "db.example\nrm -rf /"],
                ["mediaBucket", "bucket$(id)"],
                ["redisHost", "PILOTLIGHT_ENV'"],
                ["dbName", ""],
            ] as const) {
                assert.throws(() => renderUserData({ ...settings, [key]: value }), /user-data setting [A-Z_]+ is .*; expected letters, digits/, `${key}=${JSON.stringify(value)}`);
            }
        });
    });

    describe("instance policy", () => {
        it("is exactly its bucket, its secret and its key through S3 and Secrets Manager", () => {
            const doc = instancePolicy({ bucketName: "b", secretArn: "arn:secret", keyArns: ["arn:key", "arn:key"], region: "us-west-2" });
            assert.deepStrictEqual(doc, {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "ListMediaBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::b" },
                    { Sid: "ReadWriteMedia", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::b/*" },
                    { Sid: "ReadDatabaseSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: "arn:secret" },
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

        it("is wired to the dr stack's replica bucket, restored database secret and DR key", async () => {
            const r = await run("dr", ["failover=true"]);
            const policy = JSON.parse(oneResource(r, "aws:iam/rolePolicy:RolePolicy", "app-instance").inputs.policy);
            const key = oneResource(r, "aws:kms/key:Key", "dr-key").state.arn;
            assert.deepStrictEqual(
                policy,
                instancePolicy({
                    bucketName: "pilotlight-media-222222222222-us-west-2",
                    secretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-pilotlight-db-AbCdEf",
                    keyArns: [key],
                    region: "us-west-2",
                }),
            );
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
            assert.strictEqual(lt.imageId, "ami-0123456789abcdef0", "the newest pilotlight AMI when none is configured");
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

        it("looks up the newest available self-owned image tagged by pilotlight, or uses the configured one", async () => {
            assert.deepStrictEqual(amiLookup(), {
                owners: ["self"],
                mostRecent: true,
                filters: [
                    { name: "tag-key", values: [CREATED_BY_TAG] },
                    { name: "state", values: ["available"] },
                ],
            });
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
