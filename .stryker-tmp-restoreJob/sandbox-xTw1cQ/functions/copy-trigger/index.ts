/**
 * Subscribed (by the dr stack) to the source account's copy topic: starts the copy
 * target machine once per shared snapshot. The execution is named after the snapshot,
 * so a duplicate delivery meets ExecutionAlreadyExists and starts nothing.
 *
 * Environment: STATE_MACHINE_ARN, SOURCE_ACCOUNT_ID, SOURCE_IDENTIFIER, TARGET_REGION.
 */
// @ts-nocheck

import { SFNClient } from "@aws-sdk/client-sfn";
import { requireEnv } from "../lib/env";
import { asTask } from "../lib/errors";
import { startCopies, SnsEvent, TriggerResult } from "../lib/copyTrigger";

const sfn = new SFNClient({});

export async function handler(event: SnsEvent): Promise<TriggerResult[]> {
    return asTask(() =>
        startCopies(sfn, event, {
            stateMachineArn: requireEnv("STATE_MACHINE_ARN"),
            sourceAccount: requireEnv("SOURCE_ACCOUNT_ID"),
            sourceIdentifier: requireEnv("SOURCE_IDENTIFIER"),
            region: requireEnv("TARGET_REGION"),
        }),
    );
}
