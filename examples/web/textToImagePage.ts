/**
 * The text-to-image mode of the demo page: a prompt in, garments out, generated in a Web Worker by
 * the Fashion-MNIST model with onnxruntime-web. The canvas shows the images as their tokens fill in
 * (masked tokens as a grey checker), then the final sheet; the status line gives the milliseconds
 * per step of the transformer and of the scheduler. When a run ends, `window.vqdResult` holds its
 * tokens (the browser test reads them).
 */
import { composeImageSheet, formatGenerationParameters, imageToBlob, ModelVocabulary, VOCABULARY_FILE } from "vq-diffusion";
import { FASHION_MNIST_PROMPTS } from "vq-diffusion/demo";
import { backendNotice } from "./backendNotice.ts";
import type { GenerateMessage, GenerateRequest, ImageLike } from "./protocol.ts";

export const KNOWN_PROMPTS = FASHION_MNIST_PROMPTS;

const SCALE = 4;

function draw(canvas: HTMLCanvasElement, images: ImageLike[], columns: number): ImageLike {
  const sheet = composeImageSheet(images, { columns, scale: SCALE, gap: 6, background: [40, 42, 54] });
  canvas.width = sheet.width;
  canvas.height = sheet.height;
  canvas.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(sheet.data), sheet.width, sheet.height), 0, 0);
  return sheet;
}

/** Points the save link at the sheet as a PNG Blob whose "parameters" text chunk says how it was made. */
async function offerDownload(link: HTMLAnchorElement, sheet: ImageLike, request: GenerateRequest, size: { width: number; height: number }): Promise<void> {
  const o = request.options;
  const parameters = formatGenerationParameters({
    prompts: [o.prompt], model: "fashion-mnist (onnxruntime-web)", seed: o.seed, steps: o.numInferenceSteps, guidanceScale: o.guidanceScale,
    truncationRate: o.truncationRate, timestepSpacing: o.timestepSpacing, strategy: o.strategy, mode: o.mode, ...size,
  });
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await imageToBlob(sheet, { text: { parameters } }));
  link.hidden = false;
}

/**
 * What the model knows, from its folder's prompts.json (docs/model-folder.md), shown under the prompt box
 * and offered in its list; the built-in class names when the folder has no such file.
 */
async function showVocabulary(modelUrl: string, list: HTMLDataListElement, known: HTMLElement): Promise<void> {
  let phrases: readonly string[] = KNOWN_PROMPTS;
  let summary = KNOWN_PROMPTS.join(", ");
  try {
    const response = await fetch(`${modelUrl}/${VOCABULARY_FILE}`);
    if (response.ok) {
      const vocabulary = ModelVocabulary.fromJson(await response.json(), VOCABULARY_FILE);
      phrases = vocabulary.classes.flatMap((c) => c.phrases);
      summary = vocabulary.summary();
    }
  } catch (e) {
    summary += ` (${VOCABULARY_FILE} could not be read: ${(e as Error)?.message ?? String(e)})`;
  }
  list.replaceChildren(...phrases.map((p) => new Option(p, p)));
  known.textContent = `this model knows: ${summary}`;
}

export function setUpTextToImage(form: HTMLFormElement, canvas: HTMLCanvasElement, status: HTMLElement): () => void {
  const list = document.querySelector<HTMLDataListElement>("#prompts")!;
  for (const p of KNOWN_PROMPTS) list.append(new Option(p, p));
  const warnings = document.querySelector<HTMLElement>("#warnings")!;
  const modelUrl = new URL("./models/fashion-mnist", document.baseURI).href;
  void showVocabulary(modelUrl, list, document.querySelector<HTMLElement>("#known")!);
  const backend = form.elements.namedItem("backend") as HTMLSelectElement;
  const notice = document.querySelector<HTMLParagraphElement>("#notice")!;
  const save = document.querySelector<HTMLAnchorElement>("#save")!;
  if (!("gpu" in navigator)) {
    const webgpu = [...backend.options].find((o) => o.value === "webgpu");
    if (webgpu) {
      webgpu.disabled = true;
      webgpu.textContent = "WebGPU (not in this browser)";
    }
  }
  let worker: Worker | null = null;
  let loadedAs = "";

  return function run(): void {
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    const spacing = value("spacing");
    const images = Number(value("images"));
    const request: GenerateRequest = {
      type: "generate",
      modelUrl,
      backend: value("backend") === "webgpu" ? "webgpu" : "wasm",
      preview: value("preview") !== "off",
      options: {
        prompt: value("prompt"),
        numImagesPerPrompt: images,
        numInferenceSteps: Number(value("steps")),
        guidanceScale: Number(value("guidance")),
        truncationRate: Number(value("truncation")),
        seed: Number(value("seed")),
        timestepSpacing: spacing === "reference" ? undefined : (spacing as "linspace" | "leading" | "trailing"),
        strategy: value("strategy") === "purity" ? "purity" : "posterior",
        mode: value("mode") === "fast" ? "fast" : "reference",
      },
    };
    worker ??= new Worker(new URL("./textToImageWorker.ts", import.meta.url), { type: "module" });
    document.body.dataset.state = "running";
    save.hidden = true;
    status.textContent = "loading the model…";
    warnings.replaceChildren();
    warnings.hidden = true;
    const columns = Math.min(images, 8);
    worker.onmessage = (event: MessageEvent<GenerateMessage>) => {
      const m = event.data;
      if (m.type === "loaded") {
        loadedAs = m.backend;
        // A fallback stays on the page for the whole run (the status line changes every step).
        const text = backendNotice(request.backend, m.webgpu);
        notice.hidden = text === null;
        notice.textContent = text ?? "";
        status.textContent = `model loaded in ${m.ms.toFixed(0)} ms (${m.backend}); generating…`;
      } else if (m.type === "warning") {
        warnings.append(`warning: ${m.message}`, document.createElement("br"));
        warnings.hidden = false;
      } else if (m.type === "step") {
        if (m.images) draw(canvas, m.images, columns);
        status.textContent = `step ${m.step + 1}/${m.total} · per step: transformer ${m.times.transformerMs.toFixed(2)} ms, scheduler ${m.times.schedulerMs.toFixed(2)} ms`;
      } else if (m.type === "done") {
        const sheet = draw(canvas, m.images, columns);
        const n = request.options.numInferenceSteps;
        status.textContent =
          `done: "${request.options.prompt}", ${images} image${images === 1 ? "" : "s"}, ${n} steps in ${m.totalMs.toFixed(0)} ms · per step: ` +
          `transformer ${m.times.transformerMs.toFixed(2)} ms, scheduler ${m.times.schedulerMs.toFixed(2)} ms, guidance ${m.times.guidanceMs.toFixed(2)} ms · ` +
          `text encoder ${m.textEncoderMs.toFixed(1)} ms, decoder ${m.decodeMs.toFixed(1)} ms · ${loadedAs}`;
        (window as unknown as { vqdResult: unknown }).vqdResult = { tokens: Array.from(m.tokens), times: m.times, totalMs: m.totalMs, backend: loadedAs, request };
        offerDownload(save, sheet, request, { width: m.images[0].width, height: m.images[0].height }).then(
          () => void (document.body.dataset.state = "done"),
          (e: unknown) => {
            status.textContent = `error: ${(e as Error)?.message ?? String(e)}`;
            document.body.dataset.state = "error";
          },
        );
      } else {
        status.textContent = `error: ${m.message}`;
        document.body.dataset.state = "error";
      }
    };
    worker.postMessage(request);
  };
}
