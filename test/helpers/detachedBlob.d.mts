/** Types of detachedBlob.mjs. */
export const BLOB_THRESHOLD: number;
export const BLOB_MIN_PIXELS: number;
export const BLOB_MIN_DISTANCE: number;
export function brightComponents(grey: ArrayLike<number>, width: number, height: number, threshold?: number): { labels: Int32Array; components: number[][] };
export function chebyshevDistance(a: readonly number[], b: readonly number[], width: number): number;
export function hasDetachedBlob(grey: ArrayLike<number>, width: number, height: number): boolean;
