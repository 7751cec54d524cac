/**
 * `quantize: "int8"` in the TypeScript converter (issue 28, item 1): the text encoder's and the
 * transformer's nn.Linear weights as int8 (onnxruntime's DynamicQuantizeMatMul), the VQ-VAE's decoder
 * float, attention's products of activations and the float64 log_softmax float.
 *
 * - The graphs: which operators hold the weights, in which component.
 * - The option: its own conversion-cache entry; bad values refused naming the option.
 * - Quality: the int8 conversion of D and tiny-learnable loads and runs every recorded diffusers case
 *   (ids exact: the tokenizer is not quantized), and its final tokens agree with diffusers' float32
 *   run at least as often as the Python exporter's int8 folders did (92.0 % on D, 90.8 % on
 *   tiny-learnable, measured by the former test/quantized.test.ts): an int8 model is another model,
 *   so equality is not the contract, but a broken scale gives near-random tokens and fails it.
 */
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { checkConvertOptions, convertPipeline } from "../src/convert/convertPipeline.js";
import { listCheckpointFolder } from "../src/node/convertFolder.js";
import { convertedFolderPath, type OpenedCheckpoint } from "../src/node/conversionCache.js";
import { directorySource } from "../src/node/directorySource.js";
import { VQDiffusionPipeline } from "../src/node.js";
import { copyCheckpoint, D_BIN, memorySink, temporaryAssetsCache } from "./helpers/convertFixtures.js";
import { casePrompts, promptIds, runCase } from "./helpers/diffusersCases.js";
import { readCaseFile } from "./helpers/realGoldenParity.js";
import { listCheckpoints } from "./helpers/recordedCheckpoints.js";

const { onnx } = onnxProto;

temporaryAssetsCache();

/** The converted folder's files, in memory. */
async function convertInMemory(checkpoint: string, quantize: "int8" | undefined): Promise<Map<string, Uint8Array>> {
  const { sink, files } = memorySink();
  await convertPipeline(directorySource(checkpoint), await listCheckpointFolder(checkpoint), sink, { quantize });
  return files;
}

/** The nodes of a written graph, and the names of its initializers. */
function graphOf(bytes: Uint8Array): { nodes: { opType: string; input: string[]; to: number }[]; initializers: Set<string> } {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  return {
    nodes: graph.node!.map((n) => ({ opType: n.opType!, input: n.input!, to: Number(n.attribute!.find((a) => a.name === "to")?.i ?? -1) })),
    initializers: new Set(graph.initializer!.map((t) => t.name!)),
  };
}

describe('D converted with quantize: "int8": the graphs', async () => {
  const int8 = await convertInMemory(D_BIN, "int8");
  const fp32 = await convertInMemory(D_BIN, undefined);

  for (const component of ["text_encoder", "transformer"]) {
    it(`${component}: every nn.Linear is a DynamicQuantizeMatMul on int8 weights; the MatMuls left multiply activations`, () => {
      const { nodes, initializers } = graphOf(int8.get(`${component}/model.onnx`)!);
      const quantized = nodes.filter((n) => n.opType === "DynamicQuantizeMatMul");
      const float = graphOf(fp32.get(`${component}/model.onnx`)!);
      // as many as the float graph's MatMuls on a weight
      expect(quantized.length).toBe(float.nodes.filter((n) => n.opType === "MatMul" && n.input.some((i) => float.initializers.has(i))).length);
      expect(quantized.length).toBeGreaterThan(0);
      for (const n of quantized) expect(initializers.has(n.input[1])).toBe(true);
      for (const n of nodes.filter((m) => m.opType === "MatMul" || m.opType === "Gemm")) expect(n.input.some((i) => initializers.has(i)), n.input.join(", ")).toBe(false);
      expect(int8.get(`${component}/model.onnx.data`)!.length).toBeLessThan(fp32.get(`${component}/model.onnx.data`)!.length);
    });
  }

  it("transformer: the log_softmax is taken in float64 (a Cast to double before LogSoftmax), as diffusers takes it", () => {
    const { nodes } = graphOf(int8.get("transformer/model.onnx")!);
    const i = nodes.findIndex((n) => n.opType === "LogSoftmax");
    expect(nodes[i - 1]).toMatchObject({ opType: "Cast", to: onnx.TensorProto.DataType.DOUBLE });
  });

  it("the VQ-VAE's decoder and the small files are the float conversion's, byte for byte", () => {
    expect([...int8.keys()].sort()).toEqual([...fp32.keys()].sort());
    for (const path of int8.keys()) if (!/^(text_encoder|transformer)\/model\.onnx/.test(path)) expect(int8.get(path), path).toEqual(fp32.get(path));
  });
});

describe("the quantize option", () => {
  it("refuses a value other than int8, naming the option", () => {
    expect(() => checkConvertOptions({ quantize: "int4" as "int8" })).toThrow('quantize: expected "int8" (or no quantize: float weights), got "int4"');
    expect(() => checkConvertOptions({ quantize: null as unknown as "int8" })).toThrow('quantize: expected "int8" (or no quantize: float weights), got null');
  });
  it("fromPretrained refuses it before reading anything", async () => {
    await expect(VQDiffusionPipeline.fromPretrained("./no-such-folder", { quantize: "uint8" as "int8" })).rejects.toThrow('quantize: expected "int8" (or no quantize: float weights), got "uint8"');
  });
  it("has its own conversion-cache entry; an unquantized one keeps its name", () => {
    const checkpoint = { cacheKey: "models--org--name/0123456789abcdef0123456789abcdef01234567" } as OpenedCheckpoint;
    const env = { HF_ASSETS_CACHE: "/cache" };
    expect(convertedFolderPath(checkpoint, {}, env)).toBe("/cache/vq-diffusion/models--org--name/0123456789abcdef0123456789abcdef01234567/dtype=fp32,variant=default,converter=1");
    expect(convertedFolderPath(checkpoint, { quantize: "int8" }, env)).toBe("/cache/vq-diffusion/models--org--name/0123456789abcdef0123456789abcdef01234567/dtype=fp32,quantize=int8,variant=default,converter=1");
    expect(convertedFolderPath(checkpoint, { quantize: "int8", dtype: "fp16", variant: "fp16" }, env)).toBe("/cache/vq-diffusion/models--org--name/0123456789abcdef0123456789abcdef01234567/dtype=fp16,quantize=int8,variant=fp16,converter=1");
  });
});

/**
 * Share of final tokens equal to diffusers' float32 ones over every recorded case, per checkpoint:
 * the Python exporter's int8 folders gave 206/224 (92.0 %) on D and 227/250 (90.8 %) on
 * tiny-learnable; the TypeScript int8 conversion is held to at least that.
 */
const PYTHON_INT8 = { D: 206 / 224, "tiny-learnable": 227 / 250 } as const;

const agreement: Record<string, string> = {};
afterAll(() => console.log(`int8 token agreement with diffusers' float32 run: ${JSON.stringify(agreement)}`));

for (const ckpt of listCheckpoints().filter((c) => Object.hasOwn(PYTHON_INT8, c.name))) {
  describe(`${ckpt.name} converted with quantize: "int8" (fromPretrained on the diffusers folder)`, () => {
    it("loads and generates every recorded case: ids exact, every step runs; final tokens agree with diffusers at least as the Python int8 did", async () => {
      const pipe = await VQDiffusionPipeline.fromPretrained(copyCheckpoint(ckpt.diffusersFolder), { quantize: "int8" });
      let equal = 0;
      let total = 0;
      for (const c of readCaseFile(ckpt.casesFile).cases) {
        expect(promptIds(pipe, casePrompts(c))).toEqual(c.input_ids);
        const { out, after } = await runCase(pipe, c);
        expect(after.length).toBe(c.tokens_after_each_step.length);
        expect(out.images.length).toBe(c.tokens.length);
        const final = c.tokens.flat();
        equal += final.filter((t, i) => out.tokens.data[i] === t).length;
        total += final.length;
      }
      await pipe.release();
      agreement[ckpt.name] = `${equal}/${total} (${((100 * equal) / total).toFixed(1)} %)`;
      expect(equal / total).toBeGreaterThanOrEqual(PYTHON_INT8[ckpt.name as keyof typeof PYTHON_INT8]);
    });
  });
}
