/**
 * tools/export/export.py on bad input (issue 18, "Bad input"): a clear error naming the argument or
 * file, exit status 2, and nothing written into --out (nor a staging folder left beside it). Runs the
 * exporter in the repo's Python environment (tools/export/.venv, made by `npm run test:exports`).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const PYTHON = join(ROOT, "tools/export/.venv/bin/python");
const D = join(ROOT, "test/fixtures/real-golden/D/diffusers");
const work = mkdtempSync(join(tmpdir(), "vqd-export-errors-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs export.py; returns its exit status and stderr. */
function exportPy(model: string, out: string, ...extra: string[]) {
  const r = spawnSync(PYTHON, [join(ROOT, "tools/export/export.py"), "--model", model, "--out", out, ...extra], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr.trim() };
}

/** A copy of D whose model_index.json is `edit(index)`. */
function copyOfD(name: string, edit: (index: Record<string, unknown>) => void = () => {}): string {
  const dir = join(work, name);
  cpSync(D, dir, { recursive: true });
  const index = JSON.parse(readFileSync(join(dir, "model_index.json"), "utf8")) as Record<string, unknown>;
  edit(index);
  writeFileSync(join(dir, "model_index.json"), JSON.stringify(index));
  return dir;
}

/** `work` holds nothing but the given entries (no --out, no staging folder). */
const expectOnly = (...entries: string[]) => expect(readdirSync(work).sort()).toEqual(entries.sort());

describe("tools/export/export.py refuses bad input", () => {
  it("a --model that is not a folder", () => {
    const r = exportPy(join(work, "nowhere"), join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: --model: expected a diffusers checkpoint folder, got '${join(work, "nowhere")}', which is not a folder` });
    expectOnly();
  });

  it("a folder without model_index.json", () => {
    const dir = join(work, "empty");
    mkdirSync(dir);
    const r = exportPy(dir, join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: --model: expected a diffusers VQDiffusionPipeline checkpoint holding model_index.json, got ${dir} without it` });
    expectOnly("empty");
    rmSync(dir, { recursive: true });
  });

  it("another pipeline's checkpoint", () => {
    const dir = copyOfD("sd", (index) => (index._class_name = "StableDiffusionPipeline"));
    const r = exportPy(dir, join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: ${dir}/model_index.json: expected _class_name VQDiffusionPipeline, got 'StableDiffusionPipeline'` });
    expectOnly("sd");
    rmSync(dir, { recursive: true });
  });

  it("a missing component", () => {
    const dir = copyOfD("novqvae", (index) => delete index.vqvae);
    const r = exportPy(dir, join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: ${dir}/model_index.json: expected a vqvae component, got none` });
    expectOnly("novqvae");
    rmSync(dir, { recursive: true });
  });

  it("a class the exporter does not know", () => {
    const dir = copyOfD("unet", (index) => (index.transformer = ["diffusers", "UNet2DModel"]));
    const r = exportPy(dir, join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: ${dir}/model_index.json: expected transformer to be ["diffusers", "Transformer2DModel"], got ["diffusers", "UNet2DModel"]` });
    expectOnly("unet");
    rmSync(dir, { recursive: true });
  });

  it("a component's folder missing", () => {
    const dir = copyOfD("notext");
    rmSync(join(dir, "text_encoder"), { recursive: true });
    const r = exportPy(dir, join(work, "out"));
    expect(r).toEqual({ status: 2, stderr: `export.py: ${dir}/text_encoder: expected the text_encoder component's folder, got no such folder` });
    expectOnly("notext");
    rmSync(dir, { recursive: true });
  });

  it("an --out that exists and is not empty, without --overwrite; its files are left alone", () => {
    const out = join(work, "taken");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "mine");
    const r = exportPy(D, out);
    expect(r).toEqual({ status: 2, stderr: `export.py: --out: expected a new or empty folder, got ${out} holding 1 entries (pass --overwrite to replace it)` });
    expect(readdirSync(out)).toEqual(["keep.txt"]);
    expect(readFileSync(join(out, "keep.txt"), "utf8")).toBe("mine");
    rmSync(out, { recursive: true });
  });

  it("a component without its weights, and a tokenizer without merges.txt", () => {
    const dir = copyOfD("noweights");
    rmSync(join(dir, "transformer/diffusion_pytorch_model.bin"));
    expect(exportPy(dir, join(work, "out"))).toEqual({
      status: 2,
      stderr: `export.py: ${dir}/transformer: expected *.safetensors or *.bin in the transformer component's folder, got config.json`,
    });
    cpSync(join(D, "transformer"), join(dir, "transformer"), { recursive: true });
    rmSync(join(dir, "tokenizer/merges.txt"));
    expect(exportPy(dir, join(work, "out"))).toEqual({
      status: 2,
      stderr: `export.py: ${dir}/tokenizer: expected tokenizer.json or merges.txt in the tokenizer component's folder, got special_tokens_map.json, tokenizer_config.json, vocab.json`,
    });
    expectOnly("noweights");
    rmSync(dir, { recursive: true });
  });

  it("weights that do not load: found after the staging folder beside --out exists, which is removed", () => {
    const dir = copyOfD("garbage");
    writeFileSync(join(dir, "vqvae/diffusion_pytorch_model.bin"), "garbage\n");
    const file = join(dir, "vqvae/diffusion_pytorch_model.bin");
    expect(exportPy(dir, join(work, "out"))).toEqual({
      status: 2,
      stderr: `export.py: ${dir}/vqvae: expected a loadable vqvae component, got: Unable to load weights from checkpoint file for '${file}' at '${file}'.`,
    });
    expectOnly("garbage");
    rmSync(dir, { recursive: true });
  }, 120_000);
});

/** Runs Python in the export venv with tools/export on the path; returns status, stdout, stderr. */
function python(code: string) {
  const r = spawnSync(PYTHON, ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, "tools/export"))})\n${code}`], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describe("the output folder is replaced whole or not at all (vqd_export/files.py staged_folder)", () => {
  it("--overwrite replaces a non-empty folder; a failure inside leaves the old one as it was", () => {
    const out = join(work, "replace");
    mkdirSync(out);
    writeFileSync(join(out, "old.txt"), "old");
    const failed = python(`from vqd_export.files import staged_folder
import os
try:
    with staged_folder(${JSON.stringify(out)}, True) as stage:
        open(os.path.join(stage, "new.txt"), "w").write("new")
        raise RuntimeError("export failed")
except RuntimeError as e:
    print(e)`);
    expect(failed).toEqual({ status: 0, stdout: "export failed", stderr: "" });
    expect(readdirSync(out)).toEqual(["old.txt"]);
    expectOnly("replace");
    const done = python(`from vqd_export.files import staged_folder
import os
with staged_folder(${JSON.stringify(out)}, True) as stage:
    open(os.path.join(stage, "new.txt"), "w").write("new")`);
    expect(done.status).toBe(0);
    expect(readdirSync(out)).toEqual(["new.txt"]);
    expectOnly("replace");
    rmSync(out, { recursive: true });
  });

  it("an --out that is a file", () => {
    const file = join(work, "a-file");
    writeFileSync(file, "");
    const r = exportPy(D, file);
    expect(r).toEqual({ status: 2, stderr: `export.py: --out: expected a folder to write, got a file: ${file}` });
    rmSync(file);
  });
});

describe("tools/export/random_checkpoint.py refuses bad input", () => {
  const randomCheckpoint = (...args: string[]) => {
    const r = spawnSync(PYTHON, [join(ROOT, "tools/export/random_checkpoint.py"), ...args], { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr.trim().split("\n").pop() };
  };

  it("an unknown preset", () => {
    expect(randomCheckpoint("--preset", "ithq-xl", join(work, "rc"))).toEqual({
      status: 2,
      stderr: "random_checkpoint.py: error: argument --preset: invalid choice: 'ithq-xl' (choose from 'ithq', 'tiny', 'tiny-geglu', 'tiny-gelu', 'tiny-gelu-approximate', 'tiny-learnable')",
    });
    expectOnly();
  });

  it("an OUT that exists and is not empty, without --overwrite", () => {
    const out = join(work, "rc-taken");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "mine");
    expect(randomCheckpoint("--preset", "tiny", out)).toEqual({
      status: 2,
      stderr: `random_checkpoint.py: OUT: expected a new or empty folder, got ${out} holding 1 entries (pass --overwrite to replace it)`,
    });
    expect(readdirSync(out)).toEqual(["keep.txt"]);
    rmSync(out, { recursive: true });
  });
});
