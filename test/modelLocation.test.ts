/**
 * What a model argument names (vq-diffusion/node's fromPretrained, the CLI's --model): the one rule of
 * src/node/modelLocation.ts, each case and each refusal with its exact message; the bundled model
 * found whatever the working directory; a missing onnxruntime-node named with its install command.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync } from "node:fs";
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
const FORMS = "a bundled model (fashion-mnist), a folder (an existing one, or a path starting with ./, ../ or /), an http(s):// URL, or a Hub model id org/name";

describe("modelLocation: one rule, an existing folder first", () => {
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
    // A path without ./ that names an existing folder (relative to the working directory, the
    // repository's root here) is that folder, as diffusers' os.path.isdir test comes first: in the
    // org/name form, deeper, a bare name, and with backslashes where the platform takes them.
    ["models/fashion-mnist", { kind: "folder", path: FASHION }],
    ["models/fashion-mnist/", { kind: "folder", path: FASHION }],
    ["test/fixtures/pipeline-golden/tiny-a", { kind: "folder", path: TINY }],
    ["models", { kind: "folder", path: join(ROOT, "models") }],
    // Not a folder: the other cases, as before.
    ["models/no-such-model", { kind: "hub", repoId: "models/no-such-model" }],
    ["models/fashion-mnist/model_index.json", null],
  ])("%s", (model, expected) => {
    if (expected === null) expect(() => modelLocation(model, "model")).toThrow(`model: expected ${FORMS}, got "${model}", which is no folder in the working directory, nor a Hub id org/name`);
    else expect(modelLocation(model, "model")).toEqual(expected);
  });

  it.each([
    ["", `model: expected ${FORMS}, got ""`],
    ["my-model", `model: expected ${FORMS}, got "my-model", which is neither a folder in the working directory nor a bundled model`],
    ["toString", `model: expected ${FORMS}, got "toString", which is neither a folder in the working directory nor a bundled model`],
    ["a/b/c", `model: expected ${FORMS}, got "a/b/c", which is no folder in the working directory, nor a Hub id org/name`],
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

  it("an existing folder in the working directory comes before a bundled name and a Hub id of the same spelling", () => {
    const cwd = mkdtempSync(join(tmpdir(), "vqd-cwd-"));
    mkdirSync(join(cwd, "fashion-mnist"));
    mkdirSync(join(cwd, "org", "tiny"), { recursive: true });
    const script = `const { modelLocation } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist/node.js")).href)});
      console.log(JSON.stringify(["fashion-mnist", "org/tiny", "org/other"].map((m) => modelLocation(m, "model"))));`;
    const found = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" })) as unknown[];
    const real = realpathSync(cwd);
    expect(found).toEqual([
      { kind: "folder", path: join(real, "fashion-mnist") },
      { kind: "folder", path: join(real, "org", "tiny") },
      { kind: "hub", repoId: "org/other" },
    ]);
  });

  it("a folder named without ./ loads (the CLI's --model models/fashion-mnist)", async () => {
    const pipe = await VQDiffusionPipeline.fromPretrained("models/fashion-mnist", { localFilesOnly: true });
    expect(pipe.config).toMatchObject({ numVecClasses: 257, numLatentPixels: 49 });
    await pipe.release();
  });

  it("a Hub id goes to the Hub (offline here, with an empty cache: the error says so)", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "vqd-hubid-"));
    await expect(VQDiffusionPipeline.fromPretrained("microsoft/vq-diffusion-ithq", { cacheDir, localFilesOnly: true })).rejects.toThrow(
      `microsoft/vq-diffusion-ithq: offline (localFilesOnly, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), and the cache ${join(cacheDir, "models--microsoft--vq-diffusion-ithq")} has no copy of revision "main": load it once online first`,
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
