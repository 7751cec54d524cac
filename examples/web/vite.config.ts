// The demo page: `npm run web` serves it, `npm run web:build` builds it into examples/web/dist.
// Nothing is loaded from a CDN: Vite emits onnxruntime-web's .wasm file as an asset of the build (the
// library finds it with `new URL(file, import.meta.url)`, which Vite follows), and this config serves
// the Fashion-MNIST model folder under models/fashion-mnist/ (copied into the build). The dev server
// and `vite preview` send CROSS_ORIGIN_ISOLATION's headers, so that the page is cross-origin isolated
// and onnxruntime-web runs its multi-threaded WASM (SharedArrayBuffer); a deployment sends the same
// two headers with the page (README: In the browser).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const repo = fileURLToPath(new URL("../../", import.meta.url));
/** URL prefix → folder on disk, for the static files the page needs. */
const STATIC: Record<string, { dir: string }> = {
  "models/fashion-mnist/": { dir: join(repo, "models/fashion-mnist") },
};
/** The headers that make a page cross-origin isolated (`self.crossOriginIsolated`). */
export const CROSS_ORIGIN_ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
const TYPES: Record<string, string> = { ".json": "application/json", ".onnx": "application/octet-stream" };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function staticFiles(): Plugin {
  return {
    name: "vq-diffusion-static-files",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).slice(1);
        for (const [prefix, { dir }] of Object.entries(STATIC)) {
          if (!path.startsWith(prefix)) continue;
          const rel = path.slice(prefix.length);
          const file = join(dir, rel);
          if (rel.includes("..") || !statSync(file, { throwIfNoEntry: false })?.isFile()) break;
          res.setHeader("content-type", TYPES[extname(file)] ?? "application/octet-stream");
          for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION)) res.setHeader(name, value);
          res.end(readFileSync(file));
          return;
        }
        next();
      });
    },
    generateBundle() {
      for (const [prefix, { dir }] of Object.entries(STATIC)) {
        for (const file of files(dir)) {
          const rel = relative(dir, file);
          this.emitFile({ type: "asset", fileName: prefix + rel, source: readFileSync(file) });
        }
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [staticFiles()],
  resolve: {
    alias: {
      "vq-diffusion/demo": fileURLToPath(new URL("../../src/demo/index.ts", import.meta.url)),
      "vq-diffusion": fileURLToPath(new URL("../../src/index.ts", import.meta.url)),
    },
  },
  optimizeDeps: { exclude: ["onnxruntime-web"] },
  worker: { format: "es" },
  server: { headers: CROSS_ORIGIN_ISOLATION },
  preview: { headers: CROSS_ORIGIN_ISOLATION },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
});
