/**
 * The CLI without onnxruntime-node (issue 31, item 14): the message says what to install in the CLI's
 * terms (not the API's "pass { ort }"), and that `sample` needs no runtime. The package is made
 * missing by giving loadOnnxruntimeNode an import that fails with Node's ERR_MODULE_NOT_FOUND.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";

// loadOnnxruntimeNode itself, with an import that fails as Node's does when the package is missing.
vi.mock("../src/node/onnxruntimeNode.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/node/onnxruntimeNode.js")>();
  const missing = Object.assign(new Error("Cannot find package 'onnxruntime-node' imported from /app/node_modules/vq-diffusion/dist/node/onnxruntimeNode.js"), { code: "ERR_MODULE_NOT_FOUND" });
  return { ...real, loadOnnxruntimeNode: () => real.loadOnnxruntimeNode(() => Promise.reject(missing)) };
});

describe("generate without onnxruntime-node", () => {
  it("says what to install, in the CLI's terms, and removes the --out file it created", async () => {
    const err: string[] = [];
    const io: CliIO = { stdout: () => {}, stderr: (t) => void err.push(t), stderrIsTTY: false };
    const out = join(mkdtempSync(join(tmpdir(), "vqd-rt-")), "x.png");
    expect(await main(["generate", "--prompt", "ankle boot", "--out", out], io)).toBe(1);
    expect(err.join("")).toBe(
      "vq-diffusion: generate: expected onnxruntime-node installed beside vq-diffusion (it runs the model), got none " +
        "(Cannot find package 'onnxruntime-node' imported from /app/node_modules/vq-diffusion/dist/node/onnxruntimeNode.js). " +
        "Install it where vq-diffusion is installed: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 (add -g for a global install). " +
        "vq-diffusion sample needs no runtime.\n",
    );
    expect(err.join("")).not.toContain("{ ort }");
    expect(() => readFileSync(out)).toThrow();
  });
});
