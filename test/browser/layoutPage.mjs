// The page test's layout case (called by run.mjs; issue 31, items 13 and 15): on the text-to-image
// page, no menu cuts its options (each select at least as wide as its text); WebGPU chosen in a
// browser without a WebGPU adapter (Chromium started with --disable-gpu) runs on WASM with a notice on
// the page, not only in the console; the save link gives the sheet as a PNG Blob (imageToBlob) whose
// "parameters" chunk holds the run's settings. A screenshot of the form goes to
// test-results/web-controls.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readPngText } from "../../dist/index.js";

/**
 * @param browser - a playwright Browser without WebGPU adapters.
 * @param check - run.mjs' named check.
 * @param origin - where the page is served, e.g. "http://127.0.0.1:5173".
 * @param results - the folder for the screenshot.
 */
export async function layoutPageCheck(browser, check, origin, results) {
  await check("no menu cuts its options", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 760 } });
    await page.goto(`${origin}/?page=text`);
    await page.waitForSelector("#text-controls:not([hidden])");
    const cut = await page.evaluate(() =>
      [...document.querySelectorAll("form:not([hidden]) select")].flatMap((select) => {
        // The widest option, measured as text in the select's font, against the room the select gives it.
        const probe = document.createElement("span");
        probe.style.cssText = `font: ${getComputedStyle(select).font}; position: absolute; white-space: pre; visibility: hidden`;
        document.body.append(probe);
        const widest = Math.max(...[...select.options].map((o) => ((probe.textContent = o.textContent), probe.getBoundingClientRect().width)));
        probe.remove();
        const style = getComputedStyle(select);
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16; // the arrow
        return widest > room ? [`${select.name}: ${widest.toFixed(0)} px of text in ${room.toFixed(0)} px`] : [];
      }),
    );
    mkdirSync(results, { recursive: true });
    await page.locator("#text-controls").screenshot({ path: join(results, "web-controls.png") });
    await page.close();
    assert.deepEqual(cut, []);
    return "every option fits its menu (screenshot test-results/web-controls.png)";
  });

  await check("WebGPU without an adapter: a notice on the page", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 760 } });
    await page.goto(`${origin}/?page=text&backend=webgpu&images=1&steps=2&preview=off&autorun=1`);
    await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: 120_000 });
    const notice = await page.evaluate(() => {
      const p = document.querySelector("#notice");
      return p.hidden ? null : p.textContent;
    });
    const backend = await page.evaluate(() => window.vqdResult?.backend);
    // The save link: the sheet as a PNG Blob (imageToBlob) with the run's settings inside.
    const saved = await page.evaluate(async () => {
      const link = document.querySelector("#save");
      return link.hidden ? null : Array.from(new Uint8Array(await (await fetch(link.href)).arrayBuffer()));
    });
    await page.close();
    assert.match(notice ?? "", /^WebGPU was chosen, but this browser (gave no WebGPU adapter|has no WebGPU): the model runs on WASM \(slower\)\.$/);
    assert.match(backend ?? "", /^wasm/);
    assert.ok(saved, "expected the save link after the run");
    const parameters = readPngText(Uint8Array.from(saved)).parameters;
    assert.equal(parameters, "ankle boot\nSteps: 2, Sampler: VQ-Diffusion posterior (reference), CFG scale: 5, Truncation rate: 1, Timestep spacing: diffusers, Seed: 0, Size: 28x28, Model: fashion-mnist (onnxruntime-web)");
    return `page says "${notice}" (${backend}); the saved PNG (${saved.length} bytes) holds its parameters`;
  });
}
