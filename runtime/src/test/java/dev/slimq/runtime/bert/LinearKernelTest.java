package dev.slimq.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.parallel.WorkPool;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The register-blocked {@link LinearKernel#VECTOR} on shapes that are not multiples of its 4x4 tile
 * or of the vector width, against two references written here: the plain double-precision product
 * (within a rounding bound), and the per-element operation sequence the kernel documents, done one
 * lane at a time in scalar float (bit for bit). The second pins that every element is computed the
 * same way whichever tile (4x4, 1x4, 4x1, 1x1) covers it, so any row split and thread count agree.
 */
class LinearKernelTest {
    /** Lane count of the species the kernel uses. */
    private static final int WIDTH = FloatVector.SPECIES_PREFERRED.length();

    private static final int[] ROWS = {1, 2, 3, 4, 5, 7, 8, 9, 13, 32, 35};
    private static final int[] OUTS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 17};

    private static int[] ins() {
        // below, at and around one and several vector widths, plus one long odd row
        return new int[] {1, 3, WIDTH - 1, WIDTH, WIDTH + 1, 2 * WIDTH + 3, 5 * WIDTH, 7 * WIDTH + 5, 1000};
    }

    @Test
    void vectorMatchesDoubleProductAndScalarKernelOnOddShapes() {
        Random rnd = new Random(11);
        for (int in : ins()) {
            for (int rows : ROWS) {
                for (int out : OUTS) {
                    float[] x = randoms(rnd, rows * in);
                    float[] w = randoms(rnd, out * in);
                    float[] b = randoms(rnd, out);
                    float[] yv = new float[rows * out];
                    float[] ys = new float[rows * out];
                    LinearKernel.VECTOR.apply(x, w, b, yv, in, out, 0, rows);
                    LinearKernel.SCALAR.apply(x, w, b, ys, in, out, 0, rows);
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < out; o++) {
                            double exact = b[o];
                            double magnitude = Math.abs(b[o]);
                            for (int i = 0; i < in; i++) {
                                exact += (double) x[r * in + i] * w[o * in + i];
                                magnitude += Math.abs((double) x[r * in + i] * w[o * in + i]);
                            }
                            // in rounded products (or fused ones) and in + 1 float additions in any order stay within
                            // about (in + 2) * 2^-24 * sum |terms| of the exact value; (in + 3) leaves room for the second-order terms
                            double bound = (in + 3) * 0x1p-24 * magnitude;
                            String at = "in " + in + ", rows " + rows + ", out " + out + ", element [" + r + "][" + o + "]";
                            assertTrue(Math.abs(yv[r * out + o] - exact) <= bound, "VECTOR vs exact at " + at);
                            assertTrue(Math.abs(ys[r * out + o] - exact) <= bound, "SCALAR vs exact at " + at);
                            assertTrue(Math.abs(yv[r * out + o] - ys[r * out + o]) <= 2 * bound, "VECTOR vs SCALAR at " + at);
                        }
                    }
                }
            }
        }
    }

    @Test
    void everyElementFollowsTheDocumentedSequenceBitForBit() {
        Random rnd = new Random(12);
        for (int in : ins()) {
            for (int rows : ROWS) {
                for (int out : OUTS) {
                    float[] x = randoms(rnd, rows * in);
                    float[] w = randoms(rnd, out * in);
                    float[] b = randoms(rnd, out);
                    float[] y = new float[rows * out];
                    LinearKernel.VECTOR.apply(x, w, b, y, in, out, 0, rows);
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < out; o++) {
                            assertEquals(Float.floatToRawIntBits(sequence(x, r * in, w, o * in, in) + b[o]),
                                    Float.floatToRawIntBits(y[r * out + o]),
                                    "in " + in + ", rows " + rows + ", out " + out + ", element [" + r + "][" + o + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void longRowsSplitTheOutputsIntoSeveralPanels() {
        Random rnd = new Random(15);
        int in = LinearKernel.PANEL_FLOATS / 10 + 5; // panels of 8 outputs: 23 = 8 + 8 + 4 + 3 leftover
        int out = 23;
        int rows = 9;
        assertEquals(8, LinearKernel.panelOutputs(in));
        float[] x = randoms(rnd, rows * in);
        float[] w = randoms(rnd, out * in);
        float[] b = randoms(rnd, out);
        float[] y = new float[rows * out];
        LinearKernel.VECTOR.apply(x, w, b, y, in, out, 0, rows);
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                assertEquals(Float.floatToRawIntBits(sequence(x, r * in, w, o * in, in) + b[o]),
                        Float.floatToRawIntBits(y[r * out + o]), "element [" + r + "][" + o + "]");
            }
        }
    }

    @Test
    void anyRowSplitAndThreadCountGivesTheSameBits() {
        Random rnd = new Random(13);
        int rows = 37;
        int in = 3 * WIDTH + 7;
        int out = 23;
        float[] x = randoms(rnd, rows * in);
        float[] w = randoms(rnd, out * in);
        float[] b = randoms(rnd, out);
        float[] whole = new float[rows * out];
        LinearKernel.VECTOR.apply(x, w, b, whole, in, out, 0, rows);
        for (int block : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 32}) {
            int pieces = (rows + block - 1) / block;
            for (int threads = 1; threads <= 3; threads++) {
                float[] split = new float[rows * out];
                try (WorkPool pool = new WorkPool(threads)) {
                    pool.map(pieces, p -> {
                        LinearKernel.VECTOR.apply(x, w, b, split, in, out, p * block, Math.min(rows, (p + 1) * block));
                        return null;
                    });
                }
                for (int i = 0; i < whole.length; i++) {
                    assertEquals(Float.floatToRawIntBits(whole[i]), Float.floatToRawIntBits(split[i]),
                            "blocks of " + block + ", " + threads + " threads, element " + i);
                }
            }
        }
    }

    @Test
    void writesOnlyTheGivenRows() {
        Random rnd = new Random(14);
        int rows = 13;
        int in = WIDTH + 5;
        int out = 9;
        float[] x = randoms(rnd, rows * in);
        float[] w = randoms(rnd, out * in);
        float[] b = randoms(rnd, out);
        float[] y = new float[rows * out];
        Arrays.fill(y, Float.NaN);
        LinearKernel.VECTOR.apply(x, w, b, y, in, out, 3, 10);
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                float v = y[r * out + o];
                if (r >= 3 && r < 10) {
                    assertEquals(Float.floatToRawIntBits(sequence(x, r * in, w, o * in, in) + b[o]), Float.floatToRawIntBits(v));
                } else {
                    assertTrue(Float.isNaN(v), "row " + r + " is outside [3, 10) and must stay untouched");
                }
            }
        }
    }

    /**
     * The kernel's documented per-element sequence in scalar float: lane j accumulates, by fused
     * multiply-add, the products at i = j mod width over the whole vectors of the row; the lanes are
     * summed first to last starting from 0; the remaining products are fused-multiply-added in order.
     */
    private static float sequence(float[] x, int x0, float[] w, int w0, int in) {
        int bound = in - in % WIDTH;
        float[] lane = new float[WIDTH];
        for (int i = 0; i < bound; i += WIDTH) {
            for (int j = 0; j < WIDTH; j++) {
                lane[j] = Math.fma(x[x0 + i + j], w[w0 + i + j], lane[j]);
            }
        }
        float s = 0;
        for (int j = 0; j < WIDTH; j++) {
            s += lane[j];
        }
        for (int i = bound; i < in; i++) {
            s = Math.fma(x[x0 + i], w[w0 + i], s);
        }
        return s;
    }

    private static float[] randoms(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }
}
