// Exhaustive check of the kernels' float32 exp (assembly/exp4.ts): its largest relative error over
// every float32 in [-87.3, 0] (about 1.1e9 inputs; a few tens of seconds). The bound it must stay
// under is EXP4_RELATIVE_ERROR in src/kernels/primitives.ts.
// Usage: node scripts/verify-exp.mjs [stride]   (stride > 1 checks every stride-th input)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Compiles assembly/verifyExp.ts and returns its maxRelativeError(from, to, stride). */
export function compileVerifier() {
  const out = join(mkdtempSync(join(tmpdir(), "vqd-exp-")), "verify.wasm");
  execFileSync(process.execPath, [join(root, "node_modules/assemblyscript/bin/asc.js"), "assembly/verifyExp.ts", "--outFile", out, "-O3", "--runtime", "stub", "--noAssert", "--enable", "simd"], { cwd: root, stdio: "inherit" });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), {});
  return instance.exports.maxRelativeError;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stride = Number(process.argv[2] ?? 1);
  const maxRelativeError = compileVerifier();
  const t0 = performance.now();
  // -0 (0x80000000) up to -87.3 (0xc2ae999a) and beyond, where exp4 returns 0 (skipped).
  const worst = maxRelativeError(0x80000000, 0xc2ae999b, stride);
  console.log(`exp4: largest relative error over float32 [-87.3, 0] (stride ${stride}): ${worst.toExponential(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
