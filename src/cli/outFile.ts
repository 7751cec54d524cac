/**
 * `--out`, checked before anything is loaded or generated: a file name ending in `.png` (at parse
 * time), not a folder, in an existing folder, and a file this process can create or write (before the
 * run: the file is opened for appending, which creates it when missing and leaves an existing one as
 * it is). Asking the operating system is the only check that cannot be fooled: `/proc/x.png` passes
 * every permission test and still cannot be created.
 */
import { closeSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** The file-system calls the check makes (tests replace them to play a folder they cannot make). */
export interface OutFileSystem {
  stat(path: string): { isDirectory(): boolean } | undefined;
  /** Opens `path` for appending and closes it (creating an empty file when missing); throws an error with a `code`. */
  touch(path: string): void;
  /** Removes a file this check created. */
  remove(path: string): void;
}

const nodeFileSystem: OutFileSystem = {
  stat: (path) => {
    try {
      return statSync(path);
    } catch {
      return undefined; // missing, or a file where a folder was expected (ENOTDIR)
    }
  },
  touch: (path) => closeSync(openSync(path, "a")),
  remove: (path) => rmSync(path, { force: true }),
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

/** What {@link checkOutFile} did: `discard` removes the file when the check created it (a run that failed). */
export interface CheckedOutFile {
  /** Whether the file was missing and the check created it (empty). */
  readonly created: boolean;
  /** Removes the file if the check created it; leaves a file that was there before. */
  discard(): void;
}

/**
 * The run-time check, before anything is loaded: `out` is not a folder, its folder exists, and the
 * file can be created or written (it is opened for appending: see the module comment). Throws an
 * Error naming `--out`.
 *
 * @returns whether the file was created, and how to remove it again when the run fails.
 * @example
 * ```ts
 * const out = checkOutFile("sheet.png"); // creates an empty sheet.png in a writable working directory
 * out.discard(); // the run failed: removes it again
 * ```
 */
export function checkOutFile(out: string, fs: OutFileSystem = nodeFileSystem): CheckedOutFile {
  const path = resolve(out);
  const folder = dirname(path);
  if (fs.stat(path)?.isDirectory()) throw new Error(`--out: expected a PNG file name, got the folder ${out}`);
  if (!fs.stat(folder)?.isDirectory()) throw new Error(`--out: expected a file in an existing folder, got ${out} (no folder ${folder})`);
  const existed = fs.stat(path) !== undefined;
  try {
    fs.touch(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`--out: expected a file this process can ${existed ? "overwrite" : "create"}, got ${out} (${code})`);
  }
  return { created: !existed, discard: () => void (existed ? undefined : fs.remove(path)) };
}
