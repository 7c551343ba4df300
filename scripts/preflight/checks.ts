// The preflight checks: each one reads what the runbook assumes and says what to do when it is
// not so. Names come from the program's own helpers, so a check looks where the stacks put things.
import { DescribeCertificateCommand } from "@aws-sdk/client-acm";
import { DescribeImagesCommand, Image } from "@aws-sdk/client-ec2";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import {
    DBClusterSnapshot,
    DBSnapshot,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClustersCommand,
    DescribeDBInstanceAutomatedBackupsCommand,
    DescribeDBInstancesCommand,
    DescribeDBSnapshotsCommand,
} from "@aws-sdk/client-rds";
import { GetHostedZoneCommand, ListResourceRecordSetsCommand } from "@aws-sdk/client-route-53";
import { GetBucketLocationCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { ListSubscriptionsCommand } from "@aws-sdk/client-sns";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { isAuroraEngine, isSameAccount } from "../../config";
import { copyTopicName, databaseIdentifier, dnsFailoverRoleName, jobName, mediaBucketName, roleArn, stateMachineArn, topicArn } from "../../components/naming";
import { CREATED_BY_TAG, SOURCE_TAG } from "../../functions/lib/tags";
import { parseBackend, secretsProviderRegion } from "./pulumiSettings";
import { CheckResult, Credentials, errorName, hoursBetween, PreflightContext, primaryRegion, row } from "./types";

const RUNBOOK = "docs/runbook.md";

/** The credentials belong to this stack's account; every other check depends on it. */
export async function checkIdentity(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    try {
        const id = await ctx.clients.sts(cfg.region).send(new GetCallerIdentityCommand({}));
        if (id.Account !== cfg.accountId) {
            return [row("credentials", "fail", `credentials are for account ${id.Account} (${id.Arn}); stack ${cfg.stack} is account ${cfg.accountId}`, `use the ${cfg.stack} account's credentials, e.g. AWS_PROFILE=<${cfg.stack}-account profile>`)];
        }
        return [row("credentials", "ok", `account ${id.Account} as ${id.Arn}`)];
    } catch (e) {
        return [row("credentials", "fail", `sts:GetCallerIdentity failed: ${errorName(e)}`, "sign in (aws sso login / AWS_PROFILE) and run again")];
    }
}

const NO_APP_TIER = "this stack has no app tier (pilotlight:app.enabled false)";

/** The AMI the app tier launches: `app.amiId`, or this account's newest available pilotlight image. */
export async function checkAmi(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const ec2 = ctx.clients.ec2(cfg.region);
    const name = "AMI for the app tier";
    if (!cfg.app.enabled) return [row(name, "skip", NO_APP_TIER)];
    if (cfg.app.amiId) {
        const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [cfg.app.amiId] })).catch((e) => ({ error: errorName(e) }) as const);
        const image = "error" in out ? undefined : out.Images?.[0];
        if (!image) return [row(name, "fail", `app.amiId ${cfg.app.amiId} not found in ${cfg.region} for account ${cfg.accountId}${"error" in out ? ` (${out.error})` : ""}`, `copy the image into ${cfg.region} of this account, or set app.amiId to one that exists (${RUNBOOK})`)];
        if (image.State !== "available") return [row(name, "fail", `app.amiId ${cfg.app.amiId} is ${image.State}`, "wait until it is available, or set app.amiId to an available image")];
        return [row(name, "ok", `app.amiId ${cfg.app.amiId} (${image.Name ?? "unnamed"}) is available`)];
    }
    const out = await ec2.send(
        new DescribeImagesCommand({
            Owners: ["self"],
            Filters: [
                { Name: "tag-key", Values: [CREATED_BY_TAG] },
                { Name: "state", Values: ["available"] },
            ],
        }),
    );
    const newest = [...(out.Images ?? [])].sort((a: Image, b: Image) => (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""))[0];
    if (!newest) {
        return [
            row(
                name,
                "fail",
                `no available image tagged ${CREATED_BY_TAG} owned by account ${cfg.accountId} in ${cfg.region}, and no app.amiId`,
                `copy the newest image backup into this account and region (aws ec2 copy-image ... tagged ${CREATED_BY_TAG}), or set app.amiId (${RUNBOOK})`,
            ),
        ];
    }
    return [row(name, "ok", `newest ${CREATED_BY_TAG} image ${newest.ImageId} created ${newest.CreationDate}`)];
}

/** The HTTPS certificate the load balancer uses: issued, in this region, not about to expire. */
export async function checkCertificate(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const name = "certificate for HTTPS";
    if (!cfg.app.enabled) return [row(name, "skip", NO_APP_TIER)];
    const arn = cfg.app.certificateArn;
    if (!arn) return [row(name, "warn", "no app.certificateArn: the app tier would serve plain HTTP", `request or import an ACM certificate in ${cfg.region} and set app.certificateArn`)];
    try {
        const cert = (await ctx.clients.acm(cfg.region).send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
        if (cert?.Status !== "ISSUED") return [row(name, "fail", `${arn} is ${cert?.Status}`, "validate or renew it, or set app.certificateArn to an issued certificate in this region")];
        const days = cert.NotAfter ? Math.floor((cert.NotAfter.getTime() - ctx.now.getTime()) / 86_400_000) : undefined;
        if (days !== undefined && days < 30) return [row(name, "warn", `${arn} expires in ${days} days`, "renew it (ACM renews DNS-validated certificates while the validation record exists)")];
        return [row(name, "ok", `${arn} is issued${days !== undefined ? `, ${days} days left` : ""}`)];
    } catch (e) {
        return [row(name, "fail", `${arn}: ${errorName(e)}`, `the certificate must exist in ${cfg.region} of account ${cfg.accountId}; request or import one and set app.certificateArn`)];
    }
}

/** The newest point the dr stack's database would be restored from, and its age. */
export async function checkRecoveryPoint(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const name = "newest recovery point";
    const fd = cfg.failoverDatabase;
    if (!fd) return [row(name, "fail", "no pilotlight:failoverDatabase: failover has no database source", "set pilotlight:failoverDatabase.source (docs/configuration.md)")];
    const rds = ctx.clients.rds(cfg.region);
    const aurora = isAuroraEngine(cfg.database.engine);
    const aged = (what: string, created: Date | undefined, status: string | undefined): CheckResult => {
        if (status !== "available") return row(name, "fail", `${what} is ${status ?? "unknown"}`, "wait until it is available, or point failoverDatabase at another (source: snapshot, snapshotIdentifier)");
        if (!created) return row(name, "warn", `${what}: no creation time`, "");
        const hours = hoursBetween(created, ctx.now);
        const detail = `${what}, ${hours} h old (created ${created.toISOString()})`;
        return hours > ctx.maxAgeHours
            ? row(name, "warn", detail, `older than ${ctx.maxAgeHours} h: check that the backups or copies run (prod: npm run preflight -- --stack ${cfg.peer.stack})`)
            : row(name, "ok", detail);
    };
    try {
        if (fd.source === "latestCopy" || fd.source === "snapshot") {
            const snaps: (DBSnapshot | DBClusterSnapshot)[] = [];
            let marker: string | undefined;
            do {
                const page = aurora
                    ? await rds.send(
                          fd.source === "snapshot"
                              ? new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: fd.snapshotIdentifier, Marker: marker })
                              : new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: fd.sourceIdentifier, SnapshotType: "manual", Marker: marker }),
                      )
                    : await rds.send(
                          fd.source === "snapshot"
                              ? new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: fd.snapshotIdentifier, Marker: marker })
                              : new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: fd.sourceIdentifier, SnapshotType: "manual", Marker: marker }),
                      );
                snaps.push(...(("DBClusterSnapshots" in page ? page.DBClusterSnapshots : (page as { DBSnapshots?: DBSnapshot[] }).DBSnapshots) ?? []));
                marker = page.Marker;
            } while (marker);
            // latestCopy filters like the program's lookup: manual snapshots of the source tagged with it.
            const candidates = fd.source === "snapshot" ? snaps : snaps.filter((s) => s.TagList?.some((t) => t.Key === SOURCE_TAG && t.Value === fd.sourceIdentifier));
            const newest = candidates.sort((a, b) => (b.SnapshotCreateTime?.getTime() ?? 0) - (a.SnapshotCreateTime?.getTime() ?? 0))[0];
            if (!newest) {
                return [
                    row(
                        name,
                        "fail",
                        fd.source === "snapshot" ? `snapshot ${fd.snapshotIdentifier} not found in ${cfg.region}` : `no manual ${aurora ? "cluster " : ""}snapshot of ${fd.sourceIdentifier} tagged ${SOURCE_TAG}=${fd.sourceIdentifier} in ${cfg.region}`,
                        "a failover would stop at the database: check the backup and copy machines, or set failoverDatabase.source to another source",
                    ),
                ];
            }
            const id = "DBClusterSnapshotIdentifier" in newest ? newest.DBClusterSnapshotIdentifier : (newest as DBSnapshot).DBSnapshotIdentifier;
            return [aged(`${fd.source} -> ${id}`, newest.SnapshotCreateTime, newest.Status)];
        }
        if (fd.source === "pointInTime") {
            const out = await rds.send(new DescribeDBInstanceAutomatedBackupsCommand({ DBInstanceAutomatedBackupsArn: fd.automatedBackupsArn }));
            const backups = out.DBInstanceAutomatedBackups?.[0];
            if (!backups) return [row(name, "fail", `replicated automated backups ${fd.automatedBackupsArn} not found`, "turn on backups.automatedBackupReplication (same account) or choose another failoverDatabase.source")];
            const latest = backups.RestoreWindow?.LatestTime;
            return [aged(`pointInTime -> latest restorable time of ${backups.DBInstanceIdentifier}`, latest, backups.Status === "replicating" || backups.Status === "active" ? "available" : backups.Status)];
        }
        // adopt: the instance the copy target's secret points at.
        const secret = await ctx.clients.secrets(cfg.region).send(new GetSecretValueCommand({ SecretId: fd.secretName }));
        const pointer = JSON.parse(secret.SecretString ?? "{}") as { identifier?: string; version?: string };
        if (!pointer.identifier) return [row(name, "fail", `secret ${fd.secretName} names no identifier`, "run the copy target machine, or choose another failoverDatabase.source")];
        const db = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: pointer.identifier }))).DBInstances?.[0];
        return [aged(`adopt -> ${pointer.identifier} (copy v${pointer.version ?? "?"})`, db?.InstanceCreateTime, db?.DBInstanceStatus)];
    } catch (e) {
        return [row(name, "fail", `${fd.source}: ${errorName(e)}`, "a failover would stop at the database; fix the source named in pilotlight:failoverDatabase")];
    }
}

/** A rate(...) expression in hours; undefined for cron. Exported for testing. */
export function rateHours(expression: string): number | undefined {
    const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2].startsWith("minute") ? n / 60 : m[2].startsWith("hour") ? n : n * 24;
}

/** The primary's scheduled jobs that keep the DR copies fresh: on in config, and running. */
export async function checkSchedules(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const jobs: { job: string; what: string; schedule: string; enabled: boolean; key: string }[] = [];
    if (cfg.backups && cfg.backups.databases.length > 0) jobs.push({ job: "backup", what: "database backups", schedule: cfg.backups.schedule, enabled: cfg.backups.scheduleEnabled, key: "backups.scheduleEnabled" });
    if (cfg.backups?.images) jobs.push({ job: "image-backup", what: "image backups", schedule: cfg.backups.schedule, enabled: cfg.backups.scheduleEnabled, key: "backups.scheduleEnabled" });
    if (cfg.copy) jobs.push({ job: "copy-source", what: "cross-account copy", schedule: cfg.copy.schedule, enabled: cfg.copy.scheduleEnabled, key: "copy.scheduleEnabled" });
    if (jobs.length === 0) return [row("schedules", "warn", "no backups or copy configured: nothing keeps DR copies fresh", "configure pilotlight:backups or pilotlight:copy (docs/backups.md)")];
    const sfn = ctx.clients.sfn(cfg.region);
    const rows: CheckResult[] = [];
    for (const j of jobs) {
        const machine = jobName(cfg.namePrefix, j.job);
        const name = `schedule ${machine}`;
        if (!j.enabled) {
            rows.push(row(name, "fail", `${j.what}: ${j.key} is false, the rule is disabled`, `pulumi config set --path ${j.key} true -s ${cfg.stack} && pulumi up -s ${cfg.stack}`));
            continue;
        }
        try {
            const newest = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stateMachineArn(cfg, machine), maxResults: 1 }))).executions?.[0];
            const every = rateHours(j.schedule);
            if (!newest?.startDate) {
                rows.push(row(name, "fail", `${j.what}: no execution yet (${j.schedule})`, `aws events describe-rule --name ${machine} --region ${cfg.region}; start one by hand to test it`));
                continue;
            }
            const hours = hoursBetween(newest.startDate, ctx.now);
            const detail = `${j.what}: last run ${hours} h ago, ${newest.status} (${j.schedule})`;
            if (every !== undefined && hours > 2 * every) rows.push(row(name, "fail", detail, `more than two intervals without a run: aws events describe-rule --name ${machine} --region ${cfg.region}`));
            else if (newest.status === "FAILED" || newest.status === "TIMED_OUT" || newest.status === "ABORTED") rows.push(row(name, "warn", detail, `read the alert, or: aws stepfunctions describe-execution --execution-arn ${newest.executionArn}`));
            else rows.push(row(name, "ok", detail));
        } catch (e) {
            rows.push(row(name, "fail", `${j.what}: ${errorName(e)}`, `deploy the primary stack (pulumi up -s ${cfg.stack})`));
        }
    }
    return rows;
}

/** Service-linked roles the failover would otherwise create through IAM (a global control plane) during the disaster. */
export const SERVICE_LINKED_ROLES: { role: string; service: string }[] = [
    { role: "AWSServiceRoleForAutoScaling", service: "autoscaling.amazonaws.com" },
    { role: "AWSServiceRoleForElasticLoadBalancing", service: "elasticloadbalancing.amazonaws.com" },
    { role: "AWSServiceRoleForElastiCache", service: "elasticache.amazonaws.com" },
    { role: "AWSServiceRoleForRDS", service: "rds.amazonaws.com" },
];

export async function checkServiceLinkedRoles(ctx: PreflightContext): Promise<CheckResult[]> {
    const iam = ctx.clients.iam();
    const rows: CheckResult[] = [];
    for (const r of SERVICE_LINKED_ROLES) {
        try {
            await iam.send(new GetRoleCommand({ RoleName: r.role }));
            rows.push(row(`service-linked role ${r.role}`, "ok", "exists"));
        } catch (e) {
            rows.push(
                errorName(e) === "NoSuchEntityException"
                    ? row(`service-linked role ${r.role}`, "fail", "missing: the failover would need IAM to create it", `aws iam create-service-linked-role --aws-service-name ${r.service}`)
                    : row(`service-linked role ${r.role}`, "fail", `iam:GetRole failed: ${errorName(e)}`, "grant iam:GetRole (docs/preflight.md) and run again"),
            );
        }
    }
    return rows;
}

/** The hosted zone, the PRIMARY record with its health check, and the SECONDARY as failover expects it. */
export async function checkDns(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    if (!cfg.dns) return [row("DNS", "skip", "no pilotlight:dns: DNS is not switched by pilotlight")];
    let credentials: Credentials | undefined;
    const viaRole = cfg.dns.roleArn ?? (cfg.role === "dr" && !isSameAccount(cfg) ? roleArn(cfg.peer.accountId, dnsFailoverRoleName(cfg.namePrefix), cfg.region) : undefined);
    const rows: CheckResult[] = [];
    if (viaRole) {
        try {
            const c = (await ctx.clients.sts(cfg.region).send(new AssumeRoleCommand({ RoleArn: viaRole, RoleSessionName: "pilotlight-preflight", DurationSeconds: 900 }))).Credentials;
            credentials = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken };
            rows.push(row("DNS role", "ok", `assumed ${viaRole}`));
        } catch (e) {
            return [row("DNS role", "fail", `cannot assume ${viaRole}: ${errorName(e)}`, `the failover could not write its SECONDARY record: deploy the primary stack (it creates the role) and allow sts:AssumeRole on it here`)];
        }
    }
    const r53 = ctx.clients.route53(credentials);
    const zoneId = cfg.dns.hostedZoneId;
    try {
        const zone = await r53.send(new GetHostedZoneCommand({ Id: zoneId }));
        rows.push(row("hosted zone", "ok", `${zoneId} (${zone.HostedZone?.Name})`));
    } catch (e) {
        return [...rows, row("hosted zone", "fail", `${zoneId}: ${errorName(e)}`, "set dns.hostedZoneId to the zone that serves dns.recordName")];
    }
    const fqdn = cfg.dns.recordName.replace(/\.?$/, ".");
    const sets = (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: fqdn, StartRecordType: "A", MaxItems: 10 }))).ResourceRecordSets ?? [];
    const own = sets.filter((s) => s.Name === fqdn && s.Type === "A");
    const primary = own.find((s) => s.Failover === "PRIMARY");
    const secondary = own.find((s) => s.Failover === "SECONDARY");
    if (!primary) rows.push(row("PRIMARY record", cfg.role === "primary" ? "fail" : "warn", `no PRIMARY A record for ${fqdn}`, `deploy the primary stack: pulumi up -s ${cfg.role === "primary" ? cfg.stack : cfg.peer.stack}`));
    else if (!primary.HealthCheckId) rows.push(row("PRIMARY record", "fail", `PRIMARY ${fqdn} has no health check: DNS cannot fail over`, `pulumi up -s ${cfg.role === "primary" ? cfg.stack : cfg.peer.stack}`));
    else rows.push(row("PRIMARY record", "ok", `${fqdn} -> ${primary.AliasTarget?.DNSName}, health check ${primary.HealthCheckId}`));
    if (cfg.role === "dr") {
        if (cfg.failover && !secondary) rows.push(row("SECONDARY record", "fail", `failed over, but no SECONDARY record for ${fqdn}`, `pulumi up -s ${cfg.stack} (the record is part of the failover)`));
        else if (!cfg.failover && secondary) rows.push(row("SECONDARY record", "warn", `a SECONDARY record exists while not failed over`, "remove it, or check that no other tool manages this record"));
        else rows.push(row("SECONDARY record", "ok", cfg.failover ? `${fqdn} -> ${secondary!.AliasTarget?.DNSName}` : "absent until failover, as expected"));
    }
    return rows;
}

/** The Pulumi state and the secrets provider must outlive the primary region. */
export async function checkPulumiBackend(ctx: PreflightContext): Promise<CheckResult[]> {
    const home = primaryRegion(ctx.cfg);
    const rows: CheckResult[] = [];
    const url = ctx.backendUrl;
    if (!url) rows.push(row("state backend", "warn", "no backend found (PULUMI_BACKEND_URL, Pulumi.yaml backend.url, pulumi login)", "pulumi login, then run again"));
    else {
        const b = parseBackend(url);
        if (b.kind === "cloud") rows.push(row("state backend", "ok", `${url} (Pulumi Cloud, outside your AWS regions)`));
        else if (b.kind === "file") rows.push(row("state backend", "warn", `${url}: the state lives on this machine`, "use a backend another operator can reach, e.g. pulumi login s3://<bucket>?region=<a region other than the primary>"));
        else if (b.kind === "other") rows.push(row("state backend", "ok", `${url} (not in AWS)`));
        else if (b.kind === "s3") {
            let region = b.region;
            if (!region) {
                try {
                    // Buckets in us-east-1 have a null LocationConstraint.
                    region = (await ctx.clients.s3(home).send(new GetBucketLocationCommand({ Bucket: b.bucket }))).LocationConstraint ?? "us-east-1";
                } catch (e) {
                    rows.push(row("state backend", "warn", `${url}: s3:GetBucketLocation failed (${errorName(e)})`, "add ?region=<region> to the backend URL, or grant s3:GetBucketLocation"));
                }
            }
            if (region === home) rows.push(row("state backend", "fail", `${url} is in ${region}, the primary region: an outage there locks out pulumi up -s ${ctx.cfg.role === "dr" ? ctx.cfg.stack : ctx.cfg.peer.stack}`, "move the state: pulumi stack export, pulumi login s3://<bucket in another region>, pulumi stack import (docs/deploying.md)"));
            else if (region) rows.push(row("state backend", "ok", `${url} in ${region}`));
        }
    }
    const provider = ctx.secretsProvider;
    if (provider) {
        const region = secretsProviderRegion(provider);
        if (region === home) rows.push(row("secrets provider", "fail", `${provider} is in ${region}, the primary region: the config could not be decrypted in an outage`, "pulumi stack change-secrets-provider with a key in another region (or a multi-Region key's replica)"));
        else if (provider.startsWith("awskms://") && !region) rows.push(row("secrets provider", "warn", `${provider}: region not stated`, "add ?region=<region> so it never depends on the environment"));
        else rows.push(row("secrets provider", "ok", `${provider}${region ? ` in ${region}` : ""}`));
    } else {
        rows.push(row("secrets provider", "ok", ctx.passphrase ? "passphrase (keep PULUMI_CONFIG_PASSPHRASE where an operator can reach it without the primary region)" : "the backend's default provider"));
    }
    return rows;
}

/** A resource of the deployed state by type and logical name. */
function stateResource(ctx: PreflightContext, type: string, name: string) {
    return ctx.state?.find((r) => r.type === type && r.urn.endsWith(`::${name}`));
}

/**
 * After an in-place restore the database behind the identifier is a new one: its resource id
 * differs from the state's, and a refresh would drop it from the state. Says how to re-adopt it.
 */
export async function checkDatabaseIdentity(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const name = "database in Pulumi state";
    if (cfg.role === "dr" && !cfg.failover) return [row(name, "skip", "a pilot light has no database")];
    if (cfg.role === "primary" && cfg.database.existing) return [row(name, "skip", `${cfg.database.existing} is an existing database (pilotlight:database.existing): not in this program's state`)];
    if (!ctx.state) return [row(name, "warn", `state not read: ${ctx.stateProblem ?? "unknown"}`, `pulumi stack export -s ${cfg.stack} > state.json, then npm run preflight -- --stack ${cfg.stack} --state state.json`)];
    const ident = databaseIdentifier(cfg.namePrefix);
    const rds = ctx.clients.rds(cfg.region);
    try {
        if (isAuroraEngine(cfg.database.engine)) {
            const inState = stateResource(ctx, "aws:rds/cluster:Cluster", "database-cluster");
            if (!inState) return [row(name, "warn", "no database-cluster in the state", `pulumi up -s ${cfg.stack}`)];
            const live = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: ident }))).DBClusters?.[0];
            const stateId = inState.outputs?.clusterResourceId;
            if (live?.DbClusterResourceId === stateId) return [row(name, "ok", `${ident} is ${stateId}, as in the state`)];
            // The provider tracks clusters by identifier: a refresh picks up the restored one.
            return [row(name, "warn", `${ident} is ${live?.DbClusterResourceId}, the state has ${stateId} (restored in place)`, `pulumi refresh -s ${cfg.stack}`)];
        }
        const inState = stateResource(ctx, "aws:rds/instance:Instance", "database-instance");
        if (!inState) return [row(name, "warn", "no database-instance in the state", `pulumi up -s ${cfg.stack}`)];
        const live = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ident }))).DBInstances?.[0];
        const stateId = (inState.outputs?.resourceId as string | undefined) ?? inState.id;
        if (live?.DbiResourceId === stateId) return [row(name, "ok", `${ident} is ${stateId}, as in the state`)];
        // The provider tracks instances by resource id: a refresh would drop it and the next up recreate it.
        const parent = inState.parent ? ` --parent 'database=${inState.parent}'` : "";
        return [
            row(
                name,
                "fail",
                `${ident} is ${live?.DbiResourceId}, the state has ${stateId} (restored in place); a pulumi refresh or up would lose track of it`,
                `pulumi state delete --force -s ${cfg.stack} '${inState.urn}' && pulumi import -s ${cfg.stack} aws:rds/instance:Instance database-instance ${ident}${parent} && pulumi up -s ${cfg.stack}`,
            ),
        ];
    } catch (e) {
        return [row(name, "fail", `${ident}: ${errorName(e)}`, "the state names a database that cannot be read; see docs/troubleshooting.md")];
    }
}

/** A bucket exists: 200 (ours to read) or 403 (someone else's to read) from HeadBucket, not 404. */
async function bucketExists(ctx: PreflightContext, bucket: string, region: string): Promise<boolean | string> {
    try {
        await ctx.clients.s3(region).send(new HeadBucketCommand({ Bucket: bucket }));
        return true;
    } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 403) return true;
        if (status === 404 || errorName(e) === "NotFound" || errorName(e) === "NoSuchBucket") return false;
        return errorName(e);
    }
}

/** The peer stack's resources this stack names by computed name. */
export async function checkPeer(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const peer = { prefix: cfg.namePrefix, accountId: cfg.peer.accountId, region: cfg.peer.region };
    const rows: CheckResult[] = [];
    const bucket = mediaBucketName(peer);
    // The primary replicates into dr's bucket always; dr into the primary's while failed over.
    const needsBucket = cfg.role === "primary" || (cfg.failover && cfg.media.replicateBack);
    if (needsBucket) {
        const exists = await bucketExists(ctx, bucket, cfg.peer.region);
        const severity = cfg.role === "primary" ? "fail" : "warn";
        if (exists === true) rows.push(row(`peer bucket ${bucket}`, "ok", "exists"));
        else if (exists === false) rows.push(row(`peer bucket ${bucket}`, severity, "missing: media replication into it fails", `deploy the peer stack: pulumi up -s ${cfg.peer.stack}`));
        else rows.push(row(`peer bucket ${bucket}`, "warn", `s3:HeadBucket failed: ${exists}`, "grant s3:ListBucket on it, or check by hand"));
    }
    if (cfg.role === "dr" && cfg.copy) {
        const topic = topicArn(peer, copyTopicName(cfg.namePrefix));
        const subs = [];
        let token: string | undefined;
        try {
            do {
                const page = await ctx.clients.sns(cfg.peer.region).send(new ListSubscriptionsCommand({ NextToken: token }));
                subs.push(...(page.Subscriptions ?? []).filter((s) => s.TopicArn === topic));
                token = page.NextToken;
            } while (token);
            const confirmed = subs.find((s) => s.SubscriptionArn && s.SubscriptionArn !== "PendingConfirmation");
            if (confirmed) rows.push(row("peer copy topic", "ok", `subscribed to ${topic}`));
            else rows.push(row("peer copy topic", "warn", `no confirmed subscription to ${topic}: shared snapshots are not copied`, `deploy both stacks (pulumi up -s ${cfg.peer.stack}, then -s ${cfg.stack})`));
        } catch (e) {
            rows.push(row("peer copy topic", "warn", `sns:ListSubscriptions failed: ${errorName(e)}`, "grant sns:ListSubscriptions (docs/preflight.md)"));
        }
    }
    if (rows.length === 0) rows.push(row("peer resources", "skip", "this configuration names none of the peer's resources outside DNS"));
    return rows;
}

/** The checks for a stack's role, in the order the table shows them. */
export function checksFor(role: "primary" | "dr"): ((ctx: PreflightContext) => Promise<CheckResult[]>)[] {
    return role === "dr"
        ? [checkPulumiBackend, checkAmi, checkCertificate, checkRecoveryPoint, checkServiceLinkedRoles, checkDns, checkDatabaseIdentity, checkPeer]
        : [checkPulumiBackend, checkSchedules, checkDns, checkDatabaseIdentity, checkPeer];
}

/** Runs the identity check, then (if it passes) the role's checks; a check that throws becomes a failed row. */
export async function runChecks(ctx: PreflightContext): Promise<CheckResult[]> {
    const identity = await checkIdentity(ctx);
    if (identity.some((r) => r.status === "fail")) return identity;
    const rows = [...identity];
    for (const check of checksFor(ctx.cfg.role)) {
        try {
            rows.push(...(await check(ctx)));
        } catch (e) {
            rows.push(row(check.name.replace(/^check/, ""), "fail", `could not check: ${errorName(e)}: ${(e as Error).message ?? ""}`, "see docs/preflight.md for the permissions it needs"));
        }
    }
    return rows;
}
