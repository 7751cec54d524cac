/**
 * vq-diffusion: the VQ-Diffusion scheduler (diffusers' `VQDiffusionScheduler`) and its sampling loop,
 * for Node.js and browsers. This entry point uses no Node.js built-in; file-system helpers live in
 * `vq-diffusion/node`.
 */
export { VQDiffusionScheduler } from "./scheduler/vqDiffusionScheduler.js";
export type { SchedulerLoadOptions, PosteriorOptions, SetTimestepsOptions, StepAsyncOptions, StepMode, StepOptions, StepOutput, TransitionArgs } from "./scheduler/vqDiffusionScheduler.js";
export type { TimestepSpacing } from "./schedule/timestepSpacing.js";
export { initKernels, kernelBackend, setKernelBackend } from "./kernels/backend.js";
export type { KernelBackend } from "./kernels/backend.js";
export { StepThreadPool, MAX_STEP_THREADS } from "./kernels/threads/stepThreadPool.js";
export type { StepThreadPoolOptions, StepWorkerLike, StepWorkerEvent, SharedStepArrays } from "./kernels/threads/stepThreadPool.js";
export { serveStepWorker } from "./kernels/threads/serveStepWorker.js";
export type { StepWorkerScope } from "./kernels/threads/serveStepWorker.js";
export type { StepTask, StepReply } from "./kernels/threads/stepTask.js";
export type { GuidanceTask } from "./kernels/threads/guidanceTask.js";
export type { VQDiffusionSchedulerOptions, VQDiffusionSchedulerConfig, SchedulerConfigJSON, FromConfigOptions } from "./config/schedulerConfig.js";
export { SCHEDULER_CONFIG_NAME } from "./config/schedulerConfigFile.js";
export type { SchedulerFileOptions } from "./config/schedulerConfigFile.js";
export { LIMITS } from "./limits.js";
export { TorchGenerator, DEFAULT_TORCH_SEED } from "./random/torchGenerator.js";
export { indexToLogOnehot } from "./tensor/logOnehot.js";
export type { Tensor, TokenArray, FloatTensor, TokenTensor } from "./tensor/types.js";
export { VQDiffusionSampler } from "./sampling/sampler.js";
export type { Denoiser, SampleOptions, SamplerTimings, StepInfo } from "./sampling/sampler.js";
export { classifierFreeGuidance } from "./sampling/guidance.js";
export { truncateLogProbabilities, clampLogProbabilities } from "./sampling/truncation.js";
export { createDatasetDenoiser, guidedDenoiser } from "./denoisers/datasetDenoiser.js";
export type { DatasetDenoiserOptions } from "./denoisers/datasetDenoiser.js";
export { VQDiffusionPipeline } from "./pipeline/vqDiffusionPipeline.js";
export type { GenerateOptions, GenerateOutput, GenerateStepInfo, GenerationTimings, PipelineLoadOptions, PipelineComponents } from "./pipeline/vqDiffusionPipeline.js";
export { PIPELINE_LIMITS, urlSource, checkFolderPath, fileTooLarge } from "./pipeline/modelFolder.js";
export type { ModelFileSource, PipelineConfig, ReadOptions, LocalFile } from "./pipeline/modelFolder.js";
export { externalTensors, externalDataFiles, readExternalData, locateExternalData } from "./pipeline/onnxExternalData.js";
export type { ExternalTensor, ExternalDataFile, ExternalDataPlan } from "./pipeline/onnxExternalData.js";
export { OnnxComponent } from "./pipeline/onnxComponent.js";
export type { OrtModule, OrtSessionOptions, ValueSpec, FloatOutput } from "./pipeline/onnxComponent.js";
export { ModelVocabulary, promptWords, readModelVocabulary, VOCABULARY_FILE, VOCABULARY_LIMITS } from "./pipeline/modelVocabulary.js";
export type { VocabularyClass } from "./pipeline/modelVocabulary.js";
export { PromptTokenizer } from "./pipeline/promptTokenizer.js";
export type { PromptEncodeOptions, WarningHandler } from "./pipeline/promptTokenizer.js";
export { readSafetensors, SAFETENSORS_MAX_HEADER_BYTES } from "./pipeline/safetensors.js";
export type { SafetensorsTensor } from "./pipeline/safetensors.js";
export { composeImageSheet } from "./pipeline/images.js";
export type { RGBAImage } from "./pipeline/images.js";
export { parseModelId, checkRevision, isModelIdForm } from "./hub/modelId.js";
export type { ModelId } from "./hub/modelId.js";
export { HUB_LIMITS, checkRepoFilePath, pipelineFiles } from "./hub/repoFiles.js";
export type { RepoFile } from "./hub/repoFiles.js";
export { openHubSource, checkHubOptions } from "./hub/hubSource.js";
export type { HubLoadOptions, HubPlatform, HubStore, StoredRevision } from "./hub/hubSource.js";
export { browserHubPlatform, DEFAULT_CACHE_NAME } from "./hub/cacheStorageStore.js";
export { DEFAULT_HUB_URL, HubNetworkError } from "./hub/hubApi.js";
export type { ListedFile } from "./hub/hubApi.js";
export type { HubProgressEvent } from "./hub/progress.js";
