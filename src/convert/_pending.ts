/**
 * STAND-IN, TO BE DELETED: convert/transformer2DModel.ts (`buildTransformerGraph(config, dict,
 * configFile?, options?)`) is written on the graph-transformer branch. Until it is merged, the
 * conversion loop compiles against this minimal version of the same signature: a one-weight graph
 * with the transformer's input and output names (not its network). Nothing else imports this file
 * but convert/convertPipeline.ts.
 */
import type { StateDict } from "../formats/checkpointTensor.js";
import type { ComponentConfig } from "./configValues.js";
import { attr, GraphBuilder, type FloatStorage } from "./onnx/graphBuilder.js";
import { floatWeight } from "./weights.js";

/** Stand-in of convert/transformer2DModel.ts. */
export function buildTransformerGraph(config: ComponentConfig, dict: StateDict, configFile = "transformer/config.json", options: { floatStorage?: FloatStorage } = {}): GraphBuilder {
  void config;
  void configFile;
  const g = new GraphBuilder("transformer", options);
  const x = g.input("hidden_states", "int64", ["batch", "pixels"]);
  const first = [...dict.tensors.values()][0];
  if (first === undefined) throw new Error(`${dict.file}: expected at least one tensor, got none`);
  const w = floatWeight(g, dict, first.name, first.shape);
  const cast = g.op("Cast", [x], { to: attr.int(1) });
  const sum = g.op("ReduceSum", [w], { keepdims: attr.int(0) });
  g.output(g.op("Add", [cast, sum], {}, { names: ["sample"] }), "float32", ["batch", "pixels"]);
  return g;
}
