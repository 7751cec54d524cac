/**
 * vq-diffusion/demo: the pixel-art data set, its exact-posterior model and the drawing helpers that
 * the CLI and the web page share. Like the core, it uses no Node.js built-in.
 *
 * @example
 * ```ts
 * import { samplePixelArt } from "vq-diffusion/demo";
 * const { tokens, matches } = await samplePixelArt({ seed: 7, label: "tree" });
 * ```
 */
export { PALETTE, PIXEL_ART, PIXEL_ART_LABELS, PIXEL_ART_NUM_CLASSES, SPRITE_SIZE } from "./pixelArt.js";
export type { LabelledImage } from "./pixelArt.js";
export { matchLabel, pixelArtDenoiser, pixelArtScheduler, samplePixelArt } from "./pixelArtSampler.js";
export type { PixelArtDenoiserOptions, PixelArtOptions, PixelArtResult } from "./pixelArtSampler.js";
export { blankImage, composeSheet, drawTokens } from "./render.js";
export { FASHION_MNIST_PROMPTS } from "./fashionMnist.js";
export type { RgbaImage, SheetLayout } from "./render.js";
export type { RGBAImage } from "../pipeline/images.js";
