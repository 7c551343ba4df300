// aws-local-stepfunctions uses Promise.withResolvers (Node 22+). On Node 20 every
// Task would throw inside the runner and a Catch would silently hide it.
type Resolvers<T> = { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void };
const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof P.withResolvers !== "function") {
    P.withResolvers = function withResolvers<T>(): Resolvers<T> {
        let resolve!: Resolvers<T>["resolve"];
        let reject!: Resolvers<T>["reject"];
        const promise = new Promise<T>((res, rej) => {
            resolve = res;
            reject = rej;
        });
        return { promise, resolve, reject };
    };
}

// The tests run on this machine's Node 20; the Lambdas they exercise run on nodejs22.x. The AWS
// SDK's notice that its 2027 releases need Node 22 is about the test host, not the code under
// test: its documented switch keeps it out of the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
