/**
 * A helper thread of the scheduler's step (`StepThreadPool`, made by the text-to-image worker on a
 * cross-origin isolated page): answers the step shares the pool posts.
 */
import { serveStepWorker } from "vq-diffusion";

serveStepWorker();
