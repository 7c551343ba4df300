import * as assert from "assert";
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../functions/copy-trigger";

const MACHINE = "arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-copy-target";
const ARN = "arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-cp-20260101000000";
const MESSAGE = { snapshotArn: ARN, sourceIdentifier: "wordpress", engine: "postgres", createdAt: "2026-01-01T00:00:00Z" };

function sns(message: unknown) {
    return { Records: [{ Sns: { TopicArn: "arn:aws:sns:us-east-1:111111111111:pilotlight-snapshot-copy", Message: typeof message === "string" ? message : JSON.stringify(message) } }] };
}

describe("copy-trigger handler", () => {
    let sfn: ReturnType<typeof mockClient>;
    let started: Map<string, string>;
    let loseNextResponse: boolean;

    beforeEach(() => {
        started = new Map();
        loseNextResponse = false;
        sfn = mockClient(SFNClient);
        // Step Functions: a name is used once; a second start with it fails.
        sfn.on(StartExecutionCommand).callsFake(async (input: { name: string; input: string }) => {
            if (started.has(input.name)) throw new ExecutionAlreadyExists({ $metadata: {}, message: `Execution Already Exists: '${input.name}'` });
            started.set(input.name, input.input);
            if (loseNextResponse) {
                loseNextResponse = false;
                throw Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
            }
            return { executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:${input.name}`, startDate: new Date() };
        });
        Object.assign(process.env, { STATE_MACHINE_ARN: MACHINE, SOURCE_ACCOUNT_ID: "111111111111", SOURCE_IDENTIFIER: "wordpress", TARGET_REGION: "us-west-2" });
    });

    afterEach(() => {
        sfn.restore();
        for (const k of ["STATE_MACHINE_ARN", "SOURCE_ACCOUNT_ID", "SOURCE_IDENTIFIER", "TARGET_REGION"]) delete process.env[k];
    });

    it("starts one execution per shared snapshot, named after it; a duplicate delivery starts nothing", async () => {
        const first = await handler(sns(MESSAGE));
        const second = await handler(sns(MESSAGE));
        assert.deepStrictEqual(first, [{ snapshotArn: ARN, executionName: "copy-wordpress-cp-20260101000000", started: true }]);
        assert.deepStrictEqual(second, [{ snapshotArn: ARN, executionName: "copy-wordpress-cp-20260101000000", started: false }]);
        assert.strictEqual(started.size, 1);
        assert.deepStrictEqual(JSON.parse(started.get("copy-wordpress-cp-20260101000000")!), { task: "copy", ...MESSAGE });
        assert.strictEqual(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn, MACHINE);
    });

    const bad: { name: string; message: unknown; expect: RegExp }[] = [
        { name: "not JSON", message: "hello", expect: /not JSON/ },
        { name: "from another account", message: { ...MESSAGE, snapshotArn: ARN.replace("111111111111", "333333333333") }, expect: /belongs to account 333333333333/ },
        { name: "in another region", message: { ...MESSAGE, snapshotArn: ARN.replace("us-west-2", "eu-west-1") }, expect: /is in eu-west-1/ },
        { name: "of another instance", message: { ...MESSAGE, sourceIdentifier: "billing" }, expect: /not the configured source/ },
        { name: "a cluster snapshot", message: { ...MESSAGE, snapshotArn: ARN.replace(":snapshot:", ":cluster-snapshot:") }, expect: /not an RDS snapshot ARN/ },
        { name: "a bad timestamp", message: { ...MESSAGE, createdAt: "yesterday" }, expect: /createdAt "yesterday"/ },
    ];
    for (const t of bad) {
        it(`rejects a message ${t.name} and starts nothing`, async () => {
            await assert.rejects(handler(sns(t.message)), (e: Error) => e.name === "InvalidInputError" && t.expect.test(e.message));
            assert.strictEqual(started.size, 0);
        });
    }

    it("rejects an event without records", async () => {
        await assert.rejects(handler({}), /expected an SNS event with Records; got \{\}/);
        await assert.rejects(handler({ Records: [] }), /expected an SNS event with Records/);
        await assert.rejects(handler({ Records: "x" } as any), /expected an SNS event with Records/);
        await assert.rejects(handler(undefined as any), /expected an SNS event with Records/);
        await assert.rejects(handler({ Records: [{}] }), /copy message is not JSON/);
        assert.strictEqual(started.size, 0);
    });

    it("a batch with one bad record starts nothing, not even the good ones", async () => {
        const batch = { Records: [...sns(MESSAGE).Records, ...sns({ ...MESSAGE, sourceIdentifier: "billing" }).Records] };
        await assert.rejects(handler(batch), /not the configured source/);
        assert.strictEqual(started.size, 0);
    });

    it("starts each snapshot of a batch once, in order", async () => {
        const other = { ...MESSAGE, snapshotArn: ARN.replace("20260101000000", "20260102000000"), createdAt: "2026-01-02T00:00:00Z" };
        const out = await handler({ Records: [...sns(MESSAGE).Records, ...sns(other).Records, ...sns(MESSAGE).Records] });
        assert.deepStrictEqual(out.map((r) => [r.executionName, r.started]), [
            ["copy-wordpress-cp-20260101000000", true],
            ["copy-wordpress-cp-20260102000000", true],
            ["copy-wordpress-cp-20260101000000", false],
        ]);
    });

    it("a retry after a lost StartExecution response counts the execution as started before, without error", async () => {
        loseNextResponse = true;
        await assert.rejects(handler(sns(MESSAGE)), /socket hang up/);
        const retried = await handler(sns(MESSAGE));
        assert.deepStrictEqual(retried, [{ snapshotArn: ARN, executionName: "copy-wordpress-cp-20260101000000", started: false }]);
        assert.strictEqual(started.size, 1);
    });

    it("any other Step Functions error fails the delivery (SNS retries it)", async () => {
        sfn.on(StartExecutionCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
        await assert.rejects(handler(sns(MESSAGE)), /denied/);
    });
});
