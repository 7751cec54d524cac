/**
 * The bundled Fashion-MNIST model's prompts: the data set's ten class names, in label order, as
 * `tools/train/data.py` (CLASS_NAMES) trained the text encoder on them. The CLI, the web page and the
 * evaluation read them from here.
 */

/**
 * @example
 * ```ts
 * FASHION_MNIST_PROMPTS[9]; // "ankle boot", label 9
 * ```
 */
export const FASHION_MNIST_PROMPTS = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"] as const;
