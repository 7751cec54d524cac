/** The safetensors reader: valid files of several shapes, and each malformed case with its message. */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readSafetensors, readSafetensorsFile } from "../src/formats/safetensors.js";
import { memoryFile } from "./helpers/memoryFile.js";
import { safetensorsBytes } from "./helpers/safetensorsWriter.js";

const F = "x.safetensors";

describe("readSafetensors: valid files", () => {
  it("reads the pipeline-golden null embeddings ([8, 32], F32)", () => {
    const bytes = new Uint8Array(readFileSync(new URL("./fixtures/pipeline-golden/tiny-a/learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors", import.meta.url)));
    const e = readSafetensors(bytes, F).get("embeddings")!;
    expect(e.dims).toEqual([8, 32]);
    expect(e.data.length).toBe(256);
    expect(e.data.every(Number.isFinite)).toBe(true);
  });

  it("round-trips tensors of any shape (scalar, empty, 1-D to 4-D), several per file, padded headers, __metadata__", () => {
    const shape = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(shape, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 7 }), fc.integer(), (shapes, pad, seed) => {
        const tensors: Record<string, { dims: number[]; data: Float32Array }> = {};
        shapes.forEach((dims, i) => {
          const n = dims.reduce((a, b) => a * b, 1);
          tensors[`t${i}`] = { dims, data: Float32Array.from({ length: n }, (_, j) => Math.fround(Math.sin(seed + 31 * i + j) * 1e3)) };
        });
        const got = readSafetensors(safetensorsBytes(tensors, { pad }), F);
        expect([...got.keys()]).toEqual(Object.keys(tensors));
        for (const [name, t] of Object.entries(tensors)) {
          expect(got.get(name)!.dims).toEqual(t.dims);
          expect(Array.from(got.get(name)!.data)).toEqual(Array.from(t.data));
        }
      }),
      { seed: 7, numRuns: 100 },
    );
    const header = { __metadata__: { format: "pt" }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    const bytes = safetensorsBytes({ a: { dims: [2], data: Float32Array.of(1.5, -2) } }, { header });
    expect(Array.from(readSafetensors(bytes, F).get("a")!.data)).toEqual([1.5, -2]);
  });

  it("does not alias or modify the input bytes", () => {
    const bytes = safetensorsBytes({ a: { dims: [3], data: Float32Array.of(1, 2, 3) } });
    const copy = bytes.slice();
    const a = readSafetensors(bytes, F).get("a")!;
    a.data[0] = 99;
    expect(bytes).toEqual(copy);
  });
});

describe("readSafetensors: malformed files", () => {
  const ok = { a: { dims: [2, 3], data: new Float32Array(6) } };
  const cases: [string, Uint8Array, string][] = [
    ["fewer than 8 bytes", new Uint8Array(5), `${F}: expected a safetensors file (8-byte header length first), got 5 bytes`],
    ["a header length past the end", safetensorsBytes(ok, { headerLength: 10_000n }), `${F}: expected a header of at most`],
    ["a header length of 2^64 - 1", safetensorsBytes(ok, { headerLength: 2n ** 64n - 1n }), `got a header length of 18446744073709551615`],
    ["a header that is not JSON", (() => { const b = safetensorsBytes(ok); b[9] = 0x7b; b[10] = 0x7b; return b; })(), `${F}: expected a JSON header, got a parse error`],
    ["a header that is an array", safetensorsBytes(ok, { header: [] as unknown as Record<string, unknown> }), `${F}: expected the header to be a JSON object, got []`],
    ["offsets outside the data", safetensorsBytes(ok, { header: { a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 48] } } }), `${F}: tensor "a": expected data_offsets within the 24 data bytes, got [0, 48]`],
    ["reversed offsets", safetensorsBytes(ok, { header: { a: { dtype: "F32", shape: [2, 3], data_offsets: [24, 0] } } }), `${F}: tensor "a": expected data_offsets [begin, end] with 0 <= begin <= end, got [24, 0]`],
    ["dtype F16", safetensorsBytes(ok, { header: { a: { dtype: "F16", shape: [2, 3], data_offsets: [0, 24] } } }), `${F}: tensor "a": expected dtype "F32", got "F16"`],
    ["a shape that does not match the byte count", safetensorsBytes(ok, { header: { a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 24] } } }), `${F}: tensor "a": expected 16 bytes for F32 shape [2, 2], got 24 (data_offsets [0, 24])`],
    ["a negative size", safetensorsBytes(ok, { header: { a: { dtype: "F32", shape: [-2, -3], data_offsets: [0, 24] } } }), `${F}: tensor "a": expected shape to be an array of non-negative integers, got [-2, -3]`],
    ["an entry that is not an object", safetensorsBytes(ok, { header: { a: 3 } }), `${F}: tensor "a": expected { dtype, shape, data_offsets }, got 3`],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, async () => {
      expect(() => readSafetensors(bytes, F)).toThrow(message);
      // The lazy reader parses the same header, and refuses the same files (it also takes F16).
      if (what !== "dtype F16") await expect(readSafetensorsFile(memoryFile(bytes, F))).rejects.toThrow(message);
    });
  }
  // The reference reader's rule: the byte ranges, sorted, tile the data bytes exactly; names are unique.
  const two = { a: { dims: [2], data: Float32Array.of(1, 2) }, b: { dims: [2], data: Float32Array.of(3, 4) } };
  const entry = (begin: number, end: number) => ({ dtype: "F32", shape: [(end - begin) / 4], data_offsets: [begin, end] });
  it("overlapping tensors", () => {
    expect(() => readSafetensors(safetensorsBytes(two, { header: { a: entry(0, 8), b: entry(4, 12) } }), F)).toThrow(
      new Error(`${F}: tensor "b": expected data_offsets to begin at 8 (the tensors tile the data bytes without gaps or overlaps), got [4, 12], which overlaps the tensor before it`),
    );
    expect(() => readSafetensors(safetensorsBytes(two, { header: { a: entry(0, 8), b: entry(0, 8) } }), F)).toThrow(`${F}: tensor "b": expected data_offsets to begin at 8`);
  });
  it("a gap between tensors, or before the first", () => {
    expect(() => readSafetensors(safetensorsBytes(two, { header: { a: entry(0, 4), b: entry(8, 16) } }), F)).toThrow(
      new Error(`${F}: tensor "b": expected data_offsets to begin at 4 (the tensors tile the data bytes without gaps or overlaps), got [8, 16], which leaves a gap after the tensor before it`),
    );
    expect(() => readSafetensors(safetensorsBytes(two, { header: { b: entry(4, 16) } }), F)).toThrow(`${F}: tensor "b": expected data_offsets to begin at 0`);
  });
  it("bytes after the last tensor", () => {
    expect(() => readSafetensors(safetensorsBytes(two, { trailing: 4 }), F)).toThrow(
      new Error(`${F}: expected the tensors to cover the 20 data bytes exactly, got 4 bytes after the last tensor`),
    );
  });
  it("the same tensor name twice (JSON.parse would keep the second silently)", () => {
    const text = `{"a":${JSON.stringify(entry(0, 8))}, "a" :${JSON.stringify(entry(8, 16))}}`;
    expect(() => readSafetensors(safetensorsBytes(two, { headerText: text }), F)).toThrow(new Error(`${F}: expected each tensor name once, got "a" twice`));
    const escaped = `{"a":${JSON.stringify(entry(0, 8))},"\\u0061":${JSON.stringify(entry(8, 16))}}`;
    expect(() => readSafetensors(safetensorsBytes(two, { headerText: escaped }), F)).toThrow(new Error(`${F}: expected each tensor name once, got "a" twice`));
    // Keys repeated inside entries or in __metadata__ strings are not tensor names.
    const nested = `{"__metadata__":{"a":"\\"a\\":"},"a":${JSON.stringify(entry(0, 8))},"b":${JSON.stringify(entry(8, 16))}}`;
    expect([...readSafetensors(safetensorsBytes(two, { headerText: nested }), F).keys()]).toEqual(["a", "b"]);
  });
  it("tensors listed out of offset order still load (the rule is on the sorted ranges)", () => {
    const t = readSafetensors(safetensorsBytes(two, { header: { b: entry(8, 16), a: entry(0, 8) } }), F);
    expect([...t.get("a")!.data, ...t.get("b")!.data]).toEqual([1, 2, 3, 4]);
  });
  it("a truncated file (the last data bytes cut off)", () => {
    const bytes = safetensorsBytes(ok);
    expect(() => readSafetensors(bytes.subarray(0, bytes.length - 4), F)).toThrow(`${F}: tensor "a": expected data_offsets within the 20 data bytes, got [0, 24]`);
  });
  it("bytes that are not a Uint8Array", () => {
    expect(() => readSafetensors([1, 2, 3] as unknown as Uint8Array, F)).toThrow(`${F}: expected the file's bytes as a Uint8Array, got [1, 2, 3]`);
  });
});

describe("readSafetensorsFile: lazy reads by offset", () => {
  const fixture = (path: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${path}`, import.meta.url)));

  it("gives the float32, float16, bfloat16 and int64 tensors safetensors.torch.save_file wrote, as PyTorch holds them", async () => {
    const expected = JSON.parse(new TextDecoder().decode(fixture("pytorch-zip/expected.json")))["dtypes.bin"] as Record<string, { dtype: string; shape: number[]; hex: string }>;
    const dict = await readSafetensorsFile(memoryFile(fixture("pytorch-zip/dtypes.safetensors"), "dtypes.safetensors"));
    expect(dict.file).toBe("dtypes.safetensors");
    expect(new Set(dict.tensors.keys())).toEqual(new Set(Object.keys(expected)));
    for (const [key, t] of dict.tensors) {
      const bytes = await t.read();
      expect({ key, dtype: t.dtype, shape: t.shape, hex: Buffer.from(bytes).toString("hex") }).toEqual({ key, ...expected[key] });
      expect(bytes.length).toBe(t.byteLength);
    }
  });

  it("reads only the header when opened, then each tensor's own byte range; values equal readSafetensors'", async () => {
    const bytes = fixture("pipeline-golden/tiny-a/learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors");
    const file = memoryFile(bytes, F);
    const dict = await readSafetensorsFile(file);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(file.reads).toEqual([[0, 8], [8, n]]);
    const e = dict.tensors.get("embeddings")!;
    file.reads.length = 0;
    const got = await e.read();
    expect(file.reads).toEqual([[8 + n, 8 * 32 * 4]]);
    expect([e.dtype, e.shape]).toEqual(["float32", [8, 32]]);
    expect(new Float32Array(got.slice().buffer)).toEqual(readSafetensors(bytes, F).get("embeddings")!.data);
  });

  it("refuses a dtype it does not read, naming the file, the tensor and the dtype", async () => {
    const bytes = safetensorsBytes({ a: { dims: [2], data: new Float32Array(2) } }, { header: { a: { dtype: "F64", shape: [1], data_offsets: [0, 8] } } });
    await expect(readSafetensorsFile(memoryFile(bytes, F))).rejects.toThrow(new Error(`${F}: tensor "a": expected dtype "F32" or "F16" or "BF16" or "I64", got "F64"`));
  });

  it("refuses a file shorter than 8 bytes", async () => {
    await expect(readSafetensorsFile(memoryFile(new Uint8Array(3), F))).rejects.toThrow(new Error(`${F}: expected a safetensors file (8-byte header length first), got 3 bytes`));
  });
});
