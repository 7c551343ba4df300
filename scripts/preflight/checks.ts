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
import { GetHealthCheckCommand, GetHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from "@aws-sdk/client-route-53";
import { GetBucketLocationCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { ListSubscriptionsCommand } from "@aws-sdk/client-sns";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { isAuroraEngine, isSameAccount } from "../../config";
import { baseImageParameter, isArm64InstanceType } from "../../components/appTier";
import { holdAlarmName } from "../../components/failoverDns";
import { copyTopicName, databaseIdentifier, dnsFailoverRoleName, jobName, mediaBucketName, roleArn, stateMachineArn, topicArn } from "../../components/naming";
import { selectLatestCopy } from "../../functions/lib/backup";
import { IMAGE_NAME_PREFIX } from "../../functions/lib/images";
import { clusterSnapshotTime, instanceSnapshotTime, latestCopyPick } from "../../functions/lib/readiness";
import { SOURCE_TAG } from "../../functions/lib/tags";
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

/** `aws ec2 copy-image` of `image` into this account and region: an image of its own that no other account's retention can deregister. */
function copyImageCommand(imageId: string, region: string): string {
    return `aws ec2 copy-image --source-image-id ${imageId} --source-region ${region} --region ${region} --name pilotlight-app-<date> --encrypted`;
}

/**
 * The AMI the app tier launches. With `app.amiId`: that image exists, is available, fits the
 * instance type's architecture, and belongs to this account. Without it the program launches the
 * Amazon Linux 2023 base image (`baseImageParameter`), which has no app: a failover would bring up
 * instances that serve nothing, so that is a failure, never OK; the row names the backup images
 * there are to set `app.amiId` to.
 */
export async function checkAmi(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const ec2 = ctx.clients.ec2(cfg.region);
    const name = "AMI for the app tier";
    if (!cfg.app.enabled) return [row(name, "skip", NO_APP_TIER)];
    const setAmi = `pulumi config set --path app.amiId <ami-id> -s ${cfg.stack}`;
    if (cfg.app.amiId) {
        const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [cfg.app.amiId] })).catch((e) => ({ error: errorName(e) }) as const);
        const image = "error" in out ? undefined : out.Images?.[0];
        if (!image) return [row(name, "fail", `app.amiId ${cfg.app.amiId} not found in ${cfg.region} for account ${cfg.accountId}${"error" in out ? ` (${out.error})` : ""}`, `copy the image into ${cfg.region} of this account, or set app.amiId to one that exists (${RUNBOOK})`)];
        if (image.State !== "available") return [row(name, "fail", `app.amiId ${cfg.app.amiId} is ${image.State}`, "wait until it is available, or set app.amiId to an available image")];
        const arch = isArm64InstanceType(cfg.app.instanceType) ? "arm64" : "x86_64";
        if (image.Architecture && image.Architecture !== arch) {
            return [row(name, "fail", `app.amiId ${cfg.app.amiId} is ${image.Architecture}, app.instanceType ${cfg.app.instanceType} needs ${arch}`, `set app.amiId to an ${arch} image, or app.instanceType to an ${image.Architecture} type`)];
        }
        const what = `app.amiId ${cfg.app.amiId} (${image.Name ?? "unnamed"}) is available`;
        // A shared image stays its owner's: the primary's image backup retention deregisters older copies.
        if (image.OwnerId && image.OwnerId !== cfg.accountId) {
            return [row(name, "warn", `${what}, but owned by account ${image.OwnerId}, which can deregister it (the image backup retention keeps only the newest copies)`, `${copyImageCommand(cfg.app.amiId, cfg.region)}, then ${setAmi}`)];
        }
        return [row(name, "ok", what)];
    }
    const base = `no app.amiId: a failover would boot the Amazon Linux 2023 base image (${baseImageParameter(cfg.app.instanceType)}), which has no app installed`;
    // Backup images in this region that this account owns or the primary's account shared with it (by name: tags do not cross accounts).
    const owners = isSameAccount(cfg) ? ["self"] : ["self", cfg.peer.accountId];
    let images: Image[];
    try {
        images = (await ec2.send(new DescribeImagesCommand({ Owners: owners, Filters: [{ Name: "name", Values: [`${IMAGE_NAME_PREFIX}*`] }, { Name: "state", Values: ["available"] }] }))).Images ?? [];
    } catch (e) {
        return [row(name, "fail", `${base}; could not list backup images: ${errorName(e)}`, `${setAmi} (an image with the app installed, in ${cfg.region} of this account; ${RUNBOOK})`)];
    }
    const newest = [...images].sort((a: Image, b: Image) => (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""));
    if (newest.length === 0) {
        return [row(name, "fail", `${base}; no backup image in ${cfg.region} either`, `build an image with the app installed (or run the primary's image backup), copy it into ${cfg.region} of this account, then ${setAmi} (${RUNBOOK})`)];
    }
    const listed = newest
        .slice(0, 3)
        .map((i, n) => (n === 0 ? `${i.ImageId} (${i.Name}, account ${i.OwnerId})` : i.ImageId))
        .join(", ");
    return [row(name, "fail", `${base}; backup images in ${cfg.region}: ${listed}${newest.length > 3 ? `, ... (${newest.length})` : ""}`, `${copyImageCommand(newest[0].ImageId!, cfg.region)}, then ${setAmi} with the copy's id`)];
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

/** Every page of a DescribeDBSnapshots / DescribeDBClusterSnapshots query. */
async function allPages<T>(fetch: (marker: string | undefined) => Promise<{ items?: T[]; Marker?: string }>): Promise<T[]> {
    const out: T[] = [];
    let marker: string | undefined;
    do {
        const page = await fetch(marker);
        out.push(...(page.items ?? []));
        marker = page.Marker;
    } while (marker);
    return out;
}

/**
 * The point the dr stack's database would be restored from, found the way the program finds it
 * (components/database.ts), and the age of its data. `latestCopy` with the primary in another
 * account restores only snapshots that account shared into this region (never this account's
 * own), chosen by `selectLatestCopy`; in one account, an instance's newest available copy the
 * backups made (`latestCopyPick`), an Aurora cluster's newest manual snapshot tagged with the
 * source, by the provider's `mostRecent` (the snapshot's own creation time). The age is always the
 * data's: a copy's SnapshotCreateTime is the copy's, OriginalSnapshotCreateTime the data's.
 */
export async function checkRecoveryPoint(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const name = "newest recovery point";
    const fd = cfg.failoverDatabase;
    if (!fd) return [row(name, "fail", "no pilotlight:failoverDatabase: failover has no database source", "set pilotlight:failoverDatabase.source (docs/configuration.md)")];
    const rds = ctx.clients.rds(cfg.region);
    const aurora = isAuroraEngine(cfg.database.engine);
    // As index.ts: two accounts -> the primary's account shares the snapshots `latestCopy` restores.
    const sharedBy = isSameAccount(cfg) ? undefined : cfg.peer.accountId;
    const stale = `older than ${ctx.maxAgeHours} h: check that the backups or copies run (prod: npm run preflight -- --stack ${cfg.peer.stack})`;
    // `timeIs` says what the time is: the data's, except for an adopted instance (its creation; its data is older).
    const aged = (what: string, dataTime: Date | undefined, status: string | undefined, timeIs = "data as of"): CheckResult => {
        if (status !== "available") return row(name, "fail", `${what} is ${status ?? "unknown"}`, "wait until it is available, or point failoverDatabase at another (source: snapshot, snapshotIdentifier)");
        if (!dataTime) return row(name, "warn", `${what}: no creation time`, "");
        const hours = hoursBetween(dataTime, ctx.now);
        const detail = `${what}, ${hours} h old (${timeIs} ${dataTime.toISOString()})`;
        return hours > ctx.maxAgeHours ? row(name, "warn", detail, stale) : row(name, "ok", detail);
    };
    const instanceSnapshots = (input: { DBInstanceIdentifier?: string; DBSnapshotIdentifier?: string; SnapshotType?: string; IncludeShared?: boolean }) =>
        allPages(async (Marker) => {
            const page = await rds.send(new DescribeDBSnapshotsCommand({ ...input, Marker }));
            return { items: page.DBSnapshots, Marker: page.Marker };
        });
    const clusterSnapshots = (input: { DBClusterIdentifier?: string; DBClusterSnapshotIdentifier?: string; SnapshotType?: string; IncludeShared?: boolean }) =>
        allPages(async (Marker) => {
            const page = await rds.send(new DescribeDBClusterSnapshotsCommand({ ...input, Marker }));
            return { items: page.DBClusterSnapshots, Marker: page.Marker };
        });
    const byCreateTime = <T extends { SnapshotCreateTime?: Date }>(a: T, b: T) => (b.SnapshotCreateTime?.getTime() ?? 0) - (a.SnapshotCreateTime?.getTime() ?? 0);
    try {
        if (fd.source === "latestCopy" && sharedBy) {
            const want = { sourceIdentifier: fd.sourceIdentifier, owner: sharedBy, region: cfg.region };
            const label = (arn: string) => `latestCopy -> ${arn} (shared by account ${sharedBy})`;
            const prodChecks = `the primary's backups copy into ${cfg.region} and share with this account: npm run preflight -- --stack ${cfg.peer.stack}`;
            if (aurora) {
                // The program asks for the most recent shared cluster snapshot of the source (provider `mostRecent`), then requires it to be usable.
                const newest = (await clusterSnapshots({ DBClusterIdentifier: fd.sourceIdentifier, SnapshotType: "shared", IncludeShared: true })).sort(byCreateTime)[0];
                if (!newest) return [row(name, "fail", `no cluster snapshot of ${fd.sourceIdentifier} shared with this account in ${cfg.region}: a failover would stop at the database`, prodChecks)];
                const arn = newest.DBClusterSnapshotArn ?? newest.DBClusterSnapshotIdentifier ?? "";
                try {
                    selectLatestCopy([{ identifier: arn, arn, databaseIdentifier: newest.DBClusterIdentifier ?? "", status: newest.Status ?? "", takenAt: newest.SnapshotCreateTime?.toISOString() ?? "" }], want);
                } catch {
                    return [
                        row(
                            name,
                            "fail",
                            `the newest shared cluster snapshot ${arn} is ${newest.Status}${newest.DBClusterSnapshotArn?.split(":")[4] === sharedBy ? "" : `, not owned by account ${sharedBy}`}: the failover restores only the newest one, and would stop`,
                            `wait until it is available; or ${prodChecks}; or set failoverDatabase.source to snapshot with its snapshotIdentifier`,
                        ),
                    ];
                }
                return [aged(label(arn), clusterSnapshotTime(newest), newest.Status)];
            }
            const shared = await instanceSnapshots({ SnapshotType: "shared", IncludeShared: true });
            const candidates = shared.map((x) => ({ identifier: x.DBSnapshotIdentifier ?? "", arn: x.DBSnapshotArn ?? "", databaseIdentifier: x.DBInstanceIdentifier ?? "", status: x.Status ?? "", takenAt: instanceSnapshotTime(x)?.toISOString() ?? "" }));
            let chosen;
            try {
                chosen = selectLatestCopy(candidates, want);
            } catch {
                return [row(name, "fail", `no available snapshot of ${fd.sourceIdentifier} shared by account ${sharedBy} in ${cfg.region} (${shared.length} shared snapshot(s) seen)`, `a failover would stop at the database: ${prodChecks}`)];
            }
            return [aged(label(chosen.arn), new Date(chosen.takenAt), chosen.status)];
        }
        if (fd.source === "latestCopy" && !aurora) {
            // One account, instance: the failover's own pick (the newest available copy the backups made).
            const pick = await latestCopyPick(rds, { database: fd.sourceIdentifier, isCluster: false }, cfg.region);
            if (!pick.point) {
                return [row(name, "fail", `${pick.why}: a failover would stop at the database`, `check that the backups copy ${fd.sourceIdentifier} into ${cfg.region} (prod: npm run preflight -- --stack ${cfg.peer.stack}); or set failoverDatabase.source to snapshot with a snapshotIdentifier`)];
            }
            return [aged(`latestCopy -> ${pick.point.ref}`, pick.point.time, "available")];
        }
        if (fd.source === "latestCopy" || fd.source === "snapshot") {
            const snaps: (DBSnapshot | DBClusterSnapshot)[] = aurora
                ? await clusterSnapshots(fd.source === "snapshot" ? { DBClusterSnapshotIdentifier: fd.snapshotIdentifier } : { DBClusterIdentifier: fd.sourceIdentifier, SnapshotType: "manual" })
                : await instanceSnapshots(fd.source === "snapshot" ? { DBSnapshotIdentifier: fd.snapshotIdentifier } : { DBInstanceIdentifier: fd.sourceIdentifier, SnapshotType: "manual" });
            // latestCopy filters like the program's lookup: manual snapshots of the source tagged with it, the most recent by creation time.
            const candidates = fd.source === "snapshot" ? snaps : snaps.filter((s) => s.TagList?.some((t) => t.Key === SOURCE_TAG && t.Value === fd.sourceIdentifier));
            const newest = candidates.sort(byCreateTime)[0];
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
            const dataTime = aurora ? clusterSnapshotTime(newest as DBClusterSnapshot) : instanceSnapshotTime(newest as DBSnapshot);
            return [aged(`${fd.source} -> ${id}`, dataTime, newest.Status)];
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
        return [aged(`adopt -> ${pointer.identifier} (copy v${pointer.version ?? "?"})`, db?.InstanceCreateTime, db?.DBInstanceStatus, "restored")];
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

/**
 * The service gave no answer (a network error, a timeout, a 5xx): not a finding about what is there.
 * IAM's and Route 53's control planes are in us-east-1; on the dr stack, that is no reason to fail
 * the run, since the failover calls neither.
 */
function noAnswer(e: unknown): boolean {
    const { $fault, $metadata } = e as { $fault?: string; $metadata?: { httpStatusCode?: number } };
    const status = $metadata?.httpStatusCode;
    // A modelled client error (NoSuchEntity, AccessDenied, ...) or a 4xx is an answer.
    return !($fault === "client" || (status !== undefined && status < 500));
}
const NO_IAM_CALL = "its control plane is in us-east-1; the failover makes no IAM call";
const NO_ROUTE53_CALL = "its control plane is in us-east-1; the failover makes no Route 53 call (health checks decide, data plane)";

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
            if (ctx.cfg.role === "dr" && noAnswer(e)) {
                rows.push(row(`service-linked role ${r.role}`, "warn", `IAM did not answer (${errorName(e)}): ${NO_IAM_CALL}`, "check again once IAM answers"));
                continue;
            }
            rows.push(
                errorName(e) === "NoSuchEntityException"
                    ? row(`service-linked role ${r.role}`, "fail", "missing: the failover would need IAM to create it", `aws iam create-service-linked-role --aws-service-name ${r.service}`)
                    : row(`service-linked role ${r.role}`, "fail", `iam:GetRole failed: ${errorName(e)}`, "grant iam:GetRole (docs/preflight.md) and run again"),
            );
        }
    }
    return rows;
}

/** The region of a load balancer's DNS name (`[dualstack.]name-id.<region>.elb.amazonaws.com[.]`), or undefined. Exported for testing. */
export function loadBalancerRegion(dnsName: string | undefined): string | undefined {
    return /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.elb\.amazonaws\.com(?:\.cn)?\.?$/i.exec(dnsName ?? "")?.[1]?.toLowerCase();
}

/** A load balancer DNS name as Route 53 and ELB compare it: lower case, without `dualstack.` and the final dot. */
const lbName = (dnsName: string) => dnsName.toLowerCase().replace(/^dualstack\./, "").replace(/\.$/, "");

/** What the PRIMARY record's health check must be (components/failoverDns.ts), as one row. */
async function checkPrimaryHealth(ctx: PreflightContext, r53: Route53Client, id: string, viaRole: boolean): Promise<CheckResult> {
    const { cfg } = ctx;
    const name = "PRIMARY health check";
    const prod = cfg.role === "primary" ? cfg.stack : cfg.peer.stack;
    const drRegion = cfg.role === "dr" ? cfg.region : cfg.peer.region;
    const redeploy = `pulumi up -s ${prod} (before the disaster)`;
    // The role the primary makes for dr may read only the zone (peerRecordPolicy): the primary's preflight checks these.
    if (viaRole && cfg.role === "dr") return row(name, "skip", `the DNS role may read only the zone's records: npm run preflight -- --stack ${prod} checks the health checks`);
    const get = async (hcId: string) => (await r53.send(new GetHealthCheckCommand({ HealthCheckId: hcId }))).HealthCheck?.HealthCheckConfig;
    let calc;
    try {
        calc = await get(id);
    } catch (e) {
        if (errorName(e) === "AccessDenied" || errorName(e) === "AccessDeniedException") return row(name, "warn", `${id}: ${errorName(e)}`, "grant route53:GetHealthCheck (docs/preflight.md)");
        if (cfg.role === "dr" && noAnswer(e)) return row(name, "warn", `${id}: Route 53 did not answer (${errorName(e)}): ${NO_ROUTE53_CALL}`, "check again once Route 53 answers");
        return row(name, "fail", `${id}: ${errorName(e)}`, redeploy);
    }
    if (calc?.Type !== "CALCULATED") return row(name, "fail", `${id} is ${calc?.Type}, not CALCULATED (endpoint AND hold-on-dr): traffic could not be held on dr`, redeploy);
    const children = calc.ChildHealthChecks ?? [];
    const configs = await Promise.all(children.map(async (c) => ({ id: c, config: await get(c) })));
    const endpoint = configs.find((c) => c.config?.Type?.startsWith("HTTP"));
    const alarm = holdAlarmName(cfg.namePrefix);
    const hold = configs.find((c) => c.config?.Type === "CLOUDWATCH_METRIC" && c.config.AlarmIdentifier?.Name === alarm);
    if (!endpoint) return row(name, "fail", `${id} has no HTTP(S) child checking the primary's endpoint: DNS cannot fail over`, redeploy);
    if (!hold) return row(name, "fail", `${id} has no CLOUDWATCH_METRIC child on the hold-on-dr alarm ${alarm}: traffic could not be held on dr`, redeploy);
    const holdRegion = hold.config?.AlarmIdentifier?.Region;
    if (holdRegion !== drRegion) return row(name, "fail", `${hold.id} watches alarm ${alarm} in ${holdRegion}, not the DR region ${drRegion}: holding on dr would need the region that failed`, redeploy);
    if (hold.config?.InsufficientDataHealthStatus === "Unhealthy") return row(name, "fail", `${hold.id}: an alarm without data counts as unhealthy, so traffic is kept off prod until the alarm is fed`, redeploy);
    if ((calc.HealthThreshold ?? 0) < children.length) {
        return row(name, "fail", `${id} is healthy with ${calc.HealthThreshold ?? 0} of ${children.length} children healthy: the hold or the endpoint alone would keep traffic on prod`, redeploy);
    }
    const disabled = !!calc.Disabled;
    const inverted = !!calc.Inverted;
    if (disabled && !inverted) return row(name, "fail", `${id} is disabled but not inverted: Route 53 takes it as healthy and never fails over`, redeploy);
    if (inverted && !disabled) return row(name, "fail", `${id} is inverted but not disabled: healthy exactly while the app is down`, redeploy);
    const design = `${id}: ${endpoint.id} (${endpoint.config?.Type} ${endpoint.config?.ResourcePath ?? "/"}) AND ${hold.id} (alarm ${alarm} in ${holdRegion})`;
    // Without data the hold check keeps its last status (failoverDns.ts), so one data point holds until another releases it.
    if (hold.config?.InsufficientDataHealthStatus !== "LastKnownStatus") {
        return row(name, "warn", `${design}; ${hold.id} takes no data as ${hold.config?.InsufficientDataHealthStatus}, not LastKnownStatus: a hold on dr lapses once its data point ages out`, `pulumi up -s ${prod}`);
    }
    const held = disabled && inverted;
    if (cfg.role === "primary") {
        const want = !!cfg.dns?.holdOnDr;
        if (held && !want) return row(name, "warn", `${design}; held on dr, but dns.holdOnDr is false`, `the next pulumi up -s ${prod} releases it: set dns.holdOnDr to keep it`);
        if (!held && want) return row(name, "warn", `${design}; dns.holdOnDr is true but not deployed`, `pulumi up -s ${prod}`);
        return row(name, "ok", `${design}; ${held ? "held on dr (dns.holdOnDr)" : "not held on dr"}`);
    }
    if (held && !cfg.failover) return row(name, "warn", `${design}; held on dr while dr is a pilot light (failover false)`, `fail over (${RUNBOOK}), or release the hold on ${prod}`);
    return row(name, "ok", `${design}; ${held ? "held on dr" : "not held on dr"}`);
}

/**
 * The hosted zone, the PRIMARY record with its calculated health check, and the SECONDARY record
 * to the DR load balancer: both records and every health check exist before a disaster
 * (components/failoverDns.ts), so DNS fails over by health check alone.
 */
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
            return [row("DNS role", "fail", `cannot assume ${viaRole}: ${errorName(e)}`, `dr manages its SECONDARY record through this role: deploy the primary stack (it creates the role) and allow sts:AssumeRole on it here`)];
        }
    }
    const r53 = ctx.clients.route53(credentials);
    const zoneId = cfg.dns.hostedZoneId;
    try {
        const zone = await r53.send(new GetHostedZoneCommand({ Id: zoneId }));
        rows.push(row("hosted zone", "ok", `${zoneId} (${zone.HostedZone?.Name})`));
    } catch (e) {
        if (cfg.role === "dr" && noAnswer(e)) return [...rows, row("hosted zone", "warn", `${zoneId}: Route 53 did not answer (${errorName(e)}): ${NO_ROUTE53_CALL}`, "check again once Route 53 answers")];
        return [...rows, row("hosted zone", "fail", `${zoneId}: ${errorName(e)}`, "set dns.hostedZoneId to the zone that serves dns.recordName")];
    }
    const prod = cfg.role === "primary" ? cfg.stack : cfg.peer.stack;
    const dr = cfg.role === "dr" ? cfg.stack : cfg.peer.stack;
    const drRegion = cfg.role === "dr" ? cfg.region : cfg.peer.region;
    const fqdn = cfg.dns.recordName.replace(/\.?$/, ".");
    let sets;
    try {
        sets = (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: fqdn, StartRecordType: "A", MaxItems: 10 }))).ResourceRecordSets ?? [];
    } catch (e) {
        if (cfg.role === "dr" && noAnswer(e)) return [...rows, row("DNS records", "warn", `Route 53 did not answer (${errorName(e)}): ${NO_ROUTE53_CALL}`, "check again once Route 53 answers")];
        throw e;
    }
    const own = sets.filter((s) => s.Name === fqdn && s.Type === "A");
    const primary = own.find((s) => s.Failover === "PRIMARY");
    const secondary = own.find((s) => s.Failover === "SECONDARY");
    if (!primary) rows.push(row("PRIMARY record", cfg.role === "primary" ? "fail" : "warn", `no PRIMARY A record for ${fqdn}`, `deploy the primary stack: pulumi up -s ${prod}`));
    else if (!primary.HealthCheckId) rows.push(row("PRIMARY record", "fail", `PRIMARY ${fqdn} has no health check: DNS cannot fail over`, `pulumi up -s ${prod}`));
    else {
        rows.push(row("PRIMARY record", "ok", `${fqdn} -> ${primary.AliasTarget?.DNSName}, health check ${primary.HealthCheckId}`));
        rows.push(await checkPrimaryHealth(ctx, r53, primary.HealthCheckId, !!viaRole));
    }
    // The SECONDARY exists in the pilot light, aliased to the DR load balancer (which failover gives targets).
    const redeployDr = `pulumi up -s ${dr} (before the disaster: the record is part of the pilot light)`;
    const target = secondary?.AliasTarget?.DNSName;
    // On dr, the state names the very load balancer; elsewhere any load balancer in the DR region will do.
    const stateLb = cfg.role === "dr" ? (stateResource(ctx, "aws:lb/loadBalancer:LoadBalancer", "app-alb")?.outputs?.dnsName as string | undefined) : undefined;
    if (!secondary) rows.push(row("SECONDARY record", "fail", `no SECONDARY A record for ${fqdn}: Route 53 has nothing to fail over to`, redeployDr));
    else if (!target || loadBalancerRegion(target) !== drRegion) rows.push(row("SECONDARY record", "fail", `SECONDARY ${fqdn} -> ${target ?? "no alias"}: not a load balancer in ${drRegion}`, redeployDr));
    else if (stateLb && lbName(stateLb) !== lbName(target)) rows.push(row("SECONDARY record", "fail", `SECONDARY ${fqdn} -> ${target}: not the DR load balancer app-alb (${stateLb})`, redeployDr));
    else rows.push(row("SECONDARY record", "ok", `${fqdn} -> ${target} (${stateLb ? "the DR load balancer app-alb" : `a load balancer in ${drRegion}`})`));
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
                    // Buckets in us-east-1 have a null LocationConstraint. Asked in the DR region, which must answer in an
                    // outage of the primary ("In other Regions, the bucket policy doesn't apply": fine for our own bucket).
                    region = (await ctx.clients.s3(ctx.cfg.role === "dr" ? ctx.cfg.region : ctx.cfg.peer.region).send(new GetBucketLocationCommand({ Bucket: b.bucket }))).LocationConstraint ?? "us-east-1";
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

/**
 * A bucket exists: 200 (ours to read) or 403 (someone else's to read) from HeadBucket, not 404.
 * With `timeoutMs`, a call that has not answered by then is abandoned (aborted) and reported.
 */
async function bucketExists(ctx: PreflightContext, bucket: string, region: string, timeoutMs?: number): Promise<boolean | string> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const call = ctx.clients.s3(region).send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: abort.signal });
    const timeout =
        timeoutMs === undefined
            ? undefined
            : new Promise<"timeout">((resolve) => {
                  timer = setTimeout(() => resolve("timeout"), timeoutMs);
              });
    try {
        if ((await (timeout ? Promise.race([call, timeout]) : call)) === "timeout") {
            abort.abort();
            call.catch(() => undefined);
            return `no answer from ${region} within ${timeoutMs! / 1000} s`;
        }
        return true;
    } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 403) return true;
        if (status === 404 || errorName(e) === "NotFound" || errorName(e) === "NoSuchBucket") return false;
        return `s3:HeadBucket failed: ${errorName(e)}`;
    } finally {
        clearTimeout(timer);
    }
}

/**
 * The peer stack's resources this stack names by computed name. On dr nothing here may need the
 * primary region: the copy topic is the primary's, but in the DR region; the one call into the
 * primary region (its media bucket, for replicating back while failed over) is bounded in time and
 * never fails the run.
 */
export async function checkPeer(ctx: PreflightContext): Promise<CheckResult[]> {
    const { cfg } = ctx;
    const peer = { prefix: cfg.namePrefix, accountId: cfg.peer.accountId, region: cfg.peer.region };
    const rows: CheckResult[] = [];
    const bucket = mediaBucketName(peer);
    // The primary replicates into dr's bucket always; dr into the primary's while failed over.
    const needsBucket = cfg.role === "primary" || (cfg.failover && cfg.media.replicateBack);
    if (needsBucket) {
        const name = `peer bucket ${bucket}`;
        if (cfg.role === "primary") {
            const exists = await bucketExists(ctx, bucket, cfg.peer.region);
            if (exists === true) rows.push(row(name, "ok", "exists"));
            else if (exists === false) rows.push(row(name, "fail", "missing: media replication into it fails", `deploy the peer stack: pulumi up -s ${cfg.peer.stack}`));
            else rows.push(row(name, "warn", exists, "grant s3:ListBucket on it, or check by hand"));
        } else {
            const exists = await bucketExists(ctx, bucket, cfg.peer.region, ctx.primaryRegionTimeoutMs ?? 10_000);
            const where = `in the primary region ${cfg.peer.region}; not needed for the failover, only for replicating media back`;
            if (exists === true) rows.push(row(name, "ok", `exists (${where})`));
            else if (exists === false) rows.push(row(name, "warn", `missing (${where})`, `before failing back: pulumi up -s ${cfg.peer.stack}`));
            else rows.push(row(name, "warn", `${exists} (${where})`, "check again once the primary region answers"));
        }
    }
    if (cfg.role === "dr" && cfg.copy) {
        // The primary's copy source announces in the DR region (components/copyMachine.ts); dr subscribes there.
        const topic = topicArn({ accountId: cfg.peer.accountId, region: cfg.region }, copyTopicName(cfg.namePrefix));
        const subs = [];
        let token: string | undefined;
        try {
            do {
                const page = await ctx.clients.sns(cfg.region).send(new ListSubscriptionsCommand({ NextToken: token }));
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
