/**
 * Definition of the restore-test machine (dr stack), as a pure function.
 *
 * Shape:
 *   Wrap -> Plan -> Restore -> wait(available) -> [cluster: CreateWriter -> wait(writer available)]
 *        -> Probe -> Record -> Delete -> wait(deleted) -> Done
 *   Plan fails                    -> NotifyFailure -> Failed (nothing was created)
 *   any later failure or timeout -> Cleanup (delete this run's throwaway only) -> RecordFailure
 *                                   -> NotifyFailure -> Failed
 * Every wait is bounded; the machine has a TimeoutSeconds, and the execution-status rule alerts
 * on a timeout or abort that never reaches NotifyFailure.
 */
import { EXECUTION_CONTEXT, failurePath, lambdaTask, machineTimeout, MachineDefinition, PollOptions, resolvePoll, waitLoop } from "./snapshotMachine";

export interface RestoreTestArns {
    /** functions/restore-test. */
    job: string;
    /** functions/restore-test-probe (in the DR network). */
    probe: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface RestoreTestOptions extends PollOptions {
    /** Whether the failover source is an Aurora cluster (the writer is created after the cluster). */
    isCluster: boolean;
    /** Whole-execution timeout. Defaults to the longest path through every wait plus one hour. */
    timeoutSeconds?: number;
}

export function restoreTestDefinition(arns: RestoreTestArns, options: RestoreTestOptions): MachineDefinition {
    const o = resolvePoll(options);
    const loops = options.isCluster ? 3 : 2;
    const timeoutSeconds = machineTimeout(o, loops, options.timeoutSeconds);
    const task = (step: string, next: string, onError = "Cleanup") => lambdaTask(arns.job, { step, "job.$": "$" }, next, onError);
    const poll = (step: string, onError = "Cleanup") => lambdaTask(arns.job, { step, "job.$": "$" }, "unused", onError);
    const states: MachineDefinition["States"] = {
        // Any input (a string, a list) becomes a field of an object, so a refused input still
        // reaches the alert: a Catch cannot add `$.error` to a string.
        Wrap: { Type: "Pass", Parameters: { "input.$": "$" }, Next: "Plan" },
        Plan: lambdaTask(arns.job, { step: "plan", "input.$": "$.input", ...EXECUTION_CONTEXT }, "Restore", "NotifyFailure"),
        Restore: task("restore", "WaitRestore"),
        ...waitLoop("Restore", poll("status_restore"), options.isCluster ? "CreateWriter" : "Probe", "Cleanup", o),
        ...(options.isCluster
            ? {
                  CreateWriter: task("create_writer", "WaitWriter"),
                  ...waitLoop("Writer", poll("status_writer"), "Probe", "Cleanup", o),
              }
            : {}),
        Probe: lambdaTask(arns.probe, { "job.$": "$" }, "Record", "Cleanup"),
        Record: task("record", "Delete"),
        Delete: task("delete", "WaitDeleted", "NotifyFailure"),
        // A throwaway that will not go away is worth an alert, not another delete.
        ...waitLoop("Deleted", poll("status_delete", "NotifyFailure"), "Done", "NotifyFailure", o, "deleted"),
        Done: { Type: "Succeed" },
        // The error stays at $.error for the alert; the cleanup's own result or failure goes beside it.
        Cleanup: {
            ...lambdaTask(arns.job, { step: "delete", "job.$": "$" }, "RecordFailure", "RecordFailure", "$.cleanup"),
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.cleanupError", Next: "RecordFailure" }],
        },
        RecordFailure: {
            ...lambdaTask(arns.job, { step: "record_failure", "job.$": "$" }, "NotifyFailure", "NotifyFailure", null),
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.recordError", Next: "NotifyFailure" }],
        },
        ...failurePath(arns.alert, "restore-test"),
    };
    return {
        Comment: "pilotlight restore test: restore the newest recovery point the failover would use into a throwaway, prove it answers, record the time, delete it",
        StartAt: "Wrap",
        TimeoutSeconds: timeoutSeconds,
        States: states,
    };
}
