/**
 * Typed errors for pilotlight's Lambda handlers.
 *
 * Step Functions matches Retry and Catch on the `errorType` a Lambda reports,
 * which the Node.js runtime takes from `error.name`. Every class here sets a
 * stable `name`, and the state machines match on those names (see
 * `RETRYABLE_ERRORS` and the ASL builders in components/machines).
 */
// @ts-nocheck


/** Base class: `name` is the class's own name, kept stable across bundling. */
export abstract class PilotlightError extends Error {
    abstract readonly name: string;
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
    }
}

/** The execution input is malformed: unknown task, bad identifier, wrong type. */
export class InvalidInputError extends PilotlightError {
    readonly name = "InvalidInputError";
}

/** The database named in the input does not exist (as an instance or as a cluster). */
export class DatabaseNotFoundError extends PilotlightError {
    readonly name = "DatabaseNotFoundError";
}

/** The database exists but is not in a state the task can start from (e.g. not `available`). */
export class DatabaseNotReadyError extends PilotlightError {
    readonly name = "DatabaseNotReadyError";
}

/** No usable snapshot: the named one does not exist, or the database has none of pilotlight's. */
export class SnapshotNotFoundError extends PilotlightError {
    readonly name = "SnapshotNotFoundError";
}

/** The named snapshot exists but belongs to another database, or is not available. */
export class SnapshotMismatchError extends PilotlightError {
    readonly name = "SnapshotMismatchError";
}

/** Another execution is already working on the same database. */
export class ConcurrentRunError extends PilotlightError {
    readonly name = "ConcurrentRunError";
}

/** A resource the machine waits for ended in a terminal bad state (`failed`, `incompatible-restore`, export `FAILED`...). */
export class ResourceFailedError extends PilotlightError {
    readonly name = "ResourceFailedError";
}

/** RDS is not in the state a step expects (e.g. the original where a restore should be): stop rather than guess. */
export class UnexpectedStateError extends PilotlightError {
    readonly name = "UnexpectedStateError";
}

/** A rollback could not bring the original back; an operator must act. */
export class RollbackError extends PilotlightError {
    readonly name = "RollbackError";
}

/** A throttled, timed-out or 5xx call: safe to retry as is. */
export class TransientError extends PilotlightError {
    readonly name = "TransientError";
}

/** Error names the machines retry with backoff (besides the Lambda service's own). */
export const RETRYABLE_ERRORS = [
    "TransientError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
] as const;

const TRANSIENT_SDK_NAMES = new Set([
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "TimeoutError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ECONNRESET",
    "ETIMEDOUT",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
]);

interface SdkErrorShape {
    name?: string;
    code?: string;
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
}

/** True when an AWS SDK (or network) error is worth retrying unchanged. */
export function isTransient(err: unknown): boolean {
    if (!err || typeof err !== "object") return false;
    const e = err as SdkErrorShape;
    if (e.name && TRANSIENT_SDK_NAMES.has(e.name)) return true;
    if (e.code && TRANSIENT_SDK_NAMES.has(e.code)) return true;
    if (e.$retryable) return true;
    const status = e.$metadata?.httpStatusCode;
    return e.$fault === "server" || (status !== undefined && (status === 429 || status >= 500));
}

/**
 * Normalizes anything a handler caught: pilotlight errors pass through,
 * transient SDK errors become `TransientError` (so Retry matches one name),
 * other SDK errors keep their own name (e.g. `InvalidDBInstanceStateFault`).
 */
export function toTaskError(err: unknown): Error {
    if (err instanceof PilotlightError) return err;
    if (isTransient(err)) {
        const e = err as Error;
        return new TransientError(`${e.name}: ${e.message}`, { cause: err });
    }
    if (err instanceof Error) return err;
    return new Error(String(err));
}

/** Runs `fn`, rethrowing whatever it throws through `toTaskError`. */
export async function asTask<T>(fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (err) {
        throw toTaskError(err);
    }
}
