/**
 * `vq-diffusion convert` (and `generate` on a diffusers checkpoint), run in-process with captured
 * output: the folder written and the sizes printed, the exit codes (0, 1 for a refused run, 2 for a
 * bad option, 130 for Ctrl-C), and nothing written to --out when the run fails or is interrupted.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import { copyCheckpoint, D_SAFETENSORS, filesUnder, removeTemporaryFolders, temporaryFolder } from "./helpers/convertFixtures.js";
import { readFolder, startHubServer } from "./helpers/hubServer.mjs";

const ROOT = new URL("../", import.meta.url).pathname;

function capture(tty = false, signal?: AbortSignal): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: tty, signal };
}

const savedAssets = process.env.HF_ASSETS_CACHE;
let assets: string;
beforeAll(() => {
  assets = temporaryFolder("vqd-assets-");
  process.env.HF_ASSETS_CACHE = assets;
});
afterAll(() => {
  if (savedAssets === undefined) delete process.env.HF_ASSETS_CACHE;
  else process.env.HF_ASSETS_CACHE = savedAssets;
  removeTemporaryFolders();
});

describe("vq-diffusion convert", () => {
  it("writes the model folder layout and prints each file's size and the total", async () => {
    const out = join(temporaryFolder(), "d-onnx");
    const io = capture();
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", out], io)).toBe(0);
    const text = io.out.join("");
    const files = filesUnder(out);
    expect(files).toContain("transformer/model.onnx");
    expect(files).toContain("vqvae_decoder/model.onnx");
    for (const f of files) {
      const bytes = statSync(join(out, f)).size;
      const shown = bytes < 1000 ? `${bytes} B` : `${(bytes / 1e3).toFixed(1)} kB`;
      expect(text).toMatch(new RegExp(`^ +${shown.replace(".", "\\.")}  ${f.replace(/\./g, "\\.")}$`, "m"));
    }
    expect(text).toMatch(new RegExp(`\\nwrote ${out}: ${files.length} files, [\\d.]+ kB, from ${D_SAFETENSORS}, [\\d.]+ s\\n$`));
    // Without a terminal, progress is one line per converted network.
    expect(io.err.join("")).toMatch(/^converted text_encoder\/model\.onnx\.data \([\d.]+ kB of weights\)\nconverted transformer\/model\.onnx\.data/);
  });

  it("an empty --out folder is written into; --variant reads the variant's files", async () => {
    const out = temporaryFolder();
    const io = capture();
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", out, "--variant", "fp16"], io)).toBe(0);
    expect(io.out.join("")).toContain(`from ${D_SAFETENSORS} (variant fp16)`);
    expect(filesUnder(out)).toContain("transformer/model.onnx");
  });

  it("refuses an --out that is not empty (exit 1), and leaves it as it was", async () => {
    const out = temporaryFolder();
    writeFileSync(join(out, "mine.txt"), "x");
    const io = capture();
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", out], io)).toBe(1);
    expect(io.err.join("")).toBe(`vq-diffusion: --out: expected a new path or an empty folder, got ${out}, which is not empty (or not a folder)\n`);
    expect(readdirSync(out)).toEqual(["mine.txt"]);
  });

  it("refuses what is not a diffusers checkpoint, writing nothing (exit 1)", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const onnx = capture();
    expect(await main(["convert", "--model", "fashion-mnist", "--out", out], onnx)).toBe(1);
    expect(onnx.err.join("")).toBe(
      'vq-diffusion: --model: expected a diffusers checkpoint (a folder or a Hub id with PyTorch or safetensors weights, no transformer/model.onnx), got "fashion-mnist", a bundled model (already in ONNX)\n',
    );
    expect(readdirSync(parent)).toEqual([]);
  });

  it("--dtype fp16 writes float16 weights: a smaller folder", async () => {
    const parent = temporaryFolder();
    const sizes: number[] = [];
    for (const dtype of ["fp32", "fp16"]) {
      const io = capture();
      expect(await main(["convert", "--model", D_SAFETENSORS, "--out", join(parent, dtype), "--dtype", dtype], io)).toBe(0);
      sizes.push(statSync(join(parent, dtype, "vqvae_decoder/model.onnx.data")).size);
    }
    expect(sizes[1]).toBeLessThan(0.6 * sizes[0]);
  });

  it("--quantize int8 writes int8 linear weights: a smaller transformer, the same VQ-VAE decoder", async () => {
    const parent = temporaryFolder();
    const io = capture();
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", join(parent, "fp32")], capture())).toBe(0);
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", join(parent, "int8"), "--quantize", "int8"], io)).toBe(0);
    expect(io.out.join("")).toMatch(/from .* \(quantized to int8\), [\d.]+ s\n?$/);
    const bytes = (form: string, file: string) => statSync(join(parent, form, file)).size;
    expect(bytes("int8", "transformer/model.onnx.data")).toBeLessThan(0.6 * bytes("fp32", "transformer/model.onnx.data"));
    expect(bytes("int8", "vqvae_decoder/model.onnx.data")).toBe(bytes("fp32", "vqvae_decoder/model.onnx.data"));
  });

  it("bad options are usage errors (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["convert", "--out", "x"], "--model: expected a diffusers checkpoint to convert (./DIR or org/name), got nothing"],
      [["convert", "--model", "./x"], "--out: expected the folder to write (a new path or an empty folder), got nothing"],
      [["convert", "--model", "./x", "--out", "y", "--dtype", "int8"], '--dtype: expected fp32 or fp16, got "int8"'],
      [["convert", "--model", "./x", "--out", "y", "--quantize", "int4"], '--quantize: expected int8, got "int4"'],
      [["generate", "--prompt", "a", "--quantize", "fp16"], '--quantize: expected int8, got "fp16"'],
      [["convert", "--model", "./x", "--out", "y", "--variant", "../a"], '--variant: expected a variant name such as fp16 (letters, digits, "_" and "-"), got "../a"'],
      [["convert", "--model", "./x", "--out", "y", "--revision", "v1"], '--revision: expected a Hub model id org/name as --model, got --model "./x"'],
      [["convert", "--model", "./x", "--out", "y", "--prompt", "a"], '--prompt: expected one of --model, --out, --variant, --dtype, --quantize, --revision, --offline, --help, got "--prompt"'],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(2);
      expect(io.err.join("").split("\n")[0]).toBe(`vq-diffusion: ${message}`);
    }
  });

  it("Ctrl-C (the run's signal) stops it with exit 130 and nothing in --out", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const controller = new AbortController();
    const io = capture(false, controller.signal);
    const stderr = io.stderr;
    io.stderr = (t) => {
      stderr(t);
      if (t.startsWith("converted ")) controller.abort();
    };
    expect(await main(["convert", "--model", D_SAFETENSORS, "--out", out], io)).toBe(130);
    expect(io.err.at(-1)).toBe(`vq-diffusion: interrupted (Ctrl-C): nothing was written to ${out}\n`);
    expect(readdirSync(parent)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});

describe("vq-diffusion convert, interrupted by a real Ctrl-C (SIGINT to the process)", () => {
  it("stops a Hub conversion mid-download: exit 130, nothing in --out, no partial file in either cache", async () => {
    const bin = join(ROOT, "dist/cli/bin.js");
    expect(existsSync(bin), "dist/ is built before the tests (npm run build)").toBe(true);
    const commit = "4".repeat(40);
    const server = await startHubServer({ repos: { "org/d": { commits: { [commit]: readFolder(D_SAFETENSORS) }, refs: { main: commit } } } });
    try {
      // The first weights file the conversion opens never finishes downloading: the run is mid-conversion when interrupted.
      server.fault("text_encoder/model.safetensors", "hang");
      const parent = temporaryFolder();
      const hubCache = temporaryFolder("vqd-hub-");
      const out = join(parent, "out");
      const child = spawn(process.execPath, [bin, "convert", "--model", "org/d", "--out", out], {
        env: { ...process.env, HF_ENDPOINT: server.url, HF_HUB_CACHE: hubCache, HF_ASSETS_CACHE: assets, HF_HUB_OFFLINE: "" },
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      let running = true;
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => ((running = false), resolve(code))));
      const waitFor = async (ready: () => boolean) => {
        while (running && !ready()) await new Promise((r) => setTimeout(r, 20));
        expect(running, `the child exited early: ${stderr}`).toBe(true);
      };
      await waitFor(() => server.downloads("text_encoder/model.safetensors") > 0);
      // The temporary folder beside --out: the conversion has started writing.
      await waitFor(() => readdirSync(parent).some((f) => f.includes(".incomplete-")));
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(stderr).toBe(`vq-diffusion: interrupted (Ctrl-C): nothing was written to ${out}\n`);
      expect(readdirSync(parent)).toEqual([]);
      expect(filesUnder(hubCache).filter((f) => f.endsWith(".incomplete"))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe("vq-diffusion generate on a diffusers checkpoint", () => {
  it("converts it into the conversion cache, then generates", async () => {
    const checkpoint = copyCheckpoint(D_SAFETENSORS);
    const png = join(temporaryFolder(), "d.png");
    mkdirSync(join(png, ".."), { recursive: true });
    const io = capture();
    expect(await main(["generate", "--model", checkpoint, "--prompt", "a red circle", "--steps", "3", "--images", "1", "--out", png], io)).toBe(0);
    expect(io.out.join("")).toMatch(/^wrote .*d\.png: 1 image of "a red circle" in 3 steps/);
    expect(filesUnder(join(assets, "vq-diffusion")).filter((f) => f.endsWith("transformer/model.onnx"))).toHaveLength(1);
    expect(existsSync(png)).toBe(true);
  });
  it("--quantize int8 converts it into its own cache entry, then generates", async () => {
    const checkpoint = copyCheckpoint(D_SAFETENSORS);
    const png = join(temporaryFolder(), "d8.png");
    const io = capture();
    expect(await main(["generate", "--model", checkpoint, "--prompt", "a red circle", "--steps", "3", "--images", "1", "--quantize", "int8", "--out", png], io)).toBe(0);
    expect(io.out.join("")).toMatch(/^wrote .*d8\.png: 1 image of "a red circle" in 3 steps/);
    expect(filesUnder(join(assets, "vq-diffusion")).filter((f) => f.endsWith(",quantize=int8,variant=default,converter=1/transformer/model.onnx"))).toHaveLength(1);
    expect(existsSync(png)).toBe(true);
  });
});
