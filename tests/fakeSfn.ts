/**
 * A small fake of Step Functions' executions, for the machines' concurrent-run checks
 * and for a machine that starts another. `running` lists executions other than the one
 * under test; `started` those StartExecution created, each reporting the statuses
 * `onStart` gave it. Each call is recorded.
 */
import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";

export interface FakeExecution {
    name: string;
    stateMachineArn: string;
    input: unknown;
    /** When it started. Defaults to 2026-01-01T00:00:00Z. */
    startDate?: Date;
}

/** An execution StartExecution created. */
export interface StartedExecution extends FakeExecution {
    input: string;
    /** What DescribeExecution reports, one status a call; the last one stays. */
    statuses: string[];
    /** What DescribeExecution reports once the execution ended: `output` if it succeeded, `error` and `cause` if not. */
    output?: string;
    error?: string;
    cause?: string;
}

export class FakeSfn {
    readonly running: FakeExecution[] = [];
    readonly started: StartedExecution[] = [];
    readonly calls: { command: string; input: Record<string, unknown> }[] = [];
    /**
     * Decides the statuses a started execution goes through, when it starts (it may run
     * the machine); the execution is RUNNING meanwhile. Defaults to RUNNING once, then SUCCEEDED.
     */
    onStart: (e: StartedExecution) => string[] | Promise<string[]> = () => ["RUNNING", "SUCCEEDED"];
    private readonly mock = mockClient(SFNClient);

    constructor() {
        this.mock.onAnyCommand().callsFake((input: Record<string, unknown>) => {
            throw new Error(`FakeSfn: unsupported command with input ${JSON.stringify(input)}`);
        });
        this.mock.on(ListExecutionsCommand).callsFake(async (input: { stateMachineArn?: string; statusFilter?: string }) => {
            this.calls.push({ command: "ListExecutions", input: { ...input } });
            const running = [...this.running, ...this.started.filter((e) => e.statuses[0] === "RUNNING")];
            const list = input.statusFilter && input.statusFilter !== "RUNNING" ? [] : running;
            return {
                executions: list
                    .filter((e) => e.stateMachineArn === input.stateMachineArn)
                    .map((e) => ({
                        name: e.name,
                        executionArn: this.arnOf(e),
                        stateMachineArn: e.stateMachineArn,
                        status: "RUNNING",
                        startDate: e.startDate ?? new Date("2026-01-01T00:00:00Z"),
                    })),
            };
        });
        this.mock.on(DescribeExecutionCommand).callsFake(async (input: { executionArn?: string }) => {
            this.calls.push({ command: "DescribeExecution", input: { ...input } });
            const started = this.started.find((r) => this.arnOf(r) === input.executionArn);
            const e = started ?? this.running.find((r) => this.arnOf(r) === input.executionArn);
            if (!e) throw new ExecutionDoesNotExist({ $metadata: {}, message: `Execution ${input.executionArn} does not exist` });
            const status = started ? (started.statuses.length > 1 ? started.statuses.shift()! : started.statuses[0]) : "RUNNING";
            // Step Functions: output "is set only if the execution succeeds"; error and cause once it failed.
            const ended = started && status !== "RUNNING" ? { output: status === "SUCCEEDED" ? started.output : undefined, error: started.error, cause: started.cause } : {};
            return {
                executionArn: input.executionArn,
                stateMachineArn: e.stateMachineArn,
                name: e.name,
                status,
                input: typeof e.input === "string" ? e.input : JSON.stringify(e.input),
                ...ended,
            };
        });
        this.mock.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string; input: string }) => {
            this.calls.push({ command: "StartExecution", input: { ...input } });
            const same = this.started.find((e) => e.stateMachineArn === input.stateMachineArn && e.name === input.name);
            // Step Functions: the same name and input while it runs is the same execution; otherwise the name is taken.
            if (same && !(same.input === input.input && same.statuses[0] === "RUNNING")) {
                throw new ExecutionAlreadyExists({ $metadata: {}, message: `Execution Already Exists: '${this.arnOf(same)}'` });
            }
            let e = same;
            if (!e) {
                e = { name: input.name, stateMachineArn: input.stateMachineArn, input: input.input, statuses: ["RUNNING"] };
                this.started.push(e);
                e.statuses = [...(await this.onStart(e))];
            }
            return { executionArn: this.arnOf(e), startDate: new Date("2026-01-01T00:00:00Z") };
        });
    }

    /** Adds a running execution of `stateMachineArn` with `input`. */
    addRunning(stateMachineArn: string, name: string, input: unknown, startDate?: Date): void {
        this.running.push({ name, stateMachineArn, input, startDate });
    }

    /** Adds an execution started earlier (e.g. by a previous run), reporting `statuses`. */
    addStarted(stateMachineArn: string, name: string, input: string, statuses: string[]): StartedExecution {
        const e: StartedExecution = { name, stateMachineArn, input, statuses: [...statuses] };
        this.started.push(e);
        return e;
    }

    arnOf(e: FakeExecution): string {
        return e.stateMachineArn.replace(":stateMachine:", ":execution:") + `:${e.name}`;
    }

    restore(): void {
        this.mock.restore();
    }
}
