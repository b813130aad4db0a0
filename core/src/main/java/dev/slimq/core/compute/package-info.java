/**
 * Matrix products with prepared weights, the contract every compute device meets
 * (DESIGN.md section 5): {@link dev.slimq.core.compute.ComputeBackend} with its backend-resident
 * {@link dev.slimq.core.compute.PreparedWeights} and {@link dev.slimq.core.compute.Activations}.
 *
 * <p>The CPU implementation lives here and always exists: {@link dev.slimq.core.compute.CpuBackend}
 * in a plain scalar reference form and a Vector API fast form. {@link dev.slimq.core.compute.Float64Reference}
 * is the ground truth every backend is measured against, norm-wise. The OpenCL backend lives in
 * {@code kernels-opencl}; no OpenCL type appears in this package, so callers (validate, bench, eval)
 * stay device-agnostic.
 *
 * <p>Fast backends share one device layout of quantized codes, {@link dev.slimq.core.compute.TiledLayout}:
 * per-group padding to whole tiles of 32-bit words, each word holding codes that are one vector
 * width apart, so unpacking is a shift and a mask per vector and never a shuffle.
 */
package dev.slimq.core.compute;
