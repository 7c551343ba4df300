// startCopies directly: the edges of an SNS event the handler tests do not reach.
import * as assert from "assert";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { startCopies } from "../functions/lib/copyTrigger";

const S = { stateMachineArn: "arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-copy-target", sourceAccount: "111111111111", sourceIdentifier: "wordpress", region: "us-west-2" };

describe("copy trigger: startCopies edges", () => {
    let sfn: ReturnType<typeof mockClient>;
    beforeEach(() => {
        sfn = mockClient(SFNClient);
        sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x", startDate: new Date() });
    });
    afterEach(() => sfn.restore());

    it("a null record is a bad message (a clear InvalidInputError), not a crash, and starts nothing", async () => {
        await assert.rejects(startCopies(new SFNClient({}), { Records: [null as any] }, S), (e: Error) => e.name === "InvalidInputError" && /copy message is not JSON/.test(e.message));
        assert.strictEqual(sfn.commandCalls(StartExecutionCommand).length, 0);
    });

    it("an event without records is quoted in the error, cut to 200 characters", async () => {
        const huge = { Records: [], padding: "x".repeat(5000) };
        await assert.rejects(startCopies(new SFNClient({}), huge as any, S), (e: Error) => {
            const quoted = e.message.split("; got ")[1];
            return e.name === "InvalidInputError" && quoted === JSON.stringify(huge).slice(0, 200);
        });
        assert.strictEqual(sfn.commandCalls(StartExecutionCommand).length, 0);
    });
});
