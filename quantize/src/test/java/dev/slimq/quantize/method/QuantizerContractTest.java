package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What every method promises (see {@link Quantizer}), over every scheme shape. */
class QuantizerContractTest {
    private static final int ROWS = 6;
    private static final int COLS = 192;

    static Stream<Arguments> everyMethodAndScheme() {
        List<Arguments> all = new ArrayList<>();
        long seed = 1;
        for (Quantizer q : Matrices.methods()) {
            for (int g : new int[] {32, 64, COLS}) {
                for (QuantScheme s : Matrices.schemes(g)) {
                    all.add(Arguments.of(Matrices.label(q), q, s, seed++));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("everyMethodAndScheme")
    void storesValidParametersAndStaysWithinClipDistancePlusHalfAStep(String label, Quantizer q, QuantScheme s, long seed) {
        float[] w = Matrices.heavyTailed(seed, ROWS, COLS);
        QuantizedTensor t = q.quantize("w", w, ROWS, COLS, s);
        checkParameters(t);
        checkErrorBound(w, t);
        assertEquals(t, q.quantize("w", w, ROWS, COLS, s), "deterministic");
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("everyMethodAndScheme")
    void fastPathEqualsScalarReference(String label, Quantizer q, QuantScheme s, long seed) {
        float[] w = Matrices.heavyTailed(seed + 1000, ROWS, COLS + 0);
        assertEquals(withKernels(q, Kernels.scalar(), w, ROWS, COLS, s), withKernels(q, Kernels.best(), w, ROWS, COLS, s));
    }

    @Test
    void fastPathEqualsScalarReferenceOnOddShapesAndGroups() {
        // Odd group sizes exercise the padded and unpadded partial blocks of the kernels.
        int[][] shapes = {{5, 100}, {3, 300}, {7, 50}, {2, 4104}};
        int[][] groups = {{100, 50, 25, 20}, {300, 100, 60, 12}, {50, 25, 10}, {4104, 171, 54}};
        for (int i = 0; i < shapes.length; i++) {
            int rows = shapes[i][0];
            int cols = shapes[i][1];
            float[] w = Matrices.heavyTailed(i, rows, cols);
            for (int g : groups[i]) {
                for (QuantScheme s : List.of(Matrices.asym(4, g, ZeroMode.FLOAT, DType.F16), Matrices.asym(3, g, ZeroMode.INTEGER, DType.BF16),
                        new QuantScheme(4, g, true, ZeroMode.INTEGER, DType.F16))) {
                    for (Quantizer q : Matrices.methods()) {
                        if (q.supports(s, cols)) {
                            assertEquals(withKernels(q, Kernels.scalar(), w, rows, cols, s), withKernels(q, Kernels.best(), w, rows, cols, s),
                                    Matrices.label(q) + " " + s + " cols " + cols);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rowBlocksConcatenateToTheWhole() {
        float[] w = Matrices.heavyTailed(77, 9, 256);
        QuantScheme s = Matrices.asym(4, 64, ZeroMode.FLOAT, DType.F16);
        for (Quantizer q : Matrices.methods()) {
            QuantizedTensor whole = q.quantize("w", w, 9, 256, s);
            QuantizedTensor parts = Quantizer.concatRows("w", List.of(
                    q.quantizeRows("w", w, 256, 0, 4, s), q.quantizeRows("w", w, 256, 4, 0, s), q.quantizeRows("w", w, 256, 4, 5, s)));
            assertEquals(whole, parts, Matrices.label(q));
        }
    }

    @Test
    void threadSafe() throws Exception {
        QuantScheme s = Matrices.asym(4, 128, ZeroMode.FLOAT, DType.F16);
        List<float[]> ws = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ws.add(Matrices.heavyTailed(500 + i, 16, 512));
        }
        for (Quantizer q : Matrices.methods()) {
            List<QuantizedTensor> expected = ws.stream().map(w -> q.quantize("w", w, 16, 512, s)).toList();
            try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
                List<Future<QuantizedTensor>> got = new ArrayList<>();
                for (int rep = 0; rep < 3; rep++) {
                    for (float[] w : ws) {
                        got.add(pool.submit(() -> q.quantize("w", w, 16, 512, s)));
                    }
                }
                for (int i = 0; i < got.size(); i++) {
                    assertEquals(expected.get(i % ws.size()), got.get(i).get());
                }
            }
        }
    }

    @Test
    void nanAndInfinityAreRefusedNamingRowAndColumn() {
        QuantScheme s = Matrices.asym(4, 32, ZeroMode.FLOAT, DType.F16);
        for (Quantizer q : Matrices.methods()) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] w = Matrices.heavyTailed(3, 4, 64);
                w[2 * 64 + 37] = bad;
                SlimqException e = assertThrows(SlimqException.class, () -> q.quantize("layer.weight", w, 4, 64, s));
                assertEquals(Failure.BAD_INPUT, e.failure());
                assertEquals("layer.weight: weight at row 2, col 37 is " + bad, e.getMessage());
                // Rows are numbered in the whole matrix when quantizing a block.
                e = assertThrows(SlimqException.class, () -> q.quantizeRows("layer.weight", w, 64, 1, 3, s));
                assertEquals("layer.weight: weight at row 2, col 37 is " + bad, e.getMessage());
            }
        }
    }

    @Test
    void degenerateGroupsNeverProduceNaN() {
        int cols = 128;
        float[] w = new float[6 * cols];
        // Row 0 zeros; row 1 constant; row 2 tiny (F16 scales underflow); row 3 huge (F16 scales overflow);
        // row 4 subnormal floats; row 5 a narrow range far from zero.
        for (int c = 0; c < cols; c++) {
            w[cols + c] = 0.3f;
            w[2 * cols + c] = (float) (1e-9 * ((c % 7) - 3));
            w[3 * cols + c] = (float) (1e7 * ((c % 5) - 2));
            w[4 * cols + c] = Float.MIN_VALUE * (c % 3);
            w[5 * cols + c] = 1000f + (c % 4) * 1e-4f;
        }
        for (Quantizer q : Matrices.methods()) {
            for (QuantScheme s : Matrices.schemes(32)) {
                QuantizedTensor t = q.quantize("w", w, 6, cols, s);
                checkParameters(t);
                for (float v : t.dequantize()) {
                    assertTrue(Float.isFinite(v), Matrices.label(q) + " " + s);
                }
                float[] row = new float[cols];
                t.dequantizeRow(0, row);
                for (float v : row) {
                    assertEquals(0f, v, "zeros stay zeros");
                }
                t.dequantizeRow(1, row);
                for (float v : row) {
                    assertEquals(0.3, v, 0.3 / s.maxCode(), "a constant is within half a step: " + s);
                }
            }
        }
    }

    /** Scales are finite and already in the dtype; zeros valid for the mode; codes in range; outliers sound. */
    static void checkParameters(QuantizedTensor t) {
        QuantScheme s = t.scheme();
        Grid grid = new Grid(s);
        for (int i = 0; i < t.scales().length; i++) {
            float sc = t.scales()[i];
            float z = t.zeros()[i];
            assertTrue(Float.isFinite(sc) && Float.isFinite(z), "finite parameters");
            assertEquals(sc, grid.toDtype(sc), "scale already in " + s.scaleDtype());
            if (s.symmetric()) {
                assertEquals(s.symmetricZero(), z);
            } else if (s.zeroMode() == ZeroMode.INTEGER) {
                assertTrue(z == Math.rint(z) && z >= 0 && z <= s.maxCode(), "integer zero in range: " + z);
            } else {
                assertEquals(z, grid.toDtype(z), "float zero already in " + s.scaleDtype());
                assertTrue(s.symmetric() || sc >= 0, "asymmetric scales are not negative");
            }
        }
        for (byte c : t.codes()) {
            assertTrue((c & 0xFF) <= s.maxCode());
        }
        Outliers o = t.outliers();
        for (float r : o.residual()) {
            assertEquals(r, Matrices.f16(r), "residuals are F16 values");
        }
    }

    /**
     * Every weight is within its clip distance (how far it lies outside the group's representable range)
     * plus half a step of its reconstruction; an outlier within half an F16 ulp of its residual.
     */
    static void checkErrorBound(float[] w, QuantizedTensor t) {
        int cols = t.cols();
        int g = t.scheme().groupSize();
        int maxCode = t.scheme().maxCode();
        float[] row = new float[cols];
        Outliers o = t.outliers();
        for (int r = 0; r < t.rows(); r++) {
            t.dequantizeRow(r, row);
            for (int c = 0; c < cols; c++) {
                int gi = r * t.groupsPerRow() + c / g;
                float s = t.scales()[gi];
                float z = t.zeros()[gi];
                double x = w[r * cols + c];
                double err = Math.abs(x - row[c]);
                int k = outlierIndex(o, r, c);
                if (k >= 0) {
                    // The weight to F16 precision: half an F16 ulp of the residual, plus the float addition.
                    double bound = f16Ulp(o.residual()[k]) / 2 + Math.ulp((float) x);
                    assertTrue(err <= bound, "outlier (" + r + ", " + c + ") error " + err + " > " + bound);
                    continue;
                }
                double a = s * (0.0 - z);
                double b = s * ((double) maxCode - z);
                double clip = Math.max(0, Math.max(Math.min(a, b) - x, x - Math.max(a, b)));
                double tol = 1e-5 * (Math.abs(x) + Math.abs(s) * (maxCode + Math.abs(z))) + 1e-37;
                if (err > clip + Math.abs(s) / 2 + tol) {
                    fail(t.scheme() + " (" + r + ", " + c + "): |" + x + " - " + row[c] + "| = " + err + " > clip " + clip
                            + " + half step " + Math.abs(s) / 2);
                }
            }
        }
    }

    /** The spacing of F16 values around {@code v} (the larger one at a binade edge). */
    static double f16Ulp(float v) {
        double a = Math.abs(v);
        return a < 0x1p-14 ? 0x1p-24 : Math.scalb(1.0, Math.getExponent((float) a) - 10);
    }

    private static int outlierIndex(Outliers o, int r, int c) {
        for (int k = o.rowPtr()[r]; k < o.rowPtr()[r + 1]; k++) {
            if (o.colIdx()[k] == c) {
                return k;
            }
        }
        return -1;
    }

    static QuantizedTensor withKernels(Quantizer q, Kernels k, float[] w, int rows, int cols, QuantScheme s) {
        return switch (q) {
            case Rtn r -> r.quantizeRows("w", w, cols, 0, rows, s, k);
            case Search x -> x.quantizeRows("w", w, cols, 0, rows, s, k);
            case EasyQuant e -> e.quantizeRows("w", w, cols, 0, rows, s, k);
            case Hqq h -> h.quantizeRows("w", w, cols, 0, rows, s, k);
        };
    }
}
