/**
 * A small fake of Step Functions' execution listing, for the restore
 * machine's concurrent-run check. `running` lists executions other than the
 * one under test; each call is recorded.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";

export interface FakeExecution {
    name: string;
    stateMachineArn: string;
    input: unknown;
}

export class FakeSfn {
    readonly running: FakeExecution[] = [];
    readonly calls: { command: string; input: Record<string, unknown> }[] = [];
    private readonly mock = mockClient(SFNClient);

    constructor() {
        this.mock.onAnyCommand().callsFake((input: Record<string, unknown>) => {
            throw new Error(`FakeSfn: unsupported command with input ${JSON.stringify(input)}`);
        });
        this.mock.on(ListExecutionsCommand).callsFake(async (input: { stateMachineArn?: string; statusFilter?: string }) => {
            this.calls.push({ command: "ListExecutions", input: { ...input } });
            const list = input.statusFilter && input.statusFilter !== "RUNNING" ? [] : this.running;
            return {
                executions: list
                    .filter((e) => e.stateMachineArn === input.stateMachineArn)
                    .map((e) => ({
                        name: e.name,
                        executionArn: this.arnOf(e),
                        stateMachineArn: e.stateMachineArn,
                        status: "RUNNING",
                        startDate: new Date("2026-01-01T00:00:00Z"),
                    })),
            };
        });
        this.mock.on(DescribeExecutionCommand).callsFake(async (input: { executionArn?: string }) => {
            this.calls.push({ command: "DescribeExecution", input: { ...input } });
            const e = this.running.find((r) => this.arnOf(r) === input.executionArn);
            if (!e) throw new ExecutionDoesNotExist({ $metadata: {}, message: `Execution ${input.executionArn} does not exist` });
            return {
                executionArn: input.executionArn,
                stateMachineArn: e.stateMachineArn,
                name: e.name,
                status: "RUNNING",
                input: typeof e.input === "string" ? e.input : JSON.stringify(e.input),
            };
        });
    }

    /** Adds a running execution of `stateMachineArn` with `input`. */
    addRunning(stateMachineArn: string, name: string, input: unknown): void {
        this.running.push({ name, stateMachineArn, input });
    }

    arnOf(e: FakeExecution): string {
        return e.stateMachineArn.replace(":stateMachine:", ":execution:") + `:${e.name}`;
    }

    restore(): void {
        this.mock.restore();
    }
}
