// npm run bench -- quality: the Fashion-MNIST model (models/fashion-mnist) against steps,
// spacing/strategy and guidance. Per cell, `--per-prompt` samples (default 100) for each of the 10
// prompts: the Fréchet distance between the evaluation classifier's penultimate features of the
// samples and of the 10 000 test images, and the fraction of samples the classifier assigns to the
// prompted class, and the share of samples with a detached blob (a bright speck apart from the garment:
// test/helpers/detachedBlob.mjs). Reference rows: the classifier's test accuracy, the test images'
// detached-blob rate, the distance of as many training images as samples per cell, and of the VQ-VAE's
// reconstructions of the test images.
//
//   node bench/qualityFashion.mjs [--per-prompt 100] [--steps 100,50,25,10] [--guidance 1,5]
//                                 [--methods reference,linspace,purity] [--model DIR] [--json]
//                                 [--tokens FILE] [--threads N] [--test-tokens FILE] [--held-out DIR]
// Held-out row: where the model folder's prompts.json lists held_out prompts (docs/model-folder.md; prompts
// kept out of training, e.g. "the boot" for ankle boot), or --held-out DIR's (another model folder's
// prompts.json, to put a model without them through the same prompts), one more cell per guidance at the first --steps
// value, reference spacing: about as many samples as a cell (10 · per-prompt, spread over the held-out
// prompts), the fraction classified as each prompt's class, their Fréchet distance and detached-blob rate.
// --tokens FILE: where FILE does not exist, every cell's final tokens are written to it (JSON); where it
// does, each row gets `agreement`, the share of final tokens equal to FILE's in the same cell (same
// seeds): for an int8 or fp16 export against the float32 one.
// Needs Debian's dataset-fashion-mnist (the test images) and a build (npm run build).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { readModelVocabulary, TorchGenerator } from "../dist/index.js";
import { directorySource, VQDiffusionPipeline } from "../dist/node.js";
import { CLASS_NAMES, FEATURES, imagesToUnit, loadClassifier, readTestTokens } from "../test/helpers/fashionEval.mjs";
import { hasDetachedBlob } from "../test/helpers/detachedBlob.mjs";
import { frechetBetween, frechetDistance, meanAndCovariance } from "../test/helpers/frechet.mjs";
import { readFashionMnist } from "./fashionMnistData.mjs";

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
}
const perPrompt = Number(flag("per-prompt", "100"));
const stepsList = flag("steps", "100,50,25,10").split(",").map(Number);
const guidances = flag("guidance", "1,5").split(",").map(Number);
const asJson = process.argv.includes("--json");
const CHUNK = 20; // images per prompt per generate call (B = 200)

const methods = [
  { key: "reference", name: "reference spacing", options: {} },
  { key: "linspace", name: "linspace, exact jump", options: { timestepSpacing: "linspace" } },
  { key: "purity", name: "linspace, purity", options: { timestepSpacing: "linspace", strategy: "purity" } },
].filter((m) => flag("methods", "reference,linspace,purity").split(",").includes(m.key));

// --model: another export of the same model (e.g. its int8 or fp16 folder), for the quality of quantized weights
// --threads: onnxruntime's intra-op threads (default: its own choice), e.g. 1 to run two models side by side
const threads = flag("threads", undefined);
const pipe = await VQDiffusionPipeline.fromPretrained(flag("model", new URL("../models/fashion-mnist", import.meta.url).pathname),
  threads === undefined ? {} : { sessionOptions: { intraOpNumThreads: Number(threads), interOpNumThreads: 1 } });
// Held-out prompts (prompts.json's held_out): the intended class is the class that lists them.
const heldOutDir = flag("held-out", undefined);
const heldOutVocabulary = heldOutDir === undefined ? pipe.vocabulary : await readModelVocabulary(directorySource(heldOutDir));
if (heldOutDir !== undefined && heldOutVocabulary === null) throw new Error(`--held-out: expected a model folder with a prompts.json, got ${heldOutDir} without one`);
const heldOut = (heldOutVocabulary?.classes ?? []).flatMap((c) => c.heldOut.map((prompt) => ({ prompt, label: CLASS_NAMES.indexOf(c.name) })));
if (heldOut.some((h) => h.label < 0)) throw new Error(`prompts.json: expected held_out prompts under the class names ${CLASS_NAMES.join(", ")}`);
const classifier = await loadClassifier(ort);
const test = readFashionMnist("t10k");
const testEval = await classifier.classify(test.pixels, test.n);
const testStats = meanAndCovariance(testEval.features, test.n, FEATURES);
const fdTo = (features, n) => {
  const s = meanAndCovariance(features, n, FEATURES);
  return frechetDistance(s.mean, s.cov, testStats.mean, testStats.cov, FEATURES);
};

const reference = [];
let correct = 0;
for (let i = 0; i < test.n; i++) if (testEval.labels[i] === test.labels[i]) correct++;
reference.push({ row: "classifier accuracy on the 10 000 test images", value: correct / test.n });
let testBlobs = 0;
const testGrey = Uint8Array.from(test.pixels, (v) => Math.round(v * 255)); // readFashionMnist scales to [0, 1]
for (let i = 0; i < test.n; i++) if (hasDetachedBlob(testGrey.subarray(i * 784, (i + 1) * 784), 28, 28)) testBlobs++;
reference.push({ row: "detached-blob rate of the 10 000 test images", value: testBlobs / test.n });
/** The share of RGBA images with a detached blob (their red channel is the grey image). */
function blobRate(images) {
  let blobs = 0;
  for (const image of images) {
    const grey = new Uint8Array(image.width * image.height);
    for (let p = 0; p < grey.length; p++) grey[p] = image.data[4 * p];
    if (hasDetachedBlob(grey, image.width, image.height)) blobs++;
  }
  return blobs;
}
const train = readFashionMnist("train");
// As many training images as samples per cell: the distance's small-sample bias is then the same.
const trainN = 10 * perPrompt;
const trainEval = await classifier.classify(train.pixels.subarray(0, trainN * 784), trainN);
reference.push({ row: `Fréchet distance: ${trainN} training images`, value: fdTo(trainEval.features, trainN) });
// --test-tokens FILE: the test set's codes under another model's VQ-VAE (tools/train/recipe.py writes DIR/eval/test-tokens.bin)
const tokens = readTestTokens(flag("test-tokens", undefined));
const recon = [];
for (let start = 0; start < test.n; start += 500) {
  const data = Int32Array.from(tokens.subarray(start * 49, (start + 500) * 49));
  recon.push(...(await pipe.decode({ data, dims: [500, 49] })));
}
const reconEval = await classifier.classify(imagesToUnit(recon), test.n);
reference.push({ row: "Fréchet distance: VQ-VAE reconstructions of the 10 000 test images", value: fdTo(reconEval.features, test.n) });
let reconCorrect = 0;
for (let i = 0; i < test.n; i++) if (reconEval.labels[i] === test.labels[i]) reconCorrect++;
reference.push({ row: "classifier accuracy on the reconstructions", value: reconCorrect / test.n });
if (asJson) for (const r of reference) console.log(JSON.stringify(r));

const tokensFile = flag("tokens", undefined);
const savedTokens = tokensFile && existsSync(tokensFile) ? JSON.parse(readFileSync(tokensFile, "utf8")) : undefined;
const cellTokens = {};
const rows = [];
for (const guidance of guidances) {
  for (const steps of stepsList) {
    for (const method of methods) {
      const started = performance.now();
      const generator = new TorchGenerator().manualSeed(1000 * guidance + steps);
      const features = new Float32Array(10 * perPrompt * FEATURES);
      const cellKey = `${guidance}/${steps}/${method.key}`;
      const finalTokens = new Uint8Array(10 * perPrompt * 49);
      let hits = 0;
      let blobs = 0;
      let n = 0;
      for (let done = 0; done < perPrompt; done += CHUNK) {
        const I = Math.min(CHUNK, perPrompt - done);
        const { images, tokens } = await pipe.generate({ prompt: CLASS_NAMES, numImagesPerPrompt: I, numInferenceSteps: steps, guidanceScale: guidance, generator, ...method.options });
        const out = await classifier.classify(imagesToUnit(images), images.length);
        for (let b = 0; b < images.length; b++) if (out.labels[b] === Math.floor(b / I)) hits++;
        blobs += blobRate(images);
        features.set(out.features, n * FEATURES);
        finalTokens.set(tokens.data, n * 49);
        n += images.length;
      }
      const row = { guidance, steps, method: method.name, samples: n, frechet: fdTo(features, n), accuracy: hits / n, blobs: blobs / n, seconds: (performance.now() - started) / 1000 };
      cellTokens[cellKey] = Buffer.from(finalTokens).toString("base64");
      if (savedTokens?.[cellKey] !== undefined) {
        const other = Buffer.from(savedTokens[cellKey], "base64");
        let equal = 0;
        for (let i = 0; i < finalTokens.length; i++) if (other[i] === finalTokens[i]) equal++;
        row.agreement = equal / finalTokens.length;
      }
      rows.push(row);
      if (asJson) console.log(JSON.stringify(row));
      else console.error(`guidance ${guidance}, ${steps} steps, ${method.name}: FD ${row.frechet.toFixed(2)}, accuracy ${row.accuracy.toFixed(3)}, detached blobs ${row.blobs.toFixed(3)}${row.agreement === undefined ? "" : `, tokens equal to --tokens' ${row.agreement.toFixed(4)}`} (${row.seconds.toFixed(0)} s)`);
    }
  }
}

const heldRows = [];
if (heldOut.length > 0) {
  const each = Math.max(1, Math.round((10 * perPrompt) / heldOut.length));
  for (const guidance of guidances) {
    const steps = stepsList[0];
    const started = performance.now();
    const generator = new TorchGenerator().manualSeed(1000 * guidance + steps + 7);
    const features = new Float32Array(heldOut.length * each * FEATURES);
    let hits = 0;
    let blobs = 0;
    let n = 0;
    for (let done = 0; done < each; done += CHUNK) {
      const I = Math.min(CHUNK, each - done);
      const { images } = await pipe.generate({ prompt: heldOut.map((h) => h.prompt), numImagesPerPrompt: I, numInferenceSteps: steps, guidanceScale: guidance, generator });
      const out = await classifier.classify(imagesToUnit(images), images.length);
      for (let b = 0; b < images.length; b++) if (out.labels[b] === heldOut[Math.floor(b / I)].label) hits++;
      blobs += blobRate(images);
      features.set(out.features, n * FEATURES);
      n += images.length;
    }
    const row = { guidance, steps, method: `held-out prompts (${heldOut.length}), reference spacing`, samples: n, frechet: fdTo(features, n), accuracy: hits / n, blobs: blobs / n, seconds: (performance.now() - started) / 1000 };
    heldRows.push(row);
    if (asJson) console.log(JSON.stringify(row));
    else console.error(`guidance ${guidance}, ${steps} steps, ${row.method}: FD ${row.frechet.toFixed(2)}, accuracy ${row.accuracy.toFixed(3)}, detached blobs ${row.blobs.toFixed(3)} (${row.seconds.toFixed(0)} s)`);
  }
}

if (tokensFile && !savedTokens) writeFileSync(tokensFile, JSON.stringify(cellTokens));

if (!asJson) {
  console.log(`\nFashion-MNIST model, ${10 * perPrompt} samples per cell (${perPrompt} per prompt): Fréchet distance to the test set (lower is better) / fraction assigned to the prompted class / detached-blob rate\n`);
  for (const guidance of guidances) {
    console.log(`guidance ${guidance}:\n`);
    console.log(`| steps | ${methods.map((m) => m.name).join(" | ")} |`);
    console.log(`| --- | ${methods.map(() => "---").join(" | ")} |`);
    for (const steps of stepsList) {
      const cells = methods.map((m) => rows.find((r) => r.guidance === guidance && r.steps === steps && r.method === m.name));
      console.log(`| ${steps} | ${cells.map((c) => `${c.frechet.toFixed(2)} / ${c.accuracy.toFixed(3)} / ${c.blobs.toFixed(3)}`).join(" | ")} |`);
    }
    console.log("");
  }
  if (heldRows.length > 0) {
    console.log(`held-out prompts (prompts.json's held_out, not trained on: ${heldOut.map((h) => JSON.stringify(h.prompt)).join(", ")}), ${stepsList[0]} steps, reference spacing:\n`);
    console.log("| guidance | samples | Fréchet distance | fraction classified as the prompt's class | detached-blob rate |\n| --- | --- | --- | --- | --- |");
    for (const r of heldRows) console.log(`| ${r.guidance} | ${r.samples} | ${r.frechet.toFixed(2)} | ${r.accuracy.toFixed(3)} | ${r.blobs.toFixed(3)} |`);
    console.log("");
  }
  console.log("| reference | value |\n| --- | --- |");
  for (const r of reference) console.log(`| ${r.row} | ${r.value < 1 && (r.row.startsWith("classifier") || r.row.startsWith("detached")) ? r.value.toFixed(4) : r.value.toFixed(2)} |`);
}
