// @ts-nocheck
import * as assert from "assert";
import * as vm from "vm";
import * as pulumi from "@pulumi/pulumi";
import { BundledFunction, bundleJob } from "../components/lambdaFunction";
import { PolicyDocument } from "../components/iam";
import { RecordingMocks } from "./mocks";

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("lambdaFunction", () => {
    it("bundles a job deterministically into one CommonJS file that exports handler", () => {
        const code = bundleJob("restore-validate");
        assert.ok(code.length > 1000);
        assert.ok(!code.includes(process.cwd()), "the bundle must not embed this machine's paths");
        const mod = { exports: {} as Record<string, unknown> };
        vm.runInNewContext(code, { module: mod, exports: mod.exports, require, process, console, setTimeout, clearTimeout, Buffer, URL, TextEncoder, TextDecoder, AbortController });
        assert.strictEqual(typeof mod.exports.handler, "function");
    });

    it("refuses a job name that is not a functions/ folder name", () => {
        assert.throws(() => bundleJob("../etc"), /Lambda job "\.\.\/etc" is not a folder name under functions\//);
    });

    describe("component", () => {
        let mocks: RecordingMocks;
        before(async () => {
            mocks = new RecordingMocks("us-east-1", "111111111111");
            await pulumi.runtime.setMocks(mocks, "pilotlight", "unit", false);
        });

        it("runs nodejs22.x on arm64 with its own log group and a role scoped to it", async () => {
            const fn = new BundledFunction("probe", {
                job: "restore-validate",
                functionName: "pilotlight-probe",
                accountId: "111111111111",
                region: "us-east-1",
                statements: [{ Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: "arn:aws:rds:us-east-1:111111111111:db:wordpress" }],
                environment: { MANAGED_IDENTIFIERS: "wordpress" },
            });
            const policy = JSON.parse(await value(fn.policy)) as PolicyDocument;
            await value(fn.arn);
            const lambda = mocks.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name === "probe")!;
            assert.strictEqual(lambda.inputs.runtime, "nodejs22.x");
            assert.deepStrictEqual(lambda.inputs.architectures, ["arm64"]);
            assert.strictEqual(lambda.inputs.handler, "index.handler");
            assert.deepStrictEqual(lambda.inputs.environment, { variables: { MANAGED_IDENTIFIERS: "wordpress" } });
            assert.deepStrictEqual(lambda.inputs.loggingConfig, { logFormat: "JSON", logGroup: "/aws/lambda/pilotlight-probe" });
            assert.strictEqual(lambda.inputs.vpcConfig, undefined);
            const logs = mocks.resources.find((r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.name === "probe-logs")!;
            assert.deepStrictEqual([logs.inputs.name, logs.inputs.retentionInDays], ["/aws/lambda/pilotlight-probe", 30]);
            assert.deepStrictEqual(policy.Statement, [
                { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: ["arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/pilotlight-probe:*"] },
                { Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: "arn:aws:rds:us-east-1:111111111111:db:wordpress" },
            ]);
            const trust = JSON.parse(mocks.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "probe-role")!.inputs.assumeRolePolicy);
            assert.deepStrictEqual(trust.Statement[0].Condition, { StringEquals: { "aws:SourceAccount": "111111111111" } });
        });

        it("joins the VPC with network-interface permissions only when asked", async () => {
            const fn = new BundledFunction("probe-vpc", {
                job: "restore-validate",
                functionName: "pilotlight-probe-vpc",
                accountId: "111111111111",
                region: "us-east-1",
                vpc: { subnetIds: ["subnet-a", "subnet-b"], securityGroupIds: ["sg-lambda"] },
            });
            const policy = JSON.parse(await value(fn.policy)) as PolicyDocument;
            await value(fn.arn);
            const lambda = mocks.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name === "probe-vpc")!;
            assert.deepStrictEqual(lambda.inputs.vpcConfig, { subnetIds: ["subnet-a", "subnet-b"], securityGroupIds: ["sg-lambda"] });
            assert.deepStrictEqual(policy.Statement.map((s) => s.Sid), ["WriteOwnLogs", "ManageOwnEnis", "DescribeEnis"]);
        });

        it("rejects a function name AWS would reject", () => {
            assert.throws(
                () => new BundledFunction("bad", { job: "restore-validate", functionName: "x".repeat(65), accountId: "111111111111", region: "us-east-1" }),
                /must be 1-64 letters, digits, hyphens or underscores/,
            );
        });
    });
});
