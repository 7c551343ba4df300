// The Aurora failover recovery state machine as a pure function: Lambda ARNs
// and settings in, Amazon States Language out. Every polling loop is a Wait +
// Choice with an attempt counter, so every wait is bounded well inside the
// machine's own timeout, and every way out after a failure sends an alert.
import type { AfterRecovery } from "../../functions/lib/auroraFailover";
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
    /** `aurora-demoted` Lambda ARN; required unless `afterRecovery` is `keep`. */
    demotedArn?: string;
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
    if (after !== "keep" && !args.demotedArn) throw new Error(`afterRecovery "${after}" needs demotedArn (the aurora-demoted Lambda)`);
    for (const [name, l] of Object.entries(waits)) {
        if (!Number.isInteger(l.seconds) || l.seconds < 1 || !Number.isInteger(l.attempts) || l.attempts < 1) {
            throw new Error(`waits.${name} ${JSON.stringify(l)} must have whole seconds >= 1 and attempts >= 1`);
        }
    }
}

type State = Record<string, unknown>;

/** Names of the states, for tests and diagrams. */
export const S = {
    start: "Start",
    assess: "Assess cluster",
    decide: "Decide",
    waitCluster: "Wait for cluster to settle",
    countCluster: "Count cluster poll",
    clusterNeverSettled: "Cluster never settled",
    nothingToDo: "Writer already right",
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
    markRecovered: "Tag reader completed",
    demoted: "Handle demoted instance",
    notifySuccess: "Alert recovered",
    notifyFailure: "Alert failure",
    recovered: "Recovered",
    failed: "Recovery failed",
} as const;

function task(resource: string, parameters: State, resultPath: string | null, next: string, catchTo?: { next: string; resultPath: string }): State {
    const state: State = { Type: "Task", Resource: resource, Parameters: parameters, ResultPath: resultPath, TimeoutSeconds: TASK_TIMEOUT_SECONDS, Retry: retry(), Next: next };
    if (catchTo) state.Catch = [{ ErrorEquals: ["States.ALL"], ResultPath: catchTo.resultPath, Next: catchTo.next }];
    return state;
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
    const failure = (resultPath = "$.error") => ({ next: S.notifyFailure, resultPath });
    const afterMark = after !== "keep" ? S.demoted : notifyOnSuccess ? S.notifySuccess : S.recovered;
    const afterDemoted = notifyOnSuccess ? S.notifySuccess : S.recovered;
    // The shared alert Lambda's event (functions/lib/alert.ts); details carry the whole run: assessment, claim, reader, cleanup.
    const alert = (kind: "success" | "failure") => ({
        kind,
        source: "aurora-failover",
        "database.$": "$.clusterIdentifier",
        task: "writer recovery",
        ...(kind === "failure" ? { "error.$": "$.error.Error", "cause.$": "$.error.Cause" } : {}),
        "executionArn.$": "$$.Execution.Id",
        "details.$": "$",
    });

    const states: Record<string, State> = {
        [S.start]: { Type: "Pass", Result: { cluster: 0, reader: 0, writer: 0 }, ResultPath: "$.attempts", Next: S.assess },
        [S.assess]: task(args.assessArn, cluster, "$.assessment", S.decide, failure()),
        [S.decide]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.assessment.action", StringEquals: "none", Next: S.nothingToDo },
                { Variable: "$.assessment.action", StringEquals: "recover", Next: S.claim },
                { Variable: "$.attempts.cluster", NumericGreaterThanEquals: waits.cluster.attempts, Next: S.clusterNeverSettled },
            ],
            Default: S.waitCluster,
        },
        [S.waitCluster]: { Type: "Wait", Seconds: waits.cluster.seconds, Next: S.countCluster },
        [S.countCluster]: count("cluster", S.assess),
        [S.clusterNeverSettled]: error("ClusterNotSettled", "cluster {} did not settle after the failover: {}", ["$.clusterIdentifier", "$.assessment.reason"], S.notifyFailure),
        [S.nothingToDo]: { Type: "Succeed" },
        [S.claim]: task(args.guardArn, { ...cluster, "executionName.$": "$$.Execution.Name" }, "$.guard", S.claimed, failure()),
        [S.claimed]: {
            Type: "Choice",
            Choices: [{ Variable: "$.guard.acquired", BooleanEquals: true, Next: S.create }],
            Default: S.alreadyHandled,
        },
        [S.alreadyHandled]: { Type: "Succeed" },
        [S.create]: task(
            args.readerArn,
            {
                op: "create",
                ...cluster,
                "intendedClass.$": "$.assessment.intendedClass",
                "startedAt.$": "$.guard.startedAt",
                "currentWriter.$": "$.assessment.writer.identifier",
            },
            "$.reader",
            S.waitReader,
            { next: S.discard, resultPath: "$.error" },
        ),
        [S.waitReader]: { Type: "Wait", Seconds: waits.reader.seconds, Next: S.checkReader },
        [S.checkReader]: task(args.readerArn, { op: "check", ...reader }, "$.readerStatus", S.readerReady, { next: S.discard, resultPath: "$.error" }),
        [S.readerReady]: {
            Type: "Choice",
            Choices: [
                { Variable: "$.readerStatus.available", BooleanEquals: true, Next: S.failover },
                { Variable: "$.attempts.reader", NumericGreaterThanEquals: waits.reader.attempts, Next: S.readerNeverAvailable },
            ],
            Default: S.countReader,
        },
        [S.countReader]: count("reader", S.waitReader),
        [S.readerNeverAvailable]: error("ReaderNotAvailable", "reader {} was still {} after the last poll", ["$.reader.identifier", "$.readerStatus.status"], S.discard),
        // The identifier follows from the claim's start time, so this works even when the create itself failed.
        [S.discard]: task(args.readerArn, { op: "discard", ...cluster, "startedAt.$": "$.guard.startedAt" }, "$.discard", S.notifyFailure, failure("$.discardError")),
        [S.failover]: task(args.switchArn, { op: "failover", ...reader }, "$.failover", S.waitWriter, { next: S.markFailoverFailed, resultPath: "$.error" }),
        [S.waitWriter]: { Type: "Wait", Seconds: waits.writer.seconds, Next: S.checkWriter },
        [S.checkWriter]: task(args.switchArn, { op: "check", ...reader }, "$.writerStatus", S.writerSwitched, { next: S.markFailoverFailed, resultPath: "$.error" }),
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
            S.markFailoverFailed,
        ),
        [S.markFailoverFailed]: task(args.readerArn, { op: "mark", status: "failover-failed", ...reader }, "$.mark", S.notifyFailure, failure("$.markError")),
        [S.markRecovered]: task(args.readerArn, { op: "mark", status: "completed", ...reader }, "$.mark", afterMark, failure()),
        // A failed alert must not hide the original failure: end Failed either way.
        [S.notifyFailure]: { ...task(args.alertArn, alert("failure"), "$.alert", S.failed, { next: S.failed, resultPath: "$.alertError" }), Retry: alertRetry() },
        [S.failed]: { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" },
        [S.recovered]: { Type: "Succeed" },
    };
    if (after !== "keep") {
        states[S.demoted] = task(
            args.demotedArn!,
            { ...cluster, "demotedIdentifier.$": "$.assessment.writer.identifier", "intendedClass.$": "$.assessment.intendedClass", action: after },
            "$.demoted",
            afterDemoted,
            failure(),
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
        StartAt: S.start,
        TimeoutSeconds: machineTimeoutSeconds(waits),
        States: states,
    };
}
