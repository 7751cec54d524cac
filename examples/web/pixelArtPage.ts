/**
 * The pixel-art mode of the demo page: a canvas redrawn after every step, the step time. Sampling
 * runs in a Web Worker; when a run ends, `window.vqdResult` holds its tokens (the browser test reads
 * them).
 */
import { blankImage, drawTokens, PIXEL_ART_LABELS, SPRITE_SIZE } from "vq-diffusion/demo";
import type { SampleRequest, WorkerMessage } from "./protocol.ts";

const SCALE = 8;
const GAP = 8;
const PER_ROW = 4;

function draw(canvas: HTMLCanvasElement, tokens: Int32Array, batch: number): void {
  const side = SPRITE_SIZE * SCALE;
  const cols = Math.min(batch, PER_ROW);
  const rows = Math.ceil(batch / PER_ROW);
  const image = blankImage(GAP + cols * (side + GAP), GAP + rows * (side + GAP), [40, 42, 54]);
  for (let b = 0; b < batch; b++) {
    const x = GAP + (b % PER_ROW) * (side + GAP);
    const y = GAP + Math.floor(b / PER_ROW) * (side + GAP);
    drawTokens(image, tokens.subarray(b * 256, (b + 1) * 256), x, y, SCALE);
  }
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
}

export function setUpPixelArt(form: HTMLFormElement, canvas: HTMLCanvasElement, status: HTMLElement): () => void {
  const labelSelect = form.elements.namedItem("label") as HTMLSelectElement;
  labelSelect.add(new Option("any", ""));
  for (const label of PIXEL_ART_LABELS) labelSelect.add(new Option(label, label));
  let worker: Worker | null = null;
  return () => {
    worker?.terminate();
    worker = new Worker(new URL("./pixelArtWorker.ts", import.meta.url), { type: "module" });
    run(worker, form, canvas, status);
  };
}

function run(worker: Worker, form: HTMLFormElement, canvas: HTMLCanvasElement, status: HTMLElement): void {
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
  const label = value("label");
  const options: SampleRequest["options"] = {
    seed: Number(value("seed")),
    numInferenceSteps: Number(value("steps")),
    batchSize: Number(value("batch")),
    label: label === "" ? undefined : label,
    guidanceScale: Number(value("guidance")),
    truncationRate: Number(value("truncation")),
    mode: value("mode") === "fast" ? "fast" : "reference",
    timestepSpacing: value("spacing") === "reference" ? undefined : (value("spacing") as "linspace" | "leading" | "trailing"),
    strategy: value("strategy") === "purity" ? "purity" : "posterior",
  };
  const batch = options.batchSize ?? 4;
  document.body.dataset.state = "running";
  status.textContent = "starting…";
  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    const m = event.data;
    if (m.type === "step") {
      draw(canvas, m.tokens, batch);
      status.textContent = `step ${m.step + 1}/${m.total} · ${m.msPerStep.toFixed(2)} ms per step`;
    } else if (m.type === "done") {
      draw(canvas, m.tokens, batch);
      const hits = m.matches.filter((x) => x !== null);
      status.textContent = `done: ${options.numInferenceSteps} steps, ${m.msPerStep.toFixed(2)} ms per step (${m.backend} kernels) · ${hits.length}/${batch} equal to a data-set sprite${hits.length ? ` (${hits.join(", ")})` : ""}`;
      (window as unknown as { vqdResult: unknown }).vqdResult = { tokens: Array.from(m.tokens), matches: m.matches, options };
      document.body.dataset.state = "done";
    } else {
      status.textContent = `error: ${m.message}`;
      document.body.dataset.state = "error";
    }
  };
  worker.postMessage({ type: "sample", options } satisfies SampleRequest);
}
