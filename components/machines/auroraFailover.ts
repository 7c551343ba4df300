// The Aurora failover recovery state machine as a pure function: Lambda ARNs
// and settings in, Amazon States Language out. Every polling loop is a Wait +
// Choice with an attempt counter, so every wait is bounded well inside the
// machine's own timeout, and every way out after a failure sends an alert.
import { RECOVERY_STATUS_TAG, type AfterRecovery } from "../../functions/lib/auroraFailover";
import { RETRYABLE_ERRORS } from "../../functions/lib/errors";

/** One bounded polling loop: how long to wait between polls and how many polls at most. */
export interface PollLimit {
    seconds: number;
    attempts: number;
}

/** Polling limits of the recovery machine. */
export interface RecoveryWaits {
    /** Cluster settling after the failover event. Defaults to 30 s x 20. */
    cluster: PollLimit;
    /** New reader becoming available. Defaults to 60 s x 90 (90 minutes). */
    reader: PollLimit;
    /** Failover to the new reader completing. Defaults to 15 s x 40. */
    writer: PollLimit;
}

export const DEFAULT_RECOVERY_WAITS: RecoveryWaits = {
    cluster: { seconds: 30, attempts: 20 },
    reader: { seconds: 60, attempts: 90 },
    writer: { seconds: 15, attempts: 40 },
};

export interface AuroraFailoverMachineArgs {
    /** `aurora-assess` Lambda ARN. */
    assessArn: string;
    /** `aurora-guard` Lambda ARN. */
    guardArn: string;
    /** `aurora-reader` Lambda ARN. */
    readerArn: string;
    /** `aurora-switch` Lambda ARN. */
    switchArn: string;
    /** `aurora-demoted` Lambda ARN: after success it deletes, resizes or (keep) moves the demoted instance to the last promotion tier. */
    demotedArn: string;
    /** Alert Lambda ARN (SNS, e-mail, Slack). */
    alertArn: string;
    /** What to do with the demoted smaller instance after success. Defaults to `keep`. */
    afterRecovery?: AfterRecovery;
    /** Send an alert after a successful recovery too. Defaults to true. */
    notifyOnSuccess?: boolean;
    /** Polling limits. Defaults to `DEFAULT_RECOVERY_WAITS`. */
    waits?: RecoveryWaits;
}

/** Attempts and back-off of the retry on transient errors, per Task. */
export const TASK_RETRY = { IntervalSeconds: 5, MaxAttempts: 4, BackoffRate: 2 };
/** Longest a single Task attempt may take (the Lambdas time out at 60 s). */
export const TASK_TIMEOUT_SECONDS = 120;

function retry() {
    return [{ ErrorEquals: [...RETRYABLE_ERRORS], ...TASK_RETRY }];
}

/** Alerts are idempotent and too important to give up on one surprise: they retry any error a few times. */
function alertRetry() {
    return [...retry(), { ErrorEquals: ["States.ALL"], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2 }];
}

/** Longest time one Task can spend, every attempt timing out and every retry taken. */
function taskBudgetSeconds(): number {
    let total = TASK_TIMEOUT_SECONDS;
    for (let i = 0; i < TASK_RETRY.MaxAttempts; i++) total += TASK_RETRY.IntervalSeconds * TASK_RETRY.BackoffRate ** i + TASK_TIMEOUT_SECONDS;
    return total;
}

/**
 * The machine's timeout: every bounded loop exhausted, with every Task
 * retried to the limit, plus an hour. The attempt counters always end a run
 * (with an alert) before this backstop does.
 */
export function machineTimeoutSeconds(waits: RecoveryWaits = DEFAULT_RECOVERY_WAITS): number {
    const loops = [waits.cluster, waits.reader, waits.writer];
    const polling = loops.reduce((s, l) => s + l.attempts * (l.seconds + taskBudgetSeconds()), 0);
    return polling + 12 * taskBudgetSeconds() + 3600;
}

function validate(args: AuroraFailoverMachineArgs, waits: RecoveryWaits): void {
    const after = args.afterRecovery ?? "keep";
    if (!["keep", "delete", "resize"].includes(after)) throw new Error(`afterRecovery "${after}" must be "keep", "delete" or "resize"`);
    if (!args.demotedArn) throw new Error("demotedArn (the aurora-demoted Lambda) is required");
    for (const [name, l] of Object.entries(waits)) {
        if (!Number.isInteger(l.seconds) || l.seconds < 1 || !Number.isInteger(l.attempts) || l.attempts < 1) {
            throw new Error(`waits.${name} ${JSON.stringify(l)} must have whole seconds >= 1 and attempts >= 1`);
        }
    }
}

type State = Record<string, unknown>;

/** Names of the states, for tests and diagrams. */
export const S = {
    checkInput: "Check input",
    badInput: "Alert bad input",
    rejected: "Input rejected",
    start: "Start",
    assess: "Assess cluster",
    decide: "Decide",
    waitCluster: "Wait for cluster to settle",
    countCluster: "Count cluster poll",
    clusterNeverSettled: "Cluster never settled",
    alreadyRight: "Writer already right",
    claim: "Claim recovery window",
    claimed: "Window claimed?",
    alreadyHandled: "Recovery already ran in window",
    create: "Create reader",
    waitReader: "Wait for reader",
    checkReader: "Check reader",
    readerReady: "Reader available?",
    countReader: "Count reader poll",
    readerNeverAvailable: "Reader never available",
    discard: "Discard reader",
    failover: "Fail over to reader",
    waitWriter: "Wait for failover",
    checkWriter: "Check writer",
    writerSwitched: "Reader is writer?",
    countWriter: "Count failover poll",
    failoverNeverCompleted: "Failover never completed",
    markFailoverFailed: "Tag reader failover-failed",
    markAbandoned: "Tag reader abandoned",
    markRecovered: "Tag reader completed",
    demoted: "Handle demoted instance",
    notifySuccess: "Alert recovered",
    notifyFailure: "Alert failure",
    aftercareNote: "Note recovery succeeded",
    notifyAftercare: "Alert recovered, follow-up failed",
    recovered: "Recovered",
    recoveredWithProblems: "Recovered, follow-up failed",
    failed: "Recovery failed",
} as const;

/** The Pass state that records, for the alert, which Task failed. */
export function failedStepState(task: string): string {
    return `${task}: failed`;
}

function task(resource: string, parameters: State, resultPath: string | null, next: string, catchTo?: { next: string; resultPath: string | null }): State {
    const state: State = { Type: "Task", Resource: resource, Parameters: parameters, ResultPath: resultPath, TimeoutSeconds: TASK_TIMEOUT_SECONDS, Retry: retry(), Next: next };
    if (catchTo) state.Catch = [{ ErrorEquals: ["States.ALL"], ResultPath: catchTo.resultPath, Next: catchTo.next }];
    return state;
}

/** Names the failed step in `$.failedStep`, then goes on to `next`. */
function recordStep(step: string, next: string): State {
    return { Type: "Pass", Result: step, ResultPath: "$.failedStep", Next: next };
}

function count(loop: "cluster" | "reader" | "writer", next: string): State {
    const p = (l: string) => (l === loop ? `States.MathAdd($.attempts.${l}, 1)` : `$.attempts.${l}`);
    return {
        Type: "Pass",
        Parameters: { "cluster.$": p("cluster"), "reader.$": p("reader"), "writer.$": p("writer") },
        ResultPath: "$.attempts",
        Next: next,
    };
}

function error(name: string, format: string, args: string[], next: string): State {
    return {
        Type: "Pass",
        Parameters: { Error: name, "Cause.$": `States.Format('${format}', ${args.join(", ")})` },
        ResultPath: "$.error",
        Next: next,
    };
}

/** The recovery machine's definition. Input: `{ clusterIdentifier, event? }`. */
export function auroraFailoverDefinition(args: AuroraFailoverMachineArgs): object {
    const waits = args.waits ?? DEFAULT_RECOVERY_WAITS;
    validate(args, waits);
    const after = args.afterRecovery ?? "keep";
    const notifyOnSuccess = args.notifyOnSuccess ?? true;
    const cluster = { "clusterIdentifier.$": "$.clusterIdentifier" };
    const reader = { ...cluster, "readerIdentifier.$": "$.reader.identifier" };
    const states: Record<string, State> = {};
    /**
     * A Task whose failure is caught into `$.error`, named in `$.failedStep`
     * by a Pass state, and handled at `onError` (default: the failure alert).
     */
    const step = (name: string, resource: string, parameters: State, resultPath: string | null, next: string, onError: string = S.notifyFailure): State => {
        states[failedStepState(name)] = recordStep(name, onError);
        return task(resource, parameters, resultPath, next, { next: failedStepState(name), resultPath: "$.error" });
    };
    const afterMark = S.demoted;
    const afterDemoted = notifyOnSuccess ? S.notifySuccess : S.recovered;
    // The shared alert Lambda's event (functions/lib/alert.ts); details carry the whole run: assessment, claim, reader, cleanup.
    const alert = (kind: "success" | "failure") => ({
        kind,
        source: "aurora-failover",
        "database.$": "$.clusterIdentifier",
        task: "writer recovery",
        ...(kind === "failure" ? { "failedStep.$": "$.failedStep", "error.$": "$.error.Error", "cause.$": "$.error.Cause" } : {}),
        "executionArn.$": "$$.Execution.Id",
        "details.$": "$",
    });

    Object.assign(states, {
        // Before anything reads `$.clusterIdentifier`: a run without one (or whose input is not an
        // object) would otherwise fail in the first path it touches, with no alert.
        [S.checkInput]: {
            Type: "Choice",
            Choices: [{ And: [{ Variable: "$.clusterIdentifier", IsPresent: true }, { Variable: "$.clusterIdentifier", IsString: true }], Next: S.start }],
            Default: S.badInput,
        },
        [S.badInput]: {
            ...task(
                args.alertArn,
                {
                    kind: "failure",
                    source: "aurora-failover",
                    task: "writer recovery",
                    failedStep: S.checkInput,
                    error: "InvalidInputError",
                    cause: 'the execution input must be an object with a string clusterIdentifier, e.g. {"clusterIdentifier": "orders-aurora"}; nothing was read or changed',
                    "input.$": "$$.Execution.Input",
                    "executionArn.$": "$$.Execution.Id",
                },
                null,
                S.rejected,
                { next: S.rejected, resultPath: null },
            ),
            Retry: alertRetry(),
        },
        [S.rejected]: { Type: "Fail", Error: "InvalidInputError", Cause: "the execution input must be an object with a string clusterIdentifier" },
        [S.start]: { Type: "Pass", Result: { cluster: 0, reader: 0, writer: 0 }, ResultPath: "$.attempts", Next: S.assess },
        [S.assess]: step(S.assess, args.assessArn, cluster, "$.assessment", S.decide),
        [S.decide]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.assessment.action", StringEquals: "none", Next: S.alreadyRight },
                { Variable: "$.assessment.action", StringEquals: "recover", Next: S.claim },
                { Variable: "$.attempts.cluster", NumericGreaterThanEquals: waits.cluster.attempts, Next: S.clusterNeverSettled },
            ],
            Default: S.waitCluster,
        },
        [S.waitCluster]: { Type: "Wait", Seconds: waits.cluster.seconds, Next: S.countCluster },
        [S.countCluster]: count("cluster", S.assess),
        [S.clusterNeverSettled]: error("ClusterNotSettled", "cluster {} did not settle after the failover: {}", ["$.clusterIdentifier", "$.assessment.reason"], failedStepState(S.clusterNeverSettled)),
        [failedStepState(S.clusterNeverSettled)]: recordStep(S.waitCluster, S.notifyFailure),
        [S.alreadyRight]: { Type: "Succeed" },
        [S.claim]: step(S.claim, args.guardArn, { ...cluster, "executionName.$": "$$.Execution.Name" }, "$.guard", S.claimed),
        [S.claimed]: {
            Type: "Choice",
            Choices: [{ Variable: "$.guard.acquired", BooleanEquals: true, Next: S.create }],
            Default: S.alreadyHandled,
        },
        [S.alreadyHandled]: { Type: "Succeed" },
        [S.create]: step(
            S.create,
            args.readerArn,
            {
                op: "create",
                ...cluster,
                "intendedClass.$": "$.assessment.intendedClass",
                "startedAt.$": "$.guard.startedAt",
                "currentWriter.$": "$.assessment.writer.identifier",
                "failedWriter.$": "$.guard.failedWriter",
            },
            "$.reader",
            S.waitReader,
            S.discard,
        ),
        [S.waitReader]: { Type: "Wait", Seconds: waits.reader.seconds, Next: S.checkReader },
        [S.checkReader]: step(S.checkReader, args.readerArn, { op: "check", ...reader }, "$.readerStatus", S.readerReady, S.discard),
        [S.readerReady]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.readerStatus.available", BooleanEquals: true, Next: S.failover },
                { Variable: "$.attempts.reader", NumericGreaterThanEquals: waits.reader.attempts, Next: S.readerNeverAvailable },
            ],
            Default: S.countReader,
        },
        [S.countReader]: count("reader", S.waitReader),
        [S.readerNeverAvailable]: error("ReaderNotAvailable", "reader {} was still {} after the last poll", ["$.reader.identifier", "$.readerStatus.status"], failedStepState(S.readerNeverAvailable)),
        [failedStepState(S.readerNeverAvailable)]: recordStep(S.waitReader, S.discard),
        // The identifier follows from the claim's start time, so this works even when the create itself failed.
        // A reader that could not be discarded is tagged abandoned instead, so it is never taken for a recovery under way.
        [S.discard]: task(args.readerArn, { op: "discard", ...cluster, "startedAt.$": "$.guard.startedAt" }, "$.discard", S.notifyFailure, { next: S.markAbandoned, resultPath: "$.discardError" }),
        [S.failover]: step(S.failover, args.switchArn, { op: "failover", ...reader }, "$.failover", S.waitWriter, S.markFailoverFailed),
        [S.waitWriter]: { Type: "Wait", Seconds: waits.writer.seconds, Next: S.checkWriter },
        [S.checkWriter]: step(S.checkWriter, args.switchArn, { op: "check", ...reader }, "$.writerStatus", S.writerSwitched, S.markFailoverFailed),
        [S.writerSwitched]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.writerStatus.switched", BooleanEquals: true, Next: S.markRecovered },
                { Variable: "$.attempts.writer", NumericGreaterThanEquals: waits.writer.attempts, Next: S.failoverNeverCompleted },
            ],
            Default: S.countWriter,
        },
        [S.countWriter]: count("writer", S.waitWriter),
        [S.failoverNeverCompleted]: error(
            "FailoverNotCompleted",
            "after the failover to {} the writer is {} (cluster {})",
            ["$.reader.identifier", "$.writerStatus.writer", "$.writerStatus.clusterStatus"],
            failedStepState(S.failoverNeverCompleted),
        ),
        [failedStepState(S.failoverNeverCompleted)]: recordStep(S.waitWriter, S.markFailoverFailed),
        // The reader Lambda tags `completed` instead when the reader turns out to be the writer after all.
        [S.markFailoverFailed]: task(args.readerArn, { op: "mark", status: "failover-failed", ...reader }, "$.mark", S.notifyFailure, { next: S.markAbandoned, resultPath: "$.markError" }),
        // Last resort of the cleanup: whatever is left of this run's reader is tagged abandoned (a missing reader is fine).
        [S.markAbandoned]: {
            ...task(args.readerArn, { op: "mark", status: "abandoned", ...cluster, "startedAt.$": "$.guard.startedAt" }, "$.abandon", S.notifyFailure, { next: S.notifyFailure, resultPath: "$.abandonError" }),
            Retry: alertRetry(),
        },
        // The new writer is in place: a failure from here on is bookkeeping or follow-up, never a failed recovery.
        [S.markRecovered]: {
            ...step(S.markRecovered, args.readerArn, { op: "mark", status: "completed", ...reader }, "$.mark", afterMark, S.aftercareNote),
            Retry: alertRetry(),
        },
        // A failed alert must not hide the original failure: end Failed either way.
        [S.notifyFailure]: { ...task(args.alertArn, alert("failure"), "$.alert", S.failed, { next: S.failed, resultPath: "$.alertError" }), Retry: alertRetry() },
        [S.aftercareNote]: {
            Type: "Pass",
            Parameters: {
                "text.$":
                    "States.Format('The recovery SUCCEEDED: {} (the intended {}) is the writer now, so nothing needs recovering again. Only the follow-up step {} failed. If that was the tagging, set {}=completed on {} by hand.', $.reader.identifier, $.assessment.intendedClass, $.failedStep, '" +
                    RECOVERY_STATUS_TAG +
                    "', $.reader.identifier)",
            },
            ResultPath: "$.outcome",
            Next: S.notifyAftercare,
        },
        [S.notifyAftercare]: {
            ...task(
                args.alertArn,
                { ...alert("failure"), "subject.$": "States.Format('pilotlight aurora-failover: {} writer recovered; follow-up FAILED', $.clusterIdentifier)" },
                "$.alert",
                S.recoveredWithProblems,
                { next: S.recoveredWithProblems, resultPath: "$.alertError" },
            ),
            Retry: alertRetry(),
        },
        [S.recoveredWithProblems]: { Type: "Succeed" },
        [S.failed]: { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" },
        [S.recovered]: { Type: "Succeed" },
    });
    {
        states[S.demoted] = step(
            S.demoted,
            args.demotedArn,
            { ...cluster, "demotedIdentifier.$": "$.assessment.writer.identifier", "intendedClass.$": "$.assessment.intendedClass", action: after },
            "$.demoted",
            afterDemoted,
            S.aftercareNote,
        );
    }
    if (notifyOnSuccess) {
        // The work is done; an undeliverable success alert does not undo it (the execution history still shows it).
        states[S.notifySuccess] = {
            ...task(args.alertArn, alert("success"), "$.alert", S.recovered, { next: S.recovered, resultPath: "$.alertError" }),
            Retry: alertRetry(),
        };
    }
    return {
        Comment: "pilotlight Aurora failover recovery: bring back a writer of the intended class, at most once per window",
        StartAt: S.checkInput,
        TimeoutSeconds: machineTimeoutSeconds(waits),
        States: states,
    };
}
