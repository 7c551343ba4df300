// Protect a database another program (or the console) already runs, with three of pilotlight's
// components: alerts, the in-place restore machine, and scheduled snapshots copied to a DR region.
// Nothing here creates or modifies the database itself; the machines act on it only when run.
//
//   pulumi config set aws:region us-east-1
//   pulumi config set accountId 111111111111           # the account the database is in
//   pulumi config set database my-existing-db          # RDS instance identifier
//   pulumi config set drRegion us-west-2
//   pulumi config set sharedKeyArn <multi-Region KMS key ARN>    # snapshots are re-encrypted under it
//   pulumi config set drKeyArn <its replica's ARN in drRegion>
//   pulumi config set alertEmail oncall@example.com   # a verified SES identity
//   pulumi up
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts, BackupSchedule, RestoreMachine } from "pilotlight";

const config = new pulumi.Config();
const database = config.require("database");
const namePrefix = config.get("namePrefix") ?? "protect";
// Plain values, not lookups: the components compute names and least-privilege policies from them.
const region = aws.config.requireRegion();
const accountId = config.require("accountId");
const alertEmail = config.get("alertEmail");

const alerts = new Alerts("alerts", {
    namePrefix,
    accountId,
    region,
    emailSender: alertEmail,
    emailRecipients: alertEmail ? [alertEmail] : [],
});

const restore = new RestoreMachine("restore", {
    namePrefix,
    accountId,
    region,
    databases: [{ identifier: database, isCluster: false }],
    alertFunctionArn: alerts.functionArn,
});

const backups = new BackupSchedule("backup", {
    namePrefix,
    accountId,
    region,
    drRegion: config.require("drRegion"),
    databases: [{ identifier: database, isCluster: false }],
    sharedKeyArn: config.require("sharedKeyArn"),
    drKeyArn: config.require("drKeyArn"),
    alertFunctionArn: alerts.functionArn,
});

export const alertTopicArn = alerts.topicArn;
export const restoreMachineArn = restore.stateMachineArn;
export const backupMachineArn = backups.stateMachineArn;
