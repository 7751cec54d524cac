/**
 * An ONNX model of the pipeline (text encoder, transformer, VQ-VAE decoder), run with the
 * onnxruntime module the caller hands in (onnxruntime-node or onnxruntime-web: both implement
 * onnxruntime-common's API). The core never imports onnxruntime itself; only its types.
 *
 * At load, the session's inputs and outputs are checked against the contract (docs/model-folder.md, "The networks"): names,
 * element types, ranks and every static size the folder's configs fix. A batch axis exported with a
 * static size (torch.onnx.export without `dynamic_axes`) is read as {@link OnnxComponent.staticBatch},
 * so that the pipeline can refuse, before any generation, a run whose batch that size cannot hold. At run time, outputs are
 * checked again (a dynamic size can still disagree) and a session error is rethrown with the
 * component's file name.
 */
import type { InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";

/**
 * The part of an onnxruntime module the pipeline uses: `import * as ort from "onnxruntime-web"`
 * (or `"onnxruntime-node"`) is one.
 */
export interface OrtModule {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
    /** From a local file's path (onnxruntime-node; used only for folders whose source can `locate` files). */
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  readonly Tensor: typeof OrtTensor;
}

/** Session options passed to `InferenceSession.create` (execution providers, threads, optimisation). */
export type OrtSessionOptions = InferenceSession.SessionOptions;

/** One input or output the contract requires: its name, element type, and sizes (null: any). */
export interface ValueSpec {
  readonly name: string;
  readonly type: "int64" | "float32";
  /** Expected sizes per axis (null where dynamic, e.g. the batch); `[]` for a scalar. */
  readonly dims: readonly (number | null)[];
  /** The symbols of the contract, for messages: e.g. `"[B, K-1, N]"`. */
  readonly what: string;
}

/** A float32 output of a run: data and dims. */
export interface FloatOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Renders a spec list for messages: `hidden_states (int64 [B, N]), …`. */
function listSpecs(specs: readonly ValueSpec[]): string {
  return specs.map((s) => `${s.name} (${s.type} ${s.what})`).join(", ");
}

function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

/** An `InferenceSession` whose inputs and outputs follow the contract. */
export class OnnxComponent {
  private constructor(
    /** The file, relative to the model folder, e.g. `"transformer/model.onnx"` (used in every message). */
    readonly file: string,
    /**
     * The batch size the model was exported with, when its batch axis is static (the size of axis 0 of
     * the inputs whose contract leaves that axis free); null when the axis is dynamic (or the runtime
     * gives no metadata).
     */
    readonly staticBatch: number | null,
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    private readonly inputs: readonly ValueSpec[],
    private readonly outputs: readonly ValueSpec[],
  ) {}

  /**
   * Creates the session and checks its inputs and outputs.
   *
   * @param model - the `.onnx` file's bytes, or its path on this machine (onnxruntime then opens it,
   *   and finds its external data files beside it).
   * @param file - its path in the model folder, for messages.
   */
  static async create(
    ort: OrtModule,
    model: Uint8Array | string,
    file: string,
    spec: { inputs: readonly ValueSpec[]; outputs: readonly ValueSpec[] },
    options: OrtSessionOptions | undefined,
  ): Promise<OnnxComponent> {
    let session: InferenceSession;
    try {
      session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    } catch (e) {
      throw new Error(`${file}: expected an ONNX model onnxruntime can load, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    checkValues(file, "inputs", session.inputNames, session.inputMetadata, spec.inputs);
    checkValues(file, "outputs", session.outputNames, session.outputMetadata, spec.outputs);
    return new OnnxComponent(file, staticBatch(file, session.inputMetadata, spec.inputs), ort, session, spec.inputs, spec.outputs);
  }

  /** A tensor of the caller's onnxruntime module (what `run` takes). */
  tensor(type: "int64", data: BigInt64Array, dims: readonly number[]): OrtTensor;
  tensor(type: "float32", data: Float32Array, dims: readonly number[]): OrtTensor;
  tensor(type: "int64" | "float32", data: BigInt64Array | Float32Array, dims: readonly number[]): OrtTensor {
    return type === "int64"
      ? new this.ort.Tensor("int64", data as BigInt64Array, dims)
      : new this.ort.Tensor("float32", data as Float32Array, dims);
  }

  /**
   * Runs the model and returns its one float32 output, checked against `dims` (null: any size).
   *
   * @param feeds - one tensor per input of the contract.
   * @param dims - the expected output dims for this run.
   */
  async run(feeds: Record<string, OrtTensor>, dims: readonly (number | null)[]): Promise<FloatOutput> {
    const output = this.outputs[0];
    let result: InferenceSession.ReturnType;
    try {
      result = await this.session.run(feeds);
    } catch (e) {
      throw new Error(`${this.file}: onnxruntime failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const value = result[output.name] as OrtTensor | undefined;
    if (value === undefined || value.type !== "float32" || !(value.data instanceof Float32Array)) {
      throw new Error(`${this.file}: expected output ${output.name} as float32, got ${value === undefined ? "no such output" : value.type}`);
    }
    const got = value.dims;
    if (got.length !== dims.length || dims.some((d, i) => d !== null && d !== got[i])) {
      const expected = dims.map((d) => (d === null ? "*" : String(d)));
      throw new Error(`${this.file}: expected output ${output.name} of dims ${output.what} = ${formatShape(expected)}, got ${formatShape(got)}`);
    }
    return { data: value.data, dims: [...got] };
  }

  /** Frees the session (the pipeline is unusable afterwards). */
  async release(): Promise<void> {
    await this.session.release();
  }

  /** The contract's inputs, for messages. */
  describeInputs(): string {
    return listSpecs(this.inputs);
  }
}

/**
 * The static size of the batch axis (axis 0 of each input whose spec leaves it free), or null when it is
 * dynamic everywhere. Inputs that disagree (one static, one another static size) are refused.
 */
function staticBatch(file: string, metadata: readonly InferenceSession.ValueMetadata[] | undefined, specs: readonly ValueSpec[]): number | null {
  if (!Array.isArray(metadata)) return null;
  let found: { name: string; size: number } | null = null;
  for (const spec of specs) {
    if (spec.dims.length === 0 || spec.dims[0] !== null) continue;
    const meta = metadata.find((m) => m.name === spec.name);
    const size = meta?.isTensor ? meta.shape[0] : undefined;
    if (typeof size !== "number") continue;
    if (found !== null && found.size !== size) {
      throw new Error(`${file}: expected one batch size on every input, got ${found.name} with a static batch of ${found.size} and ${spec.name} with ${size}`);
    }
    found = { name: spec.name, size };
  }
  return found?.size ?? null;
}

/** Checks a session's inputs (or outputs) against the specs: names, types, ranks and static sizes. */
function checkValues(
  file: string,
  kind: "inputs" | "outputs",
  names: readonly string[],
  metadata: readonly InferenceSession.ValueMetadata[] | undefined,
  specs: readonly ValueSpec[],
): void {
  const missing = specs.filter((s) => !names.includes(s.name));
  if (missing.length > 0) {
    throw new Error(`${file}: expected ${kind} ${listSpecs(specs)}, got ${kind} [${names.join(", ")}] (missing ${missing.map((s) => s.name).join(", ")})`);
  }
  if (kind === "inputs" && names.length !== specs.length) {
    throw new Error(`${file}: expected exactly the inputs ${listSpecs(specs)}, got inputs [${names.join(", ")}]`);
  }
  if (!Array.isArray(metadata)) return; // a runtime without metadata: names checked, the rest at run time
  for (const spec of specs) {
    const meta = metadata.find((m) => m.name === spec.name);
    if (meta === undefined) continue;
    if (!meta.isTensor || meta.type !== spec.type) {
      throw new Error(`${file}: expected ${kind === "inputs" ? "input" : "output"} ${spec.name} of element type ${spec.type}, got ${meta.isTensor ? meta.type : "a non-tensor value"}`);
    }
    const shape = meta.shape;
    if (shape.length === 0) continue; // unknown rank (also how a scalar may be reported)
    const bad = shape.length !== spec.dims.length || spec.dims.some((d, i) => d !== null && typeof shape[i] === "number" && shape[i] !== d);
    if (bad) {
      const expected = spec.dims.map((d) => (d === null ? "*" : String(d)));
      throw new Error(`${file}: expected ${kind === "inputs" ? "input" : "output"} ${spec.name} of dims ${spec.what} = ${formatShape(expected)}, got ${formatShape(shape)}`);
    }
  }
}
