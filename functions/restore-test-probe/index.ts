/**
 * The restore test's probe: runs inside the DR network and opens a TCP connection to the restored
 * throwaway database (functions/lib/restoreTest.ts `probe`). Calls no AWS API.
 */
import { Socket } from "net";
import { asTask } from "../lib/errors";
import { Connect, probe, TestJob } from "../lib/restoreTest";

const connect: Connect = (host, port, timeoutMs) =>
    new Promise<void>((resolve, reject) => {
        const socket = new Socket();
        const done = (err?: Error) => {
            socket.destroy();
            if (err) reject(err);
            else resolve();
        };
        socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
        socket.once("error", (err) => done(err));
        socket.connect(port, host, () => done());
    });

export async function handler(event: { job: TestJob }): Promise<TestJob> {
    return asTask(() => probe(connect, event.job));
}
