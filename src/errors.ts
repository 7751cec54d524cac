/**
 * Error construction shared by every module, so that each message has the same shape:
 * `<argument>: expected <what was expected>, got <what came>`.
 *
 * @example
 * ```ts
 * throw argumentError("numVecClasses", "an integer >= 2", 1);
 * // Error: numVecClasses: expected an integer >= 2, got 1
 * ```
 */

/** Renders a received value for an error message: short, and unambiguous about its type. */
export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(shortText(value, 60));
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describe).join(", ")}]` : `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === "function") return "a function";
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/**
 * `text` when it has at most `max` UTF-16 units, else its first `max − 3` and "...", never half of a
 * surrogate pair (an emoji cut in two would print as U+FFFD).
 *
 * @example
 * ```ts
 * shortText("a".repeat(70), 60); // "aaa…a..." (57 a's, then "...")
 * ```
 */
export function shortText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 4]) ? max - 4 : max - 3;
  return text.slice(0, end) + "...";
}

/** An `Error` naming the argument, what was expected and what came. */
export function argumentError(argument: string, expected: string, got: unknown): Error {
  return new Error(`${argument}: expected ${expected}, got ${describe(got)}`);
}

/** Like {@link argumentError}, with the received part already written out (for derived quantities). */
export function argumentErrorText(argument: string, expected: string, gotText: string): Error {
  return new Error(`${argument}: expected ${expected}, got ${gotText}`);
}

/**
 * Throws when `signal` has aborted: its `reason` when that is an Error (a `DOMException` included: the
 * platform's `AbortError` of `controller.abort()`, the `TimeoutError` of `AbortSignal.timeout()`, or the
 * caller's own), else an `AbortError` DOMException naming `what`. The rule of `AbortSignal.throwIfAborted`,
 * kept for signals whose reason is not an Error. Does nothing for an undefined or live signal.
 *
 * @param signal - the caller's signal, or undefined.
 * @param what - what stopped, for the fallback message (e.g. "sampling").
 * @throws the reason, or a DOMException named "AbortError".
 * @example
 * ```ts
 * throwIfAborted(AbortSignal.abort(new DOMException("late", "TimeoutError")), "sampling"); // throws that TimeoutError
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal === undefined || !signal.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error ? reason : new DOMException(`${what} aborted`, "AbortError");
}
