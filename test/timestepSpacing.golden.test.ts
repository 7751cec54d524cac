/**
 * Every timestep spacing against diffusers' own values (DDPMScheduler.set_timesteps, numpy's
 * formulas) over a grid of (T, n): test/fixtures/timestep-spacings.json, written by
 * tools/fixtures/make_timestep_spacings.py.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spacedTimesteps, type TimestepSpacing } from "../src/schedule/timestepSpacing.js";

interface Case { T: number; n: number; linspace: number[]; leading: number[]; trailing: number[] }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/timestep-spacings.json", import.meta.url), "utf8")) as { cases: Case[] };

describe("timestep spacings = diffusers' numpy formulas", () => {
  it("covers the grid, with the .5 ties of trailing (T = 100, n = 24: …, 91, 86)", () => {
    expect(fixture.cases.length).toBeGreaterThan(900);
    const c = fixture.cases.find((x) => x.T === 100 && x.n === 24)!;
    expect(c.trailing.slice(0, 4)).toEqual([99, 95, 91, 86]);
    expect([...spacedTimesteps(24, 100, "trailing")].slice(0, 4)).toEqual([99, 95, 91, 86]);
  });

  for (const spacing of ["linspace", "leading", "trailing"] as const satisfies readonly TimestepSpacing[]) {
    it(`${spacing}: every (T, n) of the grid`, () => {
      const wrong: string[] = [];
      for (const c of fixture.cases) {
        const ours = [...spacedTimesteps(c.n, c.T, spacing)];
        let expected = c[spacing];
        // diffusers' trailing arange can run one step long, ending in -1 (see timestepSpacing.ts): the chain is its first n.
        if (expected.length === c.n + 1 && expected[c.n] === -1) expected = expected.slice(0, c.n);
        if (JSON.stringify(ours) !== JSON.stringify(expected)) wrong.push(`T=${c.T} n=${c.n}: ${ours} vs ${expected}`);
      }
      expect(wrong.slice(0, 5)).toEqual([]);
    });
  }

  it("diffusers' one-long trailing chains end in exactly one -1 (what the chain leaves out)", () => {
    const long = fixture.cases.filter((c) => c.trailing.length !== c.n);
    expect(long.length).toBeGreaterThan(0);
    for (const c of long) expect([c.trailing.length, c.trailing[c.n]]).toEqual([c.n + 1, -1]);
  });
});
