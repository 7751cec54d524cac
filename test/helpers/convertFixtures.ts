/**
 * The converter's test checkpoints and an in-memory sink: D (test/fixtures/real-golden/D/diffusers,
 * pickled `.bin` and CLIP's slow tokenizer files) and D-safetensors (the same weights saved again
 * as safetensors, fp32 and the fp16 variant, with tokenizer.json; tools/fixtures/safetensors_checkpoint.py).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { FileWriter, ModelFolderSink } from "../../src/convert/convertPipeline.js";

export const D_BIN = new URL("../fixtures/real-golden/D/diffusers/", import.meta.url).pathname;
export const D_SAFETENSORS = new URL("../fixtures/convert/D-safetensors/", import.meta.url).pathname;

const made: string[] = [];

/** A new temporary folder (removed by {@link removeTemporaryFolders}). */
export function temporaryFolder(prefix = "vqd-convert-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A copy of `checkpoint` in a new temporary folder. */
export function copyCheckpoint(checkpoint: string): string {
  const dir = join(temporaryFolder(), "checkpoint");
  cpSync(checkpoint, dir, { recursive: true });
  return dir;
}

/** Removes the folders {@link temporaryFolder} made. */
export function removeTemporaryFolders(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every file under `dir`, relative, sorted (hidden ones included); [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length).replace(/^\/+/, ""))
      .sort();
  } catch {
    return [];
  }
}

/** A sink keeping the files in memory: path → bytes. */
export function memorySink(): { sink: ModelFolderSink; files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    sink: {
      async writeFile(path, bytes) {
        files.set(path, bytes.slice());
      },
      async openWriter(path): Promise<FileWriter> {
        const chunks: Uint8Array[] = [];
        return {
          async write(chunk) {
            chunks.push(chunk.slice());
          },
          async close() {
            files.set(path, new Uint8Array(Buffer.concat(chunks)));
          },
        };
      },
    },
  };
}

/**
 * Points the conversion cache (HF_ASSETS_CACHE) at a new temporary folder for the test file, and
 * restores it and removes the temporary folders after all its tests. Returns the folder.
 */
export function temporaryAssetsCache(): string {
  const saved = process.env.HF_ASSETS_CACHE;
  const assets = temporaryFolder("vqd-assets-");
  process.env.HF_ASSETS_CACHE = assets;
  afterAll(() => {
    if (saved === undefined) delete process.env.HF_ASSETS_CACHE;
    else process.env.HF_ASSETS_CACHE = saved;
    removeTemporaryFolders();
  });
  return assets;
}
