/**
 * `POST /v1/images/generations`: OpenAI's request body (https://platform.openai.com/docs/api-reference/images/create)
 * checked field by field and turned into an {@link ImagesJob}, before anything is queued. OpenAI's
 * fields keep OpenAI's names and meaning (`prompt`, `model`, `n`, `size`, `response_format`, `user`,
 * `stream`); the model's own settings come as extra fields with diffusers' names (`seed`, `steps`,
 * `guidance_scale`, `truncation_rate`, `timestep_spacing`), with the CLI's defaults, so that a request
 * and `vq-diffusion generate` with the same values give the same images. Every refusal is an
 * {@link ApiError} naming the parameter.
 */
import { describe } from "../errors.js";
import { nearestName } from "../optionKeys.js";
import { ApiError } from "./apiError.js";

/** The bounds of one request (each refusal names the bound). */
export const SERVE_LIMITS = {
  /** The request body, in bytes (a prompt of 1 000 characters of 4 UTF-8 bytes each fits in 4 KiB). */
  maxBodyBytes: 16 * 1024,
  /** `n`, images per request (OpenAI's limit for dall-e-2). */
  maxImages: 10,
  /** `prompt`, in characters (Unicode code points; OpenAI's limit for dall-e-2). */
  maxPromptChars: 1000,
} as const;

/** The model a server serves, as requests see it. */
export interface ServedModel {
  /** What `--model` named (`fashion-mnist`, `org/name`, a folder): the `model` of requests and jobs. */
  readonly id: string;
  /** The Hub revision (`--revision`), or null. */
  readonly revision: string | null;
  /** The images' size in pixels (`size` must be `${width}x${height}`). */
  readonly width: number;
  readonly height: number;
  /** T, the model's num_train_timesteps: `steps` is in [1, T]. */
  readonly numTrainTimesteps: number;
}

/** diffusers' `timestep_spacing` values. */
export type TimestepSpacingName = "linspace" | "leading" | "trailing";

/**
 * One generation, as it travels through a queue (plain JSON: BullMQ stores it in Redis). The model's
 * id and revision are part of it: a worker serving another model refuses it.
 */
export interface ImagesJob {
  readonly model: string;
  readonly revision: string | null;
  /** `${width}x${height}`: a worker whose decoder gives another size refuses the job. */
  readonly size: string;
  readonly prompt: string;
  /** Images, prompt-major (the CLI's `--images`). */
  readonly n: number;
  /** `torch.Generator().manual_seed(seed)` (the CLI's `--seed`). */
  readonly seed: number;
  /** Reverse steps, in [1, T] (the CLI's `--steps`). */
  readonly steps: number;
  readonly guidanceScale: number;
  readonly truncationRate: number;
  readonly timestepSpacing: TimestepSpacingName | null;
}

/** A checked request: the job, and whether the client asked for Server-Sent Events. */
export interface ImagesRequest {
  readonly job: ImagesJob;
  /** `stream: true`: progress and images as Server-Sent Events instead of one JSON body. */
  readonly stream: boolean;
}

/** The fields a request may carry; any other is refused by name (a misspelt setting must not fall back to its default). */
const FIELDS = [
  "prompt", "model", "n", "size", "response_format", "user", "stream",
  "seed", "steps", "guidance_scale", "truncation_rate", "timestep_spacing",
] as const;

/** Other names of a setting (diffusers' argument names, the CLI's flags), for the hint of an unknown field. */
const ALIASES: Readonly<Record<string, string>> = {
  num_inference_steps: "steps",
  num_images_per_prompt: "n",
  guidance: "guidance_scale",
  truncation: "truncation_rate",
  spacing: "timestep_spacing",
  images: "n",
  generator: "seed",
};

/** A value for messages: JSON for short ones, the kind for long ones. */
function got(value: unknown): string {
  return typeof value === "string" && value.length > 60 ? `a string of ${value.length} characters` : describe(value);
}

/** An integer field in [min, max], or `fallback` when absent or null. */
function integerField(body: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) throw ApiError.invalid(name, `an integer in [${min}, ${max}]`, got(v));
  return v;
}

/** A finite number field passing `ok`, or `fallback` when absent or null. */
function numberField(body: Record<string, unknown>, name: string, ok: (v: number) => boolean, what: string, fallback: number): number {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw ApiError.invalid(name, what, got(v));
  return v;
}

/**
 * Checks a request body and returns the job it asks for.
 *
 * Defaults are the CLI's (`seed` 0, `steps` min(100, T), `guidance_scale` 5, `truncation_rate` 1,
 * diffusers' last-n spacing) and OpenAI's (`n` 1, `size` the model's, `response_format` b64_json:
 * the only one, as the server keeps no files to give URLs of).
 *
 * @param body - the parsed JSON body (any value: it comes from a stranger).
 * @throws ApiError 400 naming the field: not an object, an unknown field, a missing or empty prompt,
 *   a value of the wrong type or outside its bounds ({@link SERVE_LIMITS}, [1, T] for `steps`), a
 *   size that is not the model's; 404 `model_not_found` for a `model` this server does not serve.
 *
 * @example
 * ```ts
 * const model = { id: "fashion-mnist", revision: null, width: 28, height: 28, numTrainTimesteps: 100 };
 * parseImagesRequest({ prompt: "sneaker", n: 2, seed: 7, steps: 20 }, model).job;
 * // { model: "fashion-mnist", revision: null, size: "28x28", prompt: "sneaker", n: 2, seed: 7, steps: 20,
 * //   guidanceScale: 5, truncationRate: 1, timestepSpacing: null }
 * ```
 */
export function parseImagesRequest(body: unknown, model: ServedModel): ImagesRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, { message: `body: expected a JSON object, got ${got(body)}`, type: "invalid_request_error", param: null, code: "invalid_json" });
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if ((FIELDS as readonly string[]).includes(key)) continue;
    const meant = Object.hasOwn(ALIASES, key) ? ALIASES[key] : nearestName(key, FIELDS);
    throw ApiError.invalid(key, `one of ${FIELDS.join(", ")}`, `the unknown field ${JSON.stringify(key)}${meant ? ` (did you mean ${meant}?)` : ""}`, "unknown_parameter");
  }

  const prompt = b.prompt;
  const promptWhat = `a string of 1 to ${SERVE_LIMITS.maxPromptChars} characters`;
  if (prompt === undefined || prompt === null) throw ApiError.missing("prompt", promptWhat);
  if (typeof prompt !== "string") throw ApiError.invalid("prompt", promptWhat, got(prompt));
  const chars = [...prompt].length;
  if (chars < 1 || chars > SERVE_LIMITS.maxPromptChars) throw ApiError.invalid("prompt", promptWhat, chars === 0 ? `""` : `a string of ${chars} characters`);

  if (b.model !== undefined && b.model !== null && b.model !== model.id) {
    throw new ApiError(404, {
      message: `model: expected ${JSON.stringify(model.id)} (the model this server serves), got ${got(b.model)}`,
      type: "invalid_request_error", param: "model", code: "model_not_found",
    });
  }
  const size = `${model.width}x${model.height}`;
  if (b.size !== undefined && b.size !== null && b.size !== size) {
    throw ApiError.invalid("size", `${JSON.stringify(size)} (the model's size)`, got(b.size));
  }
  if (b.response_format !== undefined && b.response_format !== null && b.response_format !== "b64_json") {
    throw ApiError.invalid("response_format", `"b64_json" (the server keeps no files to give URLs of)`, got(b.response_format));
  }
  if (b.user !== undefined && b.user !== null && typeof b.user !== "string") throw ApiError.invalid("user", "a string", got(b.user));
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== "boolean") throw ApiError.invalid("stream", "true or false", got(b.stream));
  const spacing = b.timestep_spacing;
  if (spacing !== undefined && spacing !== null && spacing !== "linspace" && spacing !== "leading" && spacing !== "trailing") {
    throw ApiError.invalid("timestep_spacing", `"linspace", "leading" or "trailing"`, got(spacing));
  }
  const T = model.numTrainTimesteps;
  const job: ImagesJob = {
    model: model.id,
    revision: model.revision,
    size,
    prompt,
    n: integerField(b, "n", 1, SERVE_LIMITS.maxImages, 1),
    seed: integerField(b, "seed", 0, Number.MAX_SAFE_INTEGER, 0),
    steps: integerField(b, "steps", 1, T, Math.min(100, T)),
    guidanceScale: numberField(b, "guidance_scale", (v) => v >= 0, "a finite number >= 0", 5),
    truncationRate: numberField(b, "truncation_rate", (v) => v > 0 && v <= 1, "a number in (0, 1]", 1),
    timestepSpacing: (spacing ?? null) as TimestepSpacingName | null,
  };
  return { job, stream: b.stream === true };
}
