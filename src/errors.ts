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
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 57) + "..." : value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describe).join(", ")}]` : `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === "function") return "a function";
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/** An `Error` naming the argument, what was expected and what came. */
export function argumentError(argument: string, expected: string, got: unknown): Error {
  return new Error(`${argument}: expected ${expected}, got ${describe(got)}`);
}

/** Like {@link argumentError}, with the received part already written out (for derived quantities). */
export function argumentErrorText(argument: string, expected: string, gotText: string): Error {
  return new Error(`${argument}: expected ${expected}, got ${gotText}`);
}
