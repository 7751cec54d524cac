/** Loads the golden fixtures (test/fixtures/golden, computed by the Python reference; see its README). */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { TorchGenerator } from "../../src/index.js";

export const GOLDEN_DIR = fileURLToPath(new URL("../fixtures/golden/", import.meta.url));

interface RawTensor {
  dtype: "float32" | "int64";
  shape: number[];
  data: string;
}

export interface GoldenFloat {
  data: Float32Array;
  dims: number[];
}
export interface GoldenInt {
  data: BigInt64Array;
  dims: number[];
}
export type GoldenTensor = GoldenFloat | GoldenInt;

export interface GoldenCase {
  file: string;
  kind: string;
  config?: Record<string, number>;
  scalars: Record<string, unknown>;
  inputs: Record<string, GoldenTensor>;
  expected: Record<string, GoldenTensor>;
}

function decode(t: RawTensor): GoldenTensor {
  const bytes = Buffer.from(t.data, "base64");
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (t.dtype === "float32") return { data: new Float32Array(buf), dims: t.shape };
  return { data: new BigInt64Array(buf), dims: t.shape };
}

function decodeAll(obj: Record<string, RawTensor> | undefined): Record<string, GoldenTensor> {
  const out: Record<string, GoldenTensor> = {};
  for (const [k, v] of Object.entries(obj ?? {})) out[k] = decode(v);
  return out;
}

/** Every fixture of a kind, sorted by file name. */
export function loadGolden(kind: string): GoldenCase[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.startsWith(kind + "_") && f.endsWith(".json"))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(join(GOLDEN_DIR, file), "utf8"));
      const { kind: k, config, inputs, expected, ...scalars } = raw;
      return { file, kind: k, config, scalars, inputs: decodeAll(inputs), expected: decodeAll(expected) };
    });
}

export function asFloat(t: GoldenTensor): GoldenFloat {
  if (!(t.data instanceof Float32Array)) throw new Error("expected a float32 tensor");
  return t as GoldenFloat;
}
export function asInt(t: GoldenTensor): GoldenInt {
  if (!(t.data instanceof BigInt64Array)) throw new Error("expected an int64 tensor");
  return t as GoldenInt;
}
export function toInt32(t: GoldenTensor): Int32Array {
  return Int32Array.from(asInt(t).data, (v) => Number(v));
}

/** Counts entries outside |a - e| <= 1e-5 + 1e-5·|e| (with -inf required exactly where expected). */
export function countMismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (e === -Infinity || a === -Infinity || Number.isNaN(e)) {
      if (a !== e) bad++;
    } else if (!(Math.abs(a - e) <= 1e-5 + 1e-5 * Math.abs(e))) bad++;
  }
  return bad;
}

/** Rebuilds a bigstep model output as its recipe says: float32(log_softmax(float64(rand) * 8, dim=1)). */
export function bigstepModelOutput(inputSeed: number, B: number, K: number, N: number): Float32Array {
  const u = new TorchGenerator().manualSeed(inputSeed).rand([B, K - 1, N]).data;
  const out = new Float32Array(u.length);
  const col = new Float64Array(K - 1);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let m = -Infinity;
      for (let c = 0; c < K - 1; c++) {
        col[c] = u[(b * (K - 1) + c) * N + n] * 8;
        if (col[c] > m) m = col[c];
      }
      let sum = 0;
      for (let c = 0; c < K - 1; c++) sum += Math.exp(col[c] - m);
      const lse = m + Math.log(sum);
      for (let c = 0; c < K - 1; c++) out[(b * (K - 1) + c) * N + n] = col[c] - lse;
    }
  }
  return out;
}

