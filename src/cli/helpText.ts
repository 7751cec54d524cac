/**
 * `vq-diffusion --help` with what the bundled model knows, read from its folder's `prompts.json`
 * (docs/model-folder.md): the list printed is the model's own, not a copy kept in the code.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUNDLED_MODELS, bundledModelFolder } from "../node/bundledModels.js";
import { ModelVocabulary, VOCABULARY_FILE, VOCABULARY_LIMITS } from "../pipeline/modelVocabulary.js";
import { HELP } from "./args.js";

/** The help's line about the bundled model's prompts, as args.ts writes it. */
const BUILT_IN_LINE = `fashion-mnist knows: ${BUNDLED_MODELS["fashion-mnist"].prompts.join(", ")}`;
const INDENT = " ".repeat(20);
const WIDTH = 100;

/** `text` broken at ", " into lines of at most WIDTH characters, every line after the first indented. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = "";
  for (const piece of text.split(/(?<=, )/)) {
    if (line !== "" && INDENT.length + line.length + piece.length > WIDTH) {
      lines.push(line.trimEnd());
      line = "";
    }
    line += piece;
  }
  lines.push(line);
  return lines.join(`\n${INDENT}`);
}

/**
 * The vocabulary of a model folder on disk, or null when it has no `prompts.json`.
 *
 * @throws Error naming the file: larger than {@link VOCABULARY_LIMITS.maxBytes}, not JSON, or not the format.
 */
function readVocabulary(folder: string): ModelVocabulary | null {
  const file = join(folder, VOCABULARY_FILE);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return null;
  }
  if (size > VOCABULARY_LIMITS.maxBytes) throw new Error(`${file}: expected a file of at most ${VOCABULARY_LIMITS.maxBytes} bytes, got ${size} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: expected JSON, got an error: ${(e as Error).message}`);
  }
  return ModelVocabulary.fromJson(json, file);
}

/**
 * The CLI's help text, its fashion-mnist line listing the phrases of `folder`'s `prompts.json`
 * (each class with its other phrases in parentheses). A folder without the file leaves the built-in
 * list; a file that cannot be read says why in its place.
 *
 * @param folder - the model folder (default: the bundled fashion-mnist's).
 * @example
 * ```ts
 * helpText(); // "usage: vq-diffusion generate …\n  --prompt TEXT …\n                    fashion-mnist knows (its prompts.json): t-shirt, …"
 * ```
 */
export function helpText(folder: string = bundledModelFolder("fashion-mnist") ?? ""): string {
  let line: string;
  try {
    const vocabulary = readVocabulary(folder);
    if (vocabulary === null) return HELP;
    line = wrap(`fashion-mnist knows (its ${VOCABULARY_FILE}): ${vocabulary.summary()}`);
  } catch (e) {
    line = `fashion-mnist's ${VOCABULARY_FILE} could not be read: ${(e as Error).message}`;
  }
  return HELP.replace(BUILT_IN_LINE, line);
}
