// npm run quality: sample quality against the number of steps, with the exact-posterior denoiser,
// for three ways to take fewer steps: the reference's spacing (n − 1 … 0: only the schedule's last n
// steps), linspace with the exact multi-step posterior, and linspace with purity sampling.
// Quality: the fraction of samples equal to a data-set image, and the chi-square p-value of the
// matched samples' proportions against the data's (uniform) weights.
import { createDatasetDenoiser, TorchGenerator, VQDiffusionSampler, VQDiffusionScheduler } from "../dist/index.js";
import { PIXEL_ART, PIXEL_ART_NUM_CLASSES } from "../dist/demo/index.js";

/** Pearson's chi-square p-value (regularised upper incomplete gamma), categories with expectation ≥ 5. */
function chiSquareP(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const e = total / counts.length;
  const stat = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
  const df = counts.length - 1;
  return gammaQ(df / 2, stat / 2);
}
function gammaQ(a, x) {
  const lg = (z) => {
    const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    z -= 1;
    let s = c[0];
    for (let i = 1; i < 9; i++) s += c[i] / (z + i);
    const t = z + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
  };
  if (x < a + 1) {
    let sum = 1 / a, term = sum;
    for (let n = 1; n < 1000 && Math.abs(term) > 1e-16 * Math.abs(sum); n++) sum += (term *= x / (a + n));
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lg(a));
  }
  let b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = 1 / (an * d + b || 1e-300);
    c = b + an / c || 1e-300;
    h *= d * c;
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - lg(a)) * h;
}

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
      cells.push(matched === 0 ? "0.000 (no match)" : `${(matched / data.samples).toFixed(3)} (p = ${chiSquareP(counts).toFixed(3)})`);
    }
    console.log([steps, ...cells].join(" | "));
  }
}
