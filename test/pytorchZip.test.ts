import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readPyTorchZip } from "../src/formats/pytorchZip.js";
import { memoryFile } from "./helpers/memoryFile.js";

const fixture = (path: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${path}`, import.meta.url)));
const json = (path: string) => JSON.parse(new TextDecoder().decode(fixture(path)));
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
