import * as assert from "assert";
import { wildcardActions } from "../components/iam";
import { snapshotJobStatements } from "../components/backupSchedule";
import { allStates, assertValidAsl, taskStates } from "./machineHarness";
import { oneResource, ProgramRun, rolePolicyOf, runProgram } from "./program";

const BACKUPS = 'backups={"databases":[{"identifier":"wordpress"},{"identifier":"shop","isCluster":true}]}';

describe("BackupSchedule component", () => {
    let prod: ProgramRun;
    let enabled: ProgramRun;
    let dr: ProgramRun;
    let drSameAccount: ProgramRun;

    before(async () => {
        prod = await runProgram("prod", { sets: [BACKUPS] });
        enabled = await runProgram("prod", { sets: [BACKUPS, "backups.scheduleEnabled=true", "backups.schedule=rate(6 hours)"] });
        dr = await runProgram("dr", { sets: [BACKUPS] });
        drSameAccount = await runProgram("dr", {
            sets: [BACKUPS, "backups.automatedBackupReplication=true", "backups.replicationRetentionDays=14", "accountId=111111111111", "peer.accountId=111111111111", "aws:allowedAccountIds=[\"111111111111\"]"],
        });
    });

    it("deploys on the primary only: a machine, its Lambda and a schedule rule under the component", () => {
        const component = oneResource(prod, "pilotlight:backup:BackupSchedule", "backup");
        const machine = oneResource(prod, "aws:sfn/stateMachine:StateMachine", "backup-machine");
        assert.strictEqual(machine.inputs.name, "pilotlight-backup");
        assert.strictEqual(oneResource(prod, "pilotlight:sfn:LambdaStateMachine", "backup-machine").parent, component.urn);
        assert.strictEqual(machine.parent, oneResource(prod, "pilotlight:sfn:LambdaStateMachine", "backup-machine").urn);
        assert.strictEqual(oneResource(prod, "aws:lambda/function:Function", "backup-fn").inputs.name, "pilotlight-backup");
        assert.strictEqual(dr.resources.filter((r) => r.type === "pilotlight:backup:BackupSchedule").length, 0);
    });

    it("deploys a valid definition whose Tasks call the backup and alert Lambdas", () => {
        const def = JSON.parse(oneResource(prod, "aws:sfn/stateMachine:StateMachine", "backup-machine").inputs.definition);
        assertValidAsl(def);
        const fn = oneResource(prod, "aws:lambda/function:Function", "backup-fn").state.arn;
        const resources = new Set(JSON.stringify(def).match(/arn:aws:lambda:[^"]+/g));
        assert.deepStrictEqual([...resources].sort(), [fn, "arn:aws:lambda:us-east-1:111111111111:function:pilotlight-alerts"].sort());
        assert.ok(taskStates(def).includes("CopyToDr"));
    });

    it("schedules rate(2 hours) disabled by default, with the configured databases as input; enabled on request", () => {
        const rule = oneResource(prod, "aws:cloudwatch/eventRule:EventRule", "backup-schedule");
        assert.deepStrictEqual([rule.inputs.scheduleExpression, rule.inputs.state], ["rate(2 hours)", "DISABLED"]);
        const target = oneResource(prod, "aws:cloudwatch/eventTarget:EventTarget", "backup-schedule-target");
        assert.deepStrictEqual(JSON.parse(target.inputs.input), { databases: [{ identifier: "wordpress", isCluster: false }, { identifier: "shop", isCluster: true }] });
        const on = oneResource(enabled, "aws:cloudwatch/eventRule:EventRule", "backup-schedule");
        assert.deepStrictEqual([on.inputs.scheduleExpression, on.inputs.state], ["rate(6 hours)", "ENABLED"]);
    });

    it("encrypts DR copies with the shared key's replica and keeps 12 by default", () => {
        const env = oneResource(prod, "aws:lambda/function:Function", "backup-fn").inputs.environment.variables;
        const replica = oneResource(prod, "aws:kms/replicaKey:ReplicaKey", "shared-replica").state.arn;
        const key = oneResource(prod, "aws:kms/key:Key", "shared-key").state.arn;
        assert.deepStrictEqual([env.HOME_REGION, env.DR_REGION, env.SHARED_KEY_ARN, env.DR_KEY_ARN, env.KEEP], ["us-east-1", "us-west-2", key, replica, "12"]);
        assert.match(replica, /^arn:aws:kms:us-west-2:/);
    });

    it("gives the Lambda rights in both regions, deletes only its own snapshots, keys only through RDS", () => {
        const doc = rolePolicyOf(prod, "backup-fn-policy");
        assert.deepStrictEqual(wildcardActions(doc), []);
        const byId = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
        assert.deepStrictEqual(byId.CopyTheirSnapshots.Resource, [
            "arn:aws:rds:us-east-1:111111111111:snapshot:wordpress-*",
            "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:shop-*",
            "arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-*",
            "arn:aws:rds:us-west-2:111111111111:cluster-snapshot:shop-*",
        ]);
        assert.deepStrictEqual(byId.DeleteOnlyOwnSnapshots.Condition, { StringEquals: { "rds:snapshot-tag/pilotlight:created-by": "backup-schedule" } });
        assert.deepStrictEqual(byId.UseSharedKeyAndReplicaThroughRds.Condition.StringEquals["kms:ViaService"], ["rds.us-east-1.amazonaws.com", "rds.us-west-2.amazonaws.com"]);
        assert.deepStrictEqual(doc.Statement.filter((s: any) => s.Resource === "*").map((s: any) => [s.Sid, s.Action]), [["ReadSnapshotQuotas", ["rds:DescribeAccountAttributes"]]]);
        // Two accounts: the DR-region copies, and only the job's own (by tag), are shared with the dr account.
        assert.deepStrictEqual([byId.ShareDrCopyWithPeer.Action, byId.ShareDrCopyWithPeer.Resource, byId.ShareDrCopyWithPeer.Condition], [
            ["rds:ModifyDBSnapshotAttribute"],
            ["arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-*"],
            { StringEquals: { "rds:snapshot-tag/pilotlight:created-by": "backup-schedule" } },
        ]);
        assert.deepStrictEqual([byId.ShareDrClusterCopyWithPeer.Action, byId.ShareDrClusterCopyWithPeer.Resource, byId.ShareDrClusterCopyWithPeer.Condition], [
            ["rds:ModifyDBClusterSnapshotAttribute"],
            ["arn:aws:rds:us-west-2:111111111111:cluster-snapshot:shop-*"],
            { StringEquals: { "rds:cluster-snapshot-tag/pilotlight:created-by": "backup-schedule" } },
        ]);
        assert.strictEqual(oneResource(prod, "aws:lambda/function:Function", "backup-fn").inputs.environment.variables.PEER_ACCOUNT_ID, "222222222222");
        assert.ok(!doc.Statement.some((s: any) => [].concat(s.Action).some((a: string) => /sns:Publish/.test(a))), "backups publish nothing");
        const machine = rolePolicyOf(prod, "backup-machine-policy");
        assert.deepStrictEqual(machine.Statement.map((s: any) => s.Sid), ["InvokeOwnLambdas", "DeliverExecutionLogs", "StartOwnChildExecutions", "ReadAndStopOwnChildExecutions"]);
        // The distributed Map starts, reads and stops the machine's own child executions, nothing else.
        assert.deepStrictEqual(machine.Statement[2].Resource, ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-backup"]);
        assert.deepStrictEqual(machine.Statement[3].Resource, ["arn:aws:states:us-east-1:111111111111:execution:pilotlight-backup:*", "arn:aws:states:us-east-1:111111111111:execution:pilotlight-backup/*"]);
        assert.deepStrictEqual(machine.Statement[0].Action, ["lambda:InvokeFunction"]);
        const sm = prod.resources.find((r) => r.type === "aws:sfn/stateMachine:StateMachine" && r.inputs.name === "pilotlight-backup")!;
        assert.strictEqual(sm.inputs.loggingConfiguration.level, "ERROR");
        assert.ok(prod.resources.some((r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.inputs.name === "/aws/vendedlogs/states/pilotlight-backup" && r.inputs.retentionInDays === 30));
        const events = rolePolicyOf(prod, "backup-schedule-policy");
        assert.deepStrictEqual(events.Statement[0].Resource, ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-backup"]);
    });

    it("statement builder: a copy-source in a same-account setup gets no sharing right", () => {
        const base = { machineName: "pilotlight-copy-source", accountId: "111111111111", homeRegion: "us-east-1", drRegion: "us-west-2", databases: [{ identifier: "db", isCluster: false }], sharedKeyArn: "k1", drKeyArn: "k2" };
        const sids = (ctx: any) => snapshotJobStatements(ctx).map((s) => s.Sid);
        assert.ok(sids({ ...base, job: "copy-source", peerAccountId: "222222222222", topicArn: "t" }).includes("ShareDrCopyWithPeer"));
        assert.ok(!sids({ ...base, job: "copy-source", topicArn: "t" }).includes("ShareDrCopyWithPeer"));
        assert.ok(!sids({ ...base, job: "backup-schedule", peerAccountId: "222222222222", topicArn: "t" }).includes("AnnounceSharedSnapshots"));
    });

    it("replicates automated backups of the instances into the DR region on a same-account dr stack, with the dr key", () => {
        assert.strictEqual(dr.resources.filter((r) => r.type === "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication").length, 0);
        const rep = oneResource(drSameAccount, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "backup-replication-wordpress");
        assert.strictEqual(rep.inputs.sourceDbInstanceArn, "arn:aws:rds:us-east-1:111111111111:db:wordpress");
        assert.strictEqual(rep.inputs.kmsKeyId, oneResource(drSameAccount, "aws:kms/key:Key", "dr-key").state.arn);
        assert.strictEqual(rep.inputs.retentionPeriod, 14);
        assert.strictEqual(drSameAccount.resources.filter((r) => r.type.endsWith("InstanceAutomatedBackupsReplication")).length, 1, "clusters are not replicated this way");
    });

    it("images: a valid machine on the same schedule, disabled, and EC2 rights scoped by tag", async () => {
        const run = await runProgram("prod");
        const def = JSON.parse(oneResource(run, "aws:sfn/stateMachine:StateMachine", "backup-images-machine").inputs.definition);
        assertValidAsl(def);
        assert.strictEqual(oneResource(run, "aws:sfn/stateMachine:StateMachine", "backup-images-machine").inputs.name, "pilotlight-image-backup");
        const rule = oneResource(run, "aws:cloudwatch/eventRule:EventRule", "backup-images-schedule");
        assert.deepStrictEqual([rule.inputs.scheduleExpression, rule.inputs.state], ["rate(2 hours)", "DISABLED"]);
        const doc = rolePolicyOf(run, "backup-image-fn-policy");
        assert.deepStrictEqual(wildcardActions(doc), []);
        const byId = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
        assert.deepStrictEqual(byId.ImageOnlyTaggedInstances.Condition, { StringEquals: { "aws:ResourceTag/pilotlight:backup": "true" } });
        assert.deepStrictEqual(byId.DeregisterOnlyOwnImages.Condition, { StringEquals: { "aws:ResourceTag/pilotlight:created-by": "image-backup" } });
        assert.deepStrictEqual(byId.FindInstancesAndImages.Resource, "*");
        assert.deepStrictEqual(byId.FindInstancesAndImages.Action, ["ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeSnapshots"]);
        assert.deepStrictEqual(byId.DeleteSnapshotsOfDeregisteredImages.Condition, { StringEquals: { "aws:ResourceTag/pilotlight:created-by": "image-backup" } });
        assert.deepStrictEqual(byId.ListOwnExecutions, { Sid: "ListOwnExecutions", Effect: "Allow", Action: ["states:ListExecutions"], Resource: ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-image-backup"] });
        const env = oneResource(run, "aws:lambda/function:Function", "backup-image-fn").inputs.environment.variables;
        assert.deepStrictEqual([env.NO_REBOOT, env.KEEP, env.DR_KEY_ARN, env.GONE_SOURCE_DAYS], ["true", "7", oneResource(run, "aws:kms/replicaKey:ReplicaKey", "shared-replica").state.arn, "30"]);
        // prod and dr are in two accounts: the DR copies are shared with dr's, and only the job's own images may be.
        assert.strictEqual(env.PEER_ACCOUNT_ID, "222222222222");
        assert.deepStrictEqual(byId.ShareOwnDrCopiesWithPeer.Resource, ["arn:aws:ec2:us-west-2::image/*"]);
        assert.ok(JSON.stringify(def).includes('"Share"'), "the machine shares each DR copy");
    });

    it("images: each source runs as a child execution of the image machine, whose role may start, read and stop only its own", async () => {
        const run = await runProgram("prod");
        const def = JSON.parse(oneResource(run, "aws:sfn/stateMachine:StateMachine", "backup-images-machine").inputs.definition);
        assert.deepStrictEqual([def.States.Images.ItemProcessor.ProcessorConfig, def.States.Images.MaxConcurrency], [{ Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, 10]);
        const machine = rolePolicyOf(run, "backup-images-machine-policy");
        const byId = Object.fromEntries(machine.Statement.map((s: any) => [s.Sid, s]));
        assert.deepStrictEqual([byId.StartOwnChildExecutions.Action, byId.StartOwnChildExecutions.Resource], [["states:StartExecution"], ["arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-image-backup"]]);
        assert.deepStrictEqual([byId.ReadAndStopOwnChildExecutions.Action, byId.ReadAndStopOwnChildExecutions.Resource], [
            ["states:DescribeExecution", "states:StopExecution"],
            ["arn:aws:states:us-east-1:111111111111:execution:pilotlight-image-backup:*", "arn:aws:states:us-east-1:111111111111:execution:pilotlight-image-backup/*"],
        ]);
        // The execution-status rule covers the children too: their labelled machine ARN starts with the machine's.
        const rule = oneResource(run, "aws:cloudwatch/eventRule:EventRule", "alerts-executions");
        const prefix = JSON.parse(rule.inputs.eventPattern).detail.stateMachineArn[0].prefix;
        assert.ok("arn:aws:states:us-east-1:111111111111:stateMachine:pilotlight-image-backup/Images".startsWith(prefix), prefix);
    });

    it("the deployed machine runs each database as a child execution, at most 10 at once, and no Task times out before its Lambda", () => {
        const fn = oneResource(prod, "aws:lambda/function:Function", "backup-fn").inputs;
        const def = JSON.parse(oneResource(prod, "aws:sfn/stateMachine:StateMachine", "backup-machine").inputs.definition);
        assert.deepStrictEqual([def.States.Databases.ItemProcessor.ProcessorConfig.Mode, def.States.Databases.MaxConcurrency], ["DISTRIBUTED", 10]);
        assert.strictEqual(fn.timeout, 60);
        for (const [name, state] of allStates(def)) if (state.Type === "Task") assert.ok((state as any).TimeoutSeconds >= fn.timeout, name);
    });

    it("refuses databases whose kept snapshots cannot fit the manual snapshot quota", async () => {
        const many = JSON.stringify({ databases: Array.from({ length: 8 }, (_, i) => ({ identifier: `db${i}` })) });
        await assert.rejects(runProgram("prod", { sets: [`backups=${many}`] }), /8 instance\(s\) keeping 12 snapshots each need up to 112 manual snapshots/);
    });
});
