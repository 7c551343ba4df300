/** The alert channel fakes enforce what the AWS API reference says. */
import * as assert from "assert";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { FakeAlerts, TOPIC_ARN } from "./fakeAlerts";

describe("FakeAlerts", () => {
    let alerts: FakeAlerts;
    beforeEach(() => (alerts = new FakeAlerts()));
    afterEach(() => alerts.restore());

    it("SNS refuses a Subject of 100 characters or more, or with a line break or control character", async () => {
        const sns = new SNSClient({});
        const publish = (Subject: string) => sns.send(new PublishCommand({ TopicArn: TOPIC_ARN, Subject, Message: "m" }));
        await publish("s".repeat(99));
        for (const bad of ["s".repeat(100), "a\nb", "a\rb", "a\tb", "a\u0000b", "a\u2028b"]) {
            await assert.rejects(publish(bad), { name: "InvalidParameterException" }, JSON.stringify(bad));
        }
        assert.strictEqual(alerts.published.length, 1);
    });
});
