// The RPO alarm's default threshold comes from the schedule that makes the recovery points the
// dr stack measures (readiness.rpoMinutes still overrides it).
import * as assert from "assert";
import { defaultRpoForSource, POINT_IN_TIME_RPO_MINUTES } from "../components/readiness";
import { runProgram } from "./program";

const threshold = async (sets: string[]) => {
    const run = await runProgram("dr", { sets });
    const alarm = run.resources.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.name === "pilotlight-readiness-rpo-pilotlight-db");
    assert.ok(alarm, "the dr stack has the RPO alarm");
    return alarm!.inputs.threshold;
};

describe("readiness: the default RPO target follows the failover source's producer", function () {
    this.timeout(60_000);

    it("per source: point in time from the log shipping, copies from the copy and backup schedules the dr file states, a pinned snapshot fixed", () => {
        assert.strictEqual(POINT_IN_TIME_RPO_MINUTES, 30);
        assert.strictEqual(defaultRpoForSource("pointInTime", { copySchedule: "rate(1 day)", backupsSchedule: "rate(2 hours)" }), 30);
        // latestCopy: the primary's backups and the copy source both share into dr; the more frequent one sets the pace.
        assert.strictEqual(defaultRpoForSource("latestCopy", { copySchedule: "rate(1 day)", backupsSchedule: "rate(2 hours)" }), 180);
        assert.strictEqual(defaultRpoForSource("latestCopy", { copySchedule: "rate(6 hours)" }), 540);
        assert.strictEqual(defaultRpoForSource("latestCopy", { backupsSchedule: "rate(4 hours)" }), 360);
        assert.strictEqual(defaultRpoForSource("latestCopy", {}), 2160, "nothing stated: a day and a half");
        assert.strictEqual(defaultRpoForSource("latestCopy", { copySchedule: "cron(0 3 * * ? *)" }), 2160, "a cron schedule has no fixed interval");
        // adopt: the copy target's restored instance follows the copy source only.
        assert.strictEqual(defaultRpoForSource("adopt", { copySchedule: "rate(12 hours)", backupsSchedule: "rate(2 hours)" }), 1080);
        assert.strictEqual(defaultRpoForSource("adopt", { backupsSchedule: "rate(2 hours)" }), 2160);
        assert.strictEqual(defaultRpoForSource("snapshot", { copySchedule: "rate(1 hour)", backupsSchedule: "rate(1 hour)" }), 2160, "a named snapshot never gets newer");
    });

    it("the synthesized dr stack alarms at the default of its source, and rpoMinutes overrides it", async () => {
        assert.strictEqual(await threshold(["copy.schedule=rate(6 hours)"]), 540);
        assert.strictEqual(await threshold(["failoverDatabase.source=pointInTime", "failoverDatabase.automatedBackupsArn=arn:aws:rds:us-west-2:222222222222:auto-backup:ab-abc123"]), 30);
        assert.strictEqual(await threshold(["copy.schedule=rate(6 hours)", "readiness.rpoMinutes=45"]), 45);
    });
});
