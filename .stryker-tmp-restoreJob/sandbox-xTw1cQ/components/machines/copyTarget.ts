/**
 * Definition of the copy target machine (dr account), as a pure function.
 *
 * Shape:
 *   Plan -> Route?
 *     rollback:  Point -> Done
 *     duplicate: AlreadyCopied (an instance from this snapshot exists)
 *     copy:      CopySnapshot -> wait -> Restore -> wait -> Point -> Prune -> Done
 *   any failure or exhausted wait -> NotifyFailure -> Failed
 * The secret moves only after the new copy is available; old copies are deleted
 * only after that, and never the one the secret points at.
 */
// @ts-nocheck

import { failurePath, lambdaTask, machineTimeout, MachineDefinition, PollOptions, resolvePoll, waitLoop } from "./snapshotMachine";

export interface CopyTargetArns {
    /** functions/copy-target. */
    job: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface CopyTargetOptions extends PollOptions {
    /** Whole-execution timeout. Defaults to the longest path through both waits plus one hour. */
    timeoutSeconds?: number;
}

export function copyTargetDefinition(arns: CopyTargetArns, options: CopyTargetOptions = {}): MachineDefinition {
    const o = resolvePoll(options);
    const timeoutSeconds = machineTimeout(o, 2, options.timeoutSeconds);
    const task = (name: string, next: string) => lambdaTask(arns.job, { step: name, "job.$": "$" }, next, "NotifyFailure");
    const poll = task("status", "unused");
    return {
        Comment: "pilotlight copy target: copy the shared snapshot under the DR key, restore <name>-v<N>, point the secret, keep the newest",
        StartAt: "Plan",
        TimeoutSeconds: timeoutSeconds,
        States: {
            Plan: lambdaTask(arns.job, { step: "plan", "input.$": "$" }, "Route?", "NotifyFailure"),
            "Route?": {
                Type: "Choice",
                Choices: [
                    { Variable: "$.task", StringEquals: "rollback", Next: "Point" },
                    { And: [{ Variable: "$.duplicate", IsPresent: true }, { Variable: "$.duplicate", BooleanEquals: true }], Next: "AlreadyCopied" },
                ],
                Default: "CopySnapshot",
            },
            AlreadyCopied: { Type: "Succeed", Comment: "an instance restored from this snapshot exists: a duplicate delivery" },
            CopySnapshot: task("copy", "WaitCopy"),
            ...waitLoop("Copy", poll, "Restore", "NotifyFailure", o),
            Restore: task("restore", "WaitRestore"),
            ...waitLoop("Restore", poll, "Point", "NotifyFailure", o),
            Point: task("point", "Rollback?"),
            "Rollback?": { Type: "Choice", Choices: [{ Variable: "$.task", StringEquals: "rollback", Next: "Done" }], Default: "Prune" },
            Prune: task("prune", "Done"),
            Done: { Type: "Succeed" },
            ...failurePath(arns.alert, "copy-target"),
        },
    };
}
