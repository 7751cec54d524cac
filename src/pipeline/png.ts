/**
 * PNG files (PNG specification, 3rd edition) of the pipeline's images, in Node.js and browsers alike
 * (no Node.js built-in: the zlib stream is the platform's `CompressionStream("deflate")`):
 * - {@link encodePng}: an RGBA image → PNG bytes (8-bit RGBA, filter type 0 on every row), as
 *   transformers.js' `RawImage.save` / `toBlob` give one; {@link imageToBlob} wraps them in a `Blob`;
 * - text chunks (§11.3.3): how a picture says how it was made. Stable Diffusion tools (AUTOMATIC1111's
 *   web UI, PIL's `PngInfo`) keep a generation's settings under the keyword `parameters` (see
 *   generationParameters.ts). A value that Latin-1 can hold goes in a `tEXt` chunk, any other in an
 *   uncompressed `iTXt` chunk (UTF-8), as PIL's `PngInfo.add_text` chooses; they follow IHDR.
 * Every chunk carries its CRC-32 (ISO 3309, the specification's Annex D).
 */
import { describe } from "../errors.js";
import type { RGBAImage } from "./images.js";

/** CRC-32 of the PNG specification (polynomial 0xEDB88320), table-driven. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The longest chunk this module reads or writes (the format allows 2^31 − 1 bytes; text is small). */
const MAX_TEXT_BYTES = 1 << 20;

function latin1(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function textChunk(keyword: string, value: string): Uint8Array {
  const key = latin1(keyword);
  if (key === null || key.length < 1 || key.length > 79 || key.includes(0) || /^ | $|  /.test(keyword)) {
    throw new Error(`keyword: expected 1-79 Latin-1 characters without NUL, leading, trailing or double spaces (PNG §11.3.3.2), got ${JSON.stringify(keyword)}`);
  }
  const plain = latin1(value);
  if (plain !== null && !plain.includes(0)) return chunk("tEXt", concat([key, Uint8Array.of(0), plain]));
  // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
  return chunk("iTXt", concat([key, Uint8Array.of(0, 0, 0, 0, 0), new TextEncoder().encode(value)]));
}

/** Checks the signature and walks the chunks: [type, data] in order. */
function* chunks(png: Uint8Array): Generator<{ type: string; start: number; end: number; data: Uint8Array }> {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error("png: expected PNG bytes (the 8-byte PNG signature), got other bytes");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  while (o < png.length) {
    if (o + 12 > png.length) throw new Error(`png: expected a whole chunk at byte ${o}, got ${png.length - o} bytes`);
    const length = view.getUint32(o);
    if (o + 12 + length > png.length) throw new Error(`png: expected a chunk of ${length} bytes at byte ${o}, got a file that ends first`);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    yield { type, start: o, end: o + 12 + length, data: png.subarray(o + 8, o + 8 + length) };
    o += 12 + length;
  }
}

/** Options of {@link encodePng} and {@link imageToBlob}. */
export interface PngOptions {
  /** Text chunks: keyword (1-79 Latin-1 characters) → value, e.g. `{ parameters: formatGenerationParameters(…) }`. */
  text?: Readonly<Record<string, string>>;
}

/** zlib-wrapped deflate (RFC 1950/1951) with the platform's CompressionStream. */
async function zlibDeflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Encodes an image as a PNG file: 8-bit RGBA, non-interlaced, with the given text chunks.
 *
 * @param image - RGBA bytes, row-major, `width · height · 4` of them (what `generate` returns).
 * @param options - text chunks.
 * @returns the file's bytes (the same pixels and text give the same bytes on one platform).
 * @throws Error naming `image` for a size that does not match its data, or `keyword` for a keyword PNG forbids.
 * @example
 * ```ts
 * const { images } = await pipe.generate({ prompt: "ankle boot", generator: new TorchGenerator().manualSeed(0) });
 * const png = await encodePng(images[0], { text: { parameters: "ankle boot" } });
 * ```
 */
export async function encodePng(image: RGBAImage, options: PngOptions = {}): Promise<Uint8Array> {
  const { width, height } = image;
  const data: unknown = image.data;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new Error(`image: expected a width and height that are integers >= 1, got ${width}×${height}`);
  }
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array) || data.length !== width * height * 4) {
    throw new Error(`image: expected ${width}×${height}×4 = ${width * height * 4} RGBA bytes, got ${describe(data)}`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, filter method 0, no interlace
  // Each row: filter type 0 (None), then its bytes.
  const stride = width * 4;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const text = Object.entries(options.text ?? {}).map(([k, v]) => textChunk(k, v));
  return concat([Uint8Array.from(SIGNATURE), chunk("IHDR", header), ...text, chunk("IDAT", await zlibDeflate(raw)), chunk("IEND", new Uint8Array(0))]);
}

/**
 * An image as a PNG `Blob` (`type: "image/png"`), e.g. for a download link or `URL.createObjectURL`
 * in a browser.
 *
 * @throws as {@link encodePng}.
 * @example
 * ```ts
 * const url = URL.createObjectURL(await imageToBlob(images[0]));
 * ```
 */
export async function imageToBlob(image: RGBAImage, options: PngOptions = {}): Promise<Blob> {
  return new Blob([(await encodePng(image, options)) as Uint8Array<ArrayBuffer>], { type: "image/png" });
}

/**
 * A copy of PNG bytes with text chunks added after IHDR (the input is not modified).
 *
 * @param png - a PNG file's bytes.
 * @param text - keyword → value; values are stored as `tEXt` (Latin-1) or `iTXt` (UTF-8).
 * @returns the new file's bytes.
 * @throws Error naming `png` for bytes that are not a PNG, or `keyword` for a keyword PNG forbids.
 * @example
 * ```ts
 * const tagged = withPngText(pngBytes, { parameters: "ankle boot\nSteps: 100, Seed: 0" });
 * readPngText(tagged).parameters; // "ankle boot\nSteps: 100, Seed: 0"
 * ```
 */
export function withPngText(png: Uint8Array, text: Readonly<Record<string, string>>): Uint8Array {
  const first = chunks(png).next();
  if (first.done || first.value.type !== "IHDR") throw new Error("png: expected IHDR as the first chunk, got another");
  const added = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return concat([png.subarray(0, first.value.end), ...added, png.subarray(first.value.end)]);
}

/**
 * The text chunks of PNG bytes (`tEXt`, and uncompressed `iTXt`), keyword → value; a keyword given
 * twice keeps its first value.
 *
 * @param png - a PNG file's bytes.
 * @throws Error naming `png` for bytes that are not a PNG.
 * @example
 * ```ts
 * readPngText(readFileSync("vq-diffusion.png")).parameters; // the prompt and settings of the CLI's run
 * ```
 */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { type, data } of chunks(png)) {
    if ((type !== "tEXt" && type !== "iTXt") || data.length > MAX_TEXT_BYTES) continue;
    const nul = data.indexOf(0);
    if (nul < 1) continue;
    const keyword = String.fromCharCode(...data.subarray(0, nul));
    let value: string;
    if (type === "tEXt") value = String.fromCharCode(...data.subarray(nul + 1));
    else {
      if (data[nul + 1] !== 0) continue; // compressed iTXt: not read here
      const language = data.indexOf(0, nul + 3);
      const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
      if (translated < 0) continue;
      value = new TextDecoder().decode(data.subarray(translated + 1));
    }
    if (!(keyword in out)) out[keyword] = value;
  }
  return out;
}
