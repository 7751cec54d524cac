/**
 * tools/export's big-model rewrite (vqd_export/onnx_graph.py `rewrite`) on what torch's exporter writes
 * past 2 GB: every tensor in a file of its own, Constant nodes' values included (at ITHQ's size, 144
 * AdaLayerNorm scales and biases). The rewritten model must hold no reference to the exporter's scratch
 * folder: tools/export/tests/rewrite_constants.py deletes it and runs the result in onnxruntime.
 * The int8 quantization of such an export (vqd_export/quantize.py, issue 31 item 0: ITHQ's int8 export
 * did not load) must carry them too: tools/export/tests/quantize_constants.py forces the externalisation
 * at a small size, quantizes, deletes the float32 export and runs the int8 one.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const PYTHON = join(ROOT, "tools/export/.venv/bin/python");

describe("tools/export rewrite and int8 quantization", () => {
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

  it("int8: quantize carries Constant values (subgraphs too) from the float32 export's data file, in one file or one data file", () => {
    const r = spawnSync(PYTHON, [join(ROOT, "tools/export/tests/quantize_constants.py")], { encoding: "utf8" });
    expect(r.stderr.trim().split("\n").pop() ?? "").not.toMatch(/Error/);
    expect(JSON.parse(r.stdout)).toEqual({
      source_locations: ["model.onnx.data"],
      one_file: { quantized: 1, external: false, files: ["model.onnx"], locations: [], "max_abs_diff_within_0.05_of_max": true },
      external: {
        quantized: 1,
        external: true,
        files: ["model.onnx", "model.onnx.data"],
        locations: ["model.onnx.data"],
        "max_abs_diff_within_0.05_of_max": true,
      },
    });
    expect(r.status).toBe(0);
  }, 60_000);
});
