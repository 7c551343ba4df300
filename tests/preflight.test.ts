import * as assert from "assert";
import { mockClient } from "aws-sdk-client-mock";
import { ACMClient, DescribeCertificateCommand, ResourceNotFoundException } from "@aws-sdk/client-acm";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GetRoleCommand, IAMClient, NoSuchEntityException } from "@aws-sdk/client-iam";
import {
    DBSnapshotNotFoundFault,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClustersCommand,
    DescribeDBInstanceAutomatedBackupsCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
    RDSClient,
} from "@aws-sdk/client-rds";
import { GetHealthCheckCommand, GetHostedZoneCommand, ListResourceRecordSetsCommand, NoSuchHostedZone, Route53Client } from "@aws-sdk/client-route-53";
import { GetBucketLocationCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { ListSubscriptionsCommand, SNSClient } from "@aws-sdk/client-sns";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { StackConfig } from "../config";
import { parseArgs, stackConfig, stateResources } from "../scripts/preflight";
import {
    checkAmi,
    checkCertificate,
    checkIdentity,
    checksFor,
    checkDatabaseIdentity,
    checkDns,
    checkPeer,
    checkPulumiBackend,
    checkRecoveryPoint,
    checkSchedules,
    checkServiceLinkedRoles,
    rateHours,
    runChecks,
} from "../scripts/preflight/checks";
import { backendUrl, parseBackend, readPulumiSettings, secretsProviderRegion } from "../scripts/preflight/pulumiSettings";
import { exitCode, renderTable, verdict } from "../scripts/preflight/table";
import { awsClients, CheckResult, Clients, Credentials, PreflightContext, row, Status } from "../scripts/preflight/types";

const NOW = new Date("2026-11-26T12:00:00Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
const meta = { $metadata: {} };

const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);
const acm = mockClient(ACMClient);
const rds = mockClient(RDSClient);
const iam = mockClient(IAMClient);
const r53 = mockClient(Route53Client);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);

let prodCfg: StackConfig;
let drCfg: StackConfig;
/** dr and prod in one account: nothing is shared across accounts. */
const oneAccount = (cfg: StackConfig): StackConfig => ({ ...cfg, peer: { ...cfg.peer, accountId: cfg.accountId } });

function ctx(cfg: StackConfig, extra: Partial<PreflightContext> = {}): PreflightContext {
    return { cfg, clients: awsClients, now: NOW, maxAgeHours: 26, passphrase: false, ...extra };
}
const statuses = (rows: CheckResult[]): Status[] => rows.map((r) => r.status);
const one = (rows: CheckResult[]): CheckResult => {
    assert.strictEqual(rows.length, 1, JSON.stringify(rows));
    return rows[0];
};
const httpError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe("preflight", () => {
    before(() => {
        prodCfg = stackConfig("prod");
        drCfg = stackConfig("dr");
    });
    beforeEach(() => [sts, ec2, acm, rds, iam, r53, s3, sfn, sns, secrets].forEach((m) => m.reset()));
    after(() => [sts, ec2, acm, rds, iam, r53, s3, sfn, sns, secrets].forEach((m) => m.restore()));

    describe("arguments and settings", () => {
        it("requires a known stack and a positive age", () => {
            assert.deepStrictEqual(parseArgs(["--stack", "dr"], ["dr", "prod"]), { stack: "dr", statePath: undefined, maxAgeHours: 26 });
            assert.deepStrictEqual(parseArgs(["-s", "prod", "--state", "s.json", "--max-age-hours", "4"], ["dr", "prod"]), { stack: "prod", statePath: "s.json", maxAgeHours: 4 });
            assert.throws(() => parseArgs([], ["dr", "prod"]), /--stack is required \(one of: dr, prod\)/);
            assert.throws(() => parseArgs(["--stack", "qa"], ["dr", "prod"]), /Unknown stack "qa": there is no Pulumi.qa.yaml. Known stacks: dr, prod/);
            assert.throws(() => parseArgs(["--stack", "dr", "--max-age-hours", "-1"], ["dr", "prod"]), /--max-age-hours -1: expected a positive number/);
            assert.throws(() => parseArgs(["--stack"], ["dr"]), /--stack needs a value/);
            assert.throws(() => parseArgs(["--stak", "dr"], ["dr"]), /Unknown argument --stak/);
        });

        it("finds the backend in the CLI's order", () => {
            const creds = JSON.stringify({ current: "s3://from-login" });
            assert.strictEqual(backendUrl({ PULUMI_BACKEND_URL: "s3://from-env" }, "backend:\n  url: s3://from-project\n", creds), "s3://from-env");
            assert.strictEqual(backendUrl({}, "name: x\nbackend:\n  url: s3://from-project\n", creds), "s3://from-project");
            assert.strictEqual(backendUrl({}, "name: x\n", creds), "s3://from-login");
            assert.strictEqual(backendUrl({}, undefined, "not json"), undefined);
        });

        it("reads regions from backend and secrets provider URLs", () => {
            assert.deepStrictEqual(parseBackend("s3://state-bucket?region=us-west-2&awssdk=v2"), { kind: "s3", bucket: "state-bucket", region: "us-west-2" });
            assert.deepStrictEqual(parseBackend("s3://state-bucket"), { kind: "s3", bucket: "state-bucket", region: undefined });
            assert.strictEqual(parseBackend("https://api.pulumi.com").kind, "cloud");
            assert.strictEqual(parseBackend("file://~").kind, "file");
            assert.strictEqual(secretsProviderRegion("awskms://alias/pulumi?region=us-east-1"), "us-east-1");
            assert.strictEqual(secretsProviderRegion("awskms://arn:aws:kms:eu-west-1:111111111111:key/abc"), "eu-west-1");
            assert.strictEqual(secretsProviderRegion("awskms://alias/pulumi"), undefined);
            assert.strictEqual(secretsProviderRegion("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"), undefined);
            assert.strictEqual(rateHours("rate(2 hours)"), 2);
            assert.strictEqual(rateHours("rate(1 day)"), 24);
            assert.strictEqual(rateHours("rate(30 minutes)"), 0.5);
            assert.strictEqual(rateHours("cron(0 3 * * ? *)"), undefined);
            assert.strictEqual(rateHours("xrate(2 hours)"), undefined);
            assert.strictEqual(rateHours("rate(2 hours)x"), undefined);
            assert.strictEqual(parseBackend("https://example.com/?u=https://api.pulumi.com").kind, "other");
            assert.strictEqual(secretsProviderRegion("awskms://arn:aws-cn:kms:cn-north-1:111111111111:key/abc"), "cn-north-1");
        });
    });

    describe("credentials", () => {
        it("stops at the wrong account, and exits 1", async () => {
            sts.on(GetCallerIdentityCommand).resolves({ Account: "111111111111", Arn: "arn:aws:iam::111111111111:user/op" });
            const rows = await runChecks(ctx(drCfg));
            assert.deepStrictEqual(statuses(rows), ["fail"]);
            assert.match(rows[0].detail, /account 111111111111 .* stack dr is account 222222222222/);
            assert.strictEqual(exitCode(rows), 1);
            assert.strictEqual(ec2.calls().length, 0, "nothing else is asked with the wrong credentials");
        });
    });

    describe("AMI", () => {
        it("without app.amiId fails, even when backup images exist: the program would boot the base image, which has no app", async () => {
            ec2.on(DescribeImagesCommand).resolves({
                Images: [
                    { ImageId: "ami-old", Name: "pilotlight-backup-asg-pilotlight-app-20261001T000000Z", CreationDate: "2026-10-01T00:00:00Z", State: "available", OwnerId: "111111111111" },
                    { ImageId: "ami-new", Name: "pilotlight-backup-asg-pilotlight-app-20261101T000000Z", CreationDate: "2026-11-01T00:00:00Z", State: "available", OwnerId: "111111111111" },
                ],
            });
            const r = one(await checkAmi(ctx(drCfg)));
            assert.strictEqual(r.status, "fail");
            assert.match(r.detail, /no app\.amiId: a failover would boot the Amazon Linux 2023 base image \(\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-default-x86_64\), which has no app installed/);
            // It names the images that exist, newest first, so the operator can pick one.
            assert.match(r.detail, /backup images in us-west-2: ami-new \(pilotlight-backup-asg-pilotlight-app-20261101T000000Z, account 111111111111\), ami-old/);
            assert.match(r.action, /pulumi config set --path app\.amiId <ami-id> -s dr/);
            assert.match(r.action, /aws ec2 copy-image --source-image-id ami-new --source-region us-west-2 --region us-west-2/);
            // Looked for backup images this account owns or the primary's account shared with it, by name (tags do not cross accounts).
            const input = ec2.commandCalls(DescribeImagesCommand)[0].args[0].input;
            assert.deepStrictEqual(input.Owners, ["self", "111111111111"]);
            assert.deepStrictEqual(input.Filters, [{ Name: "name", Values: ["pilotlight-backup-*"] }, { Name: "state", Values: ["available"] }]);
        });

        it("without app.amiId and without any backup image: fails and says to make one", async () => {
            ec2.on(DescribeImagesCommand).resolves({ Images: [] });
            const r = one(await checkAmi(ctx(drCfg)));
            assert.strictEqual(r.status, "fail");
            assert.match(r.detail, /no backup image in us-west-2/);
            assert.match(r.action, /app\.amiId/);
            // Same account: only its own images.
            const same = { ...drCfg, peer: { ...drCfg.peer, accountId: drCfg.accountId } };
            assert.strictEqual(one(await checkAmi(ctx(same))).status, "fail");
            assert.deepStrictEqual(ec2.commandCalls(DescribeImagesCommand)[1].args[0].input.Owners, ["self"]);
        });

        it("without app.amiId: a failed image listing still fails the row (never OK)", async () => {
            ec2.on(DescribeImagesCommand).rejects(httpError("UnauthorizedOperation", 403));
            const r = one(await checkAmi(ctx(drCfg)));
            assert.strictEqual(r.status, "fail");
            assert.match(r.detail, /could not list backup images: UnauthorizedOperation/);
        });

        it("checks a configured app.amiId", async () => {
            const cfg = { ...drCfg, app: { ...drCfg.app, amiId: "ami-0123456789abcdef0" } };
            ec2.on(DescribeImagesCommand, { ImageIds: ["ami-0123456789abcdef0"] }).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "available", OwnerId: "222222222222", Architecture: "x86_64" }] });
            assert.strictEqual(one(await checkAmi(ctx(cfg))).status, "ok");
            ec2.reset();
            ec2.on(DescribeImagesCommand).rejects(httpError("InvalidAMIID.NotFound", 400));
            const fail = one(await checkAmi(ctx(cfg)));
            assert.strictEqual(fail.status, "fail");
            assert.match(fail.detail, /InvalidAMIID.NotFound/);
        });

        it("app.amiId of another account's image warns: its owner's retention can deregister it before the disaster", async () => {
            const cfg = { ...drCfg, app: { ...drCfg.app, amiId: "ami-0123456789abcdef0" } };
            ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", Name: "pilotlight-backup-x", State: "available", OwnerId: "111111111111", Architecture: "x86_64" }] });
            const r = one(await checkAmi(ctx(cfg)));
            assert.strictEqual(r.status, "warn");
            assert.match(r.detail, /owned by account 111111111111/);
            assert.match(r.action, /aws ec2 copy-image --source-image-id ami-0123456789abcdef0 --source-region us-west-2 --region us-west-2/);
        });

        it("app.amiId of the wrong architecture for app.instanceType fails: the Auto Scaling group could not launch it", async () => {
            const cfg = { ...drCfg, app: { ...drCfg.app, amiId: "ami-0123456789abcdef0" } };
            ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "available", OwnerId: "222222222222", Architecture: "arm64" }] });
            const r = one(await checkAmi(ctx(cfg)));
            assert.strictEqual(r.status, "fail");
            assert.match(r.detail, /arm64, app.instanceType t3.small needs x86_64/);
            const graviton = { ...cfg, app: { ...cfg.app, instanceType: "t4g.small" } };
            assert.strictEqual(one(await checkAmi(ctx(graviton))).status, "ok");
        });
    });

    describe("certificate", () => {
        it("passes issued, warns expiring, fails pending or missing", async () => {
            acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: "ISSUED", NotAfter: hoursAgo(-24 * 90) } });
            assert.strictEqual(one(await checkCertificate(ctx(drCfg))).status, "ok");
            acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: "ISSUED", NotAfter: hoursAgo(-24 * 5) } });
            assert.strictEqual(one(await checkCertificate(ctx(drCfg))).status, "warn");
            acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: "PENDING_VALIDATION" } });
            assert.strictEqual(one(await checkCertificate(ctx(drCfg))).status, "fail");
            acm.on(DescribeCertificateCommand).rejects(new ResourceNotFoundException({ message: "no", ...meta }));
            const missing = one(await checkCertificate(ctx(drCfg)));
            assert.strictEqual(missing.status, "fail");
            assert.match(missing.detail, /ResourceNotFoundException/);
            const none = one(await checkCertificate(ctx({ ...drCfg, app: { ...drCfg.app, certificateArn: undefined } })));
            assert.strictEqual(none.status, "warn");
        });
    });

    describe("newest recovery point", () => {
        const tagged = (id: string, h: number, status = "available") => ({ DBSnapshotIdentifier: id, SnapshotCreateTime: hoursAgo(h), Status: status, TagList: [{ Key: "pilotlight:source", Value: "pilotlight-db" }] });

        // One account: the backups' DR-region copies of the instance, by their names (what the failover restores).
        const copy = (id: string, h: number, status = "available") => ({ ...tagged(id, h, status), DBSnapshotArn: `arn:aws:rds:us-west-2:222222222222:snapshot:${id}`, DBInstanceIdentifier: "pilotlight-db" });

        it("latestCopy, one account: the backups' newest available copy, with its data's age; an operator's snapshot does not count", async () => {
            const same = oneAccount(drCfg);
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [copy("pilotlight-db-bk-20261120000000", 30), copy("pilotlight-db-bk-20261122000000", 3), { ...copy("operator-snapshot", 1), TagList: [] }] });
            const ok = one(await checkRecoveryPoint(ctx(same)));
            assert.strictEqual(ok.status, "ok");
            assert.match(ok.detail, /pilotlight-db-bk-20261122000000, 3 h old/);
            assert.deepStrictEqual(rds.commandCalls(DescribeDBSnapshotsCommand)[0].args[0].input, { DBInstanceIdentifier: "pilotlight-db", SnapshotType: "manual", Marker: undefined });
        });

        it("latestCopy, one account: picks and ages by the data's time (OriginalSnapshotCreateTime), as the program's lookup does", async () => {
            const same = oneAccount(drCfg);
            // Copied 1 h ago, from a snapshot taken 40 h ago: the data is 40 h old, older than the other copy's.
            const stale = { ...copy("pilotlight-db-bk-20261120100000", 1), OriginalSnapshotCreateTime: hoursAgo(40) };
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [copy("pilotlight-db-bk-20261122100000", 2), stale] });
            const r = one(await checkRecoveryPoint(ctx(same)));
            assert.deepStrictEqual([r.status, r.detail], ["ok", `latestCopy -> pilotlight-db-bk-20261122100000, 2 h old (data as of ${hoursAgo(2).toISOString()})`]);
        });

        it("latestCopy, two accounts: only snapshots the primary's account shared into this region, newest data first", async () => {
            const arn = (account: string, id: string, region = "us-west-2") => `arn:aws:rds:${region}:${account}:snapshot:${id}`;
            const shared = (account: string, id: string, dataHours: number, extra: Record<string, unknown> = {}) => ({
                DBSnapshotIdentifier: arn(account, id),
                DBSnapshotArn: arn(account, id),
                DBInstanceIdentifier: "pilotlight-db",
                SnapshotType: "shared",
                Status: "available",
                OriginalSnapshotCreateTime: hoursAgo(dataHours),
                SnapshotCreateTime: hoursAgo(dataHours - 0.5),
                ...extra,
            });
            rds.on(DescribeDBSnapshotsCommand)
                .resolvesOnce({
                    DBSnapshots: [
                        shared("111111111111", "pilotlight-db-older", 5),
                        shared("333333333333", "someone-else", 1),
                        shared("111111111111", "other-db", 1, { DBInstanceIdentifier: "other-db" }),
                    ],
                    Marker: "m1",
                })
                .resolves({
                    DBSnapshots: [
                        shared("111111111111", "pilotlight-db-newest", 3),
                        shared("111111111111", "pilotlight-db-still-copying", 0.5, { Status: "creating" }),
                        { ...shared("111111111111", "wrong-region", 0.5), DBSnapshotArn: arn("111111111111", "wrong-region", "us-east-1") },
                    ],
                });
            const r = one(await checkRecoveryPoint(ctx(drCfg)));
            assert.deepStrictEqual(
                [r.status, r.detail],
                ["ok", `latestCopy -> ${arn("111111111111", "pilotlight-db-newest")} (shared by account 111111111111), 3 h old (data as of ${hoursAgo(3).toISOString()})`],
            );
            const calls = rds.commandCalls(DescribeDBSnapshotsCommand).map((c) => c.args[0].input);
            assert.deepStrictEqual(calls, [
                { SnapshotType: "shared", IncludeShared: true, Marker: undefined },
                { SnapshotType: "shared", IncludeShared: true, Marker: "m1" },
            ]);
        });

        it("latestCopy, two accounts: the dr account's own tagged snapshots do not count; none shared fails", async () => {
            // What the old check looked at: a copy in the dr account itself. Failover never restores it.
            rds.on(DescribeDBSnapshotsCommand, { SnapshotType: "manual" }).resolves({ DBSnapshots: [tagged("pilotlight-db-own", 1)] });
            rds.on(DescribeDBSnapshotsCommand, { SnapshotType: "shared" }).resolves({ DBSnapshots: [] });
            const r = one(await checkRecoveryPoint(ctx(drCfg)));
            assert.strictEqual(r.status, "fail");
            assert.strictEqual(r.detail, "no available snapshot of pilotlight-db shared by account 111111111111 in us-west-2 (0 shared snapshot(s) seen)");
            assert.match(r.action, /npm run preflight -- --stack prod/);
        });

        it("warns when older than the limit, fails when none or not available", async () => {
            const same = oneAccount(drCfg);
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [copy("pilotlight-db-bk-20261120000000", 30)] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(same))).status, "warn");
            // A copy still being made is skipped, as the failover skips it: the older one is what it restores.
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [copy("pilotlight-db-bk-20261120000000", 30), copy("pilotlight-db-bk-20261122000000", 1, "creating")] });
            assert.match(one(await checkRecoveryPoint(ctx(same))).detail, /pilotlight-db-bk-20261120000000, 30 h old/);
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [copy("pilotlight-db-bk-20261122000000", 1, "creating")] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(same))).status, "fail");
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
            const none = one(await checkRecoveryPoint(ctx(same)));
            assert.deepStrictEqual([none.status, none.detail], ["fail", "no copy of pilotlight-db made by the backups (pilotlight-db-bk-<timestamp>) in us-west-2: a failover would stop at the database"]);
            // Other tags beside the source tag do not hide a copy.
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ ...copy("pilotlight-db-bk-20261124000000", 2), TagList: [{ Key: "team", Value: "web" }, { Key: "pilotlight:source", Value: "pilotlight-db" }] }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(same))).status, "ok");
        });

        it("snapshot: fails when the named snapshot does not exist", async () => {
            const cfg = { ...drCfg, failoverDatabase: { source: "snapshot" as const, sourceIdentifier: "pilotlight-db", snapshotIdentifier: "gone" } };
            rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: "gone", ...meta }));
            const fail = one(await checkRecoveryPoint(ctx(cfg)));
            assert.strictEqual(fail.status, "fail");
            assert.match(fail.detail, /DBSnapshotNotFoundFault/);
        });

        it("pointInTime: the latest restorable time", async () => {
            const cfg = { ...drCfg, failoverDatabase: { source: "pointInTime" as const, sourceIdentifier: "pilotlight-db", automatedBackupsArn: "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-1" } };
            rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ DBInstanceIdentifier: "pilotlight-db", Status: "replicating", RestoreWindow: { LatestTime: hoursAgo(0.1) } }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(cfg))).status, "ok");
            rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
            assert.match(one(await checkRecoveryPoint(ctx(cfg))).detail, /^replicated automated backups .* not found$/);
        });

        it("adopt: the instance the copy target's secret names", async () => {
            const cfg = { ...drCfg, failoverDatabase: { source: "adopt" as const, sourceIdentifier: "pilotlight-db", secretName: "pilotlight/copy/pilotlight-db" } };
            secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ identifier: "pilotlight-db-v7", version: "7" }) });
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "pilotlight-db-v7" }).resolves({ DBInstances: [{ DBInstanceStatus: "available", InstanceCreateTime: hoursAgo(5) }] });
            assert.match(one(await checkRecoveryPoint(ctx(cfg))).detail, /pilotlight-db-v7 \(copy v7\), 5 h old/);
            rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: "deleting", InstanceCreateTime: hoursAgo(5) }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(cfg))).status, "fail");
        });
    });

    describe("schedules", () => {
        const on = (cfg: StackConfig): StackConfig => ({ ...cfg, backups: { ...cfg.backups!, scheduleEnabled: true }, copy: { ...cfg.copy!, scheduleEnabled: true } });

        it("fails a schedule that is off in config, with the command that turns it on", async () => {
            sfn.on(ListExecutionsCommand).resolves({ executions: [] });
            const rows = await checkSchedules(ctx(prodCfg));
            assert.deepStrictEqual(statuses(rows), ["fail", "fail", "fail"]);
            assert.strictEqual(rows[0].action, "pulumi config set --path backups.scheduleEnabled true -s prod && pulumi up -s prod");
        });

        it("passes recent runs, fails a schedule that has not run for two intervals", async () => {
            sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: "e", stateMachineArn: "m", name: "n", status: "SUCCEEDED", startDate: hoursAgo(1) }] });
            assert.deepStrictEqual(statuses(await checkSchedules(ctx(on(prodCfg)))), ["ok", "ok", "ok"]);
            assert.strictEqual(sfn.commandCalls(ListExecutionsCommand)[0].args[0].input.stateMachineArn, "arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-backup");
            sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: "e", stateMachineArn: "m", name: "n", status: "SUCCEEDED", startDate: hoursAgo(5) }] });
            // backups every 2 h: 5 h is more than two intervals; the daily copy is fine.
            assert.deepStrictEqual(statuses(await checkSchedules(ctx(on(prodCfg)))), ["fail", "fail", "ok"]);
            sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: "e", stateMachineArn: "m", name: "n", status: "FAILED", startDate: hoursAgo(1) }] });
            assert.deepStrictEqual(statuses(await checkSchedules(ctx(on(prodCfg)))), ["warn", "warn", "warn"]);
        });
    });

    describe("service-linked roles", () => {
        it("passes existing roles, fails a missing one with the create command", async () => {
            iam.on(GetRoleCommand).resolves({ Role: { RoleName: "r", Path: "/", Arn: "a", RoleId: "i", CreateDate: NOW } });
            iam.on(GetRoleCommand, { RoleName: "AWSServiceRoleForElastiCache" }).rejects(new NoSuchEntityException({ message: "no", ...meta }));
            const rows = await checkServiceLinkedRoles(ctx(drCfg));
            assert.deepStrictEqual(statuses(rows), ["ok", "ok", "fail", "ok"]);
            assert.strictEqual(rows[2].action, "aws iam create-service-linked-role --aws-service-name elasticache.amazonaws.com");
        });
    });

    describe("DNS", () => {
        // As components/failoverDns.ts makes them: prod's PRIMARY alias with the calculated check, dr's SECONDARY alias to the DR load balancer.
        const zoneOut = { HostedZone: { Id: "Z0123456789ABCDEFGHIJ", Name: "example.com.", CallerReference: "c" }, DelegationSet: { NameServers: [] } };
        const alias = (dnsName: string) => ({ DNSName: dnsName, HostedZoneId: "Z1H1FL5HABSF5", EvaluateTargetHealth: true });
        const drAlb = "app-alb-5d4c3b2-1234567890.us-west-2.elb.amazonaws.com";
        const primary = { Name: "app.example.com.", Type: "A" as const, Failover: "PRIMARY" as const, SetIdentifier: "pilotlight-primary", HealthCheckId: "hc-primary", AliasTarget: alias("dualstack.app-alb-9f8e7d6-987654321.us-east-1.elb.amazonaws.com.") };
        const secondary = { Name: "app.example.com.", Type: "A" as const, Failover: "SECONDARY" as const, SetIdentifier: "pilotlight-secondary", AliasTarget: alias(`dualstack.${drAlb}.`) };
        const records = (...sets: object[]) => r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: sets as never, IsTruncated: false, MaxItems: 10 });
        const hc = (id: string, config: Record<string, unknown>) => ({ HealthCheck: { Id: id, CallerReference: "c", HealthCheckVersion: 1, HealthCheckConfig: config as never } });
        /** The three health checks of the PRIMARY record; `calc` and `hold` change the calculated and the hold check. */
        const healthChecks = (calc: Record<string, unknown> = {}, hold: Record<string, unknown> = {}) => {
            r53.on(GetHealthCheckCommand, { HealthCheckId: "hc-primary" }).resolves(hc("hc-primary", { Type: "CALCULATED", ChildHealthChecks: ["hc-endpoint", "hc-hold"], HealthThreshold: 2, Disabled: false, Inverted: false, ...calc }));
            r53.on(GetHealthCheckCommand, { HealthCheckId: "hc-endpoint" }).resolves(hc("hc-endpoint", { Type: "HTTPS", FullyQualifiedDomainName: "app-alb-9f8e7d6-987654321.us-east-1.elb.amazonaws.com", ResourcePath: "/health", Port: 443 }));
            r53.on(GetHealthCheckCommand, { HealthCheckId: "hc-hold" }).resolves(hc("hc-hold", { Type: "CLOUDWATCH_METRIC", AlarmIdentifier: { Region: "us-west-2", Name: "pilotlight-hold-on-dr" }, InsufficientDataHealthStatus: "LastKnownStatus", ...hold }));
        };
        const byCheck = (rows: CheckResult[]) => Object.fromEntries(rows.map((r) => [r.check, r]));
        beforeEach(() => {
            r53.on(GetHostedZoneCommand).resolves(zoneOut);
            sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "a", SecretAccessKey: "s", SessionToken: "t", Expiration: NOW } });
        });

        it("dr pilot light: a missing SECONDARY record fails, with the deploy to run before the disaster", async () => {
            records(primary);
            healthChecks();
            const r = byCheck(await checkDns(ctx(drCfg)))["SECONDARY record"];
            assert.strictEqual(r.status, "fail");
            assert.match(r.detail, /no SECONDARY A record for app\.example\.com\.: Route 53 has nothing to fail over to/);
            assert.match(r.action, /^pulumi up -s dr \(before the disaster/);
            // Failed over: the same.
            assert.strictEqual(byCheck(await checkDns(ctx({ ...drCfg, failover: true })))["SECONDARY record"].status, "fail");
        });

        it("dr pilot light: the SECONDARY record pointing at the DR load balancer passes", async () => {
            records(primary, secondary);
            healthChecks();
            const rows = await checkDns(ctx(drCfg));
            assert.deepStrictEqual(rows.map((r) => `${r.check}:${r.status}`), ["DNS role:ok", "hosted zone:ok", "PRIMARY record:ok", "PRIMARY health check:skip", "SECONDARY record:ok"]);
            assert.strictEqual(byCheck(rows)["SECONDARY record"].detail, `app.example.com. -> dualstack.${drAlb}. (a load balancer in us-west-2)`);
            assert.strictEqual(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleArn, "arn:aws:iam::111111111111:role/pilotlight-dns-failover");
        });

        it("a SECONDARY record that is not the DR load balancer fails; with the state, it must be that very load balancer", async () => {
            records(primary, { ...secondary, AliasTarget: primary.AliasTarget });
            const wrong = byCheck(await checkDns(ctx(drCfg)))["SECONDARY record"];
            assert.strictEqual(wrong.status, "fail");
            assert.match(wrong.detail, /not a load balancer in us-west-2/);
            assert.match(wrong.action, /^pulumi up -s dr/);
            records(primary, { ...secondary, AliasTarget: undefined, ResourceRecords: [{ Value: "192.0.2.1" }] });
            assert.strictEqual(byCheck(await checkDns(ctx(drCfg)))["SECONDARY record"].status, "fail");
            const state = [{ urn: "urn:pulumi:dr::pilotlight::pilotlight:app:AppTier$aws:lb/loadBalancer:LoadBalancer::app-alb", type: "aws:lb/loadBalancer:LoadBalancer", outputs: { dnsName: drAlb.toUpperCase() } }];
            records(primary, secondary);
            const same = byCheck(await checkDns(ctx(drCfg, { state })))["SECONDARY record"];
            assert.deepStrictEqual([same.status, same.detail], ["ok", `app.example.com. -> dualstack.${drAlb}. (the DR load balancer app-alb)`]);
            records(primary, { ...secondary, AliasTarget: alias("dualstack.other-alb-1.us-west-2.elb.amazonaws.com.") });
            const other = byCheck(await checkDns(ctx(drCfg, { state })))["SECONDARY record"];
            assert.strictEqual(other.status, "fail");
            assert.match(other.detail, new RegExp(`not the DR load balancer app-alb \\(${drAlb.toUpperCase().replace(/\./g, "\\.")}\\)`));
        });

        it("prod: zone, PRIMARY record, its calculated health check (endpoint AND hold-on-dr alarm in the DR region), and dr's SECONDARY", async () => {
            records(primary, secondary);
            healthChecks();
            const rows = await checkDns(ctx(prodCfg));
            assert.deepStrictEqual(rows.map((r) => `${r.check}:${r.status}`), ["hosted zone:ok", "PRIMARY record:ok", "PRIMARY health check:ok", "SECONDARY record:ok"]);
            assert.strictEqual(byCheck(rows)["PRIMARY health check"].detail, "hc-primary: hc-endpoint (HTTPS /health) AND hc-hold (alarm pilotlight-hold-on-dr in us-west-2); not held on dr");
            assert.deepStrictEqual(r53.commandCalls(GetHealthCheckCommand).map((c) => c.args[0].input.HealthCheckId), ["hc-primary", "hc-endpoint", "hc-hold"]);
            // dr's record is missing: a failover would have nowhere to go.
            records(primary);
            const noSecondary = byCheck(await checkDns(ctx(prodCfg)))["SECONDARY record"];
            assert.deepStrictEqual([noSecondary.status, noSecondary.action.startsWith("pulumi up -s dr (before the disaster")], ["fail", true]);
            records({ ...primary, HealthCheckId: undefined }, secondary);
            const unchecked = byCheck(await checkDns(ctx(prodCfg)));
            assert.deepStrictEqual([unchecked["PRIMARY record"].status, unchecked["PRIMARY record"].action], ["fail", "pulumi up -s prod"]);
            assert.strictEqual(unchecked["PRIMARY health check"], undefined);
            r53.on(GetHostedZoneCommand).rejects(new NoSuchHostedZone({ message: "no", ...meta }));
            assert.deepStrictEqual(statuses(await checkDns(ctx(prodCfg))), ["fail"]);
        });

        it("the PRIMARY's health check fails when it is not the design's: plain endpoint check, threshold below its children, no hold check, hold alarm outside the DR region", async () => {
            records(primary, secondary);
            const check = async (calc: Record<string, unknown>, hold: Record<string, unknown> = {}) => {
                healthChecks(calc, hold);
                return byCheck(await checkDns(ctx(prodCfg)))["PRIMARY health check"];
            };
            const plain = await check({ Type: "HTTPS", ChildHealthChecks: undefined, HealthThreshold: undefined });
            assert.deepStrictEqual([plain.status, plain.action], ["fail", "pulumi up -s prod (before the disaster)"]);
            assert.match(plain.detail, /hc-primary is HTTPS, not CALCULATED/);
            assert.match((await check({ HealthThreshold: 1 })).detail, /healthy with 1 of 2 children healthy: the hold or the endpoint alone would keep traffic on prod/);
            assert.match((await check({ ChildHealthChecks: ["hc-endpoint"], HealthThreshold: 1 })).detail, /no CLOUDWATCH_METRIC child on the hold-on-dr alarm/);
            const homeRegion = await check({}, { AlarmIdentifier: { Region: "us-east-1", Name: "pilotlight-hold-on-dr" } });
            assert.deepStrictEqual([homeRegion.status, /alarm pilotlight-hold-on-dr in us-east-1, not the DR region us-west-2/.test(homeRegion.detail)], ["fail", true]);
            assert.match((await check({}, { AlarmIdentifier: { Region: "us-west-2", Name: "something-else" } })).detail, /no CLOUDWATCH_METRIC child on the hold-on-dr alarm pilotlight-hold-on-dr/);
            assert.match((await check({}, { InsufficientDataHealthStatus: "Unhealthy" })).detail, /an alarm without data counts as unhealthy/);
            // The design keeps the last known status without data; "Healthy" would let a hold lapse once its data point ages out.
            const lapses = await check({}, { InsufficientDataHealthStatus: "Healthy" });
            assert.deepStrictEqual([lapses.status, lapses.action], ["warn", "pulumi up -s prod"]);
            assert.match(lapses.detail, /hc-hold takes no data as Healthy, not LastKnownStatus: a hold on dr lapses once its data point ages out/);
            assert.match((await check({ Disabled: true })).detail, /disabled but not inverted: Route 53 takes it as healthy and never fails over/);
            assert.match((await check({ Inverted: true })).detail, /inverted but not disabled: healthy exactly while the app is down/);
            r53.on(GetHealthCheckCommand, { HealthCheckId: "hc-primary" }).rejects(Object.assign(new Error("gone"), { name: "NoSuchHealthCheck" }));
            const gone = byCheck(await checkDns(ctx(prodCfg)))["PRIMARY health check"];
            assert.deepStrictEqual([gone.status, gone.detail], ["fail", "hc-primary: NoSuchHealthCheck"]);
        });

        it("holding on dr (disabled and inverted): as configured on prod, a warning where the config or dr's state disagrees", async () => {
            records(primary, secondary);
            healthChecks({ Disabled: true, Inverted: true });
            const held = byCheck(await checkDns(ctx({ ...prodCfg, dns: { ...prodCfg.dns!, holdOnDr: true } })))["PRIMARY health check"];
            assert.deepStrictEqual([held.status, held.detail.endsWith("held on dr (dns.holdOnDr)")], ["ok", true]);
            const undeclared = byCheck(await checkDns(ctx(prodCfg)))["PRIMARY health check"];
            assert.deepStrictEqual([undeclared.status, undeclared.action], ["warn", "the next pulumi up -s prod releases it: set dns.holdOnDr to keep it"]);
            healthChecks();
            const notYet = byCheck(await checkDns(ctx({ ...prodCfg, dns: { ...prodCfg.dns!, holdOnDr: true } })))["PRIMARY health check"];
            assert.deepStrictEqual([notYet.status, notYet.action], ["warn", "pulumi up -s prod"]);
            // dr can read the checks when it reaches the zone without the role (one account).
            healthChecks({ Disabled: true, Inverted: true });
            const pilot = byCheck(await checkDns(ctx(oneAccount(drCfg))))["PRIMARY health check"];
            assert.deepStrictEqual([pilot.status, /held on dr while dr is a pilot light/.test(pilot.detail)], ["warn", true]);
            assert.strictEqual(byCheck(await checkDns(ctx({ ...oneAccount(drCfg), failover: true })))["PRIMARY health check"].status, "ok");
        });

        it("health checks the DNS role may not read are left to prod's preflight; elsewhere a denial says what to grant", async () => {
            records(primary, secondary);
            r53.on(GetHealthCheckCommand).rejects(httpError("AccessDenied", 403));
            const viaRole = byCheck(await checkDns(ctx(drCfg)))["PRIMARY health check"];
            assert.deepStrictEqual([viaRole.status, viaRole.detail], ["skip", "the DNS role may read only the zone's records: npm run preflight -- --stack prod checks the health checks"]);
            assert.strictEqual(r53.commandCalls(GetHealthCheckCommand).length, 0, "not even asked");
            const denied = byCheck(await checkDns(ctx(prodCfg)))["PRIMARY health check"];
            assert.deepStrictEqual([denied.status, denied.action], ["warn", "grant route53:GetHealthCheck (docs/preflight.md)"]);
        });

        it("dr in another account: a DNS role it cannot assume fails", async () => {
            sts.on(AssumeRoleCommand).rejects(httpError("AccessDenied", 403));
            const denied = await checkDns(ctx(drCfg));
            assert.deepStrictEqual(statuses(denied), ["fail"]);
            assert.match(denied[0].detail, /pilotlight-dns-failover: AccessDenied/);
        });
    });

    describe("state backend and secrets provider", () => {
        it("fails anything in the primary region", async () => {
            const rows = await checkPulumiBackend(ctx(drCfg, { backendUrl: "s3://state?region=us-east-1", secretsProvider: "awskms://alias/pulumi?region=us-east-1" }));
            assert.deepStrictEqual(statuses(rows), ["fail", "fail"]);
            const fine = await checkPulumiBackend(ctx(drCfg, { backendUrl: "s3://state?region=us-west-2", secretsProvider: "awskms://alias/pulumi?region=us-west-2" }));
            assert.deepStrictEqual(statuses(fine), ["ok", "ok"]);
            assert.deepStrictEqual(statuses(await checkPulumiBackend(ctx(prodCfg, { backendUrl: "https://api.pulumi.com", passphrase: true }))), ["ok", "ok"]);
        });

        it("asks S3 where a bucket without ?region= is (null means us-east-1)", async () => {
            s3.on(GetBucketLocationCommand).resolves({});
            assert.deepStrictEqual(statuses(await checkPulumiBackend(ctx(prodCfg, { backendUrl: "s3://state" }))), ["fail", "ok"]);
            s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: "eu-west-1" });
            assert.deepStrictEqual(statuses(await checkPulumiBackend(ctx(prodCfg, { backendUrl: "s3://state" }))), ["ok", "ok"]);
        });
    });

    describe("database in Pulumi state", () => {
        const state = (resourceId: string) =>
            stateResources(
                JSON.stringify({
                    version: 3,
                    deployment: {
                        resources: [
                            { urn: "urn:pulumi:prod::pilotlight::pilotlight:database:Database::database", type: "pilotlight:database:Database" },
                            {
                                urn: "urn:pulumi:prod::pilotlight::pilotlight:database:Database$aws:rds/instance:Instance::database-instance",
                                type: "aws:rds/instance:Instance",
                                id: resourceId,
                                parent: "urn:pulumi:prod::pilotlight::pilotlight:database:Database::database",
                                outputs: { resourceId },
                            },
                        ],
                    },
                }),
            );

        it("passes when the deployed instance is the one in the state", async () => {
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "pilotlight-db" }).resolves({ DBInstances: [{ DbiResourceId: "db-OLD" }] });
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(prodCfg, { state: state("db-OLD") }))).status, "ok");
        });

        it("after an in-place restore: fails with the exact commands that re-adopt it", async () => {
            rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-NEW" }] });
            const r = one(await checkDatabaseIdentity(ctx(prodCfg, { state: state("db-OLD") })));
            assert.strictEqual(r.status, "fail");
            assert.strictEqual(
                r.action,
                "pulumi state delete --force -s prod 'urn:pulumi:prod::pilotlight::pilotlight:database:Database$aws:rds/instance:Instance::database-instance'" +
                    " && pulumi import -s prod aws:rds/instance:Instance database-instance pilotlight-db --parent 'database=urn:pulumi:prod::pilotlight::pilotlight:database:Database::database'" +
                    " && pulumi up -s prod",
            );
        });

        it("Aurora: a refresh re-reads the cluster by its identifier", async () => {
            const cfg = { ...prodCfg, database: { ...prodCfg.database, engine: "aurora-postgresql" as const } };
            const s = [{ urn: "urn:pulumi:prod::pilotlight::pilotlight:database:Database$aws:rds/cluster:Cluster::database-cluster", type: "aws:rds/cluster:Cluster", id: "pilotlight-db", outputs: { clusterResourceId: "cluster-OLD" } }];
            rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ DbClusterResourceId: "cluster-NEW" }] });
            const r = one(await checkDatabaseIdentity(ctx(cfg, { state: s })));
            assert.strictEqual(r.status, "warn");
            assert.strictEqual(r.action, "pulumi refresh -s prod");
        });

        it("says how to give it the state when it could not read it; skips a pilot light", async () => {
            const r = one(await checkDatabaseIdentity(ctx(prodCfg, { stateProblem: "pulumi stack export failed (ENOENT)" })));
            assert.strictEqual(r.status, "warn");
            assert.match(r.action, /pulumi stack export -s prod > state.json/);
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(drCfg))).status, "skip");
        });

        it("skips an existing database (pilotlight:database.existing), which is not in this program's state, without reading it", async () => {
            const byo = { ...prodCfg, database: { ...prodCfg.database, existing: "orders" } };
            const r = one(await checkDatabaseIdentity(ctx(byo, { state: state("db-OLD") })));
            assert.deepStrictEqual([r.status, r.detail], ["skip", "orders is an existing database (pilotlight:database.existing): not in this program's state"]);
        });
    });

    describe("a dr stack without an app tier (pilotlight:app.enabled false)", () => {
        it("needs no AMI and no certificate", async () => {
            const noApp = { ...drCfg, app: { ...drCfg.app, enabled: false } };
            for (const check of [checkAmi, checkCertificate]) {
                const r = one(await check(ctx(noApp)));
                assert.deepStrictEqual([r.status, r.detail], ["skip", "this stack has no app tier (pilotlight:app.enabled false)"]);
            }
        });
    });

    describe("peer resources", () => {
        it("prod: dr's replica bucket exists (403 counts: it is someone else's)", async () => {
            s3.on(HeadBucketCommand, { Bucket: "pilotlight-media-222222222222-us-west-2" }).rejects(httpError("Forbidden", 403));
            assert.strictEqual(one(await checkPeer(ctx(prodCfg))).status, "ok");
            s3.on(HeadBucketCommand).rejects(httpError("NotFound", 404));
            const r = one(await checkPeer(ctx(prodCfg)));
            assert.strictEqual(r.status, "fail");
            assert.strictEqual(r.action, "deploy the peer stack: pulumi up -s dr");
        });

        it("dr: subscribed to prod's copy topic, which lives in the DR region; prod's bucket only while failed over", async () => {
            const regions: string[] = [];
            const clients: Clients = { ...awsClients, sns: (r) => (regions.push(r), awsClients.sns(r)) };
            const topic = "arn:aws:sns:us-west-2:111111111111:pilotlight-snapshot-copy";
            sns.on(ListSubscriptionsCommand)
                .resolvesOnce({ Subscriptions: [{ TopicArn: "arn:aws:sns:us-east-1:111111111111:pilotlight-snapshot-copy", SubscriptionArn: "arn:old" }], NextToken: "t" })
                .resolves({ Subscriptions: [{ TopicArn: topic, SubscriptionArn: "arn:sub" }] });
            const ok = one(await checkPeer(ctx(drCfg, { clients })));
            assert.deepStrictEqual([ok.status, ok.detail], ["ok", `subscribed to ${topic}`]);
            assert.deepStrictEqual([...new Set(regions)], ["us-west-2"]);
            assert.strictEqual(sns.commandCalls(ListSubscriptionsCommand)[1].args[0].input.NextToken, "t");
            assert.strictEqual(s3.calls().length, 0);
            // A subscription to a topic in the primary region (the old layout) is not the one the copies come through.
            sns.on(ListSubscriptionsCommand).resolves({ Subscriptions: [{ TopicArn: "arn:aws:sns:us-east-1:111111111111:pilotlight-snapshot-copy", SubscriptionArn: "arn:old" }] });
            assert.match(one(await checkPeer(ctx(drCfg))).detail, /^no confirmed subscription to arn:aws:sns:us-west-2:111111111111:pilotlight-snapshot-copy/);
            sns.on(ListSubscriptionsCommand).resolves({ Subscriptions: [] });
            s3.on(HeadBucketCommand).resolves({});
            const rows = await checkPeer(ctx({ ...drCfg, failover: true }));
            assert.deepStrictEqual(statuses(rows), ["ok", "warn"]);
            assert.match(rows[0].check, /pilotlight-media-111111111111-us-east-1/);
        });

        it("dr failed over: prod's bucket is in the primary region, so its check never blocks and gives up after a while", async () => {
            const failedOver = { ...drCfg, failover: true, copy: undefined };
            s3.on(HeadBucketCommand).rejects(httpError("NotFound", 404));
            const missing = one(await checkPeer(ctx(failedOver)));
            assert.strictEqual(missing.status, "warn");
            assert.match(missing.detail, /in the primary region us-east-1; not needed for the failover/);
            s3.on(HeadBucketCommand).callsFake(() => new Promise(() => undefined));
            const started = Date.now();
            const silent = one(await checkPeer(ctx(failedOver, { primaryRegionTimeoutMs: 50 })));
            assert.deepStrictEqual([silent.status, /no answer from us-east-1 within 0.05 s/.test(silent.detail)], ["warn", true]);
            assert.ok(Date.now() - started < 2000);
        });

        it("dr: no check needs the primary region (every regional client is the DR region's)", async () => {
            const regions: string[] = [];
            const track =
                <T>(make: (r: string) => T) =>
                (r: string) => (regions.push(r), make(r));
            const clients: Clients = {
                ...awsClients,
                acm: track(awsClients.acm),
                ec2: track(awsClients.ec2),
                rds: track(awsClients.rds),
                s3: track(awsClients.s3),
                secrets: track(awsClients.secrets),
                sfn: track(awsClients.sfn),
                sns: track(awsClients.sns),
                sts: track(awsClients.sts),
            };
            sts.on(GetCallerIdentityCommand).resolves({ Account: "222222222222", Arn: "arn:aws:iam::222222222222:user/op" });
            s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: "eu-west-1" });
            await runChecks(ctx(drCfg, { clients, backendUrl: "s3://state" }));
            assert.ok(regions.length >= 6, regions.join());
            assert.deepStrictEqual([...new Set(regions)], ["us-west-2"]);
        });
    });

    describe("the cases in between", () => {
        const tagged = (id: string, h: number, tags = [{ Key: "pilotlight:source", Value: "pilotlight-db" }]) => ({ DBSnapshotIdentifier: id, SnapshotCreateTime: hoursAgo(h), Status: "available", TagList: tags });
        const zone = { HostedZone: { Id: "Z", Name: "example.com.", CallerReference: "c" }, DelegationSet: { NameServers: [] } };
        const rec = (name: string, type: "A" | "AAAA", failover: "PRIMARY" | "SECONDARY", hc?: string) => ({ Name: name, Type: type, Failover: failover, SetIdentifier: failover, HealthCheckId: hc, AliasTarget: { DNSName: `${failover}-alb-1.us-west-2.elb.amazonaws.com`, HostedZoneId: "Z", EvaluateTargetHealth: true } });

        it("credentials: an error is a failure that says to sign in", async () => {
            sts.on(GetCallerIdentityCommand).rejects(new Error("Could not load credentials from any providers"));
            const r = one(await checkIdentity(ctx(drCfg)));
            assert.deepStrictEqual([r.status, r.detail], ["fail", "sts:GetCallerIdentity failed: Could not load credentials from any providers"]);
            sts.on(GetCallerIdentityCommand).resolves({ Account: "222222222222", Arn: "arn:aws:iam::222222222222:user/op" });
            assert.strictEqual(one(await checkIdentity(ctx(drCfg))).status, "ok");
        });

        it("AMI: an image that is not available yet, and an unnamed one", async () => {
            const cfg = { ...drCfg, app: { ...drCfg.app, amiId: "ami-0123456789abcdef0" } };
            ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "pending" }] });
            assert.deepStrictEqual(statuses(await checkAmi(ctx(cfg))), ["fail"]);
            ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "available" }] });
            assert.match(one(await checkAmi(ctx(cfg))).detail, /\(unnamed\) is available/);
            ec2.on(DescribeImagesCommand).resolves({});
            assert.strictEqual(one(await checkAmi(ctx(cfg))).status, "fail");
        });

        it("certificate: asks for the configured ARN; 30 days left is still fine", async () => {
            acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: "ISSUED", NotAfter: new Date(NOW.getTime() + 30 * 86_400_000) } });
            const r = one(await checkCertificate(ctx(drCfg)));
            assert.deepStrictEqual([r.status, r.detail], ["ok", `${drCfg.app.certificateArn} is issued, 30 days left`]);
            assert.deepStrictEqual(acm.commandCalls(DescribeCertificateCommand)[0].args[0].input, { CertificateArn: drCfg.app.certificateArn });
            acm.on(DescribeCertificateCommand).resolves({ Certificate: { Status: "ISSUED" } });
            assert.strictEqual(one(await checkCertificate(ctx(drCfg))).detail, `${drCfg.app.certificateArn} is issued`);
            acm.on(DescribeCertificateCommand).resolves({});
            assert.strictEqual(one(await checkCertificate(ctx(drCfg))).status, "fail");
        });

        it("latestCopy: only the backups' copies of this source count, across pages; exactly the age limit is fine", async () => {
            const own = (id: string, h: number, db = "pilotlight-db") => ({ ...tagged(id, h), DBSnapshotArn: `arn:aws:rds:us-west-2:222222222222:snapshot:${id}`, DBInstanceIdentifier: db });
            rds.on(DescribeDBSnapshotsCommand)
                .resolvesOnce({
                    DBSnapshots: [own("other-db-bk-20261125000000", 1, "other-db"), own("pilotlight-db-manual", 1), { DBSnapshotIdentifier: "no-tags", SnapshotCreateTime: hoursAgo(1), Status: "available" }],
                    Marker: "m1",
                })
                .resolves({ DBSnapshots: [own("pilotlight-db-bk-20261124000000", 26)] });
            const r = one(await checkRecoveryPoint(ctx(oneAccount(drCfg))));
            assert.deepStrictEqual([r.status, r.detail], ["ok", `latestCopy -> pilotlight-db-bk-20261124000000, 26 h old (data as of ${hoursAgo(26).toISOString()})`]);
            assert.strictEqual(rds.commandCalls(DescribeDBSnapshotsCommand)[1].args[0].input.Marker, "m1");
        });

        it("recovery point: a snapshot without creation time or status, and the snapshot source's input", async () => {
            const cfg = { ...drCfg, failoverDatabase: { source: "snapshot" as const, sourceIdentifier: "pilotlight-db", snapshotIdentifier: "chosen" } };
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: "chosen", Status: "available" }] });
            assert.deepStrictEqual(statuses(await checkRecoveryPoint(ctx(cfg))), ["warn"]);
            assert.deepStrictEqual(rds.commandCalls(DescribeDBSnapshotsCommand)[0].args[0].input, { DBSnapshotIdentifier: "chosen", Marker: undefined });
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: "chosen", SnapshotCreateTime: hoursAgo(1) }] });
            assert.match(one(await checkRecoveryPoint(ctx(cfg))).detail, /is unknown/);
            rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
            assert.match(one(await checkRecoveryPoint(ctx(cfg))).detail, /^snapshot chosen not found in us-west-2/);
        });

        it("Aurora, one account: cluster snapshots, by source or by name", async () => {
            const aurora = oneAccount({ ...drCfg, database: { ...drCfg.database, engine: "aurora-postgresql" as const } });
            rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: "c-1", SnapshotCreateTime: hoursAgo(2), Status: "available", TagList: [{ Key: "pilotlight:source", Value: "pilotlight-db" }] }] });
            assert.match(one(await checkRecoveryPoint(ctx(aurora))).detail, /latestCopy -> c-1, 2 h old/);
            assert.deepStrictEqual(rds.commandCalls(DescribeDBClusterSnapshotsCommand)[0].args[0].input, { DBClusterIdentifier: "pilotlight-db", SnapshotType: "manual", Marker: undefined });
            const named = { ...aurora, failoverDatabase: { source: "snapshot" as const, sourceIdentifier: "pilotlight-db", snapshotIdentifier: "c-1" } };
            assert.strictEqual(one(await checkRecoveryPoint(ctx(named))).status, "ok");
            assert.deepStrictEqual(rds.commandCalls(DescribeDBClusterSnapshotsCommand)[1].args[0].input, { DBClusterSnapshotIdentifier: "c-1", Marker: undefined });
            assert.strictEqual(rds.commandCalls(DescribeDBSnapshotsCommand).length, 0);
        });

        it("Aurora, two accounts: the newest shared cluster snapshot, which must itself be restorable", async () => {
            const aurora = { ...drCfg, database: { ...drCfg.database, engine: "aurora-postgresql" as const } };
            const arn = (id: string, account = "111111111111") => `arn:aws:rds:us-west-2:${account}:cluster-snapshot:${id}`;
            const snap = (id: string, h: number, status = "available", account = "111111111111") => ({ DBClusterSnapshotIdentifier: arn(id, account), DBClusterSnapshotArn: arn(id, account), DBClusterIdentifier: "pilotlight-db", SnapshotCreateTime: hoursAgo(h), Status: status });
            rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [snap("c-old", 9), snap("c-new", 2)] });
            const ok = one(await checkRecoveryPoint(ctx(aurora)));
            assert.deepStrictEqual([ok.status, ok.detail], ["ok", `latestCopy -> ${arn("c-new")} (shared by account 111111111111), 2 h old (data as of ${hoursAgo(2).toISOString()})`]);
            assert.deepStrictEqual(rds.commandCalls(DescribeDBClusterSnapshotsCommand)[0].args[0].input, { DBClusterIdentifier: "pilotlight-db", SnapshotType: "shared", IncludeShared: true, Marker: undefined });
            // The program takes the most recent one only: if that one is not available, the failover stops, older ones notwithstanding.
            rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [snap("c-old", 9), snap("c-new", 1, "creating")] });
            const busy = one(await checkRecoveryPoint(ctx(aurora)));
            assert.strictEqual(busy.status, "fail");
            assert.match(busy.detail, /newest shared cluster snapshot .*c-new is creating/);
            rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [snap("c-old", 9), snap("c-other", 1, "available", "333333333333")] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(aurora))).status, "fail");
            rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [] });
            assert.match(one(await checkRecoveryPoint(ctx(aurora))).detail, /^no cluster snapshot of pilotlight-db shared with this account in us-west-2/);
        });

        it("pointInTime and adopt: inputs and the states that are not usable", async () => {
            const arn = "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-1";
            const pit = { ...drCfg, failoverDatabase: { source: "pointInTime" as const, sourceIdentifier: "pilotlight-db", automatedBackupsArn: arn } };
            rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ DBInstanceIdentifier: "pilotlight-db", Status: "active", RestoreWindow: { LatestTime: hoursAgo(1) } }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(pit))).status, "ok");
            assert.deepStrictEqual(rds.commandCalls(DescribeDBInstanceAutomatedBackupsCommand)[0].args[0].input, { DBInstanceAutomatedBackupsArn: arn });
            rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ Status: "pending", RestoreWindow: { LatestTime: hoursAgo(1) } }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(pit))).status, "fail");
            rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [{ Status: "replicating" }] });
            assert.strictEqual(one(await checkRecoveryPoint(ctx(pit))).status, "warn");
            const adopt = { ...drCfg, failoverDatabase: { source: "adopt" as const, sourceIdentifier: "pilotlight-db", secretName: "copy/secret" } };
            secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ version: "3" }) });
            assert.match(one(await checkRecoveryPoint(ctx(adopt))).detail, /secret copy\/secret names no identifier/);
            assert.deepStrictEqual(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input, { SecretId: "copy/secret" });
            secrets.on(GetSecretValueCommand).resolves({});
            assert.strictEqual(one(await checkRecoveryPoint(ctx(adopt))).status, "fail");
            assert.match(one(await checkRecoveryPoint(ctx({ ...drCfg, failoverDatabase: undefined }))).action, /failoverDatabase.source/);
        });

        it("schedules: which jobs, the two-interval limit exactly, cron, and errors", async () => {
            const base = { ...prodCfg, backups: { ...prodCfg.backups!, scheduleEnabled: true }, copy: { ...prodCfg.copy!, scheduleEnabled: true } };
            const ran = (h: number, status: "SUCCEEDED" | "TIMED_OUT" | "ABORTED" = "SUCCEEDED") => ({ executions: [{ executionArn: "e", stateMachineArn: "m", name: "n", status, startDate: hoursAgo(h) }] });
            assert.deepStrictEqual(statuses(await checkSchedules(ctx({ ...base, backups: undefined, copy: undefined }))), ["warn"]);
            sfn.on(ListExecutionsCommand).resolves(ran(4));
            const imagesOnly = await checkSchedules(ctx({ ...base, backups: { ...base.backups!, databases: [] }, copy: undefined }));
            assert.deepStrictEqual(imagesOnly.map((r) => [r.check, r.status]), [["schedule pilotlight-image-backup", "ok"]]);
            assert.deepStrictEqual(statuses(await checkSchedules(ctx({ ...base, backups: { ...base.backups!, images: undefined }, copy: undefined }))), ["ok"]);
            sfn.on(ListExecutionsCommand).resolves(ran(1, "TIMED_OUT"));
            assert.deepStrictEqual(statuses(await checkSchedules(ctx(base))), ["warn", "warn", "warn"]);
            sfn.on(ListExecutionsCommand).resolves(ran(1, "ABORTED"));
            assert.deepStrictEqual(statuses(await checkSchedules(ctx(base))), ["warn", "warn", "warn"]);
            sfn.on(ListExecutionsCommand).resolves(ran(100));
            assert.deepStrictEqual(statuses(await checkSchedules(ctx({ ...base, backups: { ...base.backups!, schedule: "cron(0 3 * * ? *)" }, copy: undefined }))), ["ok", "ok"]);
            sfn.on(ListExecutionsCommand).resolves({ executions: [] });
            const never = await checkSchedules(ctx(base));
            assert.deepStrictEqual(statuses(never), ["fail", "fail", "fail"]);
            assert.match(never[0].detail, /no execution yet/);
            sfn.on(ListExecutionsCommand).rejects(httpError("StateMachineDoesNotExist", 400));
            const missing = await checkSchedules(ctx(base));
            assert.deepStrictEqual(statuses(missing), ["fail", "fail", "fail"]);
            assert.match(missing[0].detail, /StateMachineDoesNotExist/);
        });

        it("dr: IAM or Route 53 not answering (their control planes are in us-east-1) is a warning: the failover calls neither", async () => {
            const timeout = Object.assign(new Error("connect ETIMEDOUT"), { name: "TimeoutError", $metadata: {} });
            iam.on(GetRoleCommand).rejects(timeout);
            const slr = await checkServiceLinkedRoles(ctx(drCfg));
            assert.deepStrictEqual(statuses(slr), ["warn", "warn", "warn", "warn"]);
            assert.match(slr[0].detail, /^IAM did not answer \(TimeoutError\): its control plane is in us-east-1; the failover makes no IAM call/);
            iam.on(GetRoleCommand).rejects(httpError("ServiceUnavailable", 503));
            assert.deepStrictEqual(statuses(await checkServiceLinkedRoles(ctx(drCfg))), ["warn", "warn", "warn", "warn"]);
            sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "a", SecretAccessKey: "s", SessionToken: "t", Expiration: NOW } });
            r53.on(GetHostedZoneCommand).rejects(httpError("ServiceUnavailable", 503));
            const zoneDown = await checkDns(ctx(drCfg));
            assert.deepStrictEqual(zoneDown.map((r) => `${r.check}:${r.status}`), ["DNS role:ok", "hosted zone:warn"]);
            assert.match(zoneDown[1].detail, /Route 53 did not answer \(ServiceUnavailable\)/);
            r53.on(GetHostedZoneCommand).resolves(zone);
            r53.on(ListResourceRecordSetsCommand).rejects(new Error("socket hang up"));
            const recordsDown = await checkDns(ctx(drCfg));
            assert.deepStrictEqual(recordsDown.map((r) => `${r.check}:${r.status}`), ["DNS role:ok", "hosted zone:ok", "DNS records:warn"]);
            r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rec("app.example.com.", "A", "PRIMARY", "hc")], IsTruncated: false, MaxItems: 10 });
            r53.on(GetHealthCheckCommand).rejects(httpError("InternalError", 500));
            const oneAcct = { ...drCfg, peer: { ...drCfg.peer, accountId: drCfg.accountId } };
            assert.strictEqual((await checkDns(ctx(oneAcct))).find((r) => r.check === "PRIMARY health check")!.status, "warn");
            assert.strictEqual((await checkDns(ctx(prodCfg))).find((r) => r.check === "PRIMARY health check")!.status, "fail");
            // A definite answer still fails, and prod (not on the failover path) still fails on any error.
            r53.on(GetHostedZoneCommand).rejects(new NoSuchHostedZone({ message: "no", ...meta }));
            assert.deepStrictEqual(statuses(await checkDns(ctx(drCfg))), ["ok", "fail"]);
            r53.on(GetHostedZoneCommand).rejects(httpError("ServiceUnavailable", 503));
            assert.deepStrictEqual(statuses(await checkDns(ctx(prodCfg))), ["fail"]);
        });

        it("service-linked roles: another error says which permission is missing", async () => {
            iam.on(GetRoleCommand).rejects(httpError("AccessDenied", 403));
            const rows = await checkServiceLinkedRoles(ctx(drCfg));
            assert.deepStrictEqual(statuses(rows), ["fail", "fail", "fail", "fail"]);
            assert.match(rows[0].action, /grant iam:GetRole/);
        });

        it("DNS: no config is skipped; only this name's A records count; the role's credentials reach Route 53", async () => {
            assert.deepStrictEqual(statuses(await checkDns(ctx({ ...prodCfg, dns: undefined }))), ["skip"]);
            let given: Credentials | undefined;
            const clients: Clients = { ...awsClients, route53: (c) => ((given = c), awsClients.route53(c)) };
            sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "AK", SecretAccessKey: "SK", SessionToken: "ST", Expiration: NOW } });
            r53.on(GetHostedZoneCommand).resolves(zone);
            r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rec("other.example.com.", "A", "PRIMARY", "hc"), rec("app.example.com.", "AAAA", "SECONDARY")], IsTruncated: false, MaxItems: 10 });
            const dr = await checkDns(ctx(drCfg, { clients }));
            assert.deepStrictEqual(given, { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "ST" });
            assert.deepStrictEqual(dr.map((r) => `${r.check}:${r.status}`), ["DNS role:ok", "hosted zone:ok", "PRIMARY record:warn", "SECONDARY record:fail"]);
            assert.deepStrictEqual(r53.commandCalls(GetHostedZoneCommand)[0].args[0].input, { Id: "Z0123456789ABCDEFGHIJ" });
            assert.deepStrictEqual(r53.commandCalls(ListResourceRecordSetsCommand)[0].args[0].input, { HostedZoneId: "Z0123456789ABCDEFGHIJ", StartRecordName: "app.example.com.", StartRecordType: "A", MaxItems: 10 });
            const prod = await checkDns(ctx(prodCfg));
            assert.deepStrictEqual(prod.map((r) => `${r.check}:${r.status}`), ["hosted zone:ok", "PRIMARY record:fail", "SECONDARY record:fail"]);
            assert.strictEqual(prod[1].action, "deploy the primary stack: pulumi up -s prod");
            r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rec("app.example.com.", "A", "SECONDARY"), rec("app.example.com.", "A", "PRIMARY")], IsTruncated: false, MaxItems: 10 });
            const noCheck = await checkDns(ctx(drCfg));
            assert.deepStrictEqual([noCheck[2].status, noCheck[2].action], ["fail", "pulumi up -s prod"]);
            r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rec("app.example.com.", "A", "PRIMARY", "hc"), rec("app.example.com.", "A", "SECONDARY")], IsTruncated: false, MaxItems: 10 });
            const failed = await checkDns(ctx({ ...drCfg, failover: true }));
            assert.deepStrictEqual(failed[4], row("SECONDARY record", "ok", "app.example.com. -> SECONDARY-alb-1.us-west-2.elb.amazonaws.com (a load balancer in us-west-2)"));
            assert.strictEqual(failed[2].detail, "app.example.com. -> PRIMARY-alb-1.us-west-2.elb.amazonaws.com, health check hc");
        });

        it("state backend: file, other, none, an unreadable bucket location; secrets providers without a region", async () => {
            const st = async (extra: Partial<PreflightContext>) => (await checkPulumiBackend(ctx(drCfg, extra))).map((r) => `${r.check}:${r.status}`);
            assert.deepStrictEqual(await st({ backendUrl: "file://~" }), ["state backend:warn", "secrets provider:ok"]);
            assert.deepStrictEqual(await st({ backendUrl: "azblob://state" }), ["state backend:ok", "secrets provider:ok"]);
            assert.deepStrictEqual(await st({}), ["state backend:warn", "secrets provider:ok"]);
            assert.deepStrictEqual(await st({ backendUrl: "https://api.pulumi.com", secretsProvider: "awskms://alias/pulumi" }), ["state backend:ok", "secrets provider:warn"]);
            assert.deepStrictEqual(await st({ backendUrl: "https://api.pulumi.com", secretsProvider: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k" }), ["state backend:ok", "secrets provider:ok"]);
            s3.on(GetBucketLocationCommand).rejects(httpError("AccessDenied", 403));
            assert.deepStrictEqual(await st({ backendUrl: "s3://state" }), ["state backend:warn", "secrets provider:ok"]);
            assert.deepStrictEqual(s3.commandCalls(GetBucketLocationCommand)[0].args[0].input, { Bucket: "state" });
            const home = await checkPulumiBackend(ctx(drCfg, { backendUrl: "s3://state?region=us-east-1" }));
            assert.match(home[0].detail, /locks out pulumi up -s dr/);
            const homeProd = await checkPulumiBackend(ctx(prodCfg, { backendUrl: "s3://state?region=us-east-1" }));
            assert.match(homeProd[0].detail, /locks out pulumi up -s dr/);
            assert.strictEqual(parseBackend("https://example.com/pulumi").kind, "other");
            assert.strictEqual(parseBackend("https://app.pulumi.com/org").kind, "cloud");
            assert.strictEqual(secretsProviderRegion("awskms://arn%3Aaws%3Akms%3Aus-west-2%3A1%3Akey%2Fk"), "us-west-2");
            assert.strictEqual(secretsProviderRegion("awskms://xarn:aws:kms:us-west-2:1:key/k"), undefined);
        });

        it("reads the stack file and the login from the environment", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: pilotlight\n");
            fs.writeFileSync(path.join(dir, "Pulumi.dr.yaml"), "secretsprovider: awskms://alias/p?region=us-west-2\nencryptionsalt: v1:abc\nconfig: {}\n");
            fs.writeFileSync(path.join(dir, "credentials.json"), JSON.stringify({ current: "s3://from-login" }));
            assert.deepStrictEqual(readPulumiSettings(dir, "dr", { PULUMI_HOME: dir }), { backendUrl: "s3://from-login", secretsProvider: "awskms://alias/p?region=us-west-2", passphrase: true });
            assert.deepStrictEqual(readPulumiSettings(dir, "prod", { PULUMI_HOME: path.join(dir, "none") }), { backendUrl: undefined, secretsProvider: undefined, passphrase: false });
            assert.strictEqual(backendUrl({}, undefined, JSON.stringify({})), undefined);
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("database: the cluster as in the state, a missing resource, an unreadable database", async () => {
            const aurora = { ...prodCfg, database: { ...prodCfg.database, engine: "aurora-postgresql" as const } };
            const cluster = [
                { urn: "urn:pulumi:prod::pilotlight::aws:rds/instance:Instance::database-cluster", type: "aws:rds/instance:Instance", outputs: { clusterResourceId: "cluster-X" } },
                { urn: "urn:pulumi:prod::pilotlight::pilotlight:database:Database$aws:rds/cluster:Cluster::database-cluster", type: "aws:rds/cluster:Cluster", outputs: { clusterResourceId: "cluster-OLD" } },
            ];
            rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ DbClusterResourceId: "cluster-OLD" }] });
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(aurora, { state: cluster }))).status, "ok");
            assert.deepStrictEqual(rds.commandCalls(DescribeDBClustersCommand)[0].args[0].input, { DBClusterIdentifier: "pilotlight-db" });
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(aurora, { state: [] }))).detail, "no database-cluster in the state");
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(prodCfg, { state: cluster }))).detail, "no database-instance in the state");
            // No parent in the state (a top-level import): no --parent; the id when outputs lack resourceId.
            const flat = [{ urn: "urn:pulumi:prod::pilotlight::aws:rds/instance:Instance::database-instance", type: "aws:rds/instance:Instance", id: "db-OLD" }];
            rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-OLD" }] });
            assert.strictEqual(one(await checkDatabaseIdentity(ctx(prodCfg, { state: flat }))).status, "ok");
            assert.deepStrictEqual(rds.commandCalls(DescribeDBInstancesCommand)[0].args[0].input, { DBInstanceIdentifier: "pilotlight-db" });
            rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-NEW" }] });
            assert.doesNotMatch(one(await checkDatabaseIdentity(ctx(prodCfg, { state: flat }))).action, /--parent/);
            rds.on(DescribeDBInstancesCommand).rejects(httpError("DBInstanceNotFound", 404));
            const gone = one(await checkDatabaseIdentity(ctx(prodCfg, { state: flat })));
            assert.deepStrictEqual([gone.status, gone.detail], ["fail", "pilotlight-db: DBInstanceNotFound"]);
            assert.match(one(await checkDatabaseIdentity(ctx(prodCfg))).detail, /state not read: unknown/);
            assert.strictEqual(one(await checkDatabaseIdentity(ctx({ ...drCfg, failover: true }, { state: flat }))).status, "fail");
        });

        it("peer bucket: NoSuchBucket without a status, and other errors", async () => {
            s3.on(HeadBucketCommand).rejects(Object.assign(new Error("x"), { name: "NoSuchBucket" }));
            assert.strictEqual(one(await checkPeer(ctx(prodCfg))).status, "fail");
            assert.deepStrictEqual(s3.commandCalls(HeadBucketCommand)[0].args[0].input, { Bucket: "pilotlight-media-222222222222-us-west-2" });
            s3.on(HeadBucketCommand).rejects(Object.assign(new Error("x"), { name: "NotFound" }));
            assert.strictEqual(one(await checkPeer(ctx(prodCfg))).status, "fail");
            s3.on(HeadBucketCommand).rejects(httpError("SlowDown", 503));
            const r = one(await checkPeer(ctx(prodCfg)));
            assert.deepStrictEqual([r.status, r.detail], ["warn", "s3:HeadBucket failed: SlowDown"]);
            s3.on(HeadBucketCommand).rejects(httpError("NotFound", 404));
            const dr = await checkPeer(ctx({ ...drCfg, failover: true, copy: undefined }));
            assert.deepStrictEqual(statuses(dr), ["warn"]);
            assert.deepStrictEqual(statuses(await checkPeer(ctx({ ...drCfg, copy: undefined }))), ["skip"]);
            sns.on(ListSubscriptionsCommand).resolves({ Subscriptions: [{ TopicArn: "arn:aws:sns:us-east-1:111111111111:other", SubscriptionArn: "arn:sub" }] });
            assert.deepStrictEqual(statuses(await checkPeer(ctx(drCfg))), ["warn"]);
            sns.on(ListSubscriptionsCommand).resolves({ Subscriptions: [{ TopicArn: "arn:aws:sns:us-west-2:111111111111:pilotlight-snapshot-copy", SubscriptionArn: "PendingConfirmation" }] });
            assert.deepStrictEqual(statuses(await checkPeer(ctx(drCfg))), ["warn"]);
            sns.on(ListSubscriptionsCommand).rejects(httpError("AuthorizationError", 403));
            assert.match(one(await checkPeer(ctx(drCfg))).detail, /sns:ListSubscriptions failed: AuthorizationError/);
        });

        it("runs the role's checks in order; a check that throws is a failed row", async () => {
            assert.deepStrictEqual(checksFor("dr").map((c) => c.name), ["checkPulumiBackend", "checkAmi", "checkCertificate", "checkRecoveryPoint", "checkServiceLinkedRoles", "checkDns", "checkDatabaseIdentity", "checkPeer"]);
            assert.deepStrictEqual(checksFor("primary").map((c) => c.name), ["checkPulumiBackend", "checkSchedules", "checkDns", "checkDatabaseIdentity", "checkPeer"]);
            sts.on(GetCallerIdentityCommand).resolves({ Account: "111111111111", Arn: "a" });
            r53.on(GetHostedZoneCommand).resolves(zone);
            r53.on(ListResourceRecordSetsCommand).rejects(new Error("socket hang up"));
            const rows = await runChecks(ctx(prodCfg, { backendUrl: "https://api.pulumi.com" }));
            const dns = rows.find((r) => r.check === "Dns")!;
            assert.deepStrictEqual([dns.status, dns.detail], ["fail", "could not check: socket hang up: socket hang up"]);
        });

        it("the table pads three columns and the verdict counts", () => {
            const rows = [row("a", "ok", "found it"), row("longer check", "warn", "x", "do this"), row("c", "fail", "", "fix")];
            assert.strictEqual(
                renderTable(rows),
                [
                    "check         status  found     what to do",
                    "------------  ------  --------  ----------",
                    "a             OK      found it",
                    "longer check  WARN    x         do this",
                    "c             FAIL              fix",
                    "",
                ].join("\n"),
            );
            assert.strictEqual(verdict(rows), "1 check(s) FAIL: a failover now would break; fix them first.");
            assert.strictEqual(verdict(rows.slice(0, 2)), "No check fails (1 warning(s)): what the runbook assumes holds now.");
            assert.strictEqual(verdict(rows.slice(0, 1)), "No check fails: what the runbook assumes holds now.");
            assert.strictEqual(exitCode(rows.slice(0, 2)), 0);
            assert.strictEqual(verdict([row("credentials", "fail", "wrong account")]), "Nothing else was checked: these credentials cannot check this stack.");
            assert.strictEqual(verdict([row("credentials", "ok", "")]), "No check fails: what the runbook assumes holds now.");
        });

        it("reads pulumi stack export output", () => {
            assert.deepStrictEqual(stateResources(JSON.stringify({ deployment: {} })), []);
            assert.deepStrictEqual(stateResources("{}"), []);
        });
    });

    describe("the whole run", () => {
        it("prints a table and exits 0 only when nothing fails", async () => {
            sts.on(GetCallerIdentityCommand).resolves({ Account: "111111111111", Arn: "arn:aws:iam::111111111111:user/op" });
            sfn.on(ListExecutionsCommand).resolves({ executions: [] });
            r53.on(GetHostedZoneCommand).rejects(new NoSuchHostedZone({ message: "no", ...meta }));
            s3.on(HeadBucketCommand).resolves({});
            const rows = await runChecks(ctx(prodCfg, { backendUrl: "https://api.pulumi.com" }));
            assert.deepStrictEqual([rows[0].check, rows[0].status], ["credentials", "ok"]);
            assert.strictEqual(exitCode(rows), 1);
            const table = renderTable(rows);
            assert.match(table, /^check\s+status\s+found\s+what to do\n/);
            assert.match(table, /hosted zone\s+FAIL/);
            assert.strictEqual(exitCode(rows.filter((r) => r.status !== "fail")), 0);
        });
    });
});
