package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.Float64Reference;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.compute.SyntheticWeights;
import dev.slimq.core.tensor.DType;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The float kernels (f16 and f32 weights) against the float64 reference, odd shapes, poisoned outputs. */
class DenseKernelTest {

    static float[] roundedToHalf(float[] w) {
        float[] r = w.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] = ActivationType.F16.round(r[i]);
        }
        return r;
    }

    @Test
    void f16AndF32WeightsWithF32AndF16Activations() {
        for (OpenClBackend b : List.of(OpenClTestDevices.native_(), OpenClTestDevices.gpuShaped())) {
            int n = 0;
            for (int rows : new int[] {1, 13, 40}) {
                for (int cols : new int[] {1, 7, 33, 384, 1000}) {
                    float[] w = SyntheticWeights.gaussian(rows * cols, 0.05, n++);
                    for (DType dt : new DType[] {DType.F16, DType.F32}) {
                        float[] ref = dt == DType.F16 ? roundedToHalf(w) : w;
                        try (PreparedWeights p = b.prepareDense("d", w, rows, cols, dt)) {
                            for (int batch : new int[] {1, 3, 9}) {
                                for (ActivationType at : ActivationType.values()) {
                                    float[] x = SyntheticWeights.heavyTailed(batch, cols, n++);
                                    float[] y = new float[batch * rows];
                                    try (Activations a = b.activations(x, batch, cols, at)) {
                                        b.matmul(p, a, y);
                                    }
                                    for (float v : y) {
                                        assertTrue(Float.isFinite(v), "unwritten output (NaN poison)");
                                    }
                                    // Kernel correctness: against the reference fed exactly what the kernel reads.
                                    float[] xr = x.clone();
                                    for (int i = 0; i < xr.length; i++) {
                                        xr[i] = at.round(xr[i]);
                                    }
                                    double err = Float64Reference.relativeError(y, Float64Reference.matmulDense(ref, rows, cols, xr, batch));
                                    assertTrue(err <= 1e-5, b.policy() + " " + rows + "x" + cols + " " + dt + " batch " + batch + " " + at + ": " + err);
                                    if (at == ActivationType.F16 && rows * batch >= 13) {
                                        // Storage precision: against the unrounded activations, over enough outputs to be a norm.
                                        double err16 = Float64Reference.relativeError(y, Float64Reference.matmulDense(ref, rows, cols, x, batch));
                                        assertTrue(err16 <= 1e-3, rows + "x" + cols + " " + dt + " batch " + batch + " f16 activations: " + err16);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void nanPropagatesThroughFloatKernels() {
        OpenClBackend b = OpenClTestDevices.native_();
        float[] w = SyntheticWeights.gaussian(5 * 40, 0.1, 1);
        w[2 * 40 + 7] = Float.NaN;
        float[] x = SyntheticWeights.gaussian(40, 1, 2);
        float[] y = new float[5];
        try (PreparedWeights p = b.prepareDense("d", w, 5, 40, DType.F16)) {
            b.matmul(p, x, 1, y);
        }
        assertTrue(Float.isNaN(y[2]) && Float.isFinite(y[1]), Arrays.toString(y));
    }
}
