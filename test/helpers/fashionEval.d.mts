/** Types of fashionEval.mjs. */
import type { OrtModule, RGBAImage } from "../../src/index.js";
export const EVAL_DIR: URL;
export const CLASS_NAMES: readonly string[];
export const FEATURES: number;
export function imagesToUnit(images: readonly RGBAImage[]): Float32Array;
export function loadClassifier(ort: OrtModule): Promise<{ classify(pixels: Float32Array, n: number): Promise<{ labels: Int32Array; features: Float32Array }> }>;
export function readTestTokens(file?: string | URL): Uint8Array;
