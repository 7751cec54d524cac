/**
 * vq-diffusion: the VQ-Diffusion scheduler (diffusers' `VQDiffusionScheduler`) and its sampling loop,
 * for Node.js and browsers. This entry point uses no Node.js built-in; file-system helpers live in
 * `vq-diffusion/node`.
 */
export { VQDiffusionScheduler } from "./scheduler/vqDiffusionScheduler.js";
export type { StepMode, StepOptions, StepOutput, TransitionArgs } from "./scheduler/vqDiffusionScheduler.js";
export { initKernels, kernelBackend, setKernelBackend } from "./kernels/backend.js";
export type { KernelBackend } from "./kernels/backend.js";
export type { VQDiffusionSchedulerOptions, VQDiffusionSchedulerConfig, SchedulerConfigJSON } from "./config/schedulerConfig.js";
export { TorchGenerator, DEFAULT_TORCH_SEED } from "./random/torchGenerator.js";
export { indexToLogOnehot } from "./tensor/logOnehot.js";
export type { Tensor, TokenArray, FloatTensor, TokenTensor } from "./tensor/types.js";
