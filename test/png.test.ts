/**
 * Images to PNG files (issue 31, item 13): encodePng / imageToBlob in the core (Node.js and browsers:
 * no Node built-in), saveImage in Node, and text chunks that say how a picture was made, read back
 * here, by pngjs (an independent decoder: pixels and CRCs), and from a file PIL wrote
 * (tools/fixtures/make_pil_png.py). The CLI's PNG carries the run's settings under "parameters".
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pngjs from "pngjs";
import { describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import { encodePng, formatGenerationParameters, imageToBlob, readPngText, withPngText } from "../src/index.js";
import { saveImage } from "../src/node.js";

const dir = mkdtempSync(join(tmpdir(), "vqd-png-"));
const image = { width: 3, height: 2, data: Uint8ClampedArray.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255, 200, 100, 50, 128, 0, 0, 0, 0]) };

describe("encodePng", () => {
  it("gives a PNG an independent decoder (pngjs) reads back pixel for pixel, CRCs checked", async () => {
    const png = pngjs.PNG.sync.read(Buffer.from(await encodePng(image)));
    expect([png.width, png.height]).toEqual([3, 2]);
    expect(Array.from(png.data)).toEqual(Array.from(image.data));
  });

  it("writes text chunks: tEXt for Latin-1, iTXt (UTF-8) beyond it; both read back, and pngjs still decodes", async () => {
    const text = { parameters: "ankle boot\nSteps: 100, Seed: 0", prompt: "sandale à talon — 靴" };
    const bytes = await encodePng(image, { text });
    expect(readPngText(bytes)).toEqual(text);
    const chunkTypes = (b: Uint8Array) => {
      const types: string[] = [];
      for (let o = 8; o < b.length; o += 12 + new DataView(b.buffer, b.byteOffset).getUint32(o)) types.push(String.fromCharCode(...b.subarray(o + 4, o + 8)));
      return types;
    };
    expect(chunkTypes(bytes)).toEqual(["IHDR", "tEXt", "iTXt", "IDAT", "IEND"]);
    expect(Array.from(pngjs.PNG.sync.read(Buffer.from(bytes)).data)).toEqual(Array.from(image.data));
  });

  it("reads the text chunks PIL writes (PngInfo.add_text, as Stable Diffusion tools save)", () => {
    const pil = readFileSync(new URL("./fixtures/png/pil-text.png", import.meta.url));
    expect(readPngText(pil)).toEqual({ parameters: "ankle boot\nSteps: 20, CFG scale: 5, Seed: 1, Size: 28x28, Model: fashion-mnist", prompt: "sandale à talon — 靴" });
    expect(readPngText(withPngText(pil, { extra: "x" }))).toMatchObject({ extra: "x", parameters: expect.stringContaining("ankle boot") });
  });

  it("refuses bad input, naming it", async () => {
    await expect(encodePng({ ...image, width: 4 })).rejects.toThrow(new Error("image: expected 4×2×4 = 32 RGBA bytes, got a Uint8ClampedArray of length 24"));
    await expect(encodePng(image, { text: { "": "x" } })).rejects.toThrow(/^keyword: expected 1-79 Latin-1 characters/);
    await expect(encodePng(image, { text: { "靴": "x" } })).rejects.toThrow(/^keyword: expected 1-79 Latin-1 characters/);
    expect(() => readPngText(new Uint8Array([1, 2, 3]))).toThrow(new Error("png: expected PNG bytes (the 8-byte PNG signature), got other bytes"));
  });

  it("imageToBlob gives an image/png Blob of the same bytes; saveImage writes them", async () => {
    const blob = await imageToBlob(image, { text: { parameters: "p" } });
    expect(blob.type).toBe("image/png");
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect(bytes).toEqual(await encodePng(image, { text: { parameters: "p" } }));
    await saveImage(image, join(dir, "s.png"), { text: { parameters: "p" } });
    expect(new Uint8Array(readFileSync(join(dir, "s.png")))).toEqual(bytes);
  });
});

describe("the CLI's PNG says how it was made", () => {
  it("sample writes its settings too", async () => {
    const io: CliIO = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false };
    const out = join(dir, "s-cli.png");
    expect(await main(["sample", "--seed", "3", "--steps", "5", "--batch", "1", "--label", "heart", "--guidance", "2", "--out", out], io)).toBe(0);
    expect(readPngText(readFileSync(out)).parameters).toBe(
      "heart\nSteps: 5, Sampler: VQ-Diffusion posterior (reference), CFG scale: 2, Truncation rate: 1, Timestep spacing: diffusers, Seed: 3, Size: 16x16, Model: pixel-art demo (the exact posterior of the embedded sprites)",
    );
  });

  it('generate writes model, prompt, seed, steps, guidance, truncation and spacing under "parameters"', async () => {
    const tiny = new URL("./fixtures/pipeline-golden/tiny-a", import.meta.url).pathname;
    writeFileSync(join(dir, "e.json"), JSON.stringify({ dims: [1, 8, 32], data: new Array(8 * 32).fill(0.1) }));
    const io: CliIO = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false };
    const out = join(dir, "g.png");
    const argv = ["generate", "--model", tiny, "--prompt-embeds", join(dir, "e.json"), "--images", "1", "--steps", "3", "--seed", "-5", "--guidance", "2.5", "--truncation", "0.9", "--spacing", "trailing", "--out", out];
    expect(await main(argv, io)).toBe(0);
    const parameters = readPngText(readFileSync(out)).parameters;
    expect(parameters).toBe(
      `(prompt embeddings from ${join(dir, "e.json")})\nSteps: 3, Sampler: VQ-Diffusion posterior (reference), CFG scale: 2.5, Truncation rate: 0.9, Timestep spacing: trailing, Seed: -5, Size: 16x16, Model: ${tiny}`,
    );
    expect(parameters).toBe(
      formatGenerationParameters({ prompts: [`(prompt embeddings from ${join(dir, "e.json")})`], model: tiny, seed: -5n, steps: 3, guidanceScale: 2.5, truncationRate: 0.9, timestepSpacing: "trailing", width: 16, height: 16 }),
    );
  });
});
