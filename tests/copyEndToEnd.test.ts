// The two sides of the cross-account copy, each in its own account's fake, joined only by
// what really crosses the boundary: the published message and the snapshot shared with
// the target account.
import * as assert from "assert";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { copyTargetDefinition } from "../components/machines/copyTarget";
import { snapshotMachineDefinition } from "../components/machines/snapshotMachine";
import { handler as sourceHandler } from "../functions/copy-source";
import { handler as targetHandler } from "../functions/copy-target";
import { handler as triggerHandler } from "../functions/copy-trigger";
import { ACCOUNT, FakeRds } from "./fakeRds";
import { FakeSecrets } from "./fakeSecrets";
import { FakeSfn } from "./fakeSfn";
import { runMachine } from "./machineHarness";

const SOURCE_ACCOUNT = ACCOUNT;
const TARGET_ACCOUNT = "222222222222";
const SHARED_KEY = `arn:aws:kms:us-east-1:${SOURCE_ACCOUNT}:key/mrk-shared`;
const REPLICA_KEY = `arn:aws:kms:us-west-2:${SOURCE_ACCOUNT}:key/mrk-shared`;
const DR_KEY = `arn:aws:kms:us-west-2:${TARGET_ACCOUNT}:key/dr`;
const SOURCE_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-copy-source";
const TARGET_FN = "arn:aws:lambda:us-west-2:222222222222:function:pilotlight-copy-target";
const ALERT_FN = "arn:aws:lambda:us-east-1:123456789012:function:pilotlight-alerts";
const SECRET = "pilotlight/copy/wordpress";
const ENV_KEYS = ["HOLD_SECRET_ID", "HOME_REGION", "DR_REGION", "SHARED_KEY_ARN", "DR_KEY_ARN", "KEEP", "DATABASES", "PEER_ACCOUNT_ID", "TOPIC_ARN", "STATE_MACHINE_ARN", "SOURCE_ACCOUNT_ID", "SOURCE_IDENTIFIER", "TARGET_REGION", "TARGET_NAME", "SECRET_ID", "INSTANCE_CLASS", "SUBNET_GROUP_NAME", "SECURITY_GROUP_IDS", "MULTI_AZ"];

describe("cross-account copy, source to target", () => {
    afterEach(() => {
        for (const k of ENV_KEYS) delete process.env[k];
    });

    it("a snapshot of the source instance becomes <name>-v1 in the target account, and the secret points at it", async () => {
        // ---- source account
        const source = new FakeRds();
        source.addInstance({ identifier: "wordpress", data: "posts-v42", info: { KmsKeyId: SHARED_KEY } });
        const sns = mockClient(SNSClient);
        const sourceSfn = new FakeSfn();
        const published: string[] = [];
        sns.on(PublishCommand).callsFake(async (input: { Message: string }) => {
            published.push(input.Message);
            return { MessageId: "m-1" };
        });
        Object.assign(process.env, {
            HOME_REGION: "us-east-1",
            DR_REGION: "us-west-2",
            SHARED_KEY_ARN: SHARED_KEY,
            DR_KEY_ARN: REPLICA_KEY,
            KEEP: "2",
            DATABASES: JSON.stringify([{ identifier: "wordpress", isCluster: false }]),
            PEER_ACCOUNT_ID: TARGET_ACCOUNT,
            TOPIC_ARN: "arn:aws:sns:us-west-2:123456789012:pilotlight-snapshot-copy",
        });
        const alerts: unknown[] = [];
        const alert = async (e: unknown) => (alerts.push(e), { delivered: 1 });
        const src = await runMachine(snapshotMachineDefinition({ job: SOURCE_FN, alert: ALERT_FN }, { kind: "copy-source" }), {}, { handlers: { [SOURCE_FN]: sourceHandler, [ALERT_FN]: alert } });
        assert.strictEqual(src.status, "SUCCEEDED", `${src.error}: ${src.cause}`);
        assert.strictEqual(published.length, 1);
        const message = JSON.parse(published[0]);
        const shared = [...source.inRegion("us-west-2").snapshots.values()].find((s) => s.info.DBSnapshotArn === message.snapshotArn)!;
        source.restore();
        sns.restore();
        sourceSfn.restore();

        // ---- what crosses: the message, and the snapshot only if it was shared with the target account
        assert.ok(shared.restoreAccounts?.includes(TARGET_ACCOUNT));
        const target = new FakeRds({ region: "us-west-2", account: TARGET_ACCOUNT });
        target.addSharedSnapshot(message.snapshotArn, { data: shared.data, kmsKeyId: shared.info.KmsKeyId!, engine: shared.info.Engine, databaseIdentifier: shared.info.DBInstanceIdentifier, created: shared.info.SnapshotCreateTime!.toISOString() });
        const secrets = new FakeSecrets([SECRET]);
        const sfn = mockClient(SFNClient);
        const starts: { name: string; input: string }[] = [];
        sfn.on(StartExecutionCommand).callsFake(async (input: { name: string; input: string }) => {
            starts.push(input);
            return { executionArn: `x:${input.name}`, startDate: new Date() };
        });
        try {
            for (const k of ENV_KEYS) delete process.env[k];
            Object.assign(process.env, {
                STATE_MACHINE_ARN: "arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-copy-target",
                SOURCE_ACCOUNT_ID: SOURCE_ACCOUNT,
                SOURCE_IDENTIFIER: "wordpress",
                TARGET_REGION: "us-west-2",
                TARGET_NAME: "wordpress",
                DR_KEY_ARN: DR_KEY,
                SECRET_ID: SECRET,
                HOLD_SECRET_ID: `${SECRET}/hold`,
                KEEP: "2",
                INSTANCE_CLASS: "db.t4g.medium",
                SUBNET_GROUP_NAME: "pilotlight-db",
                SECURITY_GROUP_IDS: "sg-0123456789abcdef0",
                MULTI_AZ: "false",
            });
            await triggerHandler({ Records: [{ Sns: { Message: published[0] } }] });
            assert.strictEqual(starts.length, 1);
            const run = await runMachine(copyTargetDefinition({ job: TARGET_FN, alert: ALERT_FN }), JSON.parse(starts[0].input), { handlers: { [TARGET_FN]: targetHandler, [ALERT_FN]: alert } });
            assert.strictEqual(run.status, "SUCCEEDED", `${run.error}: ${run.cause}`);
            const copy = target.instances.get("wordpress-v1")!;
            assert.strictEqual(copy.data, "posts-v42", "the data made it across");
            assert.strictEqual(target.snapshots.get("wordpress-v1")!.info.KmsKeyId, DR_KEY);
            const pointed = secrets.current(SECRET);
            assert.deepStrictEqual([pointed.host, pointed.port, pointed.identifier, pointed.version], [copy.info.Endpoint!.Address, copy.info.Endpoint!.Port, "wordpress-v1", 1]);
            assert.deepStrictEqual([pointed.masterUserSecretArn, copy.info.MasterUserSecret?.KmsKeyId], [copy.info.MasterUserSecret?.SecretArn, DR_KEY], "the DR account holds the copy's password");
            assert.strictEqual(pointed.sourceSnapshotArn, message.snapshotArn);
            assert.deepStrictEqual(alerts, []);
        } finally {
            target.restore();
            secrets.restore();
            sfn.restore();
        }
    });
});
