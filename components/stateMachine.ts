// A Step Functions machine with its own role that may invoke only the machine's Lambdas,
// and optionally execution logs in CloudWatch: the plumbing every pilotlight machine shares.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy, deliverExecutionLogsStatement, PolicyDocument, policyDocument, PolicyStatement, renderPolicy } from "./iam";

/** Policy of a machine's role: invoke the given Lambdas, and deliver execution logs when it logs. Exported for testing. */
export function lambdaMachinePolicy(functionArns: string[], options: { invokeSid?: string; logs?: boolean; statements?: PolicyStatement[] } = {}): PolicyDocument {
    return policyDocument([
        { Sid: options.invokeSid ?? "InvokeOwnLambdas", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: functionArns },
        ...(options.logs ? [deliverExecutionLogsStatement()] : []),
        ...(options.statements ?? []),
    ]);
}

export interface LambdaStateMachineArgs {
    /** Physical name of the machine; its log group is `/aws/vendedlogs/states/<machineName>`. */
    machineName: string;
    /** Physical name of the machine's role. Defaults to a name Pulumi generates. */
    roleName?: string;
    /** Account whose machines alone may assume the role (`aws:SourceAccount`). */
    accountId: string;
    /** The definition, Lambda ARNs resolved; deployed as its JSON. */
    definition: pulumi.Input<object>;
    /** Every Lambda the machine invokes: the only functions its role may invoke. */
    functionArns: pulumi.Input<pulumi.Input<string>[]>;
    /** Sid of the invoke statement in the role's policy. Defaults to "InvokeOwnLambdas". */
    invokeSid?: string;
    /**
     * Days the execution logs (level ERROR, with execution data) are kept. Defaults to
     * no execution logging: no log group, and no log-delivery permissions on the role.
     */
    logRetentionDays?: number;
    /** Further statements of the role's policy (e.g. a distributed Map's child executions). Defaults to none. */
    statements?: PolicyStatement[];
    /** Tags of every resource. Defaults to none. */
    tags?: Record<string, string>;
    /** A role made beforehand for this machine by `machineRole` (e.g. kept in the pilot light). Defaults to one of its own. */
    role?: MachineRole;
}

/** A machine's role and its inline policy. */
export interface MachineRole {
    role: aws.iam.Role;
    rolePolicy: aws.iam.RolePolicy;
}

/**
 * The role and policy of a LambdaStateMachine, `<name>-role` and `<name>-policy`: invoke the
 * given Lambdas, and deliver execution logs when `logRetentionDays` is set. IAM is a global
 * service: a stack can make them apart, so that they stay in place while the machine comes and goes.
 */
export function machineRole(
    name: string,
    args: Pick<LambdaStateMachineArgs, "roleName" | "accountId" | "functionArns" | "invokeSid" | "logRetentionDays" | "statements" | "tags">,
    opts: pulumi.CustomResourceOptions,
): MachineRole {
    const logs = args.logRetentionDays !== undefined;
    const role = new aws.iam.Role(
        `${name}-role`,
        { name: args.roleName, assumeRolePolicy: JSON.stringify(assumeRolePolicy("states.amazonaws.com", args.accountId)), tags: args.tags ?? {} },
        opts,
    );
    const rolePolicy = new aws.iam.RolePolicy(
        `${name}-policy`,
        { role: role.id, policy: renderPolicy(pulumi.output(args.functionArns).apply((arns) => lambdaMachinePolicy(arns, { invokeSid: args.invokeSid, logs, statements: args.statements }))) },
        opts,
    );
    return { role, rolePolicy };
}

/** A STANDARD state machine, its role and inline policy, and optionally its log group. */
export class LambdaStateMachine extends pulumi.ComponentResource {
    /** The machine. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** ARN of the machine. */
    public readonly arn: pulumi.Output<string>;
    /** The role the machine runs as. */
    public readonly role: aws.iam.Role;
    /** The execution log group, when the machine logs. */
    public readonly logGroup?: aws.cloudwatch.LogGroup;

    constructor(name: string, args: LambdaStateMachineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pilotlight:sfn:LambdaStateMachine", name, {}, opts);
        const tags = args.tags ?? {};
        const logs = args.logRetentionDays !== undefined;
        if (logs) {
            this.logGroup = new aws.cloudwatch.LogGroup(
                `${name}-logs`,
                { name: `/aws/vendedlogs/states/${args.machineName}`, retentionInDays: args.logRetentionDays, tags },
                { parent: this },
            );
        }
        const { role, rolePolicy: policy } = args.role ?? machineRole(name, args, { parent: this });
        this.role = role;
        const logGroup = this.logGroup;
        this.stateMachine = new aws.sfn.StateMachine(
            name,
            {
                name: args.machineName,
                type: "STANDARD",
                roleArn: this.role.arn,
                definition: pulumi.output(args.definition).apply((d) => JSON.stringify(d)),
                loggingConfiguration: logGroup ? { level: "ERROR", includeExecutionData: true, logDestination: pulumi.interpolate`${logGroup.arn}:*` } : undefined,
                tags,
            },
            { parent: this, dependsOn: [policy] },
        );
        this.arn = this.stateMachine.arn;
        this.registerOutputs({ arn: this.arn });
    }
}

/** What `startExecutionRole` makes. */
export interface StartExecutionRoleArgs {
    /** Physical name of the role. Defaults to a name Pulumi generates. */
    roleName?: string;
    /** Account whose EventBridge rules alone may assume the role (`aws:SourceAccount`). */
    accountId: string;
    /** Sid of the policy's only statement. */
    sid: string;
    /** ARN of the one machine the role may start. */
    machineArn: pulumi.Input<string>;
    /** Tags of the role. Defaults to none. */
    tags?: Record<string, string>;
}

/** A role EventBridge assumes to start one state machine, and its policy: `<name>-role` and `<name>-policy` under `parent`. */
export function startExecutionRole(name: string, args: StartExecutionRoleArgs, parent: pulumi.Resource): aws.iam.Role {
    const role = new aws.iam.Role(
        `${name}-role`,
        { name: args.roleName, assumeRolePolicy: JSON.stringify(assumeRolePolicy("events.amazonaws.com", args.accountId)), tags: args.tags ?? {} },
        { parent },
    );
    new aws.iam.RolePolicy(
        `${name}-policy`,
        { role: role.id, policy: renderPolicy(policyDocument([{ Sid: args.sid, Effect: "Allow", Action: ["states:StartExecution"], Resource: [args.machineArn] }])) },
        { parent },
    );
    return role;
}
