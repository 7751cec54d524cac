/**
 * The ONNX scan for external tensors (src/formats/onnxExternalTensors.ts) on the two inputs that keep it
 * hand-written rather than decoded by onnx-proto 8.0.1 (onnx 1.10.2, protobufjs 6.11): a tensor in a
 * FunctionProto's attribute_proto (field 11, which that onnx.proto lacks), and graphs nested far deeper
 * than a real model's (which overflow protobufjs' recursive decoder). The rest is tested with real models
 * in externalData.test.ts and hostileFolders.test.ts.
 */
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { externalTensors } from "../src/formats/onnxExternalTensors.js";

const enc = new TextEncoder();
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 128; n = Math.floor(n / 128)) out.push((n & 127) | 128);
  out.push(n);
  return out;
}
const field = (n: number, body: number[]) => [...varint((n << 3) | 2), ...varint(body.length), ...body];
const str = (n: number, s: string) => field(n, [...enc.encode(s)]);
const entry = (key: string, value: string) => field(13, [...str(1, key), ...str(2, value)]);
/** A TensorProto named `name`, stored externally in `location`, 4 bytes. */
const externalTensor = (name: string, location: string) => [...str(8, name), 14 << 3, 1, ...entry("location", location), ...entry("length", "4")];

describe("externalTensors where onnx-proto falls short", () => {
  it("finds an external tensor in a function's attribute_proto (ModelProto 25 → FunctionProto 11 → AttributeProto 5)", () => {
    const model = Uint8Array.from(field(25, field(11, field(5, externalTensor("default_w", "../../etc/passwd")))));
    expect(externalTensors(model, "m.onnx")).toEqual([{ tensor: "default_w", location: "../../etc/passwd", offset: 0, length: 4 }]);
    // onnx-proto's ModelProto decodes the same bytes without a trace of the tensor.
    const decoded = onnxProto.onnx.ModelProto.decode(model);
    expect(JSON.stringify(onnxProto.onnx.ModelProto.toObject(decoded))).not.toContain("default_w");
  });

  it("refuses graphs nested 20 000 deep with a message naming the file, where protobufjs overflows the stack", () => {
    // model 7 → graph 1 → node 5 → attribute 6 → graph 1 → …, built outside-in from the nested lengths.
    const fields = [7, ...Array.from({ length: 20_000 }, () => [1, 5, 6]).flat()];
    const lengths = new Array<number>(fields.length + 1).fill(0);
    for (let i = fields.length - 1; i >= 0; i--) lengths[i] = 1 + varint(lengths[i + 1]).length + lengths[i + 1];
    const bytes: number[] = [];
    fields.forEach((n, i) => bytes.push((n << 3) | 2, ...varint(lengths[i + 1])));
    const model = Uint8Array.from(bytes);
    expect(model.length).toBe(lengths[0]);
    expect(() => externalTensors(model, "deep.onnx")).toThrow(
      new Error("deep.onnx: expected an ONNX model onnxruntime can load, got a malformed protobuf message (graphs nested deeper than 64)"),
    );
    expect(() => onnxProto.onnx.ModelProto.decode(model)).toThrow(RangeError);
  });
});
