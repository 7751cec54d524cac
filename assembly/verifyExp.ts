// Measures exp4's largest relative error against float64 Math.exp over every float32 input whose bit
// pattern lies in [from, to) (negative floats: 0x80000000 is -0, larger patterns are more negative).
// Compiled and run by scripts/verify-exp.mjs (all of [-87.3, 0]) and, on a sample, by the tests.
import { exp4 } from "./exp4";

export function maxRelativeError(from: u32, to: u32, stride: u32): f64 {
  let worst: f64 = 0;
  for (let bits: u64 = from; bits < <u64>to; bits += stride) {
    const x = reinterpret<f32>(<u32>bits);
    if (x < <f32>-87.3) continue;
    const got = <f64>f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
    const want = Math.exp(<f64>x);
    const err = Math.abs(got - want) / want;
    if (err > worst) worst = err;
  }
  return worst;
}
