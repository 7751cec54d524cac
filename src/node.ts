/**
 * vq-diffusion/node: everything of the core entry point, with `VQDiffusionScheduler` extended by the
 * Node.js-only helpers that touch the file system (`fromPretrained`, `saveConfig`).
 *
 * @example
 * ```ts
 * import { VQDiffusionScheduler } from "vq-diffusion/node";
 * const scheduler = await VQDiffusionScheduler.fromPretrained("./model", { subfolder: "scheduler" });
 * await scheduler.saveConfig("./copy/scheduler");
 * ```
 */
export * from "./index.js";
export { VQDiffusionScheduler } from "./node/nodeScheduler.js";
export { readSchedulerConfig, writeSchedulerConfig } from "./node/schedulerFiles.js";
export type { FromPretrainedOptions } from "./node/schedulerFiles.js";
export { VQDiffusionPipeline } from "./node/nodePipeline.js";
export { directorySource } from "./node/directorySource.js";
export type { NodePipelineLoadOptions } from "./node/nodePipeline.js";
export { BUNDLED_MODELS } from "./node/bundledModels.js";
export type { BundledModel } from "./node/bundledModels.js";
export { modelLocation } from "./node/modelLocation.js";
export { openRandomAccessFile } from "./node/randomAccessFile.js";
export type { NodeRandomAccessFile } from "./node/randomAccessFile.js";
export { saveImage } from "./node/saveImage.js";
export { createNodeStepThreadPool } from "./node/nodeStepThreadPool.js";
export type { NodeStepThreadPoolOptions } from "./node/nodeStepThreadPool.js";
export type { ModelLocation } from "./node/modelLocation.js";
export { nodeHubPlatform, hubEnvironmentDefaults } from "./node/hubCache.js";
export { hubCacheDir, hubOffline, isTrue } from "./node/hubEnvironment.js";
export type { Environment } from "./node/hubEnvironment.js";
export { conversionCacheDir, convertedFolderPath, openConvertedModel, openModelOrCheckpoint } from "./node/conversionCache.js";
export type { ConversionLoadOptions, OpenedCheckpoint, OpenedModel } from "./node/conversionCache.js";
export { convertIntoFolder, fileSystemSink, listCheckpointFolder, isAbsentOrEmpty, withOpen } from "./node/convertFolder.js";
export type { ConvertIntoFolderOptions, ExistingDestination, ListedLocalFile } from "./node/convertFolder.js";
