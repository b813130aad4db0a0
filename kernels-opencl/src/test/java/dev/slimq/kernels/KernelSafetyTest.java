package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.Activations;
import dev.slimq.core.compute.CpuBackend;
import dev.slimq.core.compute.Float64Reference;
import dev.slimq.core.compute.PreparedWeights;
import dev.slimq.core.compute.SyntheticWeights;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What must never happen: a NaN weight or activation coming out finite, an output element left
 * unwritten, an OpenCL object outliving its handle, a handle used on the wrong backend.
 */
class KernelSafetyTest {

    @Test
    void nanInScalesResidualsOrActivationsNeverPassesAsFinite() {
        for (OpenClBackend b : List.of(OpenClTestDevices.native_(), OpenClTestDevices.gpuShaped())) {
            for (int batch : new int[] {1, 4}) {
                QuantizedTensor q = SyntheticWeights.quantized("t", 16, 256, new QuantScheme(4, 64, false, ZeroMode.INTEGER, DType.F32), 0.02, 3);
                q.scales()[2 * 4 + 1] = Float.NaN; // row 2, group 1
                int k = q.outliers().rowPtr()[9];
                boolean row9HasOutlier = q.outliers().rowPtr()[10] > k;
                if (row9HasOutlier) {
                    q.outliers().residual()[k] = Float.NaN;
                }
                float[] x = SyntheticWeights.gaussian(batch * 256, 1, 4);
                float[] y = run(b, q, x, batch, ActivationType.F32);
                for (int n = 0; n < batch; n++) {
                    assertTrue(Float.isNaN(y[n * 16 + 2]), "NaN scale came out finite");
                    assertTrue(!row9HasOutlier || Float.isNaN(y[n * 16 + 9]), "NaN residual came out finite");
                    assertTrue(Float.isFinite(y[n * 16 + 3]));
                }
                // A NaN activation reaches every row of its batch row, whatever the weights.
                QuantizedTensor clean = SyntheticWeights.quantized("t", 16, 256, new QuantScheme(8, 128, true, ZeroMode.INTEGER, DType.F16), 0, 5);
                x[batch == 1 ? 100 : 256 + 100] = Float.NaN;
                for (ActivationType at : ActivationType.values()) {
                    float[] y2 = run(b, clean, x, batch, at);
                    int nanRow = batch == 1 ? 0 : 1;
                    for (int r = 0; r < 16; r++) {
                        assertTrue(Float.isNaN(y2[nanRow * 16 + r]), "NaN activation came out finite at row " + r + " " + at);
                    }
                    // Elsewhere the product is still right: the reference is NaN exactly where y is.
                    double err = Float64Reference.relativeError(y2, Float64Reference.matmul(clean, x, batch));
                    assertTrue(err <= 1e-3, "rows without the NaN: " + err);
                }
            }
        }
    }

    private static float[] run(OpenClBackend b, QuantizedTensor q, float[] x, int batch, ActivationType at) {
        float[] y = new float[batch * q.rows()];
        try (PreparedWeights w = b.prepare(q); Activations a = b.activations(x, batch, q.cols(), at)) {
            b.matmul(w, a, y);
        }
        return y;
    }

    @Test
    void poisonedOutputsProveEveryElementIsWritten() {
        // The shared backends poison before every product; check the poison is really there by
        // reading a product whose output we then overwrite with a smaller one.
        OpenClBackend b = OpenClTestDevices.gpuShaped();
        QuantizedTensor big = SyntheticWeights.quantized("t", 50, 128, new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        QuantizedTensor small = SyntheticWeights.quantized("t", 7, 128, new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.F16), 0, 2);
        float[] x = SyntheticWeights.gaussian(3 * 128, 1, 3);
        float[] yb = run(b, big, x, 3, ActivationType.F32);
        float[] ys = run(b, small, x, 3, ActivationType.F32);
        for (float v : yb) {
            assertTrue(Float.isFinite(v));
        }
        for (float v : ys) {
            assertTrue(Float.isFinite(v));
        }
        assertTrue(b.objects().live() > 0);
    }

    @Test
    void handlesAndBackendsReleaseEveryOpenClObject() {
        DeviceInfo d = OpenClTestDevices.device();
        QuantizedTensor q = SyntheticWeights.quantized("t", 33, 256, new QuantScheme(4, 128, false, ZeroMode.FLOAT, DType.F16), 0.01, 1);
        float[] x = SyntheticWeights.gaussian(256 * 2, 1, 2);
        float[] dense = SyntheticWeights.gaussian(33 * 256, 0.1, 3);
        OpenClBackend b = OpenClBackend.open(d.index(), new OpenClBackend.Options(LaunchPolicy.forDevice(d), true));
        try {
            float[] y = new float[66];
            int programsAndKernels = -1;
            for (int pass = 0; pass < 2; pass++) {
                // Pass 0 builds the programs and creates the kernels every loop iteration below uses
                // (they are cached for the backend's life, not per handle); pass 1 runs the leak check.
                int baseline = b.liveObjects();
                if (pass == 1) {
                    assertEquals(programsAndKernels, b.objects().programs.get() + b.objects().kernels.get());
                }
                runMany(b, q, dense, x, y, pass == 0 ? 12 : 300); // 12: every combination of the loop
                if (pass == 1) {
                    assertEquals(baseline, b.liveObjects(), "OpenCL objects leaked: " + b.objects());
                }
                programsAndKernels = b.objects().programs.get() + b.objects().kernels.get();
            }
            assertEquals(0, b.openHandles());
            // Handles left open are released by the backend.
            b.prepare(q);
            b.activations(x, 1, 256, ActivationType.F32);
        } finally {
            b.close();
        }
        assertEquals(0, b.liveObjects(), "after close: " + b.objects());
        b.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> b.prepare(q));
    }

    private static void runMany(OpenClBackend b, QuantizedTensor q, float[] dense, float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            PreparedWeights w = i % 3 == 2 ? b.prepareDense("d", dense, 33, 256, DType.F16) : b.prepare(q);
            PreparedWeights c = b.copyOf(w);
            Activations a = b.activations(x, i % 2 + 1, 256, i % 4 == 0 ? ActivationType.F16 : ActivationType.F32);
            b.matmul(c, a, y);
            a.close();
            c.close();
            w.close();
            w.close(); // idempotent
        }
    }

    @Test
    void handlesBelongToTheirBackend() {
        OpenClBackend b = OpenClTestDevices.native_();
        QuantizedTensor q = SyntheticWeights.quantized("blk.0.q", 4, 64, new QuantScheme(4, 32, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        try (CpuBackend cpu = CpuBackend.create(CpuBackend.Kind.VECTOR, 1); PreparedWeights foreign = cpu.prepare(q); PreparedWeights w = b.prepare(q)) {
            assertThrows(IllegalArgumentException.class, () -> b.matmul(foreign, new float[64], 1, new float[4]));
            assertThrows(IllegalArgumentException.class, () -> cpu.matmul(w, new float[64], 1, new float[4]));
            assertThrows(IllegalArgumentException.class, () -> b.matmul(w, new float[63], 1, new float[4]));
            assertThrows(IllegalArgumentException.class, () -> b.matmul(w, new float[64], 1, new float[3]));
            try (Activations a = b.activations(new float[32], 1, 32, ActivationType.F32)) {
                assertThrows(IllegalArgumentException.class, () -> b.matmul(w, a, new float[4]));
            }
        }
        QuantizedTensor bad = SyntheticWeights.quantized("blk.0.q", 4, 64, new QuantScheme(4, 32, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        bad.codes()[5] = (byte) 200;
        SlimqException e = assertThrows(SlimqException.class, () -> b.prepare(bad));
        assertEquals(Failure.BAD_INPUT, e.failure());
    }

    @Test
    void timingAndBandwidthProbes() {
        OpenClBackend b = OpenClTestDevices.native_();
        QuantizedTensor q = SyntheticWeights.quantized("t", 64, 256, new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        List<PreparedWeights> ws = new ArrayList<>();
        try (Activations a = b.activations(new float[256 * 2], 2, 256, ActivationType.F32)) {
            ws.add(b.prepare(q));
            ws.add(b.copyOf(ws.get(0)));
            assertTrue(b.timeLaunches(ws, a, 4) > 0);
        } finally {
            ws.forEach(PreparedWeights::close);
        }
        assertTrue(b.measureReadBandwidth(16 << 20, 3) > 1e8);
        assertFalse(b.description().isBlank());
    }
}
