/**
 * The house's rules on imports (CONTRIBUTING.md, "Where code lives"), checked on src/ as written:
 * - no import circle, static or dynamic, among src/**.ts;
 * - the scheduler's layers (config/, scheduler/, schedule/) import nothing from the pipeline, the
 *   model files layer's loaders (files/hub, files/modelFileSource) or Node.js's implementations
 *   (node/), so a scheduler or a config never pulls in the pipeline or the Hub;
 * - the model files layer (files/) imports nothing from pipeline/, convert/, node/, serve/ or cli/.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const files = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join("src", f).split("\\").join("/"));
const IMPORT = /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g;
const imports = new Map(
  files.map((f) => [
    f,
    [...readFileSync(join(root, f), "utf8").matchAll(IMPORT)].map((m) => normalize(join(dirname(f), m[1] ?? m[2])).split("\\").join("/").replace(/\.js$/, ".ts")),
  ]),
);

/** Every import of a file under one of `from` that lands under one of `to`, as "file -> import". */
function crossings(from: readonly string[], to: readonly string[]): string[] {
  return files
    .filter((f) => from.some((p) => f.startsWith(p)))
    .flatMap((f) => imports.get(f)!.filter((d) => to.some((p) => d.startsWith(p))).map((d) => `${f} -> ${d}`));
}

describe("import layers", () => {
  it("reads every source file's imports", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(imports.get("src/index.ts")!.length).toBeGreaterThan(20);
  });
  it("has no import circle", () => {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const circles: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 1);
      stack.push(f);
      for (const d of imports.get(f) ?? []) {
        if (state.get(d) === 1) circles.push([...stack.slice(stack.indexOf(d)), d].join(" -> "));
        else if (!state.has(d) && imports.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 2);
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(circles).toEqual([]);
  });
  it("config/, scheduler/ and schedule/ import nothing from the pipeline, the Hub, the model file loaders or node/", () => {
    expect(crossings(["src/config/", "src/scheduler/", "src/schedule/"], ["src/pipeline/", "src/files/hub/", "src/node/", "src/convert/", "src/serve/"])).toEqual([]);
    expect(crossings(["src/scheduler/", "src/schedule/"], ["src/files/", "src/config/schedulerConfigFile.ts"])).toEqual([]);
  });
  it("files/ imports nothing from the layers above it", () => {
    expect(crossings(["src/files/"], ["src/pipeline/", "src/convert/", "src/node/", "src/serve/", "src/cli/", "src/formats/"])).toEqual([]);
  });
});
