/**
 * `vq-diffusion generate --model org/name` against a Hub on 127.0.0.1: a download bar on a terminal,
 * then --offline from the cache with the server stopped; HF_ENDPOINT and HF_HUB_CACHE set the Hub
 * and the cache as for Python's huggingface_hub.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import { readFolder, startHubServer } from "./helpers/hubServer.mjs";

const FASHION = new URL("../models/fashion-mnist/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "vqd-hubcli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(tty: boolean): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: tty };
}

describe("vq-diffusion generate --model org/name", () => {
  it("downloads with a bar on a terminal, then runs --offline from the cache with the server stopped", async () => {
    const server = await startHubServer({ repos: { "org/fashion": { commits: { ["3".repeat(40)]: readFolder(FASHION) }, refs: { main: "3".repeat(40) } } } });
    const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
    process.env.HF_ENDPOINT = server.url;
    process.env.HF_HUB_CACHE = join(dir, "cache");
    delete process.env.HF_HUB_OFFLINE;
    try {
      const argv = ["generate", "--model", "org/fashion", "--prompt", "bag", "--steps", "2", "--images", "1"];
      const io = capture(true);
      expect(await main([...argv, "--out", join(dir, "a.png")], io)).toBe(0);
      const err = io.err.join("");
      expect(err).toMatch(/\[#{30}\] downloading 7\.2\/7\.2 MB /); // the ONNX files of models/fashion-mnist: 7.2 MB
      expect(err).toContain("\r\x1b[K");
      expect(io.out.join("")).toMatch(/^wrote .*a\.png: 1 image of "bag" in 2 steps \(model org\/fashion,/);
      expect(existsSync(join(dir, "cache", "models--org--fashion", "refs", "main"))).toBe(true);

      await server.stop();
      const offline = capture(false);
      expect(await main([...argv, "--offline", "--out", join(dir, "b.png")], offline)).toBe(0);
      expect(offline.err).toEqual([]);
      const missing = capture(false);
      expect(await main(["generate", "--model", "org/other", "--prompt", "bag", "--offline", "--out", join(dir, "c.png")], missing)).toBe(1);
      expect(missing.err.join("")).toBe(
        `vq-diffusion: org/other: offline (localFilesOnly, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), and the cache ${join(dir, "cache", "models--org--other")} has no copy of revision "main": load it once online first\n`,
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
