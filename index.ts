// pilotlight: one program, one stack per region/account. This file composes the
// components for the stack's role (see Pulumi.<stack>.yaml) and exports what the
// peer stack and the operators need.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isSameAccount, loadConfig } from "./config";
import {
    accountRoot,
    aliasArn,
    bucketArn,
    drKeyAlias,
    keysInRegion,
    mediaBucketName,
    NameScope,
    replicationRoleName,
    roleArn,
    sharedKeyAlias,
} from "./components/naming";
import { Alerts, parseWebhookList } from "./components/alerts";
import { Network } from "./components/network";
import { RestoreMachine } from "./components/restoreMachine";
import { ReplicatedBucket } from "./components/replicatedBucket";
import { SharedKey } from "./components/sharedKey";

const cfg = loadConfig();
const primary = cfg.role === "primary";
const tags: Record<string, string> = { ...cfg.tags, "pilotlight:stack": cfg.stack, "pilotlight:role": cfg.role };
const own: NameScope = { prefix: cfg.namePrefix, accountId: cfg.accountId, region: cfg.region };
const peer: NameScope = { prefix: cfg.namePrefix, accountId: cfg.peer.accountId, region: cfg.peer.region };

// NAT: always on the primary; on dr only while failed over. Additive either way.
const network = new Network("network", {
    vpcCidr: cfg.network.vpcCidr,
    availabilityZones: cfg.network.availabilityZones,
    nat: primary || cfg.failover,
    natGateways: cfg.network.natGateways,
    databasePort: cfg.database.port,
    appPort: cfg.network.appPort,
    lambdasInVpc: cfg.network.lambdasInVpc,
    region: cfg.region,
    namePrefix: cfg.namePrefix,
    tags,
});

// The primary also manages resources in the DR region of its own account (the key replica).
const drRegion = primary
    ? new aws.Provider("dr-region", { region: cfg.peer.region as aws.Region, allowedAccountIds: [cfg.accountId] })
    : undefined;

const key = primary
    ? new SharedKey("shared", {
          role: "primary",
          alias: sharedKeyAlias(cfg.namePrefix),
          accountId: cfg.accountId,
          region: cfg.region,
          peerAccountId: cfg.peer.accountId,
          peerRegion: cfg.peer.region,
          replicaProvider: drRegion,
          tags,
      })
    : new SharedKey("dr", {
          role: "dr",
          alias: drKeyAlias(cfg.namePrefix),
          accountId: cfg.accountId,
          region: cfg.region,
          peerAccountId: cfg.peer.accountId,
          peerRegion: cfg.peer.region,
          replicationRoleArn: roleArn(peer.accountId, replicationRoleName(peer), cfg.region),
          tags,
      });

const replicaName = mediaBucketName(peer);
const media = primary
    ? new ReplicatedBucket("media", {
          role: "primary",
          bucketName: mediaBucketName(own),
          accountId: cfg.accountId,
          region: cfg.region,
          kmsKeyArn: key.keyArn,
          replicationRoleName: replicationRoleName(own),
          replicationTimeControl: cfg.media.replicationTimeControl,
          noncurrentVersionDays: cfg.media.noncurrentVersionDays,
          replicateTo: {
              bucketName: replicaName,
              bucketArn: bucketArn(replicaName, peer.region),
              accountId: peer.accountId,
              region: peer.region,
              keyAlias: drKeyAlias(cfg.namePrefix),
              keyAliasArn: aliasArn(peer, drKeyAlias(cfg.namePrefix)),
              keysPattern: keysInRegion(peer),
          },
          tags,
      })
    : new ReplicatedBucket("media", {
          role: "dr",
          bucketName: mediaBucketName(own),
          accountId: cfg.accountId,
          region: cfg.region,
          kmsKeyArn: key.keyArn,
          replicationRoleArn: roleArn(peer.accountId, replicationRoleName(peer), cfg.region),
          sourceAccountRoot: accountRoot(peer.accountId, cfg.region),
          noncurrentVersionDays: cfg.media.noncurrentVersionDays,
          tags,
      });

// Alerts every machine shares. Slack webhooks come only from a Pulumi secret
// (pulumi config set --secret slackWebhookUrls '["https://hooks.slack.com/..."]').
const slackWebhooks = new pulumi.Config().getSecret("slackWebhookUrls");
const alerts = new Alerts("alerts", {
    namePrefix: cfg.namePrefix,
    accountId: cfg.accountId,
    region: cfg.region,
    kmsKeyArn: key.keyArn,
    emailSender: cfg.alerts.emailSender,
    emailRecipients: cfg.alerts.emailRecipients,
    slackWebhookUrls: slackWebhooks?.apply(parseWebhookList),
    tags,
});

// Restore machine (primary): refresh a database in place from a snapshot, with rollback.
const restore =
    primary && cfg.restore
        ? new RestoreMachine("restore", {
              namePrefix: cfg.namePrefix,
              accountId: cfg.accountId,
              region: cfg.region,
              databases: cfg.restore.databases,
              alertFunctionArn: alerts.functionArn,
              pollIntervalSeconds: cfg.restore.pollIntervalSeconds,
              maxAttempts: cfg.restore.maxAttempts,
              keepSnapshots: cfg.restore.keepSnapshots,
              notifyOnSuccess: cfg.restore.notifyOnSuccess,
              export: cfg.restore.exportPrefix ? { bucketName: media.bucketName, kmsKeyArn: key.keyArn, prefix: cfg.restore.exportPrefix } : undefined,
              schedules: cfg.restore.schedules,
              tags,
          })
        : undefined;

export const role = cfg.role;
export const sameAccount = isSameAccount(cfg);
export const vpcId = network.vpcId;
export const publicSubnetIds = network.publicSubnetIds;
export const appSubnetIds = network.appSubnetIds;
export const dbSubnetIds = network.dbSubnetIds;
export const dbSubnetGroupName = network.dbSubnetGroup.name;
export const cacheSubnetGroupName = network.cacheSubnetGroup.name;
export const keyArn = key.keyArn;
export const replicaKeyArn = key.replicaKeyArn;
export const mediaBucket = media.bucketName;
export const mediaReplicaBucket = primary ? replicaName : undefined;
export const alertTopicArn = alerts.topicArn;
export const restoreMachineArn = restore?.stateMachineArn;
