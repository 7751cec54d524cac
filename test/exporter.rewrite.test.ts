/**
 * tools/export's big-model rewrite (vqd_export/onnx_graph.py `rewrite`) on what torch's exporter writes
 * past 2 GB: every tensor in a file of its own, Constant nodes' values included (at ITHQ's size, 144
 * AdaLayerNorm scales and biases). The rewritten model must hold no reference to the exporter's scratch
 * folder: tools/export/tests/rewrite_constants.py deletes it and runs the result in onnxruntime.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const PYTHON = join(ROOT, "tools/export/.venv/bin/python");

describe("tools/export rewrite", () => {
  it("carries initializers and Constant values (subgraphs too) into one data file, or inline", () => {
    const r = spawnSync(PYTHON, [join(ROOT, "tools/export/tests/rewrite_constants.py")], { encoding: "utf8" });
    expect(r.stderr.trim().split("\n").pop() ?? "").not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      source_external_files: 4,
      always: ["model.onnx", "model.onnx.data"],
      always_locations: ["model.onnx.data"],
      always_max_abs_diff: 0,
      never: ["model.onnx"],
      never_locations: [],
      never_max_abs_diff: 0,
    });
  }, 60_000);
});
