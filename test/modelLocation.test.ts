/**
 * What a model argument names (vq-diffusion/node's fromPretrained, the CLI's --model): the one rule of
 * src/node/modelLocation.ts, each case and each refusal with its exact message; the bundled model
 * found whatever the working directory; a missing onnxruntime-node named with its install command.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { modelLocation, VQDiffusionPipeline } from "../src/node.js";
import { loadOnnxruntimeNode } from "../src/node/onnxruntimeNode.js";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const FASHION = join(ROOT, "models/fashion-mnist");
const TINY = join(ROOT, "test/fixtures/pipeline-golden/tiny-a");
const FORMS = "a bundled model (fashion-mnist), a folder path starting with ./, ../ or /, or an http(s):// URL";

describe("modelLocation: one rule, no overlap", () => {
  it.each([
    ["fashion-mnist", { kind: "bundled", name: "fashion-mnist", path: FASHION }],
    ["./models/fashion-mnist", { kind: "folder", path: resolve("models/fashion-mnist") }],
    ["../x", { kind: "folder", path: resolve("../x") }],
    [".", { kind: "folder", path: resolve(".") }],
    [FASHION, { kind: "folder", path: FASHION }],
    [pathToFileURL(FASHION).href, { kind: "folder", path: FASHION }],
    ["https://example.org/models/fashion-mnist", { kind: "url", url: "https://example.org/models/fashion-mnist" }],
    ["http://127.0.0.1:8080/m", { kind: "url", url: "http://127.0.0.1:8080/m" }],
    ["microsoft/vq-diffusion-ithq", { kind: "hub", repoId: "microsoft/vq-diffusion-ithq" }],
    ["models/fashion-mnist", { kind: "hub", repoId: "models/fashion-mnist" }],
  ])("%s", (model, expected) => {
    expect(modelLocation(model, "model")).toEqual(expected);
  });

  it.each([
    ["", `model: expected ${FORMS}, got ""`],
    ["my-model", `model: expected ${FORMS}, got "my-model", which is not a bundled model (a folder in the working directory is "./my-model")`],
    ["toString", `model: expected ${FORMS}, got "toString", which is not a bundled model (a folder in the working directory is "./toString")`],
    ["a/b/c", `model: expected ${FORMS}, got "a/b/c" (a relative folder path starts with ./ or ../: "./a/b/c")`],
    ["s3://bucket/model", `model: expected ${FORMS}, got "s3://bucket/model", a URL of another scheme`],
  ])("%j is refused", (model, message) => {
    expect(() => modelLocation(model, "model")).toThrow(message);
  });
});

describe("VQDiffusionPipeline.fromPretrained (vq-diffusion/node)", () => {
  it('"fashion-mnist" loads the bundled model from any working directory', () => {
    // A child process started in an empty folder: the name does not resolve against the working directory.
    const cwd = mkdtempSync(join(tmpdir(), "vqd-cwd-"));
    const script = `const { VQDiffusionPipeline } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist/node.js")).href)});
      const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
      console.log(JSON.stringify(pipe.config)); await pipe.release();`;
    const config = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" })) as Record<string, number>;
    expect(config).toMatchObject({ numVecClasses: 257, numLatentPixels: 49 });
  });

  it("a Hub id is refused with the way to pass a downloaded folder", async () => {
    await expect(VQDiffusionPipeline.fromPretrained("microsoft/vq-diffusion-ithq")).rejects.toThrow(
      `pretrainedModelNameOrPath: expected ${FORMS}, got the Hugging Face Hub id "microsoft/vq-diffusion-ithq", which this version does not download (download the folder and pass its path, e.g. "./microsoft/vq-diffusion-ithq")`,
    );
  });

  it("an http:// URL loads the folder it serves", async () => {
    const server = createServer((req, res) => {
      const file = join(TINY, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/tiny-a\//, ""));
      try {
        res.end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const { port } = server.address() as { port: number };
      const pipe = await VQDiffusionPipeline.fromPretrained(`http://127.0.0.1:${port}/tiny-a`);
      expect(pipe.config).toMatchObject({ numVecClasses: 17, numLatentPixels: 16 });
      await pipe.release();
    } finally {
      server.close();
    }
  });
});

describe("onnxruntime-node, an optional peer dependency", () => {
  it("missing, is named with the command that installs it", async () => {
    const missing = Object.assign(new Error("Cannot find package 'onnxruntime-node' imported from /app/node_modules/vq-diffusion/dist/node/onnxruntimeNode.js"), { code: "ERR_MODULE_NOT_FOUND" });
    await expect(loadOnnxruntimeNode(() => Promise.reject(missing))).rejects.toThrow(
      "onnxruntime-node: expected the package installed beside vq-diffusion to run models in Node.js (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0; or pass { ort }), got none: Cannot find package 'onnxruntime-node' imported from /app/node_modules/vq-diffusion/dist/node/onnxruntimeNode.js",
    );
  });
  it("any other failure of the import is rethrown as it is", async () => {
    const broken = Object.assign(new Error("libonnxruntime.so.1: cannot open shared object file"), { code: "ERR_DLOPEN_FAILED" });
    await expect(loadOnnxruntimeNode(() => Promise.reject(broken))).rejects.toBe(broken);
  });
});
