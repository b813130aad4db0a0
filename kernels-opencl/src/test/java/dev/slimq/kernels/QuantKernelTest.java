package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.Float64Reference;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.compute.SyntheticWeights;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every fused kernel against the float64 reference on seeded random data: every bit width, group
 * size (including per-channel and groups that are not a multiple of any vector width), zero mode,
 * scale dtype, with and without residuals, f32 and f16 activations, batch 1 and several batch
 * sizes, odd shapes — on each kernel shape (CPU, GPU-like, mixed). Outputs are poisoned with NaN
 * before every launch, so an unwritten element fails.
 */
class QuantKernelTest {

    record Case(int bits, int group, boolean symmetric, ZeroMode zeros, DType scaleType, boolean outliers) {
        QuantScheme scheme(int cols) {
            return new QuantScheme(bits, group == -1 ? cols : group, symmetric, zeros, scaleType);
        }

        int cols() {
            // K odd relative to every vector width: not a multiple of 16 where the group allows it.
            return switch (group) {
                case -1 -> 1000;
                case 24 -> 24 * 23;
                case 32 -> 32 * 13;
                case 64 -> 64 * 7;
                case 128 -> 128 * 5;
                default -> group * 3;
            };
        }
    }

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        DType[] scaleTypes = {DType.F16, DType.BF16, DType.F32};
        int i = 0;
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int group : new int[] {32, 64, 128, -1, 24}) {
                for (int z = 0; z < 3; z++) {
                    for (boolean outliers : new boolean[] {false, true}) {
                        out.add(new Case(bits, group, z == 0, z == 2 ? ZeroMode.FLOAT : ZeroMode.INTEGER, scaleTypes[i++ % 3], outliers));
                    }
                }
            }
        }
        return out;
    }

    static double check(OpenClBackend b, QuantizedTensor q, int batch, ActivationType at, long seed) {
        float[] x = SyntheticWeights.heavyTailed(batch, q.cols(), seed);
        float[] y = new float[batch * q.rows() + 3];
        Arrays.fill(y, -7f);
        try (PreparedWeights w = b.prepare(q); Activations a = b.activations(x, batch, q.cols(), at)) {
            b.matmul(w, a, y);
        }
        for (int i = 0; i < batch * q.rows(); i++) {
            assertTrue(Float.isFinite(y[i]), "element " + i + " not written (NaN poison) or not finite: " + y[i]);
        }
        for (int i = batch * q.rows(); i < y.length; i++) {
            assertTrue(y[i] == -7f, "wrote past the product");
        }
        if (at == ActivationType.F16) {
            // Kernel correctness first: against the reference fed exactly the half-rounded activations.
            float[] xr = x.clone();
            for (int i = 0; i < xr.length; i++) {
                xr[i] = at.round(xr[i]);
            }
            double exact = Float64Reference.relativeError(y, Float64Reference.matmul(q, xr, batch));
            assertTrue(exact <= 1e-5, "f16 activations, against the rounded reference: " + exact);
        }
        return Float64Reference.relativeError(y, Float64Reference.matmul(q, x, batch));
    }

    private static void everyScheme(OpenClBackend b, int rows, int[] batches) {
        int n = 0;
        for (Case c : cases()) {
            int cols = c.cols();
            QuantizedTensor q = SyntheticWeights.quantized("t", rows, cols, c.scheme(cols), c.outliers ? 0.01 : 0, 1000 + n);
            for (int batch : batches) {
                for (ActivationType at : ActivationType.values()) {
                    double err = check(b, q, batch, at, 7 * n + batch);
                    double tol = at == ActivationType.F32 ? 1e-5 : 1e-3;
                    assertTrue(err <= tol, b.policy() + "\n" + c + " " + rows + "x" + cols + " batch " + batch + " " + at + ": error " + err);
                }
            }
            n++;
        }
    }

    @Test
    void everySchemeOnTheDevicesOwnShape() {
        everyScheme(OpenClTestDevices.native_(), 37, new int[] {1, 5});
    }

    @Test
    void everySchemeOnTheGpuShape() {
        everyScheme(OpenClTestDevices.gpuShaped(), 29, new int[] {1, 6});
    }

    @Test
    void everySchemeOnTheMixedShape() {
        everyScheme(OpenClTestDevices.mixed(), 23, new int[] {1, 4});
    }

    @Test
    void oddRowCountsAndManyBatchSizes() {
        QuantScheme s = new QuantScheme(4, 128, false, ZeroMode.INTEGER, DType.F16);
        for (OpenClBackend b : List.of(OpenClTestDevices.native_(), OpenClTestDevices.gpuShaped())) {
            for (int rows : new int[] {1, 3, 17, 63}) {
                for (int batch : new int[] {1, 2, 3, 8, 13, 64}) {
                    QuantizedTensor q = SyntheticWeights.quantized("t", rows, 384, s, 0.01, rows * 1000 + batch);
                    double err = check(b, q, batch, ActivationType.F32, batch);
                    assertTrue(err <= 1e-5, rows + "x384 batch " + batch + ": " + err);
                }
            }
        }
    }

    @Test
    void batch256AndALongRow() {
        OpenClBackend b = OpenClTestDevices.native_();
        QuantizedTensor q = SyntheticWeights.quantized("t", 9, 384, new QuantScheme(8, 128, true, ZeroMode.INTEGER, DType.F16), 0, 3);
        assertTrue(check(b, q, 256, ActivationType.F32, 4) <= 1e-5);
        QuantizedTensor wide = SyntheticWeights.quantized("t", 5, 11008, new QuantScheme(4, 128, false, ZeroMode.FLOAT, DType.F16), 0.01, 5);
        for (OpenClBackend bb : List.of(OpenClTestDevices.native_(), OpenClTestDevices.gpuShaped())) {
            assertTrue(check(bb, wide, 1, ActivationType.F32, 6) <= 1e-5);
            assertTrue(check(bb, wide, 1, ActivationType.F16, 6) <= 1e-3);
        }
    }
}
