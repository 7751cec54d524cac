/**
 * Writes a generated image to a PNG file in Node.js (as transformers.js' `RawImage.save`), with text
 * chunks such as the generation's `parameters` (see pipeline/png.ts).
 */
import { writeFile } from "node:fs/promises";
import type { RGBAImage } from "../pipeline/images.js";
import { encodePng, type PngOptions } from "../pipeline/png.js";

/**
 * Encodes `image` as PNG and writes it to `path` (replacing a file there).
 *
 * @param image - an image of `generate`'s `images` (or a sheet from `composeImageSheet`).
 * @param path - the file to write, e.g. `"boot.png"`.
 * @param options - text chunks, e.g. `{ text: { parameters: formatGenerationParameters(…) } }`.
 * @throws as `encodePng`, and the file system's error (with its `code`) when the file cannot be written.
 * @example
 * ```ts
 * import { saveImage, TorchGenerator, VQDiffusionPipeline } from "vq-diffusion/node";
 * const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
 * const { images } = await pipe.generate({ prompt: "ankle boot", generator: new TorchGenerator().manualSeed(0) });
 * await saveImage(images[0], "boot.png", { text: { parameters: "ankle boot" } });
 * ```
 */
export async function saveImage(image: RGBAImage, path: string, options: PngOptions = {}): Promise<void> {
  await writeFile(path, await encodePng(image, options));
}
