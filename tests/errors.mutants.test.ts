/**
 * The typed errors the machines' Retry and Catch match on: which names are retried, and what a
 * handler's failure is reported as. A transient error reported under its own name is not retried
 * (the step fails); a permanent one reported as TransientError is retried in vain.
 */
import * as assert from "assert";
import {
    asTask,
    ConcurrentRunError,
    DatabaseNotFoundError,
    DatabaseNotReadyError,
    InvalidInputError,
    isTransient,
    PilotlightError,
    ResourceFailedError,
    RETRYABLE_ERRORS,
    RollbackError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    toTaskError,
    TransientError,
    UnexpectedStateError,
} from "../functions/lib/errors";

const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} happened`), { name, $metadata: {}, ...extra });

describe("errors", () => {
    it("every pilotlight error reports its class name, its message and its cause", () => {
        const classes = [InvalidInputError, DatabaseNotFoundError, DatabaseNotReadyError, SnapshotNotFoundError, SnapshotMismatchError, ConcurrentRunError, ResourceFailedError, UnexpectedStateError, RollbackError, TransientError];
        for (const C of classes) {
            const cause = new Error("under");
            const err = new C("what went wrong", { cause });
            assert.strictEqual(err.name, C.name);
            assert.strictEqual(err.message, "what went wrong");
            assert.strictEqual(err.cause, cause);
            assert.ok(err instanceof PilotlightError && err instanceof Error);
        }
        assert.ok((RETRYABLE_ERRORS as readonly string[]).includes("TransientError"));
        assert.ok((RETRYABLE_ERRORS as readonly string[]).includes("Lambda.ServiceException"));
    });

    describe("isTransient", () => {
        it("retries throttling, timeouts, 5xx and network errors by name or code", () => {
            for (const name of ["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestTimeout", "TimeoutError", "ServiceUnavailable", "InternalFailure", "InternalError"]) {
                assert.strictEqual(isTransient(sdkError(name)), true, name);
            }
            for (const code of ["ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]) {
                assert.strictEqual(isTransient(Object.assign(new Error("socket"), { code })), true, code);
            }
        });

        it("retries what the SDK marks retryable, a server fault, HTTP 429 and any 5xx", () => {
            assert.strictEqual(isTransient(sdkError("Odd", { $retryable: { throttling: false } })), true);
            assert.strictEqual(isTransient(sdkError("Odd", { $fault: "server" })), true);
            for (const status of [429, 500, 503]) assert.strictEqual(isTransient(sdkError("Odd", { $metadata: { httpStatusCode: status } })), true, String(status));
        });

        it("does not retry client errors, nor anything that is not an error object", () => {
            assert.strictEqual(isTransient(sdkError("InvalidDBInstanceStateFault", { $fault: "client", $metadata: { httpStatusCode: 400 } })), false);
            for (const status of [400, 404, 428, 499]) assert.strictEqual(isTransient(sdkError("Odd", { $metadata: { httpStatusCode: status } })), false, String(status));
            assert.strictEqual(isTransient(sdkError("Odd", { $retryable: undefined, code: "EACCES" })), false);
            assert.strictEqual(isTransient(new Error("plain")), false);
            for (const v of [undefined, null, "ThrottlingException", 503, true]) assert.strictEqual(isTransient(v), false, String(v));
        });
    });

    describe("toTaskError and asTask", () => {
        it("passes pilotlight errors through, makes transient ones TransientError naming the original, keeps the rest", async () => {
            const own = new RollbackError("original lost");
            assert.strictEqual(toTaskError(own), own);
            const throttled = sdkError("ThrottlingException", { message: "Rate exceeded" });
            const t = toTaskError(throttled);
            assert.strictEqual(t.name, "TransientError");
            assert.strictEqual(t.message, "ThrottlingException: Rate exceeded");
            assert.strictEqual(t.cause, throttled);
            const fault = sdkError("InvalidDBInstanceStateFault", { $fault: "client" });
            assert.strictEqual(toTaskError(fault), fault);
            const odd = toTaskError("just text");
            assert.ok(odd instanceof Error);
            assert.strictEqual(odd.message, "just text");
            assert.strictEqual(odd.name, "Error");
        });

        it("asTask returns the result, and rethrows failures as task errors", async () => {
            assert.strictEqual(await asTask(async () => 7), 7);
            await assert.rejects(asTask(async () => Promise.reject(sdkError("RequestTimeout"))), { name: "TransientError", message: "RequestTimeout: RequestTimeout happened" });
            await assert.rejects(asTask(async () => Promise.reject(new SnapshotNotFoundError("none"))), { name: "SnapshotNotFoundError", message: "none" });
        });
    });
});
