/**
 * `--out`, checked before anything is loaded or generated: a file name ending in `.png` (at parse
 * time), not a folder, in an existing folder this process may write to (before the run).
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** The file-system calls the check makes (tests replace them to play a folder they cannot make). */
export interface OutFileSystem {
  stat(path: string): { isDirectory(): boolean } | undefined;
  /** Throws an error with a `code` when `path` is not writable. */
  checkWritable(path: string): void;
}

const nodeFileSystem: OutFileSystem = {
  stat: (path) => {
    try {
      return statSync(path);
    } catch {
      return undefined; // missing, or a file where a folder was expected (ENOTDIR)
    }
  },
  checkWritable: (path) => accessSync(path, constants.W_OK),
};

/**
 * The parse-time check: `--out` names a PNG file. Returns the problem, or null.
 *
 * @example
 * ```ts
 * outNameProblem("x.jpg"); // 'expected a file name ending in .png, got "x.jpg"'
 * ```
 */
export function outNameProblem(out: string): string | null {
  if (out === "") return `expected a file name ending in .png, got ""`;
  if (!/\.png$/i.test(out)) return `expected a file name ending in .png, got ${JSON.stringify(out)}`;
  return null;
}

/**
 * The run-time check, before anything is loaded: `out` is not a folder, its folder exists, and both
 * may be written. Throws an Error naming `--out`.
 *
 * @example
 * ```ts
 * checkOutFile("sheet.png"); // passes in a writable working directory
 * ```
 */
export function checkOutFile(out: string, fs: OutFileSystem = nodeFileSystem): void {
  const path = resolve(out);
  const folder = dirname(path);
  if (fs.stat(path)?.isDirectory()) throw new Error(`--out: expected a PNG file name, got the folder ${out}`);
  if (!fs.stat(folder)?.isDirectory()) throw new Error(`--out: expected a file in an existing folder, got ${out} (no folder ${folder})`);
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? "error";
  try {
    fs.checkWritable(folder);
  } catch (e) {
    throw new Error(`--out: expected a file in a folder this process may write to, got ${out} (${code(e)} on ${folder})`);
  }
  if (fs.stat(path) === undefined) return;
  try {
    fs.checkWritable(path);
  } catch (e) {
    throw new Error(`--out: expected a file this process may overwrite, got ${out} (${code(e)})`);
  }
}
