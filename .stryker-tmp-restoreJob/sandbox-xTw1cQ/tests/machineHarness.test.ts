// @ts-nocheck
import * as assert from "assert";
import { assertValidAsl, runMachine } from "./machineHarness";

const FN = "arn:aws:lambda:us-east-1:123456789012:function:count";

/** A poll loop: Task, Choice, Wait, with a Catch to a Fail. */
const definition = {
    StartAt: "Poll",
    TimeoutSeconds: 60,
    States: {
        Poll: {
            Type: "Task",
            Resource: FN,
            ResultPath: "$.poll",
            Retry: [{ ErrorEquals: ["TransientError"], MaxAttempts: 2, IntervalSeconds: 1, BackoffRate: 2 }],
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: "Broken" }],
            Next: "Done?",
        },
        "Done?": { Type: "Choice", Choices: [{ Variable: "$.poll.done", BooleanEquals: true, Next: "Finished" }], Default: "Pause" },
        Pause: { Type: "Wait", Seconds: 30, Next: "Poll" },
        Finished: { Type: "Succeed" },
        Broken: { Type: "Fail", Error: "Broken", Cause: "the poll failed" },
    },
};

describe("machine harness", () => {
    it("records the path through a poll loop with zero-delay waits", async () => {
        let n = 0;
        const result = await runMachine(definition, {}, { handlers: { [FN]: async () => ({ done: ++n >= 3 }) } });
        assert.strictEqual(result.status, "SUCCEEDED");
        assert.deepStrictEqual(result.path, ["Poll", "Done?", "Pause", "Poll", "Done?", "Pause", "Poll", "Done?", "Finished"]);
        assert.strictEqual(result.visits.Poll, 3);
    });

    it("retries errors by name and reports the failure path", async () => {
        const error = new Error("slow down");
        error.name = "TransientError";
        const result = await runMachine(definition, {}, { handlers: { [FN]: async () => Promise.reject(error) } });
        assert.strictEqual(result.status, "FAILED");
        assert.strictEqual(result.error, "Broken");
        assert.deepStrictEqual(result.taskFailures.map((f) => f.error), ["TransientError", "TransientError", "TransientError"]);
        assert.deepStrictEqual(result.path, ["Poll", "Broken"]);
    });

    it("refuses to run a Task with no bound handler", async () => {
        await assert.rejects(runMachine(definition, {}, { handlers: {} }), /No handler bound for Task Poll/);
    });

    it("rejects invalid ASL", () => {
        assert.throws(() => assertValidAsl({ StartAt: "Nowhere", States: { A: { Type: "Pass", End: true, Next: "A" } } }), /Invalid ASL/);
        assert.doesNotThrow(() => assertValidAsl(definition));
    });
});
