// npm run bench -- serve: the load figure of `vq-diffusion serve --redis` with 1 and then 2
// `vq-diffusion worker` processes on this machine, with the bundled model (models/fashion-mnist):
// requests per minute and p50/p95 latency (send to last byte) of POST /v1/images/generations, from a
// closed loop of --clients clients that each send their next request when the last is answered.
// Everything runs here: a redis-server on 127.0.0.1 (a free port, a temporary folder; Debian's
// package), the server and workers from dist/ (npm run build first), all stopped at the end.
// Prints the machine's cores and load average beside the figures: on a shared machine they say how
// busy it was.
//
//   node bench/serve.mjs [--requests 30] [--clients 4] [--steps 100] [--n 1] [--workers 1,2] [--json]
import { cpus, loadavg } from "node:os";
import { startCli, startRedis, stopAll } from "../test/helpers/serveProcesses.mjs";

const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const requests = Number(flag("requests", "30"));
const clients = Number(flag("clients", "4"));
const steps = Number(flag("steps", "100"));
const n = Number(flag("n", "1"));
const workerCounts = flag("workers", "1,2").split(",").map(Number);
const PROMPTS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

async function generate(url, i) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/images/generations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: PROMPTS[i % PROMPTS.length], seed: i, steps, n }),
  });
  const body = await response.json();
  if (response.status !== 200 || body.data?.length !== n) throw new Error(`request ${i}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
  return performance.now() - started;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const load = () => loadavg().map((v) => v.toFixed(2)).join(" ");

const redis = await startRedis();
const rows = [];
try {
  for (const count of workerCounts) {
    const queue = `bench-${count}`;
    const workers = Array.from({ length: count }, () => startCli(["worker", "--redis", redis.url, "--queue", queue]));
    await Promise.all(workers.map((w) => w.waitFor(/ready: /, 120_000)));
    const server = startCli(["serve", "--redis", redis.url, "--queue", queue, "--port", "0", "--max-queue", "1000"]);
    const url = /listening on (http:\/\/\S+):/.exec(await server.waitFor(/listening on/, 120_000))[1];
    await Promise.all(Array.from({ length: count }, (_, i) => generate(url, 1000 + i))); // warm-up: each worker's first run
    const loadBefore = load();
    const latencies = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < requests) latencies.push(await generate(url, next++));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    rows.push({
      workers: count, requests, clients, steps, n,
      perMinute: (requests / seconds) * 60, p50Ms: quantile(latencies, 0.5), p95Ms: quantile(latencies, 0.95), seconds,
      loadBefore, loadAfter: load(),
    });
    for (const child of [server, ...workers]) child.process.kill("SIGTERM");
    await Promise.all([server, ...workers].map((c) => c.exited));
  }
} finally {
  await stopAll();
}

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ cpus: cpus().length, rows }, null, 2));
} else {
  console.log(`vq-diffusion serve --redis, bundled model, ${requests} requests of n=${n}, ${steps} steps, ${clients} clients in a closed loop; ${cpus().length} cores (${cpus()[0]?.model ?? "?"})`);
  console.log("workers  requests/min   p50 ms   p95 ms   wall s   load average (1, 5, 15 min) before → after");
  for (const r of rows) {
    console.log(`${String(r.workers).padStart(7)}  ${r.perMinute.toFixed(1).padStart(12)}  ${r.p50Ms.toFixed(0).padStart(7)}  ${r.p95Ms.toFixed(0).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}   ${r.loadBefore} → ${r.loadAfter}`);
  }
}
