// Where the Pulumi state and the secrets provider live. Both must survive the primary region:
// during its outage `pulumi up -s dr` must still read the state and decrypt the config.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";

/**
 * The backend URL Pulumi would use, in the CLI's order: PULUMI_BACKEND_URL, the project's
 * `backend.url` (Pulumi.yaml), then the current login (~/.pulumi/credentials.json `current`).
 * Exported for testing.
 */
export function backendUrl(env: Record<string, string | undefined>, projectYaml: string | undefined, credentialsJson: string | undefined): string | undefined {
    if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
    const project = projectYaml ? (yaml.load(projectYaml) as { backend?: { url?: string } } | undefined) : undefined;
    if (project?.backend?.url) return project.backend.url;
    if (credentialsJson) {
        try {
            const current = (JSON.parse(credentialsJson) as { current?: string }).current;
            if (current) return current;
        } catch {
            // An unreadable credentials file: the backend is unknown.
        }
    }
    return undefined;
}

/** What kind of backend a URL names, and its AWS region when the URL says so. Exported for testing. */
export function parseBackend(url: string): { kind: "s3"; bucket: string; region?: string } | { kind: "cloud" | "file" | "other"; region?: undefined } {
    if (url.startsWith("s3://")) {
        const u = new URL(url);
        return { kind: "s3", bucket: u.hostname, region: u.searchParams.get("region") ?? undefined };
    }
    if (url.startsWith("file://")) return { kind: "file" };
    if (/^https:\/\/(api|app)\.pulumi\.com/.test(url)) return { kind: "cloud" };
    return { kind: "other" };
}

/**
 * The AWS region of an `awskms://` secrets provider: the `region` parameter, else the region of a
 * key or alias ARN. Undefined when it is another provider or the URL does not say. Exported for testing.
 */
export function secretsProviderRegion(provider: string): string | undefined {
    if (!provider.startsWith("awskms://")) return undefined;
    const rest = provider.slice("awskms://".length);
    const query = rest.includes("?") ? new URLSearchParams(rest.slice(rest.indexOf("?") + 1)) : undefined;
    const fromQuery = query?.get("region");
    if (fromQuery) return fromQuery;
    return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(decodeURIComponent(rest))?.[1];
}

/** Reads the settings of `stack` in `projectDir` and the operator's environment. */
export function readPulumiSettings(projectDir: string, stack: string, env = process.env): { backendUrl?: string; secretsProvider?: string; passphrase: boolean } {
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
    const home = env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    const stackDoc = (yaml.load(read(path.join(projectDir, `Pulumi.${stack}.yaml`)) ?? "") ?? {}) as { secretsprovider?: string; encryptionsalt?: string };
    return {
        backendUrl: backendUrl(env, read(path.join(projectDir, "Pulumi.yaml")), read(path.join(home, "credentials.json"))),
        secretsProvider: stackDoc.secretsprovider,
        passphrase: !!stackDoc.encryptionsalt,
    };
}
