/**
 * Writes a builder's graph as `model.onnx` + `model.onnx.data` into a fresh temporary folder and
 * opens it in onnxruntime-node (one intra-op thread), for the graph builders' parity tests; and
 * the exporter's `--check` comparison, |ours − torch| ≤ atol + rtol·|torch| elementwise.
 */
import { mkdtemp, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { GraphBuilder } from "../../src/convert/onnx/graphBuilder.js";
import { writeOnnxModel } from "../../src/convert/onnx/writeOnnxModel.js";

/** Writes `graph` into a new temporary folder and returns the model file's path. */
export async function writeGraph(graph: GraphBuilder, opset = 17): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `vqd-${graph.name}-`));
  const data = join(dir, "model.onnx.data");
  await writeFile(data, new Uint8Array(0));
  const { model } = await writeOnnxModel(graph, { opset, writeData: (chunk) => appendFile(data, chunk) });
  const path = join(dir, "model.onnx");
  await writeFile(path, model);
  return path;
}

/** An onnxruntime-node session on `path` with one intra-op thread. */
export function openSession(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** How many elements break |actual − expected| ≤ atol + rtol·|expected|, and the largest |actual − expected|. */
export function outsideTolerance(actual: Float32Array, expected: Float32Array, atol: number, rtol: number): { outside: number; maxAbs: number } {
  if (actual.length !== expected.length) throw new Error(`expected ${expected.length} values, got ${actual.length}`);
  let outside = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) outside++;
    if (!(d <= maxAbs)) maxAbs = d;
  }
  return { outside, maxAbs };
}
