// The demo page: `npm run web` serves it, `npm run web:build` builds it into examples/web/dist.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  resolve: {
    alias: {
      "vq-diffusion/demo": fileURLToPath(new URL("../../src/demo/index.ts", import.meta.url)),
      "vq-diffusion": fileURLToPath(new URL("../../src/index.ts", import.meta.url)),
    },
  },
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
