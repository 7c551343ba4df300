/**
 * A fake DynamoDB for the recovery guard's tests, installed with
 * aws-sdk-client-mock. It keeps items per table and evaluates UpdateItem's
 * ConditionExpression the way DynamoDB does: per item, atomically (each
 * command runs to completion before the next), throwing the SDK's own
 * ConditionalCheckFailedException (with the old item when
 * ReturnValuesOnConditionCheckFailure is ALL_OLD). Expressions outside the
 * supported subset (SET a = :v; attribute_exists / attribute_not_exists;
 * = <> < <= > >=; AND / OR; parentheses) throw, so a test cannot pass on an
 * expression the fake does not understand.
 */
// @ts-nocheck

import {
    AttributeValue,
    ConditionalCheckFailedException,
    DynamoDBClient,
    GetItemCommand,
    ProvisionedThroughputExceededException,
    UpdateItemCommand,
    UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";

type Item = Record<string, AttributeValue>;
const meta = { $metadata: {} };

export class FakeDynamo {
    /** Items by table, then by the JSON of their key. */
    readonly tables = new Map<string, Map<string, Item>>();
    readonly calls: { command: string; input: Record<string, unknown> }[] = [];
    private failures: { command: string; remaining: number }[] = [];
    private readonly mock = mockClient(DynamoDBClient);

    constructor() {
        this.mock.onAnyCommand().callsFake((input: unknown) => {
            throw new Error(`FakeDynamo: unsupported command with input ${JSON.stringify(input)}`);
        });
        this.mock.on(UpdateItemCommand).callsFake(async (input: UpdateItemCommandInput) => this.run("UpdateItem", input, () => this.updateItem(input)));
        this.mock.on(GetItemCommand).callsFake(async (input: { TableName: string; Key: Item }) =>
            this.run("GetItem", input, () => ({ ...meta, Item: structuredClone(this.table(input.TableName).get(keyOf(input.Key))) })),
        );
    }

    restore(): void {
        this.mock.restore();
    }

    /** The next `times` calls of `command` are throttled. */
    throttleNext(command: string, times = 1): void {
        this.failures.push({ command, remaining: times });
    }

    item(table: string, key: Item): Item | undefined {
        return this.table(table).get(keyOf(key));
    }

    put(table: string, key: Item, attributes: Item): void {
        this.table(table).set(keyOf(key), { ...structuredClone(key), ...structuredClone(attributes) });
    }

    private table(name: string): Map<string, Item> {
        let t = this.tables.get(name);
        if (!t) this.tables.set(name, (t = new Map()));
        return t;
    }

    private run<T>(command: string, input: unknown, fn: () => T): T {
        this.calls.push({ command, input: structuredClone(input) as Record<string, unknown> });
        const f = this.failures.find((x) => x.command === command && x.remaining > 0);
        if (f) {
            f.remaining -= 1;
            throw new ProvisionedThroughputExceededException({ ...meta, message: "Throughput exceeds the current capacity." });
        }
        return fn();
    }

    private updateItem(input: UpdateItemCommandInput) {
        const table = this.table(input.TableName!);
        const key = keyOf(input.Key!);
        const old = table.get(key);
        const ctx = { names: input.ExpressionAttributeNames ?? {}, values: input.ExpressionAttributeValues ?? {} };
        if (input.ConditionExpression && !evaluate(input.ConditionExpression, old ?? {}, ctx)) {
            throw new ConditionalCheckFailedException({
                ...meta,
                message: "The conditional request failed",
                Item: input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && old ? structuredClone(old) : undefined,
            });
        }
        const next: Item = { ...structuredClone(old ?? {}), ...structuredClone(input.Key!) };
        for (const [name, value] of parseSet(input.UpdateExpression ?? "", ctx)) next[name] = value;
        table.set(key, next);
        return { ...meta, Attributes: input.ReturnValues === "ALL_NEW" ? structuredClone(next) : input.ReturnValues === "ALL_OLD" ? structuredClone(old) : undefined };
    }
}

function keyOf(key: Item): string {
    return JSON.stringify(Object.keys(key).sort().map((k) => [k, key[k]]));
}

interface Ctx {
    names: Record<string, string>;
    values: Record<string, AttributeValue>;
}

function attrName(token: string, ctx: Ctx): string {
    if (token.startsWith("#")) {
        const n = ctx.names[token];
        if (!n) throw new Error(`FakeDynamo: ${token} has no ExpressionAttributeNames entry`);
        return n;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(token)) throw new Error(`FakeDynamo: unsupported attribute name '${token}'`);
    return token;
}

function parseSet(expr: string, ctx: Ctx): [string, AttributeValue][] {
    const m = /^\s*SET\s+(.+)$/i.exec(expr);
    if (!m) throw new Error(`FakeDynamo: unsupported UpdateExpression '${expr}'`);
    return m[1].split(",").map((part) => {
        const a = /^\s*([#A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)\s*$/.exec(part);
        if (!a) throw new Error(`FakeDynamo: unsupported SET clause '${part}'`);
        const v = ctx.values[a[2]];
        if (!v) throw new Error(`FakeDynamo: ${a[2]} has no ExpressionAttributeValues entry`);
        return [attrName(a[1], ctx), v];
    });
}

function tokenize(expr: string): string[] {
    const tokens = expr.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:A-Za-z_][A-Za-z0-9_]*/g) ?? [];
    if (tokens.join("").length !== expr.replace(/\s+/g, "").length) throw new Error(`FakeDynamo: unsupported ConditionExpression '${expr}'`);
    return tokens;
}

/** Evaluates a condition against an item (empty when it does not exist). */
export function evaluate(expr: string, item: Item, ctx: Ctx): boolean {
    const tokens = tokenize(expr);
    let pos = 0;
    const peek = () => tokens[pos];
    const take = (expected?: string) => {
        const t = tokens[pos++];
        if (t === undefined || (expected && t.toUpperCase() !== expected)) throw new Error(`FakeDynamo: expected ${expected ?? "a token"} in '${expr}'`);
        return t;
    };
    const operand = (t: string): AttributeValue | undefined => {
        if (t.startsWith(":")) {
            const v = ctx.values[t];
            if (!v) throw new Error(`FakeDynamo: ${t} has no ExpressionAttributeValues entry`);
            return v;
        }
        return item[attrName(t, ctx)];
    };
    const compare = (a: AttributeValue | undefined, op: string, b: AttributeValue | undefined): boolean => {
        if (!a || !b) return false;
        let x: number | string;
        let y: number | string;
        if (a.N !== undefined && b.N !== undefined) [x, y] = [Number(a.N), Number(b.N)];
        else if (a.S !== undefined && b.S !== undefined) [x, y] = [a.S, b.S];
        else return false;
        switch (op) {
            case "=": return x === y;
            case "<>": return x !== y;
            case "<": return x < y;
            case "<=": return x <= y;
            case ">": return x > y;
            case ">=": return x >= y;
            default: throw new Error(`FakeDynamo: unsupported operator ${op}`);
        }
    };
    const factor = (): boolean => {
        const t = take();
        if (t === "(") {
            const v = or();
            take(")");
            return v;
        }
        const fn = t.toLowerCase();
        if (fn === "attribute_exists" || fn === "attribute_not_exists") {
            take("(");
            const name = attrName(take(), ctx);
            take(")");
            return fn === "attribute_exists" ? name in item : !(name in item);
        }
        const op = take();
        return compare(operand(t), op, operand(take()));
    };
    const and = (): boolean => {
        let v = factor();
        while (peek()?.toUpperCase() === "AND") {
            take();
            v = factor() && v;
        }
        return v;
    };
    const or = (): boolean => {
        let v = and();
        while (peek()?.toUpperCase() === "OR") {
            take();
            v = and() || v;
        }
        return v;
    };
    const result = or();
    if (pos !== tokens.length) throw new Error(`FakeDynamo: trailing tokens in '${expr}'`);
    return result;
}
