/**
 * onnxruntime-node, loaded on first use. It is an optional peer dependency of the package (a browser
 * app should not install its native binaries), so a Node.js app installs it beside vq-diffusion; when
 * it is missing, the error says which package and how to install it.
 */
import type { OrtModule } from "../pipeline/onnxComponent.js";

/** The version the package is tested with, and the command that installs it without the CUDA download. */
export const ONNXRUNTIME_NODE_INSTALL = "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0";

/** Whether `e` is Node.js' "cannot find package" error for `pkg` (the package itself, not one it imports). */
function isMissingPackage(e: unknown, pkg: string): boolean {
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && typeof message === "string" && message.includes(`'${pkg}'`);
}

/**
 * The error of a missing onnxruntime-node (its message is for API users: it says "pass { ort }"); the
 * CLI recognises it by class and says the same in its own terms.
 *
 * @example
 * ```ts
 * try { await loadOnnxruntimeNode(); } catch (e) { if (e instanceof OnnxruntimeNodeMissingError) console.error(e.installCommand); }
 * ```
 */
export class OnnxruntimeNodeMissingError extends Error {
  /** The command that installs the tested version without the CUDA download. */
  readonly installCommand = ONNXRUNTIME_NODE_INSTALL;
  /** The import's own first line ("Cannot find package 'onnxruntime-node' imported from …"). */
  readonly importError: string;

  constructor(cause: unknown) {
    const importError = (cause as Error).message.split("\n")[0];
    super(`onnxruntime-node: expected the package installed beside vq-diffusion to run models in Node.js (${ONNXRUNTIME_NODE_INSTALL}; or pass { ort }), got none: ${importError}`, { cause });
    this.importError = importError;
  }
}

/**
 * Imports onnxruntime-node, or throws an Error naming it and the install command when it is not installed.
 *
 * @param importModule - the import to run (tests replace it).
 * @throws Error `onnxruntime-node: expected the package installed …` when it cannot be found; other
 *   errors (a broken native binding) are rethrown as they are.
 *
 * @example
 * ```ts
 * const ort = await loadOnnxruntimeNode();
 * ```
 */
export async function loadOnnxruntimeNode(importModule: () => Promise<unknown> = () => import("onnxruntime-node")): Promise<OrtModule> {
  try {
    return (await importModule()) as OrtModule;
  } catch (e) {
    if (!isMissingPackage(e, "onnxruntime-node")) throw e;
    throw new OnnxruntimeNodeMissingError(e);
  }
}
