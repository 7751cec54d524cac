/**
 * Seeds over torch.Generator().manual_seed's whole range, [-2^63, 2^64) (issue 31, item 11): the API
 * (TorchGenerator.manualSeed with a bigint) and the CLI (--seed) take every one, with torch's streams
 * (negative seeds taken modulo 2^64), and refuse what torch refuses. Expected values: torch 2.13,
 * recorded by tools/fixtures/record_torch_seeds.py → test/fixtures/torch-seeds.json.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pngjs from "pngjs";
import { describe, expect, it } from "vitest";
import { parseArgs, USAGE } from "../src/cli/args.js";
import { main, type CliIO } from "../src/cli/main.js";
import { TorchGenerator } from "../src/index.js";

const SEEDS = JSON.parse(readFileSync(new URL("./fixtures/torch-seeds.json", import.meta.url), "utf8")) as {
  seeds: { seed: string; initial_seed: string; rand: number[] }[];
  refused: { seed: string }[];
};
const RANGE = "an integer in [-9223372036854775808, 18446744073709551615] (-2^63 to 2^64 - 1, as torch.Generator().manual_seed)";

function capture(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: false };
}

describe("TorchGenerator.manualSeed over torch's range", () => {
  it("gives torch's initial_seed and rand stream for each recorded seed, from -2^63 to 2^64 - 1", () => {
    expect(SEEDS.seeds.length).toBe(17);
    for (const row of SEEDS.seeds) {
      const g = new TorchGenerator().manualSeed(BigInt(row.seed));
      expect(g.initialSeed(), row.seed).toBe(BigInt(row.initial_seed));
      expect(Array.from(g.rand([6]).data), row.seed).toEqual(row.rand.map(Math.fround));
    }
  });

  it("refuses the seeds torch refuses", () => {
    for (const row of SEEDS.refused) expect(() => new TorchGenerator().manualSeed(BigInt(row.seed)), row.seed).toThrow(/^seed: expected an integer in \[-2\^63, 2\^64 - 1\]/);
  });
});

describe("--seed over torch's range", () => {
  it("parses every recorded seed exactly (as a bigint: 2^53 + 1 is not rounded)", () => {
    for (const row of SEEDS.seeds) {
      expect(parseArgs(["generate", "--prompt", "x", "--seed", row.seed]), row.seed).toMatchObject({ seed: BigInt(row.seed) });
      expect(parseArgs(["sample", `--seed=${row.seed}`]), row.seed).toMatchObject({ seed: BigInt(row.seed) });
    }
  });

  it.each([...SEEDS.refused.map((row) => row.seed), "1.5", "0x10", "1e3", "", "+-1"])("--seed %j is a usage error stating the range", async (seed) => {
    const io = capture();
    expect(await main(["sample", `--seed=${seed}`], io)).toBe(2);
    expect(io.err.join("")).toBe(`vq-diffusion: --seed: expected ${RANGE}, got ${JSON.stringify(seed)}\n${USAGE}\n`);
  });

  it("--help states the range", async () => {
    const io = capture();
    await main(["--help"], io);
    expect(io.out.join("")).toContain("--seed N          generator seed, an integer in [-2^63, 2^64 - 1] (default 0), as");
  });

  it("-1 and 2^64 - 1 are one stream (torch takes negative seeds modulo 2^64): the same pixels", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vqd-seeds-"));
    const tiny = new URL("./fixtures/pipeline-golden/tiny-a", import.meta.url).pathname;
    writeFileSync(join(dir, "e.json"), JSON.stringify({ dims: [1, 8, 32], data: new Array(8 * 32).fill(0.1) }));
    const png = async (seed: string) => {
      const io = capture();
      expect(await main(["generate", "--model", tiny, "--prompt-embeds", join(dir, "e.json"), "--images", "2", "--steps", "5", `--seed=${seed}`, "--out", join(dir, `${seed}.png`)], io)).toBe(0);
      expect(io.out.join("")).toContain(`seed ${seed},`);
      // The pixels (the files differ in their "parameters" text, which names the seed as given).
      return pngjs.PNG.sync.read(readFileSync(join(dir, `${seed}.png`))).data;
    };
    const a = await png("-1");
    expect(a.equals(await png("18446744073709551615"))).toBe(true);
    expect(a.equals(await png("9007199254740993"))).toBe(false);
  });
});
