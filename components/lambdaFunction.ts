// A Lambda built from functions/<job>/index.ts: bundled by esbuild at deploy time,
// nodejs22.x on arm64, its own role with only the statements its handler needs,
// and its own log group with a retention. The AWS SDK v3 clients are left to the
// runtime, which ships them (as the CDK's NodejsFunction does by default): bundles
// stay a few kilobytes, reviewable, and quick to deploy and start.
import * as fs from "fs";
import * as path from "path";
import * as esbuild from "esbuild";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, policyDocument, PolicyStatement, renderPolicy } from "./iam";
import { partitionOf } from "./naming";

/** Where a Lambda runs inside the VPC (from the Network component), when it does. */
export interface LambdaVpcConfig {
    /** App-tier subnet ids. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security groups of the function's network interfaces. */
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
}

export interface BundledFunctionArgs {
    /** Folder under `functions/` whose `index.ts` exports `handler`. */
    job: string;
    /** Physical function name (at most 64 characters); the log group is named after it. */
    functionName: string;
    /** What the function does, shown in the console. Defaults to the job name. */
    description?: string;
    /** IAM statements the handler needs, beyond writing to its own log group. Defaults to none. */
    statements?: pulumi.Input<PolicyStatement[]>;
    /** Environment variables; never secrets (read those from Secrets Manager at run time). Defaults to none. */
    environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Timeout in seconds. Defaults to 60. */
    timeoutSeconds?: number;
    /** Memory in MB. Defaults to 256. */
    memoryMb?: number;
    /** Run inside the VPC. Defaults to outside (the function only calls AWS APIs). */
    vpc?: LambdaVpcConfig;
    /** Days to keep logs. Defaults to 30. */
    logRetentionDays?: number;
    /** Account and region, for scoping the log and network-interface permissions. */
    accountId: string;
    region: string;
    /** Tags for the function, role and log group. Defaults to none. */
    tags?: Record<string, string>;
    /** A role made beforehand for this function by `functionRole` (e.g. kept in the pilot light). Defaults to one of its own. */
    role?: FunctionRole;
}

/** A function's execution role and its inline policy. */
export interface FunctionRole {
    role: aws.iam.Role;
    rolePolicy: aws.iam.RolePolicy;
    /** The policy document (for review and tests). */
    policy: pulumi.Output<string>;
}

/**
 * The role and policy of a BundledFunction, `<name>-role` and `<name>-policy`: the given
 * statements plus writing to its own log group. IAM is a global service: a stack can make
 * them apart, so that they stay in place while the function itself comes and goes.
 */
export function functionRole(
    name: string,
    args: Pick<BundledFunctionArgs, "functionName" | "statements" | "vpc" | "accountId" | "region" | "tags">,
    opts: pulumi.CustomResourceOptions,
): FunctionRole {
    const tags = args.tags ?? {};
    const p = partitionOf(args.region);
    const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: JSON.stringify(assumeRolePolicy("lambda.amazonaws.com", args.accountId)), tags }, opts);
    const logArn = `arn:${p}:logs:${args.region}:${args.accountId}:log-group:/aws/lambda/${args.functionName}`;
    const statements = pulumi.output(args.statements ?? []).apply((s) => [
        { Sid: "WriteOwnLogs", Effect: "Allow" as const, Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logArn}:*`] },
        ...(args.vpc ? vpcAccessStatements(args.accountId, args.region) : []),
        ...s,
    ]);
    const policy = renderPolicy(statements.apply((s) => policyDocument(s as PolicyStatement[])));
    const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy }, opts);
    return { role, rolePolicy, policy };
}

const PROJECT_ROOT = path.resolve(__dirname, "..");
const bundles = new Map<string, string>();

/**
 * Bundles functions/<job>/index.ts into one CommonJS file. Deterministic for the
 * same sources: paths are relative to the project root and comments are dropped.
 * Exported for testing.
 */
export function bundleJob(job: string): string {
    if (!/^[a-z0-9-]+$/.test(job)) throw new Error(`Lambda job "${job}" is not a folder name under functions/ (lowercase letters, digits, hyphens)`);
    const cached = bundles.get(job);
    if (cached !== undefined) return cached;
    const result = esbuild.buildSync({
        absWorkingDir: PROJECT_ROOT,
        // The sources in this repository; the compiled JavaScript in the built package.
        entryPoints: [fs.existsSync(path.join(PROJECT_ROOT, "functions", job, "index.ts")) ? `functions/${job}/index.ts` : `functions/${job}/index.js`],
        bundle: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        write: false,
        minifyWhitespace: true,
        minifySyntax: true,
        legalComments: "none",
        external: ["@aws-sdk/*"],
        logLevel: "silent",
    });
    const code = result.outputFiles[0].text;
    bundles.set(job, code);
    return code;
}

/** The network-interface permissions a Lambda in a VPC needs; Describe has no resource-level scoping. */
export function vpcAccessStatements(accountId: string, region: string): PolicyStatement[] {
    const p = partitionOf(region);
    return [
        {
            Sid: "ManageOwnEnis",
            Effect: "Allow",
            Action: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            Resource: [
                `arn:${p}:ec2:${region}:${accountId}:network-interface/*`,
                `arn:${p}:ec2:${region}:${accountId}:subnet/*`,
                `arn:${p}:ec2:${region}:${accountId}:security-group/*`,
            ],
        },
        // DescribeNetworkInterfaces supports no resource-level permissions: AWS requires "*".
        { Sid: "DescribeEnis", Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces"], Resource: "*" },
    ];
}

/** A bundled Node.js Lambda with its own least-privilege role and log group. */
export class BundledFunction extends pulumi.ComponentResource {
    /** The function. */
    public readonly fn: aws.lambda.Function;
    /** The function's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** The function's name. */
    public readonly functionName: pulumi.Output<string>;
    /** The execution role. */
    public readonly role: aws.iam.Role;
    /** The execution role's ARN. */
    public readonly roleArn: pulumi.Output<string>;
    /** The policy document attached to the role (for review and tests). */
    public readonly policy: pulumi.Output<string>;

    constructor(name: string, args: BundledFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:lambda:BundledFunction", name, {}, opts);
        if (args.functionName.length > 64 || !/^[A-Za-z0-9_-]+$/.test(args.functionName)) {
            throw new Error(`Lambda function name "${args.functionName}" must be 1-64 letters, digits, hyphens or underscores`);
        }
        const tags = args.tags ?? {};
        const logGroupName = `/aws/lambda/${args.functionName}`;
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: logGroupName, retentionInDays: args.logRetentionDays ?? 30, tags },
            { parent: this },
        );
        const { role, rolePolicy, policy } = args.role ?? functionRole(name, args, { parent: this });
        this.role = role;
        this.policy = policy;

        this.fn = new aws.lambda.Function(
            name,
            {
                name: args.functionName,
                description: args.description ?? args.job,
                runtime: aws.lambda.Runtime.NodeJS22dX,
                architectures: ["arm64"],
                handler: "index.handler",
                code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(bundleJob(args.job)) }),
                role: this.role.arn,
                timeout: args.timeoutSeconds ?? 60,
                memorySize: args.memoryMb ?? 256,
                environment: args.environment ? { variables: args.environment } : undefined,
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
                vpcConfig: args.vpc ? { subnetIds: args.vpc.subnetIds, securityGroupIds: args.vpc.securityGroupIds } : undefined,
                tags,
            },
            { parent: this, dependsOn: [logGroup, rolePolicy] },
        );
        this.arn = this.fn.arn;
        this.functionName = this.fn.name;
        this.roleArn = this.role.arn;
        this.registerOutputs({ arn: this.arn, functionName: this.functionName, roleArn: this.roleArn });
    }
}
