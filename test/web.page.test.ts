/**
 * The demo page (examples/web) without a browser: each control's label is its URL parameter's name;
 * a URL value a control cannot take is reported with the range that applies; the dev server serves
 * the favicon. (test/browser/run.mjs checks the same in Chromium on the built page.)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";
import { describe, expect, it } from "vitest";
import { expectedValues, parameterProblem } from "../examples/web/controls.js";

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
    ["prompt", "", { type: "text" }, 'prompt: expected a non-empty text, got ""'],
  ])("%s=%s states what the control takes", (key, value, control, message) => {
    expect(parameterProblem(key, value, control, false)).toBe(message);
    expect(parameterProblem(key, value, control, true)).toBeNull();
  });

  it("a number without bounds or step is an integer", () => {
    expect(expectedValues({ type: "number" })).toBe("an integer");
    expect(expectedValues({ type: "number", step: "any", max: "3" })).toBe("a number <= 3");
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
