// pilotlight: one program, one stack per region/account. This file composes the
// components for the stack's role (see Pulumi.<stack>.yaml) and exports what the
// peer stack and the operators need.
import * as aws from "@pulumi/aws";
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
import { Network } from "./components/network";
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
