// Media replication is watched with or without S3 Replication Time Control: S3 publishes
// replication metrics whenever the rule enables them ("You can enable S3 Replication metrics
// independently of S3 RTC"), so the failure and latency alarms and the lag panel never depend on RTC.
import * as assert from "assert";
import { replicationRule } from "../components/replicatedBucket";
import { oneResource, runProgram } from "./program";

const TARGET = { bucketName: "b", bucketArn: "arn:aws:s3:::b", accountId: "222222222222", region: "us-west-2", keyAlias: "alias/x", keyAliasArn: "arn:aws:kms:us-west-2:222222222222:alias/x", keysPattern: "arn:aws:kms:us-west-2:222222222222:key/*", keyLabel: "X" };

describe("readiness: media replication alarms without Replication Time Control", function () {
    this.timeout(60_000);

    it("a rule without RTC still enables replication metrics, with no event threshold (that is RTC's OperationMissedThreshold event)", () => {
        const dest = replicationRule("media-to-dr", TARGET, true, false).destination as any;
        assert.deepStrictEqual(dest.metrics, { status: "Enabled" });
        assert.strictEqual(dest.replicationTime, undefined);
        const rtc = replicationRule("media-to-dr", TARGET, true, true).destination as any;
        assert.deepStrictEqual([rtc.replicationTime, rtc.metrics], [{ status: "Enabled", time: { minutes: 15 } }, { status: "Enabled", eventThreshold: { minutes: 15 } }]);
    });

    it("prod without RTC alarms on failed operations and latency, and the dashboard shows the lag", async () => {
        const prod = await runProgram("prod", { sets: ["media.replicationTimeControl=false"] });
        const [rule] = oneResource(prod, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "media-replication").inputs.rules;
        assert.deepStrictEqual(rule.destination.metrics, { status: "Enabled" });
        const alarms = prod.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").map((r) => [r.inputs.name, r.inputs.metricName]);
        assert.deepStrictEqual(alarms.filter(([n]) => /replication/.test(n)).sort(), [
            ["pilotlight-readiness-replication-failed", "OperationsFailedReplication"],
            ["pilotlight-readiness-replication-latency", "ReplicationLatency"],
        ]);
        const dashboard = JSON.parse(prod.resources.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody);
        assert.ok(dashboard.widgets.some((w: any) => String(w.properties.title).startsWith("Media replication")), "the lag panel");
    });

    it("dr without RTC: the same alarms on its failback rule, in the pilot light already, so failing over changes neither them nor the dashboard", async () => {
        const alarmsAndDashboard = (run: Awaited<ReturnType<typeof runProgram>>) =>
            run.resources.filter((r) => r.type === "aws:cloudwatch/dashboard:Dashboard" || (r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && /replication/.test(r.inputs.name))).map((r) => [r.name, r.inputs]);
        const off = await runProgram("dr", { sets: ["media.replicationTimeControl=false"] });
        const on = await runProgram("dr", { sets: ["failover=true", "media.replicationTimeControl=false"] });
        const latency = on.resources.find((r) => r.inputs?.name === "pilotlight-readiness-replication-latency");
        assert.ok(latency, "latency alarm on dr's failback replication");
        assert.strictEqual(latency!.inputs.dimensions.RuleId, "media-to-primary");
        assert.deepStrictEqual(alarmsAndDashboard(on), alarmsAndDashboard(off));
        // Before failover there is no rule, so no data: the alarms read it as OK, never as a failure.
        assert.strictEqual(off.resources.find((r) => r.inputs?.name === "pilotlight-readiness-replication-failed")!.inputs.treatMissingData, "notBreaching");
    });
});
