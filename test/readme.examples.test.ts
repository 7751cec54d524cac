/**
 * Every ```ts block of the README and of docs/*.md compiles on its own, as a user pastes it: an ES module under
 * `tsc --strict` against the built package (`vq-diffusion` resolved to this checkout's dist/). A block
 * declares with `declare` what it uses but does not define (a model, an onnxruntime module).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { modelLocation } from "../src/node/modelLocation.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsBlocks = (file: string) => [...readFileSync(join(root, file), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const readmeBlocks = tsBlocks("README.md");
const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`);
const blocks = [...readmeBlocks, ...docs.flatMap(tsBlocks)];

describe("README and docs TypeScript examples", () => {
  it("has examples", () => {
    expect(readmeBlocks.length).toBeGreaterThanOrEqual(3);
    expect(blocks.length).toBeGreaterThan(readmeBlocks.length);
  });
  it("each model a Node.js example names is the bundled model, a folder path or the placeholder Hub id org/…", () => {
    // "models/fashion-mnist" compiles, but names the Hub repository models/fashion-mnist, not the repo's folder.
    const named = blocks
      .filter((code) => code.includes('from "vq-diffusion/node"'))
      .flatMap((code) => [...code.matchAll(/fromPretrained\("([^"]*)"/g)].map((m) => m[1]));
    expect(named.length).toBeGreaterThanOrEqual(2);
    const wrong = named.filter((model) => {
      const location = modelLocation(model, "model");
      return location.kind === "url" || (location.kind === "hub" && !model.startsWith("org/"));
    });
    expect(wrong).toEqual([]);
  });
  it("each compiles alone under tsc --strict against the built package", () => {
    const dir = mkdtempSync(join(tmpdir(), "vqd-readme-"));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "vq-diffusion"), "dir");
    for (const runtime of ["onnxruntime-web", "onnxruntime-node", "onnxruntime-common", "openai"]) symlinkSync(join(root, "node_modules", runtime), join(dir, "node_modules", runtime), "dir");
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
    const files = blocks.map((code, i) => {
      const file = join(dir, `readme${i + 1}.ts`);
      writeFileSync(file, `${code}\nexport {};\n`);
      return file;
    });
    let output = "";
    try {
      execFileSync(join(root, "node_modules/.bin/tsc"), ["--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--typeRoots", join(root, "node_modules/@types"), ...files], { cwd: dir, encoding: "utf8" });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe("");
  });
});
