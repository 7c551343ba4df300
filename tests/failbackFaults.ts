/** Faults the failback machines' tests inject: a call that took effect and whose response was lost. */
import { Handler } from "./machineHarness";

/**
 * Wraps a job handler: the first call of `lose().step` runs (its calls take effect), then
 * fails with `lose().error` as if the response had been lost (`Lambda.ServiceException`,
 * `States.Timeout`). Later calls run normally.
 */
export function losingFirstResponse(handler: Handler, lose: () => { step: string; error: string } | undefined): Handler {
    let lost = false;
    return async (event: { step?: string }) => {
        const out = await handler(event);
        const l = lose();
        if (l && !lost && event.step === l.step) {
            lost = true;
            const e = new Error(`the response of ${l.step} was lost`);
            e.name = l.error;
            throw e;
        }
        return out;
    };
}
