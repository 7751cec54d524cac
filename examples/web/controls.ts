/**
 * What a form control accepts, in words, from its own attributes (type, min, max, step, options), so
 * that a URL parameter the control cannot take is reported with the range that applies:
 * `steps: expected an integer in [1, 100], got "500"`. No DOM types: the tests call it on plain objects.
 */

/** The attributes of an `<input>` or `<select>` that decide which values it takes. */
export interface ControlShape {
  /** "number", "text", … for an input; "select-one" for a select. */
  type: string;
  min?: string;
  max?: string;
  step?: string;
  /** A select's option values. */
  options?: readonly string[];
}

/** "a, b or c". */
function either(values: readonly string[]): string {
  return values.length > 1 ? `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}` : (values[0] ?? "nothing");
}

/**
 * The values `control` takes, in words.
 *
 * @example
 * ```ts
 * expectedValues({ type: "number", min: "1", max: "100" }); // "an integer in [1, 100]"
 * expectedValues({ type: "select-one", options: ["posterior", "purity"] }); // "posterior or purity"
 * ```
 */
export function expectedValues(control: ControlShape): string {
  if (control.type === "select-one") return either((control.options ?? []).map((o) => (o === "" ? "\"\"" : o)));
  if (control.type !== "number") return "a text";
  const min = control.min || undefined;
  const max = control.max || undefined;
  const step = control.step || "1"; // an <input type=number> without step takes integers (multiples of 1 from min)
  const kind = step === "any" ? "a number" : step === "1" ? "an integer" : `a multiple of ${step}`;
  if (min !== undefined && max !== undefined) return `${kind} in [${min}, ${max}]`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

/**
 * The problem with a URL parameter's value for `control`, or null when the control takes it.
 *
 * @example
 * ```ts
 * parameterProblem("steps", "500", { type: "number", min: "1", max: "100" }, false); // 'steps: expected an integer in [1, 100], got "500"'
 * ```
 */
export function parameterProblem(key: string, value: string, control: ControlShape, valid: boolean): string | null {
  return valid ? null : `${key}: expected ${expectedValues(control)}, got ${JSON.stringify(value)}`;
}
