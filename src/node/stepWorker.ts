/**
 * The worker module of `createNodeStepThreadPool`: answers the shares (of steps, of the guidance pass) its pool posts, on
 * `worker_threads` (the browser's twin is `serveStepWorker`).
 */
import { parentPort } from "node:worker_threads";
import type { GuidanceTask } from "../kernels/threads/guidanceTask.js";
import { answerStepTask, type StepTask } from "../kernels/threads/stepTask.js";

const port = parentPort;
if (port) port.on("message", (task: StepTask | GuidanceTask) => port.postMessage(answerStepTask(task)));
