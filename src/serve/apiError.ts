/**
 * Errors of the HTTP API, in OpenAI's shape: every failed request is answered with an HTTP status
 * and the body `{ "error": { "message", "type", "param", "code" } }`, as api.openai.com answers
 * (https://platform.openai.com/docs/guides/error-codes), so that OpenAI's clients raise their own
 * typed errors (`openai`'s `BadRequestError`, `RateLimitError`, …) with the parameter named.
 */

/** OpenAI's error object, the value of the response body's `error` key. */
export interface OpenAIErrorObject {
  /** One sentence: the parameter, what was expected and what came (`n: expected an integer in [1, 10], got 0`). */
  message: string;
  /** OpenAI's error type: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`. */
  type: string;
  /** The request's parameter at fault (`n`, `size`, …), or null when no one parameter is. */
  param: string | null;
  /** A machine-readable code (`invalid_value`, `missing_required_parameter`, `model_not_found`, …), or null. */
  code: string | null;
}

/**
 * An error with its HTTP status and OpenAI error object; the server answers it as it is.
 *
 * @example
 * ```ts
 * const e = ApiError.invalid("n", "an integer in [1, 10]", "0");
 * e.status; // 400
 * e.body(); // { error: { message: "n: expected an integer in [1, 10], got 0", type: "invalid_request_error", param: "n", code: "invalid_value" } }
 * ```
 */
export class ApiError extends Error {
  /**
   * @param status - the HTTP status (400, 401, 404, 405, 413, 429, 500, 503).
   * @param object - the error object (its message becomes this Error's message).
   */
  constructor(
    readonly status: number,
    readonly object: OpenAIErrorObject,
  ) {
    super(object.message);
    this.name = "ApiError";
  }

  /** The response body: `{ error: object }`. */
  body(): { error: OpenAIErrorObject } {
    return { error: { ...this.object } };
  }

  /**
   * 400, a parameter with a wrong value: `param: expected …, got …`.
   *
   * @param gotText - what came, already written out (`"0"`, `a string of 1200 characters`).
   */
  static invalid(param: string, expected: string, gotText: string, code = "invalid_value"): ApiError {
    return new ApiError(400, { message: `${param}: expected ${expected}, got ${gotText}`, type: "invalid_request_error", param, code });
  }

  /** 400, a required parameter that is absent. */
  static missing(param: string, expected: string): ApiError {
    return new ApiError(400, { message: `${param}: expected ${expected}, got nothing`, type: "invalid_request_error", param, code: "missing_required_parameter" });
  }

  /** 500, a generation that failed; the parameter is named when the failure's message starts with one of the request's. */
  static failed(message: string, param: string | null = null, code = "generation_failed"): ApiError {
    return new ApiError(500, { message, type: "server_error", param, code });
  }
}
