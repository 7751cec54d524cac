/**
 * Encodes a {@link GraphBuilder}'s graph as an ONNX ModelProto with the onnx-proto library. Weights
 * of `externalThreshold` bytes or more go to ONE external data file (`model.onnx.data` beside
 * `model.onnx`), each at a 4096-byte-aligned offset, read and written one at a time; smaller ones
 * are held in the model. The core imports no Node.js built-in: the caller gives where the data
 * bytes go (`writeData`) and writes the returned model bytes itself.
 */
import onnxProto from "onnx-proto";
import { ONNX_ELEM_TYPE, type AttributeValue, type GraphBuilder, type InlineTensor } from "./graphBuilder.js";

const { onnx } = onnxProto;

/** Options of {@link writeOnnxModel}. */
export interface WriteOnnxModelOptions {
  /** The default domain's opset (default 17). */
  readonly opset?: number;
  /** The external data file's name, relative to the model file (default "model.onnx.data"). */
  readonly dataLocation?: string;
  /** Appends bytes to the external data file, in order. */
  readonly writeData: (chunk: Uint8Array) => Promise<void>;
  /** Weights of at least this many bytes go to the data file (default 1024). */
  readonly externalThreshold?: number;
  /** Aborts between weights; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Called after each weight is written, with the data bytes written so far. */
  readonly onWeight?: (name: string, dataBytes: number) => void;
}

/** What {@link writeOnnxModel} wrote. */
export interface WrittenOnnxModel {
  /** The ModelProto's bytes (`model.onnx`). */
  readonly model: Uint8Array;
  /** Bytes written to the data file (0 when no weight went there). */
  readonly dataBytes: number;
}

/** The alignment of each weight in the external data file (a page: onnxruntime maps the file). */
export const EXTERNAL_DATA_ALIGNMENT = 4096;

function attributeProto(name: string, value: AttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  switch (value.kind) {
    case "int":
      return onnx.AttributeProto.create({ name, type: T.INT, i: value.value });
    case "ints":
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...value.value] });
    case "float":
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.value });
    case "floats":
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...value.value] });
    case "string":
      return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(value.value) });
    case "tensor":
      return onnx.AttributeProto.create({ name, type: T.TENSOR, t: inlineTensorProto("", value.value) });
  }
}

function inlineTensorProto(name: string, t: InlineTensor): InstanceType<typeof onnx.TensorProto> {
  return onnx.TensorProto.create({ name, dims: [...t.dims], dataType: ONNX_ELEM_TYPE[t.elemType], rawData: t.rawData });
}

function valueInfo(v: { name: string; elemType: keyof typeof ONNX_ELEM_TYPE; dims: readonly (number | string)[] }): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_ELEM_TYPE[v.elemType],
        shape: { dim: v.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/**
 * Writes `graph`: its weights, in declaration order, through `options.writeData`, and returns the
 * model's bytes.
 *
 * @throws Error naming the weight when its bytes are not `byteLength` long; `signal.reason` when aborted.
 *
 * @example
 * ```ts
 * const chunks: Uint8Array[] = [];
 * const { model, dataBytes } = await writeOnnxModel(g, { writeData: async (c) => void chunks.push(c) });
 * // model.onnx ← model; model.onnx.data ← the chunks, in order
 * ```
 */
export async function writeOnnxModel(graph: GraphBuilder, options: WriteOnnxModelOptions): Promise<WrittenOnnxModel> {
  const location = options.dataLocation ?? "model.onnx.data";
  const threshold = options.externalThreshold ?? 1024;
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  let offset = 0;
  const usedDomains = new Set<string>();
  for (const node of graph.nodes) if (node.domain !== "") usedDomains.add(node.domain);
  for (const w of graph.weights) {
    options.signal?.throwIfAborted();
    const bytes = await w.bytes(options.signal);
    if (bytes.length !== w.byteLength) {
      throw new Error(`${graph.name}: weight ${JSON.stringify(w.name)}: expected ${w.byteLength} bytes for ${w.elemType} [${w.dims.join(", ")}], got ${bytes.length}`);
    }
    if (w.byteLength < threshold) {
      initializers.push(onnx.TensorProto.create({ name: w.name, dims: [...w.dims], dataType: ONNX_ELEM_TYPE[w.elemType], rawData: bytes }));
      continue;
    }
    const pad = (EXTERNAL_DATA_ALIGNMENT - (offset % EXTERNAL_DATA_ALIGNMENT)) % EXTERNAL_DATA_ALIGNMENT;
    if (pad > 0) {
      await options.writeData(new Uint8Array(pad));
      offset += pad;
    }
    await options.writeData(bytes);
    initializers.push(
      onnx.TensorProto.create({
        name: w.name,
        dims: [...w.dims],
        dataType: ONNX_ELEM_TYPE[w.elemType],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: location },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(bytes.length) },
        ],
      }),
    );
    offset += bytes.length;
    options.onWeight?.(w.name, offset);
  }
  for (const [name, t] of graph.constants) initializers.push(inlineTensorProto(name, t));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "vq-diffusion",
    opsetImport: [{ domain: "", version: options.opset ?? 17 }, ...[...usedDomains].sort().map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) =>
        onnx.NodeProto.create({
          name: n.name,
          opType: n.opType,
          domain: n.domain,
          input: [...n.inputs],
          output: [...n.outputs],
          attribute: Object.entries(n.attributes).map(([k, v]) => attributeProto(k, v)),
        }),
      ),
      initializer: initializers,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return { model: onnx.ModelProto.encode(model).finish(), dataBytes: offset };
}
