/**
 * The restore machine's Lambdas for machine tests: their ARNs under a name prefix, each
 * bound to its real handler. Used by the restore machine's tests and by machines that
 * start a restore.
 */
// @ts-nocheck

import { RestoreFunctionArns } from "../components/machines/restore";
import { handler as alertHandler } from "../functions/alert";
import { handler as applySettings } from "../functions/restore-apply-settings";
import { handler as deleteOld } from "../functions/restore-delete-old";
import { handler as exportSnapshot } from "../functions/restore-export";
import { handler as restoreFromSnapshot } from "../functions/restore-from-snapshot";
import { handler as prune } from "../functions/restore-prune";
import { handler as rename } from "../functions/restore-rename";
import { handler as rollback } from "../functions/restore-rollback";
import { handler as snapshot } from "../functions/restore-snapshot";
import { handler as status } from "../functions/restore-status";
import { handler as validate } from "../functions/restore-validate";
import { Handler, HARNESS_ACCOUNT, HARNESS_REGION } from "./machineHarness";

/** ARNs of the restore machine's Lambdas named `<prefix>-<job>` in the harness's account and region. */
export function restoreArns(prefix: string): RestoreFunctionArns {
    const fn = (job: string) => `arn:aws:lambda:${HARNESS_REGION}:${HARNESS_ACCOUNT}:function:${prefix}-${job}`;
    return {
        validate: fn("restore-validate"),
        snapshot: fn("restore-snapshot"),
        prune: fn("restore-prune"),
        status: fn("restore-status"),
        rename: fn("restore-rename"),
        restore: fn("restore-from-snapshot"),
        applySettings: fn("restore-apply-settings"),
        deleteOld: fn("restore-delete-old"),
        rollback: fn("restore-rollback"),
        export: fn("restore-export"),
        alert: fn("alert"),
    };
}

/** Each ARN bound to its real handler; the alert Lambda to `alert` (defaults to the real one). */
export function restoreHandlers(arns: RestoreFunctionArns, alert: Handler = alertHandler): Record<string, Handler> {
    return {
        [arns.validate]: validate,
        [arns.snapshot]: snapshot,
        [arns.prune]: prune,
        [arns.status]: status,
        [arns.rename]: rename,
        [arns.restore]: restoreFromSnapshot,
        [arns.applySettings]: applySettings,
        [arns.deleteOld]: deleteOld,
        [arns.rollback]: rollback,
        [arns.export]: exportSnapshot,
        [arns.alert]: alert,
    };
}
