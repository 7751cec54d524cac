// Checks an unpacked package folder (`npm pack`'s tarball, extracted: its `package/` folder): every
// image a Markdown file of the package shows by a relative link (`![alt](docs/x.png)` or
// `<img src="docs/x.png">`) is a file of the package, so the packed README's pictures show wherever
// the package's own files are read. Absolute URLs are not checked. Exit code 1 lists what is missing.
//   node scripts/packed-images.mjs DIR
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const root = process.argv[2];
if (root === undefined || !existsSync(root)) {
  console.error(`packed-images: expected an unpacked package folder, got ${JSON.stringify(root)}`);
  process.exit(2);
}
const markdown = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".md") && !f.split("/").includes("node_modules"));
if (!markdown.includes("README.md")) {
  console.error(`packed-images: ${root}/README.md: expected in the package, got none`);
  process.exit(1);
}
const IMAGE = /!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const IMG_TAG = /<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi;
const missing = [];
let shown = 0;
for (const file of markdown) {
  const text = readFileSync(join(root, file), "utf8");
  for (const [, link] of [...text.matchAll(IMAGE), ...text.matchAll(IMG_TAG)]) {
    if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(link)) continue; // an absolute URL: not the package's files
    shown++;
    const path = normalize(join(dirname(file), decodeURIComponent(link.replace(/[?#].*$/, ""))));
    if (path.startsWith("..") || path.startsWith("/") || !existsSync(join(root, path))) missing.push(`${file}: ${link}`);
  }
}
if (missing.length > 0) {
  console.error(`packed-images: expected every image the packed Markdown shows in the package (add it to package.json "files"), got ${missing.length} missing:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log(`packed-images: the ${shown} images the packed Markdown shows by relative links are in the package`);
