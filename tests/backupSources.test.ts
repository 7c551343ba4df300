/**
 * Backups of databases the program did not create (an existing one, or any listed by identifier):
 * they may be under any key of the home region, or an unencrypted Aurora cluster.
 */
import * as assert from "assert";
import { RDSClient } from "@aws-sdk/client-rds";
import { SFNClient } from "@aws-sdk/client-sfn";
import { snapshotJobStatements } from "../components/backupSchedule";
import { BACKUP_JOB } from "../functions/lib/backup";
import { runStep, SnapshotJobSettings } from "../functions/lib/snapshotJobs";
import { FakeRds } from "./fakeRds";
import { FakeSfn } from "./fakeSfn";

const HOME = "us-east-1";
const DR = "us-west-2";
const SHARED = "arn:aws:kms:us-east-1:123456789012:key/mrk-shared";

describe("backups of databases under their own keys", () => {
    it("re-encrypting a snapshot under the shared key may decrypt with any key of the home region, through RDS only", () => {
        const statements = snapshotJobStatements({
            job: BACKUP_JOB,
            accountId: "123456789012",
            homeRegion: HOME,
            drRegion: DR,
            databases: [{ identifier: "orders", isCluster: true }],
            sharedKeyArn: SHARED,
            drKeyArn: "arn:aws:kms:us-west-2:123456789012:key/mrk-shared",
            machineName: "pilotlight-backup",
        });
        const source = statements.find((x) => x.Sid === "DecryptSourceSnapshotsThroughRds");
        assert.deepStrictEqual(source, {
            Sid: "DecryptSourceSnapshotsThroughRds",
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt"],
            Resource: ["arn:aws:kms:us-east-1:123456789012:key/*"],
            Condition: { StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" } },
        });
    });

    describe("an unencrypted Aurora cluster", () => {
        let rds: FakeRds;
        let sfn: FakeSfn;
        beforeEach(() => {
            rds = new FakeRds();
            sfn = new FakeSfn();
        });
        afterEach(() => {
            rds.restore();
            sfn.restore();
        });

        it("is refused at the plan, before any snapshot is taken: RDS refuses to copy its snapshots under a key", async () => {
            rds.addCluster({ identifier: "orders", info: { StorageEncrypted: false, KmsKeyId: undefined }, members: [{ identifier: "orders-1" }] });
            const s: SnapshotJobSettings = { job: BACKUP_JOB, homeRegion: HOME, drRegion: DR, sharedKeyArn: SHARED, drKeyArn: "d", databases: [{ identifier: "orders", isCluster: true }], keep: 1 };
            const c = { rds: (region: string) => new RDSClient({ region }), sfn: new SFNClient({ region: HOME }) };
            const event = { step: "plan", input: {}, startedAt: "2026-01-01T00:00:00Z", executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:e", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m" };
            await assert.rejects(runStep(c, s, event), { name: "InvalidInputError", message: /orders is an unencrypted Aurora cluster: its snapshots cannot be copied under the shared key/ });
            assert.deepStrictEqual(rds.mutatingCalls(), []);
        });
    });
});
