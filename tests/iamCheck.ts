/**
 * Checks recorded SDK calls against an identity policy: each call becomes the
 * actions and resource ARNs AWS authorizes it on (after the Service Authorization
 * Reference), and each must be allowed by a statement whose Action lists it and
 * one of whose Resource patterns matches the ARN. Conditions are not evaluated here;
 * tests assert them separately.
 */
import { PolicyStatement } from "../components/iam";
import { RecordedCall } from "./fakeRds";

/** One authorization a call needs. */
export interface Authorization {
    action: string;
    resource: string;
}

/** True when `arn` matches the IAM resource pattern (`*` any run of characters, `?` one). */
export function arnMatches(pattern: string, arn: string): boolean {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    return re.test(arn);
}

/** True when some Allow statement lists `action` and a Resource matching `resource`. */
export function allows(statements: PolicyStatement[], a: Authorization): boolean {
    return statements.some(
        (st) =>
            st.Effect === "Allow" &&
            ([] as string[]).concat(st.Action).includes(a.action) &&
            ([] as string[]).concat((st.Resource ?? []) as string | string[]).some((r) => arnMatches(r, a.resource)),
    );
}

/** The authorizations an RDS call needs; throws for a call this table does not know (add it). */
export function rdsAuthorizations(call: RecordedCall, scope: { account: string; region: string }): Authorization[] {
    const region = call.region ?? scope.region;
    const arn = (kind: string, id: unknown) => (typeof id === "string" && id.startsWith("arn:") ? id : `arn:aws:rds:${region}:${scope.account}:${kind}:${id}`);
    const i = call.input as Record<string, any>;
    const on = (action: string, ...resources: string[]) => resources.map((resource) => ({ action: `rds:${action}`, resource }));
    switch (call.command) {
        case "DescribeDBInstances":
            return on(call.command, arn("db", i.DBInstanceIdentifier ?? "*"));
        case "DescribeDBClusters":
            return on(call.command, arn("cluster", i.DBClusterIdentifier ?? "*"));
        case "DescribeDBSnapshots":
            if (i.DBSnapshotIdentifier) return on(call.command, arn("snapshot", i.DBSnapshotIdentifier));
            if (i.DBInstanceIdentifier) return on(call.command, arn("db", i.DBInstanceIdentifier));
            return on(call.command, arn("snapshot", "*"));
        case "DescribeDBClusterSnapshots":
            if (i.DBClusterSnapshotIdentifier) return on(call.command, arn("cluster-snapshot", i.DBClusterSnapshotIdentifier));
            if (i.DBClusterIdentifier) return on(call.command, arn("cluster", i.DBClusterIdentifier));
            return on(call.command, arn("cluster-snapshot", "*"));
        case "CreateDBSnapshot":
            return [...on(call.command, arn("db", i.DBInstanceIdentifier), arn("snapshot", i.DBSnapshotIdentifier)), ...(i.Tags?.length ? on("AddTagsToResource", arn("snapshot", i.DBSnapshotIdentifier)) : [])];
        case "CreateDBClusterSnapshot":
            return [
                ...on(call.command, arn("cluster", i.DBClusterIdentifier), arn("cluster-snapshot", i.DBClusterSnapshotIdentifier)),
                ...(i.Tags?.length ? on("AddTagsToResource", arn("cluster-snapshot", i.DBClusterSnapshotIdentifier)) : []),
            ];
        case "CopyDBSnapshot":
            return [...on(call.command, arn("snapshot", i.SourceDBSnapshotIdentifier), arn("snapshot", i.TargetDBSnapshotIdentifier)), ...(i.Tags?.length ? on("AddTagsToResource", arn("snapshot", i.TargetDBSnapshotIdentifier)) : [])];
        case "CopyDBClusterSnapshot":
            return [
                ...on(call.command, arn("cluster-snapshot", i.SourceDBClusterSnapshotIdentifier), arn("cluster-snapshot", i.TargetDBClusterSnapshotIdentifier)),
                ...(i.Tags?.length ? on("AddTagsToResource", arn("cluster-snapshot", i.TargetDBClusterSnapshotIdentifier)) : []),
            ];
        case "RestoreDBInstanceFromDBSnapshot":
            return [
                ...on(
                    call.command,
                    arn("db", i.DBInstanceIdentifier),
                    arn("snapshot", i.DBSnapshotIdentifier),
                    ...(i.DBSubnetGroupName ? [arn("subgrp", i.DBSubnetGroupName)] : []),
                    ...(i.DBParameterGroupName ? [arn("pg", i.DBParameterGroupName)] : []),
                    ...(i.OptionGroupName ? [arn("og", i.OptionGroupName)] : []),
                ),
                ...(i.Tags?.length ? on("AddTagsToResource", arn("db", i.DBInstanceIdentifier)) : []),
            ];
        case "RestoreDBClusterFromSnapshot":
            return [
                ...on(
                    call.command,
                    arn("cluster", i.DBClusterIdentifier),
                    arn("cluster-snapshot", i.SnapshotIdentifier),
                    ...(i.DBSubnetGroupName ? [arn("subgrp", i.DBSubnetGroupName)] : []),
                    ...(i.DBClusterParameterGroupName ? [arn("cluster-pg", i.DBClusterParameterGroupName)] : []),
                ),
                ...(i.Tags?.length ? on("AddTagsToResource", arn("cluster", i.DBClusterIdentifier)) : []),
            ];
        case "CreateDBInstance":
            return [
                ...on(call.command, arn("db", i.DBInstanceIdentifier), ...(i.DBClusterIdentifier ? [arn("cluster", i.DBClusterIdentifier)] : [])),
                ...(i.Tags?.length ? on("AddTagsToResource", arn("db", i.DBInstanceIdentifier)) : []),
            ];
        case "DeleteDBCluster":
            return on(call.command, arn("cluster", i.DBClusterIdentifier));
        case "ModifyDBInstance":
            return [
                ...on(call.command, arn("db", i.DBInstanceIdentifier)),
                // RDS user guide, "Permissions required for Secrets Manager integration": the caller creates and tags the managed secret, and uses the named key.
                ...(i.ManageMasterUserPassword
                    ? ["secretsmanager:CreateSecret", "secretsmanager:TagResource"].map((action) => ({ action, resource: `arn:aws:secretsmanager:${region}:${scope.account}:secret:rds!db-0123abcd-AbCdEf` }))
                    : []),
                ...(i.ManageMasterUserPassword && i.MasterUserSecretKmsKeyId
                    ? ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"].map((action) => ({ action, resource: i.MasterUserSecretKmsKeyId as string }))
                    : []),
            ];
        case "DeleteDBInstance":
            return [...on(call.command, arn("db", i.DBInstanceIdentifier)), ...(i.FinalDBSnapshotIdentifier ? on("CreateDBSnapshot", arn("db", i.DBInstanceIdentifier), arn("snapshot", i.FinalDBSnapshotIdentifier)) : [])];
        case "DeleteDBSnapshot":
            return on(call.command, arn("snapshot", i.DBSnapshotIdentifier));
        case "ModifyDBSnapshotAttribute":
        case "DescribeDBSnapshotAttributes":
            return on(call.command, arn("snapshot", i.DBSnapshotIdentifier));
        case "DeleteDBClusterSnapshot":
        case "ModifyDBClusterSnapshotAttribute":
        case "DescribeDBClusterSnapshotAttributes":
            return on(call.command, arn("cluster-snapshot", i.DBClusterSnapshotIdentifier));
        case "AddTagsToResource":
        case "ListTagsForResource":
            return on(call.command, i.ResourceName);
        default:
            throw new Error(`rdsAuthorizations: no resource mapping for ${call.command}`);
    }
}
