// The float32 exp of the exp-sum kernel, shared by assembly/kernels.ts and assembly/verifyExp.ts.

// exp of four float32 lanes, as 2^k·2^f with x·log2(e) = k + f, k an integer, |f| ≤ 1/2, and 2^f a
// degree-5 polynomial (weighted least squares on Chebyshev nodes: relative error 1.6e-7); 0 below
// −87.3. Rounding k + f to the integer k by adding 1.5·2^23 leaves k in the low mantissa bits, which
// gives 2^k without a float-to-int conversion. Relative error, f32 arithmetic included: below
// 6e-6 + 6e-8·|x| (the rounding of x·log2(e) moves f by up to 2^-24·|x·log2(e)|); see
// EXP_SUM_RELATIVE_ERROR. pmax (one instruction) is safe: x is never NaN on valid input, and invalid
// input is reported before its sums are used.
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.3));
  const xl = f32x4.mul(f32x4.pmax(x, f32x4.splat(-87.3)), f32x4.splat(1.44269504088896341));
  const t = f32x4.add(xl, f32x4.splat(12582912.0));
  const f = f32x4.sub(xl, f32x4.sub(t, f32x4.splat(12582912.0)));
  let p = f32x4.splat(0.0013276470126584172);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.009675540961325169));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.05550713092088699));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.24022120237350464));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.6931469440460205));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0000001192092896));
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return v128.andnot(f32x4.mul(p, scale), under);
}

