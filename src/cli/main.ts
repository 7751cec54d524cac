/**
 * `vq-diffusion sample`: the main job of the package, in one command. Node.js only; the executable
 * entry is `bin.ts`, which calls {@link main} with the process's arguments and streams.
 */
import { writeFileSync } from "node:fs";
import pngjs from "pngjs";
import { composeSheet, type RgbaImage } from "../demo/render.js";
import { samplePixelArt } from "../demo/pixelArtSampler.js";
import { HELP, parseArgs, USAGE, UsageError, type SampleArgs } from "./args.js";

/** Encodes an RGBA image as PNG bytes (deterministic: the same pixels give the same bytes). */
export function encodePng(image: RgbaImage): Buffer {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return pngjs.PNG.sync.write(png);
}

/** Where the CLI writes: the process's streams, or a test's. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (the progress bar is drawn only then). */
  stderrIsTTY: boolean;
}

const processIO: CliIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
};

function progress(io: CliIO, step: number, total: number): void {
  const width = 30;
  const done = Math.round(((step + 1) / total) * width);
  io.stderr(`\r[${"#".repeat(done)}${".".repeat(width - done)}] step ${step + 1}/${total}`);
}

async function runSample(args: SampleArgs, io: CliIO): Promise<string> {
  const started = performance.now();
  const tty = io.stderrIsTTY;
  const result = await samplePixelArt({
    seed: args.seed,
    steps: args.steps,
    batch: args.batch,
    label: args.label,
    guidance: args.guidance,
    truncation: args.truncation,
    mode: args.mode,
    timestepSpacing: args.spacing,
    strategy: args.strategy,
    onStep: tty ? ({ step }) => progress(io, step, args.steps) : undefined,
  });
  if (tty) io.stderr("\r\x1b[K");
  writeFileSync(args.out, encodePng(composeSheet(result.frames)));
  const matched = result.matches.filter((m) => m !== null);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const what = args.label ? `"${args.label}"` : "any label";
  return (
    `wrote ${args.out}: ${args.batch} image${args.batch === 1 ? "" : "s"} of ${what} in ${args.steps} steps ` +
    `(seed ${args.seed}, guidance ${args.guidance}, truncation ${args.truncation}, ${args.mode} mode` +
    `${args.spacing ? `, ${args.spacing} spacing` : ""}${args.strategy === "purity" ? ", purity" : ""}), ` +
    `${matched.length}/${args.batch} equal to a data-set sprite${matched.length ? ` (${matched.join(", ")})` : ""}, ${seconds} s`
  );
}

/** Runs the CLI with `argv` (without node and the script); returns the exit code (0, 1 on failure, 2 on a bad option). */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`vq-diffusion: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.command === "help") {
    io.stdout(HELP + "\n");
    return 0;
  }
  try {
    io.stdout((await runSample(args, io)) + "\n");
    return 0;
  } catch (e) {
    io.stderr(`vq-diffusion: ${(e as Error).message}\n`);
    return 1;
  }
}
