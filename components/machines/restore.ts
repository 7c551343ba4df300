/**
 * The restore machine's definition, as a pure function: Lambda ARNs and
 * options in, Amazon States Language (JSON) out. The component deploys
 * exactly `JSON.stringify` of this object; tests execute the same object.
 *
 * Shape:
 *   Validate -> RouteTask
 *     create_snapshot*: CreateSnapshot -> wait -> PruneSnapshots -> (create_snapshot: restore pipeline)
 *     db_restore:       restore pipeline
 *     export_snapshot:  StartExport -> wait
 *   restore pipeline: RenameOriginal -> wait -> RestoreFromSnapshot (loop) -> wait
 *                     == the point of no return: the restore is available under the identifier ==
 *                     -> ApplySettings (loop) -> DeleteOriginal (loop) -> success
 *   a failure from RenameOriginal until the restore is available -> RollBack (loop) -> NotifyFailure -> Failed
 *   a failure after it  -> KeepBoth (loop: never deletes the restore) -> NotifyFailure -> "Failed: restore kept"
 *   any failure before RenameOriginal -> NotifyFailure -> Failed
 *
 * Every wait is a Wait + Task(status) + Choice loop with an attempt counter;
 * an exhausted loop is a failure like any other.
 */

import { RETRYABLE_ERRORS } from "../../functions/lib/errors";

/** Error names every Task retries with backoff: the handlers' TransientError and the Lambda service's own. */
export { RETRYABLE_ERRORS };

/** ARNs of the restore machine's Lambdas, one per job under functions/. */
export interface RestoreFunctionArns {
    validate: string;
    snapshot: string;
    prune: string;
    status: string;
    rename: string;
    restore: string;
    applySettings: string;
    deleteOld: string;
    rollback: string;
    export: string;
    alert: string;
}

export interface RestoreMachineOptions {
    /** Seconds between polls in every wait loop. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait loop before it counts as a failure (and rolls back). Defaults to 180 (3 hours at 60 s). */
    maxAttempts?: number;
    /** Rounds the rollback loop may take. Defaults to 3 x maxAttempts (it deletes, then renames). */
    rollbackMaxAttempts?: number;
    /** Whole-execution timeout. Defaults to the longest path through every loop plus one hour; may not be less than that path. */
    timeoutSeconds?: number;
    /** Send an alert when an execution succeeds too. Defaults to false. */
    notifyOnSuccess?: boolean;
}

export const RESTORE_MACHINE_DEFAULTS = {
    pollIntervalSeconds: 60,
    maxAttempts: 180,
    notifyOnSuccess: false,
};

/** Loops on the longest path: snapshot, rename, restore (two: cluster then writer), restored, settings, delete. */
const LOOPS_ON_LONGEST_PATH = 7;

/** Error of an execution that failed after the point of no return: the restored database serves, the alert says where the original is. */
export const RESTORE_KEPT_ERROR = "RestoreKeptError";

/** RDS refuses a call while the database is busy (renaming, modifying, backing-up): worth waiting for. */
const BUSY_ERRORS = ["InvalidDBInstanceStateFault", "InvalidDBClusterStateFault"];
const TASK_TIMEOUT_SECONDS = 120;

type State = Record<string, unknown>;
type States = Record<string, State>;

export interface RestoreMachineDefinition {
    Comment: string;
    StartAt: string;
    TimeoutSeconds: number;
    States: States;
}

/** Resolved options, with the bound that the timeout must respect. */
export function resolveRestoreOptions(options: RestoreMachineOptions = {}) {
    const pollIntervalSeconds = options.pollIntervalSeconds ?? RESTORE_MACHINE_DEFAULTS.pollIntervalSeconds;
    const maxAttempts = options.maxAttempts ?? RESTORE_MACHINE_DEFAULTS.maxAttempts;
    const rollbackMaxAttempts = options.rollbackMaxAttempts ?? 3 * maxAttempts;
    for (const [key, value] of Object.entries({ pollIntervalSeconds, maxAttempts, rollbackMaxAttempts })) {
        if (!Number.isInteger(value) || value < 1) throw new Error(`restore machine: ${key} must be a positive integer, got ${value}`);
    }
    // Worst case: every loop exhausted, each poll a wait plus a (retried) Lambda call, then a full rollback.
    const perPoll = pollIntervalSeconds + 10;
    const longestPath = perPoll * (LOOPS_ON_LONGEST_PATH * maxAttempts + rollbackMaxAttempts);
    const timeoutSeconds = options.timeoutSeconds ?? longestPath + 3600;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < longestPath) {
        throw new Error(
            `restore machine: timeoutSeconds ${timeoutSeconds} is shorter than the longest path through its wait loops (${longestPath} s); ` +
                "a machine timeout would stop the execution before its rollback runs. Raise timeoutSeconds or lower maxAttempts/pollIntervalSeconds.",
        );
    }
    return { pollIntervalSeconds, maxAttempts, rollbackMaxAttempts, timeoutSeconds, notifyOnSuccess: options.notifyOnSuccess ?? false };
}

/**
 * Every step looks before it acts, so a call whose response was lost (a Lambda timeout, the Task's
 * own `States.Timeout`) is retried like a throttle; a busy database is waited for.
 */
const RETRY = [
    { ErrorEquals: [...RETRYABLE_ERRORS, "States.Timeout"], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL" },
    { ErrorEquals: BUSY_ERRORS, IntervalSeconds: 30, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 300, JitterStrategy: "FULL" },
];

/** Rollback and alerts are idempotent and too important to give up on one surprise: they also retry any error a few times. */
const RETRY_ANY = [
    ...RETRY,
    { ErrorEquals: ["States.ALL"], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL" },
];

const JOB = { "job.$": "$.job" };

/** Builds the restore machine's definition. Pure: same arguments, same object. */
export function restoreMachineDefinition(fns: RestoreFunctionArns, options: RestoreMachineOptions = {}): RestoreMachineDefinition {
    const o = resolveRestoreOptions(options);
    const states: States = {};

    /**
     * A Lambda Task with the standard Retry and a Catch to `onError`, through
     * a Pass that records which step failed in `$.failure` (or `record`, if given).
     */
    const task = (name: string, resource: string, parameters: object, resultPath: string, next: string, onError: string, record?: State): void => {
        const recorder = `${name} failed`;
        states[name] = {
            Type: "Task",
            Resource: resource,
            Parameters: parameters,
            ResultPath: resultPath,
            TimeoutSeconds: TASK_TIMEOUT_SECONDS,
            Retry: name === "RollBack" || name === "KeepBoth" ? RETRY_ANY : RETRY,
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: recorder }],
            Next: next,
        };
        states[recorder] = record ?? {
            Type: "Pass",
            Parameters: { step: name, "error.$": "$.caught.Error", "cause.$": "$.caught.Cause" },
            ResultPath: "$.failure",
            Next: onError,
        };
    };

    /** Wait + status Task + counter + Choice. */
    const waitLoop = (name: string, statusParams: object, onReady: string, onError: string): string => {
        const start = `${name}: start`;
        const wait = `${name}: wait`;
        const check = `${name}: check`;
        const count = `${name}: count`;
        const choice = `${name}: ready?`;
        const failed = `${name}: ended in a failed state`;
        const timedOut = `${name}: timed out`;
        states[start] = { Type: "Pass", Result: { n: 0 }, ResultPath: "$.counter", Next: wait };
        states[wait] = { Type: "Wait", Seconds: o.pollIntervalSeconds, Next: check };
        task(check, fns.status, statusParams, "$.status", count, onError);
        states[count] = { Type: "Pass", Parameters: { "n.$": "States.MathAdd($.counter.n, 1)" }, ResultPath: "$.counter", Next: choice };
        states[choice] = {
            Type: "Choice",
            Choices: [
                { Variable: "$.status.ready", BooleanEquals: true, Next: onReady },
                { Variable: "$.status.failed", BooleanEquals: true, Next: failed },
                { Variable: "$.counter.n", NumericGreaterThanEquals: o.maxAttempts, Next: timedOut },
            ],
            Default: wait,
        };
        states[failed] = {
            Type: "Pass",
            Parameters: { step: name, error: "ResourceFailedError", "cause.$": "$.status.detail" },
            ResultPath: "$.failure",
            Next: onError,
        };
        states[timedOut] = {
            Type: "Pass",
            Parameters: {
                step: name,
                error: "WaitTimeoutError",
                "cause.$": "States.Format('not ready after {} polls: {}', $.counter.n, $.status.detail)",
            },
            ResultPath: "$.failure",
            Next: onError,
        };
        return start;
    };

    /** A Task called until it reports `done`, with a Wait between rounds and an attempt counter. */
    const advanceLoop = (
        name: string,
        resource: string,
        resultPath: string,
        max: number,
        onDone: string,
        onError: string,
        onTimeout: State,
        record?: State,
        parameters: object = JOB,
    ): string => {
        const start = `${name}: start`;
        const count = `${name}: count`;
        const choice = `${name}: done?`;
        const wait = `${name}: wait`;
        const timedOut = `${name}: timed out`;
        states[start] = { Type: "Pass", Result: { n: 0 }, ResultPath: "$.counter", Next: name };
        task(name, resource, parameters, resultPath, count, onError, record);
        states[count] = { Type: "Pass", Parameters: { "n.$": "States.MathAdd($.counter.n, 1)" }, ResultPath: "$.counter", Next: choice };
        states[choice] = {
            Type: "Choice",
            Choices: [
                { Variable: `${resultPath}.done`, BooleanEquals: true, Next: onDone },
                { Variable: "$.counter.n", NumericGreaterThanEquals: max, Next: timedOut },
            ],
            Default: wait,
        };
        states[wait] = { Type: "Wait", Seconds: o.pollIntervalSeconds, Next: name };
        states[timedOut] = { ...onTimeout, Type: "Pass" };
        return start;
    };

    const databaseStatus = (identifierPath: string, membersPath: string) => ({
        target: "database",
        "isCluster.$": "$.job.isCluster",
        "identifier.$": identifierPath,
        "members.$": membersPath,
    });

    // ---- terminal states
    const FAILED = "Failed";
    const SUCCEEDED = "Succeeded";
    const NOTIFY_FAILURE = "NotifyFailure";
    const NO_ROLLBACK = "No rollback needed";
    const ROLLBACK = "RollBack: start";
    const KEEP_BOTH = "KeepBoth: start";
    const FAILED_RESTORE_KEPT = "Failed: restore kept";
    const SUCCESS = o.notifyOnSuccess ? "NotifySuccess" : SUCCEEDED;

    states[FAILED] = { Type: "Fail", ErrorPath: "$.failure.error", CausePath: "$.failure.cause" };
    // Past the point of no return nothing was put back: the execution says so in its own error.
    states[FAILED_RESTORE_KEPT] = { Type: "Fail", Error: RESTORE_KEPT_ERROR, CausePath: "$.rollback.detail" };
    states["After the alert"] = {
        Type: "Choice",
        Choices: [
            {
                And: [
                    { Variable: "$.rollback.cutover", IsPresent: true },
                    { Variable: "$.rollback.cutover", BooleanEquals: true },
                ],
                Next: FAILED_RESTORE_KEPT,
            },
        ],
        Default: FAILED,
    };
    states[SUCCEEDED] = { Type: "Succeed" };
    states[NOTIFY_FAILURE] = {
        Type: "Task",
        Resource: fns.alert,
        Parameters: {
            kind: "failure",
            source: "restore",
            "database.$": "$.job.identifier",
            "task.$": "$.job.task",
            "failedStep.$": "$.failure.step",
            "error.$": "$.failure.error",
            "cause.$": "$.failure.cause",
            "rollback.$": "$.rollback",
            "executionArn.$": "$$.Execution.Id",
        },
        ResultPath: "$.alert",
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: RETRY_ANY,
        // A failed alert must not hide the original failure: end Failed either way.
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.alertError", Next: "After the alert" }],
        Next: "After the alert",
    };
    states[NO_ROLLBACK] = {
        Type: "Pass",
        Result: { outcome: "not-needed", detail: "failed before the original database was renamed; it was not changed" },
        ResultPath: "$.rollback",
        Next: NOTIFY_FAILURE,
    };
    if (o.notifyOnSuccess) {
        states.NotifySuccess = {
            Type: "Task",
            Resource: fns.alert,
            Parameters: {
                kind: "success",
                source: "restore",
                "database.$": "$.job.identifier",
                "task.$": "$.job.task",
                "executionArn.$": "$$.Execution.Id",
                "details.$": "$.summary",
            },
            ResultPath: "$.alert",
            TimeoutSeconds: TASK_TIMEOUT_SECONDS,
            Retry: RETRY_ANY,
            // The work is done; an undeliverable success alert does not undo it.
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.alertError", Next: SUCCEEDED }],
            Next: SUCCEEDED,
        };
    }

    // ---- validation: no job yet, so its failure alert reads the raw input.
    // The input is wrapped first: it may be anything (null, a string...), and a Catch can only add a field to an object.
    states.Receive = { Type: "Pass", Parameters: { "request.$": "$" }, Next: "Validate" };
    states.Validate = {
        Type: "Task",
        Resource: fns.validate,
        Parameters: {
            "request.$": "$.request",
            "executionArn.$": "$$.Execution.Id",
            "stateMachineArn.$": "$$.StateMachine.Id",
            "startedAt.$": "$$.Execution.StartTime",
        },
        // No ResultPath: the state becomes exactly {job}.
        ResultSelector: { "job.$": "$" },
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: RETRY,
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: "Validate failed" }],
        Next: "RouteTask",
    };
    states["Validate failed"] = {
        Type: "Pass",
        Parameters: { failure: { step: "Validate", "error.$": "$.caught.Error", "cause.$": "$.caught.Cause" } },
        Next: "NotifyInvalidInput",
    };
    states.NotifyInvalidInput = {
        Type: "Task",
        Resource: fns.alert,
        Parameters: {
            kind: "failure",
            source: "restore",
            failedStep: "Validate",
            "error.$": "$.failure.error",
            "cause.$": "$.failure.cause",
            rollback: { outcome: "not-needed", detail: "the request was refused before any change" },
            "executionArn.$": "$$.Execution.Id",
            "input.$": "$$.Execution.Input",
        },
        ResultPath: "$.alert",
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: RETRY_ANY,
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.alertError", Next: FAILED }],
        Next: FAILED,
    };
    states.RouteTask = {
        Type: "Choice",
        Choices: [
            {
                Or: [
                    { Variable: "$.job.task", StringEquals: "create_snapshot_only" },
                    { Variable: "$.job.task", StringEquals: "create_snapshot" },
                ],
                Next: "CreateSnapshot",
            },
            { Variable: "$.job.task", StringEquals: "db_restore", Next: "RenameOriginal" },
            { Variable: "$.job.task", StringEquals: "export_snapshot", Next: "StartExport" },
        ],
        // Unreachable after validation; an unknown task must never fall into a destructive path.
        Default: "Unknown task",
    };
    states["Unknown task"] = {
        Type: "Pass",
        Parameters: { step: "RouteTask", error: "InvalidInputError", "cause.$": "States.Format('unknown task {}', $.job.task)" },
        ResultPath: "$.failure",
        Next: NO_ROLLBACK,
    };

    // ---- snapshot
    // What a successful execution outputs (and its success alert shows), one Pass per path.
    states["Summarize snapshot"] = { Type: "Pass", Parameters: { "snapshot.$": "$.job.snapshotIdentifier" }, ResultPath: "$.summary", Next: SUCCESS };
    states["Summarize export"] = {
        Type: "Pass",
        Parameters: { "snapshot.$": "$.job.snapshotIdentifier", "export.$": "$.export.s3Uri" },
        ResultPath: "$.summary",
        Next: SUCCESS,
    };
    states["Summarize restore"] = {
        Type: "Pass",
        Parameters: {
            "snapshot.$": "$.job.snapshotIdentifier",
            "restored.$": "$.deleteOld.result.identifier",
            "resourceId.$": "$.deleteOld.result.resourceId",
            // Every restore gives the database a new RDS-managed secret: applications must read this one.
            "masterUserSecretArn.$": "$.deleteOld.result.masterUserSecretArn",
            "kmsKeyId.$": "$.deleteOld.result.kmsKeyId",
            "originalFinalSnapshot.$": "$.deleteOld.result.finalSnapshot",
        },
        ResultPath: "$.summary",
        Next: SUCCESS,
    };
    const snapshotStatus = { target: "snapshot", "isCluster.$": "$.job.isCluster", "identifier.$": "$.job.names.newSnapshot" };
    task("CreateSnapshot", fns.snapshot, JOB, "$.snapshot", waitLoop("SnapshotAvailable", snapshotStatus, "PruneSnapshots", NO_ROLLBACK), NO_ROLLBACK);
    task("PruneSnapshots", fns.prune, JOB, "$.prune", "AfterSnapshot", NO_ROLLBACK);
    states.AfterSnapshot = {
        Type: "Choice",
        Choices: [{ Variable: "$.job.task", StringEquals: "create_snapshot", Next: "RenameOriginal" }],
        Default: "Summarize snapshot",
    };

    // ---- export
    const exportStatus = { target: "export", "isCluster.$": "$.job.isCluster", "identifier.$": "$.job.names.exportTask" };
    task("StartExport", fns.export, JOB, "$.export", waitLoop("ExportComplete", exportStatus, "Summarize export", NO_ROLLBACK), NO_ROLLBACK);

    // ---- restore pipeline: from the rename until the restore is available, every failure rolls back
    const renamed = waitLoop("Renamed", databaseStatus("$.job.names.old", "$.job.oldMembers"), "RestoreFromSnapshot: start", ROLLBACK);
    task("RenameOriginal", fns.rename, JOB, "$.rename", renamed, ROLLBACK);
    // The point of no return: once the restore is available under the identifier, applications may write to it.
    const restored = waitLoop("Restored", databaseStatus("$.job.identifier", "$.job.restoredMembers"), "ApplySettings: start", ROLLBACK);
    advanceLoop("RestoreFromSnapshot", fns.restore, "$.restore", 2 * o.maxAttempts, restored, ROLLBACK, {
        Parameters: { step: "RestoreFromSnapshot", error: "WaitTimeoutError", "cause.$": "$.restore.detail" },
        ResultPath: "$.failure",
        Next: ROLLBACK,
    });
    // ---- after the point of no return: every failure keeps both databases
    const deleteOld = advanceLoop("DeleteOriginal", fns.deleteOld, "$.deleteOld", o.maxAttempts, "Summarize restore", KEEP_BOTH, {
        Parameters: { step: "DeleteOriginal", error: "WaitTimeoutError", "cause.$": "$.deleteOld.detail" },
        ResultPath: "$.failure",
        Next: KEEP_BOTH,
    });
    advanceLoop("ApplySettings", fns.applySettings, "$.applySettings", o.maxAttempts, deleteOld, KEEP_BOTH, {
        Parameters: { step: "ApplySettings", error: "WaitTimeoutError", "cause.$": "$.applySettings.detail" },
        ResultPath: "$.failure",
        Next: KEEP_BOTH,
    });
    advanceLoop(
        "KeepBoth",
        fns.rollback,
        "$.rollback",
        o.maxAttempts,
        NOTIFY_FAILURE,
        NOTIFY_FAILURE,
        {
            Parameters: {
                outcome: "keep-both-unfinished",
                cutover: true,
                "detail.$": "States.Format('the restored database serves as {}; the original (resource id {}) is kept as {} or deleted into the final snapshot {}; last state: {}', $.job.identifier, $.job.original.resourceId, $.job.names.old, $.job.names.finalSnapshot, $.rollback.detail)",
            },
            ResultPath: "$.rollback",
            Next: NOTIFY_FAILURE,
        },
        {
            Type: "Pass",
            Parameters: {
                outcome: "keep-both-failed",
                cutover: true,
                "detail.$": "States.Format('{}: {}; the restored database serves as {}; the original (resource id {}) is kept as {} or deleted into the final snapshot {}', $.caught.Error, $.caught.Cause, $.job.identifier, $.job.original.resourceId, $.job.names.old, $.job.names.finalSnapshot)",
            },
            ResultPath: "$.rollback",
            Next: NOTIFY_FAILURE,
        },
        { "job.$": "$.job", afterCutover: true },
    );

    // ---- rollback: its own failure is reported as the rollback outcome; $.failure keeps the failure that caused it
    advanceLoop(
        "RollBack",
        fns.rollback,
        "$.rollback",
        o.rollbackMaxAttempts,
        NOTIFY_FAILURE,
        NOTIFY_FAILURE,
        {
            Parameters: {
                outcome: "rollback-timed-out",
                "detail.$": "States.Format('rollback unfinished, last state: {}; the original (resource id {}) is under {} or {}', $.rollback.detail, $.job.original.resourceId, $.job.identifier, $.job.names.old)",
            },
            ResultPath: "$.rollback",
            Next: NOTIFY_FAILURE,
        },
        {
            Type: "Pass",
            Parameters: {
                outcome: "rollback-failed",
                "detail.$": "States.Format('{}: {}; the original (resource id {}) is under {} or {}', $.caught.Error, $.caught.Cause, $.job.original.resourceId, $.job.identifier, $.job.names.old)",
            },
            ResultPath: "$.rollback",
            Next: NOTIFY_FAILURE,
        },
    );

    return {
        Comment: "pilotlight restore: refresh an RDS instance or Aurora cluster from a snapshot in place, with rollback and alerts",
        StartAt: "Receive",
        TimeoutSeconds: o.timeoutSeconds,
        States: states,
    };
}
