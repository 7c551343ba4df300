/**
 * The restore machine's job: what one execution will do, worked out and
 * checked before anything changes. Validation only ever reads (RDS
 * Describe/List, Step Functions List/Describe); it throws a typed error for
 * every bad request so the execution fails with zero mutating calls.
 */
// @ts-nocheck
function stryNS_9fa48() {
  var g = typeof globalThis === 'object' && globalThis && globalThis.Math === Math && globalThis || new Function("return this")();
  var ns = g.__stryker__ || (g.__stryker__ = {});
  if (ns.activeMutant === undefined && g.process && g.process.env && g.process.env.__STRYKER_ACTIVE_MUTANT__) {
    ns.activeMutant = g.process.env.__STRYKER_ACTIVE_MUTANT__;
  }
  function retrieveNS() {
    return ns;
  }
  stryNS_9fa48 = retrieveNS;
  return retrieveNS();
}
stryNS_9fa48();
function stryCov_9fa48() {
  var ns = stryNS_9fa48();
  var cov = ns.mutantCoverage || (ns.mutantCoverage = {
    static: {},
    perTest: {}
  });
  function cover() {
    var c = cov.static;
    if (ns.currentTestId) {
      c = cov.perTest[ns.currentTestId] = cov.perTest[ns.currentTestId] || {};
    }
    var a = arguments;
    for (var i = 0; i < a.length; i++) {
      c[a[i]] = (c[a[i]] || 0) + 1;
    }
  }
  stryCov_9fa48 = cover;
  cover.apply(null, arguments);
}
function stryMutAct_9fa48(id) {
  var ns = stryNS_9fa48();
  function isActive(id) {
    if (ns.activeMutant === id) {
      if (ns.hitCount !== void 0 && ++ns.hitCount > ns.hitLimit) {
        throw new Error('Stryker: Hit count limit reached (' + ns.hitCount + ')');
      }
      return true;
    }
    return false;
  }
  stryMutAct_9fa48 = isActive;
  return isActive(id);
}
import { RDSClient } from "@aws-sdk/client-rds";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { ConcurrentRunError, DatabaseNotFoundError, DatabaseNotReadyError, InvalidInputError, SnapshotMismatchError, SnapshotNotFoundError } from "./errors";
import { runningExecutionsOf } from "./executions";
import { identifierProblem, RunNames, runNames, snapshotIdentifierProblem } from "./naming";
import { clusterMembers, findCluster, findInstance, findSnapshot, listSnapshots, newestPilotlightSnapshot, tagsOf } from "./rds";
import { ClusterPlan, clusterRefusals, InstancePlan, instanceRefusals, planClusterRestore, planInstanceRestore, SnapshotFacts, versionProblem } from "./restorePlan";
export const TASKS = ["create_snapshot_only", "create_snapshot", "db_restore", "export_snapshot"] as const;
export type Task = (typeof TASKS)[number];

/** The execution input, as a user writes it. */
export interface RestoreRequest {
  identifier: string;
  task: Task;
  isCluster: boolean;
  /** db_restore / export_snapshot only: the snapshot to use instead of the newest pilotlight one. */
  snapshotIdentifier?: string;
}
const REQUEST_KEYS = new Set(stryMutAct_9fa48("0") ? [] : (stryCov_9fa48("0"), ["identifier", "task", "isCluster", "snapshotIdentifier"]));

/** Checks the shape of an execution input; no AWS calls. */
export function parseRequest(input: unknown): RestoreRequest {
  if (stryMutAct_9fa48("5")) {
    {}
  } else {
    stryCov_9fa48("5");
    if (stryMutAct_9fa48("8") ? (!input || typeof input !== "object") && Array.isArray(input) : stryMutAct_9fa48("7") ? false : stryMutAct_9fa48("6") ? true : (stryCov_9fa48("6", "7", "8"), (stryMutAct_9fa48("10") ? !input && typeof input !== "object" : stryMutAct_9fa48("9") ? false : (stryCov_9fa48("9", "10"), (stryMutAct_9fa48("11") ? input : (stryCov_9fa48("11"), !input)) || (stryMutAct_9fa48("13") ? typeof input === "object" : stryMutAct_9fa48("12") ? false : (stryCov_9fa48("12", "13"), typeof input !== "object")))) || Array.isArray(input))) {
      if (stryMutAct_9fa48("15")) {
        {}
      } else {
        stryCov_9fa48("15");
        throw new InvalidInputError(`input must be a JSON object like {"identifier": "wordpress", "task": "db_restore", "isCluster": false}`);
      }
    }
    const o = input as Record<string, unknown>;
    const unknownKeys = stryMutAct_9fa48("17") ? Object.keys(o) : (stryCov_9fa48("17"), Object.keys(o).filter(stryMutAct_9fa48("18") ? () => undefined : (stryCov_9fa48("18"), k => stryMutAct_9fa48("19") ? REQUEST_KEYS.has(k) : (stryCov_9fa48("19"), !REQUEST_KEYS.has(k)))));
    if (stryMutAct_9fa48("23") ? unknownKeys.length <= 0 : stryMutAct_9fa48("22") ? unknownKeys.length >= 0 : stryMutAct_9fa48("21") ? false : stryMutAct_9fa48("20") ? true : (stryCov_9fa48("20", "21", "22", "23"), unknownKeys.length > 0)) {
      if (stryMutAct_9fa48("24")) {
        {}
      } else {
        stryCov_9fa48("24");
        throw new InvalidInputError(`unknown input field(s) ${unknownKeys.join(", ")}; allowed: ${(stryMutAct_9fa48("27") ? [] : (stryCov_9fa48("27"), [...REQUEST_KEYS])).join(", ")}`);
      }
    }
    if (stryMutAct_9fa48("31") ? typeof o.task !== "string" && !(TASKS as readonly string[]).includes(o.task) : stryMutAct_9fa48("30") ? false : stryMutAct_9fa48("29") ? true : (stryCov_9fa48("29", "30", "31"), (stryMutAct_9fa48("33") ? typeof o.task === "string" : stryMutAct_9fa48("32") ? false : (stryCov_9fa48("32", "33"), typeof o.task !== "string")) || (stryMutAct_9fa48("35") ? (TASKS as readonly string[]).includes(o.task) : (stryCov_9fa48("35"), !(TASKS as readonly string[]).includes(o.task))))) {
      if (stryMutAct_9fa48("36")) {
        {}
      } else {
        stryCov_9fa48("36");
        throw new InvalidInputError(`task must be one of ${TASKS.join(", ")}; got ${JSON.stringify(o.task)}`);
      }
    }
    if (stryMutAct_9fa48("41") ? typeof o.identifier !== "string" && o.identifier.length === 0 : stryMutAct_9fa48("40") ? false : stryMutAct_9fa48("39") ? true : (stryCov_9fa48("39", "40", "41"), (stryMutAct_9fa48("43") ? typeof o.identifier === "string" : stryMutAct_9fa48("42") ? false : (stryCov_9fa48("42", "43"), typeof o.identifier !== "string")) || (stryMutAct_9fa48("46") ? o.identifier.length !== 0 : stryMutAct_9fa48("45") ? false : (stryCov_9fa48("45", "46"), o.identifier.length === 0)))) {
      if (stryMutAct_9fa48("47")) {
        {}
      } else {
        stryCov_9fa48("47");
        throw new InvalidInputError(`identifier must be a non-empty string; got ${JSON.stringify(o.identifier)}`);
      }
    }
    const identifier = stryMutAct_9fa48("49") ? o.identifier.toUpperCase() : (stryCov_9fa48("49"), o.identifier.toLowerCase());
    const problem = identifierProblem(identifier);
    if (stryMutAct_9fa48("51") ? false : stryMutAct_9fa48("50") ? true : (stryCov_9fa48("50", "51"), problem)) throw new InvalidInputError(`identifier '${o.identifier}' ${problem}`);
    if (stryMutAct_9fa48("55") ? typeof o.isCluster === "boolean" : stryMutAct_9fa48("54") ? false : stryMutAct_9fa48("53") ? true : (stryCov_9fa48("53", "54", "55"), typeof o.isCluster !== "boolean")) {
      if (stryMutAct_9fa48("57")) {
        {}
      } else {
        stryCov_9fa48("57");
        throw new InvalidInputError(`isCluster must be true (Aurora cluster) or false (DB instance); got ${JSON.stringify(o.isCluster)}`);
      }
    }
    let snapshotIdentifier: string | undefined;
    if (stryMutAct_9fa48("61") ? o.snapshotIdentifier === undefined : stryMutAct_9fa48("60") ? false : stryMutAct_9fa48("59") ? true : (stryCov_9fa48("59", "60", "61"), o.snapshotIdentifier !== undefined)) {
      if (stryMutAct_9fa48("62")) {
        {}
      } else {
        stryCov_9fa48("62");
        if (stryMutAct_9fa48("65") ? o.task !== "db_restore" || o.task !== "export_snapshot" : stryMutAct_9fa48("64") ? false : stryMutAct_9fa48("63") ? true : (stryCov_9fa48("63", "64", "65"), (stryMutAct_9fa48("67") ? o.task === "db_restore" : stryMutAct_9fa48("66") ? true : (stryCov_9fa48("66", "67"), o.task !== "db_restore")) && (stryMutAct_9fa48("70") ? o.task === "export_snapshot" : stryMutAct_9fa48("69") ? true : (stryCov_9fa48("69", "70"), o.task !== "export_snapshot")))) {
          if (stryMutAct_9fa48("72")) {
            {}
          } else {
            stryCov_9fa48("72");
            throw new InvalidInputError(`snapshotIdentifier is only accepted with db_restore or export_snapshot, not ${o.task}`);
          }
        }
        if (stryMutAct_9fa48("76") ? typeof o.snapshotIdentifier === "string" : stryMutAct_9fa48("75") ? false : stryMutAct_9fa48("74") ? true : (stryCov_9fa48("74", "75", "76"), typeof o.snapshotIdentifier !== "string")) {
          if (stryMutAct_9fa48("78")) {
            {}
          } else {
            stryCov_9fa48("78");
            throw new InvalidInputError(`snapshotIdentifier must be a string; got ${JSON.stringify(o.snapshotIdentifier)}`);
          }
        }
        snapshotIdentifier = stryMutAct_9fa48("80") ? o.snapshotIdentifier.toUpperCase() : (stryCov_9fa48("80"), o.snapshotIdentifier.toLowerCase());
        const snapProblem = snapshotIdentifierProblem(snapshotIdentifier);
        if (stryMutAct_9fa48("82") ? false : stryMutAct_9fa48("81") ? true : (stryCov_9fa48("81", "82"), snapProblem)) throw new InvalidInputError(`snapshotIdentifier '${o.snapshotIdentifier}' ${snapProblem}`);
      }
    }
    return stryMutAct_9fa48("84") ? {} : (stryCov_9fa48("84"), {
      identifier,
      task: o.task as Task,
      isCluster: o.isCluster,
      snapshotIdentifier
    });
  }
}

/** The original database, remembered so rollback can tell it apart from a restore by resource id. */
export interface OriginalDatabase {
  /** DbiResourceId (instance) or DbClusterResourceId (cluster): survives renames, new on restore. */
  resourceId: string;
  /** Whether it had deletion protection: what the machine puts back on it if it keeps it. */
  deletionProtection?: boolean;
  members: {
    identifier: string;
    resourceId: string;
  }[];
}

/** Everything later steps need; travels through the machine as `$.job`. */
export interface RestoreJob {
  task: Task;
  identifier: string;
  isCluster: boolean;
  executionArn: string;
  startedAt: string;
  /** Snapshot to restore from or export: the given one, the newest pilotlight one, or the one create_snapshot takes. */
  snapshotIdentifier: string;
  names: RunNames;
  original: OriginalDatabase;
  /** Restore tasks only: the calls that bring the database back with all its settings. */
  plan: InstancePlan | ClusterPlan | null;
  /** Identifiers of the restored cluster's members (empty for instances). */
  restoredMembers: string[];
  /** Temporary identifiers of the renamed original's members (empty for instances). */
  oldMembers: string[];
}
export interface ValidateEvent {
  request: unknown;
  executionArn: string;
  stateMachineArn: string;
  startedAt: string;
}

/** Whether a managed identifier is an RDS instance or an Aurora cluster. */
export type DatabaseKind = "instance" | "cluster";

/** Renders the validate Lambda's MANAGED_KINDS variable: `<identifier>=instance|cluster`, comma-separated. */
export function formatManagedKinds(databases: {
  identifier: string;
  isCluster: boolean;
}[]): string {
  if (stryMutAct_9fa48("85")) {
    {}
  } else {
    stryCov_9fa48("85");
    return databases.map(stryMutAct_9fa48("86") ? () => undefined : (stryCov_9fa48("86"), d => `${d.identifier}=${d.isCluster ? "cluster" : "instance"}`)).join(",");
  }
}

/** Parses MANAGED_KINDS (see formatManagedKinds); a malformed entry is a deployment error. */
export function parseManagedKinds(raw: string | undefined): Record<string, DatabaseKind> {
  if (stryMutAct_9fa48("91")) {
    {}
  } else {
    stryCov_9fa48("91");
    const kinds: Record<string, DatabaseKind> = {};
    for (const entry of stryMutAct_9fa48("92") ? (raw ?? "").split(",").map(s => s.trim()) : (stryCov_9fa48("92"), (stryMutAct_9fa48("93") ? raw && "" : (stryCov_9fa48("93"), raw ?? "")).split(",").map(stryMutAct_9fa48("96") ? () => undefined : (stryCov_9fa48("96"), s => stryMutAct_9fa48("97") ? s : (stryCov_9fa48("97"), s.trim()))).filter(Boolean))) {
      if (stryMutAct_9fa48("98")) {
        {}
      } else {
        stryCov_9fa48("98");
        const m = (stryMutAct_9fa48("102") ? /^([=]+)=(instance|cluster)$/ : stryMutAct_9fa48("101") ? /^([^=])=(instance|cluster)$/ : stryMutAct_9fa48("100") ? /^([^=]+)=(instance|cluster)/ : stryMutAct_9fa48("99") ? /([^=]+)=(instance|cluster)$/ : (stryCov_9fa48("99", "100", "101", "102"), /^([^=]+)=(instance|cluster)$/)).exec(entry);
        if (stryMutAct_9fa48("105") ? false : stryMutAct_9fa48("104") ? true : stryMutAct_9fa48("103") ? m : (stryCov_9fa48("103", "104", "105"), !m)) throw new Error(`MANAGED_KINDS entry '${entry}' is not <identifier>=instance or <identifier>=cluster`);
        kinds[m[1]] = m[2] as DatabaseKind;
      }
    }
    return kinds;
  }
}
export interface ValidateSettings {
  /** Identifiers the machine may touch; anything else is refused. */
  managedIdentifiers: string[];
  /** Configured kind of each managed identifier: a request whose isCluster disagrees is refused. */
  managedKinds: Record<string, DatabaseKind>;
  /** Whether export_snapshot is configured (bucket, key, role). */
  exportEnabled: boolean;
}
const RESTORES: Task[] = stryMutAct_9fa48("107") ? [] : (stryCov_9fa48("107"), ["create_snapshot", "db_restore"]);

/** Validates a request against RDS and Step Functions and returns the job; reads only. */
export async function buildJob(deps: {
  rds: RDSClient;
  sfn: SFNClient;
}, event: ValidateEvent, settings: ValidateSettings): Promise<RestoreJob> {
  if (stryMutAct_9fa48("110")) {
    {}
  } else {
    stryCov_9fa48("110");
    const request = parseRequest(event.request);
    const {
      identifier,
      isCluster,
      task
    } = request;
    if (stryMutAct_9fa48("113") ? false : stryMutAct_9fa48("112") ? true : stryMutAct_9fa48("111") ? settings.managedIdentifiers.includes(identifier) : (stryCov_9fa48("111", "112", "113"), !settings.managedIdentifiers.includes(identifier))) {
      if (stryMutAct_9fa48("114")) {
        {}
      } else {
        stryCov_9fa48("114");
        throw new InvalidInputError(`'${identifier}' is not a database this machine manages; managed: ${stryMutAct_9fa48("118") ? settings.managedIdentifiers.join(", ") && "(none)" : stryMutAct_9fa48("117") ? false : stryMutAct_9fa48("116") ? true : (stryCov_9fa48("116", "117", "118"), settings.managedIdentifiers.join(", ") || "(none)")}`);
      }
    }
    const kind = Object.prototype.hasOwnProperty.call(settings.managedKinds, identifier) ? settings.managedKinds[identifier] : undefined;
    if (stryMutAct_9fa48("123") ? kind !== undefined : stryMutAct_9fa48("122") ? false : stryMutAct_9fa48("121") ? true : (stryCov_9fa48("121", "122", "123"), kind === undefined)) {
      if (stryMutAct_9fa48("124")) {
        {}
      } else {
        stryCov_9fa48("124");
        throw new Error(`the restore machine's configuration does not say whether '${identifier}' is an instance or a cluster (MANAGED_KINDS)`);
      }
    }
    if (stryMutAct_9fa48("128") ? kind === "cluster" || !isCluster : stryMutAct_9fa48("127") ? false : stryMutAct_9fa48("126") ? true : (stryCov_9fa48("126", "127", "128"), (stryMutAct_9fa48("130") ? kind !== "cluster" : stryMutAct_9fa48("129") ? true : (stryCov_9fa48("129", "130"), kind === "cluster")) && (stryMutAct_9fa48("132") ? isCluster : (stryCov_9fa48("132"), !isCluster)))) {
      if (stryMutAct_9fa48("133")) {
        {}
      } else {
        stryCov_9fa48("133");
        throw new InvalidInputError(`'${identifier}' is an Aurora cluster; set "isCluster": true (pilotlight:restore.databases lists it as a cluster)`);
      }
    }
    if (stryMutAct_9fa48("137") ? kind === "instance" || isCluster : stryMutAct_9fa48("136") ? false : stryMutAct_9fa48("135") ? true : (stryCov_9fa48("135", "136", "137"), (stryMutAct_9fa48("139") ? kind !== "instance" : stryMutAct_9fa48("138") ? true : (stryCov_9fa48("138", "139"), kind === "instance")) && isCluster)) {
      if (stryMutAct_9fa48("141")) {
        {}
      } else {
        stryCov_9fa48("141");
        throw new InvalidInputError(`'${identifier}' is a DB instance, not an Aurora cluster; set "isCluster": false (pilotlight:restore.databases lists it as an instance)`);
      }
    }
    if (stryMutAct_9fa48("145") ? task === "export_snapshot" || !settings.exportEnabled : stryMutAct_9fa48("144") ? false : stryMutAct_9fa48("143") ? true : (stryCov_9fa48("143", "144", "145"), (stryMutAct_9fa48("147") ? task !== "export_snapshot" : stryMutAct_9fa48("146") ? true : (stryCov_9fa48("146", "147"), task === "export_snapshot")) && (stryMutAct_9fa48("149") ? settings.exportEnabled : (stryCov_9fa48("149"), !settings.exportEnabled)))) {
      if (stryMutAct_9fa48("150")) {
        {}
      } else {
        stryCov_9fa48("150");
        throw new InvalidInputError("export_snapshot is not configured for this stack (no export bucket/key in the restore config)");
      }
    }

    // Exporting reads only a snapshot: the database need not be available for it.
    const requireAvailable = stryMutAct_9fa48("154") ? task === "export_snapshot" : stryMutAct_9fa48("153") ? false : stryMutAct_9fa48("152") ? true : (stryCov_9fa48("152", "153", "154"), task !== "export_snapshot");
    const {
      original,
      memberIds,
      plan: planFor,
      refusals,
      engineVersion
    } = isCluster ? await inspectCluster(deps.rds, identifier, requireAvailable) : await inspectInstance(deps.rds, identifier, requireAvailable);
    for (const m of memberIds) {
      if (stryMutAct_9fa48("156")) {
        {}
      } else {
        stryCov_9fa48("156");
        if (stryMutAct_9fa48("159") ? m !== identifier || !m.startsWith(`${identifier}-`) : stryMutAct_9fa48("158") ? false : stryMutAct_9fa48("157") ? true : (stryCov_9fa48("157", "158", "159"), (stryMutAct_9fa48("161") ? m === identifier : stryMutAct_9fa48("160") ? true : (stryCov_9fa48("160", "161"), m !== identifier)) && (stryMutAct_9fa48("162") ? m.startsWith(`${identifier}-`) : (stryCov_9fa48("162"), !(stryMutAct_9fa48("163") ? m.endsWith(`${identifier}-`) : (stryCov_9fa48("163"), m.startsWith(`${identifier}-`))))))) {
          if (stryMutAct_9fa48("165")) {
            {}
          } else {
            stryCov_9fa48("165");
            throw new InvalidInputError(`member '${m}' of cluster '${identifier}' is not named '${identifier}' or '${identifier}-<suffix>'; the machine's permissions cover only those member names`);
          }
        }
        const problem = identifierProblem(m);
        if (stryMutAct_9fa48("168") ? false : stryMutAct_9fa48("167") ? true : (stryCov_9fa48("167", "168"), problem)) throw new InvalidInputError(`member '${m}' of cluster '${identifier}': identifier ${problem}`);
      }
    }
    if (stryMutAct_9fa48("172") ? RESTORES.includes(task) || refusals.length > 0 : stryMutAct_9fa48("171") ? false : stryMutAct_9fa48("170") ? true : (stryCov_9fa48("170", "171", "172"), RESTORES.includes(task) && (stryMutAct_9fa48("175") ? refusals.length <= 0 : stryMutAct_9fa48("174") ? refusals.length >= 0 : stryMutAct_9fa48("173") ? true : (stryCov_9fa48("173", "174", "175"), refusals.length > 0)))) {
      if (stryMutAct_9fa48("176")) {
        {}
      } else {
        stryCov_9fa48("176");
        throw new InvalidInputError(`'${identifier}' cannot be restored in place: ${refusals.join("; ")}`);
      }
    }
    const names = runNames(identifier, event.startedAt, memberIds);
    let snapshotIdentifier: string;
    // What the snapshot fixes about the restore; a snapshot create_snapshot takes is of the database as it is.
    let facts: SnapshotFacts = {};
    if (stryMutAct_9fa48("181") ? task === "create_snapshot" && task === "create_snapshot_only" : stryMutAct_9fa48("180") ? false : stryMutAct_9fa48("179") ? true : (stryCov_9fa48("179", "180", "181"), (stryMutAct_9fa48("183") ? task !== "create_snapshot" : stryMutAct_9fa48("182") ? false : (stryCov_9fa48("182", "183"), task === "create_snapshot")) || (stryMutAct_9fa48("186") ? task !== "create_snapshot_only" : stryMutAct_9fa48("185") ? false : (stryCov_9fa48("185", "186"), task === "create_snapshot_only")))) {
      if (stryMutAct_9fa48("188")) {
        {}
      } else {
        stryCov_9fa48("188");
        snapshotIdentifier = names.newSnapshot;
      }
    } else if (stryMutAct_9fa48("190") ? false : stryMutAct_9fa48("189") ? true : (stryCov_9fa48("189", "190"), request.snapshotIdentifier)) {
      if (stryMutAct_9fa48("191")) {
        {}
      } else {
        stryCov_9fa48("191");
        // The machine's permissions cover `<identifier>-*` snapshots only; say so rather than fail with AccessDenied.
        if (stryMutAct_9fa48("194") ? false : stryMutAct_9fa48("193") ? true : stryMutAct_9fa48("192") ? request.snapshotIdentifier.startsWith(`${identifier}-`) : (stryCov_9fa48("192", "193", "194"), !(stryMutAct_9fa48("195") ? request.snapshotIdentifier.endsWith(`${identifier}-`) : (stryCov_9fa48("195"), request.snapshotIdentifier.startsWith(`${identifier}-`))))) {
          if (stryMutAct_9fa48("197")) {
            {}
          } else {
            stryCov_9fa48("197");
            throw new InvalidInputError(`snapshotIdentifier '${request.snapshotIdentifier}' must start with '${identifier}-' (the snapshots this machine may use are named after their database); copy the snapshot to such a name first`);
          }
        }
        const snap = await findSnapshot(deps.rds, request.snapshotIdentifier, isCluster);
        if (stryMutAct_9fa48("201") ? false : stryMutAct_9fa48("200") ? true : stryMutAct_9fa48("199") ? snap : (stryCov_9fa48("199", "200", "201"), !snap)) {
          if (stryMutAct_9fa48("202")) {
            {}
          } else {
            stryCov_9fa48("202");
            throw new SnapshotNotFoundError(`${isCluster ? "cluster snapshot" : "snapshot"} '${request.snapshotIdentifier}' does not exist`);
          }
        }
        if (stryMutAct_9fa48("208") ? snap.databaseIdentifier === identifier : stryMutAct_9fa48("207") ? false : stryMutAct_9fa48("206") ? true : (stryCov_9fa48("206", "207", "208"), snap.databaseIdentifier !== identifier)) {
          if (stryMutAct_9fa48("209")) {
            {}
          } else {
            stryCov_9fa48("209");
            throw new SnapshotMismatchError(`snapshot '${snap.identifier}' was taken from '${snap.databaseIdentifier}', not from '${identifier}'`);
          }
        }
        if (stryMutAct_9fa48("213") ? snap.status === "available" : stryMutAct_9fa48("212") ? false : stryMutAct_9fa48("211") ? true : (stryCov_9fa48("211", "212", "213"), snap.status !== "available")) {
          if (stryMutAct_9fa48("215")) {
            {}
          } else {
            stryCov_9fa48("215");
            throw new SnapshotMismatchError(`snapshot '${snap.identifier}' is '${snap.status}', not available`);
          }
        }
        snapshotIdentifier = snap.identifier;
        facts = stryMutAct_9fa48("217") ? {} : (stryCov_9fa48("217"), {
          engineVersion: snap.engineVersion,
          allocatedStorage: snap.allocatedStorage
        });
      }
    } else {
      if (stryMutAct_9fa48("218")) {
        {}
      } else {
        stryCov_9fa48("218");
        // Only the machine's own snapshots: its name pattern and its tag (a tag alone is copied by copies).
        const own = stryMutAct_9fa48("219") ? await listSnapshots(deps.rds, identifier, isCluster) : (stryCov_9fa48("219"), (await listSnapshots(deps.rds, identifier, isCluster)).filter(stryMutAct_9fa48("220") ? () => undefined : (stryCov_9fa48("220"), s => isOwnSnapshotName(identifier, s.identifier))));
        const newest = newestPilotlightSnapshot(own);
        if (stryMutAct_9fa48("223") ? false : stryMutAct_9fa48("222") ? true : stryMutAct_9fa48("221") ? newest : (stryCov_9fa48("221", "222", "223"), !newest)) {
          if (stryMutAct_9fa48("224")) {
            {}
          } else {
            stryCov_9fa48("224");
            throw new SnapshotNotFoundError(`'${identifier}' has no available pilotlight snapshot; run create_snapshot_only first or pass snapshotIdentifier`);
          }
        }
        snapshotIdentifier = newest.identifier;
        facts = stryMutAct_9fa48("226") ? {} : (stryCov_9fa48("226"), {
          engineVersion: newest.engineVersion,
          allocatedStorage: newest.allocatedStorage
        });
      }
    }
    const problem = RESTORES.includes(task) ? versionProblem(engineVersion, facts.engineVersion) : undefined;
    if (stryMutAct_9fa48("228") ? false : stryMutAct_9fa48("227") ? true : (stryCov_9fa48("227", "228"), problem)) throw new SnapshotMismatchError(`snapshot '${snapshotIdentifier}' cannot be restored over '${identifier}': ${problem}`);
    await assertNoConcurrentRun(deps.sfn, event, identifier);
    const plan = RESTORES.includes(task) ? planFor(snapshotIdentifier, facts) : null;
    return stryMutAct_9fa48("230") ? {} : (stryCov_9fa48("230"), {
      task,
      identifier,
      isCluster,
      executionArn: event.executionArn,
      startedAt: event.startedAt,
      snapshotIdentifier,
      names,
      original,
      plan,
      restoredMembers: memberIds,
      oldMembers: memberIds.map(stryMutAct_9fa48("231") ? () => undefined : (stryCov_9fa48("231"), m => names.oldMembers[m]))
    });
  }
}
interface Inspection {
  original: OriginalDatabase;
  memberIds: string[];
  plan: (snapshotIdentifier: string, snapshot: SnapshotFacts) => InstancePlan | ClusterPlan;
  /** Why an in-place restore of it is refused (empty: none). */
  refusals: string[];
  engineVersion?: string;
}

/** The names create_snapshot gives: `<identifier>-<14-digit UTC timestamp>`. */
export function isOwnSnapshotName(identifier: string, snapshotIdentifier: string): boolean {
  if (stryMutAct_9fa48("232")) {
    {}
  } else {
    stryCov_9fa48("232");
    return stryMutAct_9fa48("235") ? snapshotIdentifier.startsWith(`${identifier}-`) || /^\d{14}$/.test(snapshotIdentifier.slice(identifier.length + 1)) : stryMutAct_9fa48("234") ? false : stryMutAct_9fa48("233") ? true : (stryCov_9fa48("233", "234", "235"), (stryMutAct_9fa48("236") ? snapshotIdentifier.endsWith(`${identifier}-`) : (stryCov_9fa48("236"), snapshotIdentifier.startsWith(`${identifier}-`))) && (stryMutAct_9fa48("241") ? /^\D{14}$/ : stryMutAct_9fa48("240") ? /^\d$/ : stryMutAct_9fa48("239") ? /^\d{14}/ : stryMutAct_9fa48("238") ? /\d{14}$/ : (stryCov_9fa48("238", "239", "240", "241"), /^\d{14}$/)).test(stryMutAct_9fa48("242") ? snapshotIdentifier : (stryCov_9fa48("242"), snapshotIdentifier.slice(stryMutAct_9fa48("243") ? identifier.length - 1 : (stryCov_9fa48("243"), identifier.length + 1)))));
  }
}
async function inspectInstance(rds: RDSClient, identifier: string, requireAvailable: boolean): Promise<Inspection> {
  if (stryMutAct_9fa48("244")) {
    {}
  } else {
    stryCov_9fa48("244");
    const db = await findInstance(rds, identifier);
    if (stryMutAct_9fa48("247") ? false : stryMutAct_9fa48("246") ? true : stryMutAct_9fa48("245") ? db : (stryCov_9fa48("245", "246", "247"), !db)) {
      if (stryMutAct_9fa48("248")) {
        {}
      } else {
        stryCov_9fa48("248");
        if (stryMutAct_9fa48("250") ? false : stryMutAct_9fa48("249") ? true : (stryCov_9fa48("249", "250"), await findCluster(rds, identifier))) {
          if (stryMutAct_9fa48("251")) {
            {}
          } else {
            stryCov_9fa48("251");
            throw new InvalidInputError(`'${identifier}' is an Aurora cluster; set "isCluster": true`);
          }
        }
        throw new DatabaseNotFoundError(`no DB instance '${identifier}' exists`);
      }
    }
    if (stryMutAct_9fa48("255") ? false : stryMutAct_9fa48("254") ? true : (stryCov_9fa48("254", "255"), db.DBClusterIdentifier)) {
      if (stryMutAct_9fa48("256")) {
        {}
      } else {
        stryCov_9fa48("256");
        throw new InvalidInputError(`'${identifier}' is a member of Aurora cluster '${db.DBClusterIdentifier}'; restore the cluster with "isCluster": true`);
      }
    }
    if (stryMutAct_9fa48("260") ? requireAvailable || db.DBInstanceStatus !== "available" : stryMutAct_9fa48("259") ? false : stryMutAct_9fa48("258") ? true : (stryCov_9fa48("258", "259", "260"), requireAvailable && (stryMutAct_9fa48("262") ? db.DBInstanceStatus === "available" : stryMutAct_9fa48("261") ? true : (stryCov_9fa48("261", "262"), db.DBInstanceStatus !== "available")))) {
      if (stryMutAct_9fa48("264")) {
        {}
      } else {
        stryCov_9fa48("264");
        throw new DatabaseNotReadyError(`DB instance '${identifier}' is '${db.DBInstanceStatus}', not available`);
      }
    }
    const tags = stryMutAct_9fa48("266") ? db.TagList && (await tagsOf(rds, db.DBInstanceArn!)) : (stryCov_9fa48("266"), db.TagList ?? (await tagsOf(rds, db.DBInstanceArn!)));
    return stryMutAct_9fa48("267") ? {} : (stryCov_9fa48("267"), {
      original: stryMutAct_9fa48("268") ? {} : (stryCov_9fa48("268"), {
        resourceId: db.DbiResourceId!,
        deletionProtection: stryMutAct_9fa48("271") ? db.DeletionProtection !== true : stryMutAct_9fa48("270") ? false : stryMutAct_9fa48("269") ? true : (stryCov_9fa48("269", "270", "271"), db.DeletionProtection === (stryMutAct_9fa48("272") ? false : (stryCov_9fa48("272"), true))),
        members: stryMutAct_9fa48("273") ? ["Stryker was here"] : (stryCov_9fa48("273"), [])
      }),
      memberIds: stryMutAct_9fa48("274") ? ["Stryker was here"] : (stryCov_9fa48("274"), []),
      plan: stryMutAct_9fa48("275") ? () => undefined : (stryCov_9fa48("275"), (snap, facts) => planInstanceRestore(db, tags, snap, facts)),
      refusals: instanceRefusals(db),
      engineVersion: db.EngineVersion
    });
  }
}
async function inspectCluster(rds: RDSClient, identifier: string, requireAvailable: boolean): Promise<Inspection> {
  if (stryMutAct_9fa48("276")) {
    {}
  } else {
    stryCov_9fa48("276");
    const cluster = await findCluster(rds, identifier);
    if (stryMutAct_9fa48("279") ? false : stryMutAct_9fa48("278") ? true : stryMutAct_9fa48("277") ? cluster : (stryCov_9fa48("277", "278", "279"), !cluster)) {
      if (stryMutAct_9fa48("280")) {
        {}
      } else {
        stryCov_9fa48("280");
        if (stryMutAct_9fa48("282") ? false : stryMutAct_9fa48("281") ? true : (stryCov_9fa48("281", "282"), await findInstance(rds, identifier))) {
          if (stryMutAct_9fa48("283")) {
            {}
          } else {
            stryCov_9fa48("283");
            throw new InvalidInputError(`'${identifier}' is a DB instance, not an Aurora cluster; set "isCluster": false`);
          }
        }
        throw new DatabaseNotFoundError(`no Aurora cluster '${identifier}' exists`);
      }
    }
    if (stryMutAct_9fa48("288") ? requireAvailable || cluster.Status !== "available" : stryMutAct_9fa48("287") ? false : stryMutAct_9fa48("286") ? true : (stryCov_9fa48("286", "287", "288"), requireAvailable && (stryMutAct_9fa48("290") ? cluster.Status === "available" : stryMutAct_9fa48("289") ? true : (stryCov_9fa48("289", "290"), cluster.Status !== "available")))) {
      if (stryMutAct_9fa48("292")) {
        {}
      } else {
        stryCov_9fa48("292");
        throw new DatabaseNotReadyError(`Aurora cluster '${identifier}' is '${cluster.Status}', not available`);
      }
    }
    const members = await clusterMembers(rds, cluster);
    const notReady = stryMutAct_9fa48("294") ? members : (stryCov_9fa48("294"), members.filter(stryMutAct_9fa48("295") ? () => undefined : (stryCov_9fa48("295"), m => stryMutAct_9fa48("298") ? m.DBInstanceStatus === "available" : stryMutAct_9fa48("297") ? false : stryMutAct_9fa48("296") ? true : (stryCov_9fa48("296", "297", "298"), m.DBInstanceStatus !== "available"))));
    if (stryMutAct_9fa48("302") ? requireAvailable || notReady.length > 0 : stryMutAct_9fa48("301") ? false : stryMutAct_9fa48("300") ? true : (stryCov_9fa48("300", "301", "302"), requireAvailable && (stryMutAct_9fa48("305") ? notReady.length <= 0 : stryMutAct_9fa48("304") ? notReady.length >= 0 : stryMutAct_9fa48("303") ? true : (stryCov_9fa48("303", "304", "305"), notReady.length > 0)))) {
      if (stryMutAct_9fa48("306")) {
        {}
      } else {
        stryCov_9fa48("306");
        throw new DatabaseNotReadyError(`members of '${identifier}' not available: ${notReady.map(stryMutAct_9fa48("308") ? () => undefined : (stryCov_9fa48("308"), m => `${m.DBInstanceIdentifier} (${m.DBInstanceStatus})`)).join(", ")}`);
      }
    }
    const tags = stryMutAct_9fa48("311") ? cluster.TagList && (await tagsOf(rds, cluster.DBClusterArn!)) : (stryCov_9fa48("311"), cluster.TagList ?? (await tagsOf(rds, cluster.DBClusterArn!)));
    const withTags = await Promise.all(members.map(stryMutAct_9fa48("312") ? () => undefined : (stryCov_9fa48("312"), async m => stryMutAct_9fa48("313") ? {} : (stryCov_9fa48("313"), {
      ...m,
      TagList: stryMutAct_9fa48("314") ? m.TagList && (await tagsOf(rds, m.DBInstanceArn!)) : (stryCov_9fa48("314"), m.TagList ?? (await tagsOf(rds, m.DBInstanceArn!)))
    }))));
    return stryMutAct_9fa48("315") ? {} : (stryCov_9fa48("315"), {
      original: stryMutAct_9fa48("316") ? {} : (stryCov_9fa48("316"), {
        resourceId: cluster.DbClusterResourceId!,
        deletionProtection: stryMutAct_9fa48("319") ? cluster.DeletionProtection !== true : stryMutAct_9fa48("318") ? false : stryMutAct_9fa48("317") ? true : (stryCov_9fa48("317", "318", "319"), cluster.DeletionProtection === (stryMutAct_9fa48("320") ? false : (stryCov_9fa48("320"), true))),
        members: members.map(stryMutAct_9fa48("321") ? () => undefined : (stryCov_9fa48("321"), m => stryMutAct_9fa48("322") ? {} : (stryCov_9fa48("322"), {
          identifier: m.DBInstanceIdentifier!,
          resourceId: m.DbiResourceId!
        })))
      }),
      memberIds: members.map(stryMutAct_9fa48("323") ? () => undefined : (stryCov_9fa48("323"), m => m.DBInstanceIdentifier!)),
      plan: stryMutAct_9fa48("324") ? () => undefined : (stryCov_9fa48("324"), (snap, facts) => planClusterRestore(cluster, tags, withTags, snap, facts)),
      refusals: clusterRefusals(cluster, members),
      engineVersion: cluster.EngineVersion
    });
  }
}

/**
 * Refuses to start while another execution of this machine works on the same
 * database. Reads the machine's running executions rather than holding a lock
 * tag on the database: nothing to leak when an execution dies, no mutating
 * call before validation ends, and two executions started at the same moment
 * both see each other and both stop (it fails closed).
 */
export async function assertNoConcurrentRun(sfn: SFNClient, event: ValidateEvent, identifier: string): Promise<void> {
  if (stryMutAct_9fa48("325")) {
    {}
  } else {
    stryCov_9fa48("325");
    for (const other of await runningExecutionsOf(sfn, event.stateMachineArn)) {
      if (stryMutAct_9fa48("326")) {
        {}
      } else {
        stryCov_9fa48("326");
        if (stryMutAct_9fa48("329") ? other.executionArn !== event.executionArn : stryMutAct_9fa48("328") ? false : stryMutAct_9fa48("327") ? true : (stryCov_9fa48("327", "328", "329"), other.executionArn === event.executionArn)) continue;
        const described = await sfn.send(new DescribeExecutionCommand(stryMutAct_9fa48("330") ? {} : (stryCov_9fa48("330"), {
          executionArn: other.executionArn
        })));
        let otherIdentifier: unknown;
        try {
          if (stryMutAct_9fa48("331")) {
            {}
          } else {
            stryCov_9fa48("331");
            otherIdentifier = (JSON.parse(described.input ?? "{}") as {
              identifier?: unknown;
            }).identifier;
          }
        } catch {
          if (stryMutAct_9fa48("332")) {
            {}
          } else {
            stryCov_9fa48("332");
            continue; // not a valid request: that execution fails its own validation
          }
        }
        if (stryMutAct_9fa48("335") ? typeof otherIdentifier === "string" || otherIdentifier.toLowerCase() === identifier : stryMutAct_9fa48("334") ? false : stryMutAct_9fa48("333") ? true : (stryCov_9fa48("333", "334", "335"), (stryMutAct_9fa48("337") ? typeof otherIdentifier !== "string" : stryMutAct_9fa48("336") ? true : (stryCov_9fa48("336", "337"), typeof otherIdentifier === "string")) && (stryMutAct_9fa48("340") ? otherIdentifier.toLowerCase() !== identifier : stryMutAct_9fa48("339") ? true : (stryCov_9fa48("339", "340"), (stryMutAct_9fa48("341") ? otherIdentifier.toUpperCase() : (stryCov_9fa48("341"), otherIdentifier.toLowerCase())) === identifier)))) {
          if (stryMutAct_9fa48("342")) {
            {}
          } else {
            stryCov_9fa48("342");
            throw new ConcurrentRunError(`execution '${other.name}' (${other.executionArn}) is already running on '${identifier}'`);
          }
        }
      }
    }
  }
}

/** The `{ job }` every step after validation receives; a malformed one is a wiring bug, reported as such. */
export function requireJob(event: unknown): RestoreJob {
  if (stryMutAct_9fa48("344")) {
    {}
  } else {
    stryCov_9fa48("344");
    const job = stryMutAct_9fa48("345") ? (event as {
      job?: RestoreJob;
    } | undefined).job : (stryCov_9fa48("345"), (event as {
      job?: RestoreJob;
    } | undefined)?.job);
    if (stryMutAct_9fa48("348") ? (!job || typeof job.identifier !== "string" || typeof job.isCluster !== "boolean" || !job.names) && !job.original : stryMutAct_9fa48("347") ? false : stryMutAct_9fa48("346") ? true : (stryCov_9fa48("346", "347", "348"), (stryMutAct_9fa48("350") ? (!job || typeof job.identifier !== "string" || typeof job.isCluster !== "boolean") && !job.names : stryMutAct_9fa48("349") ? false : (stryCov_9fa48("349", "350"), (stryMutAct_9fa48("352") ? (!job || typeof job.identifier !== "string") && typeof job.isCluster !== "boolean" : stryMutAct_9fa48("351") ? false : (stryCov_9fa48("351", "352"), (stryMutAct_9fa48("354") ? !job && typeof job.identifier !== "string" : stryMutAct_9fa48("353") ? false : (stryCov_9fa48("353", "354"), (stryMutAct_9fa48("355") ? job : (stryCov_9fa48("355"), !job)) || (stryMutAct_9fa48("357") ? typeof job.identifier === "string" : stryMutAct_9fa48("356") ? false : (stryCov_9fa48("356", "357"), typeof job.identifier !== "string")))) || (stryMutAct_9fa48("360") ? typeof job.isCluster === "boolean" : stryMutAct_9fa48("359") ? false : (stryCov_9fa48("359", "360"), typeof job.isCluster !== "boolean")))) || (stryMutAct_9fa48("362") ? job.names : (stryCov_9fa48("362"), !job.names)))) || (stryMutAct_9fa48("363") ? job.original : (stryCov_9fa48("363"), !job.original)))) {
      if (stryMutAct_9fa48("364")) {
        {}
      } else {
        stryCov_9fa48("364");
        throw new InvalidInputError(`expected {"job": <output of the validation step>}, got ${stryMutAct_9fa48("367") ? JSON.stringify(event).slice(0, 300) : stryMutAct_9fa48("366") ? JSON.stringify(event) : (stryCov_9fa48("366", "367"), JSON.stringify(event)?.slice(0, 300))}`);
      }
    }
    return job;
  }
}