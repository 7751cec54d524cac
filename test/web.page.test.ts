/**
 * The demo page (examples/web) without a browser: each control's label is its URL parameter's name;
 * a URL value a control cannot take is reported with the range that applies; the dev server serves
 * the favicon. (test/browser/run.mjs checks the same in Chromium on the built page.)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";
import { describe, expect, it } from "vitest";
import { backendNotice } from "../examples/web/backendNotice.js";
import { expectedValues, parameterProblem } from "../examples/web/controls.js";
import { parseArgs } from "../src/cli/args.js";

const web = fileURLToPath(new URL("../examples/web/", import.meta.url));
const html = readFileSync(web + "index.html", "utf8");

describe("the demo page's controls", () => {
  it("each control's label is the name of its URL parameter", () => {
    const controls = [...html.matchAll(/<label[^>]*>\s*([^<]+?)\s*<(?:input|select)[^>]*\bname="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(controls.length).toBeGreaterThanOrEqual(20);
    expect(controls.filter(([label, name]) => label !== name)).toEqual([]);
  });

  it.each([
    ["steps", "500", { type: "number", min: "1", max: "100", step: "" }, 'steps: expected an integer in [1, 100], got "500"'],
    ["batch", "0", { type: "number", min: "1", max: "16", step: "" }, 'batch: expected an integer in [1, 16], got "0"'],
    ["seed", "abc", { type: "number", min: "0", max: "", step: "1" }, 'seed: expected an integer >= 0, got "abc"'],
    ["guidance", "0.3", { type: "number", min: "0", max: "", step: "0.5" }, 'guidance: expected a multiple of 0.5 >= 0, got "0.3"'],
    ["truncation", "2", { type: "number", min: "0.05", max: "1", step: "0.05" }, 'truncation: expected a multiple of 0.05 in [0.05, 1], got "2"'],
    ["label", "dragon", { type: "select-one", options: ["", "heart", "tree"] }, 'label: expected "", heart or tree, got "dragon"'],
    ["name", "", { type: "text" }, 'name: expected a text, got ""'],
  ])("%s=%s states what the control takes", (key, value, control, message) => {
    expect(parameterProblem(key, value, control, false)).toBe(message);
    expect(parameterProblem(key, value, control, true)).toBeNull();
  });

  it("a number without bounds or step is an integer", () => {
    expect(expectedValues({ type: "number" })).toBe("an integer");
    expect(expectedValues({ type: "number", step: "any", max: "3" })).toBe("a number <= 3");
  });
});

describe("the text-to-image form against the CLI (issue 31, item 15)", () => {
  const form = html.slice(html.indexOf('<form id="text-controls"'), html.indexOf("</form>", html.indexOf('<form id="text-controls"')));
  /** A control's default: an input's value, a select's selected option (else its first). */
  const initial = (name: string): string => {
    const input = new RegExp(`<input name="${name}"[^>]*\\bvalue="([^"]*)"`).exec(form);
    if (input) return input[1];
    const select = new RegExp(`<select name="${name}">(.*?)</select>`).exec(form)![1];
    return (/<option value="([^"]*)" selected>/.exec(select) ?? /<option value="([^"]*)"/.exec(select))![1];
  };

  it("its defaults are the CLI's (so a run gives the CLI's tokens), and the page says so", () => {
    const cli = parseArgs(["generate", "--prompt", "x"]);
    if (cli.command !== "generate") throw new Error("expected generate");
    expect({
      images: Number(initial("images")),
      // Without --steps the CLI runs min(100, T) steps; the bundled model's T is 100.
      steps: Number(initial("steps")),
      guidance: Number(initial("guidance")),
      truncation: Number(initial("truncation")),
      spacing: initial("spacing") === "reference" ? undefined : initial("spacing"),
      strategy: initial("strategy"),
      mode: initial("mode"),
      seed: BigInt(initial("seed")),
    }).toEqual({ images: cli.images, steps: 100, guidance: cli.guidance, truncation: cli.truncation, spacing: cli.spacing, strategy: cli.strategy, mode: cli.mode, seed: cli.seed });
    expect(form).toContain("The defaults are the CLI's");
  });

  it("takes an empty prompt, as the CLI does", () => {
    expect(form).toMatch(/<input name="prompt"(?![^>]*required)[^>]*>/);
    expect(parseArgs(["generate", "--prompt", ""])).toMatchObject({ prompts: [""] });
  });

  it("a menu is as wide as its longest option (the spacing menu was cut at 7rem)", () => {
    const css = readFileSync(web + "style.css", "utf8");
    expect(css).toMatch(/^select \{ width: auto; min-width: 7rem; \}$/m);
  });

  it.each([
    ["wasm", "none", null],
    ["wasm", "no-adapter", null],
    ["webgpu", "adapter", null],
    ["webgpu", "no-adapter", "WebGPU was chosen, but this browser gave no WebGPU adapter: the model runs on WASM (slower)."],
    ["webgpu", "none", "WebGPU was chosen, but this browser has no WebGPU: the model runs on WASM (slower)."],
  ] as const)("backend %s with WebGPU %s: the page's notice is %j", (chosen, webgpu, notice) => {
    expect(backendNotice(chosen, webgpu)).toBe(notice);
  });

  it("the notice has its place on the page, outside the status line that every step rewrites", () => {
    expect(html).toContain('<p id="notice" hidden></p>');
    expect(readFileSync(web + "textToImagePage.ts", "utf8")).toContain("notice.textContent = text");
  });
});

describe("the dev server (npm run web)", () => {
  it("serves the favicon the page links", async () => {
    expect(html).toContain('<link rel="icon" href="./favicon.ico" />');
    const server = await createServer({ configFile: web + "vite.config.ts", server: { port: 0, host: "127.0.0.1" }, logLevel: "silent" });
    await server.listen();
    try {
      const address = server.httpServer!.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${address.port}/favicon.ico`);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(web + "public/favicon.ico"))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
