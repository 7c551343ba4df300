/** The alert channel fakes enforce what the AWS API reference says. */
import * as assert from "assert";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
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

    it("SES refuses non-ASCII subject or text without a character set", async () => {
        const ses = new SESv2Client({});
        const send = (subject: string, body: string, Charset?: string) =>
            ses.send(new SendEmailCommand({ FromEmailAddress: "dr@example.com", Destination: { ToAddresses: ["ops@example.com"] }, Content: { Simple: { Subject: { Data: subject, Charset }, Body: { Text: { Data: body, Charset } } } } }));
        await send("plain", "text");
        await send("caf\u00e9 \u2026", "\u00fcber", "UTF-8");
        await assert.rejects(send("caf\u00e9", "text"), { name: "BadRequestException" });
        await assert.rejects(send("plain", "\u00fcber"), { name: "BadRequestException" });
        assert.deepStrictEqual(alerts.emails.map((e) => e.subject), ["plain", "caf\u00e9 \u2026"]);
    });
});
