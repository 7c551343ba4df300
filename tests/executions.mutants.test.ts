/**
 * The "no other run in progress" guard every machine's plan step uses: a malformed execution
 * context is refused, every page of running executions is read, and only another execution of
 * the same machine stops the run.
 */
import * as assert from "assert";
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { assertNoOtherRun, checkExecutionContext, ExecutionContext, runningExecutionsOf } from "../functions/lib/executions";
import { FakeSfn } from "./fakeSfn";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:pl-restore";
const OTHER_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:pl-backup";
const execArn = (machine: string, name: string) => machine.replace(":stateMachine:", ":execution:") + `:${name}`;
const context = (over: Partial<ExecutionContext> = {}): ExecutionContext => ({
    startedAt: "2026-03-01T12:00:00.000Z",
    executionArn: execArn(MACHINE, "me"),
    stateMachineArn: MACHINE,
    ...over,
});
const sfn = () => new SFNClient({ region: "us-east-1" });

describe("executions: the execution context a plan step receives", () => {
    it("a complete context passes", () => {
        assert.doesNotThrow(() => checkExecutionContext(context()));
    });

    it("a startedAt that is not a string, or not a timestamp, is refused naming the value", () => {
        assert.throws(() => checkExecutionContext(context({ startedAt: "yesterday" })), (e: Error) => e.name === "InvalidInputError" && /"yesterday" is not a timestamp/.test(e.message));
        assert.throws(() => checkExecutionContext(context({ startedAt: 1772366400000 as unknown as string })), (e: Error) => e.name === "InvalidInputError" && /1772366400000 is not a timestamp/.test(e.message));
        assert.throws(() => checkExecutionContext(context({ startedAt: undefined as unknown as string })), (e: Error) => e.name === "InvalidInputError" && /is not a timestamp/.test(e.message));
        // A number Date.parse would read as a year is still not the ISO string the machine passes.
        assert.throws(() => checkExecutionContext(context({ startedAt: 2026 as unknown as string })), (e: Error) => e.name === "InvalidInputError" && /2026 is not a timestamp/.test(e.message));
    });

    it("a missing executionArn or stateMachineArn alone is refused", () => {
        assert.throws(() => checkExecutionContext(context({ executionArn: "" })), (e: Error) => e.name === "InvalidInputError" && /executionArn and stateMachineArn/.test(e.message));
        assert.throws(() => checkExecutionContext(context({ stateMachineArn: undefined as unknown as string })), (e: Error) => e.name === "InvalidInputError" && /executionArn and stateMachineArn/.test(e.message));
    });
});

describe("executions: another run of the same machine stops this one", () => {
    let fake: FakeSfn;
    beforeEach(() => {
        fake = new FakeSfn();
    });
    afterEach(() => fake.restore());

    it("alone (its own execution listed as running), the run proceeds", async () => {
        fake.addRunning(MACHINE, "me", {});
        await assertNoOtherRun(sfn(), context(), "restore");
    });

    it("with nothing running, or only another machine's runs, the run proceeds", async () => {
        await assertNoOtherRun(sfn(), context(), "restore");
        fake.addRunning(OTHER_MACHINE, "backup-1", {});
        await assertNoOtherRun(sfn(), context(), "restore");
    });

    it("another running execution of the same machine is refused, named", async () => {
        fake.addRunning(MACHINE, "me", {});
        fake.addRunning(MACHINE, "earlier", {});
        await assert.rejects(
            assertNoOtherRun(sfn(), context(), "restore"),
            (e: Error) => e.name === "ConcurrentRunError" && e.message.includes("execution 'earlier'") && e.message.includes(execArn(MACHINE, "earlier")) && /this restore machine/.test(e.message),
        );
    });
});

describe("executions: every page of running executions", () => {
    const newMock = () => mockClient(SFNClient);
    let mock: ReturnType<typeof newMock>;
    beforeEach(() => {
        mock = newMock();
    });
    afterEach(() => mock.restore());

    // "If nextToken is returned, there are more results available." (ListExecutions, nextToken)
    function paged(names: string[], size: number) {
        mock.on(ListExecutionsCommand).callsFake((input: { nextToken?: string; stateMachineArn: string }) => {
            const from = input.nextToken ? Number(input.nextToken) : 0;
            const next = from + size < names.length ? String(from + size) : undefined;
            return { executions: names.slice(from, from + size).map((n) => ({ name: n, executionArn: execArn(input.stateMachineArn, n), stateMachineArn: input.stateMachineArn, status: "RUNNING", startDate: new Date() })), nextToken: next };
        });
    }

    it("runningExecutionsOf reads every page", async () => {
        paged(["a", "b", "c", "d", "e"], 2);
        assert.deepStrictEqual((await runningExecutionsOf(sfn(), MACHINE)).map((e) => e.name), ["a", "b", "c", "d", "e"]);
    });

    it("another run listed on a later page still stops this one", async () => {
        paged(["me", "other"], 1);
        await assert.rejects(assertNoOtherRun(sfn(), context(), "restore"), /execution 'other'/);
    });

    it("an answer without a list means nothing is running", async () => {
        mock.on(ListExecutionsCommand).resolves({});
        assert.deepStrictEqual(await runningExecutionsOf(sfn(), MACHINE), []);
    });
});
