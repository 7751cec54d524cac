/** Config round trips: object → scheduler → JSON → file → scheduler, and the config errors. */
import { mkdtemp, readFile, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { readSchedulerConfig, VQDiffusionScheduler, type SchedulerConfigJSON } from "../src/node.js";
import { VQDiffusionScheduler as CoreScheduler } from "../src/index.js";

const ITHQ = {
  _class_name: "VQDiffusionScheduler",
  _diffusers_version: "0.10.0.dev0",
  alpha_cum_end: 0.000009,
  alpha_cum_start: 0.99999,
  gamma_cum_end: 0.99999,
  gamma_cum_start: 0.000009,
  num_train_timesteps: 100,
  num_vec_classes: 4097,
};

function sameScheduler(a: CoreScheduler, b: CoreScheduler): void {
  expect(b.config).toEqual(a.config);
  for (const k of ["logAt", "logBt", "logCt", "logCumprodAt", "logCumprodBt", "logCumprodCt", "timesteps"] as const) {
    expect(b[k]).toEqual(a[k]);
  }
}

describe("fromConfig / toJSON", () => {
  it("reads the published ITHQ scheduler config", () => {
    const s = CoreScheduler.fromConfig(ITHQ);
    expect(s.config).toEqual({
      numVecClasses: 4097,
      numTrainTimesteps: 100,
      alphaCumStart: 0.99999,
      alphaCumEnd: 0.000009,
      gammaCumStart: 0.000009,
      gammaCumEnd: 0.99999,
    });
    expect(s.numEmbed).toBe(4097);
    expect(s.maskClass).toBe(4096);
    expect(Object.isFrozen(s.config)).toBe(true);
  });
  it("writes _class_name and the six options in snake_case (no _diffusers_version for a scheduler not read from a config)", () => {
    const { _diffusers_version, ...rest } = ITHQ;
    expect(_diffusers_version).toBe("0.10.0.dev0");
    expect(new CoreScheduler({ numVecClasses: 4097 }).toJSON()).toEqual(rest);
    expect("_diffusers_version" in new CoreScheduler({ numVecClasses: 4097 }).toJSON()).toBe(false);
  });
  it("writes back the _diffusers_version of the config it was read from: read then written, a config is unchanged", () => {
    expect(CoreScheduler.fromConfig(ITHQ).toJSON()).toEqual(ITHQ);
    expect(JSON.stringify(CoreScheduler.fromConfig(ITHQ).toJSON())).toBe(JSON.stringify(CoreScheduler.fromConfig(JSON.parse(JSON.stringify(ITHQ))).toJSON()));
  });
  it("fills defaults for missing keys", () => {
    expect(CoreScheduler.fromConfig({ num_vec_classes: 17 }).config.numTrainTimesteps).toBe(100);
  });
  it("round-trips object → scheduler → JSON text → scheduler", () => {
    const a = new CoreScheduler({ numVecClasses: 33, numTrainTimesteps: 50, alphaCumStart: 0.9, alphaCumEnd: 0.1, gammaCumStart: 0.05, gammaCumEnd: 0.8 });
    sameScheduler(a, CoreScheduler.fromConfig(JSON.parse(JSON.stringify(a))));
  });
  it.each([
    [{ _class_name: "DDPMScheduler", num_vec_classes: 5 }, 'config._class_name: expected "VQDiffusionScheduler", got "DDPMScheduler"'],
    [{ num_train_timesteps: 100 }, "config.num_vec_classes: expected an integer >= 2, got undefined"],
    [{ num_vec_classes: "5" }, 'config.num_vec_classes: expected a number, got "5"'],
    [[1, 2], "config: expected a scheduler_config.json object, got [1, 2]"],
    [null, "config: expected a scheduler_config.json object, got null"],
  ])("rejects %j", (json, message) => {
    expect(() => CoreScheduler.fromConfig(json as never)).toThrow(new Error(message));
  });
  it("ignores keys it does not take, as diffusers does, with a warning to onWarning only (the core prints nothing)", () => {
    const warn = vi.spyOn(console, "warn");
    const log = vi.spyOn(console, "log");
    const error = vi.spyOn(console, "error");
    try {
      const json = { ...ITHQ, beta_start: 0.1, num_layers: 3, _ignored_metadata: 1 };
      sameScheduler(CoreScheduler.fromConfig(ITHQ), CoreScheduler.fromConfig(json));
      const warnings: string[] = [];
      CoreScheduler.fromConfig(json, { onWarning: (m) => warnings.push(m) });
      expect(warnings).toEqual([
        "config: ignoring the keys beta_start, num_layers, as diffusers does: VQDiffusionScheduler takes num_vec_classes, num_train_timesteps, alpha_cum_start, alpha_cum_end, gamma_cum_start, gamma_cum_end",
      ]);
      CoreScheduler.fromConfig(json, { onWarning: (m) => warnings.push(m), file: "scheduler/scheduler_config.json" });
      expect(warnings[1]).toMatch(/^scheduler\/scheduler_config.json: ignoring the keys beta_start, num_layers, as diffusers does/);
      CoreScheduler.fromConfig(ITHQ, { onWarning: (m) => warnings.push(m) });
      expect(warnings).toHaveLength(2);
      expect([warn, log, error].map((s) => s.mock.calls.length)).toEqual([0, 0, 0]);
    } finally {
      vi.restoreAllMocks();
    }
  });
  it("names the file in every error when options.file is given", () => {
    const file = "scheduler/scheduler_config.json";
    expect(() => CoreScheduler.fromConfig({ num_vec_classes: "5" }, { file })).toThrow(new Error(`${file}: key num_vec_classes: expected a number, got "5"`));
    expect(() => CoreScheduler.fromConfig({}, { file })).toThrow(new Error(`${file}: key num_vec_classes: expected an integer >= 2, got undefined`));
    expect(() => CoreScheduler.fromConfig({ _class_name: "DDPMScheduler", num_vec_classes: 5 }, { file })).toThrow(
      new Error(`${file}: key _class_name: expected "VQDiffusionScheduler", got "DDPMScheduler"`),
    );
    expect(() => CoreScheduler.fromConfig([] as never, { file })).toThrow(new Error(`${file}: expected a scheduler_config.json object, got []`));
    expect(() => CoreScheduler.fromConfig({ num_vec_classes: 5, num_train_timesteps: 1 }, { file })).toThrow(
      new Error(`${file}: numTrainTimesteps: expected an integer in [2, 10000], got 1`),
    );
    expect(() => CoreScheduler.fromConfig({ num_vec_classes: 5 }, { onWarning: "yes" as never })).toThrow(new Error('onWarning: expected a function (message: string) => void, got "yes"'));
  });
});

describe("fromPretrained / saveConfig (vq-diffusion/node)", () => {
  it("loads a diffusers model folder's scheduler/scheduler_config.json", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vqd-"));
    await mkdir(join(dir, "scheduler"));
    await writeFile(join(dir, "scheduler", "scheduler_config.json"), JSON.stringify(ITHQ));
    const s = await VQDiffusionScheduler.fromPretrained(dir, { subfolder: "scheduler" });
    expect(s).toBeInstanceOf(VQDiffusionScheduler);
    expect(s).toBeInstanceOf(CoreScheduler);
    sameScheduler(new CoreScheduler({ numVecClasses: 4097 }), s);
  });
  it("saves a config that loads back to an identical scheduler", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vqd-"));
    const a = new VQDiffusionScheduler({ numVecClasses: 129, numTrainTimesteps: 37, gammaCumEnd: 0.9 });
    const file = await a.saveConfig(join(dir, "out", "scheduler"));
    expect(file).toBe(join(dir, "out", "scheduler", "scheduler_config.json"));
    expect(JSON.parse(await readFile(file, "utf8"))._class_name).toBe("VQDiffusionScheduler");
    const b = await VQDiffusionScheduler.fromPretrained(join(dir, "out"), { subfolder: "scheduler" });
    sameScheduler(a, b);
    expect(b.toJSON()).toEqual(a.toJSON());
  });
  it("says which file is missing or malformed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vqd-"));
    await expect(VQDiffusionScheduler.fromPretrained(dir)).rejects.toThrow(
      new Error(`pretrainedModelNameOrPath: expected a folder holding scheduler_config.json or scheduler/scheduler_config.json, got ${dir}, which has neither`),
    );
    await expect(readSchedulerConfig(dir, { subfolder: "scheduler" })).rejects.toThrow(
      new Error(`dir: expected a folder holding scheduler/scheduler_config.json, got ${dir}, which has no such file`),
    );
    await writeFile(join(dir, "scheduler_config.json"), "{ not json");
    await expect(VQDiffusionScheduler.fromPretrained(dir)).rejects.toThrow(new RegExp(`^${join(dir, "scheduler_config.json")}: expected JSON, got a parse error`));
    await expect(VQDiffusionScheduler.fromPretrained("")).rejects.toThrow(
      new Error('pretrainedModelNameOrPath: expected a bundled model (fashion-mnist), a folder (an existing one, or a path starting with ./, ../ or /), an http(s):// URL, or a Hub model id org/name, got ""'),
    );
    await expect(readSchedulerConfig("")).rejects.toThrow(new Error('dir: expected a folder path, got ""'));
    const file = join(dir, "scheduler_config.json");
    await writeFile(file, JSON.stringify({ num_vec_classes: "5" }));
    await expect(readSchedulerConfig(dir)).rejects.toThrow(new Error(`${file}: key num_vec_classes: expected a number, got "5"`));
    await writeFile(file, JSON.stringify({ num_vec_classes: 5, num_train_timesteps: 1 }));
    await expect(VQDiffusionScheduler.fromPretrained(dir)).rejects.toThrow(new Error(`${file}: numTrainTimesteps: expected an integer in [2, 10000], got 1`));
    // Unknown keys: warned once, naming the file, and ignored.
    await writeFile(file, JSON.stringify({ num_vec_classes: 5, num_layers: 3 }));
    const warnings: string[] = [];
    const s = await VQDiffusionScheduler.fromPretrained(dir, { onWarning: (m) => warnings.push(m) });
    expect(s.numEmbed).toBe(5);
    expect(warnings).toEqual([`${file}: ignoring the keys num_layers, as diffusers does: VQDiffusionScheduler takes num_vec_classes, num_train_timesteps, alpha_cum_start, alpha_cum_end, gamma_cum_start, gamma_cum_end`]);
    await writeFile(join(dir, "scheduler_config.json"), JSON.stringify({ ...ITHQ, _diffusers_version: "0.31.0" }));
    const json: SchedulerConfigJSON = await readSchedulerConfig(dir);
    expect(json.num_vec_classes).toBe(4097);
  });
  it("saveConfig settles with an Error naming the path on special file systems, files in the way and unwritable places", async () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 5 });
    // Node's own recursive mkdir never settles here; ours fails at once.
    // sysfs refuses new entries even to root (EPERM here; EROFS or EACCES elsewhere): the message still says what was expected and what came.
    await expect(s.saveConfig("/sys/x")).rejects.toThrow(/^dir: expected a folder that can be created at \/sys\/x, got E[A-Z]+: [^,]+, mkdir '\/sys\/x'$/);
    await expect(s.saveConfig("/proc/x")).rejects.toThrow(/^dir: expected a folder that can be created at \/proc\/x, got ENOENT: no such file or directory, mkdir '\/proc\/x'$/);
    const dir = await mkdtemp(join(tmpdir(), "vqd-"));
    await writeFile(join(dir, "file"), "x");
    await expect(s.saveConfig(join(dir, "file"))).rejects.toThrow(`dir: expected a folder (or a path to create one), got ${join(dir, "file")}, which is a file`);
    await expect(s.saveConfig(join(dir, "file", "sub"))).rejects.toThrow(`dir: expected a folder (or a path to create one), got ${join(dir, "file")}, which is a file`);
    await mkdir(join(dir, "ro"));
    await mkdir(join(dir, "ro", "scheduler_config.json"));
    const inTheWay = join(dir, "ro", "scheduler_config.json");
    await expect(s.saveConfig(join(dir, "ro"))).rejects.toThrow(
      new Error(`dir: expected a writable file at ${inTheWay}, got EISDIR: illegal operation on a directory, open '${inTheWay}'`),
    );
  });
});
