/**
 * The concurrent-run checks the machines' plan steps share: a plan reads its own
 * machine's running executions (rather than holding a lock tag) so there is nothing to
 * leak when an execution dies, and two executions started at the same moment both see
 * each other and both stop (it fails closed). Reads only.
 */
// @ts-nocheck

import { ExecutionListItem, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { ConcurrentRunError, InvalidInputError } from "./errors";

/** The execution context a machine passes to its plan step (`EXECUTION_CONTEXT`). */
export interface ExecutionContext {
    /** `$$.Execution.StartTime`. */
    startedAt: string;
    /** `$$.Execution.Id`: this run. */
    executionArn: string;
    /** `$$.StateMachine.Id`: the machine whose other running executions are checked. */
    stateMachineArn: string;
}

/** Refuses a plan event whose execution context is missing or malformed (a wiring bug). */
export function checkExecutionContext(event: ExecutionContext): void {
    if (typeof event.startedAt !== "string" || Number.isNaN(Date.parse(event.startedAt))) {
        throw new InvalidInputError(`startedAt ${JSON.stringify(event.startedAt)} is not a timestamp`);
    }
    if (!event.executionArn || !event.stateMachineArn) throw new InvalidInputError("plan needs executionArn and stateMachineArn (the machine passes $$.Execution.Id and $$.StateMachine.Id)");
}

/** Running executions of a machine (every page). */
export async function runningExecutionsOf(sfn: SFNClient, stateMachineArn: string): Promise<ExecutionListItem[]> {
    const running: ExecutionListItem[] = [];
    let nextToken: string | undefined;
    do {
        const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: "RUNNING", nextToken }));
        running.push(...(page.executions ?? []));
        nextToken = page.nextToken;
    } while (nextToken);
    return running;
}

/**
 * Refuses to start while another execution of this machine runs, for a machine whose
 * every run covers everything it manages: any other run overlaps.
 */
export async function assertNoOtherRun(sfn: SFNClient, event: ExecutionContext, job: string): Promise<void> {
    const other = (await runningExecutionsOf(sfn, event.stateMachineArn)).find((e) => e.executionArn !== event.executionArn);
    if (other) throw new ConcurrentRunError(`execution '${other.name}' (${other.executionArn}) of this ${job} machine is already running; this run changes nothing`);
}
