/**
 * The subset of Python's pickle that `torch.save(state_dict)` writes into `data.pkl`, read without
 * executing anything: a dict (or `collections.OrderedDict`, with its `_metadata` set by BUILD) from
 * string keys to tensors, each tensor `torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 * stride, requires_grad, backward_hooks[, metadata])` (or that wrapped in
 * `torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)`), each storage a persistent
 * id `("storage", torch.<Type>Storage, key, location, numel)` that names the zip entry
 * `<archive>/data/<key>`. torch 2.13 still names storages by their legacy typed classes
 * (`torch.FloatStorage`, …), as `torch.serialization._save`'s `persistent_id` does.
 *
 * The opcodes are those of protocol 2 that torch.save emits (found by disassembling files written by
 * torch 2.13, transformers 5.17 and diffusers 0.40 with `pickletools.genops`): PROTO, EMPTY_DICT,
 * EMPTY_TUPLE, MARK, BINUNICODE, GLOBAL, BINPERSID, TUPLE, TUPLE1-3, BININT, BININT1, BININT2, LONG1,
 * NEWFALSE, NEWTRUE, NONE, REDUCE, BUILD, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET, SETITEM, SETITEMS,
 * STOP; plus SHORT_BINUNICODE, for the few writers that use protocol 4's short strings. Every other
 * opcode is refused, and so is every global outside the allow-list; REDUCE applies only the
 * allow-listed constructors, each of which this file re-implements as plain data (no lookup by name,
 * no call into anything the file chose).
 *
 * Why a hand-written interpreter rather than an npm library: the npm pickle readers (pickleparser
 * 0.2.1, jpickle 0.4.1, unpickle 0.2.0, node-pickle 0.0.2) are small, little-maintained projects
 * built to read *all* of pickle: they resolve globals through registries of constructors or create
 * placeholder objects for any name, and none exposes an allow-list that refuses an unknown global
 * at the opcode, nor bounds on string, memo and stack sizes. Making one safe would mean auditing and
 * wrapping most of its code; the subset a state dict needs is about 25 opcodes and four constructors,
 * which this file reads in full and bounds everywhere.
 */

/**
 * The dtypes whose storages a state dict may hold, by torch's storage class name.
 *
 * @example
 * ```ts
 * TORCH_STORAGE_DTYPES["torch.HalfStorage"]; // "float16"
 * ```
 */
export const TORCH_STORAGE_DTYPES = {
  "torch.FloatStorage": "float32",
  "torch.HalfStorage": "float16",
  "torch.BFloat16Storage": "bfloat16",
  "torch.LongStorage": "int64",
} as const;

/**
 * A storage named by a persistent id: the zip entry `<archive>/data/<key>`.
 *
 * @example
 * ```ts
 * const s: PickledStorage = { kind: "storage", type: "torch.FloatStorage", key: "0", numel: 600 };
 * ```
 */
export interface PickledStorage {
  readonly kind: "storage";
  /** Its class, e.g. `torch.FloatStorage` (possibly one this reader does not support). */
  readonly type: string;
  /** The entry's name under `<archive>/data/`. */
  readonly key: string;
  /** Its number of elements. */
  readonly numel: number;
}

/**
 * A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage, in elements.
 *
 * @example
 * ```ts
 * // A [4, 3] transpose of a [3, 4] matrix: element (i, j) is storage element 4 * j + i.
 * const t: PickledTensor = { kind: "tensor", storage, storageOffset: 0, shape: [4, 3], stride: [1, 4] };
 * ```
 */
export interface PickledTensor {
  readonly kind: "tensor";
  readonly storage: PickledStorage;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

type Global = { readonly kind: "global"; readonly name: string };
type Tuple = { readonly kind: "tuple"; readonly items: readonly Value[] };
type Dict = { readonly kind: "dict"; readonly entries: Map<string, Value>; ordered: boolean };
type Mark = { readonly kind: "mark" };
type Value = null | boolean | number | string | Global | Tuple | Dict | PickledStorage | PickledTensor;

const ALLOWED_GLOBALS = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  ...Object.keys(TORCH_STORAGE_DTYPES),
]);

/** torch's other storage classes: allowed as names so that a tensor of such a dtype is refused by its key. */
const OTHER_TORCH_STORAGES = new Set(
  ["Double", "Int", "Short", "Char", "Byte", "Bool", "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4", "Untyped"].map(
    (t) => `torch.${t}Storage`,
  ),
);

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x80: "PROTO", 0x7d: "EMPTY_DICT", 0x29: "EMPTY_TUPLE", 0x28: "MARK", 0x58: "BINUNICODE", 0x8c: "SHORT_BINUNICODE",
  0x63: "GLOBAL", 0x51: "BINPERSID", 0x74: "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x4a: "BININT",
  0x4b: "BININT1", 0x4d: "BININT2", 0x8a: "LONG1", 0x89: "NEWFALSE", 0x88: "NEWTRUE", 0x4e: "NONE", 0x52: "REDUCE",
  0x62: "BUILD", 0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x68: "BINGET", 0x6a: "LONG_BINGET", 0x73: "SETITEM",
  0x75: "SETITEMS", 0x2e: "STOP",
};

/**
 * Reads a state dict's `data.pkl`.
 *
 * @param bytes - the pickle (not modified).
 * @param where - names the file and entry in messages, e.g. `transformer/diffusion_pytorch_model.bin: data.pkl`.
 * @returns each key's tensor description, in the pickle's order (sizes not yet checked against storages).
 * @throws Error starting with `where`: an opcode outside the subset (named, with its byte offset), a global
 *   outside the allow-list (named), a value of the wrong kind for a constructor, a truncated pickle,
 *   a top level that is not a dict of tensors, or a tensor with an unsupported storage type (named).
 * @example
 * ```ts
 * const tensors = readStatePickle(pklBytes, "model.bin: archive/data.pkl");
 * tensors.get("weight"); // { kind: "tensor", storage: { key: "0", type: "torch.FloatStorage", numel: 6 }, shape: [2, 3], … }
 * ```
 */
export function readStatePickle(bytes: Uint8Array, where: string): Map<string, PickledTensor> {
  const top = new Interpreter(bytes, where).run();
  if (typeof top !== "object" || top === null || top.kind !== "dict") {
    throw new Error(`${where}: expected a state dict (a dict of tensors) at the top level, got ${kindOf(top)}`);
  }
  const out = new Map<string, PickledTensor>();
  for (const [key, value] of top.entries) {
    if (typeof value !== "object" || value === null || value.kind !== "tensor") {
      throw new Error(`${where}: expected every value of the state dict to be a tensor, got ${kindOf(value)} for ${JSON.stringify(key)}`);
    }
    if (!(value.storage.type in TORCH_STORAGE_DTYPES)) {
      throw new Error(
        `${where}: tensor ${JSON.stringify(key)}: expected a float32, float16, bfloat16 or int64 storage (${Object.keys(TORCH_STORAGE_DTYPES).join(", ")}), got ${value.storage.type}`,
      );
    }
    out.set(key, value);
  }
  return out;
}

function kindOf(v: Value | Mark | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v !== "object") return `${typeof v} ${JSON.stringify(v)}`;
  if (v.kind === "global") return `the global ${v.name}`;
  return `a ${v.kind}`;
}

class Interpreter {
  private pos = 0;
  private readonly stack: (Value | Mark)[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly where: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): Value {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: { // PROTO
          const proto = this.u8();
          if (proto < 2 || proto > 5) this.fail(at, `protocol 2 to 5, got protocol ${proto}`);
          break;
        }
        case 0x7d: this.push({ kind: "dict", entries: new Map(), ordered: false }); break; // EMPTY_DICT
        case 0x29: this.push({ kind: "tuple", items: [] }); break; // EMPTY_TUPLE
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x58: this.push(this.text(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.text(this.u8())); break; // SHORT_BINUNICODE
        case 0x63: this.push(this.global(at)); break; // GLOBAL
        case 0x51: this.push(this.persistentId(at, this.pop(at))); break; // BINPERSID
        case 0x74: this.push({ kind: "tuple", items: this.popMark(at) }); break; // TUPLE
        case 0x85: case 0x86: case 0x87: { // TUPLE1-3
          const n = op - 0x84;
          const items: Value[] = [];
          for (let i = 0; i < n; i++) items.unshift(this.pop(at));
          this.push({ kind: "tuple", items });
          break;
        }
        case 0x4a: this.push(this.view.getInt32(this.take(4), true)); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.view.getUint16(this.take(2), true)); break; // BININT2
        case 0x8a: this.push(this.long1(at)); break; // LONG1
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x4e: this.push(null); break; // NONE
        case 0x52: { // REDUCE
          const args = this.pop(at);
          const callable = this.pop(at);
          this.push(this.reduce(at, callable, args));
          break;
        }
        case 0x62: { // BUILD: only an OrderedDict's state ({"_metadata": …}), kept out of the tensors
          const state = this.pop(at);
          const target = this.peek(at);
          if (!isDict(target) || !target.ordered || !isDict(state)) {
            this.fail(at, `BUILD only on an OrderedDict with a dict of attributes, got ${kindOf(target)} and ${kindOf(state)}`);
          }
          break;
        }
        case 0x71: this.memo.set(this.u8(), this.peek(at)); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.peek(at)); break; // LONG_BINPUT
        case 0x68: this.push(this.get(at, this.u8())); break; // BINGET
        case 0x6a: this.push(this.get(at, this.u32())); break; // LONG_BINGET
        case 0x73: { // SETITEM
          const value = this.pop(at);
          const key = this.pop(at);
          this.setItems(at, [key, value]);
          break;
        }
        case 0x75: this.setItems(at, this.popMark(at)); break; // SETITEMS
        case 0x2e: { // STOP
          const result = this.pop(at);
          if (this.stack.length !== 0 || this.marks.length !== 0) this.fail(at, `an empty stack at STOP, got ${this.stack.length} more values`);
          if (this.pos !== this.bytes.length) this.fail(at, `the pickle to end at STOP, got ${this.bytes.length - this.pos} more bytes`);
          return result;
        }
        default: {
          const name = OPCODE_NAMES[op];
          throw new Error(
            `${this.where}: expected only the pickle opcodes a state dict uses, got opcode 0x${op.toString(16).padStart(2, "0")}${name ? ` (${name})` : ""} at byte ${at}`,
          );
        }
      }
    }
  }

  private fail(at: number, expected: string): never {
    throw new Error(`${this.where}: expected ${expected} (at byte ${at})`);
  }

  private take(n: number): number {
    if (this.pos + n > this.bytes.length) {
      throw new Error(`${this.where}: expected ${n} more bytes at byte ${this.pos}, got the end of the pickle (${this.bytes.length} bytes): truncated`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private text(length: number): string {
    const at = this.take(length);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + length));
    } catch {
      return this.fail(at, "a UTF-8 string");
    }
  }

  private long1(at: number): number {
    const n = this.u8();
    if (n > 8) this.fail(at, `LONG1 of at most 8 bytes, got ${n}`);
    const start = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[start + i]);
    if (n > 0 && this.bytes[start + n - 1] >= 0x80) v -= 1n << BigInt(8 * n);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(at, `an integer within ±2^53, got ${v}`);
    return Number(v);
  }

  private line(at: number): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 256) this.fail(at, "GLOBAL's module and name as lines of at most 256 bytes");
    const s = this.text(end - this.pos);
    this.pos++;
    return s;
  }

  private global(at: number): Global {
    const name = `${this.line(at)}.${this.line(at)}`;
    if (!ALLOWED_GLOBALS.has(name) && !OTHER_TORCH_STORAGES.has(name)) {
      throw new Error(
        `${this.where}: expected only the globals a state dict uses (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch's storage types), got the global ${name} (at byte ${at}); nothing from the file is executed`,
      );
    }
    return { kind: "global", name };
  }

  private persistentId(at: number, pid: Value | Mark): PickledStorage {
    const items = isTuple(pid) ? pid.items : [];
    const [tag, type, key, , numel] = items;
    if (items.length !== 5 || tag !== "storage" || !isGlobal(type) || typeof key !== "string" || typeof items[3] !== "string" || !isCount(numel)) {
      this.fail(at, `a persistent id ("storage", storage type, key, location, numel), got ${kindOf(pid as Value)}`);
    }
    if (!/^[0-9A-Za-z_]{1,64}$/.test(key)) this.fail(at, `a storage key of letters and digits, got ${JSON.stringify(key)}`);
    if (!(type.name in TORCH_STORAGE_DTYPES) && !OTHER_TORCH_STORAGES.has(type.name)) this.fail(at, `a storage type, got the global ${type.name}`);
    return { kind: "storage", type: type.name, key, numel };
  }

  private reduce(at: number, callable: Value | Mark, args: Value | Mark): Value {
    if (!isGlobal(callable) || !isTuple(args)) this.fail(at, `REDUCE of a global on a tuple, got ${kindOf(callable as Value)} and ${kindOf(args as Value)}`);
    const a = args.items;
    switch (callable.name) {
      case "collections.OrderedDict":
        if (a.length !== 0) this.fail(at, `collections.OrderedDict() without arguments, got ${a.length}`);
        return { kind: "dict", entries: new Map(), ordered: true };
      case "torch._utils._rebuild_tensor_v2": {
        const [storage, offset, shape, stride, requiresGrad, hooks, metadata] = a;
        if (
          (a.length !== 6 && a.length !== 7) || !isStorage(storage) || !isCount(offset) || !isCounts(shape) || !isCounts(stride) ||
          shape.items.length !== stride.items.length || typeof requiresGrad !== "boolean" || !isEmptyDict(hooks) ||
          (a.length === 7 && metadata !== null && !isDict(metadata))
        ) {
          this.fail(at, "_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) with non-negative integer sizes and strides of equal length and no hooks");
        }
        return { kind: "tensor", storage, storageOffset: offset, shape: shape.items as number[], stride: stride.items as number[] };
      }
      case "torch._utils._rebuild_parameter": {
        const [data, requiresGrad, hooks] = a;
        if (a.length !== 3 || !isTensor(data) || typeof requiresGrad !== "boolean" || !isEmptyDict(hooks)) {
          this.fail(at, "_rebuild_parameter(tensor, requires_grad, backward_hooks) with no hooks");
        }
        return data;
      }
      default:
        return this.fail(at, `REDUCE of a constructor, got the global ${callable.name}, which is not one`);
    }
  }

  private setItems(at: number, items: readonly Value[]): void {
    const target = this.peek(at);
    if (!isDict(target) || items.length % 2 !== 0) this.fail(at, `SETITEM(S) of key-value pairs on a dict, got ${kindOf(target)}`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== "string") this.fail(at, `string keys, got ${kindOf(key)}`);
      if (target.entries.has(key)) this.fail(at, `each key once, got ${JSON.stringify(key)} twice`);
      target.entries.set(key, items[i + 1]);
    }
  }

  private get(at: number, index: number): Value {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(at, `a memo index that was stored, got ${index}`);
    return v;
  }

  private push(v: Value): void {
    this.stack.push(v);
  }

  private pop(at: number): Value {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail(at, "a value on the stack, got none");
    return this.stack.pop() as Value;
  }

  private peek(at: number): Value {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail(at, "a value on the stack, got none");
    return this.stack[this.stack.length - 1] as Value;
  }

  private popMark(at: number): Value[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail(at, "a MARK before it, got none");
    return this.stack.splice(mark) as Value[];
  }
}

function isGlobal(v: Value | Mark | undefined): v is Global {
  return typeof v === "object" && v !== null && v.kind === "global";
}
function isTuple(v: Value | Mark | undefined): v is Tuple {
  return typeof v === "object" && v !== null && v.kind === "tuple";
}
function isDict(v: Value | Mark | undefined): v is Dict {
  return typeof v === "object" && v !== null && v.kind === "dict";
}
function isEmptyDict(v: Value | undefined): boolean {
  return isDict(v) && v.entries.size === 0;
}
function isStorage(v: Value | undefined): v is PickledStorage {
  return typeof v === "object" && v !== null && v.kind === "storage";
}
function isTensor(v: Value | undefined): v is PickledTensor {
  return typeof v === "object" && v !== null && v.kind === "tensor";
}
function isCount(v: Value | undefined): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
function isCounts(v: Value | undefined): v is Tuple {
  return isTuple(v) && v.items.every(isCount);
}
