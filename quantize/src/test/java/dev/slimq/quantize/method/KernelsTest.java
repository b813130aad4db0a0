package dev.slimq.quantize.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The Vector API fast path against the scalar reference: bit for bit, on seeded data of odd sizes and offsets. */
class KernelsTest {
    private static final Kernels SCALAR = Kernels.scalar();
    private static final Kernels FAST = Kernels.best();
    private static final int[] SIZES = {1, 7, 15, 16, 17, 31, 32, 33, 100, 127, 128, 129, 255, 256, 1000, 4096};

    @Test
    void fastPathIsVectorWhereTheHardwareHasIt() {
        Assumptions.assumeTrue(FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256, "no 256-bit vectors on this host");
        assertInstanceOf(VectorKernels.class, FAST);
    }

    @Test
    void codeRoundsHalfToEvenAndClamps() {
        // Definition: clamp(rint(fma(x, inv, off)), 0, maxCode).
        assertEquals(2f, Kernels.code(2.5f, 1f, 0f, 15f));
        assertEquals(4f, Kernels.code(3.5f, 1f, 0f, 15f));
        assertEquals(4f, Kernels.code(1.5f, 1f, 2f, 15f));
        assertEquals(0f, Kernels.code(-3f, 1f, 0f, 15f));
        assertEquals(15f, Kernels.code(99f, 1f, 0f, 15f));
        assertEquals(255f, Kernels.code(1e30f, 1f, 0f, 255f));
        assertEquals(0f, Kernels.code(0.5f, 1f, 0f, 15f));
    }

    @Test
    void reduceIsTheDocumentedTree() {
        float[] p = new float[16];
        for (int i = 0; i < 16; i++) {
            p[i] = (float) Math.scalb(1.0 + i / 7.0, i % 5 * 9 - 20);
        }
        float[] a = new float[8];
        for (int i = 0; i < 8; i++) {
            a[i] = p[i] + p[i + 8];
        }
        float expected = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
        assertEquals(expected, (float) Kernels.reduce(p.clone(), 0));
    }

    @Test
    void minMaxMomentsAndDeviatingAgree() {
        SplittableRandom r = new SplittableRandom(11);
        Workspace a = new Workspace();
        Workspace b = new Workspace();
        for (int n : SIZES) {
            for (int off : new int[] {0, 1, 5}) {
                float[] x = random(r, off + n + 3);
                SCALAR.minMax(x, off, n, a.minMax);
                FAST.minMax(x, off, n, b.minMax);
                assertArrayEquals(a.minMax, b.minMax, "minMax n=" + n);
                SCALAR.moments(x, off, n, a);
                FAST.moments(x, off, n, b);
                assertArrayEquals(a.mom, b.mom, "moments n=" + n);
                int[] ia = new int[n];
                int[] ib = new int[n];
                int ca = SCALAR.deviating(x, off, n, 0.01f, 0.5f, ia);
                int cb = FAST.deviating(x, off, n, 0.01f, 0.5f, ib);
                assertEquals(ca, cb);
                assertArrayEquals(Arrays.copyOf(ia, ca), Arrays.copyOf(ib, cb));
                assertEquals(ca, FAST.deviating(x, off, n, 0.01f, 0.5f, null));
            }
        }
    }

    @Test
    void codesAndCodeSumsAgreeWithAndWithoutPadding() {
        SplittableRandom r = new SplittableRandom(12);
        Workspace a = new Workspace();
        Workspace b = new Workspace();
        for (int n : SIZES) {
            for (float maxCode : new float[] {3, 7, 15, 255}) {
                for (float inv : new float[] {maxCode / 2.1f, -maxCode / 1.7f, 0f, 1e-3f}) {
                    float off = inv < 0 ? (maxCode + 1) / 2 : inv == 0 ? 2 : 0.37f * maxCode;
                    float[] x = random(r, 3 + Kernels.roundUp(n) + 5);
                    for (boolean padded : new boolean[] {false, true}) {
                        if (padded) {
                            Arrays.fill(x, 3 + n, 3 + Kernels.roundUp(n), inv < 0 ? Float.MAX_VALUE : -Float.MAX_VALUE);
                        }
                        SCALAR.codeSums(x, 3, n, inv, off, maxCode, a);
                        FAST.codeSums(x, 3, n, inv, off, maxCode, b);
                        assertArrayEquals(a.sums, b.sums, "codeSums n=" + n + " inv=" + inv + " padded=" + padded);
                    }
                    for (float sc : new float[] {inv == 0 ? 0 : 1 / inv, 0.37f}) {
                        assertEquals(SCALAR.sse(x, 3, n, inv, sc, off, maxCode, a), FAST.sse(x, 3, n, inv, sc, off, maxCode, b),
                                "sse n=" + n + " inv=" + inv);
                    }
                    byte[] ca = new byte[n + 2];
                    byte[] cb = new byte[n + 2];
                    SCALAR.codes(x, 3, n, inv, off, maxCode, ca, 1);
                    FAST.codes(x, 3, n, inv, off, maxCode, cb, 1);
                    assertArrayEquals(ca, cb, "codes n=" + n);
                    for (int i = 0; i < n; i++) {
                        assertEquals(Kernels.code(x[3 + i], inv, off, maxCode), ca[1 + i] & 0xFF);
                    }
                }
            }
        }
    }

    @Test
    void codeSumsMatchTheirDefinition() {
        float[] x = {0.5f, -1f, 2f, 3.25f};
        Workspace ws = new Workspace();
        // codes of x·2 + 1 = [2, -1, 5, 7.5] clamped to [0, 7] and rounded half to even: [2, 0, 5, 7]
        SCALAR.codeSums(x, 0, 4, 2f, 1f, 7f, ws);
        assertArrayEquals(new double[] {14, 4 + 25 + 49, 0.5 * 2 + 2 * 5 + 3.25 * 7}, ws.sums);
    }

    @Test
    void sseIsTheSumOfSquaredResiduals() {
        float[] x = {0.5f, -1f, 2f, 3.25f};
        // Codes of x·2 + 1 = [2, 0, 5, 7] (see above) under s = 0.5, z = 1: ŵ = [0.5, -0.5, 2, 3], residuals [0, -0.5, 0, 0.25].
        assertEquals(0.3125, SCALAR.sse(x, 0, 4, 2f, 0.5f, 1f, 7f, new Workspace()));
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian()));
        }
        return x;
    }
}
