// Fashion-MNIST's IDX files from Debian's dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const DIR = process.env.FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist";

/** { pixels: Float32Array [n, 784] in [0, 1], labels: Int32Array [n] } of "train" or "t10k". */
export function readFashionMnist(split) {
  let images;
  let labels;
  try {
    images = gunzipSync(readFileSync(`${DIR}/${split}-images-idx3-ubyte.gz`));
    labels = gunzipSync(readFileSync(`${DIR}/${split}-labels-idx1-ubyte.gz`));
  } catch (e) {
    throw new Error(`Fashion-MNIST: expected ${DIR} (apt-get install -y dataset-fashion-mnist), got ${e.message}`);
  }
  const n = images.readUInt32BE(4);
  const pixels = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) pixels[i] = images[16 + i] / 255;
  return { pixels, labels: Int32Array.from(labels.subarray(8, 8 + n)), n };
}
