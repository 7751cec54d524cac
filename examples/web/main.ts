/**
 * The demo page: two modes, text to image (the Fashion-MNIST model with onnxruntime-web) and pixel
 * art (the exact-posterior demo), each generating in a Web Worker.
 *
 * URL parameters: `page=text` (default) or `page=pixel-art` picks the mode; any control's name presets
 * it (text: prompt, images, steps, guidance, truncation, spacing, strategy, mode, seed, backend,
 * preview; pixel art: seed, steps, batch, label, guidance, truncation, spacing, strategy, mode);
 * `autorun=1` starts at once. A value a control cannot take is reported in the status line with the
 * values it takes (its range, from the control's min, max and step), and the run does not start.
 */
import { parameterProblem } from "./controls.ts";
import { setUpPixelArt } from "./pixelArtPage.ts";
import { setUpTextToImage } from "./textToImagePage.ts";

const params = new URLSearchParams(location.search);
const page = params.get("page") ?? "text";
const status = document.querySelector<HTMLParagraphElement>("#status")!;
const canvas = document.querySelector<HTMLCanvasElement>("#canvas")!;
const forms = { text: document.querySelector<HTMLFormElement>("#text-controls")!, "pixel-art": document.querySelector<HTMLFormElement>("#pixel-controls")! };
const runners = { text: setUpTextToImage(forms.text, canvas, status), "pixel-art": setUpPixelArt(forms["pixel-art"], canvas, status) };

function show(mode: keyof typeof forms): void {
  document.body.dataset.page = mode;
  for (const [name, form] of Object.entries(forms)) form.hidden = name !== mode;
  for (const tab of document.querySelectorAll<HTMLAnchorElement>("nav a")) tab.classList.toggle("active", tab.dataset.page === mode);
}

/** Presets the form's controls from the URL; returns the problems (unknown or invalid values). */
function preset(form: HTMLFormElement): string[] {
  const problems: string[] = [];
  for (const [key, value] of params) {
    if (key === "page" || key === "autorun") continue;
    const field = form.elements.namedItem(key);
    if (!(field instanceof HTMLInputElement) && !(field instanceof HTMLSelectElement)) {
      problems.push(`${key}: not a control of this page`);
      continue;
    }
    field.value = value;
    const valid = field.value === value && (!(field instanceof HTMLInputElement) || field.checkValidity());
    const shape = field instanceof HTMLSelectElement ? { type: field.type, options: [...field.options].map((o) => o.value) } : { type: field.type, min: field.min, max: field.max, step: field.step };
    const problem = parameterProblem(key, value, shape, valid);
    if (problem !== null) problems.push(problem);
  }
  return problems;
}

if (page !== "text" && page !== "pixel-art") {
  status.textContent = `page: expected text or pixel-art, got ${JSON.stringify(page)}`;
} else {
  show(page);
  const problems = preset(forms[page]);
  for (const [mode, form] of Object.entries(forms) as [keyof typeof forms, HTMLFormElement][]) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      runners[mode]();
    });
  }
  if (problems.length > 0) {
    status.textContent = `URL parameters: ${problems.join("; ")}`;
    document.body.dataset.state = "error";
  } else if (params.get("autorun") === "1") {
    runners[page]();
  }
}
