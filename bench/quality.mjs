// npm run bench -- quality --pixel-art: sample quality against the number of steps, with the exact-posterior denoiser,
// for three ways to take fewer steps: the reference's spacing (n − 1 … 0: only the schedule's last n
// steps), linspace with the exact multi-step posterior, and linspace with purity sampling.
// Quality: the fraction of samples equal to a data-set image, and the chi-square p-value of the
// matched samples' proportions against the data's (uniform) weights (categories expected fewer than
// 5 times pooled, as in the tests).
import { createDatasetDenoiser, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../dist/index.js";
import { PIXEL_ART, PIXEL_ART_NUM_CLASSES } from "../dist/demo/index.js";
import { chiSquareTest } from "../test/helpers/chiSquare.mjs";

function binaryCodes(M, N, seed) {
  const u = new TorchGenerator().manualSeed(seed).rand([M * N * 4]).data;
  const set = new Map();
  for (let i = 0; set.size < M; i++) {
    const img = Array.from({ length: N }, (_, n) => (u[(i * N + n) % u.length] < 0.5 ? 0 : 1));
    set.set(img.join(""), img);
  }
  return [...set.values()];
}

const datasets = [
  { name: "pixel art: 18 sprites, K = 21, N = 256", K: PIXEL_ART_NUM_CLASSES, images: PIXEL_ART.map((s) => Array.from(s.tokens)), samples: 256 },
  { name: "binary codes: 32 random 16-pixel images, K = 3", K: 3, images: binaryCodes(32, 16, 1), samples: 1024 },
];
const methods = [
  { name: "reference spacing", options: {} },
  { name: "linspace, exact jump", options: { timestepSpacing: "linspace" } },
  { name: "linspace, purity", options: { timestepSpacing: "linspace", strategy: "purity" } },
];

for (const data of datasets) {
  const scheduler = new VQDiffusionScheduler({ numVecClasses: data.K });
  const sampler = new VQDiffusionSampler({ scheduler, denoiser: createDatasetDenoiser({ scheduler, images: data.images }) });
  const N = data.images[0].length;
  const index = new Map(data.images.map((img, m) => [img.join(","), m]));
  console.log(`\n${data.name}; ${data.samples} samples per cell: fraction equal to a data-set image (chi-square p of their proportions)`);
  console.log(["steps", ...methods.map((m) => m.name)].join(" | "));
  for (const steps of [100, 50, 25, 10]) {
    const cells = [];
    for (const method of methods) {
      const { tokens } = await sampler.sample({ batchSize: data.samples, numLatentPixels: N, numInferenceSteps: steps, generator: new TorchGenerator().manualSeed(steps), ...method.options });
      const counts = new Array(data.images.length).fill(0);
      let matched = 0;
      for (let b = 0; b < data.samples; b++) {
        const m = index.get(Array.from(tokens.data.subarray(b * N, (b + 1) * N)).join(","));
        if (m !== undefined) {
          counts[m]++;
          matched++;
        }
      }
      const fit = chiSquareTest(counts, counts.map(() => 1 / counts.length));
      const fraction = (matched / data.samples).toFixed(3);
      cells.push(matched === 0 ? "0.000 (no match)" : fit.df < 1 ? `${fraction} (too few to test)` : `${fraction} (p = ${fit.p.toFixed(3)})`);
    }
    console.log([steps, ...cells].join(" | "));
  }
}
