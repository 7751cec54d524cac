/**
 * The state-dict subset of pickle (src/formats/statePickle.ts), opcode by opcode, on pickles built by
 * hand: the opcodes torch.save's files do not happen to use in the fixtures (LONG1, SHORT_BINUNICODE,
 * LONG_BINPUT/LONG_BINGET, NONE, NEWTRUE, BUILD, a 7-argument _rebuild_tensor_v2), and each structural
 * error with its message.
 */
import { describe, expect, it } from "vitest";
import { readStatePickle } from "../src/formats/statePickle.js";
import { PickleBytes } from "./helpers/torchZip.js";

const W = "m.bin: archive/data.pkl";
const parse = (p: PickleBytes) => readStatePickle(p.bytes(), W);
const error = (p: PickleBytes) => {
  try {
    parse(p);
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
};
/** PROTO 2, then `_rebuild_tensor_v2((storage persid), offset, shape, stride, False, OrderedDict()[, extra])` as tensor `key`, into an open dict. */
function tensor(p: PickleBytes, key: string, numel: number, extra?: (p: PickleBytes) => void): PickleBytes {
  p.str(key).global("torch._utils", "_rebuild_tensor_v2").op(0x28);
  p.op(0x28).str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(numel).op(0x74, 0x51);
  p.int(0).tuple([numel]).tuple([1]).op(0x89).global("collections", "OrderedDict").op(0x29, 0x52);
  extra?.(p);
  return p.op(0x74, 0x52);
}

describe("readStatePickle", () => {
  it("reads LONG1 sizes, SHORT_BINUNICODE keys, LONG_BINPUT/LONG_BINGET, an OrderedDict with BUILD, and a metadata argument", () => {
    const p = new PickleBytes().op(0x80, 2).global("collections", "OrderedDict").op(0x72, 7, 0, 0, 0, 0x29, 0x52, 0x28);
    p.op(0x8c, 1, 0x61); // SHORT_BINUNICODE "a"
    p.global("torch._utils", "_rebuild_tensor_v2").op(0x28, 0x28).str("storage").global("torch", "HalfStorage").str("k").str("cpu");
    p.op(0x8a, 5, 0, 0, 0, 0, 1); // LONG1 2^32
    p.op(0x74, 0x51).op(0x8a, 1, 3).tuple([2, 3]).tuple([3, 1]).op(0x88).global("collections", "OrderedDict").op(0x29, 0x52);
    p.op(0x7d, 0x74, 0x52); // metadata {} (7th argument)
    p.op(0x75); // SETITEMS
    p.op(0x7d).str("_metadata").op(0x6a, 7, 0, 0, 0, 0x29, 0x52).str("").op(0x7d).str("version").op(0x4e, 0x73, 0x73, 0x73, 0x62, 0x2e);
    const got = parse(p).get("a")!;
    expect(got).toEqual({ kind: "tensor", storage: { kind: "storage", type: "torch.HalfStorage", key: "k", numel: 2 ** 32 }, storageOffset: 3, shape: [2, 3], stride: [3, 1] });
  });

  it("reads a negative LONG1 (and refuses it where a size is expected)", () => {
    const p = new PickleBytes().op(0x80, 2, 0x7d).str("a").global("torch._utils", "_rebuild_tensor_v2").op(0x28, 0x28).str("storage").global("torch", "FloatStorage").str("0").str("cpu");
    p.op(0x8a, 1, 0xff).op(0x74, 0x51); // numel -1
    expect(error(p)).toBe(`${W}: expected a persistent id ("storage", storage type, key, location, numel), got a tuple (at byte 94)`);
  });

  it("refuses BUILD on anything but an OrderedDict", () => {
    expect(error(new PickleBytes().op(0x80, 2, 0x7d, 0x7d, 0x62, 0x2e))).toBe(`${W}: expected BUILD only on an OrderedDict with a dict of attributes, got a dict and a dict (at byte 4)`);
  });

  it("refuses a memo index never stored, a value left on the stack, bytes after STOP and a key set twice", () => {
    expect(error(new PickleBytes().op(0x80, 2, 0x68, 3, 0x2e))).toBe(`${W}: expected a memo index that was stored, got 3 (at byte 2)`);
    expect(error(new PickleBytes().op(0x80, 2, 0x7d, 0x7d, 0x2e))).toBe(`${W}: expected an empty stack at STOP, got 1 more values (at byte 4)`);
    expect(error(new PickleBytes().op(0x80, 2, 0x7d, 0x2e, 0x2e))).toBe(`${W}: expected the pickle to end at STOP, got 1 more bytes (at byte 3)`);
    const twice = tensor(tensor(new PickleBytes().op(0x80, 2, 0x7d, 0x28), "a", 2), "a", 2).op(0x75, 0x2e);
    expect(error(twice)).toMatch(new RegExp(`^${W}: expected each key once, got "a" twice \\(at byte \\d+\\)$`));
  });

  it("refuses REDUCE of a storage type, and a tensor with backward hooks", () => {
    expect(error(new PickleBytes().op(0x80, 2).global("torch", "FloatStorage").op(0x29, 0x52, 0x2e))).toBe(`${W}: expected REDUCE of a constructor, got the global torch.FloatStorage, which is not one (at byte 23)`);
    const hooks = new PickleBytes().op(0x80, 2, 0x7d).str("a").global("torch._utils", "_rebuild_tensor_v2").op(0x28, 0x28).str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(2).op(0x74, 0x51);
    hooks.int(0).tuple([2]).tuple([1]).op(0x89, 0x7d).str("h").int(1).op(0x73, 0x74, 0x52);
    expect(error(hooks)).toMatch(/expected _rebuild_tensor_v2\(storage, storage_offset, size, stride, requires_grad, backward_hooks\[, metadata\]\) with non-negative integer sizes and strides of equal length and no hooks/);
  });
});
