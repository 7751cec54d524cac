/**
 * The repository carries its own contracts: no committed file points to a folder a clone does not
 * have (the reference material beside the checkout), and every relative link of a Markdown file
 * leads to a file of the repository.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const files = execFileSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).split("\n").filter((f) => f !== "" && existsSync(join(root, f)));
const text = (f: string) => /\.(md|ts|mts|mjs|js|py|sh|json|html|txt|toml|cfg)$|^\.ci\//.test(f);
/** Only this test names the patterns it looks for. */
const ALLOWED = new Set(["test/docs.references.test.ts"]);

describe("documentation references", () => {
  it("no committed file points outside the repository to the reference material", () => {
    const hits: string[] = [];
    for (const f of files.filter((f) => text(f) && !ALLOWED.has(f))) {
      readFileSync(join(root, f), "utf8").split("\n").forEach((line, i) => {
        if (/\.\.\/shared\b|\/work\/shared|\bshared\/(PIPELINE|DESIGN|bench|wheels|golden)|\.\.\/(PIPELINE|DESIGN)\.md|\.\.\/wheels\b|\b(PIPELINE|DESIGN)\.md/.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it("every relative link of a Markdown file leads to a file of the repository", () => {
    const broken: string[] = [];
    for (const f of files.filter((f) => f.endsWith(".md"))) {
      for (const m of readFileSync(join(root, f), "utf8").matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue;
        if (!existsSync(join(root, dirname(f), target))) broken.push(`${f}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
