/**
 * `prompts.json`, an optional file at the root of a model folder (docs/model-folder.md, "prompts.json"):
 * what the model was trained to draw, so that a prompt naming none of it can be told apart from one the
 * model knows. A text encoder trained on a few phrases turns any other text into some embedding without
 * complaint (nothing is an unknown token to a byte-level tokenizer), and the images then follow no
 * prompt: the pipeline warns instead (`onWarning`), and the CLI and the page show the list.
 *
 *   {
 *     "about": "…",                                   optional, free text
 *     "classes": [                                    1 to 10 000 classes
 *       { "name": "ankle boot",                       what the class is called
 *         "phrases": ["ankle boot", "boots", …],      the words that name it (a prompt containing one of
 *                                                     these knows the class); the name is not implied
 *         "prompts": ["an ankle boot", …],            optional: the prompts it was trained on
 *         "held_out": ["the boot", …] }               optional: prompts kept out of training (evaluation)
 *     ]
 *   }
 *
 * A prompt "contains" a phrase when the phrase's words appear in it consecutively, as whole words:
 * both are lower-cased (`String.prototype.toLowerCase`) and split into words at every character that
 * is neither a letter nor a digit (Unicode `\p{L}`, `\p{N}`), so "T-Shirt" and "t shirt" are the
 * same two words, and "boots" does not contain "boot".
 */
import { describe } from "../errors.js";
import { parseJsonObject, type JsonObject } from "../files/json.js";
import { readFolderFile, type ModelFileSource } from "../files/modelFileSource.js";

/**
 * The file's path inside a model folder.
 *
 * @example
 * ```ts
 * await fetch(`${modelUrl}/${VOCABULARY_FILE}`); // …/prompts.json
 * ```
 */
export const VOCABULARY_FILE = "prompts.json";

/**
 * Bounds on what `prompts.json` may declare; a file beyond them is refused before its lists are built.
 *
 * @example
 * ```ts
 * VOCABULARY_LIMITS.maxBytes; // 1048576: a larger prompts.json is refused before it is read whole
 * ```
 */
export const VOCABULARY_LIMITS = {
  /** The file's size. */
  maxBytes: 1024 * 1024,
  /** Classes. */
  maxClasses: 10_000,
  /** Strings in all lists together (names, phrases, prompts, held-out prompts). */
  maxStrings: 100_000,
  /** Characters (UTF-16 code units) in one string. */
  maxStringLength: 1_000,
} as const;

/**
 * One class of {@link ModelVocabulary}.
 *
 * @example
 * ```ts
 * const bag: VocabularyClass = { name: "bag", phrases: ["bag", "handbag"], prompts: ["a bag"], heldOut: ["the purse"] };
 * ```
 */
export interface VocabularyClass {
  /** What the class is called. */
  readonly name: string;
  /** The phrases that name it; a prompt containing one of them is one the model knows. */
  readonly phrases: readonly string[];
  /** The prompts the model was trained on for this class (empty when the file does not say). */
  readonly prompts: readonly string[];
  /** Prompts kept out of training, for evaluation (empty when the file does not say). */
  readonly heldOut: readonly string[];
}

const CLASS_KEYS = new Set(["name", "phrases", "prompts", "held_out"]);
const TOP_KEYS = new Set(["about", "classes"]);

/**
 * A prompt's words: lower-cased, split at every character that is neither a letter nor a digit.
 *
 * @example
 * ```ts
 * promptWords("A T-Shirt!"); // ["a", "t", "shirt"]
 * ```
 */
export function promptWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w !== "");
}

/**
 * What a model folder's `prompts.json` says: its classes and the phrases that name them. A loaded
 * pipeline holds its folder's as `pipe.vocabulary` (null without the file).
 *
 * @example
 * ```ts
 * const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist");
 * pipe.vocabulary?.summary(); // "t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot"
 * pipe.vocabulary?.knows("a car"); // false: generate warns through onWarning
 * ```
 */
export class ModelVocabulary {
  /** The classes, in the file's order. */
  readonly classes: readonly VocabularyClass[];
  private readonly phraseWords: readonly (readonly string[])[];

  private constructor(classes: readonly VocabularyClass[]) {
    this.classes = classes;
    this.phraseWords = classes.flatMap((c) => c.phrases.map(promptWords));
  }

  /**
   * Checks and reads the parsed JSON of `prompts.json` (not modified).
   *
   * @param json - the parsed file.
   * @param file - the file's name for messages (default `prompts.json`).
   * @throws Error naming the file and the key: not an object, a key the format does not have, `classes`
   *   not a non-empty array, a class without `name` or non-empty `phrases`, a list that is not an array
   *   of non-empty strings, a phrase without a letter or digit, or a size over {@link VOCABULARY_LIMITS}.
   * @example
   * ```ts
   * const v = ModelVocabulary.fromJson({ classes: [{ name: "bag", phrases: ["bag", "handbag"] }] });
   * v.knows("a red handbag"); // true
   * v.knows("a car"); // false
   * ```
   */
  static fromJson(json: unknown, file: string = VOCABULARY_FILE): ModelVocabulary {
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object, got ${describe(json)}`);
    const top = json as JsonObject;
    for (const key of Object.keys(top)) {
      if (!TOP_KEYS.has(key)) throw new Error(`${file}: expected only the keys ${[...TOP_KEYS].join(", ")}, got ${JSON.stringify(key)}`);
    }
    if (top.about !== undefined && typeof top.about !== "string") throw new Error(`${file}: expected key about to be a string, got ${describe(top.about)}`);
    const list = top.classes;
    if (!Array.isArray(list) || list.length === 0 || list.length > VOCABULARY_LIMITS.maxClasses) {
      throw new Error(`${file}: expected key classes to be an array of 1 to ${VOCABULARY_LIMITS.maxClasses} classes, got ${Array.isArray(list) ? `${list.length} entries` : describe(list)}`);
    }
    let strings = 0;
    const count = (n: number, where: string) => {
      strings += n;
      if (strings > VOCABULARY_LIMITS.maxStrings) throw new Error(`${file}: expected at most ${VOCABULARY_LIMITS.maxStrings} strings in all, got more at ${where}`);
    };
    const classes = list.map((entry: unknown, i): VocabularyClass => {
      const where = `classes[${i}]`;
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error(`${file}: expected ${where} to be an object, got ${describe(entry)}`);
      const c = entry as JsonObject;
      for (const key of Object.keys(c)) {
        if (!CLASS_KEYS.has(key)) throw new Error(`${file}: expected ${where} to have only the keys ${[...CLASS_KEYS].join(", ")}, got ${JSON.stringify(key)}`);
      }
      const name = checkString(c.name, `${where}.name`, file);
      const phrases = checkStrings(c.phrases, `${where}.phrases`, file, true);
      const prompts = c.prompts === undefined ? [] : checkStrings(c.prompts, `${where}.prompts`, file, false);
      const heldOut = c.held_out === undefined ? [] : checkStrings(c.held_out, `${where}.held_out`, file, false);
      count(1 + phrases.length + prompts.length + heldOut.length, where);
      phrases.forEach((p, j) => {
        if (promptWords(p).length === 0) throw new Error(`${file}: expected ${where}.phrases[${j}] to hold a letter or digit, got ${JSON.stringify(p)}`);
      });
      return Object.freeze({ name, phrases: Object.freeze(phrases), prompts: Object.freeze(prompts), heldOut: Object.freeze(heldOut) });
    });
    return new ModelVocabulary(Object.freeze(classes));
  }

  /**
   * Whether `prompt` contains one of the phrases as whole words (see the module's doc).
   *
   * @example
   * ```ts
   * vocabulary.knows("Ankle boot"); // true, for a model whose phrases include "ankle boot"
   * ```
   */
  knows(prompt: string): boolean {
    const words = promptWords(prompt);
    return this.phraseWords.some((phrase) => {
      for (let start = 0; start + phrase.length <= words.length; start++) {
        if (phrase.every((w, k) => words[start + k] === w)) return true;
      }
      return false;
    });
  }

  /**
   * What the model knows, in one line: each class's name, followed by its other phrases in parentheses.
   *
   * @example
   * ```ts
   * vocabulary.summary(); // "t-shirt (tee, t shirt), trouser (pants), …"
   * ```
   */
  summary(): string {
    return this.classes
      .map((c) => {
        const others = c.phrases.filter((p) => p !== c.name);
        return others.length === 0 ? c.name : `${c.name} (${others.join(", ")})`;
      })
      .join(", ");
  }

  /**
   * The warning for a prompt that contains none of the phrases, or null when it contains one.
   *
   * @example
   * ```ts
   * vocabulary.unknownPromptWarning("a car");
   * // 'prompt "a car" names nothing this model was trained on (prompts.json), so the images will not follow it; it knows: …'
   * ```
   */
  unknownPromptWarning(prompt: string): string | null {
    if (this.knows(prompt)) return null;
    return `prompt ${JSON.stringify(prompt)} names nothing this model was trained on (${VOCABULARY_FILE}), so the images will not follow it; it knows: ${this.summary()}`;
  }
}

function checkString(value: unknown, key: string, file: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > VOCABULARY_LIMITS.maxStringLength) {
    throw new Error(`${file}: expected key ${key} to be a string of 1 to ${VOCABULARY_LIMITS.maxStringLength} characters, got ${describe(value)}`);
  }
  return value;
}

function checkStrings(value: unknown, key: string, file: string, nonEmpty: boolean): string[] {
  if (!Array.isArray(value) || (nonEmpty && value.length === 0) || value.length > VOCABULARY_LIMITS.maxStrings) {
    throw new Error(`${file}: expected key ${key} to be an array of ${nonEmpty ? "1" : "0"} to ${VOCABULARY_LIMITS.maxStrings} strings, got ${Array.isArray(value) ? `${value.length} entries` : describe(value)}`);
  }
  return value.map((v, j) => checkString(v, `${key}[${j}]`, file));
}

/**
 * Reads the folder's `prompts.json`, or null when the folder has none.
 *
 * @throws Error naming `prompts.json`: over {@link VOCABULARY_LIMITS.maxBytes} (refused before it is read
 *   whole), not JSON, or not the format (see {@link ModelVocabulary.fromJson}).
 * @example
 * ```ts
 * const vocabulary = await readModelVocabulary(source); // null for a folder without prompts.json
 * ```
 */
export async function readModelVocabulary(source: ModelFileSource): Promise<ModelVocabulary | null> {
  const bytes = await readFolderFile(source, VOCABULARY_FILE, VOCABULARY_LIMITS.maxBytes);
  return bytes === null ? null : ModelVocabulary.fromJson(parseJsonObject(bytes, VOCABULARY_FILE), VOCABULARY_FILE);
}
