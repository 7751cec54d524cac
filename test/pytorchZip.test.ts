import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readPyTorchZip } from "../src/formats/pytorchZip.js";
import fc from "fast-check";
import { memoryFile } from "./helpers/memoryFile.js";
import { PickleBytes, iotaFloat32, patchCentral, statePickle, torchZip, zipBytes, type CraftedTensor } from "./helpers/torchZip.js";

const fixture = (path: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${path}`, import.meta.url)));
const json = (path: string) => JSON.parse(new TextDecoder().decode(fixture(path)));
const w = (shape: number[], stride: number[], numel: number, extra: Partial<CraftedTensor> = {}): CraftedTensor => ({ key: "w", storageKey: "0", numel, shape, stride, ...extra });
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("readPyTorchZip on files torch.save wrote", () => {
  it("gives every tensor of the real-golden D checkpoint's .bin files as torch.load does (SHA-256 of the bytes)", async () => {
    const expected = json("pytorch-zip/real-golden-D.json") as Record<string, Record<string, { dtype: string; shape: number[]; sha256: string }>>;
    let count = 0;
    for (const [path, tensors] of Object.entries(expected)) {
      const dict = await readPyTorchZip(memoryFile(fixture(`real-golden/D/diffusers/${path}`), path));
      expect([...dict.tensors.keys()]).toEqual(Object.keys(tensors));
      for (const [key, t] of dict.tensors) {
        const bytes = await t.read();
        expect({ dtype: t.dtype, shape: t.shape, sha256: createHash("sha256").update(bytes).digest("hex") }).toEqual(tensors[key]);
        expect(bytes.length).toBe(t.byteLength);
        count++;
      }
    }
    expect(count).toBeGreaterThan(100);
  });

  for (const file of ["dtypes.bin", "strided.bin"]) {
    it(`gives ${file}'s tensors (dtypes, views, shared storages) as torch.load does`, async () => {
      const expected = json("pytorch-zip/expected.json")[file] as Record<string, { dtype: string; shape: number[]; hex: string }>;
      const dict = await readPyTorchZip(memoryFile(fixture(`pytorch-zip/${file}`), file));
      expect(new Set(dict.tensors.keys())).toEqual(new Set(Object.keys(expected)));
      for (const [key, t] of dict.tensors) {
        expect({ key, dtype: t.dtype, shape: t.shape, hex: hex(await t.read()) }).toEqual({ key, ...expected[key] });
      }
    });
  }
});

describe("readPyTorchZip on bad input", () => {
  const error = async (bytes: Uint8Array, options = {}) => {
    try {
      await readPyTorchZip(memoryFile(bytes, "model.bin"), options);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  const evil = (module: string, name: string) => new PickleBytes().op(0x80, 2).global(module, name).str("1").op(0x85, 0x52, 0x2e).bytes();

  for (const [module, name] of [["builtins", "eval"], ["os", "system"], ["posix", "system"], ["torch", "load"]]) {
    it(`refuses a pickle that names ${module}.${name}, naming the file and the global`, async () => {
      expect(await error(await zipBytes({ "archive/data.pkl": evil(module, name) }))).toBe(
        `model.bin: archive/data.pkl: expected only the globals a state dict uses (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch's storage types), got the global ${module}.${name} (at byte 2); nothing from the file is executed`,
      );
    });
  }

  it("refuses an opcode outside the subset, naming it and its offset", async () => {
    const pkl = new PickleBytes().op(0x80, 2, 0x93, 0x2e).bytes(); // STACK_GLOBAL
    expect(await error(await zipBytes({ "archive/data.pkl": pkl }))).toBe("model.bin: archive/data.pkl: expected only the pickle opcodes a state dict uses, got opcode 0x93 at byte 2");
  });

  it("refuses a truncated pickle", async () => {
    const pkl = statePickle([w([2], [1], 2)]);
    expect(await error(await zipBytes({ "archive/data.pkl": pkl.subarray(0, 7) }))).toBe(
      "model.bin: archive/data.pkl: expected 4 more bytes at byte 5, got the end of the pickle (7 bytes): truncated",
    );
  });

  it("refuses a truncated zip", async () => {
    const bytes = fixture("real-golden/D/diffusers/transformer/diffusion_pytorch_model.bin");
    expect(await error(bytes.subarray(0, bytes.length - 100))).toBe("model.bin: expected a zip file (torch.save's format), got: End of central directory not found");
  });

  it("refuses a storage entry whose local header offset leaves the file", async () => {
    const zip = await torchZip([w([2], [1], 2)], { "0": iotaFloat32(2) });
    expect(await error(patchCentral(zip, "archive/data/0", 42, zip.length + 10))).toBe(
      `model.bin: archive/data/0: expected its local header within the file's ${zip.length} bytes, got offset ${zip.length + 10}`,
    );
  });

  it("refuses a storage entry whose size leaves the file", async () => {
    const numel = 2 ** 28;
    const zip = patchCentral(patchCentral(await torchZip([w([2], [1], numel)], { "0": iotaFloat32(2) }), "archive/data/0", 20, 4 * numel), "archive/data/0", 24, 4 * numel);
    expect(await error(zip)).toMatch(new RegExp(`^model\\.bin: archive/data/0: expected its ${4 * numel} data bytes within the file's ${zip.length}, got data from offset \\d+ to \\d+$`));
  });

  it("refuses a compressed storage entry and a data.pkl over the bound", async () => {
    const zip = await torchZip([w([2], [1], 2)], { "0": iotaFloat32(2) }, ["archive/data/0", "archive/data.pkl"]);
    expect(await error(zip)).toBe("model.bin: archive/data/0: expected a stored storage entry (read by offset), got compression method 8");
    const size = statePickle([w([2], [1], 2)]).length;
    expect(await error(zip, { maxPickleBytes: 100 })).toMatch(new RegExp(`^model\\.bin: archive/data\\.pkl: expected at most 100 bytes, got an entry of ${size} bytes \\(\\d+ compressed\\)$`));
  });

  it("refuses a deflated data.pkl that inflates past the size it declares (zip.js checks it)", async () => {
    const zip = await torchZip([w([2], [1], 2)], { "0": iotaFloat32(2) }, ["archive/data.pkl"]);
    expect(await error(patchCentral(zip, "archive/data.pkl", 24, 10))).toBe("model.bin: archive/data.pkl: expected a readable zip entry, got: Invalid uncompressed size");
  });

  it("refuses more entries than maxEntries", async () => {
    const bytes = fixture("real-golden/D/diffusers/transformer/diffusion_pytorch_model.bin");
    expect(await error(bytes, { maxEntries: 10 })).toMatch(/^model\.bin: expected at most 10 zip entries \(options\.maxEntries\), got \d+$/);
  });

  it("refuses an unsupported dtype, naming the tensor and torch's storage type", async () => {
    expect(await error(fixture("pytorch-zip/double.bin"))).toBe(
      'model.bin: double/data.pkl: tensor "w": expected a float32, float16, bfloat16 or int64 storage (torch.FloatStorage, torch.HalfStorage, torch.BFloat16Storage, torch.LongStorage), got torch.DoubleStorage',
    );
  });

  it("refuses a view that leaves its storage", async () => {
    expect(await error(await torchZip([w([3, 3], [3, 1], 6)], { "0": iotaFloat32(6) }))).toBe(
      'model.bin: archive/data.pkl: tensor "w": expected its view (offset 0, shape [3, 3], stride [3, 1]) within its storage of 6 elements, got one reaching element 8',
    );
    expect(await error(await torchZip([w([2], [2], 4, { offset: 2 })], { "0": iotaFloat32(4) }))).toBe(
      'model.bin: archive/data.pkl: tensor "w": expected its view (offset 2, shape [2], stride [2]) within its storage of 4 elements, got one reaching element 4',
    );
  });

  it("refuses a storage entry of another size than its numel, and a missing one", async () => {
    expect(await error(await torchZip([w([2], [1], 3)], { "0": iotaFloat32(2) }))).toBe("model.bin: archive/data/0: expected 12 bytes (3 elements of torch.FloatStorage), got an entry of 8 bytes");
    expect(await error(await torchZip([w([2], [1], 2)], {}))).toBe('model.bin: tensor "w": expected its storage entry archive/data/0, got no such entry');
  });

  it("refuses an entry name given twice (which one would be read?)", async () => {
    const twice = await zipBytes({ "archive/data.pkl": statePickle([w([2], [1], 2)]), "archive/data/0": iotaFloat32(2), "archive/data/1": iotaFloat32(2) });
    const name = new TextEncoder().encode("archive/data/1");
    // Rename the second storage entry to archive/data/0, in its local header and its central record.
    const bytes = twice.slice();
    for (let i = 0; i + name.length <= bytes.length; i++) if (name.every((b, j) => bytes[i + j] === b)) bytes[i + name.length - 1] = 0x30;
    expect(await error(bytes)).toBe('model.bin: expected each entry name once, got "archive/data/0" twice');
  });

  it("refuses a big-endian file", async () => {
    const zip = await zipBytes({ "archive/data.pkl": statePickle([]), "archive/byteorder": new TextEncoder().encode("big") });
    expect(await error(zip)).toBe('model.bin: expected archive/byteorder "little", got "big"');
  });

  it("refuses a top level that is not a dict of tensors", async () => {
    const pkl = new PickleBytes().op(0x80, 2, 0x7d).str("a").int(1).op(0x73, 0x2e).bytes();
    expect(await error(await zipBytes({ "archive/data.pkl": pkl }))).toBe('model.bin: archive/data.pkl: expected every value of the state dict to be a tensor, got number 1 for "a"');
  });
});

describe("readPyTorchZip reads lazily", () => {
  it("reads a bounded amount when opened, and then only each tensor's own byte range", async () => {
    const bytes = fixture("real-golden/D/diffusers/text_encoder/pytorch_model.bin");
    const file = memoryFile(bytes, "text_encoder/pytorch_model.bin");
    const dict = await readPyTorchZip(file);
    const opened = file.reads.reduce((n, [, length]) => n + length, 0);
    // zip.js's search for the end of central directory (twice the longest zip comment, 64 KiB + 22), the
    // central directory, data.pkl and each storage's local header: not the storages.
    expect(opened).toBeLessThan(2 * 65_557 + 12_000);
    const ranges: [number, number][] = [];
    for (const t of dict.tensors.values()) {
      file.reads.length = 0;
      const got = await t.read();
      expect(file.reads).toEqual([[file.reads[0][0], t.byteLength]]);
      expect(got).toEqual(bytes.subarray(file.reads[0][0], file.reads[0][0] + t.byteLength));
      ranges.push(file.reads[0]);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][0] + ranges[i - 1][1]);
  });

  it("gathers any strided view of a storage as PyTorch's as_strided does (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 7 })), { maxLength: 4 }),
        fc.integer({ min: 0, max: 5 }),
        async (dims, offset) => {
          const shape = dims.map(([s]) => s);
          const stride = dims.map(([, s]) => s);
          const count = shape.reduce((a, b) => a * b, 1);
          const numel = offset + 1 + shape.reduce((n, s, i) => n + Math.max(0, s - 1) * stride[i], 0);
          const zip = await torchZip([w(shape, stride, numel, { offset })], { "0": iotaFloat32(numel) });
          const t = (await readPyTorchZip(memoryFile(zip, "model.bin"))).tensors.get("w")!;
          const expected: number[] = [];
          const walk = (d: number, at: number) => {
            if (d === shape.length) expected.push(at);
            else for (let i = 0; i < shape[d]; i++) walk(d + 1, at + i * stride[d]);
          };
          walk(0, offset);
          const got = await t.read();
          expect(t.shape).toEqual(shape);
          expect([...new Float32Array(got.slice().buffer)]).toEqual(count === 0 ? [] : expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
