// npm run bench -- browser [--images 1] [--threads 1] [--seconds 12]: the Fashion-MNIST transformer
// (models/fashion-mnist), one guided forward pass (batch 2 · images), in onnxruntime-web's WASM build
// run in Node.js (the build the page runs, WASM execution provider) and in onnxruntime-node, in one
// process on the same inputs. onnxruntime-web's times are printed every 20 passes against the time
// since its session was made: V8 compiles the .wasm's optimising tier in the background during the
// first seconds, and a short generation (the page test's 20 steps) runs inside them.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i < 0 ? fallback : process.argv[i + 1]);
};
const images = flag("images", 1);
const threads = flag("threads", 1);
const seconds = flag("seconds", 12);

const folder = `${root}/models/fashion-mnist`;
const config = JSON.parse(readFileSync(`${folder}/transformer/config.json`, "utf8"));
const L = JSON.parse(readFileSync(`${folder}/learned_classifier_free_sampling_embeddings/config.json`, "utf8")).length;
const model = readFileSync(`${folder}/transformer/model.onnx`);
// Shapes of the transformer's inputs (the model folder's table in the README): hidden_states int64
// [B, N], encoder_hidden_states float32 [B, L, D], timestep int64 scalar.
const B = 2 * images;
const K = config.num_vector_embeds;
const N = config.height * config.width;
const D = config.cross_attention_dim;
const feeds = (ort) => ({
  hidden_states: new ort.Tensor("int64", BigInt64Array.from({ length: B * N }, (_, i) => BigInt(i % (K - 1))), [B, N]),
  encoder_hidden_states: new ort.Tensor("float32", Float32Array.from({ length: B * L * D }, (_, i) => Math.sin(i) / 4), [B, L, D]),
  timestep: new ort.Tensor("int64", BigInt64Array.from([50n]), []),
});
const median = (times) => [...times].sort((a, b) => a - b)[times.length >> 1];

console.log(`Fashion-MNIST transformer, batch ${B} (${images} image(s), guided), ${threads} thread(s); ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${new Date().toISOString()}`);

const onnxNode = await import("onnxruntime-node");
const nodeSession = await onnxNode.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" });
const nodeFeeds = feeds(onnxNode);
await nodeSession.run(nodeFeeds);
const nodeTimes = [];
for (let i = 0; i < 21; i++) {
  const t0 = performance.now();
  await nodeSession.run(nodeFeeds);
  nodeTimes.push(performance.now() - t0);
}
console.log(`onnxruntime-node: median ${median(nodeTimes).toFixed(2)} ms per pass (21 passes)`);
await nodeSession.release();

const ortWeb = await import("onnxruntime-web");
ortWeb.env.wasm.numThreads = threads;
const made = performance.now();
const webSession = await ortWeb.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
console.log(`onnxruntime-web (WASM): session made in ${(performance.now() - made).toFixed(0)} ms`);
const webFeeds = feeds(ortWeb);
let window = [];
while (performance.now() - made < seconds * 1000) {
  const t0 = performance.now();
  await webSession.run(webFeeds);
  window.push(performance.now() - t0);
  if (window.length === 20) {
    console.log(`  ${((performance.now() - made) / 1000).toFixed(1)} s after: median ${median(window).toFixed(2)} ms, min ${Math.min(...window).toFixed(2)} ms per pass (20 passes)`);
    window = [];
  }
}
await webSession.release();
