/**
 * The tensors of an ONNX model that live in external data files. An ONNX model over protobuf's 2 GB
 * limit keeps its weights in separate files: each such TensorProto has `data_location = EXTERNAL` and
 * `external_data` entries { location, offset, length } (onnx.proto3; `location` relative to the model
 * file's folder). pipeline/onnxExternalData.ts checks and reads those files.
 *
 * The scan reads only the protobuf fields that can hold a tensor (no full decode; raw weights are
 * skipped by length):
 *   ModelProto      7 graph, 20 training_info (TrainingInfoProto: 1 initialization, 2 algorithm: graphs),
 *                   25 functions (FunctionProto: 7 node, 11 attribute_proto)
 *   GraphProto      1 node, 5 initializer, 15 sparse_initializer
 *   NodeProto       5 attribute
 *   AttributeProto  5 t, 6 g, 10 tensors, 11 graphs, 22 sparse_tensor, 23 sparse_tensors
 *   SparseTensorProto 1 values, 2 indices
 *   TensorProto     1 dims, 2 data_type, 8 name, 13 external_data (StringStringEntryProto: 1 key, 2 value),
 *                   14 data_location (1 = EXTERNAL)
 *
 * Why this walks the wire format itself rather than decoding with onnx-proto (the library that writes
 * the converter's models, convert/onnx/writeOnnxModel.ts): onnx-proto 8.0.1 is generated from onnx
 * 1.10.2, whose FunctionProto has no `attribute_proto` (field 11, a later addition), so a tensor there
 * would be skipped unseen and onnxruntime would resolve its location itself; its decoder (protobufjs
 * 6.11) has no bound on nesting, so a crafted model of 234 KB (graphs nested 20 000 deep through node
 * attributes) overflows the stack ("Maximum call stack size exceeded") where this scan refuses past
 * 64 levels with a message naming the file; and it would decode every field of a multi-gigabyte
 * model into objects, where the scan needs five fields of one message type.
 */
/** One tensor stored in an external data file. */
export interface ExternalTensor {
  /** The tensor's name, for messages. */
  readonly tensor: string;
  /** `location` as the model records it (relative to the model's folder). */
  readonly location: string;
  /** Byte offset and length in that file. */
  readonly offset: number;
  readonly length: number;
}

/** Nested graphs deeper than this are refused (a bound on the scan's recursion). */
const MAX_DEPTH = 64;

/** Bytes per element of ONNX's fixed-size data types (TensorProto.DataType), for tensors without a `length`. */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1,
};

class Malformed extends Error {}

/** A protobuf wire-format reader over `bytes[start, end)`. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
    private readonly end: number,
  ) {}

  done(): boolean {
    return this.at >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new Malformed(`a varint cut off at byte ${this.at}`);
      const b = this.bytes[this.at++];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value; // above 2^53 it is inexact; only lengths and small numbers are used, and checked
    }
    throw new Malformed(`a varint longer than 10 bytes at byte ${this.at}`);
  }

  /** Reads a field's key; returns [field number, wire type]. */
  key(): [number, number] {
    const k = this.varint();
    return [Math.floor(k / 8), k % 8];
  }

  /** A length-delimited field's body: [start, end). */
  span(): [number, number] {
    const n = this.varint();
    if (n > this.end - this.at) throw new Malformed(`a field of ${n} bytes at byte ${this.at}, past the end of its message`);
    const start = this.at;
    this.at += n;
    return [start, this.at];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.span();
    else if (wire === 5) this.advance(4);
    else throw new Malformed(`wire type ${wire} at byte ${this.at}`);
  }

  private advance(n: number): void {
    if (n > this.end - this.at) throw new Malformed(`a fixed-size field cut off at byte ${this.at}`);
    this.at += n;
  }
}

/**
 * Lists the tensors of an ONNX model that live in external data files.
 *
 * @param model - the `.onnx` file's bytes.
 * @param file - its path in the model folder, for messages.
 * @throws `<file>: expected an ONNX model onnxruntime can load, got a malformed protobuf message (…)`
 *   for bytes that are not protobuf; `<file>: expected …` for an external tensor without a location,
 *   or whose offset or length is not a non-negative integer.
 *
 * @example
 * ```ts
 * const tensors = externalTensors(modelBytes, "transformer/model.onnx");
 * // [{ tensor: "transformer.proj.weight", location: "model.onnx.data", offset: 0, length: 4096 }, …]
 * ```
 */
export function externalTensors(model: Uint8Array, file: string): ExternalTensor[] {
  const found: ExternalTensor[] = [];
  const decoder = new TextDecoder();
  const text = (start: number, end: number) => decoder.decode(model.subarray(start, end));

  /** Walks message `kind` in [start, end), recursing into the fields that can hold tensors. */
  const walk = (kind: MessageKind, start: number, end: number, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Malformed(`graphs nested deeper than ${MAX_DEPTH}`);
    if (kind === "tensor") return tensor(start, end);
    const children: Readonly<Record<number, MessageKind | undefined>> = CHILDREN[kind];
    const r = new Reader(model, start, end);
    while (!r.done()) {
      const [field, wire] = r.key();
      const child = children[field];
      if (child !== undefined && wire === 2) {
        const [s, e] = r.span();
        walk(child, s, e, depth + 1);
      } else {
        r.skip(wire);
      }
    }
  };

  const tensor = (start: number, end: number): void => {
    const r = new Reader(model, start, end);
    let name = "";
    let external = false;
    let dataType = 0;
    const dims: number[] = [];
    const entries = new Map<string, string>();
    while (!r.done()) {
      const [field, wire] = r.key();
      if (field === 1 && wire === 0) dims.push(r.varint());
      else if (field === 1 && wire === 2) {
        const [s, e] = r.span(); // packed dims
        const p = new Reader(model, s, e);
        while (!p.done()) dims.push(p.varint());
      } else if (field === 2 && wire === 0) dataType = r.varint();
      else if (field === 8 && wire === 2) name = text(...r.span());
      else if (field === 14 && wire === 0) external = r.varint() === 1;
      else if (field === 13 && wire === 2) {
        const [s, e] = r.span();
        const p = new Reader(model, s, e);
        let key = "";
        let value = "";
        while (!p.done()) {
          const [f, w] = p.key();
          if (f === 1 && w === 2) key = text(...p.span());
          else if (f === 2 && w === 2) value = text(...p.span());
          else p.skip(w);
        }
        entries.set(key, value);
      } else r.skip(wire);
    }
    if (!external) return;
    const where = `${file}: tensor ${JSON.stringify(name)}`;
    const location = entries.get("location");
    if (location === undefined) throw new Error(`${where}: expected an external_data location, got none`);
    const offset = entries.has("offset") ? decimal(entries.get("offset")!, `${where}: external_data offset`) : 0;
    let length: number;
    if (entries.has("length")) {
      length = decimal(entries.get("length")!, `${where}: external_data length`);
    } else {
      const size = ELEMENT_BYTES[dataType];
      if (size === undefined) throw new Error(`${where}: expected an external_data length (or a fixed-size data type), got data type ${dataType} and no length`);
      length = dims.reduce((a, d) => a * d, size);
      if (!Number.isSafeInteger(length)) throw new Error(`${where}: expected dims of a size in bytes below 2^53, got [${dims.join(", ")}]`);
    }
    found.push({ tensor: name, location, offset, length });
  };

  try {
    walk("model", 0, model.length, 0);
  } catch (e) {
    if (e instanceof Malformed) throw new Error(`${file}: expected an ONNX model onnxruntime can load, got a malformed protobuf message (${e.message})`);
    throw e;
  }
  return found;
}

type MessageKind = "model" | "training" | "function" | "graph" | "node" | "attribute" | "sparse" | "tensor";

/** Which field of which message holds which message (only those that can lead to a tensor). */
const CHILDREN: Readonly<Record<MessageKind, Readonly<Record<number, MessageKind>>>> = {
  model: { 7: "graph", 20: "training", 25: "function" },
  training: { 1: "graph", 2: "graph" },
  function: { 7: "node", 11: "attribute" },
  graph: { 1: "node", 5: "tensor", 15: "sparse" },
  node: { 5: "attribute" },
  attribute: { 5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse" },
  sparse: { 1: "tensor", 2: "tensor" },
  tensor: {},
};

/** A decimal string as a safe non-negative integer. */
function decimal(value: string, name: string): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${name}: expected a non-negative integer, got ${JSON.stringify(value.slice(0, 40))}`);
  return n;
}

