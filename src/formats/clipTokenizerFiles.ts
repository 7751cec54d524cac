/**
 * CLIP's "slow" tokenizer files (`vocab.json` + `merges.txt`, with `tokenizer_config.json` and/or
 * `special_tokens_map.json`), as diffusers checkpoints such as microsoft/vq-diffusion-ithq ship them,
 * turned into the object a `tokenizer.json` holds: what transformers 5.17's `CLIPTokenizer` builds from
 * those files (`models/clip/tokenization_clip.py`, the same pipeline as
 * `convert_slow_tokenizer.CLIPConverter`), so that @huggingface/tokenizers gives diffusers' ids:
 *
 *   normalizer      NFC, then runs of whitespace → " ", then lower case
 *   pre_tokenizer   Split (inverted, removed) on CLIP's pattern
 *                   `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
 *                   then ByteLevel (no prefix space)
 *   model           BPE over vocab.json and merges.txt, `end_of_word_suffix` "</w>",
 *                   `continuing_subword_prefix` "", unk_token the config's unk token
 *   post_processor  RobertaProcessing: cls = (bos, its id), sep = (eos, its id)
 *   decoder         ByteLevel
 *   added_tokens    the special tokens, as transformers adds them (found by loading variants of the
 *                   files with transformers 5.17, see tools/fixtures/record_clip_tokenizer_ids.py):
 *                   `added_tokens_decoder` of tokenizer_config.json first, then bos, eos, unk, sep, pad,
 *                   cls, mask and `additional_special_tokens`/`extra_special_tokens`, each taken from
 *                   special_tokens_map.json when it names it, else from tokenizer_config.json, else
 *                   CLIPTokenizer's defaults (bos "<|startoftext|>", eos/unk/pad "<|endoftext|>").
 *                   An AddedToken object keeps its flags; a plain string is special and not normalized,
 *                   so ITHQ's pad "!" becomes an added token (id 0), as it does in transformers. A token
 *                   outside the vocabulary gets the next id after it.
 *
 * merges.txt is read as the Rust tokenizers library reads it (`BPE::read_file`): lines starting with
 * `#version` are skipped, every other line is two symbols separated by one space. Each merge's symbols
 * and their concatenation must be in the vocabulary (the Rust library's `MergeTokenOutOfVocabulary`).
 */
import { describe } from "../errors.js";

/**
 * The files of a slow CLIP tokenizer, parsed as JSON (merges.txt as text).
 *
 * @example
 * ```ts
 * const files: ClipSlowTokenizerFiles = { vocab: JSON.parse(vocabText), merges: mergesText, tokenizerConfig: JSON.parse(configText) };
 * ```
 */
export interface ClipSlowTokenizerFiles {
  /** vocab.json: token → id. */
  readonly vocab: unknown;
  /** merges.txt's text. */
  readonly merges: string;
  /** tokenizer_config.json, when the folder has one. */
  readonly tokenizerConfig?: unknown;
  /** special_tokens_map.json, when the folder has one. */
  readonly specialTokensMap?: unknown;
}

/**
 * What {@link clipTokenizerJson} gives: the two objects pipeline/promptTokenizer.ts's `PromptTokenizer` takes.
 *
 * @example
 * ```ts
 * const { tokenizer, config }: ClipTokenizerJson = clipTokenizerJson(files);
 * JSON.stringify(tokenizer); // a tokenizer.json
 * ```
 */
export interface ClipTokenizerJson {
  /** The tokenizer.json object. */
  readonly tokenizer: Record<string, unknown>;
  /**
   * tokenizer_config.json with the special tokens transformers ends up with (special_tokens_map.json's
   * where it names them) as plain strings, so that the pad token is the one transformers pads with.
   */
  readonly config: Record<string, unknown>;
}

/**
 * Bounds on the files (CLIP's real vocabulary: 49 408 tokens, 48 894 merges).
 *
 * @example
 * ```ts
 * CLIP_TOKENIZER_LIMITS.maxVocab; // 1000000
 * ```
 */
export const CLIP_TOKENIZER_LIMITS = { maxVocab: 1_000_000, maxMerges: 1_000_000, maxTokenLength: 1024 } as const;

const SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;
const SPECIAL_LISTS = ["additional_special_tokens", "extra_special_tokens"] as const;
const DEFAULTS: Readonly<Record<string, string>> = { bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", pad_token: "<|endoftext|>" };
const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * Converts CLIP's slow tokenizer files to a tokenizer.json object (and the config to read it with).
 *
 * @param files - the parsed files (not modified).
 * @param folder - the files' folder in the model, for messages (default `tokenizer`).
 * @returns `{ tokenizer, config }`, ready for `new PromptTokenizer(tokenizer, config, L)`.
 * @throws Error naming the file (e.g. `tokenizer/merges.txt: line 7`) for a vocabulary that is not an
 *   object of distinct non-negative integer ids, a merge line that is not two symbols, a merge whose symbols
 *   are not in the vocabulary, a special token that is neither a string nor an AddedToken object, an
 *   `added_tokens_decoder` entry whose id disagrees with the vocabulary, or sizes over
 *   {@link CLIP_TOKENIZER_LIMITS}.
 * @example
 * ```ts
 * const { tokenizer, config } = clipTokenizerJson({ vocab: JSON.parse(vocabText), merges: mergesText, tokenizerConfig: JSON.parse(configText) });
 * const prompts = new PromptTokenizer(tokenizer, config, 77);
 * prompts.ids("teddy bear playing in the pool"); // [49406, 11798, 4298, 1629, 530, 518, 2831, 49407] (CLIP's real vocabulary)
 * ```
 */
export function clipTokenizerJson(files: ClipSlowTokenizerFiles, folder = "tokenizer"): ClipTokenizerJson {
  const vocab = readVocab(files.vocab, `${folder}/vocab.json`);
  const merges = readMerges(files.merges, vocab, `${folder}/merges.txt`);
  const configFile = `${folder}/tokenizer_config.json`;
  const mapFile = `${folder}/special_tokens_map.json`;
  const config = objectOrEmpty(files.tokenizerConfig, configFile);
  const map = objectOrEmpty(files.specialTokensMap, mapFile);

  const added = new Map<string, AddedToken>();
  let nextId = Math.max(-1, ...vocab.values()) + 1;
  const add = (content: string, flags: Omit<AddedToken, "id" | "content">, id?: number) => {
    if (added.has(content)) return;
    const known = vocab.get(content);
    if (id !== undefined && known !== undefined && known !== id) {
      throw new Error(`${configFile}: added_tokens_decoder: expected ${JSON.stringify(content)} at its vocabulary id ${known}, got id ${id}`);
    }
    added.set(content, { id: id ?? known ?? nextId++, content, ...flags });
  };

  const decoder = config.added_tokens_decoder;
  if (decoder !== undefined && decoder !== null) {
    if (typeof decoder !== "object" || Array.isArray(decoder)) throw new Error(`${configFile}: expected added_tokens_decoder to be an object of id → token, got ${describe(decoder)}`);
    const entries = Object.entries(decoder as Record<string, unknown>).map(([id, value]) => [Number(id), value] as const).sort((a, b) => a[0] - b[0]);
    for (const [id, value] of entries) {
      if (!Number.isSafeInteger(id) || id < 0) throw new Error(`${configFile}: added_tokens_decoder: expected non-negative integer ids, got ${describe(id)}`);
      const token = addedToken(value, `added_tokens_decoder.${id}`, configFile, true);
      add(token.content, token, id);
      nextId = Math.max(nextId, id + 1);
    }
  }

  const effective: Record<string, unknown> = {};
  for (const key of SPECIAL_KEYS) {
    const [value, file] = key in map ? [map[key], mapFile] : key in config ? [config[key], configFile] : [DEFAULTS[key], configFile];
    if (value === null || value === undefined) continue;
    const token = addedToken(value, key, file, false);
    add(token.content, token);
    effective[key] = token.content;
  }
  for (const key of SPECIAL_LISTS) {
    const [value, file] = key in map ? [map[key], mapFile] : [config[key], configFile];
    if (value === null || value === undefined) continue;
    const list = Array.isArray(value) ? value : typeof value === "object" ? Object.values(value as object) : null;
    if (list === null) throw new Error(`${file}: expected ${key} to be a list of tokens, got ${describe(value)}`);
    const contents = list.map((v: unknown, i) => {
      const token = addedToken(v, `${key}[${i}]`, file, false);
      add(token.content, token);
      return token.content;
    });
    effective[key] = contents;
  }

  const idOf = (key: "bos_token" | "eos_token"): [string, number] => {
    const content = effective[key];
    if (typeof content !== "string") throw new Error(`${configFile}: expected a ${key} (CLIP's post-processor needs one), got none`);
    return [content, added.get(content)!.id];
  };
  const unk = typeof effective.unk_token === "string" ? effective.unk_token : null;
  const vocabObject: Record<string, number> = {};
  for (const [token, id] of vocab) vocabObject[token] = id;

  const tokenizer: Record<string, unknown> = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: CLIP_SPLIT }, behavior: "Removed", invert: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: "RobertaProcessing", sep: idOf("eos_token"), cls: idOf("bos_token"), trim_offsets: false, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObject,
      merges,
    },
  };
  const outConfig: Record<string, unknown> = { ...config };
  delete outConfig.added_tokens_decoder;
  for (const key of [...SPECIAL_KEYS, ...SPECIAL_LISTS]) {
    if (key in effective) outConfig[key] = effective[key];
    else delete outConfig[key];
  }
  return { tokenizer, config: outConfig };
}

function objectOrEmpty(value: unknown, file: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${file}: expected a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function readVocab(value: unknown, file: string): Map<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${file}: expected a JSON object of token → id, got ${describe(value)}`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > CLIP_TOKENIZER_LIMITS.maxVocab) throw new Error(`${file}: expected at most ${CLIP_TOKENIZER_LIMITS.maxVocab} tokens, got ${entries.length}`);
  const vocab = new Map<string, number>();
  const ids = new Set<number>();
  for (const [token, id] of entries) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || id >= CLIP_TOKENIZER_LIMITS.maxVocab) {
      throw new Error(`${file}: expected each id to be an integer in [0, ${CLIP_TOKENIZER_LIMITS.maxVocab}), got ${describe(id)} for ${JSON.stringify(token)}`);
    }
    if (ids.has(id)) throw new Error(`${file}: expected each id once, got ${id} again for ${JSON.stringify(token)}`);
    ids.add(id);
    vocab.set(token, id);
  }
  return vocab;
}

function readMerges(text: unknown, vocab: ReadonlyMap<string, number>, file: string): [string, string][] {
  if (typeof text !== "string") throw new Error(`${file}: expected the file's text, got ${describe(text)}`);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length > CLIP_TOKENIZER_LIMITS.maxMerges + 1) throw new Error(`${file}: expected at most ${CLIP_TOKENIZER_LIMITS.maxMerges} merges, got ${lines.length} lines`);
  const merges: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.startsWith("#version")) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new Error(`${file}: line ${i + 1}: expected two symbols separated by one space, got ${describe(line)}`);
    }
    for (const symbol of [parts[0], parts[1], parts[0] + parts[1]]) {
      if (!vocab.has(symbol)) throw new Error(`${file}: line ${i + 1}: expected symbols in the vocabulary, got ${JSON.stringify(symbol)}, which is not`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/**
 * A special token as transformers reads it: a string (special, not normalized, no stripping) or an
 * AddedToken object (`{"content": …, "lstrip", "rstrip", "single_word", "normalized", "special"}`, with or
 * without `"__type": "AddedToken"`), whose missing flags default to false (`special` to true).
 */
function addedToken(value: unknown, key: string, file: string, decoderEntry: boolean): Omit<AddedToken, "id"> {
  if (typeof value === "string" && !decoderEntry) {
    return { content: value, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const t = value as Record<string, unknown>;
    const flag = (name: string, fallback: boolean) => {
      const v = t[name];
      if (v === undefined) return fallback;
      if (typeof v !== "boolean") throw new Error(`${file}: ${key}.${name}: expected true or false, got ${describe(v)}`);
      return v;
    };
    if (typeof t.content === "string" && t.content.length > 0 && t.content.length <= CLIP_TOKENIZER_LIMITS.maxTokenLength && (t.__type === undefined || t.__type === "AddedToken")) {
      return {
        content: t.content,
        single_word: flag("single_word", false),
        lstrip: flag("lstrip", false),
        rstrip: flag("rstrip", false),
        normalized: flag("normalized", false),
        special: flag("special", true),
      };
    }
  }
  throw new Error(`${file}: expected ${key} to be ${decoderEntry ? "" : "a string or "}{"content": string, ...} (an AddedToken), got ${describe(value)}`);
}
