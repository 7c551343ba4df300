/** Starting the copy target machine from SNS deliveries, at most once per shared snapshot. */
// @ts-nocheck

import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { copyExecutionName, parseCopyMessage } from "./backup";
import { InvalidInputError } from "./errors";

/** The parts of an SNS event the trigger reads. */
export interface SnsEvent {
    Records?: { Sns?: { Message?: string; TopicArn?: string } }[];
}

export interface TriggerResult {
    snapshotArn: string;
    executionName: string;
    /** false when an execution for this snapshot exists already (duplicate delivery). */
    started: boolean;
}

export async function startCopies(
    sfn: SFNClient,
    event: SnsEvent,
    s: { stateMachineArn: string; sourceAccount: string; sourceIdentifier: string; region: string },
): Promise<TriggerResult[]> {
    const records = event?.Records ?? [];
    if (records.length === 0) throw new InvalidInputError("expected an SNS event with Records");
    const out: TriggerResult[] = [];
    for (const r of records) {
        const message = parseCopyMessage(r.Sns?.Message ?? "", s);
        const name = copyExecutionName(message.snapshotArn);
        try {
            await sfn.send(new StartExecutionCommand({ stateMachineArn: s.stateMachineArn, name, input: JSON.stringify({ task: "copy", ...message }) }));
            out.push({ snapshotArn: message.snapshotArn, executionName: name, started: true });
        } catch (err) {
            if ((err as { name?: string }).name !== "ExecutionAlreadyExists") throw err;
            out.push({ snapshotArn: message.snapshotArn, executionName: name, started: false });
        }
    }
    return out;
}
