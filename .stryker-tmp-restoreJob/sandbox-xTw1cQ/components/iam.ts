// @ts-nocheck
// IAM policy documents as plain data, so tests and the synthesis can read them.
import * as pulumi from "@pulumi/pulumi";

/** One statement of an IAM, key, bucket or topic policy. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: pulumi.Input<string | Record<string, pulumi.Input<string | pulumi.Input<string>[]>>>;
    Action: string | string[];
    Resource?: pulumi.Input<string> | pulumi.Input<string>[];
    Condition?: Record<string, Record<string, pulumi.Input<string | boolean | pulumi.Input<string>[]>>>;
}

/** A policy document with the current policy language version. */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** Wraps statements in a document. */
export function policyDocument(statements: PolicyStatement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

/** Resolves every Input inside a document and renders it as JSON for a resource's `policy`. */
export function renderPolicy(doc: pulumi.Input<PolicyDocument>): pulumi.Output<string> {
    return pulumi.output(doc).apply((d) => JSON.stringify(d));
}

/** Trust policy letting one AWS service assume a role, optionally only for this account's resources. */
export function assumeRolePolicy(service: string, sourceAccount?: string): PolicyDocument {
    const statement: PolicyStatement = { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" };
    if (sourceAccount) statement.Condition = { StringEquals: { "aws:SourceAccount": sourceAccount } };
    return policyDocument([statement]);
}

/** Allow statements whose action is `*` or `service:*`: never acceptable in pilotlight. */
export function wildcardActions(doc: PolicyDocument): string[] {
    const found: string[] = [];
    for (const s of doc.Statement) {
        if (s.Effect !== "Allow") continue;
        for (const a of ([] as string[]).concat(s.Action)) {
            if (a === "*" || /^[a-z0-9-]+:\*$/i.test(a)) found.push(`${s.Sid ?? "(no Sid)"}: ${a}`);
        }
    }
    return found;
}

/**
 * Lets Step Functions deliver a machine's execution logs to CloudWatch Logs. These
 * actions have no resource-level permissions: AWS requires Resource "*".
 */
export function deliverExecutionLogsStatement(): PolicyStatement {
    return {
        Sid: "DeliverExecutionLogs",
        Effect: "Allow",
        Action: [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
        Resource: "*",
    };
}
