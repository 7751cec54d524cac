/**
 * The core entry points (`vq-diffusion`, `vq-diffusion/demo`) bundle for the browser platform without
 * any Node.js built-in, directly or through a dependency; `vq-diffusion/node` does use them (the test
 * would notice if the check were blind).
 */
import { builtinModules } from "node:module";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Bundles `entry` for browsers; returns the Node built-ins it imports. */
async function nodeBuiltinsIn(entry: string): Promise<string[]> {
  const found: string[] = [];
  const flag: Plugin = {
    name: "flag-node-builtins",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (builtins.has(args.path) || args.path.startsWith("node:")) {
          found.push(`${args.path} (from ${args.importer})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  // onnxruntime-node (loaded by the Node entry only) is a native addon: not bundled, not followed.
  await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent", plugins: [flag], external: ["onnxruntime-node"] });
  return found;
}

describe("browser bundle", () => {
  it.each(["src/index.ts", "src/demo/index.ts"])("%s imports no Node.js built-in", async (entry) => {
    expect(await nodeBuiltinsIn(entry)).toEqual([]);
  });
  it("the Node entry does (so the check sees them)", async () => {
    expect((await nodeBuiltinsIn("src/node.ts")).length).toBeGreaterThan(0);
  });
});
