// Makes test/exports/ (git-ignored): the model folders that test/realGolden.test.ts loads, exported
// by tools/export from test/fixtures/real-golden/D and test/fixtures/checkpoints/tiny-learnable
// (tools/export/test_exports.py lists them). `npm test` runs this first. It does the work only when an
// input changed: the stamp test/exports/.inputs.sha256 holds the hash of every file under tools/export
// (but its .venv), tools/fixtures/vqd_fixtures (the checkpoint loading and components it imports), and
// the two checkpoints.
// Usage: node scripts/export-fixtures.mjs [--force]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const target = join(root, "test/exports");
const stampFile = join(target, ".inputs.sha256");
const inputs = ["tools/export", "tools/fixtures/vqd_fixtures", "test/fixtures/real-golden/D", "test/fixtures/checkpoints/tiny-learnable/diffusers"];
const skip = new Set([".venv", "__pycache__"]);

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).filter((n) => !skip.has(n)).sort().flatMap((n) => files(join(path, n)));
}

const hash = createHash("sha256");
for (const file of inputs.flatMap((p) => files(join(root, p)))) {
  hash.update(relative(root, file) + "\0");
  hash.update(readFileSync(file));
}
const stamp = hash.digest("hex");
if (!process.argv.includes("--force") && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === stamp) {
  console.log("test/exports is up to date");
  process.exit(0);
}

const t0 = Date.now();
execFileSync("bash", [join(root, "tools/export/setup.sh")], { cwd: root, stdio: "inherit" });
const partial = `${target}.partial`;
rmSync(partial, { recursive: true, force: true });
execFileSync(join(root, "tools/export/.venv/bin/python"), [join(root, "tools/export/test_exports.py"), partial], {
  cwd: root,
  stdio: "inherit",
});
writeFileSync(join(partial, ".inputs.sha256"), stamp + "\n");
rmSync(target, { recursive: true, force: true });
renameSync(partial, target);
console.log(`test/exports made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
