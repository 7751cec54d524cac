/**
 * A small builder of ONNX graphs: the converter writes each component's network (CLIP's text
 * encoder, diffusers' Transformer2DModel, VQModel's decoder) as a sequence of `node` calls, with
 * the checkpoint's tensors as lazily read weights. {@link writeOnnxModel} then encodes it with the
 * onnx-proto library, the weights in one external data file.
 *
 * Value names are unique within a graph: the builder names each node's outputs from the current
 * scope (`scope("transformer_blocks.0", …)`) and the operator, so a graph reads like the module
 * tree it came from.
 */
import type { CheckpointDType } from "../../formats/checkpointTensor.js";

/** The element types a graph's values and tensors use (ONNX's TensorProto.DataType). */
export type ElemType = "float32" | "float16" | "float64" | "bfloat16" | "int64" | "int32" | "int8" | "uint8" | "bool";

/** ONNX's TensorProto.DataType code of each {@link ElemType}. */
export const ONNX_ELEM_TYPE: Readonly<Record<ElemType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

/** Bytes per element of each {@link ElemType}. */
export const ELEM_BYTES: Readonly<Record<ElemType, number>> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  bfloat16: 2,
};

/** The {@link ElemType} a checkpoint dtype is stored as. */
export function elemTypeOf(dtype: CheckpointDType): ElemType {
  return dtype;
}

/** How a graph stores `nn.Linear` weights: float32, or int8 with per-column scales (weight-only quantization). */
export type LinearWeights = "float32" | "int8";

/** How a graph stores its float weights: as float32, or as float16 widened by a Cast when the model loads. */
export type FloatStorage = "float32" | "float16";

/** A dimension of a graph input or output: a size, or a symbolic name (a dynamic axis such as `"batch"`). */
export type Dim = number | string;

/**
 * An attribute's value, tagged with its ONNX type (a bare number would not say whether `1` is an
 * int or a float). Build them with {@link attr}.
 */
export type AttributeValue =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "tensor"; readonly value: InlineTensor };

/**
 * Constructors of {@link AttributeValue}s.
 *
 * @example
 * ```ts
 * g.op("Softmax", [x], { axis: attr.int(-1) });
 * g.op("LayerNormalization", [x, w, b], { axis: attr.int(-1), epsilon: attr.float(1e-5) });
 * ```
 */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: "int", value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: "ints", value }),
  float: (value: number): AttributeValue => ({ kind: "float", value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: "floats", value }),
  string: (value: string): AttributeValue => ({ kind: "string", value }),
  tensor: (value: InlineTensor): AttributeValue => ({ kind: "tensor", value }),
};

/** A small tensor held in the graph itself (shapes, axes, scalars). */
export interface InlineTensor {
  readonly elemType: ElemType;
  readonly dims: readonly number[];
  /** Its elements, little-endian, row-major. */
  readonly rawData: Uint8Array;
}

/**
 * A weight of the graph, read when the model is written: `bytes()` returns its elements
 * (little-endian, row-major, `byteLength` bytes), typically by reading one checkpoint tensor and
 * transforming it (a transpose, a dtype change). It is called once, and its result is dropped
 * once written, so only one weight is in memory at a time.
 */
export interface LazyInitializer {
  readonly name: string;
  readonly elemType: ElemType;
  readonly dims: readonly number[];
  readonly byteLength: number;
  bytes(signal?: AbortSignal): Promise<Uint8Array>;
}

/** One node of the graph, as the builder records it. */
export interface GraphNode {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** A graph input or output. */
export interface GraphValueInfo {
  readonly name: string;
  readonly elemType: ElemType;
  readonly dims: readonly Dim[];
}

/** Options of {@link GraphBuilder.node}. */
export interface NodeOptions {
  /** How many outputs the node has (default 1). */
  readonly outputs?: number;
  /** The operator's domain: "" (ONNX, default) or "com.microsoft" (onnxruntime's contrib operators). */
  readonly domain?: string;
  /** The outputs' names instead of generated ones (graph outputs must be named so). */
  readonly names?: readonly string[];
}

function littleEndian(values: ArrayLike<number> | readonly bigint[], elemType: ElemType): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n * ELEM_BYTES[elemType]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (elemType) {
      case "float32":
        view.setFloat32(4 * i, Number(v), true);
        break;
      case "float64":
        view.setFloat64(8 * i, Number(v), true);
        break;
      case "int64":
        view.setBigInt64(8 * i, BigInt(v), true);
        break;
      case "int32":
        view.setInt32(4 * i, Number(v), true);
        break;
      case "int8":
        view.setInt8(i, Number(v));
        break;
      case "uint8":
      case "bool":
        view.setUint8(i, Number(v));
        break;
      default:
        throw new Error(`constant: expected an element type of float32, float64, int64, int32, int8, uint8 or bool, got ${elemType}`);
    }
  }
  return out;
}

/**
 * Builds one ONNX graph.
 *
 * @example
 * ```ts
 * const g = new GraphBuilder("vqvae_decoder");
 * const x = g.input("indices", "int64", ["batch", 1024]);
 * const w = g.weight("quantize.embedding.weight", "float32", [4096, 128], () => tensor.read());
 * const e = g.op("Gather", [w, x], { axis: attr.int(0) });
 * g.output(g.op("Identity", [e], {}, { names: ["sample"] }), "float32", ["batch", 1024, 128]);
 * ```
 */
export class GraphBuilder {
  readonly name: string;
  readonly inputs: GraphValueInfo[] = [];
  readonly outputs: GraphValueInfo[] = [];
  readonly nodes: GraphNode[] = [];
  readonly weights: LazyInitializer[] = [];
  readonly constants: Map<string, InlineTensor> = new Map();
  private readonly used = new Set<string>();
  private readonly prefixes: string[] = [];
  private counter = 0;

  /**
   * How `nn.Linear` weights are stored (see `linear` in convert/weights.ts): "float32" (default) as
   * MatMul on float32 weights; "int8" as onnxruntime's DynamicQuantizeMatMul on per-column int8 weights.
   */
  readonly linearWeights: LinearWeights;
  /**
   * How float weights are stored (see `floatWeight` in convert/weights.ts): "float32" (default), or
   * "float16" followed by a Cast to float32, so that the graph's arithmetic stays float32.
   */
  readonly floatStorage: FloatStorage;

  constructor(name: string, options: { linearWeights?: LinearWeights; floatStorage?: FloatStorage } = {}) {
    this.name = name;
    this.linearWeights = options.linearWeights ?? "float32";
    this.floatStorage = options.floatStorage ?? "float32";
  }

  /** Runs `build` with names prefixed by `prefix` (nested scopes join with "/"), and returns its result. */
  scope<T>(prefix: string, build: () => T): T {
    this.prefixes.push(prefix);
    try {
      return build();
    } finally {
      this.prefixes.pop();
    }
  }

  /** A fresh value name from the current scope and `hint`. */
  fresh(hint: string): string {
    const base = [...this.prefixes, hint].join("/");
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph ${this.name}: expected a new value name, got ${JSON.stringify(name)} twice`);
    this.used.add(name);
    return name;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), elemType, dims: [...dims] });
    return name;
  }

  /** Declares the existing value `name` a graph output. */
  output(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    if (!this.used.has(name)) throw new Error(`graph ${this.name}: expected output ${JSON.stringify(name)} to be a value of the graph, got no such value`);
    this.outputs.push({ name, elemType, dims: [...dims] });
  }

  /**
   * A weight stored in the external data file (or inline when small, at the writer's choice),
   * read by `bytes` when the model is written. `name` is kept as given (the checkpoint's key, so a
   * graph's weights can be traced to the state dict).
   */
  weight(name: string, elemType: ElemType, dims: readonly number[], bytes: (signal?: AbortSignal) => Promise<Uint8Array>): string {
    let count = 1;
    for (const d of dims) count *= d;
    this.weights.push({ name: this.claim(name), elemType, dims: [...dims], byteLength: count * ELEM_BYTES[elemType], bytes });
    return name;
  }

  /**
   * A small constant held in the graph (shapes, axes, scalars, small tables), named from the
   * current scope and `hint`.
   */
  constant(elemType: ElemType, dims: readonly number[], values: ArrayLike<number> | readonly bigint[], hint = "const"): string {
    let count = 1;
    for (const d of dims) count *= d;
    if (values.length !== count) throw new Error(`constant ${hint}: expected ${count} values for dims [${dims.join(", ")}], got ${values.length}`);
    const name = this.fresh(hint);
    this.constants.set(name, { elemType, dims: [...dims], rawData: littleEndian(values, elemType) });
    return name;
  }

  /** An int64 vector constant (Reshape's shape, Unsqueeze's axes, Slice's bounds). */
  ints(values: readonly number[], hint = "shape"): string {
    return this.constant("int64", [values.length], values, hint);
  }

  /** A float32 scalar constant. */
  scalar(value: number, hint = "scalar", elemType: ElemType = "float32"): string {
    return this.constant(elemType, [], [value], hint);
  }

  /** Adds a node and returns its outputs' names. */
  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, options: NodeOptions = {}): string[] {
    const count = options.names?.length ?? options.outputs ?? 1;
    const outputs = options.names !== undefined ? options.names.map((n) => this.claim(n)) : Array.from({ length: count }, () => this.fresh(opType));
    this.nodes.push({
      opType,
      domain: options.domain ?? "",
      name: outputs[0] ?? this.fresh(opType),
      inputs: [...inputs],
      outputs,
      attributes,
    });
    return outputs;
  }

  /** Adds a node with one output and returns its name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, options: NodeOptions = {}): string {
    return this.node(opType, inputs, attributes, options)[0];
  }
}
