/**
 * One job on a loaded pipeline (the images are encoded with pipeline/png.ts, as the CLI encodes them), exactly as
 * `vq-diffusion generate` runs the same settings: the prompt as a list of one, `n` images per
 * prompt, `torch.Generator().manual_seed(seed)`, posterior strategy, reference mode. So a request
 * and the CLI with the same values give the same pixels, and PNG encoding the same bytes.
 */
import type { VQDiffusionPipeline } from "../pipeline/vqDiffusionPipeline.js";
import { TorchGenerator } from "../random/torchGenerator.js";
import { encodePng } from "../pipeline/png.js";
import { describe } from "../errors.js";
import { parseImagesRequest, type ImagesJob, type ServedModel } from "./imagesRequest.js";
import type { ImagesResult, RunOptions } from "./generationQueue.js";

/** The message prefix of a refused job: the worker serves another model (the server names `model`). */
export const MODEL_REFUSED = "model: ";

/**
 * Refuses a job for another model than `served` (its id, revision or image size).
 *
 * @throws Error starting with `model: ` that names both models.
 *
 * @example
 * ```ts
 * checkJobModel({ ...job, model: "org/other" }, served); // throws 'model: this worker serves "fashion-mnist" (…), got a job for "org/other" (…)'
 * ```
 */
export function checkJobModel(job: ImagesJob, served: ServedModel): void {
  const size = `${served.width}x${served.height}`;
  if (job.model === served.id && job.revision === served.revision && job.size === size) return;
  const what = (id: string, revision: string | null, s: string) => `${JSON.stringify(id)} (revision ${revision ?? "default"}, ${s})`;
  throw new Error(`${MODEL_REFUSED}this worker serves ${what(served.id, served.revision, size)}, got a job for ${what(job.model, job.revision, job.size)}`);
}

/**
 * A job as read from the queue (Redis holds what anyone with access to it wrote): refused unless it
 * is for `served` ({@link checkJobModel}) and within the request's bounds (`parseImagesRequest`'s, the
 * same messages naming the request's field).
 *
 * @param data - BullMQ's `job.data`.
 * @returns the job, rebuilt from its checked fields (any other key dropped).
 * @throws Error: `job: expected an object …`; the refusal of another model; `steps: expected …` and the like.
 *
 * @example
 * ```ts
 * checkQueuedJob({ ...job, steps: 1e9 }, served); // throws "steps: expected an integer in [1, 100], got 1000000000"
 * ```
 */
export function checkQueuedJob(data: unknown, served: ServedModel): ImagesJob {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error(`job: expected the object a server queued, got ${describe(data)}`);
  const d = data as Record<string, unknown>;
  checkJobModel(d as unknown as ImagesJob, served);
  const body = { prompt: d.prompt, n: d.n, seed: d.seed, steps: d.steps, guidance_scale: d.guidanceScale, truncation_rate: d.truncationRate, timestep_spacing: d.timestepSpacing };
  return parseImagesRequest(body, served).job;
}

/**
 * Runs a job: checks it is for `served`, generates, checks the images' size, encodes them.
 *
 * @param pipe - the loaded pipeline of `served`.
 * @param onWarning - receives the run's warnings (unknown words, a prompt cut to L tokens).
 * @returns `n` base64 PNG files.
 * @throws the refusal of {@link checkJobModel}; the pipeline's errors; an `AbortError` when `signal` aborts.
 *
 * @example
 * ```ts
 * const { images } = await runImagesJob(pipe, served, job, { onProgress: ({ step, totalSteps }) => console.log(step, totalSteps) });
 * ```
 */
export async function runImagesJob(
  pipe: VQDiffusionPipeline,
  served: ServedModel,
  job: ImagesJob,
  { signal, onProgress }: RunOptions,
  onWarning?: (message: string) => void,
): Promise<ImagesResult> {
  checkJobModel(job, served);
  const { images } = await pipe.generate({
    prompt: [job.prompt],
    numImagesPerPrompt: job.n,
    numInferenceSteps: job.steps,
    guidanceScale: job.guidanceScale,
    truncationRate: job.truncationRate,
    generator: new TorchGenerator().manualSeed(job.seed),
    timestepSpacing: job.timestepSpacing ?? undefined,
    strategy: "posterior",
    mode: "reference",
    signal,
    onWarning,
    onStep: onProgress === undefined ? undefined : ({ step }) => onProgress({ step: step + 1, totalSteps: job.steps }),
  });
  const wrong = images.find((im) => im.width !== served.width || im.height !== served.height);
  if (wrong !== undefined) {
    throw new Error(`vqvae_decoder/model.onnx: expected images of ${served.width}x${served.height} (vqvae/config.json), got ${wrong.width}x${wrong.height}`);
  }
  return { images: await Promise.all(images.map(async (im) => Buffer.from(await encodePng(im)).toString("base64"))) };
}
