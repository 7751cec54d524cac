import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readPyTorchZip } from "../src/formats/pytorchZip.js";
import { openRandomAccessFile } from "../src/node/randomAccessFile.js";

const dir = mkdtempSync(join(tmpdir(), "raf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openRandomAccessFile", () => {
  it("reads exactly the bytes asked, at any offset", async () => {
    const path = join(dir, "a.bin");
    writeFileSync(path, Uint8Array.from({ length: 100 }, (_, i) => i));
    const file = await openRandomAccessFile(path, "folder/a.bin");
    expect(file.size).toBe(100);
    expect([...(await file.read(95, 5))]).toEqual([95, 96, 97, 98, 99]);
    expect(await file.read(100, 0)).toEqual(new Uint8Array(0));
    await file.close();
  });

  it("refuses reads outside the file, after close, and a file that shrank, naming the file", async () => {
    const path = join(dir, "b.bin");
    writeFileSync(path, new Uint8Array(10));
    const file = await openRandomAccessFile(path, "folder/b.bin");
    await expect(file.read(8, 3)).rejects.toThrow("folder/b.bin: expected a read within the file's 10 bytes, got 3 bytes at offset 8");
    await expect(file.read(-1, 1)).rejects.toThrow("folder/b.bin: expected a read within the file's 10 bytes, got 1 bytes at offset -1");
    truncateSync(path, 4);
    await expect(file.read(2, 4)).rejects.toThrow("folder/b.bin: expected 4 bytes at offset 2, got the end of the file after 2 (did it shrink?)");
    await file.close();
    await file.close();
    await expect(file.read(0, 1)).rejects.toThrow("folder/b.bin: expected an open file, got a read after close()");
  });

  it("refuses a missing file and a folder, naming them", async () => {
    await expect(openRandomAccessFile(join(dir, "missing.bin"), "folder/missing.bin")).rejects.toThrow(/^folder\/missing\.bin: expected a readable file, got an error: ENOENT/);
    await expect(openRandomAccessFile(dir, "folder")).rejects.toThrow(`folder: expected a regular file, got something else at ${dir}`);
  });

  it("serves the PyTorch zip reader", async () => {
    const path = fileURLToPath(new URL("./fixtures/real-golden/D/diffusers/transformer/diffusion_pytorch_model.bin", import.meta.url));
    const file = await openRandomAccessFile(path, "transformer/diffusion_pytorch_model.bin");
    try {
      const dict = await readPyTorchZip(file);
      const emb = dict.tensors.get("latent_image_embedding.emb.weight")!;
      expect(emb.shape).toEqual([25, 24]);
      expect((await emb.read()).length).toBe(25 * 24 * 4);
    } finally {
      await file.close();
    }
  });
});
