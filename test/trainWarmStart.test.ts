/**
 * tools/train/warm_start.py (train_diffusers.py --init-from): the first recipe's transformer copied
 * into diffusers' Transformer2DModel, with the affine ada-norm folded into the timestep's linear map,
 * must give the first recipe's log p(x_0 | x_t) wherever the position table is the separable one
 * diffusers can hold; tools/train/tests/warm_start_check.py runs it on the committed weights.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const PYTHON = join(ROOT, "tools/export/.venv/bin/python");

interface WarmStartCheck {
  transformer_max_abs_diff: number;
  position_residual: number;
  text_fit: [number, number];
  size_error: string;
}

describe("tools/train warm start", () => {
  it("copies the first recipe's transformer into Transformer2DModel exactly but for the position fit", () => {
    const r = spawnSync(PYTHON, [join(ROOT, "tools/train/tests/warm_start_check.py")], { encoding: "utf8" });
    expect(r.stderr.trim().split("\n").pop() ?? "").not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const check = JSON.parse(r.stdout) as WarmStartCheck;
    // float32 against diffusers' float64 log_softmax: a few ulps of values up to about 20
    expect(check.transformer_max_abs_diff).toBeLessThan(1e-4);
    expect(check.position_residual).toBe(0.4508);
    expect(check.text_fit[1]).toBeLessThan(check.text_fit[0] / 10);
    expect(check.size_error).toBe(
      "--init-from: these options must match the weights' shapes: --dim is 96, the weights have 128, --length is 16, the weights have 8",
    );
  }, 120_000);
});
