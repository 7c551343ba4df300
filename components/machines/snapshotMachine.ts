/**
 * Definitions of the backup machine and of the copy source machine, as pure
 * functions: Lambda ARNs and options in, Amazon States Language out. The
 * components deploy `JSON.stringify` of exactly this object; tests execute it.
 *
 * Shape (both machines):
 *   Start -> Plan -> Databases (distributed Map: one child execution per database, at most
 *   `maxConcurrency` at once) -> Report -> Done
 *   item: Snapshot -> wait -> EnsureSharedKey -> [wait -> DropOriginal] -> CopyToDr -> wait
 *         -> Share -> [Publish] -> Prune
 *   An item that fails prunes the home region and ends as itself plus `error`, so the other
 *   databases complete; Report then fails the run. Plan, Map or Report failing -> NotifyFailure.
 *
 * Every wait is Wait + Task(status) + Choice with an attempt counter; an exhausted
 * wait is a failure like any other. The machine has a TimeoutSeconds.
 */
import { RETRYABLE_ERRORS } from "../../functions/lib/errors";

export type State = Record<string, unknown>;
export type States = Record<string, State>;

export interface MachineDefinition {
    Comment: string;
    StartAt: string;
    TimeoutSeconds: number;
    States: States;
}

/** Options common to the backup and copy machines. */
export interface PollOptions {
    /** Seconds between polls in every wait loop. Defaults to 60. */
    pollIntervalSeconds?: number;
    /** Polls per wait loop before it counts as a failure. Defaults to 180 (3 hours at 60 s). */
    maxAttempts?: number;
}

export const POLL_DEFAULTS = { pollIntervalSeconds: 60, maxAttempts: 180 };

/** Options with defaults applied (an explicit `undefined` means the default too); rejects nonsense. */
export function resolvePoll(options: PollOptions): Required<PollOptions> {
    const pollIntervalSeconds = options.pollIntervalSeconds ?? POLL_DEFAULTS.pollIntervalSeconds;
    const maxAttempts = options.maxAttempts ?? POLL_DEFAULTS.maxAttempts;
    if (!Number.isInteger(pollIntervalSeconds) || pollIntervalSeconds < 1) throw new Error(`pollIntervalSeconds must be a whole number of seconds >= 1, got ${pollIntervalSeconds}`);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a whole number >= 1, got ${maxAttempts}`);
    return { pollIntervalSeconds, maxAttempts };
}
/**
 * The machine's TimeoutSeconds: the given one, or the longest path through `loops`
 * consecutive wait loops plus an hour. A timeout shorter than that path is refused,
 * so an exhausted wait always reaches its failure path before the machine times out.
 */
export function machineTimeout(o: Required<PollOptions>, loops: number, timeoutSeconds?: number): number {
    const longest = loops * o.maxAttempts * o.pollIntervalSeconds;
    const timeout = timeoutSeconds ?? longest + 3600;
    if (timeout < longest) throw new Error(`timeoutSeconds ${timeout} is shorter than the longest path through the waits (${longest} s)`);
    return timeout;
}

/** Lambda tasks end within this; a hung call becomes States.Timeout and is retried. */
export const TASK_TIMEOUT_SECONDS = 120;

/** Every Task retries throttling and Lambda service errors, and hung calls, with backoff. */
export const TASK_RETRY = [
    { ErrorEquals: [...RETRYABLE_ERRORS, "States.Timeout"], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL" },
];

/**
 * Retry of a Task whose step is idempotent (it looks before it acts): besides TASK_RETRY's errors,
 * every Lambda service error and hung invocation, any of which may follow a call that took effect.
 */
export const IDEMPOTENT_TASK_RETRY = [
    {
        ErrorEquals: [...RETRYABLE_ERRORS, "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "States.Timeout"],
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
    },
];

/** A Lambda Task with the standard Retry (or `retry`) and a Catch (error at `$.error`) to `onError`. */
export function lambdaTask(fn: string, parameters: Record<string, unknown>, next: string | { end: true }, onError: string, resultPath: string | null = "$", retry: object[] = TASK_RETRY): State {
    const state: State = {
        Type: "Task",
        Resource: fn,
        Parameters: parameters,
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: retry,
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: onError }],
    };
    // The default ResultPath ("$") replaces the input with the result; it is left out, not spelled.
    if (resultPath !== "$") state.ResultPath = resultPath;
    if (typeof next === "string") state.Next = next;
    else state.End = true;
    return state;
}

/**
 * A bounded wait: `Wait<name>` -> `Poll<name>` (the status Task, which increments
 * `$.attempt` and sets `$.status`) -> `<name>Ready?`: available -> `next`, attempts
 * used up -> `<name>TimedOut` (sets `$.error`) -> `onError`, otherwise wait again.
 */
export function waitLoop(name: string, poll: State, next: string, onError: string, o: Required<PollOptions>, readyStatus = "available"): States {
    return {
        [`Wait${name}`]: { Type: "Wait", Seconds: o.pollIntervalSeconds, Next: `Poll${name}` },
        [`Poll${name}`]: { ...poll, Next: `${name}Ready?` },
        [`${name}Ready?`]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.status", StringEquals: readyStatus, Next: next },
                { Variable: "$.attempt", NumericGreaterThanEquals: o.maxAttempts, Next: `${name}TimedOut` },
            ],
            Default: `Wait${name}`,
        },
        [`${name}TimedOut`]: {
            Type: "Pass",
            Result: { Error: "WaitExhausted", Cause: `${name}: not ${readyStatus} after ${o.maxAttempts} polls of ${o.pollIntervalSeconds} s` },
            ResultPath: "$.error",
            Next: onError,
        },
    };
}

/** What a plan step receives besides the input: when the run started, which run it is and of which machine. */
export const EXECUTION_CONTEXT = { "startedAt.$": "$$.Execution.StartTime", "executionArn.$": "$$.Execution.Id", "stateMachineArn.$": "$$.StateMachine.Id" };

/**
 * The alert Task and the final Fail state; `source` names the machine in the alert. `details`
 * adds parameters to the alert (e.g. a machine's own assessment of where things stand).
 */
export function failurePath(alertFn: string, source: string, details: Record<string, string> = {}): States {
    return {
        NotifyFailure: {
            Type: "Task",
            Resource: alertFn,
            Parameters: {
                kind: "failure",
                source,
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
                ...details,
                "executionArn.$": "$$.Execution.Id",
                "input.$": "$$.Execution.Input",
            },
            ResultPath: "$.alert",
            TimeoutSeconds: TASK_TIMEOUT_SECONDS,
            Retry: TASK_RETRY,
            // An alert that cannot be delivered must not hide the failure itself.
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.alertError", Next: "Failed" }],
            Next: "Failed",
        },
        Failed: { Type: "Fail", Error: `${source}.Failed`, Cause: "see the alert and the execution history" },
    };
}

export interface SnapshotMachineArns {
    /** The job's Lambda (functions/backup or functions/copy-source). */
    job: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface SnapshotMachineOptions extends PollOptions {
    /** `backup` (scheduled backups) or `copy-source` (share with the target and announce). */
    kind: "backup" | "copy-source";
    /** Databases the job covers: the timeout allows for them to run in waves of `maxConcurrency`. Defaults to 1. */
    databases?: number;
    /**
     * Databases worked on at once, 1-19. Each has at most one snapshot copy in progress, and RDS
     * allows 20 copy requests in progress per destination region and account: the rest is left to
     * the copy source and to operators. Defaults to 10.
     */
    maxConcurrency?: number;
    /** Whole-execution timeout. Defaults to the longest path through every wait, for every wave, plus one hour. */
    timeoutSeconds?: number;
}

/** Wait loops on an item's longest path: snapshot, shared-key copy, DR copy. */
const ITEM_LOOPS = 3;
/** Default of `maxConcurrency`. */
export const SNAPSHOT_MAX_CONCURRENCY = 10;
/** RDS: "You can have up to 20 snapshot copy requests in progress to a single destination Region per account." */
export const RDS_COPY_REQUESTS_PER_REGION = 20;

/** The machine definition. Exported for the component and the tests. */
export function snapshotMachineDefinition(arns: SnapshotMachineArns, options: SnapshotMachineOptions): MachineDefinition {
    const o = resolvePoll(options);
    const databases = options.databases ?? 1;
    const concurrency = options.maxConcurrency ?? SNAPSHOT_MAX_CONCURRENCY;
    if (!Number.isInteger(databases) || databases < 1) throw new Error(`databases must be a whole number >= 1, got ${databases}`);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency >= RDS_COPY_REQUESTS_PER_REGION) {
        throw new Error(`maxConcurrency must be a whole number from 1 to ${RDS_COPY_REQUESTS_PER_REGION - 1} (RDS allows ${RDS_COPY_REQUESTS_PER_REGION} copy requests in progress per destination region), got ${concurrency}`);
    }
    const waves = Math.ceil(databases / concurrency);
    const timeoutSeconds = machineTimeout(o, ITEM_LOOPS * waves, options.timeoutSeconds);
    const copySource = options.kind === "copy-source";

    const step = (name: string) => ({ step: name, "item.$": "$" });
    const item = (name: string, next: string | { end: true }) => lambdaTask(arns.job, step(name), next, "ItemFailed", "$", IDEMPOTENT_TASK_RETRY);
    const poll = item("status", "unused");

    const itemStates: States = {
        Snapshot: item("snapshot", "WaitSnapshot"),
        ...waitLoop("Snapshot", poll, "EnsureSharedKey", "ItemFailed", o),
        EnsureSharedKey: item("ensure_shared_key", "Reencrypting?"),
        "Reencrypting?": { Type: "Choice", Choices: [{ Variable: "$.reencrypting", BooleanEquals: true, Next: "WaitSharedKeyCopy" }], Default: "CopyToDr" },
        ...waitLoop("SharedKeyCopy", poll, "DropOriginal", "ItemFailed", o),
        DropOriginal: item("drop_original", "CopyToDr"),
        CopyToDr: item("copy_to_dr", "WaitDrCopy"),
        ...waitLoop("DrCopy", poll, "Share", "ItemFailed", o),
        // Shares the available DR copy with the peer account (if any) and marks it ready for `latestCopy`.
        Share: item("share", copySource ? "Publish" : "Prune"),
        ...(copySource ? { Publish: item("publish", "Prune") } : {}),
        Prune: item("prune", { end: true }),
        // The item ends as itself plus `error`: the other databases go on, Report fails the run.
        ItemFailed: { Type: "Pass", Next: "PruneHome" },
        // Retention in the home region even so: it must not pile up while DR copies keep failing.
        PruneHome: {
            ...lambdaTask(arns.job, step("prune_home"), { end: true }, "ItemDone", "$", IDEMPOTENT_TASK_RETRY),
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.pruneError", Next: "ItemDone" }],
        },
        ItemDone: { Type: "Pass", End: true },
    };

    return {
        Comment: copySource
            ? "pilotlight copy source: snapshot, copy under the shared key to the target's region, share, announce"
            : "pilotlight backups: snapshot each database, copy to the DR region, share with the peer account, keep the newest in both regions",
        StartAt: "Start",
        TimeoutSeconds: timeoutSeconds,
        States: {
            // Any input (a string, a list...) becomes a field of an object, so a failure can still be recorded next to it and alerted.
            Start: { Type: "Pass", Parameters: { "input.$": "$" }, Next: "Plan" },
            Plan: lambdaTask(arns.job, { step: "plan", "input.$": "$.input", ...EXECUTION_CONTEXT }, "Databases", "NotifyFailure", "$", IDEMPOTENT_TASK_RETRY),
            // Each database runs as a child execution with its own history (no 25,000-event limit across
            // databases), at most `maxConcurrency` at once.
            Databases: {
                Type: "Map",
                Label: "Databases",
                ItemsPath: "$.items",
                MaxConcurrency: concurrency,
                ToleratedFailurePercentage: 0,
                ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "Snapshot", States: itemStates },
                ResultPath: "$.results",
                Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" }],
                Next: "Report",
            },
            Report: lambdaTask(arns.job, { step: "report", "items.$": "$.results", "skipped.$": "$.skipped" }, "Done", "NotifyFailure", "$.report"),
            Done: { Type: "Succeed" },
            ...failurePath(arns.alert, options.kind),
        },
    };
}

/**
 * What the role of a machine with a distributed Map needs besides invoking its Lambdas: to start
 * its own child executions and to read and stop them. Exported for the components and the tests.
 */
export function distributedMapStatements(machineArn: string): { Sid: string; Effect: "Allow"; Action: string[]; Resource: string[] }[] {
    const executions = machineArn.replace(":stateMachine:", ":execution:");
    return [
        { Sid: "StartOwnChildExecutions", Effect: "Allow", Action: ["states:StartExecution"], Resource: [machineArn] },
        { Sid: "ReadAndStopOwnChildExecutions", Effect: "Allow", Action: ["states:DescribeExecution", "states:StopExecution"], Resource: [`${executions}:*`, `${executions}/*`] },
    ];
}

export interface ImageMachineArns {
    /** functions/image-backup. */
    job: string;
    /** The shared alert Lambda. */
    alert: string;
}

export interface ImageMachineOptions extends PollOptions {
    /** Whole-execution timeout. Defaults to the longest path through every wait plus one hour. */
    timeoutSeconds?: number;
    /** Share each DR-region copy with the peer account (two-account layout). Defaults to false. */
    share?: boolean;
    /** Sources imaged at once. Defaults to 10 (EC2 limits concurrent AMI copies per destination region). */
    maxConcurrency?: number;
}

/**
 * The image backup machine: Plan (validates the input, one instance per source) -> Images
 * (distributed Map: one child execution per source) -> PruneGone (retention of sources no longer imaged, orphan snapshot sweep) -> Report;
 * each item CreateImage -> wait -> CopyToDr -> wait -> [Share] -> Prune. Same failure handling
 * as the snapshot machines; Plan gets the execution context so it can refuse to overlap another run.
 */
export function imageMachineDefinition(arns: ImageMachineArns, options: ImageMachineOptions = {}): MachineDefinition {
    const o = resolvePoll(options);
    const timeoutSeconds = machineTimeout(o, 2, options.timeoutSeconds);
    const maxConcurrency = options.maxConcurrency ?? 10;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error(`maxConcurrency must be a whole number >= 1, got ${maxConcurrency}`);
    // Every step but Report looks before it acts (or only reads): a retry after a lost response is harmless.
    const item = (name: string, next: string | { end: true }) => lambdaTask(arns.job, { step: name, "item.$": "$" }, next, "ItemFailed", "$", IDEMPOTENT_TASK_RETRY);
    const poll = item("status", "unused");
    const afterCopy = options.share ? "Share" : "Prune";
    return {
        Comment: "pilotlight image backups: an AMI of one instance per tagged group, copied to the DR region, newest kept per group in both regions",
        StartAt: "Input",
        TimeoutSeconds: timeoutSeconds,
        States: {
            // Wraps whatever the input is (a string, a list, null) in an object, so that Plan's Catch can
            // record the error beside it and a non-object input still reaches the alert.
            Input: { Type: "Pass", Parameters: { "input.$": "$" }, Next: "Plan" },
            Plan: lambdaTask(arns.job, { step: "plan", "input.$": "$.input", ...EXECUTION_CONTEXT }, "Images", "NotifyFailure", "$", IDEMPOTENT_TASK_RETRY),
            // Each source runs as a child execution with its own history (no 25,000-event limit across
            // sources), at most `maxConcurrency` at once; a child that fails fails the Map into NotifyFailure.
            Images: {
                Type: "Map",
                Label: "Images",
                ItemsPath: "$.items",
                MaxConcurrency: maxConcurrency,
                ToleratedFailurePercentage: 0,
                ItemProcessor: {
                    ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
                    StartAt: "CreateImage",
                    States: {
                        CreateImage: item("create", "WaitImage"),
                        ...waitLoop("Image", poll, "CopyToDr", "ItemFailed", o),
                        CopyToDr: item("copy", "WaitDrCopy"),
                        ...waitLoop("DrCopy", poll, afterCopy, "ItemFailed", o),
                        ...(options.share ? { Share: item("share", "Prune") } : {}),
                        Prune: item("prune", { end: true }),
                        ItemFailed: { Type: "Pass", End: true },
                    },
                },
                ResultPath: "$.results",
                Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" }],
                Next: "PruneGone",
            },
            PruneGone: lambdaTask(arns.job, { step: "prune_gone", "items.$": "$.results" }, "Report", "NotifyFailure", "$.gone", IDEMPOTENT_TASK_RETRY),
            Report: lambdaTask(arns.job, { step: "report", "items.$": "$.results" }, "Done", "NotifyFailure", "$.report"),
            Done: { Type: "Succeed" },
            ...failurePath(arns.alert, "image-backup"),
        },
    };
}
