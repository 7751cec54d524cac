/**
 * The package's size limits, in one place. Sizes are untrusted input (they come from configs, model
 * folders and requests), so every allocation sized by them is checked against these first, with an
 * Error naming the argument, instead of an engine RangeError, a wrapped token or an exhausted process.
 *
 * They admit the published ITHQ model (K = 4097 classes, N = 1024 latent pixels, T = 100 timesteps,
 * prompts of L = 77 tokens of D = 512) with room of 16× or more on each axis.
 */
export const LIMITS = {
  /** K, classes with the mask (tokens stay exact in Int32Array and float32 indices). */
  maxNumVecClasses: 65_537,
  /** T, training timesteps. */
  maxNumTrainTimesteps: 10_000,
  /** N, latent pixels per image. */
  maxLatentPixels: 65_536,
  /** B, images in one sampler run. */
  maxBatch: 65_536,
  /** B·N, tokens in one sampler run (the kernels' workspace grows with it). */
  maxTokens: 2 ** 24,
  /** Elements of one float32 tensor the package allocates (B·K·N for a one-hot, `rand`): 1 GiB. */
  maxTensorElements: 2 ** 28,
  /**
   * The largest magnitude of a pixel's largest log-probability (2^24). The posterior is unchanged by
   * adding a constant to one pixel's log-probabilities, so only differences matter; but the step
   * works in absolute values (as the reference does), and at 2^24 the float64 rounding of a logit is
   * still under 1e-8, far inside the kernels' margins. Beyond about 1e15 it reaches 1 and tokens
   * would silently follow rounding instead of the model. Values below the pixel's maximum may be any
   * finite number or −inf (−1e30 or −3.4e38 as "impossible" are fine).
   */
  maxLogProbabilityMagnitude: 2 ** 24,
} as const;

/**
 * Bounds on the sizes only a model folder has, beside the package's `LIMITS` (K, N, T), which bound
 * those read here too. They admit the published ITHQ model (L = 77, D = 512) with room of 16× or
 * more, and refuse the sizes that would only exhaust memory.
 */
export const PIPELINE_LIMITS = {
  /** L, prompt tokens. */
  maxSequenceLength: 4_096,
  /** D, the prompt embedding's width. */
  maxEmbeddingDim: 16_384,
  /** B = prompts × images per prompt, in one generation (the transformer's output is [2B, K-1, N] floats). */
  maxBatch: 1_024,
  /** A JSON file of the folder (configs, model_index.json, tokenizer files). */
  maxJsonBytes: 64 * 1024 * 1024,
  /** A safetensors file (the null embeddings: L·D floats and a header). */
  maxSafetensorsBytes: 1024 * 1024 * 1024,
  /** An `.onnx` file (protobuf's own limit is 2 GiB; larger weights go in external data files). */
  maxOnnxBytes: 2 ** 31 - 1,
  /** The bytes one ONNX model places in external data files, all files together (ITHQ's transformer: 5.4 GB in fp32). */
  maxExternalDataBytes: 2 ** 37,
  /** External data files of one ONNX model (torch's exporter writes one per weight: 1 087 for ITHQ). */
  maxExternalDataFiles: 65_536,
} as const;
