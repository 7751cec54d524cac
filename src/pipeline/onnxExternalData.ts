/**
 * ONNX external data: an ONNX model over protobuf's 2 GB limit keeps its weights in separate files.
 * Each such TensorProto has `data_location = EXTERNAL` and `external_data` entries
 * { location, offset, length } (onnx.proto3; `location` relative to the model file's folder).
 *
 * onnxruntime given a model's bytes looks for those files relative to the working directory. Here
 * instead the model is scanned for them, each location is checked to stay inside the model folder,
 * each file is read through the folder's {@link ModelFileSource} (within the bytes its tensors
 * declare) and handed to the session as `externalData: [{ path, data }]` (onnxruntime-common's
 * `OnnxModelOptions.externalData`), so nothing is read from anywhere else.
 *
 * The model is scanned for them by formats/onnxExternalTensors.ts.
 */
import { externalTensors } from "../formats/onnxExternalTensors.js";
import { isTypedArray } from "../tensor/validate.js";
import { checkFolderPath, locateFolderFile, readFolderFile, type LocalFile, type ModelFileSource } from "../files/modelFileSource.js";
import { PIPELINE_LIMITS } from "../limits.js";

/** The external data a session needs: one entry per file, `path` as the model names it. */
export interface ExternalDataFile {
  readonly path: string;
  readonly data: Uint8Array;
}

/** One external data file of a model, as {@link externalDataFiles} plans it. */
export interface ExternalDataPlan {
  /** `location` as the model records it (onnxruntime's `externalData` path). */
  readonly location: string;
  /** Its path in the model folder (beside the model). */
  readonly path: string;
  /** The bytes its tensors take: the end of the last one. */
  readonly end: number;
  /** The tensor ending there, for messages. */
  readonly tensor: string;
}

/**
 * The external data files of the model at `file` (e.g. `"transformer/model.onnx"`), checked before
 * anything is read: each location inside the folder (relative to the model's own folder; no
 * absolute path, `..`, `.`, backslash, colon or NUL), at most {@link PIPELINE_LIMITS.maxExternalDataFiles}
 * files and {@link PIPELINE_LIMITS.maxExternalDataBytes} declared bytes.
 *
 * @example
 * ```ts
 * externalDataFiles(modelBytes, "transformer/model.onnx");
 * // [{ location: "model.onnx.data", path: "transformer/model.onnx.data", end: 72768, tensor: "…" }]
 * ```
 */
export function externalDataFiles(model: Uint8Array, file: string): ExternalDataPlan[] {
  const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  const files = new Map<string, { end: number; tensor: string }>();
  for (const t of externalTensors(model, file)) {
    checkFolderPath(t.location, `${file}: tensor ${JSON.stringify(t.tensor)}: external data location`);
    const end = t.offset + t.length;
    if (!Number.isSafeInteger(end)) throw new Error(`${file}: tensor ${JSON.stringify(t.tensor)}: expected offset + length below 2^53, got ${t.offset} + ${t.length}`);
    const seen = files.get(t.location);
    if (seen === undefined || end > seen.end) files.set(t.location, { end, tensor: t.tensor });
  }
  if (files.size > PIPELINE_LIMITS.maxExternalDataFiles) {
    throw new Error(`${file}: expected at most ${PIPELINE_LIMITS.maxExternalDataFiles} external data files, got ${files.size}`);
  }
  let total = 0;
  for (const { end } of files.values()) total += end;
  if (total > PIPELINE_LIMITS.maxExternalDataBytes) {
    throw new Error(`${file}: expected external data of at most ${PIPELINE_LIMITS.maxExternalDataBytes} bytes, got tensors reaching ${total} bytes`);
  }
  return [...files].map(([location, { end, tensor }]) => ({ location, path: folder + location, end, tensor }));
}

/**
 * Reads the external data files of the model at `file` from `source` ({@link externalDataFiles}
 * checks them first), each within the bytes its tensors declare and required to hold them all.
 *
 * @returns one `{ path, data }` per file, `path` as the model records it: onnxruntime's
 *   `externalData` session option. Empty for a model without external data.
 * @throws an Error naming the component's file and the data file: a location that leaves the
 *   folder, a missing file, a file shorter than the offsets and lengths recorded (or longer), more than
 *   {@link PIPELINE_LIMITS.maxExternalDataBytes} declared bytes.
 *
 * @example
 * ```ts
 * const externalData = await readExternalData(source, "transformer/model.onnx", modelBytes);
 * const session = await ort.InferenceSession.create(modelBytes, { externalData });
 * ```
 */
export async function readExternalData(source: ModelFileSource, file: string, model: Uint8Array): Promise<ExternalDataFile[]> {
  const out: ExternalDataFile[] = [];
  for (const plan of externalDataFiles(model, file)) {
    const data = await fetchChecked(source, file, plan, (path, max) => readFolderFile(source, path, max));
    out.push({ path: plan.location, data });
  }
  return out;
}

/**
 * Checks, without reading them, the external data files of the model at `file` in a source on this
 * machine (`source.locate`): the same checks and messages as {@link readExternalData}. Then
 * onnxruntime may open the model from its path and find them beside it.
 *
 * @returns the files' plans (empty for a model without external data).
 */
export async function locateExternalData(source: ModelFileSource, file: string, model: Uint8Array): Promise<ExternalDataPlan[]> {
  const plans = externalDataFiles(model, file);
  for (const plan of plans) await fetchChecked(source, file, plan, (path, max) => locateFolderFile(source, path, max));
  return plans;
}

/** Reads or locates one data file: present, within its declared end, at least that long; messages name both files. */
async function fetchChecked<T extends Uint8Array | LocalFile>(
  source: ModelFileSource,
  file: string,
  plan: ExternalDataPlan,
  get: (path: string, maxBytes: number) => Promise<T | null>,
): Promise<T> {
  let found: T | null;
  try {
    found = await get(plan.path, plan.end);
  } catch (e) {
    throw new Error(`${file}: external data ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (found === null) throw new Error(`${file}: expected its external data file ${plan.path} beside it in the model folder ${source.location}, got no such file`);
  const size = isTypedArray(found, "Uint8Array") ? found.length : (found as LocalFile).size;
  if (size < plan.end) {
    throw new Error(`${file}: expected its external data file ${plan.path} to hold at least ${plan.end} bytes (tensor ${JSON.stringify(plan.tensor)} ends there), got ${size} bytes`);
  }
  return found;
}
