/**
 * The worker module of `createNodeStepThreadPool`: answers the step shares its pool posts, on
 * `worker_threads` (the browser's twin is `serveStepWorker`).
 */
import { parentPort } from "node:worker_threads";
import { answerStepTask, type StepTask } from "../kernels/threads/stepTask.js";

const port = parentPort;
if (port) port.on("message", (task: StepTask) => port.postMessage(answerStepTask(task)));
