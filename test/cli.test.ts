/** The `vq-diffusion sample` command, run in-process with captured output. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pngjs from "pngjs";
import { describe, expect, it } from "vitest";
import { parseArgs, USAGE } from "../src/cli/args.js";
import { inFlagTerms, main, type CliIO } from "../src/cli/main.js";
import { checkOutFile } from "../src/cli/outFile.js";
import { PIXEL_ART, PIXEL_ART_LABELS, PIXEL_ART_NUM_CLASSES, PALETTE } from "../src/demo/pixelArt.js";

function capture(tty = false): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: tty };
}

const dir = mkdtempSync(join(tmpdir(), "vqd-cli-"));

describe("vq-diffusion sample", () => {
  it("writes a PNG of the frames and prints a one-line summary; the same seed gives the same bytes", async () => {
    const a = capture();
    expect(await main(["sample", "--seed", "7", "--batch", "3", "--out", join(dir, "a.png")], a)).toBe(0);
    expect(a.out.join("")).toMatch(/^wrote .*a\.png: 3 images of any label in 100 steps \(seed 7, guidance 1, truncation 1, reference mode\), \d\/3 equal to a data-set sprite.*, [\d.]+ s\n$/);
    expect(a.err).toEqual([]);
    const b = capture();
    await main(["sample", "--seed=7", "--batch=3", `--out=${join(dir, "b.png")}`], b);
    const bytes = readFileSync(join(dir, "a.png"));
    expect(readFileSync(join(dir, "b.png")).equals(bytes)).toBe(true);
    const png = pngjs.PNG.sync.read(bytes);
    // 3 rows of 8 frames: 96-pixel frames with 6-pixel gaps, 12 more before the final image.
    expect([png.width, png.height]).toEqual([6 + 8 * (96 + 6) + 12, 6 + 3 * (96 + 6)]);
  });

  it("conditions on a label with guidance, and draws a progress bar only on a terminal", async () => {
    const io = capture(true);
    expect(await main(["sample", "--seed", "1", "--steps", "20", "--batch", "2", "--label", "heart", "--guidance", "3", "--out", join(dir, "h.png")], io)).toBe(0);
    expect(io.out.join("")).toMatch(/2 images of "heart" in 20 steps \(seed 1, guidance 3,/);
    expect(io.err.join("")).toContain("step 20/20");
  });

  it.each([
    [["sample", "--steps", "0"], '--steps: expected an integer in [1, 100], got "0"'],
    [["sample", "--label", "dragon"], `--label: expected one of ${PIXEL_ART_LABELS.join(", ")}, got "dragon"`],
    [["sample", "--truncation", "1.5"], '--truncation: expected a number in (0, 1], got "1.5"'],
    [["sample", "--seed"], "--seed: expected a value, got nothing"],
    [["sample", "--colour", "red"], '--colour: expected one of --seed, --steps, --batch, --label, --guidance, --truncation, --mode, --spacing, --strategy, --out, --help, got "--colour"'],
    [["sample", "--batch_size", "2"], '--batch_size: expected one of --seed, --steps, --batch, --label, --guidance, --truncation, --mode, --spacing, --strategy, --out, --help, got "--batch_size" (diffusers\' batch_size is --batch here)'],
    [["draw"], 'command: expected "generate", "convert", "sample", "serve" or "worker", got "draw"'],
    [["sample", "--spacing", "cosine"], '--spacing: expected linspace, leading or trailing, got "cosine"'],
  ])("%j is a usage error with exit code 2", async (argv, message) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.err.join("")).toBe(`vq-diffusion: ${message}\n${USAGE}\n`);
  });

  it("--help prints the usage and the options", async () => {
    const io = capture();
    expect(await main(["--help"], io)).toBe(0);
    expect(io.out.join("")).toContain(USAGE);
    expect(parseArgs(["sample"])).toMatchObject({ seed: 0n, steps: 100, batch: 4, guidance: 1, truncation: 1, mode: "reference" });
  });
});

describe("the embedded data set", () => {
  it("has at least 16 labelled 16×16 sprites over at most 32 colours", () => {
    expect(PIXEL_ART.length).toBeGreaterThanOrEqual(16);
    expect(PALETTE.length).toBeLessThanOrEqual(32);
    expect(PIXEL_ART_NUM_CLASSES).toBe(PALETTE.length + 1);
    for (const s of PIXEL_ART) {
      expect(s.tokens.length).toBe(256);
      expect(Math.max(...s.tokens)).toBeLessThan(PALETTE.length);
      expect(s.label).toMatch(/^[a-z]+$/);
    }
    expect(new Set(PIXEL_ART.map((s) => s.tokens.join())).size).toBe(PIXEL_ART.length);
  });
});

describe("vq-diffusion generate", () => {
  const tiny = new URL("./fixtures/pipeline-golden/tiny-a", import.meta.url).pathname;
  const cases = JSON.parse(readFileSync(join(tiny, "cases.json"), "utf8")) as { cases: { prompt_embeds: unknown }[] };

  it("writes a sheet from a model folder without a text encoder (--prompt-embeds), the same bytes for the same seed", async () => {
    const embeds = join(dir, "embeds.json");
    writeFileSync(embeds, JSON.stringify(cases.cases[2].prompt_embeds)); // P = 2 prompts
    const run = async (out: string) => {
      const io = capture(true);
      expect(await main(["generate", "--model", tiny, "--prompt-embeds", embeds, "--images", "3", "--steps", "20", "--seed", "2", "--out", out], io)).toBe(0);
      return io;
    };
    const io = await run(join(dir, "g1.png"));
    await run(join(dir, "g2.png"));
    expect(io.out.join("")).toMatch(/^wrote .*g1\.png: 6 images of .*embeds\.json in 20 steps \(model .*, seed 2, guidance 5, truncation 1, reference mode\), one labelled block per prompt, [\d.]+ s\n$/);
    expect(io.err.join("")).toContain("step 20/20");
    const bytes = readFileSync(join(dir, "g1.png"));
    expect(readFileSync(join(dir, "g2.png")).equals(bytes)).toBe(true);
    const png = pngjs.PNG.sync.read(bytes);
    // 16×16 images magnified 7× (to about 112 pixels), 3 columns, 2 blocks (one per prompt) each under a
    // 14-pixel label strip, 4-pixel gaps.
    expect([png.width, png.height]).toEqual([4 + 3 * (112 + 4), 4 + 2 * (14 + 112 + 4)]);
  });

  it.each([
    [["generate"], '--prompt: expected a prompt (e.g. --prompt "ankle boot") or --prompt-embeds FILE, got neither'],
    [["generate", "--prompt", "bag", "--prompt-embeds", "x.json"], '--prompt: expected a prompt (e.g. --prompt "ankle boot") or --prompt-embeds FILE, got both'],
    [["generate", "--prompt", "bag", "--images", "0"], '--images: expected an integer in [1, 64], got "0"'],
    [["generate", "--prompt", "bag", "--guidance", "-1"], '--guidance: expected a finite number >= 0, got "-1"'],
    [["generate", "--prompt", "bag", "--label", "x"], '--label: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--label"'],
    [["generate", "--prompt", "bag", "--guidance_scale", "5"], '--guidance_scale: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--guidance_scale" (diffusers\' guidance_scale is --guidance here)'],
    [["generate", "--prompt", "bag", "--num-inference-steps=20"], '--num-inference-steps: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--num-inference-steps" (diffusers\' num_inference_steps is --steps here)'],
    [["generate", "--prompt", "bag", "--numImagesPerPrompt", "2"], '--numImagesPerPrompt: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--numImagesPerPrompt" (diffusers\' num_images_per_prompt is --images here)'],
    [["generate", "--promt", "bag"], '--promt: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--promt" (did you mean --prompt?)'],
  ])("%j is a usage error with exit code 2", async (argv, message) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.err.join("")).toBe(`vq-diffusion: ${message}\n${USAGE}\n`);
  });

  it("checks --out's folder and the model folder before generating", async () => {
    const io = capture();
    expect(await main(["generate", "--model", tiny, "--prompt", "bag", "--out", join(dir, "missing", "x.png")], io)).toBe(1);
    expect(io.err.join("")).toBe(`vq-diffusion: --out: expected a file in an existing folder, got ${join(dir, "missing", "x.png")} (no folder ${join(dir, "missing")})\n`);
    const io2 = capture();
    expect(await main(["generate", "--model", join(dir, "nope"), "--prompt", "bag", "--out", join(dir, "x.png")], io2)).toBe(1);
    expect(io2.err.join("")).toBe(`vq-diffusion: --model: expected a model folder holding model_index.json, got ${join(dir, "nope")} (no such folder)\n`);
    const io3 = capture();
    expect(await main(["generate", "--model", tiny, "--prompt", "bag", "--out", join(dir, "x.png")], io3)).toBe(1);
    expect(io3.err.join("")).toBe('vq-diffusion: --prompt: expected --prompt-embeds FILE instead (this model folder has no text_encoder/tokenizer), got "bag"\n');
  });
});

describe("messages name the flag the user typed", () => {
  const tiny = new URL("./fixtures/pipeline-golden/tiny-a", import.meta.url).pathname;
  const FORMS = "a bundled model (fashion-mnist), a folder (an existing one, or a path starting with ./, ../ or /), an http(s):// URL, or a Hub model id org/name";
  const run = async (argv: string[]) => {
    const io = capture();
    const code = await main(argv, io);
    return [code, io.err.join("")];
  };
  const usage = (message: string) => `vq-diffusion: ${message}\n${USAGE}\n`;

  it("--steps out of range is a usage error (exit code 2, with the usage) whether too small (known at once) or over the model's T", async () => {
    writeFileSync(join(dir, "e.json"), JSON.stringify({ dims: [1, 8, 32], data: new Array(8 * 32).fill(0.1) }));
    expect(await run(["generate", "--model", tiny, "--prompt-embeds", join(dir, "e.json"), "--steps", "101", "--out", join(dir, "s.png")])).toEqual([
      2,
      usage(`--steps: expected an integer in [1, 100] (the model's T, num_train_timesteps), got "101"`),
    ]);
    for (const steps of ["-5", "0", "1.5"]) {
      expect(await run(["generate", "--model", tiny, "--prompt-embeds", join(dir, "e.json"), "--steps", steps, "--out", join(dir, "s.png")])).toEqual([
        2,
        usage(`--steps: expected an integer in [1, the model's T], got "${steps}"`),
      ]);
    }
    // Every other range error has the same form and exit code.
    expect(await run(["sample", "--steps", "0"])).toEqual([2, usage('--steps: expected an integer in [1, 100], got "0"')]);
    expect(await run(["generate", "--prompt", "bag", "--images", "0"])).toEqual([2, usage('--images: expected an integer in [1, 64], got "0"')]);
  });

  it.each([
    [["generate", "--prompt", "bag", "--colour"], '--colour: expected one of --model, --prompt, --prompt-embeds, --seed, --steps, --images, --guidance, --truncation, --mode, --spacing, --strategy, --quantize, --out, --revision, --offline, --help, got "--colour"'],
    [["sample", "--batch", "2", "--lable"], '--lable: expected one of --seed, --steps, --batch, --label, --guidance, --truncation, --mode, --spacing, --strategy, --out, --help, got "--lable" (did you mean --label?)'],
    [["generate", "--prompt", "bag", "--seed", "1", "--seed", "2"], '--seed: expected once, got it twice ("1" and "2")'],
    [["generate", "--prompt", "bag", "--out", "a.png", "--out=b.png"], '--out: expected once, got it twice ("a.png" and "b.png")'],
    [["generate", "--prompt", "bag", "--offline", "--offline", "--model", "org/m"], "--offline: expected once, got it twice"],
    [["sample", "--steps", "5", "--steps", "5"], '--steps: expected once, got it twice ("5" and "5")'],
    [["generate", "--prompt", "bag", "--offline=yes"], '--offline: expected no value (a switch), got "yes"'],
  ])("%j: an unknown option last on the line is named as unknown, and a repeated option is refused", async (argv, message) => {
    expect(await run(argv)).toEqual([2, usage(message)]);
  });

  it("--prompt may be repeated (one row per prompt)", () => {
    expect(parseArgs(["generate", "--prompt", "bag", "--prompt", "coat"])).toMatchObject({ prompts: ["bag", "coat"] });
  });

  it("without --steps, a model whose T is under 100 runs T steps (100 would be refused)", async () => {
    const t30 = join(dir, "tiny-t30");
    cpSync(tiny, t30, { recursive: true });
    for (const [file, key] of [["scheduler/scheduler_config.json", "num_train_timesteps"], ["transformer/config.json", "num_embeds_ada_norm"]]) {
      const json = JSON.parse(readFileSync(join(t30, file), "utf8")) as Record<string, unknown>;
      writeFileSync(join(t30, file), JSON.stringify({ ...json, [key]: 30 }));
    }
    writeFileSync(join(dir, "e30.json"), JSON.stringify({ dims: [1, 8, 32], data: new Array(8 * 32).fill(0.1) }));
    const io = capture();
    expect(await main(["generate", "--model", t30, "--prompt-embeds", join(dir, "e30.json"), "--images", "1", "--out", join(dir, "t30.png")], io)).toBe(0);
    expect(io.out.join("")).toMatch(/ in 30 steps \(model /);
    expect(await run(["generate", "--model", t30, "--prompt-embeds", join(dir, "e30.json"), "--steps", "100", "--out", join(dir, "t30.png")])).toEqual([
      2,
      usage(`--steps: expected an integer in [1, 30] (the model's T, num_train_timesteps), got "100"`),
    ]);
  });

  it.each([
    [["generate", "--prompt", "bag", "--guidance", "Infinity"], '--guidance: expected a finite number >= 0, got "Infinity"'],
    [["sample", "--guidance", "Infinity"], '--guidance: expected a finite number >= 0, got "Infinity"'],
    [["generate", "--prompt", "bag", "--steps", "--out", "x.png"], '--steps: expected a value, got the option "--out"'],
    [["sample", "--seed", "--batch", "2"], '--seed: expected a value, got the option "--batch"'],
    [["generate", "--prompt", "bag", "--model", "my-model"], `--model: expected ${FORMS}, got "my-model", which is neither a folder in the working directory nor a bundled model`],
    [["generate", "--prompt", "bag", "--model", ""], `--model: expected ${FORMS}, got ""`],
    [["generate", "--prompt", "bag", "--out", "x.jpg"], '--out: expected a file name ending in .png, got "x.jpg"'],
    [["sample", "--out", "sheet"], '--out: expected a file name ending in .png, got "sheet"'],
    [["sample", "--out", ""], '--out: expected a file name ending in .png, got ""'],
  ])("%j is a usage error naming the flag", async (argv, message) => {
    expect(await run(argv)).toEqual([2, usage(message)]);
  });

  it("a value starting with -- is taken with --name=value", () => {
    expect(parseArgs(["generate", "--prompt=--odd", "--out=a.PNG"])).toMatchObject({ prompts: ["--odd"], out: "a.PNG" });
  });

  it("--revision needs a Hub id and a well-formed revision; --offline takes no value", async () => {
    expect(await run(["generate", "--prompt", "bag", "--revision", "v1"])).toEqual([2, usage('--revision: expected a Hub model id org/name as --model, got --model "fashion-mnist"')]);
    expect(await run(["generate", "--prompt", "bag", "--model", "org/m", "--revision", "../x"])).toEqual([
      2,
      usage(`--revision: expected a branch, tag or commit (letters, digits, '.', '_', '-', '/'; no empty or '..' segment; at most 256 characters), got "../x"`),
    ]);
    expect(parseArgs(["generate", "--model", "org/m", "--offline", "--prompt", "bag"])).toMatchObject({ model: "org/m", offline: true, prompts: ["bag"] });
  });

  it("a guidance scale that overflows mid-run names --guidance", async () => {
    expect(await run(["sample", "--label", "heart", "--guidance", "1e38", "--out", join(dir, "o.png")])).toEqual([
      1,
      "vq-diffusion: --guidance: expected a scale at which u + scale·(c − u) stays finite in float32, got 1e+38, which gives -Infinity from u = -609.7010498046875, c = -641.7905883789062\n",
    ]);
  });

  it("inFlagTerms maps the API's names to flags and leaves other messages alone", () => {
    expect(inFlagTerms("numInferenceSteps: expected x, got 1")).toBe("--steps: expected x, got 1");
    expect(inFlagTerms("transformer/config.json: expected x, got 1")).toBe("transformer/config.json: expected x, got 1");
    expect(inFlagTerms("constructor: expected x, got 1")).toBe("constructor: expected x, got 1");
    expect(inFlagTerms("promptEmbeds.data: expected x, got 1")).toBe("--prompt-embeds data: expected x, got 1");
  });

  it("a --prompt-embeds file of the wrong shape names --prompt-embeds", async () => {
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ dims: [1, 12, 24], data: new Array(12 * 24).fill(0.1) }));
    expect(await run(["generate", "--model", tiny, "--prompt-embeds", join(dir, "bad.json"), "--out", join(dir, "b.png")])).toEqual([
      1,
      "vq-diffusion: --prompt-embeds dims: expected [P, L, D] with L = 8, D = 32 = [*, 8, 32], got [1, 12, 24]\n",
    ]);
  });
});

describe("--out is checked before anything is loaded, in both subcommands", () => {
  const folder = join(dir, "sheet.png");
  mkdirSync(folder, { recursive: true });
  it.each([
    [["generate", "--model", "./no-such-model", "--prompt", "bag", "--out", folder], `--out: expected a PNG file name, got the folder ${folder}`],
    [["sample", "--out", folder], `--out: expected a PNG file name, got the folder ${folder}`],
    [["generate", "--model", "./no-such-model", "--prompt", "bag", "--out", join(dir, "none", "x.png")], `--out: expected a file in an existing folder, got ${join(dir, "none", "x.png")} (no folder ${join(dir, "none")})`],
    [["sample", "--out", join(dir, "none", "x.png")], `--out: expected a file in an existing folder, got ${join(dir, "none", "x.png")} (no folder ${join(dir, "none")})`],
  ])("%j", async (argv, message) => {
    const io = capture();
    expect(await main(argv, io)).toBe(1);
    expect(io.err.join("")).toBe(`vq-diffusion: ${message}\n`);
  });

  it("a file this process cannot create or overwrite: the operating system is asked, by opening it", () => {
    const denied = (target: string, code: string) => (path: string) => {
      if (path === target) throw Object.assign(new Error("denied"), { code });
    };
    const fs = (existing: string[], target: string, code = "EACCES") => ({
      stat: (p: string) => (existing.includes(p) ? { isDirectory: () => !p.endsWith(".png") } : undefined),
      touch: denied(target, code),
      remove: () => {},
    });
    expect(() => checkOutFile("/ro/x.png", fs(["/ro"], "/ro/x.png"))).toThrow("--out: expected a file this process can create, got /ro/x.png (EACCES)");
    expect(() => checkOutFile("/ro/x.png", fs(["/ro", "/ro/x.png"], "/ro/x.png"))).toThrow("--out: expected a file this process can overwrite, got /ro/x.png (EACCES)");
    expect(checkOutFile("/ro/x.png", fs(["/ro"], "/other")).created).toBe(true);
  });

  it.each([["/proc/x.png"], ["/sys/x.png"]])("%s is refused before anything runs (it passes every permission test)", async (out) => {
    const io = capture();
    expect(await main(["sample", "--out", out], io)).toBe(1);
    expect(io.err.join("")).toMatch(new RegExp(`^vq-diffusion: --out: expected a file this process can create, got ${out} \\((ENOENT|EACCES|EPERM)\\)\n$`));
  });

  it("the file is created by the check, kept by a run that succeeds and removed by one that fails", async () => {
    const out = join(dir, "made-early.png");
    const checked = checkOutFile(out);
    expect(checked.created).toBe(true);
    expect(readFileSync(out).length).toBe(0);
    checked.discard();
    expect(() => readFileSync(out)).toThrow();
    const io = capture();
    expect(await main(["generate", "--model", join(dir, "nope"), "--prompt", "bag", "--out", out], io)).toBe(1);
    expect(() => readFileSync(out)).toThrow(); // the failed run left nothing
    writeFileSync(out, "old");
    expect(await main(["generate", "--model", join(dir, "nope"), "--prompt", "bag", "--out", out], capture())).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("old"); // a file that was there stays as it was
  });
});

describe("vq-diffusion --version", () => {
  it("prints the package's version, also after a command (generate --version), as --help does", async () => {
    const version = `${JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version}\n`;
    for (const argv of [["--version"], ["generate", "--version"], ["sample", "--seed", "3", "--version"]]) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(0);
      expect(io.out.join("")).toBe(version);
    }
  });
  it("says 1 step, not 1 steps", async () => {
    const io = capture();
    expect(await main(["sample", "--steps", "1", "--batch", "1", "--out", join(dir, "one.png")], io)).toBe(0);
    expect(io.out.join("")).toMatch(/ in 1 step \(/);
  });
});

describe("vq-diffusion sample --guidance", () => {
  it("is refused above 1 without --label (it would be ignored)", async () => {
    const io = capture();
    expect(await main(["sample", "--guidance", "3"], io)).toBe(2);
    expect(io.err.join("")).toBe(`vq-diffusion: --guidance: expected --label with a guidance scale > 1 (guidance pushes a label's posterior away from the whole set's), got 3 without --label\n${USAGE}\n`);
  });
  it("gives the same tokens for every value <= 1 (off), as the help says", async () => {
    const outs = [];
    for (const g of ["0", "0.5", "1"]) {
      const io = capture();
      expect(await main(["sample", "--label", "heart", "--guidance", g, "--steps", "5", "--batch", "1", "--out", join(dir, `g${g}.png`)], io)).toBe(0);
      // The pixels (the files differ in their "parameters" text, which names each guidance scale).
      outs.push(pngjs.PNG.sync.read(readFileSync(join(dir, `g${g}.png`))).data);
    }
    expect(outs[0].equals(outs[1]) && outs[1].equals(outs[2])).toBe(true);
  });
});

describe("a long prompt is not echoed in full", () => {
  it("the summary shows each prompt in at most 60 characters (the warning has shown the cut)", async () => {
    const prompt = "sneaker bag coat dress shirt ".repeat(10);
    const io = capture();
    expect(await main(["generate", "--prompt", prompt, "--prompt", "bag", "--images", "1", "--steps", "1", "--out", join(dir, "long-summary.png")], io)).toBe(0);
    expect(io.out.join("")).toMatch(/^wrote .*long-summary\.png: 2 images of "sneaker bag coat dress shirt sneaker bag coat dress shirt\.\.\.", "bag" in 1 step /);
    expect(io.err.join("").split(prompt.slice(0, 100)).length).toBe(1); // the warning shows it shortened too
  });
});
