// `failoverDatabase.source: adopt` reads the secret the copy target machine writes: the instance it
// names must have the RDS-managed master password the machine turned on, or `pulumi up` says why.
import * as assert from "assert";
import { adoptedMasterSecret, parseAdoptedSecret } from "../components/database";
import { SecretValue } from "../functions/lib/copyTarget";
import { RecordingMocks, resetExternalWorld, setExternalWorld } from "./mocks";
import { runProgram } from "./program";

const ADOPT = ["failover=true", "failoverDatabase.source=adopt", "failoverDatabase.secretName=pilotlight/copy/current"];

describe("adopting the copy target's instance", () => {
    afterEach(() => resetExternalWorld());

    it("parses exactly what the machine's point step writes", () => {
        const written: SecretValue = {
            host: "wordpress-v3.abc.us-west-2.rds.amazonaws.com",
            port: 5432,
            identifier: "wordpress-v3",
            version: 3,
            engine: "postgres",
            masterUserSecretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-1234-AbCdEf",
            sourceSnapshotArn: "arn:aws:rds:us-west-2:111111111111:snapshot:wordpress-cp-20260103000000",
            sourceCreatedAt: "2026-01-03T00:00:00.000Z",
        };
        assert.deepStrictEqual(parseAdoptedSecret("pilotlight/copy/wordpress", JSON.stringify(written)), {
            host: written.host,
            port: 5432,
            identifier: "wordpress-v3",
            version: "3",
            masterUserSecretArn: written.masterUserSecretArn,
        });
        assert.throws(() => parseAdoptedSecret("s", JSON.stringify({ ...written, masterUserSecretArn: 7 })), /masterUserSecretArn is 7, expected a secret ARN/);
    });

    it("serves from the instance the secret names, reading its managed password under the DR key", async () => {
        const run = await runProgram("dr", { sets: ADOPT });
        assert.strictEqual(run.outputs.databaseIdentifier, "pilotlight-db-v7");
        assert.strictEqual(run.outputs.databaseSecretArn, "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-pilotlight-db-v7-AbCdEf");
    });

    it("refuses an instance without a managed password, or with another one than the secret names", () => {
        const adopted = parseAdoptedSecret("copy", JSON.stringify({ host: "h.example.com", port: 5432, identifier: "pilotlight-db-v7", version: 7, masterUserSecretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-a" }));
        assert.throws(() => adoptedMasterSecret("copy", adopted, []), /pilotlight-db-v7 has no RDS-managed master-user secret/);
        assert.throws(() => adoptedMasterSecret("copy", adopted, undefined), /no RDS-managed master-user secret/);
        assert.throws(() => adoptedMasterSecret("copy", adopted, [{ secretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-b" }]), /names master-user secret .*rds!db-a, but pilotlight-db-v7's is .*rds!db-b/);
        const ok = { secretArn: "arn:aws:secretsmanager:us-west-2:222222222222:secret:rds!db-a" };
        assert.strictEqual(adoptedMasterSecret("copy", adopted, [ok]), ok);
        const legacy = parseAdoptedSecret("copy", JSON.stringify({ host: "h.example.com", port: 5432, identifier: "pilotlight-db-v7", version: "7" }));
        assert.strictEqual(adoptedMasterSecret("copy", legacy, [ok]), ok);
    });

    it("the mocks report a managed password only where the world has one, and no instance that does not exist", () => {
        const mocks = new RecordingMocks("us-west-2", "222222222222");
        const get = (id: string) => mocks.call({ token: "aws:rds/getInstance:getInstance", inputs: { dbInstanceIdentifier: id }, provider: "" } as any);
        assert.strictEqual(get("pilotlight-db-v7").masterUserSecrets.length, 1);
        setExternalWorld({ copySecret: { identifier: "pilotlight-db-v7", version: 7, managedPassword: false }, instances: { "pilotlight-db-v7": {} } });
        assert.deepStrictEqual(get("pilotlight-db-v7").masterUserSecrets, []);
        assert.throws(() => get("pilotlight-db-v9"), /pilotlight-db-v9 not found/);
        setExternalWorld({ instances: {} });
        assert.throws(() => mocks.call({ token: "aws:secretsmanager/getSecretVersion:getSecretVersion", inputs: { secretId: "x" }, provider: "" } as any), /can't find the specified secret x/);
    });
});
