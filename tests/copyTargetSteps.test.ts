// The copy target's steps one by one, against the fake RDS and Secrets Manager: the rules a
// machine run passes through only sometimes (retention's choice, the hold, racing calls).
import * as assert from "assert";
import { DBInstance, RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { COPY_TARGET_JOB, SOURCE_SNAPSHOT_TAG, VERSION_TAG } from "../functions/lib/backup";
import {
    choosePrune,
    CopyJob,
    CopyTargetSettings,
    hold,
    isOwnCopy,
    password,
    point,
    prune,
    runTargetStep,
    secretValue,
    SOURCE_CREATED_TAG,
    status,
    targetSettingsFromEnv,
} from "../functions/lib/copyTarget";
import { CREATED_BY_TAG } from "../functions/lib/tags";
import { FakeRds } from "./fakeRds";
import { FakeSecrets } from "./fakeSecrets";

const REGION = "us-west-2";
const DR = "222222222222";
const DR_KEY = `arn:aws:kms:${REGION}:${DR}:key/dr`;
const ARN = `arn:aws:rds:${REGION}:111111111111:snapshot:wordpress-cp-20260102000000`;
const S: CopyTargetSettings = {
    name: "wordpress",
    region: REGION,
    sourceAccountId: "111111111111",
    sourceIdentifier: "wordpress",
    drKeyArn: DR_KEY,
    secretId: "copy",
    holdSecretId: "copy/hold",
    keep: 2,
    instanceClass: "db.t4g.medium",
    subnetGroupName: "db",
    securityGroupIds: ["sg-1"],
    multiAz: false,
    tags: {},
};

function own(version: number, extra: { Key: string; Value: string }[] = []) {
    return [{ Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB }, { Key: VERSION_TAG, Value: String(version) }, ...extra];
}

function inst(id: string, st: string, tags = own(Number(id.split("-v")[1]))): DBInstance {
    return { DBInstanceIdentifier: id, DBInstanceStatus: st, TagList: tags };
}

describe("copy target steps", () => {
    it("isOwnCopy needs the name, the job's tag and the version tag naming the same version", () => {
        assert.ok(isOwnCopy("wordpress", "wordpress-v3", own(3)));
        assert.ok(isOwnCopy("wordpress", "wordpress-v3-final", own(3)));
        assert.ok(!isOwnCopy("wordpress", "wordpress-v3", own(4)), "copied tags under another name");
        assert.ok(!isOwnCopy("wordpress", "wordpress-v3", [{ Key: VERSION_TAG, Value: "3" }]), "no job tag");
        assert.ok(!isOwnCopy("wordpress", "wordpress-v3", [{ Key: CREATED_BY_TAG, Value: "backup-schedule" }, { Key: VERSION_TAG, Value: "3" }]));
        assert.ok(!isOwnCopy("wordpress", "wordpress-v3", [{ Key: CREATED_BY_TAG, Value: COPY_TARGET_JOB }]), "no version tag");
        assert.ok(!isOwnCopy("wordpress", "billing-v3", own(3)));
        assert.ok(!isOwnCopy("wordpress", "wordpress-v3", undefined));
    });

    const table: { name: string; copies: DBInstance[]; keep: number; pointed?: string; expect: { withFinalSnapshot: string[]; dead: string[]; retained: string[] } }[] = [
        {
            name: "keeps the newest available by version, not by listing order",
            copies: [inst("wordpress-v2", "available"), inst("wordpress-v10", "available"), inst("wordpress-v9", "available")],
            keep: 2,
            expect: { withFinalSnapshot: ["wordpress-v2"], dead: [], retained: ["wordpress-v10", "wordpress-v9"] },
        },
        {
            name: "never deletes the pointed copy, which stays retained",
            copies: [inst("wordpress-v1", "available"), inst("wordpress-v2", "available"), inst("wordpress-v3", "available")],
            keep: 1,
            pointed: "wordpress-v1",
            expect: { withFinalSnapshot: ["wordpress-v2"], dead: [], retained: ["wordpress-v3", "wordpress-v1"] },
        },
        {
            name: "dead copies count for nothing and go, unless pointed; other states stay and pin nothing",
            copies: [
                inst("wordpress-v1", "available"),
                inst("wordpress-v2", "available"),
                inst("wordpress-v3", "failed"),
                inst("wordpress-v4", "incompatible-restore"),
                inst("wordpress-v5", "incompatible-network"),
                inst("wordpress-v6", "incompatible-parameters"),
                inst("wordpress-v7", "storage-full"),
            ],
            keep: 2,
            pointed: "wordpress-v5",
            expect: { withFinalSnapshot: [], dead: ["wordpress-v4", "wordpress-v3"], retained: ["wordpress-v2", "wordpress-v1", "wordpress-v5"] },
        },
        {
            name: "copies on their way are retained and not counted",
            copies: [inst("wordpress-v1", "available"), inst("wordpress-v2", "available"), inst("wordpress-v3", "creating"), inst("wordpress-v4", "backing-up"), inst("wordpress-v5", "modifying"), inst("wordpress-v6", "deleting")],
            keep: 1,
            expect: { withFinalSnapshot: ["wordpress-v1"], dead: [], retained: ["wordpress-v2", "wordpress-v5", "wordpress-v4", "wordpress-v3"] },
        },
        {
            name: "look-alikes are not the machine's",
            copies: [inst("wordpress-v1", "available", own(9)), inst("wordpress-v2", "failed", []), inst("wordpress-v3", "available"), inst("wordpress-v4", "available")],
            keep: 1,
            pointed: "wordpress-v1",
            expect: { withFinalSnapshot: ["wordpress-v3"], dead: [], retained: ["wordpress-v4"] },
        },
    ];
    for (const t of table) {
        it(`choosePrune ${t.name}`, () => {
            assert.deepStrictEqual(choosePrune("wordpress", t.copies, t.keep, t.pointed), t.expect);
        });
    }

    describe("against the fakes", () => {
        let rds: FakeRds;
        let secrets: FakeSecrets;
        const c = () => ({ rds: new RDSClient({ region: REGION }), secrets: new SecretsManagerClient({ region: REGION }) });
        const job = (over: Partial<CopyJob> = {}): CopyJob => ({
            task: "copy",
            identifier: "wordpress-v2",
            version: 2,
            message: { snapshotArn: ARN, sourceIdentifier: "wordpress", engine: "postgres", createdAt: "2026-01-02T00:00:00Z" },
            sourceCreatedAt: "2026-01-02T00:00:00.000Z",
            attempt: 0,
            ...over,
        });
        const copyTags = (v: number, created = "2026-01-02T00:00:00.000Z") => own(v, [{ Key: SOURCE_SNAPSHOT_TAG, Value: ARN }, { Key: SOURCE_CREATED_TAG, Value: created }]);
        beforeEach(() => {
            rds = new FakeRds({ region: REGION, account: DR });
            secrets = new FakeSecrets([S.secretId]);
        });
        afterEach(() => {
            rds.restore();
            secrets.restore();
        });

        it("hold: absent, present with its description, present without one, or scheduled for deletion", async () => {
            assert.strictEqual(await hold(c(), S), undefined);
            secrets.create("copy/hold", "drill");
            assert.strictEqual(await hold(c(), S), "held by copy/hold: drill; the secret and every copy stay as they are");
            secrets.create("copy/hold");
            assert.match((await hold(c(), S))!, /held by copy\/hold: the dr stack is failed over;/);
            secrets.scheduleDeletion("copy/hold");
            assert.strictEqual(await hold(c(), S), undefined, "a hold scheduled for deletion holds nothing");
        });

        it("secretValue: none before the first copy, {} for what is not JSON or not an object", async () => {
            assert.strictEqual(await secretValue(c(), S), undefined);
            secrets.versions.get("copy")!.push("not json");
            assert.deepStrictEqual(await secretValue(c(), S), {});
            secrets.versions.get("copy")!.push("7");
            assert.deepStrictEqual(await secretValue(c(), S), {});
            secrets.versions.get("copy")!.push('{"identifier":"wordpress-v1"}');
            assert.deepStrictEqual(await secretValue(c(), S), { identifier: "wordpress-v1" });
        });

        it("status: the managed password is ready only when the instance is available and its secret active under the DR key", async () => {
            const i = rds.addInstance({ identifier: "wordpress-v2", tags: copyTags(2), status: "modifying" });
            i.timeline = ["available"];
            const waiting = { ...job(), current: { kind: "password" as const, id: "wordpress-v2" } };
            assert.strictEqual((await status(c(), S, waiting)).status, "modifying");
            assert.strictEqual((await status(c(), S, waiting)).status, "secret-missing");
            i.info.MasterUserSecret = { SecretArn: "arn:s", SecretStatus: "creating", KmsKeyId: DR_KEY };
            assert.strictEqual((await status(c(), S, waiting)).status, "secret-creating");
            i.info.MasterUserSecret.SecretStatus = "active";
            const done = await status(c(), S, { ...waiting, attempt: 4 });
            assert.deepStrictEqual([done.status, done.attempt], ["available", 5]);
            i.info.MasterUserSecret.KmsKeyId = "arn:aws:kms:us-west-2:222222222222:key/other";
            await assert.rejects(status(c(), S, waiting), /managed master password is under .*key\/other, not the DR key/);
            await assert.rejects(status(c(), S, { ...waiting, current: { kind: "instance", id: "wordpress-v9" } }), /instance wordpress-v9 disappeared/);
            await assert.rejects(status(c(), S, { ...job(), current: undefined }), /nothing to wait for/);
        });

        it("password: turns it on once; a repeat (or a lost response) makes no second call", async () => {
            rds.addInstance({ identifier: "wordpress-v2", tags: copyTags(2) });
            await password(c(), S, job());
            rds.instances.get("wordpress-v2")!.status = "available";
            await password(c(), S, job());
            assert.strictEqual(rds.callsOf("ModifyDBInstance").length, 1);
            await assert.rejects(password(c(), S, job({ identifier: "wordpress-v3", version: 3 })), /instance wordpress-v3 disappeared/);
            rds.addInstance({ identifier: "wordpress-v4", tags: own(4) });
            await assert.rejects(password(c(), S, job({ identifier: "wordpress-v4", version: 4 })), /not this machine's copy of/);
            await assert.rejects(password(c(), S, job({ task: "rollback" })), /needs a planned copy/);
        });

        it("point: only the machine's available copy with an active managed password; never back to older data", async () => {
            const i = rds.addInstance({ identifier: "wordpress-v2", tags: copyTags(2) });
            await assert.rejects(point(c(), S, job()), /is available with managed master password off/);
            i.info.MasterUserSecret = { SecretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-x", SecretStatus: "active", KmsKeyId: DR_KEY };
            const pointed = await point(c(), S, job());
            assert.strictEqual(pointed.pointed?.masterUserSecretArn, "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-x");
            assert.strictEqual((await point(c(), S, job())).pointed?.identifier, "wordpress-v2");
            assert.strictEqual(secrets.versions.get("copy")!.length, 1, "a repeat writes nothing");
            // A newer copy took the secret meanwhile: an older one leaves it.
            const newer = { ...secrets.current("copy"), identifier: "wordpress-v3", sourceCreatedAt: "2026-01-03T00:00:00.000Z" };
            secrets.versions.get("copy")!.push(JSON.stringify(newer));
            const skipped = await point(c(), S, job());
            assert.match(skipped.skip!, /points at wordpress-v3 \(data taken 2026-01-03T00:00:00.000Z\), not older than wordpress-v2's/);
            assert.strictEqual(secrets.current("copy").identifier, "wordpress-v3");
            // Equal data time counts as not newer; a rollback moves it anyway.
            secrets.versions.get("copy")!.push(JSON.stringify({ ...newer, sourceCreatedAt: "2026-01-02T00:00:00.000Z" }));
            assert.ok((await point(c(), S, job())).skip);
            assert.strictEqual((await point(c(), S, job({ task: "rollback", message: undefined }))).pointed?.identifier, "wordpress-v2");
            await assert.rejects(point(c(), S, job({ message: { ...job().message!, snapshotArn: ARN.replace("0102", "0103") } })), /is not the copy of/);
            await assert.rejects(point(c(), S, job({ identifier: "wordpress-v5", version: 5 })), /not a copy this machine made/);
        });

        it("prune: a twin's delete (already deleting or gone) counts as done; other faults surface", async () => {
            for (const v of [1, 2, 3]) rds.addInstance({ identifier: `wordpress-v${v}`, tags: copyTags(v), info: { CopyTagsToSnapshot: true } });
            secrets.versions.get("copy")!.push(JSON.stringify({ identifier: "wordpress-v3" }));
            rds.failNext("DeleteDBInstance", () => Object.assign(new Error("gone"), { name: "DBInstanceNotFoundFault" }));
            const first = await prune(c(), S, job());
            assert.deepStrictEqual(first.pruned, { instances: ["wordpress-v1"], snapshots: [] });
            rds.failNext("DeleteDBInstance", () => Object.assign(new Error("boom"), { name: "InvalidParameterCombination" }));
            await assert.rejects(prune(c(), S, job()), /boom/);
        });

        it("runTargetStep refuses an unknown or inherited step and a missing job", async () => {
            await assert.rejects(runTargetStep(c(), S, { step: "toString", job: job() }), /unknown step "toString"; expected plan or copy, status, restore, password, point, prune/);
            await assert.rejects(runTargetStep(c(), S, { step: 3 }), /unknown step 3/);
            await assert.rejects(runTargetStep(c(), S, { step: "point" }), /step point needs the job/);
        });

        it("reads its settings from the environment", () => {
            const env = {
                TARGET_NAME: "wordpress",
                TARGET_REGION: REGION,
                SOURCE_ACCOUNT_ID: "111111111111",
                SOURCE_IDENTIFIER: "wordpress",
                DR_KEY_ARN: DR_KEY,
                SECRET_ID: "copy",
                HOLD_SECRET_ID: "copy/hold",
                KEEP: "3",
                INSTANCE_CLASS: "db.t4g.medium",
                SUBNET_GROUP_NAME: "db",
                SECURITY_GROUP_IDS: "sg-1,,sg-2",
                PARAMETER_GROUP_NAME: "",
                MULTI_AZ: "true",
                COPY_TAGS: '{"team":"web"}',
            };
            assert.deepStrictEqual(targetSettingsFromEnv(env), { ...S, keep: 3, securityGroupIds: ["sg-1", "sg-2"], parameterGroupName: undefined, multiAz: true, tags: { team: "web" }, holdSecretId: "copy/hold" });
            assert.deepStrictEqual(targetSettingsFromEnv({ ...env, MULTI_AZ: "false", COPY_TAGS: "", PARAMETER_GROUP_NAME: "pg" }), { ...S, keep: 3, securityGroupIds: ["sg-1", "sg-2"], parameterGroupName: "pg", multiAz: false, tags: {} });
            assert.throws(() => targetSettingsFromEnv({ ...env, HOLD_SECRET_ID: "" }), /HOLD_SECRET_ID is not set/);
        });
    });
});
