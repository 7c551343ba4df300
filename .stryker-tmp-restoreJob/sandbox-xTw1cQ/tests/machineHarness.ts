/**
 * Runs a state machine definition end to end, locally, with every Task bound
 * to a real Lambda handler module (talking to whatever fakes the test
 * installed), and records the path the execution took.
 *
 * The definition is validated twice: by `asl-validator` (the schema AWS
 * tooling uses) and by aws-local-stepfunctions' own checks. Waits and retry
 * back-offs run with zero delay so polling loops are fast but still counted.
 */
// @ts-nocheck

import { StateMachine } from "aws-local-stepfunctions";

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require("asl-validator") as (
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

export type Handler = (event: any) => Promise<unknown>;

export const HARNESS_REGION = "us-east-1";
export const HARNESS_ACCOUNT = "123456789012";

export interface RunOptions {
    /** Lambda ARN -> the handler that runs for every Task whose Resource is that ARN. */
    handlers: Record<string, Handler>;
    /** State name -> handler for that one Task state, taking precedence over `handlers` (e.g. to inject a fault). */
    stateHandlers?: Record<string, Handler>;
    /** Name of the state machine, used for the context object's ARNs. Defaults to "machine". */
    machineName?: string;
    /** Name of this execution. Defaults to "exec-1". */
    executionName?: string;
}

/** What `jobMachineHandlers` reads and records while a machine runs. */
export interface JobMachineHooks {
    /** The job step that fails with an `InjectedFault` error (read at each call); none when undefined. */
    faultStep: () => string | undefined;
    /** Receives every event the machine sends to its alert Lambda. */
    alert: (event: any) => void;
    /** Receives the step of every job call, faulted ones included. Defaults to ignoring them. */
    call?: (step: string) => void;
}

/**
 * Handlers of a machine with one job Lambda (every Task passes `{ step }`) and the alert
 * Lambda: the job runs `job` unless its step is the faulted one; the alert reports delivery.
 */
export function jobMachineHandlers(arns: { job: string; alert: string }, job: Handler, hooks: JobMachineHooks): Record<string, Handler> {
    return {
        [arns.job]: async (event: any) => {
            hooks.call?.(event.step);
            if (event.step === hooks.faultStep()) {
                const e = new Error(`injected fault at ${event.step}`);
                e.name = "InjectedFault";
                throw e;
            }
            return job(event);
        },
        [arns.alert]: async (event: any) => {
            hooks.alert(event);
            return { delivered: 1 };
        },
    };
}

export interface RunResult {
    status: "SUCCEEDED" | "FAILED" | "TIMED_OUT";
    /** Final output when the execution succeeded. */
    output?: any;
    /** Error and cause when it failed. */
    error?: string;
    cause?: string;
    /** Every state entered, in order (repeats included). */
    path: string[];
    /** Task states that failed, with the error name, in order (retried attempts included). */
    taskFailures: { state: string; error: string }[];
    /** State name -> how many times it was entered. */
    visits: Record<string, number>;
}

interface AslState {
    Type: string;
    Resource?: string;
    Retry?: unknown[];
    Branches?: AslDefinition[];
    ItemProcessor?: AslDefinition;
    Iterator?: AslDefinition;
}

export interface AslDefinition {
    StartAt: string;
    States: Record<string, AslState>;
    TimeoutSeconds?: number;
}

/** Definitions already validated and compiled, by their JSON (validation takes about a second). */
const machines = new Map<string, StateMachine>();

/** Throws with asl-validator's messages unless the definition is valid. Validates a deep copy (the validator mutates). */
export function assertValidAsl(definition: object): void {
    const copy = structuredClone(definition);
    const { isValid, errorsText } = aslValidator(copy, { checkPaths: true, checkArn: true });
    if (!isValid) throw new Error(`Invalid ASL: ${errorsText("\n")}`);
}

/** All states of a definition, nested Parallel/Map states included. */
export function allStates(definition: AslDefinition): [string, AslState][] {
    const out: [string, AslState][] = [];
    for (const [name, state] of Object.entries(definition.States)) {
        out.push([name, state]);
        for (const branch of state.Branches ?? []) out.push(...allStates(branch));
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) out.push(...allStates(inner));
    }
    return out;
}

/** Names of the Task states, in definition order. */
export function taskStates(definition: object): string[] {
    return allStates(definition as AslDefinition)
        .filter(([, s]) => s.Type === "Task")
        .map(([n]) => n);
}

/** Executes `definition` with `input`; never throws for a failed execution (see `status`). */
export async function runMachine(definition: object, input: unknown, options: RunOptions): Promise<RunResult> {
    const key = JSON.stringify(definition);
    let machine = machines.get(key);
    if (!machine) {
        assertValidAsl(definition);
        machine = new StateMachine(structuredClone(definition) as never, { validationOptions: { checkPaths: true, checkArn: true } });
        machines.set(key, machine);
    }
    const def = definition as AslDefinition;
    const taskResourceLocalHandlers: Record<string, (input: any) => Promise<any>> = {};
    const waitTimeOverrides: Record<string, number> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [name, state] of allStates(def)) {
        if (state.Type === "Task") {
            const handler = options.stateHandlers?.[name] ?? (state.Resource ? options.handlers[state.Resource] : undefined);
            if (!handler) throw new Error(`No handler bound for Task ${name} (Resource ${state.Resource})`);
            // Lambda serializes both ways: the handler sees JSON and returns JSON.
            taskResourceLocalHandlers[name] = async (event) => {
                const result = await handler(JSON.parse(JSON.stringify(event)));
                return JSON.parse(JSON.stringify(result ?? null));
            };
        }
        if (state.Type === "Wait") waitTimeOverrides[name] = 0;
        if (state.Retry) retryIntervalOverrides[name] = 0;
    }

    const machineName = options.machineName ?? "machine";
    const executionName = options.executionName ?? "exec-1";
    const machineArn = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:stateMachine:${machineName}`;
    const executionArn = `arn:aws:states:${HARNESS_REGION}:${HARNESS_ACCOUNT}:execution:${machineName}:${executionName}`;

    const execution = machine.run(input as never, {
        overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
        context: {
            Execution: { Id: executionArn, Name: executionName },
            StateMachine: { Id: machineArn, Name: machineName },
        },
    });

    const path: string[] = [];
    const taskFailures: { state: string; error: string }[] = [];
    let failed: { error: string; cause: string } | undefined;
    const collect = (async () => {
        for await (const event of execution.eventLogs) {
            if (event.type === "StateEntered") path.push(event.state.name);
            if (event.type === "StateFailed" && event.state.type === "Task") {
                taskFailures.push({ state: event.state.name, error: event.Error });
            }
            if (event.type === "ExecutionFailed") failed = { error: event.Error, cause: String(event.Cause ?? "") };
        }
    })();

    let result: RunResult["status"];
    let output: unknown;
    try {
        output = await execution.result;
        result = "SUCCEEDED";
    } catch (err) {
        result = (err as Error).name === "ExecutionTimeoutError" ? "TIMED_OUT" : "FAILED";
    }
    await collect;
    const visits: Record<string, number> = {};
    for (const name of path) visits[name] = (visits[name] ?? 0) + 1;
    return { status: result, output, error: failed?.error, cause: failed?.cause, path, taskFailures, visits };
}
