// The Python that runs the benches' PyTorch side: --torch-python PATH, else the repo's own
// environment (tools/python/.venv, torch 2.x; made by `bash tools/python/setup.sh`), else none.
// For a historical row, point it at another torch: --torch-python /usr/bin/python3 (Debian's 1.13).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const venvPython = fileURLToPath(new URL("../tools/python/.venv/bin/python", import.meta.url));

/** The Python executable to run tools/bench/*.py with, or null when there is none. */
export function torchPython(argv = process.argv) {
  const i = argv.indexOf("--torch-python");
  if (i >= 0) return argv[i + 1];
  return existsSync(venvPython) ? venvPython : null;
}

/** What to print when there is no PyTorch column. */
export const NO_TORCH = "(no PyTorch column: run `bash tools/python/setup.sh` (torch 2.x in tools/python/.venv), or pass --torch-python PATH)";
