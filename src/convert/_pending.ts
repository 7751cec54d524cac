/**
 * STAND-INS, TO BE DELETED: the readers (formats/) and the graph builders (convert/) are written on
 * other branches at the same time. Until they are merged, the conversion loop compiles against these
 * minimal versions, with the same signatures:
 * - readSafetensorsFile: F32 only, enough for the tests' fake checkpoints;
 * - readPyTorchZip, clipTokenizerJson: refuse ("not merged yet");
 * - the three builders: a one-weight graph per component (the real graphs come with the builders).
 * Nothing else imports this file but convert/convertPipeline.ts.
 */
import type { CheckpointTensor, RandomAccessFile, StateDict } from "../formats/checkpointTensor.js";
import type { ComponentConfig } from "./configValues.js";
import { GraphBuilder, type FloatStorage } from "./onnx/graphBuilder.js";

/** Stand-in of formats/safetensors.ts (F32 only, header parsed without the real reader's checks). */
export async function readSafetensorsFile(file: RandomAccessFile): Promise<StateDict> {
  const head = await file.read(0, 8);
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n > file.size - 8) throw new Error(`${file.name}: expected a header within the file, got a header length of ${n}`);
  const header = JSON.parse(new TextDecoder().decode(await file.read(8, n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (t.dtype !== "F32") throw new Error(`${file.name}: tensor "${name}": expected F32 (stand-in reader), got ${t.dtype}`);
    const [begin, end] = t.data_offsets;
    tensors.set(name, { name, dtype: "float32", shape: t.shape, byteLength: end - begin, read: () => file.read(8 + n + begin, end - begin) });
  }
  return { file: file.name, tensors };
}

/** Stand-in of formats/pytorchZip.ts. */
export async function readPyTorchZip(file: RandomAccessFile): Promise<StateDict> {
  throw new Error(`${file.name}: PyTorch zip checkpoints are read by formats/pytorchZip.ts, not merged on this branch yet`);
}

/** Stand-in of formats/clipTokenizerFiles.ts's input. */
export interface ClipSlowTokenizerFiles {
  readonly vocab: unknown;
  readonly merges: string;
  readonly tokenizerConfig?: unknown;
  readonly specialTokensMap?: unknown;
}

/** Stand-in of formats/clipTokenizerFiles.ts: CLIP's slow files → { tokenizer (tokenizer.json), config (tokenizer_config.json) }. */
export function clipTokenizerJson(files: ClipSlowTokenizerFiles, folder = "tokenizer"): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  void files;
  throw new Error(`${folder}/vocab.json: CLIP's slow tokenizer files are converted by formats/clipTokenizerFiles.ts, not merged on this branch yet`);
}

function oneWeightGraph(name: string, dict: StateDict, input: [string, "int64", (number | string)[]], output: [string, (number | string)[]]): GraphBuilder {
  const g = new GraphBuilder(name);
  const x = g.input(...input);
  const first = [...dict.tensors.values()][0];
  if (first === undefined) throw new Error(`${dict.file}: expected at least one tensor, got none`);
  const w = g.weight(first.name, "float32", first.shape, (signal) => first.read(signal));
  const cast = g.op("Cast", [x], { to: { kind: "int", value: 1 } });
  const sum = g.op("ReduceSum", [w], { keepdims: { kind: "int", value: 0 } });
  g.output(g.op("Add", [cast, sum], {}, { names: [output[0]] }), "float32", output[1]);
  return g;
}

/** Stand-in of convert/clipTextModel.ts. */
export function buildTextEncoderGraph(config: ComponentConfig, dict: StateDict, configFile = "text_encoder/config.json", options: { floatStorage?: FloatStorage } = {}): GraphBuilder {
  void config;
  void options;
  void configFile;
  return oneWeightGraph("text_encoder", dict, ["input_ids", "int64", ["batch", "sequence"]], ["last_hidden_state", ["batch", "sequence"]]);
}

/** Stand-in of convert/transformer2DModel.ts. */
export function buildTransformerGraph(config: ComponentConfig, dict: StateDict, configFile = "transformer/config.json", options: { floatStorage?: FloatStorage } = {}): GraphBuilder {
  void config;
  void options;
  void configFile;
  return oneWeightGraph("transformer", dict, ["hidden_states", "int64", ["batch", "pixels"]], ["sample", ["batch", "pixels"]]);
}

/** Stand-in of convert/vqModelDecoder.ts. */
export function buildVqvaeDecoderGraph(
  config: ComponentConfig,
  dict: StateDict,
  configFile = "vqvae/config.json",
  options: { grid?: { height: number; width: number }; floatStorage?: FloatStorage } = {},
): GraphBuilder {
  void config;
  void options;
  void configFile;
  return oneWeightGraph("vqvae_decoder", dict, ["indices", "int64", ["batch", "pixels"]], ["sample", ["batch", "pixels"]]);
}
