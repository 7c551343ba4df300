/**
 * Definitions of the two failback machines, as pure functions.
 *
 * failback-source (dr):
 *   Plan -> Snapshot -> wait -> [Share] -> Output {snapshotArn, snapshotIdentifier, createdAt, isCluster}
 * failback (primary):
 *   Plan -> CopyInDr -> wait -> CopyHome -> wait -> StartRestore -> wait for the restore
 *   execution to succeed -> Cleanup -> Done
 * any failure or exhausted wait -> NotifyFailure -> Failed. Plans only read. The primary's
 * machine changes its database only through the restore machine, which rolls back itself.
 */
// @ts-nocheck

import { FAILBACK_JOB, FAILBACK_SOURCE_JOB } from "../../functions/lib/failback";
import { resolveRestoreOptions } from "./restore";
import { EXECUTION_CONTEXT, failurePath, lambdaTask, machineTimeout, MachineDefinition, PollOptions, resolvePoll, waitLoop } from "./snapshotMachine";

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

/** A step of the job Lambda on the job the machine carries (`$`). */
function jobTask(arns: FailbackArns, step: string, next: string): Record<string, unknown> {
    return lambdaTask(arns.job, { step, "job.$": "$" }, next, "NotifyFailure");
}

/** The plan Task: the input and the execution's context. */
function planTask(arns: FailbackArns, next: string): Record<string, unknown> {
    return lambdaTask(arns.job, { step: "plan", "input.$": "$", ...EXECUTION_CONTEXT }, next, "NotifyFailure");
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
            Snapshot: jobTask(arns, "snapshot", "WaitSnapshot"),
            ...waitLoop("Snapshot", jobTask(arns, "status", "unused"), afterSnapshot, "NotifyFailure", o),
            ...(share ? { Share: jobTask(arns, "share", "Output") } : {}),
            // What the operator passes to the primary's failback machine.
            Output: {
                Type: "Pass",
                Parameters: { "snapshotArn.$": "$.snapshotArn", "snapshotIdentifier.$": "$.snapshotIdentifier", "createdAt.$": "$.createdAt", "isCluster.$": "$.isCluster" },
                End: true,
            },
            ...failurePath(arns.alert, FAILBACK_SOURCE_JOB),
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
            CopyInDr: jobTask(arns, "copy_in_dr", "WaitDrCopy"),
            ...waitLoop("DrCopy", poll, "CopyHome", "NotifyFailure", o),
            CopyHome: jobTask(arns, "copy_home", "WaitHomeCopy"),
            ...waitLoop("HomeCopy", poll, "StartRestore", "NotifyFailure", o),
            StartRestore: jobTask(arns, "start_restore", "WaitRestore"),
            ...waitLoop("Restore", jobTask(arns, "restore_status", "unused"), "Cleanup", "NotifyFailure", restoreWait, "SUCCEEDED"),
            Cleanup: jobTask(arns, "cleanup", "Done"),
            Done: { Type: "Succeed" },
            ...failurePath(arns.alert, FAILBACK_JOB),
        },
    };
}
