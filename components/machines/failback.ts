/**
 * Definitions of the two failback machines, as pure functions.
 *
 * failback-source (dr):
 *   Plan -> Snapshot -> wait -> [Share] -> Output {snapshotArn, snapshotIdentifier, createdAt, isCluster}
 * failback (primary):
 *   Plan -> CopyInDr -> wait -> CopyHome -> wait -> StartRestore -> wait for the restore
 *   execution to succeed -> Cleanup -> Done
 * A failure or exhausted wait after the plan -> Assess (reads where things stand: an outcome
 * and a line per resource) -> NotifyFailure -> Failed; a plan failure says nothing changed
 * (plans only read). The primary's machine changes its database only through the restore
 * machine, whose own outcome says where the database is. After the restore succeeded the
 * failback has failed back: a failed cleanup alerts and the execution still succeeds.
 *
 * Every Task retries a lost response (Lambda service errors, States.Timeout): each mutating
 * step looks before it acts. The mutating ones also retry RDS's "not in a valid state"
 * faults, which pass (a database backing up, a snapshot still settling).
 */
import { FAILBACK_JOB, FAILBACK_SOURCE_JOB } from "../../functions/lib/failback";
import { resolveRestoreOptions } from "./restore";
import { EXECUTION_CONTEXT, failurePath as sharedFailurePath, lambdaTask, machineTimeout, MachineDefinition, PollOptions, resolvePoll, State, States, TASK_RETRY, TASK_TIMEOUT_SECONDS, waitLoop } from "./snapshotMachine";

export interface FailbackArns {
    /** functions/failback-source or functions/failback. */
    job: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface FailbackSourceOptions extends PollOptions {
    /** Share the snapshot with the primary's account. False in a same-account setup. Defaults to true. */
    share?: boolean;
    /** Whole-execution timeout. Defaults to the longest path through the wait plus one hour. */
    timeoutSeconds?: number;
}

export interface FailbackOptions extends PollOptions {
    /**
     * TimeoutSeconds of the restore machine it starts: the wait for the restore execution
     * outlasts it, so the failback reports the restore's own outcome. Defaults to the restore
     * machine's default timeout.
     */
    restoreTimeoutSeconds?: number;
    /** Whole-execution timeout. Defaults to the longest path through every wait plus one hour. */
    timeoutSeconds?: number;
}

/** RDS state faults that pass: retried for minutes, not seconds. */
export const STATE_FAULT_RETRY = {
    ErrorEquals: ["InvalidDBInstanceStateFault", "InvalidDBClusterStateFault", "InvalidDBSnapshotStateFault", "InvalidDBClusterSnapshotStateFault"],
    IntervalSeconds: 30,
    MaxAttempts: 8,
    BackoffRate: 1.5,
    MaxDelaySeconds: 300,
    JitterStrategy: "FULL",
};

/** A step of the job Lambda on the job the machine carries (`$`); a failure goes to Assess. */
function jobTask(arns: FailbackArns, step: string, next: string): State {
    return lambdaTask(arns.job, { step, "job.$": "$" }, next, "Assess");
}

/** A step that changes something: it also retries the state faults that pass. */
function mutatingTask(arns: FailbackArns, step: string, next: string): State {
    const task = jobTask(arns, step, next);
    return { ...task, Retry: [...(task.Retry as object[]), STATE_FAULT_RETRY] };
}

/** The plan Task: the input and the execution's context. */
function planTask(arns: FailbackArns, next: string): State {
    return lambdaTask(arns.job, { step: "plan", "input.$": "$", ...EXECUTION_CONTEXT }, next, "PlanFailed");
}

/**
 * The failure path: the plan's failure changed nothing; any later one is assessed (a read
 * step, at `$.assessment`), then alerted with the assessment as its details.
 */
function failurePath(arns: FailbackArns, source: string): States {
    const assessment = (outcome: string) => ({ Type: "Pass", Result: { Outcome: outcome }, ResultPath: "$.assessment", Next: "NotifyFailure" });
    return {
        PlanFailed: assessment("nothing-changed: the plan only reads; fix what the error says and start the machine again"),
        Assess: {
            ...lambdaTask(arns.job, { step: "assess", "job.$": "$" }, "NotifyFailure", "AssessFailed", "$.assessment"),
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.assessError", Next: "AssessFailed" }],
        },
        AssessFailed: assessment("unknown: the machine could not look where things stand; check its snapshots and executions by hand"),
        ...sharedFailurePath(arns.alert, source, { "details.$": "$.assessment" }),
    };
}

/** The dr side's machine. */
export function failbackSourceDefinition(arns: FailbackArns, options: FailbackSourceOptions = {}): MachineDefinition {
    const o = resolvePoll(options);
    const share = options.share ?? true;
    const afterSnapshot = share ? "Share" : "Output";
    return {
        Comment: "pilotlight failback source: snapshot the DR database as <db>-fb-<timestamp> and share it with the primary's account",
        StartAt: "Plan",
        TimeoutSeconds: machineTimeout(o, 1, options.timeoutSeconds),
        States: {
            Plan: planTask(arns, "Snapshot"),
            Snapshot: mutatingTask(arns, "snapshot", "WaitSnapshot"),
            ...waitLoop("Snapshot", jobTask(arns, "status", "unused"), afterSnapshot, "Assess", o),
            ...(share ? { Share: mutatingTask(arns, "share", "Output") } : {}),
            // What the operator passes to the primary's failback machine.
            Output: {
                Type: "Pass",
                Parameters: { "snapshotArn.$": "$.snapshotArn", "snapshotIdentifier.$": "$.snapshotIdentifier", "createdAt.$": "$.createdAt", "isCluster.$": "$.isCluster" },
                End: true,
            },
            ...failurePath(arns, FAILBACK_SOURCE_JOB),
        },
    };
}

/** The primary's machine. */
export function failbackDefinition(arns: FailbackArns, options: FailbackOptions = {}): MachineDefinition {
    const o = resolvePoll(options);
    const restoreTimeout = options.restoreTimeoutSeconds ?? resolveRestoreOptions().timeoutSeconds;
    if (!Number.isInteger(restoreTimeout) || restoreTimeout < 1) throw new Error(`restoreTimeoutSeconds must be a whole number of seconds >= 1, got ${restoreTimeout}`);
    const restoreWait = { pollIntervalSeconds: o.pollIntervalSeconds, maxAttempts: Math.ceil(restoreTimeout / o.pollIntervalSeconds) + 1 };
    // Two copy waits and the restore wait, all at the same interval: one loop of their polls together.
    const timeoutSeconds = machineTimeout({ ...o, maxAttempts: 2 * o.maxAttempts + restoreWait.maxAttempts }, 1, options.timeoutSeconds);
    const poll = jobTask(arns, "status", "unused");
    return {
        Comment: "pilotlight failback: copy the dr side's snapshot home under the shared key, refresh the database in place with the restore machine",
        StartAt: "Plan",
        TimeoutSeconds: timeoutSeconds,
        States: {
            Plan: planTask(arns, "CopyInDr"),
            CopyInDr: mutatingTask(arns, "copy_in_dr", "WaitDrCopy"),
            ...waitLoop("DrCopy", poll, "CopyHome", "Assess", o),
            CopyHome: mutatingTask(arns, "copy_home", "WaitHomeCopy"),
            ...waitLoop("HomeCopy", poll, "StartRestore", "Assess", o),
            StartRestore: mutatingTask(arns, "start_restore", "WaitRestore"),
            ...waitLoop("Restore", jobTask(arns, "restore_status", "unused"), "Cleanup", "Assess", restoreWait, "SUCCEEDED"),
            // Failed back from here on: a cleanup that fails says so, and the execution succeeds.
            Cleanup: { ...mutatingTask(arns, "cleanup", "Done"), Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.cleanupError", Next: "NotifyCleanupFailed" }] },
            NotifyCleanupFailed: {
                Type: "Task",
                Resource: arns.alert,
                Parameters: {
                    kind: "failure",
                    source: FAILBACK_JOB,
                    "subject.$": "States.Format('pilotlight failback: {} failed back; the DR-region copy {} was not deleted', $.identifier, $.copyIdentifier)",
                    failedStep: "Cleanup",
                    "error.$": "$.cleanupError.Error",
                    "cause.$": "$.cleanupError.Cause",
                    details: {
                        "Outcome.$": "States.Format('failed-back: {} was restored from the home copy {}; only deleting the DR-region copy failed: delete it by hand when the error allows', $.identifier, $.copyIdentifier)",
                        "Restore execution.$": "$.restoreExecutionArn",
                    },
                    "executionArn.$": "$$.Execution.Id",
                    "input.$": "$$.Execution.Input",
                },
                ResultPath: "$.alert",
                TimeoutSeconds: TASK_TIMEOUT_SECONDS,
                Retry: TASK_RETRY,
                Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.alertError", Next: "Done" }],
                Next: "Done",
            },
            Done: { Type: "Succeed" },
            ...failurePath(arns, FAILBACK_JOB),
        },
    };
}
