/**
 * A small stateful fake of Secrets Manager (GetSecretValue, PutSecretValue, DescribeSecret)
 * for the copy target's tests: secrets by name or ARN, every version kept, the SDK's real
 * error class.
 */
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";

export class FakeSecrets {
    /** Secret id -> versions, oldest first. A secret created without a value has none. */
    readonly versions = new Map<string, string[]>();
    /** Secret id -> description. */
    readonly descriptions = new Map<string, string>();
    /** Every call, in order. */
    readonly calls: { command: string; input: { SecretId: string } }[] = [];
    private readonly mock = mockClient(SecretsManagerClient);

    constructor(ids: string[]) {
        for (const id of ids) this.create(id);
        this.mock.onAnyCommand().rejects(new Error("FakeSecrets: unsupported command"));
        this.mock.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }) => {
            this.calls.push({ command: "GetSecretValue", input: { SecretId: input.SecretId } });
            const v = this.versions.get(input.SecretId);
            // "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" (a secret without a value).
            if (!v || v.length === 0) throw new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" });
            return { SecretString: v[v.length - 1] };
        });
        this.mock.on(PutSecretValueCommand).callsFake(async (input: { SecretId: string; SecretString: string }) => {
            this.calls.push({ command: "PutSecretValue", input: { SecretId: input.SecretId } });
            const v = this.versions.get(input.SecretId);
            if (!v) throw new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret." });
            v.push(input.SecretString);
            return { VersionId: `v${v.length}` };
        });
        this.mock.on(DescribeSecretCommand).callsFake(async (input: { SecretId: string }) => {
            this.calls.push({ command: "DescribeSecret", input: { SecretId: input.SecretId } });
            if (!this.versions.has(input.SecretId)) throw new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret." });
            return { Name: input.SecretId, Description: this.descriptions.get(input.SecretId) };
        });
    }

    /** Creates a secret without a value (as `aws.secretsmanager.Secret` does). */
    create(id: string, description?: string): void {
        this.versions.set(id, []);
        if (description !== undefined) this.descriptions.set(id, description);
    }

    /** Deletes a secret at once (no recovery window). */
    delete(id: string): void {
        this.versions.delete(id);
        this.descriptions.delete(id);
    }

    /** The current value, parsed. */
    current(id: string): any {
        const v = this.versions.get(id) ?? [];
        return v.length ? JSON.parse(v[v.length - 1]) : undefined;
    }

    restore(): void {
        this.mock.restore();
    }
}
