// Scalar helpers for the activations (elementwise.wgsl forward, grad/act.wgsl backward).

// erf to about 1.2e-7 absolute: a Taylor series near 0, the Numerical Recipes erfc fit elsewhere.
fn erf_approx(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.5) {
    let t = x * x;
    // Taylor series to x^11: error < 1e-8 on |x| < 0.5
    return x * (1.1283791671 + t * (-0.3761263890 + t * (0.1128379167 + t * (-0.0268661706 + t * (0.0052239776 + t * -0.0008548327)))));
  }
  // Numerical Recipes erfc (Chebyshev), fractional error < 1.2e-7
  let z = ax;
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * (1.0 - r);
}

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

// tanh via exp, clamped so exp never overflows (tanh(10) == 1 in f32)
fn tanh_safe(x: f32) -> f32 {
  let c = clamp(x, -10.0, 10.0);
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}
