/**
 * The `vq-diffusion` commands: `generate` (text to images with a model folder or a diffusers
 * checkpoint), `convert` (a diffusers checkpoint to the model folder layout) and `sample` (the
 * pixel-art demo). Node.js only; the executable
 * entry is `bin.ts`, which calls {@link main} with the process's arguments and streams.
 */
import { readFileSync } from "node:fs";
import { describe } from "../errors.js";
import { resolve } from "node:path";
import { TorchGenerator } from "../random/torchGenerator.js";
import { formatGenerationParameters } from "../pipeline/generationParameters.js";
import { saveImage } from "../node/saveImage.js";
import { PACKAGE_ROOT } from "../node/bundledModels.js";
import { loadNodePipeline, VQDiffusionPipeline } from "../node/nodePipeline.js";
import { composeSheet } from "../demo/render.js";
import { samplePixelArt } from "../demo/pixelArtSampler.js";
import { helpText } from "./helpText.js";
import { parseArgs, USAGE, UsageError, type ConvertArgs, type GenerateArgs, type SampleArgs } from "./args.js";
import { openModelOrCheckpoint } from "../node/conversionCache.js";
import { convertIntoFolder, isAbsentOrEmpty } from "../node/convertFolder.js";
import { checkOutFile } from "./outFile.js";
import { generationSheet } from "./sheet.js";
import { OnnxruntimeNodeMissingError } from "../node/onnxruntimeNode.js";
import { runServeCommand } from "./serve.js";
import type { HubProgressEvent } from "../files/hub/progress.js";

/**
 * The API's argument names and the flags that set them: an error the library raises about an
 * argument the CLI filled from a flag (a guidance scale that overflows mid-run) names the flag.
 */
const FLAGS: Readonly<Record<string, string>> = {
  numInferenceSteps: "--steps",
  guidanceScale: "--guidance",
  truncationRate: "--truncation",
  numImagesPerPrompt: "--images",
  batchSize: "--batch",
  label: "--label",
  timestepSpacing: "--spacing",
  strategy: "--strategy",
  mode: "--mode",
  promptEmbeds: "--prompt-embeds",
  prompt: "--prompt",
};

/**
 * `message` with a leading API argument name replaced by its flag: `guidanceScale: expected …` →
 * `--guidance: expected …`, `promptEmbeds.dims: expected …` → `--prompt-embeds dims: expected …`.
 */
export function inFlagTerms(message: string): string {
  const m = /^([A-Za-z]+)((?:\.[A-Za-z]+)*): /.exec(message);
  if (m === null || !Object.hasOwn(FLAGS, m[1])) return message;
  return `${FLAGS[m[1]]}${m[2] ? ` ${m[2].slice(1)}` : ""}${message.slice(m[1].length + m[2].length)}`;
}

/** Where the CLI writes: the process's streams, or a test's. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (the progress bar is drawn only then). */
  stderrIsTTY: boolean;
  /** Aborts the run as Ctrl-C does (for tests; the process's SIGINT is always heard). */
  signal?: AbortSignal;
}

/** Why a run stopped on Ctrl-C (SIGINT). */
class Interrupted extends Error {
  constructor() {
    super("interrupted (Ctrl-C)");
    this.name = "AbortError";
  }
}

/**
 * Runs `work` with a signal that aborts on Ctrl-C (SIGINT, heard only while it runs) or on
 * `io.signal`: a conversion then stops and leaves nothing half-written.
 */
async function interruptible<T>(io: CliIO, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Interrupted());
  const onAbort = () => controller.abort(new Interrupted());
  process.once("SIGINT", onSigint);
  io.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", onSigint);
    io.signal?.removeEventListener("abort", onAbort);
  }
}

const processIO: CliIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
};

function progress(io: CliIO, step: number, total: number): void {
  const width = 30;
  const done = Math.round(((step + 1) / total) * width);
  io.stderr(`\r[${"#".repeat(done)}${".".repeat(width - done)}] step ${step + 1}/${total}`);
}

/** Runs `run` with --out created first (see outFile.ts); a run that fails removes the file it created. */
async function withOutFile(out: string, run: () => Promise<string>): Promise<string> {
  const file = checkOutFile(out);
  try {
    return await run();
  } catch (e) {
    file.discard();
    throw e;
  }
}

async function runSample(args: SampleArgs, io: CliIO): Promise<string> {
  const started = performance.now();
  const tty = io.stderrIsTTY;
  const result = await samplePixelArt({
    seed: args.seed,
    numInferenceSteps: args.steps,
    batchSize: args.batch,
    label: args.label,
    guidanceScale: args.guidance,
    truncationRate: args.truncation,
    mode: args.mode,
    timestepSpacing: args.spacing,
    strategy: args.strategy,
    onStep: tty ? ({ step }) => progress(io, step, args.steps) : undefined,
  });
  if (tty) io.stderr("\r\x1b[K");
  const parameters = formatGenerationParameters({
    prompts: [args.label ?? "(any label)"],
    model: "pixel-art demo (the exact posterior of the embedded sprites)",
    seed: args.seed,
    steps: args.steps,
    guidanceScale: args.guidance,
    truncationRate: args.truncation,
    timestepSpacing: args.spacing,
    strategy: args.strategy,
    mode: args.mode,
    width: 16,
    height: 16,
  });
  await saveImage(composeSheet(result.frames), args.out, { text: { parameters } });
  const matched = result.matches.filter((m) => m !== null);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const what = args.label ? `"${args.label}"` : "any label";
  return (
    `wrote ${args.out}: ${args.batch} image${args.batch === 1 ? "" : "s"} of ${what} in ${args.steps} step${args.steps === 1 ? "" : "s"} ` +
    `(seed ${args.seed}, guidance ${args.guidance}, truncation ${args.truncation}, ${args.mode} mode` +
    `${args.spacing ? `, ${args.spacing} spacing` : ""}${args.strategy === "purity" ? ", purity" : ""}), ` +
    `${matched.length}/${args.batch} equal to a data-set sprite${matched.length ? ` (${matched.join(", ")})` : ""}, ${seconds} s`
  );
}

/** Reads --prompt-embeds: a JSON file { dims: [P, L, D], data: [...] }. */
function readEmbeds(file: string): { data: Float32Array; dims: number[] } {
  let json: { dims?: unknown; data?: unknown };
  try {
    json = JSON.parse(readFileSync(file, "utf8")) as typeof json;
  } catch (e) {
    throw new Error(`--prompt-embeds: expected a readable JSON file, got ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(json?.dims) || !Array.isArray(json?.data) || !json.data.every((v) => typeof v === "number")) {
    throw new Error(`--prompt-embeds: expected {"dims": [P, L, D], "data": [numbers]}, got another shape of JSON in ${file}`);
  }
  return { data: Float32Array.from(json.data as number[]), dims: json.dims as number[] };
}

/** Megabytes with one decimal, for the download bar. */
function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * The download and conversion bar, on a terminal only (throttled to 10 redraws a second, always
 * drawn when a phase completes); `clear()` erases it. Elsewhere each converted network gets one line.
 */
function progressBar(io: CliIO): { onProgress: (e: HubProgressEvent) => void; clear: () => void } {
  let drawn = false;
  let last = 0;
  const onProgress = (e: HubProgressEvent) => {
    const converting = e.status === "convert";
    if (!io.stderrIsTTY) {
      if (converting && e.loaded === e.total) io.stderr(`converted ${e.file} (${size(e.total)} of weights)\n`);
      return;
    }
    const now = Date.now();
    const complete = e.overall.loaded === e.overall.total;
    if ((!complete && now - last < 100) || e.overall.total === 0) return;
    last = now;
    drawn = true;
    const width = 30;
    const filled = Math.round((e.overall.loaded / e.overall.total) * width);
    io.stderr(`\r\x1b[K[${"#".repeat(filled)}${".".repeat(width - filled)}] ${converting ? "converting" : "downloading"} ${megabytes(e.overall.loaded)}/${megabytes(e.overall.total)} MB ${e.file}`);
  };
  return { onProgress, clear: () => drawn && io.stderr("\r\x1b[K") };
}

/** Runs `work` with @huggingface/hub's console.debug lines (one per download, to stdout) silenced: the bar says it instead. */
async function quietHub<T>(work: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  console.debug = () => undefined;
  try {
    return await work();
  } finally {
    console.debug = debug;
  }
}

/**
 * Loads --model; a Hub model shows a download bar on a terminal and is taken from the cache alone
 * with --offline; a diffusers checkpoint is converted into the conversion cache on first use.
 */
async function loadModel(args: GenerateArgs, io: CliIO, signal: AbortSignal): Promise<VQDiffusionPipeline> {
  const bar = progressBar(io);
  try {
    return await quietHub(() =>
      loadNodePipeline(VQDiffusionPipeline, args.model, {
        revision: args.revision,
        localFilesOnly: args.offline ? true : undefined,
        quantize: args.quantize,
        onProgress: bar.onProgress,
        signal,
        // Warnings (unknown words, a prompt cut to L tokens) go to stderr; the run goes on and exits 0.
        onWarning: (message) => io.stderr(`warning: ${message}\n`),
      }, "--model"),
    );
  } finally {
    bar.clear();
  }
}

/** Bytes for people: "512 B", "2.3 kB", "5440.1 MB". */
function size(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${megabytes(bytes)} MB`;
}

/** `vq-diffusion convert`: the checkpoint --model into the folder --out, atomically; lists what it wrote. */
async function runConvert(args: ConvertArgs, io: CliIO): Promise<string> {
  const out = resolve(args.out);
  if (!(await isAbsentOrEmpty(out))) throw new Error(`--out: expected a new path or an empty folder, got ${out}, which is not empty (or not a folder)`);
  const started = performance.now();
  const bar = progressBar(io);
  const written = await interruptible(io, async (signal) => {
    try {
      const options = { revision: args.revision, localFilesOnly: args.offline ? true : undefined, variant: args.variant, dtype: args.dtype, quantize: args.quantize, onProgress: bar.onProgress, signal };
      return await quietHub(async () => {
        const { location, checkpoint } = await openModelOrCheckpoint(args.model, options, "--model");
        if (checkpoint === null) {
          throw new Error(
            `--model: expected a diffusers checkpoint (a folder or a Hub id with PyTorch or safetensors weights, no transformer/model.onnx), got ${JSON.stringify(args.model)}, ` +
              (location.kind === "url" || location.kind === "bundled" ? `a ${location.kind === "url" ? "URL" : "bundled model"} (already in ONNX)` : "a model folder already in ONNX or without weights"),
          );
        }
        const onWarning = (message: string) => io.stderr(`warning: ${message}\n`);
        return convertIntoFolder(checkpoint.source, checkpoint.listing, out, "replace-empty", { variant: args.variant, dtype: args.dtype, quantize: args.quantize, onProgress: bar.onProgress, onWarning, signal });
      });
    } catch (e) {
      if (signal.aborted) throw new Error(`${(signal.reason as Error).message}: nothing was written to ${out}`, { cause: signal.reason });
      throw e;
    } finally {
      bar.clear();
    }
  });
  const total = written.reduce((s, w) => s + w.bytes, 0);
  const width = Math.max(...written.map((w) => size(w.bytes).length));
  const lines = written.map((w) => `  ${size(w.bytes).padStart(width)}  ${w.path}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  return `${lines.join("\n")}\nwrote ${out}: ${written.length} files, ${size(total)}, from ${args.model}${args.variant ? ` (variant ${args.variant})` : ""}${args.quantize ? ` (quantized to ${args.quantize})` : ""}, ${seconds} s`;
}

async function runGenerate(args: GenerateArgs, io: CliIO): Promise<string> {
  const started = performance.now();
  const pipe = await interruptible(io, (signal) => loadModel(args, io, signal));
  try {
    return await generateWith(pipe, args, io, started);
  } finally {
    await pipe.release();
  }
}

/** Checks the flags that depend on the model (--steps against its T, --prompt against its text encoder), then generates. */
async function generateWith(pipe: VQDiffusionPipeline, args: GenerateArgs, io: CliIO, started: number): Promise<string> {
  const T = pipe.config.numTrainTimesteps;
  // Without --steps: diffusers' default of 100, cut to T for a model trained on fewer (100 would be refused).
  const steps = args.steps ?? Math.min(100, T);
  if (steps < 1 || steps > T) {
    throw new UsageError(`--steps: expected an integer in [1, ${T}] (the model's T, num_train_timesteps), got ${JSON.stringify(String(steps))}`);
  }
  if (args.prompts.length > 0 && pipe.tokenizer === null) {
    throw new Error(`--prompt: expected --prompt-embeds FILE instead (this model folder has no text_encoder/tokenizer), got ${args.prompts.map((p) => JSON.stringify(p)).join(", ")}`);
  }
  const tty = io.stderrIsTTY;
  const { images } = await pipe.generate({
    ...(args.promptEmbeds === undefined ? { prompt: args.prompts } : { promptEmbeds: readEmbeds(args.promptEmbeds) }),
    numImagesPerPrompt: args.images,
    numInferenceSteps: steps,
    guidanceScale: args.guidance,
    truncationRate: args.truncation,
    generator: new TorchGenerator().manualSeed(args.seed),
    timestepSpacing: args.spacing,
    strategy: args.strategy,
    mode: args.mode,
    onStep: tty ? ({ step }) => progress(io, step, steps) : undefined,
  });
  if (tty) io.stderr("\r\x1b[K");
  const scale = Math.max(1, Math.round(112 / images[0].width));
  // The picture says how it was made: the settings under "parameters", as Stable Diffusion tools write them.
  const parameters = formatGenerationParameters({
    prompts: args.promptEmbeds === undefined ? args.prompts : [`(prompt embeddings from ${args.promptEmbeds})`],
    model: args.model,
    seed: args.seed,
    steps,
    guidanceScale: args.guidance,
    truncationRate: args.truncation,
    timestepSpacing: args.spacing,
    strategy: args.strategy,
    mode: args.mode,
    width: images[0].width,
    height: images[0].height,
  });
  const P = images.length / args.images;
  const labels = args.promptEmbeds === undefined ? args.prompts : Array.from({ length: P }, (_, p) => `prompt embeddings row ${p + 1}`);
  await saveImage(generationSheet(images, labels, args.images, scale), args.out, { text: { parameters } });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const n = images.length;
  return (
    `wrote ${args.out}: ${n} image${n === 1 ? "" : "s"} of ${args.promptEmbeds ?? args.prompts.map(describe).join(", ")} in ${steps} step${steps === 1 ? "" : "s"} ` +
    `(model ${args.model}, seed ${args.seed}, guidance ${args.guidance}, truncation ${args.truncation}, ${args.mode} mode` +
    `${args.spacing ? `, ${args.spacing} spacing` : ""}${args.strategy === "purity" ? ", purity" : ""}), ${P > 1 ? "one labelled block per prompt" : "one block"}, ${seconds} s`
  );
}

/** The missing onnxruntime-node in the CLI's terms: what to install, and that `sample` needs none. */
function missingRuntime(e: OnnxruntimeNodeMissingError): string {
  return (
    `generate: expected onnxruntime-node installed beside vq-diffusion (it runs the model), got none (${e.importError}). ` +
    `Install it where vq-diffusion is installed: ${e.installCommand} (add -g for a global install). ` +
    `vq-diffusion sample needs no runtime.`
  );
}

/** Runs the CLI with `argv` (without node and the script); returns the exit code (0, 1 on failure, 2 on a bad option). */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  if (argv[0] === "serve" || argv[0] === "worker") {
    try {
      return await runServeCommand(argv, io, USAGE);
    } catch (e) {
      io.stderr(`vq-diffusion: ${(e as Error).message}\n`);
      return 1;
    }
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`vq-diffusion: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === "help") {
    io.stdout(helpText() + "\n");
    return 0;
  }
  if (args.command === "version") {
    io.stdout(`${(JSON.parse(readFileSync(resolve(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version}\n`);
    return 0;
  }
  try {
    const run = args;
    const work = () => (run.command === "generate" ? runGenerate(run, io) : run.command === "convert" ? runConvert(run, io) : runSample(run, io));
    // --out of generate and sample is a PNG created first (removed on failure); convert's --out is a folder it checks itself.
    io.stdout((await (run.command === "convert" ? work() : withOutFile(run.out, work))) + "\n");
    return 0;
  } catch (e) {
    // A flag whose range depends on the model (--steps against its T) is a usage error like the others.
    if (e instanceof UsageError) {
      io.stderr(`vq-diffusion: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr(`vq-diffusion: ${e instanceof OnnxruntimeNodeMissingError ? missingRuntime(e) : inFlagTerms((e as Error).message)}\n`);
    // 130: the shell's code for a run stopped by Ctrl-C (128 + SIGINT).
    return (e as Error).cause instanceof Interrupted || e instanceof Interrupted ? 130 : 1;
  }
}
