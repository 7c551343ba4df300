import * as assert from "assert";
import { copyTopicPolicy } from "../components/copyMachine";
import { wildcardActions } from "../components/iam";
import { assertValidAsl, taskStates } from "./machineHarness";
import { oneResource, ProgramRun, rolePolicyOf, runProgram } from "./program";

const COPY = 'copy={"source":"wordpress","restore":{"tags":{"team":"web"}}}';

function statement(doc: any, sid: string): any {
    const s = doc.Statement.find((x: any) => x.Sid === sid);
    assert.ok(s, `no statement ${sid} in ${doc.Statement.map((x: any) => x.Sid).join(", ")}`);
    return s;
}

describe("SnapshotCopy component", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    let prodSame: ProgramRun;

    before(async () => {
        prod = await runProgram("prod", { sets: [COPY] });
        dr = await runProgram("dr", { sets: [COPY] });
        prodSame = await runProgram("prod", { sets: [COPY, "peer.accountId=111111111111"] });
    });

    it("source: a topic in the target's region named for the dr stack to compute, whose policy lets the peer account subscribe Lambdas only", () => {
        const topic = oneResource(prod, "aws:sns/topic:Topic", "copy-topic");
        // Beside the shared copies, in the DR region: the dr stack subscribes without the primary region.
        assert.strictEqual(topic.state.arn, "arn:aws:sns:us-west-2:111111111111:pilotlight-snapshot-copy");
        assert.strictEqual(prod.resources.find((r) => r.type === "pulumi:providers:aws" && topic.provider?.includes(r.urn))?.inputs.region, "us-west-2");
        assert.strictEqual(topic.inputs.kmsMasterKeyId, oneResource(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica").state.arn);
        const policy = JSON.parse(oneResource(prod, "aws:sns/topicPolicy:TopicPolicy", "copy-topic-policy").inputs.policy);
        assert.deepStrictEqual(wildcardActions(policy), []);
        const peer = statement(policy, "PeerSubscribesLambda");
        assert.deepStrictEqual(peer.Principal, { AWS: "arn:aws:iam::222222222222:root" });
        assert.deepStrictEqual(peer.Action, ["sns:Subscribe", "sns:GetTopicAttributes"]);
        assert.deepStrictEqual(peer.Condition, { StringEquals: { "sns:Protocol": "lambda" } });
        const same = JSON.parse(oneResource(prodSame, "aws:sns/topicPolicy:TopicPolicy", "copy-topic-policy").inputs.policy);
        assert.ok(!same.Statement.some((s: any) => s.Sid === "PeerSubscribesLambda"), "same account: nothing granted");
        assert.deepStrictEqual(copyTopicPolicy("t", "111111111111", "us-east-1", "111111111111").Statement.length, 2);
    });

    it("source: shares only the DR-region copies of the source and publishes only to its topic", () => {
        const doc = rolePolicyOf(prod, "copy-fn-policy");
        assert.deepStrictEqual(wildcardActions(doc), []);
        assert.deepStrictEqual(statement(doc, "ShareDrCopyWithPeer").Resource, ["arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-*"]);
        assert.deepStrictEqual(statement(doc, "ShareDrCopyWithPeer").Condition, { StringEquals: { "rds:snapshot-tag/pilotlight:created-by": "copy-source" } });
        assert.deepStrictEqual(statement(doc, "AnnounceSharedSnapshots").Resource, ["arn:aws:sns:us-west-2:111111111111:pilotlight-snapshot-copy"]);
        assert.deepStrictEqual(statement(doc, "EncryptAnnouncementsThroughSns").Condition, { StringEquals: { "kms:ViaService": "sns.us-west-2.amazonaws.com" } });
        assert.deepStrictEqual(statement(doc, "EncryptAnnouncementsThroughSns").Resource, [oneResource(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica").state.arn]);
        const env = oneResource(prod, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables;
        assert.deepStrictEqual([env.PEER_ACCOUNT_ID, env.DR_REGION, env.KEEP], ["222222222222", "us-west-2", "2"]);
        const sameDoc = rolePolicyOf(prodSame, "copy-fn-policy");
        assert.ok(!sameDoc.Statement.some((s: any) => s.Sid === "ShareDrCopyWithPeer"));
        assert.strictEqual(oneResource(prodSame, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables.PEER_ACCOUNT_ID, "");
    });

    it("source: the machine shares only across accounts; its schedule is disabled by default", () => {
        const def = JSON.parse(oneResource(prod, "aws:sfn/stateMachine:StateMachine", "copy-machine").inputs.definition);
        assertValidAsl(def);
        assert.ok(taskStates(def).includes("Share") && taskStates(def).includes("Publish"));
        const same = JSON.parse(oneResource(prodSame, "aws:sfn/stateMachine:StateMachine", "copy-machine").inputs.definition);
        // Share also marks the copy ready (pilotlight:source); the same-account role may not share (ShareDrCopyWithPeer is absent).
        assert.ok(taskStates(same).includes("Share") && taskStates(same).includes("Publish"));
        const rule = oneResource(prod, "aws:cloudwatch/eventRule:EventRule", "copy-schedule");
        assert.deepStrictEqual([rule.inputs.name, rule.inputs.scheduleExpression, rule.inputs.state], ["pilotlight-copy-source", "rate(1 day)", "DISABLED"]);
    });

    it("target: the dr stack subscribes its trigger to the source topic from its own region (no provider of the primary region), and lets SNS invoke it", () => {
        const sourceTopic = oneResource(prod, "aws:sns/topic:Topic", "copy-topic").state.arn;
        const sub = oneResource(dr, "aws:sns/topicSubscription:TopicSubscription", "copy-subscription");
        assert.strictEqual(sub.inputs.topic, sourceTopic);
        assert.strictEqual(sub.inputs.protocol, "lambda");
        const trigger = oneResource(dr, "aws:lambda/function:Function", "copy-trigger");
        assert.strictEqual(sub.inputs.endpoint, trigger.state.arn);
        assert.ok(!dr.resources.some((r) => r.type === "pulumi:providers:aws" && sub.provider?.includes(r.urn)), "the subscription uses the stack's own (DR-region) provider");
        const elsewhere = dr.resources.filter((r) => r.type === "pulumi:providers:aws" && r.inputs.region !== undefined && r.inputs.region !== "us-west-2");
        assert.deepStrictEqual(elsewhere.map((r) => r.urn), [], "no explicit provider of another region on the dr stack");
        const perm = oneResource(dr, "aws:lambda/permission:Permission", "copy-trigger-from-topic");
        assert.deepStrictEqual([perm.inputs.principal, perm.inputs.action, perm.inputs.sourceArn, perm.inputs.function], ["sns.amazonaws.com", "lambda:InvokeFunction", sourceTopic, "pilotlight-copy-trigger"]);
        const triggerPolicy = rolePolicyOf(dr, "copy-trigger-policy");
        assert.deepStrictEqual(statement(triggerPolicy, "StartCopyTarget").Resource, ["arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-copy-target"]);
        assert.strictEqual(oneResource(dr, "aws:sfn/stateMachine:StateMachine", "copy-machine").inputs.name, "pilotlight-copy-target");
    });

    it("target: copies only the source account's snapshots of the source, re-encrypting with the dr key", () => {
        const doc = rolePolicyOf(dr, "copy-fn-policy");
        assert.deepStrictEqual(wildcardActions(doc), []);
        assert.deepStrictEqual(statement(doc, "CopySharedSnapshot").Resource, ["arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-*", "arn:aws:rds:us-west-2:222222222222:snapshot:wordpress-v*"]);
        const drKey = oneResource(dr, "aws:kms/key:Key", "dr-key").state.arn;
        assert.deepStrictEqual(statement(doc, "UseDrKeyThroughRds").Resource, [drKey]);
        const replica = statement(doc, "ReadSourceReplicaKeyThroughRds");
        assert.deepStrictEqual(replica.Resource, ["arn:aws:kms:us-west-2:111111111111:key/*"]);
        assert.deepStrictEqual(replica.Condition["ForAnyValue:StringEquals"], { "kms:ResourceAliases": "alias/pilotlight-shared" });
        assert.deepStrictEqual(statement(doc, "DeleteOnlyOwnCopies").Condition, { StringEquals: { "rds:db-tag/pilotlight:created-by": "copy-target" } });
        const secret = oneResource(dr, "aws:secretsmanager/secret:Secret", "copy-secret");
        assert.deepStrictEqual([secret.inputs.name, secret.inputs.kmsKeyId], ["pilotlight/copy/wordpress", drKey]);
        assert.deepStrictEqual(statement(doc, "PointSecret").Resource, [secret.state.arn]);
    });

    it("target: restores into the dr network by default", () => {
        const env = oneResource(dr, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables;
        assert.strictEqual(env.SUBNET_GROUP_NAME, oneResource(dr, "aws:rds/subnetGroup:SubnetGroup", "network-db-subnets").state.name);
        assert.strictEqual(env.SECURITY_GROUP_IDS, dr.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name === "network-db")?.id);
        assert.deepStrictEqual([env.INSTANCE_CLASS, env.TARGET_NAME, env.SOURCE_ACCOUNT_ID, env.KEEP, env.COPY_TAGS], ["db.t4g.medium", "wordpress", "111111111111", "2", '{"team":"web"}']);
        const def = JSON.parse(oneResource(dr, "aws:sfn/stateMachine:StateMachine", "copy-machine").inputs.definition);
        assertValidAsl(def);
    });

    it("failover on dr adds only the hold secret to the copy resources, and changes none of them", async () => {
        const on = await runProgram("dr", { sets: [COPY, "failover=true"] });
        const copyUrns = (run: ProgramRun) => run.resources.filter((r) => r.urn.includes("SnapshotCopy")).map((r) => `${r.urn} ${JSON.stringify(r.inputs)}`);
        const hold = oneResource(on, "aws:secretsmanager/secret:Secret", "copy-hold");
        assert.deepStrictEqual([hold.inputs.name, hold.inputs.recoveryWindowInDays], ["pilotlight/copy/wordpress/hold", 0]);
        assert.deepStrictEqual(copyUrns(on).filter((u) => !u.includes("::copy-hold ")), copyUrns(dr));
        assert.ok(!dr.resources.some((r) => r.name === "copy-hold"), "no hold without failover");
        const env = oneResource(dr, "aws:lambda/function:Function", "copy-fn").inputs.environment.variables;
        assert.strictEqual(env.HOLD_SECRET_ID, hold.inputs.name, "the machine reads the hold the stack creates");
    });

    it("target: turns on managed passwords only of its own copies, creates only RDS-managed secrets and reads only its hold", () => {
        const doc = rolePolicyOf(dr, "copy-fn-policy");
        assert.deepStrictEqual(statement(doc, "ManagePasswordOfOwnCopies").Resource, ["arn:aws:rds:us-west-2:222222222222:db:wordpress-v*"]);
        assert.deepStrictEqual(statement(doc, "ManagePasswordOfOwnCopies").Condition, { StringEquals: { "rds:db-tag/pilotlight:created-by": "copy-target" } });
        assert.deepStrictEqual(statement(doc, "CreateManagedPasswordSecret").Resource, ["arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-*"]);
        assert.deepStrictEqual(statement(doc, "ReadHold").Resource, ["arn:aws:secretsmanager:us-west-2:222222222222:secret:pilotlight/copy/wordpress/hold-??????"]);
        const drKey = oneResource(dr, "aws:kms/key:Key", "dr-key").state.arn;
        assert.deepStrictEqual(statement(doc, "SecretKeyThroughSecretsManager").Resource, [drKey]);
        assert.ok(statement(doc, "SecretKeyThroughSecretsManager").Action.includes("kms:CreateGrant"));
    });

    it("target: every Task outlasts the Lambda's own timeout and retries Lambda service errors and timeouts", () => {
        const fn = oneResource(dr, "aws:lambda/function:Function", "copy-fn");
        const def = JSON.parse(oneResource(dr, "aws:sfn/stateMachine:StateMachine", "copy-machine").inputs.definition);
        for (const name of taskStates(def)) {
            const st = def.States[name];
            if (st.Resource !== fn.state.arn) continue;
            assert.ok(st.TimeoutSeconds > fn.inputs.timeout, `${name}: Task ${st.TimeoutSeconds} s vs Lambda ${fn.inputs.timeout} s`);
            for (const e of ["Lambda.ServiceException", "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException", "States.Timeout", "TransientError"]) {
                assert.ok(st.Retry.some((r: any) => r.ErrorEquals.includes(e)), `${name} retries ${e}`);
            }
        }
    });
});
