package dev.slimq.core.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CpuBackendTest {
    static WorkPool pool;
    static CpuBackend vector;
    static CpuBackend reference;

    @BeforeAll
    static void setUp() {
        pool = new WorkPool(2);
        vector = new CpuBackend(CpuBackend.Kind.VECTOR, pool);
        reference = new CpuBackend(CpuBackend.Kind.REFERENCE, pool);
    }

    @AfterAll
    static void tearDown() {
        vector.close();
        reference.close();
        pool.close();
    }

    record Case(int bits, int group, boolean symmetric, ZeroMode zeros, DType scaleType, boolean outliers) {
        QuantScheme scheme(int cols) {
            return new QuantScheme(bits, group == -1 ? cols : group, symmetric, zeros, scaleType);
        }
    }

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        DType[] scaleTypes = {DType.F16, DType.BF16, DType.F32};
        int i = 0;
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int group : new int[] {32, 64, 128, -1, 24}) {
                for (int z = 0; z < 3; z++) {
                    boolean sym = z == 0;
                    ZeroMode mode = z == 2 ? ZeroMode.FLOAT : ZeroMode.INTEGER;
                    out.add(new Case(bits, group, sym, mode, scaleTypes[i % 3], i % 2 == 0));
                    i++;
                }
            }
        }
        return out;
    }

    /** Columns divisible by every group size above and not by 16 or 32 (K not a multiple of the vector width). */
    static final int COLS = 1 * 3 * 64 * 3; // 576 = 18*32: divisible by 24/32/64, not by 128
    static final int COLS128 = 384 + 128; // for g128

    @Test
    void vectorMatchesFloat64ReferenceForEveryScheme() {
        int n = 0;
        for (Case c : cases()) {
            int cols = c.group == 128 ? COLS128 : c.group == -1 ? 1000 : COLS;
            for (int rows : new int[] {37}) {
                QuantizedTensor q = SyntheticWeights.quantized("t", rows, cols, c.scheme(cols), c.outliers ? 0.01 : 0, 17 + n);
                for (int batch : new int[] {1, 3}) {
                    for (ActivationType at : ActivationType.values()) {
                        float[] x = SyntheticWeights.heavyTailed(batch, cols, 99 + n);
                        double err = relErr(vector, q, x, batch, at);
                        double tol = at == ActivationType.F32 ? 1e-5 : 1e-3;
                        assertTrue(err <= tol, c + " rows " + rows + " batch " + batch + " " + at + ": error " + err);
                        n++;
                    }
                }
            }
        }
        assertTrue(n > 100);
    }

    static double relErr(ComputeBackend b, QuantizedTensor q, float[] x, int batch, ActivationType at) {
        float[] y = new float[batch * q.rows()];
        Arrays.fill(y, Float.NaN); // poison: every element must be written
        try (PreparedWeights w = b.prepare(q); Activations a = b.activations(x, batch, q.cols(), at)) {
            b.matmul(w, a, y);
        }
        for (float v : y) {
            assertTrue(Float.isFinite(v), "unwritten or non-finite output");
        }
        return Float64Reference.relativeError(y, Float64Reference.matmul(q, x, batch));
    }

    @Test
    void oddShapesAndBatchSizes() {
        QuantScheme s = new QuantScheme(4, 32, false, ZeroMode.INTEGER, DType.F16);
        for (int rows : new int[] {1, 2, 3, 5, 31, 33, 65}) {
            for (int batch : new int[] {1, 2, 7, 16}) {
                QuantizedTensor q = SyntheticWeights.quantized("t", rows, 96, s, 0.02, rows * 100 + batch);
                float[] x = SyntheticWeights.gaussian(batch * 96, 1, batch);
                assertTrue(relErr(vector, q, x, batch, ActivationType.F32) <= 1e-5, rows + "x96 batch " + batch);
            }
        }
    }

    @Test
    void referenceKindIsTheFloat64ReferenceRounded() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 9, 64, new QuantScheme(4, 32, false, ZeroMode.FLOAT, DType.F32), 0.05, 5);
        float[] x = SyntheticWeights.gaussian(2 * 64, 1, 6);
        float[] y = new float[18];
        try (PreparedWeights w = reference.prepare(q)) {
            reference.matmul(w, x, 2, y);
        }
        double[] ref = Float64Reference.matmul(q, x, 2);
        for (int i = 0; i < y.length; i++) {
            assertEquals((float) ref[i], y[i]);
        }
    }

    @Test
    void resultsAreIdenticalForAnyThreadCount() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 203, 256, new QuantScheme(4, 64, false, ZeroMode.INTEGER, DType.F16), 0.01, 8);
        float[] x = SyntheticWeights.gaussian(3 * 256, 1, 9);
        float[] first = null;
        for (int threads = 1; threads <= 4; threads++) {
            try (CpuBackend b = CpuBackend.create(CpuBackend.Kind.VECTOR, threads)) {
                for (int batch : new int[] {1, 3}) {
                    float[] y = new float[batch * 203];
                    try (PreparedWeights w = b.prepare(q)) {
                        b.matmul(w, x, batch, y);
                    }
                    if (batch == 3) {
                        if (first == null) {
                            first = y;
                        } else {
                            assertArrayEquals(first, y, threads + " threads");
                        }
                    }
                }
            }
        }
    }

    @Test
    void nanInAWeightOrAnActivationNeverComesOutFinite() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 8, 64, new QuantScheme(4, 32, false, ZeroMode.INTEGER, DType.F32), 0, 3);
        q.scales()[5] = Float.NaN; // row 2, second group
        float[] x = SyntheticWeights.gaussian(64, 1, 4);
        for (CpuBackend b : List.of(vector, reference)) {
            for (int batch : new int[] {1, 2}) {
                float[] xb = Arrays.copyOf(x, 64 * batch);
                float[] y = new float[8 * batch];
                try (PreparedWeights w = b.prepare(q)) {
                    b.matmul(w, xb, batch, y);
                }
                assertTrue(Float.isNaN(y[2]), b.description());
                assertTrue(Float.isFinite(y[3]));
            }
        }
        QuantizedTensor clean = SyntheticWeights.quantized("t", 8, 64, new QuantScheme(8, 64, true, ZeroMode.INTEGER, DType.F16), 0, 3);
        x[40] = Float.NaN;
        for (CpuBackend b : List.of(vector, reference)) {
            float[] y = new float[8];
            try (PreparedWeights w = b.prepare(clean)) {
                b.matmul(w, x, 1, y);
            }
            for (float v : y) {
                assertTrue(Float.isNaN(v));
            }
            assertEquals(0.0, Float64Reference.relativeError(y, Float64Reference.matmul(clean, x, 1)));
        }
    }

    @Test
    void denseF32AndF16MatchTheReference() {
        for (int cols : new int[] {1, 15, 33, 100}) {
            float[] w = SyntheticWeights.gaussian(21 * cols, 0.1, cols);
            float[] w16 = w.clone();
            for (int i = 0; i < w16.length; i++) {
                w16[i] = ActivationType.F16.round(w16[i]);
            }
            for (int batch : new int[] {1, 4}) {
                float[] x = SyntheticWeights.gaussian(batch * cols, 1, 7);
                for (DType dt : new DType[] {DType.F32, DType.F16}) {
                    float[] y = new float[batch * 21];
                    Arrays.fill(y, Float.NaN);
                    try (PreparedWeights p = vector.prepareDense("d", w, 21, cols, dt)) {
                        vector.matmul(p, x, batch, y);
                    }
                    double[] ref = Float64Reference.matmulDense(dt == DType.F16 ? w16 : w, 21, cols, x, batch);
                    assertTrue(Float64Reference.relativeError(y, ref) <= 1e-5, cols + " " + dt);
                }
            }
        }
    }

    @Test
    void codesOutsideTheRangeAreBadInput() {
        QuantizedTensor q = SyntheticWeights.quantized("blk.0", 2, 32, new QuantScheme(4, 32, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        q.codes()[33] = 16;
        for (CpuBackend b : List.of(vector, reference)) {
            SlimqException e = assertThrows(SlimqException.class, () -> b.prepare(q));
            assertEquals(Failure.BAD_INPUT, e.failure());
            assertTrue(e.getMessage().contains("(1, 1)"), e.getMessage());
        }
    }

    @Test
    void handlesBelongToTheirBackendAndAreTracked() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 4, 32, new QuantScheme(4, 32, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        int before = vector.openHandles();
        PreparedWeights w = vector.prepare(q);
        PreparedWeights c = vector.copyOf(w);
        assertEquals(before + 2, vector.openHandles());
        assertThrows(IllegalArgumentException.class, () -> reference.matmul(w, new float[32], 1, new float[4]));
        assertThrows(IllegalArgumentException.class, () -> vector.matmul(w, new float[31], 1, new float[4]));
        assertThrows(IllegalArgumentException.class, () -> vector.matmul(w, new float[32], 1, new float[3]));
        w.close();
        assertThrows(IllegalStateException.class, () -> vector.matmul(w, new float[32], 1, new float[4]));
        float[] y = new float[4];
        vector.matmul(c, new float[32], 1, y);
        c.close();
        assertEquals(before, vector.openHandles());
    }

    @Test
    void timingAndBandwidthProbesRun() {
        QuantizedTensor q = SyntheticWeights.quantized("t", 64, 128, new QuantScheme(4, 128, true, ZeroMode.INTEGER, DType.F16), 0, 1);
        try (PreparedWeights w = vector.prepare(q); Activations a = vector.activations(new float[128], 1, 128, ActivationType.F32)) {
            assertTrue(vector.timeLaunches(List.of(w), a, 3) > 0);
        }
        assertTrue(vector.measureReadBandwidth(1 << 20, 3) > 0);
        assertFalse(vector.description().isEmpty());
    }
}
