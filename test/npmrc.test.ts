/**
 * npm noise (issue 31, item 16): every npm command in a clone warned "Unknown project config
 * 'onnxruntime-node-install' … will stop working in the next major version of npm". The project's
 * .npmrc may hold only settings npm knows; onnxruntime-node's CUDA download is skipped with the
 * environment variable its install script reads, ONNXRUNTIME_NODE_INSTALL=skip (docs/text-to-image.md).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;

describe("the project's npm config", () => {
  it("npm reads it without a warning", () => {
    // Without the npm_config_* variables of the npm that may have started this test (they carry its own config).
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_config_")));
    const run = spawnSync("npm", ["config", "get", "registry"], { cwd: ROOT, encoding: "utf8", env });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^https?:\/\//);
    expect(run.stderr).toBe("");
  });

  it("holds no onnxruntime-node-install key (the variable ONNXRUNTIME_NODE_INSTALL does its job)", () => {
    const npmrc = existsSync(`${ROOT}.npmrc`) ? readFileSync(`${ROOT}.npmrc`, "utf8") : "";
    expect(npmrc).not.toMatch(/^\s*onnxruntime-node-install/m);
    // The variable is what onnxruntime-node's install script reads first.
    expect(readFileSync(`${ROOT}node_modules/onnxruntime-node/script/install-utils.js`, "utf8")).toContain("process.env.ONNXRUNTIME_NODE_INSTALL");
  });
});
