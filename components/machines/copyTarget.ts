/**
 * Definition of the copy target machine (dr account), as a pure function.
 *
 * Shape:
 *   Input (wraps any input in an object) -> Plan -> Route?
 *     held (the dr stack is failed over): Held
 *     not newer than what the secret points at: AlreadyCopied
 *     rollback:  Point -> Done
 *     copy:      CopySnapshot -> wait -> Restore -> wait -> ManagePassword -> wait -> Point -> Prune -> Done
 *   Point or Prune finding the hold: Held
 *   any failure or exhausted wait -> NotifyFailure -> Failed
 * The secret moves only after the new copy is available with its managed password active; old
 * copies are deleted only after that, never the one the secret points at.
 */
import { RETRYABLE_ERRORS } from "../../functions/lib/errors";
import { failurePath, lambdaTask, machineTimeout, MachineDefinition, PollOptions, resolvePoll, State, TASK_TIMEOUT_SECONDS, waitLoop } from "./snapshotMachine";

export interface CopyTargetArns {
    /** functions/copy-target. */
    job: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface CopyTargetOptions extends PollOptions {
    /** Whole-execution timeout. Defaults to the longest path through the three waits plus one hour. */
    timeoutSeconds?: number;
}

/** Wait loops on the longest path: copy, restore, managed password. */
const LOOPS = 3;

/**
 * Every step looks before it acts, so every step is retried on Lambda service errors and timeouts:
 * a call that took effect and lost its response is seen, not repeated.
 */
export const TARGET_RETRY = [
    {
        ErrorEquals: [...RETRYABLE_ERRORS, "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "States.Timeout"],
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
    },
];

/** The copy-target Lambda's own timeout; every Task waits longer (TASK_TIMEOUT_SECONDS), so a slow call is not cut short. */
export const TARGET_LAMBDA_TIMEOUT_SECONDS = 60;

export function copyTargetDefinition(arns: CopyTargetArns, options: CopyTargetOptions = {}): MachineDefinition {
    const o = resolvePoll(options);
    const timeoutSeconds = machineTimeout(o, LOOPS, options.timeoutSeconds);
    if (TASK_TIMEOUT_SECONDS < TARGET_LAMBDA_TIMEOUT_SECONDS) throw new Error(`a Task timeout of ${TASK_TIMEOUT_SECONDS} s is shorter than the Lambda's ${TARGET_LAMBDA_TIMEOUT_SECONDS} s`);
    const task = (parameters: Record<string, unknown>, next: string): State => ({ ...lambdaTask(arns.job, parameters, next, "NotifyFailure"), Retry: TARGET_RETRY });
    const step = (name: string, next: string) => task({ step: name, "job.$": "$" }, next);
    const poll = step("status", "unused");
    const held = { Variable: "$.held", IsPresent: true, Next: "Held" };
    return {
        Comment: "pilotlight copy target: copy the shared snapshot under the DR key, restore <name>-v<N>, manage its password, point the secret, keep the newest",
        StartAt: "Input",
        TimeoutSeconds: timeoutSeconds,
        States: {
            // Whatever the input is (a string, a list), the state is an object, so a failure can be caught and alerted.
            Input: { Type: "Pass", Parameters: { "input.$": "$" }, Next: "Plan" },
            Plan: task({ step: "plan", "input.$": "$.input" }, "Route?"),
            "Route?": {
                Type: "Choice",
                Choices: [held, { Variable: "$.skip", IsPresent: true, Next: "AlreadyCopied" }, { Variable: "$.task", StringEquals: "rollback", Next: "Point" }],
                Default: "CopySnapshot",
            },
            AlreadyCopied: { Type: "Succeed", Comment: "the secret points at this snapshot's copy or at newer data: a duplicate or late delivery" },
            Held: { Type: "Succeed", Comment: "the dr stack is failed over: the secret and the copies stay as they are" },
            CopySnapshot: step("copy", "WaitCopy"),
            ...waitLoop("Copy", poll, "Restore", "NotifyFailure", o),
            Restore: step("restore", "WaitRestore"),
            ...waitLoop("Restore", poll, "ManagePassword", "NotifyFailure", o),
            ManagePassword: step("password", "WaitPassword"),
            ...waitLoop("Password", poll, "Point", "NotifyFailure", o),
            Point: step("point", "AfterPoint?"),
            "AfterPoint?": { Type: "Choice", Choices: [held, { Variable: "$.task", StringEquals: "rollback", Next: "Done" }], Default: "Prune" },
            Prune: step("prune", "AfterPrune?"),
            "AfterPrune?": { Type: "Choice", Choices: [held], Default: "Done" },
            Done: { Type: "Succeed" },
            ...failurePath(arns.alert, "copy-target"),
        },
    };
}
