// The Fashion-MNIST evaluation classifier (models/fashion-mnist-eval, trained by tools/train's first recipe on the
// training split): images in [0, 1] → predicted class and the 128 penultimate features. Used by the
// statistical test and by the quality table.
import { readFileSync } from "node:fs";
import { FASHION_MNIST_PROMPTS } from "../../dist/demo/index.js";

export const EVAL_DIR = new URL("../../models/fashion-mnist-eval/", import.meta.url);
/** Class names in label order: the bundled model's prompts (src/demo/fashionMnist.ts). */
export const CLASS_NAMES = FASHION_MNIST_PROMPTS;
export const FEATURES = 128;

/** Grey pixels in [0, 1], [n, 784], from RGBA images (the R channel). */
export function imagesToUnit(images) {
  const out = new Float32Array(images.length * 784);
  images.forEach((im, i) => {
    for (let p = 0; p < 784; p++) out[i * 784 + p] = im.data[4 * p] / 255;
  });
  return out;
}

/** Loads the classifier with the given onnxruntime module. */
export async function loadClassifier(ort) {
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(new URL("classifier.onnx", EVAL_DIR))));
  return {
    /** pixels: [n, 784] in [0, 1] → { labels: Int32Array [n], features: Float32Array [n, 128] }. */
    async classify(pixels, n) {
      const labels = new Int32Array(n);
      const features = new Float32Array(n * FEATURES);
      for (let start = 0; start < n; start += 500) {
        const m = Math.min(500, n - start);
        const input = new ort.Tensor("float32", pixels.subarray(start * 784, (start + m) * 784), [m, 1, 28, 28]);
        const out = await session.run({ images: input });
        const logits = out.logits.data;
        for (let i = 0; i < m; i++) {
          let best = 0;
          for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
          labels[start + i] = best;
        }
        features.set(out.features.data, start * FEATURES);
      }
      return { labels, features };
    },
  };
}

/** The VQ-VAE tokens of the 10 000 test images, [10000, 49] (uint8): the bundled model's, or another file's. */
export function readTestTokens(file = new URL("test-tokens.bin", EVAL_DIR)) {
  return new Uint8Array(readFileSync(file));
}
