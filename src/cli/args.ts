/**
 * Command-line parsing for `vq-diffusion`: a small, strict parser (no dependency) whose errors name
 * the option, what was expected and what came.
 */
import { PIXEL_ART_LABELS } from "../demo/pixelArt.js";
import { BUNDLED_MODELS } from "../node/bundledModels.js";
import { checkRevision } from "../files/hub/modelId.js";
import { modelLocation } from "../node/modelLocation.js";
import { nearestName } from "../optionKeys.js";
import { outNameProblem } from "./outFile.js";

/** The options both commands take, with the same meaning. */
export interface CommonArgs {
  /** --seed: any integer torch.Generator().manual_seed takes, [-2^63, 2^64 - 1]. */
  seed: bigint;
  steps: number;
  guidance: number;
  truncation: number;
  mode: "reference" | "fast";
  spacing?: "linspace" | "leading" | "trailing";
  strategy: "posterior" | "purity";
  out: string;
}

/** The parsed `sample` command. */
export interface SampleArgs extends CommonArgs {
  command: "sample";
  batch: number;
  label?: string;
}

/** The parsed `generate` command: text to images with a model folder. */
export interface GenerateArgs extends Omit<CommonArgs, "steps"> {
  command: "generate";
  /** --steps; without it, 100 or the model's T when that is smaller (known once the model is read). */
  steps?: number;
  /** What `--model` named: a folder path, a bundled model's name, a URL or a Hub id (see `modelLocation`). */
  model: string;
  /** One or more prompts (--prompt may be repeated). */
  prompts: string[];
  /** Instead of prompts: a JSON file { dims: [P, L, D], data: [...] } of raw prompt embeddings. */
  promptEmbeds?: string;
  images: number;
  /** A Hub model's branch, tag or commit (--revision; only with a Hub id). */
  revision?: string;
  /** --offline: a Hub model from the cache only, no request. */
  offline: boolean;
  /** --quantize int8: a diffusers checkpoint converted with int8 nn.Linear weights (its own cache entry). */
  quantize?: "int8";
}

/** The parsed `convert` command: a diffusers checkpoint to the model folder layout. */
export interface ConvertArgs {
  command: "convert";
  /** What `--model` named: a folder path (./, ../ or absolute) or a Hub id (see `modelLocation`). */
  model: string;
  /** --out: the folder to write, absent or empty (checked when the run starts). */
  out: string;
  /** --variant: diffusers' variant of the weights files (`fp16`). */
  variant?: string;
  /** --dtype: the written weights' type. */
  dtype: "fp32" | "fp16";
  /** --quantize int8: the text encoder's and the transformer's nn.Linear weights as int8. */
  quantize?: "int8";
  /** A Hub model's branch, tag or commit (--revision; only with a Hub id). */
  revision?: string;
  /** --offline: a Hub model from the cache only, no request. */
  offline: boolean;
}

export type ParsedArgs = SampleArgs | GenerateArgs | ConvertArgs | { command: "help" } | { command: "version" };

export const USAGE =
  "usage: vq-diffusion generate --prompt TEXT|--prompt-embeds FILE [--model fashion-mnist|./DIR|URL|org/name] [--revision REV] [--offline] [--seed N] [--steps 1-T] [--images 1-64] [--guidance S] [--truncation R] [--spacing linspace|leading|trailing] [--strategy posterior|purity] [--mode reference|fast] [--quantize int8] [--out FILE.png]\n" +
  "       vq-diffusion convert --model ./DIR|org/name --out DIR [--variant fp16] [--dtype fp32|fp16] [--quantize int8] [--revision REV] [--offline]\n" +
  "       vq-diffusion serve [--model M] [--port 8080] [--host 127.0.0.1] [--redis URL] [--concurrency N] [--max-queue N] [--api-key K]  (see vq-diffusion serve --help)\n" +
  "       vq-diffusion worker --redis URL [--model M] [--concurrency N]  (see vq-diffusion worker --help)\n" +
  "       vq-diffusion sample [--seed N] [--steps 1-100] [--batch 1-64] [--label NAME] [--guidance S] [--truncation R] [--mode reference|fast] [--spacing linspace|leading|trailing] [--strategy posterior|purity] [--out FILE.png]";

export const HELP = `${USAGE}

generate: text to images with a VQ-Diffusion model (a model folder in diffusers' layout with ONNX
networks, or a diffusers checkpoint, converted once into the conversion cache), run with
onnxruntime-node; writes a PNG sheet of the images.

  --model M         a model folder (an existing one, first), a bundled model (fashion-mnist, the
                    default), an http(s):// URL of a folder, or a Hugging Face Hub model id org/name
                    (downloaded once into huggingface_hub's cache, shared with Python; HF_ENDPOINT,
                    HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE apply). A
                    diffusers checkpoint (PyTorch or safetensors weights, no transformer/model.onnx)
                    is converted on first use into $HF_ASSETS_CACHE/vq-diffusion (default
                    ~/.cache/huggingface/assets/vq-diffusion; docs/real-checkpoints.md)
  --revision REV    the Hub model's branch, tag or commit (default main)
  --offline         load the Hub model from the cache only, without any request
  --prompt TEXT     the prompt; repeat --prompt for several (each gets --images images)
                    fashion-mnist knows: ${BUNDLED_MODELS["fashion-mnist"].prompts.join(", ")}
  --prompt-embeds F instead of --prompt: a JSON file {"dims": [P, L, D], "data": [...]} of the text
                    encoder's raw output (for a model folder without text_encoder/tokenizer)
  --seed N          generator seed, an integer in [-2^63, 2^64 - 1] (default 0), as
                    torch.Generator().manual_seed(N): a negative seed is taken modulo 2^64
  --steps N         reverse steps, 1 to the model's T (num_train_timesteps; default 100, or T
                    when the model's T is smaller)
  --images N        images per prompt, 1-64 (default 4); each prompt's images form one block of
                    the sheet: one row up to 8, else a grid (16 → 4 × 4), labelled when there
                    are several prompts
  --guidance S      classifier-free guidance scale, a finite number >= 0, on when > 1 (default 5;
                    1 turns it off)
  --truncation R    keep each pixel's most probable codes up to mass R, in (0, 1] (default 1)
  --spacing S       spread the steps over the schedule (linspace, leading, trailing) and jump
                    exactly between them (default: diffusers' last n steps, n-1 ... 0)
  --strategy S      posterior (default) or purity (reveal tokens by confidence)
  --mode M          reference (token-exact with Python) or fast (default reference)
  --quantize int8   convert a diffusers checkpoint with int8 weights in the text encoder's and the
                    transformer's linear layers (faster on a CPU; another model, close to the float
                    one: docs/real-checkpoints.md); a model already in ONNX is loaded as it is
  --out FILE.png    output PNG, created before anything runs (default vq-diffusion.png); it
                    records the run's settings in a PNG text chunk "parameters", as Stable
                    Diffusion tools do

convert: a diffusers checkpoint (a folder, or a Hub model id) to a model folder with ONNX networks,
for browsers or to keep; prints progress on a terminal and the files it wrote with their sizes.

  --model M         a checkpoint folder (a path starting with ./, ../ or /) or a Hub model id
                    org/name (only the weights the conversion reads are downloaded)
  --out DIR         the folder to write: a new path or an empty folder (written atomically: on
                    an error or Ctrl-C nothing is left there)
  --variant V       read diffusers' variant files, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors)
  --dtype T         the written weights' type: fp32 (default), or fp16 (half the bytes: weights
                    rounded to float16, cast back to float32 in the graph)
  --quantize int8   the text encoder's and the transformer's linear-layer weights as int8 with a
                    float32 scale per output column (onnxruntime's DynamicQuantizeMatMul: faster
                    on a CPU); the VQ-VAE's decoder, attention's products and the log-softmax stay float
  --revision REV    the Hub model's branch, tag or commit (default main)
  --offline         read the Hub model from the cache only, without any request

sample: the pixel-art demo (no model files needed).

Samples 16x16 pixel-art images with VQ-Diffusion: the exact posterior of an embedded data set of
${PIXEL_ART_LABELS.length} labels (${PIXEL_ART_LABELS.join(", ")}) as the model, and writes a PNG with
each image's intermediate steps (masked tokens as a grey checker) beside the final image.

  --seed N          generator seed, an integer in [-2^63, 2^64 - 1] (default 0), as
                    torch.Generator().manual_seed(N); the same seed gives the same bytes
  --steps N         reverse steps, 1-100 (default 100)
  --batch N         images, 1-64 (default 4)
  --label NAME      condition on a label's sprites
  --guidance S      classifier-free guidance with --label, on when > 1: the label's posterior
                    pushed away from the whole set's (default 1; values <= 1 turn it off)
  --truncation R    keep each pixel's most probable classes up to mass R, in (0, 1] (default 1)
  --mode M          reference (token-exact with Python) or fast (default reference)
  --spacing S       spread the steps over the schedule (linspace, leading, trailing) and jump
                    exactly between them (default: the reference's last n steps, n-1 ... 0)
  --strategy S      posterior (default) or purity (reveal tokens by confidence)
  --out FILE.png    output PNG, checked before anything runs (default vq-diffusion.png)
  --help            this text

vq-diffusion --version prints the package's version.`;

/** A command-line error: the CLI prints it with the usage line and exits with code 2. */
export class UsageError extends Error {}

/** `text` as an integer in [min, max]; else a usage error naming `name`. */
export function integer(name: string, text: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return v;
}

/** torch.Generator().manual_seed's range: [-2^63, 2^64 - 1]. */
const SEED_MIN = -(1n << 63n);
const SEED_MAX = (1n << 64n) - 1n;

/** A seed as torch takes it (decimal digits, an optional minus), exactly, as a bigint. */
function seed(name: string, text: string): bigint {
  const v = /^-?\d+$/.test(text) ? BigInt(text) : null;
  if (v === null || v < SEED_MIN || v > SEED_MAX) {
    throw new UsageError(`${name}: expected an integer in [${SEED_MIN}, ${SEED_MAX}] (-2^63 to 2^64 - 1, as torch.Generator().manual_seed), got ${JSON.stringify(text)}`);
  }
  return v;
}

function real(name: string, text: string, ok: (v: number) => boolean, what: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || !ok(v)) throw new UsageError(`${name}: expected ${what}, got ${JSON.stringify(text)}`);
  return v;
}

/** `value` if it is one of `allowed`; else a usage error listing them ("a, b or c"). */
function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}` : allowed[0];
  throw new UsageError(`${name}: expected ${list}, got ${JSON.stringify(value)}`);
}

/** Sets a common option (all but --steps, whose range differs); returns false for a name that is not one. */
function commonOption(args: Omit<CommonArgs, "steps">, name: string, value: string): boolean {
  switch (name) {
    case "--seed":
      args.seed = seed(name, value);
      return true;
    case "--guidance":
      args.guidance = real(name, value, (v) => v >= 0, "a finite number >= 0");
      return true;
    case "--truncation":
      args.truncation = real(name, value, (v) => v > 0 && v <= 1, "a number in (0, 1]");
      return true;
    case "--mode":
      args.mode = oneOf(name, value, ["reference", "fast"] as const);
      return true;
    case "--spacing":
      args.spacing = oneOf(name, value, ["linspace", "leading", "trailing"] as const);
      return true;
    case "--strategy":
      args.strategy = oneOf(name, value, ["posterior", "purity"] as const);
      return true;
    case "--out": {
      const problem = outNameProblem(value);
      if (problem !== null) throw new UsageError(`--out: ${problem}`);
      args.out = value;
      return true;
    }
    default:
      return false;
  }
}

/** The flags for settings whose diffusers (Python) or API name differs, keyed by that name in snake_case. */
const PYTHON_NAMES: Readonly<Record<string, string>> = {
  guidance_scale: "--guidance",
  num_inference_steps: "--steps",
  num_images_per_prompt: "--images",
  truncation_rate: "--truncation",
  timestep_spacing: "--spacing",
  batch_size: "--batch",
  local_files_only: "--offline",
  model_id: "--model",
  pretrained_model_name_or_path: "--model",
};

/**
 * The error of a flag the command does not take: the flags it takes, and the one meant where that is
 * clear (diffusers' or the API's name of a setting, in any of snake_case, kebab-case or camelCase; else a flag two letters away).
 */
export function unknownFlag(name: string, flags: readonly string[]): UsageError {
  const snake = name.replace(/^-+/, "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toLowerCase();
  const python = Object.hasOwn(PYTHON_NAMES, snake) && flags.includes(PYTHON_NAMES[snake]) ? PYTHON_NAMES[snake] : undefined;
  const near = python === undefined ? nearestName(name, flags) : undefined;
  const hint = python !== undefined ? ` (diffusers' ${snake} is ${python} here)` : near !== undefined ? ` (did you mean ${near}?)` : "";
  return new UsageError(`${name}: expected one of ${flags.join(", ")}, got ${JSON.stringify(name)}${hint}`);
}

/** Switches: present or absent, no value. */
const FLAGS_WITHOUT_VALUE = ["--offline"];

/** Options that may be given more than once (each adds a value); any other given twice is an error. */
const REPEATABLE = ["--prompt"];

/**
 * Splits `--name value` / `--name=value` pairs (and switches, with the value ""), in order. A name the
 * command does not take is an error listing `flags` (checked before its value, so that an unknown
 * option last on the line is named as such); an option given twice (but --prompt) is an error too.
 */
export function options(argv: readonly string[], flags: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Map<string, string>();
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i];
    const eq = flag.indexOf("=");
    const name = eq > 0 ? flag.slice(0, eq) : flag;
    if (!name.startsWith("--")) throw new UsageError(`argument: expected an option (--name value), got ${JSON.stringify(flag)}`);
    if (!flags.includes(name)) throw unknownFlag(name, flags);
    const switchFlag = FLAGS_WITHOUT_VALUE.includes(name);
    if (switchFlag && eq > 0) throw new UsageError(`${name}: expected no value (a switch), got ${JSON.stringify(flag.slice(eq + 1))}`);
    const value = switchFlag ? "" : eq > 0 ? flag.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${name}: expected a value, got nothing`);
    // `--steps --out x.png`: the next flag is not --steps' value (a value that starts with -- is written --name=value).
    if (eq < 0 && value.startsWith("--")) throw new UsageError(`${name}: expected a value, got the option ${JSON.stringify(value)}`);
    const before = seen.get(name);
    if (before !== undefined && !REPEATABLE.includes(name)) {
      throw new UsageError(`${name}: expected once, got it twice${switchFlag ? "" : ` (${JSON.stringify(before)} and ${JSON.stringify(value)})`}`);
    }
    seen.set(name, value);
    out.push([name, value]);
  }
  return out;
}

const SAMPLE_FLAGS = ["--seed", "--steps", "--batch", "--label", "--guidance", "--truncation", "--mode", "--spacing", "--strategy", "--out", "--help"];
const CONVERT_FLAGS = ["--model", "--out", "--variant", "--dtype", "--quantize", "--revision", "--offline", "--help"];
const GENERATE_FLAGS = [
  "--model", "--prompt", "--prompt-embeds", "--seed", "--steps", "--images", "--guidance", "--truncation", "--mode", "--spacing", "--strategy",
  "--quantize", "--out", "--revision", "--offline", "--help",
];

/**
 * @example
 * ```ts
 * parseArgs(["sample", "--seed", "7"]); // { command: "sample", seed: 7n, steps: 100, ... }
 * ```
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h") || argv[0] === "help") return { command: "help" };
  // --version anywhere (as --help): `generate --version` prints the version, as most tools do.
  if (argv.includes("--version") || (argv.length === 1 && (argv[0] === "-v" || argv[0] === "version"))) return { command: "version" };
  if (argv[0] === "generate") return parseGenerate(argv);
  if (argv[0] === "convert") return parseConvert(argv);
  if (argv[0] !== "sample") throw new UsageError(`command: expected "generate", "convert", "sample", "serve" or "worker", got ${JSON.stringify(argv[0])}`);
  return parseSample(argv);
}

function parseSample(argv: readonly string[]): SampleArgs {
  const args: SampleArgs = { command: "sample", seed: 0n, steps: 100, batch: 4, guidance: 1, truncation: 1, mode: "reference", strategy: "posterior", out: "vq-diffusion.png" };
  for (const [name, value] of options(argv, SAMPLE_FLAGS)) {
    if (commonOption(args, name, value)) continue;
    switch (name) {
      case "--steps":
        args.steps = integer(name, value, 1, 100);
        break;
      case "--batch":
        args.batch = integer(name, value, 1, 64);
        break;
      case "--label":
        if (!PIXEL_ART_LABELS.includes(value)) throw new UsageError(`--label: expected one of ${PIXEL_ART_LABELS.join(", ")}, got ${JSON.stringify(value)}`);
        args.label = value;
        break;
      default:
        throw unknownFlag(name, SAMPLE_FLAGS);
    }
  }
  if (args.guidance > 1 && args.label === undefined) {
    throw new UsageError(`--guidance: expected --label with a guidance scale > 1 (guidance pushes a label's posterior away from the whole set's), got ${args.guidance} without --label`);
  }
  return args;
}

function parseGenerate(argv: readonly string[]): GenerateArgs {
  const args: GenerateArgs = {
    command: "generate", model: "fashion-mnist", prompts: [], seed: 0n, images: 4, guidance: 5,
    truncation: 1, mode: "reference", strategy: "posterior", out: "vq-diffusion.png", offline: false,
  };
  for (const [name, value] of options(argv, GENERATE_FLAGS)) {
    if (commonOption(args, name, value) || hubOption(args, name, value)) continue;
    switch (name) {
      case "--model":
        args.model = modelArgument(name, value);
        break;
      case "--prompt":
        args.prompts.push(value);
        break;
      case "--prompt-embeds":
        if (value === "") throw new UsageError(`--prompt-embeds: expected a JSON file, got ""`);
        args.promptEmbeds = value;
        break;
      case "--steps":
        // The upper bound is the model's T, checked once the model is read (a usage error too, exit code 2).
        if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) throw new UsageError(`${name}: expected an integer in [1, the model's T], got ${JSON.stringify(value)}`);
        args.steps = Number(value);
        break;
      case "--images":
        args.images = integer(name, value, 1, 64);
        break;
      case "--quantize":
        args.quantize = oneOf(name, value, ["int8"] as const);
        break;
      default:
        throw unknownFlag(name, GENERATE_FLAGS);
    }
  }
  checkRevisionWithHub(args);
  if ((args.prompts.length === 0) === (args.promptEmbeds === undefined)) {
    throw new UsageError(`--prompt: expected a prompt (e.g. --prompt "ankle boot") or --prompt-embeds FILE, got ${args.prompts.length === 0 ? "neither" : "both"}`);
  }
  return args;
}

/** --model's value, its form checked (the folder is read when the run starts). */
function modelArgument(name: string, value: string): string {
  try {
    modelLocation(value, name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return value;
}

/** Sets --revision (checked) or --offline, the Hub options generate and convert share; returns false for another flag. */
function hubOption(args: { revision?: string; offline: boolean }, name: string, value: string): boolean {
  if (name === "--offline") {
    args.offline = true;
    return true;
  }
  if (name !== "--revision") return false;
  try {
    args.revision = checkRevision(value);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  return true;
}

/** --revision applies to a Hub model id only. */
function checkRevisionWithHub(args: { revision?: string; model: string }): void {
  if (args.revision !== undefined && modelLocation(args.model, "--model").kind !== "hub") {
    throw new UsageError(`--revision: expected a Hub model id org/name as --model, got --model ${JSON.stringify(args.model)}`);
  }
}

function parseConvert(argv: readonly string[]): ConvertArgs {
  let model: string | undefined;
  let out: string | undefined;
  const args: Omit<ConvertArgs, "model" | "out"> = { command: "convert", dtype: "fp32", offline: false };
  for (const [name, value] of options(argv, CONVERT_FLAGS)) {
    if (hubOption(args, name, value)) continue;
    switch (name) {
      case "--model":
        model = modelArgument(name, value);
        break;
      case "--out":
        if (value === "") throw new UsageError(`--out: expected a folder path, got ""`);
        out = value;
        break;
      case "--variant":
        if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value)) throw new UsageError(`--variant: expected a variant name such as fp16 (letters, digits, "_" and "-"), got ${JSON.stringify(value)}`);
        args.variant = value;
        break;
      case "--dtype":
        args.dtype = oneOf(name, value, ["fp32", "fp16"] as const);
        break;
      case "--quantize":
        args.quantize = oneOf(name, value, ["int8"] as const);
        break;
      default:
        throw unknownFlag(name, CONVERT_FLAGS);
    }
  }
  if (model === undefined) throw new UsageError(`--model: expected a diffusers checkpoint to convert (./DIR or org/name), got nothing`);
  if (out === undefined) throw new UsageError(`--out: expected the folder to write (a new path or an empty folder), got nothing`);
  const parsed: ConvertArgs = { ...args, model, out };
  checkRevisionWithHub(parsed);
  return parsed;
}
