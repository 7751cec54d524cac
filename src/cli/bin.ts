#!/usr/bin/env node
/** The `vq-diffusion` executable: runs the CLI with the process's arguments. */
import { main } from "./main.js";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
