// The deployment order of docs/deploying.md, checked over the synthesized stacks (two-account
// layout, where every reference to the peer carries the peer's account id). Each stack computes the
// peer's names instead of looking them up; most references are policy text that AWS accepts before
// the peer exists. This test lists the others, the resources whose creation needs the peer's
// resource to exist, and fails when a new one appears: then the documented order must be revisited.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT, ProgramResource, ProgramRun, runProgram } from "./program";

/**
 * Resource types that may name a peer's resource before it exists, and why AWS accepts that.
 * Policies are only accepted if their principals exist: those are checked separately (account roots only).
 */
export const NAMES_ONLY: Record<string, string> = {
    "aws:iam/role:Role": "trust policy (principal: the peer account root) and description",
    "aws:iam/rolePolicy:RolePolicy": "identity policy: IAM does not check that a Resource exists",
    "aws:kms/key:Key": "key policy: peer account root, narrowed by aws:PrincipalArn conditions",
    "aws:kms/replicaKey:ReplicaKey": "key policy: peer account root",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket policy: peer account root, narrowed by aws:PrincipalArn conditions",
    "aws:sns/topicPolicy:TopicPolicy": "topic policy: peer account root",
    "aws:lambda/function:Function": "environment variables",
    "aws:lambda/permission:Permission": "source ARN: a condition of the function's resource policy",
    "aws:cloudwatch/dashboard:Dashboard": "dashboard text and metric dimensions",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "metric dimensions (an alarm may watch a metric nobody publishes yet)",
};

/** Resource types whose creation AWS validates against the peer's resource: the peer must exist first. */
export const NEEDS_PEER: Record<string, string> = {
    // S3 PutBucketReplication: "InvalidRequest: Destination bucket must have versioning enabled".
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "the destination bucket (versioned)",
    // SNS Subscribe to a topic ARN that does not exist fails with NotFound.
    "aws:sns/topicSubscription:TopicSubscription": "the topic",
    // RDS StartDBInstanceAutomatedBackupsReplication needs the source instance.
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "the source instance",
};

/** Restores whose source the plan itself found (a snapshot the peer shared into this region): exists by construction. */
export const FOUND_BY_LOOKUP = new Set(["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"]);

/** Every string in a value; strings holding JSON (policy documents, dashboard bodies) are read too. */
export function stringsIn(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") {
        out.push(v);
        if (/^\s*[[{]/.test(v)) {
            try {
                stringsIn(JSON.parse(v), out);
            } catch {
                // not JSON
            }
        }
    } else if (Array.isArray(v)) for (const x of v) stringsIn(x, out);
    else if (v && typeof v === "object") for (const x of Object.values(v)) stringsIn(x, out);
    return out;
}

/** Every AWS principal of every policy statement found in a value (documents may be JSON strings). */
export function principalsIn(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") {
        if (/^\s*{/.test(v)) {
            try {
                principalsIn(JSON.parse(v), out);
            } catch {
                // not JSON
            }
        }
    } else if (Array.isArray(v)) for (const x of v) principalsIn(x, out);
    else if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        const p = o.Principal as { AWS?: string | string[] } | undefined;
        if (o.Effect && p && typeof p === "object" && p.AWS !== undefined) out.push(...([] as string[]).concat(p.AWS));
        for (const x of Object.values(o)) principalsIn(x, out);
    }
    return out;
}

/** What a stack needs from its peer at deployment, found by the peer's account id in its inputs. */
export interface PeerDependencies {
    /** `<logical name> (<type>): <what must exist>` for each resource that needs the peer's resource. */
    needsPeer: string[];
    /** Restores from the peer's shared snapshots, found by the plan's own lookup. */
    foundByLookup: string[];
    /** Resources naming the peer whose type is in no list: classify them (and revisit the deploy order). */
    unclassified: string[];
    /** Policy principals naming a peer principal other than its account root (AWS rejects those before they exist). */
    peerPrincipals: string[];
}

function providerUrnOf(r: ProgramResource): string | undefined {
    return r.provider ? r.provider.split("::").slice(0, -1).join("::") : undefined;
}

/** Classifies every custom resource of `run` that names `peerAccountId`. Exported for testing. */
export function peerDependencies(run: ProgramRun, peerAccountId: string, only?: Set<string>): PeerDependencies {
    const deps: PeerDependencies = { needsPeer: [], foundByLookup: [], unclassified: [], peerPrincipals: [] };
    const names = (r: ProgramResource) => stringsIn(r.inputs).some((s) => s.includes(peerAccountId));
    // A provider that assumes a role in the peer's account: everything it manages needs that role.
    const peerProviders = new Map<string, string>();
    for (const p of run.resources.filter((r) => r.type.startsWith("pulumi:providers:") && names(r))) {
        const roles = stringsIn(p.inputs.assumeRoles ?? p.inputs.assumeRole ?? []).filter((s) => new RegExp(`^arn:[a-z-]+:iam::${peerAccountId}:role/[^"\\s]+$`).test(s));
        if (roles.length === 0) deps.unclassified.push(`${p.name} (${p.type})`);
        else peerProviders.set(p.urn, roles.join(", "));
    }
    for (const r of run.resources) {
        if (!r.custom || r.type.startsWith("pulumi:providers:") || (only && !only.has(r.urn))) continue;
        const through = providerUrnOf(r);
        if (through && peerProviders.has(through)) deps.needsPeer.push(`${r.name} (${r.type}): the role ${peerProviders.get(through)}`);
        if (!names(r)) continue;
        for (const p of principalsIn(r.inputs)) {
            if (p.includes(peerAccountId) && !/^arn:[a-z-]+:iam::\d{12}:root$/.test(p)) deps.peerPrincipals.push(`${r.name} (${r.type}): ${p}`);
        }
        if (NEEDS_PEER[r.type]) deps.needsPeer.push(`${r.name} (${r.type}): ${NEEDS_PEER[r.type]}`);
        else if (FOUND_BY_LOOKUP.has(r.type)) deps.foundByLookup.push(`${r.name} (${r.type})`);
        else if (!NAMES_ONLY[r.type]) deps.unclassified.push(`${r.name} (${r.type})`);
    }
    return { needsPeer: deps.needsPeer.sort(), foundByLookup: deps.foundByLookup.sort(), unclassified: deps.unclassified.sort(), peerPrincipals: deps.peerPrincipals.sort() };
}

/** The `pulumi up -s <stack> [flags]` commands of docs/deploying.md's "Deploy order" block, in order. */
export function documentedOrder(markdown: string): string[] {
    const section = markdown.split(/^## /m).find((s) => s.startsWith("Deploy order"));
    if (!section) return [];
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    return [...block.matchAll(/pulumi up -s (\S+)([^\n#]*)/g)].map((m) => `${m[1]}${m[2].trimEnd()}`);
}

const PROD_ACCOUNT = "111111111111";
const DR_ACCOUNT = "222222222222";

describe("deploy order: what each stack needs from its peer (two accounts)", () => {
    let prod: ProgramRun;
    let dr: ProgramRun;
    let drFailedOver: ProgramRun;
    before(async () => {
        prod = await runProgram("prod");
        dr = await runProgram("dr");
        drFailedOver = await runProgram("dr", { sets: ["failover=true"] });
    });

    it("prod needs only dr's replica bucket, for its media replication", () => {
        const d = peerDependencies(prod, DR_ACCOUNT);
        assert.deepStrictEqual(d.needsPeer, ["media-replication (aws:s3/bucketReplicationConfig:BucketReplicationConfig): the destination bucket (versioned)"]);
        assert.deepStrictEqual(d.unclassified, [], "a new kind of reference to dr: classify it in NAMES_ONLY or NEEDS_PEER, and check docs/deploying.md");
        assert.deepStrictEqual(d.peerPrincipals, []);
    });

    it("dr's pilot light needs prod's copy topic and, in another account, prod's DNS role", () => {
        const d = peerDependencies(dr, PROD_ACCOUNT);
        assert.deepStrictEqual(d.needsPeer, [
            "copy-subscription (aws:sns/topicSubscription:TopicSubscription): the topic",
            "dns-record (aws:route53/record:Record): the role arn:aws:iam::111111111111:role/pilotlight-dns-failover",
        ]);
        assert.deepStrictEqual(d.unclassified, [], "a new kind of reference to prod: classify it in NAMES_ONLY or NEEDS_PEER, and check docs/deploying.md");
        assert.deepStrictEqual(d.peerPrincipals, []);
    });

    it("failing over adds only the replication back to prod's bucket (and restores prod's shared snapshot, found in the DR region)", () => {
        const before = new Set(dr.resources.map((r) => r.urn));
        const added = new Set(drFailedOver.resources.filter((r) => !before.has(r.urn)).map((r) => r.urn));
        const d = peerDependencies(drFailedOver, PROD_ACCOUNT, added);
        assert.deepStrictEqual(d.needsPeer, ["media-failback (aws:s3/bucketReplicationConfig:BucketReplicationConfig): the destination bucket (versioned)"]);
        assert.deepStrictEqual(d.foundByLookup, ["database-instance (aws:rds/instance:Instance)"]);
        assert.deepStrictEqual(d.unclassified, []);
    });

    it("what each stack needs from the peer, the peer creates without needing anything back: three runs converge", () => {
        // prod's replication names dr's bucket: dr creates that bucket and its versioning on its own.
        const destination = stringsIn(prod.resources.find((r) => r.name === "media-replication" && r.type.startsWith("aws:s3/bucketReplicationConfig"))!.inputs)
            .find((s) => s.startsWith("arn:aws:s3:::"))!
            .replace("arn:aws:s3:::", "");
        const drBucket = dr.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.inputs.bucket === destination);
        assert.ok(drBucket, `dr creates ${destination}`);
        const drNeeds = peerDependencies(dr, PROD_ACCOUNT).needsPeer.map((l) => l.split(" ")[0]);
        for (const r of dr.resources.filter((x) => x.parent === drBucket!.parent)) assert.ok(!drNeeds.includes(r.name), `${r.name} needs nothing from prod`);
        // dr's subscription and record name prod's topic and role: prod creates both on its own.
        const prodNeeds = peerDependencies(prod, DR_ACCOUNT).needsPeer.map((l) => l.split(" ")[0]);
        const topic = prod.resources.find((r) => r.type === "aws:sns/topic:Topic" && r.inputs.name === "pilotlight-snapshot-copy");
        const role = prod.resources.find((r) => r.type === "aws:iam/role:Role" && r.inputs.name === "pilotlight-dns-failover");
        assert.ok(topic && role);
        assert.ok(!prodNeeds.includes(topic!.name) && !prodNeeds.includes(role!.name));
    });

    it("docs/deploying.md gives that order: dr with --continue-on-error, prod, dr again", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "deploying.md"), "utf8");
        assert.deepStrictEqual(documentedOrder(doc), ["dr --continue-on-error", "prod", "dr"]);
        // Each dependency the test found is named where the order is explained.
        for (const phrase of ["destination bucket", "topic", "dns-failover"]) assert.ok(doc.includes(phrase), phrase);
    });

    it("would catch a new dependency on the peer, an unclassified reference and a peer role as a principal", () => {
        const fake = (name: string, type: string, inputs: Record<string, unknown>): ProgramResource => ({
            urn: `urn:pulumi:dr::pilotlight::${type}::${name}`, type, name, inputs, id: "", state: {}, custom: true, dependsOn: [], ignoreChanges: [],
        });
        const tampered: ProgramRun = {
            ...dr,
            resources: [
                ...dr.resources,
                fake("sneaky-sub", "aws:sns/topicSubscription:TopicSubscription", { topic: `arn:aws:sns:us-west-2:${PROD_ACCOUNT}:other` }),
                fake("sneaky-queue", "aws:sqs/queue:Queue", { policy: `arn:aws:sqs:us-east-1:${PROD_ACCOUNT}:q` }),
                fake("sneaky-policy", "aws:s3/bucketPolicy:BucketPolicy", {
                    policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${PROD_ACCOUNT}:role/not-yet` }, Action: "s3:GetObject", Resource: "*" }] }),
                }),
                fake("own-account", "aws:sqs/queue:Queue", { name: `q-${DR_ACCOUNT}` }),
            ],
        };
        const d = peerDependencies(tampered, PROD_ACCOUNT);
        assert.ok(d.needsPeer.includes("sneaky-sub (aws:sns/topicSubscription:TopicSubscription): the topic"));
        assert.deepStrictEqual(d.unclassified, ["sneaky-queue (aws:sqs/queue:Queue)"]);
        assert.deepStrictEqual(d.peerPrincipals, [`sneaky-policy (aws:s3/bucketPolicy:BucketPolicy): arn:aws:iam::${PROD_ACCOUNT}:role/not-yet`]);
        assert.deepStrictEqual(documentedOrder("## Deploy order\n\n```sh\npulumi up -s prod   # first\npulumi up -s dr --continue-on-error\n```\n"), ["prod", "dr --continue-on-error"]);
    });
});
