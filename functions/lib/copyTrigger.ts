/** Starting the copy target machine from SNS deliveries, at most once per shared snapshot. */
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { copyExecutionName, CopyMessage, parseCopyMessage } from "./backup";
import { InvalidInputError } from "./errors";

/** The parts of an SNS event the trigger reads. */
export interface SnsEvent {
    Records?: { Sns?: { Message?: string; TopicArn?: string } }[];
}

export interface TriggerResult {
    snapshotArn: string;
    executionName: string;
    /** false when an execution for this snapshot exists already (duplicate delivery, or a retry after a lost response). */
    started: boolean;
}

/**
 * Starts one execution per announced snapshot, named after it. Every record is validated
 * before anything starts, so a bad record starts nothing; a redelivery (or a retry whose
 * first StartExecution took effect) meets ExecutionAlreadyExists and counts as started before.
 */
export async function startCopies(
    sfn: SFNClient,
    event: SnsEvent,
    s: { stateMachineArn: string; sourceAccount: string; sourceIdentifier: string; region: string },
): Promise<TriggerResult[]> {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    if (records.length === 0) throw new InvalidInputError(`expected an SNS event with Records; got ${JSON.stringify(event)?.slice(0, 200)}`);
    const messages: CopyMessage[] = records.map((r) => parseCopyMessage(r?.Sns?.Message ?? "", s));
    const out: TriggerResult[] = [];
    for (const message of messages) {
        const name = copyExecutionName(message.snapshotArn);
        let started = true;
        try {
            await sfn.send(new StartExecutionCommand({ stateMachineArn: s.stateMachineArn, name, input: JSON.stringify({ task: "copy", ...message }) }));
        } catch (err) {
            if ((err as { name?: string }).name !== "ExecutionAlreadyExists") throw err;
            started = false;
        }
        out.push({ snapshotArn: message.snapshotArn, executionName: name, started });
    }
    return out;
}
