// The detached-blob measure of the bundled model's samples: a bright speck apart from the garment.
// On a grey image of width × height (values 0..255, row-major):
//   1. threshold: a pixel is bright when its value is at least 100;
//   2. take the 8-connected components of the bright pixels;
//   3. the image has a detached blob when a component other than the largest has at least 3 pixels
//      and lies at Chebyshev distance >= 3 from the largest (at least two dark pixels between them),
//      the distance between two components being the smallest max(|Δx|, |Δy|) over their pixel pairs.
// Shared by bench/qualityFashion.mjs (its blob column and the test set's reference rate) and the tests.

export const BLOB_THRESHOLD = 100;
export const BLOB_MIN_PIXELS = 3;
export const BLOB_MIN_DISTANCE = 3;

/**
 * The 8-connected components of the pixels >= threshold: an Int32Array of labels (−1 dark, else
 * 0..count−1) and each component's pixel indices.
 */
export function brightComponents(grey, width, height, threshold = BLOB_THRESHOLD) {
  const labels = new Int32Array(width * height).fill(-1);
  const components = [];
  const stack = [];
  for (let start = 0; start < width * height; start++) {
    if (grey[start] < threshold || labels[start] !== -1) continue;
    const id = components.length;
    const pixels = [];
    labels[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop();
      pixels.push(p);
      const x = p % width, y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (grey[q] >= threshold && labels[q] === -1) {
            labels[q] = id;
            stack.push(q);
          }
        }
      }
    }
    components.push(pixels);
  }
  return { labels, components };
}

/** The smallest Chebyshev distance between two sets of pixel indices of an image `width` wide. */
export function chebyshevDistance(a, b, width) {
  let best = Infinity;
  for (const p of a) {
    const px = p % width, py = (p - px) / width;
    for (const q of b) {
      const qx = q % width, qy = (q - qx) / width;
      const d = Math.max(Math.abs(px - qx), Math.abs(py - qy));
      if (d < best) best = d;
    }
  }
  return best;
}

/** Whether the grey image has a detached blob (the definition above). */
export function hasDetachedBlob(grey, width, height) {
  const { components } = brightComponents(grey, width, height);
  if (components.length < 2) return false;
  let largest = 0;
  for (let i = 1; i < components.length; i++) if (components[i].length > components[largest].length) largest = i;
  return components.some(
    (c, i) => i !== largest && c.length >= BLOB_MIN_PIXELS && chebyshevDistance(c, components[largest], width) >= BLOB_MIN_DISTANCE,
  );
}
