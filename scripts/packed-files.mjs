// Checks an unpacked package folder (`npm pack`'s tarball, extracted: its `package/` folder) for what a
// user of the package reads besides the code: the LICENSE file that package.json's "license" names,
// and every source map's sources (`dist/**/*.map`: `sources` of .js.map and .d.ts.map) resolving to a
// file of the package, so a debugger or an editor's "go to definition" finds the TypeScript.
// Exit code 1 lists what is missing.
//   node scripts/packed-files.mjs DIR
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const root = process.argv[2];
if (root === undefined || !existsSync(join(root, "package.json"))) {
  console.error(`packed-files: expected an unpacked package folder, got ${JSON.stringify(root)}`);
  process.exit(2);
}
const problems = [];
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
if (pkg.license !== undefined && !existsSync(join(root, "LICENSE"))) problems.push(`LICENSE: expected the ${pkg.license} licence text beside package.json, got none`);
let maps = 0;
for (const file of readdirSync(join(root, "dist"), { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".map")) continue;
  maps++;
  const map = JSON.parse(readFileSync(join(root, "dist", file), "utf8"));
  for (const source of map.sources ?? []) {
    const path = normalize(join("dist", dirname(file), map.sourceRoot ?? "", source));
    if (path.startsWith("..") || !existsSync(join(root, path))) problems.push(`dist/${file}: source ${source} (${path}) is not in the package`);
  }
}
if (problems.length > 0) {
  console.error(`packed-files: ${problems.length} problem(s):\n${problems.slice(0, 20).join("\n")}`);
  process.exit(1);
}
console.log(`packed-files: LICENSE present; ${maps} source maps, every source in the package`);
