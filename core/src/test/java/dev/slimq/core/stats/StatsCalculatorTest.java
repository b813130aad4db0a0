package dev.slimq.core.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.stats.StatsCalculator.Moments;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatsCalculatorTest {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** An in-memory tensor, encoded here by hand (values must be exact in the dtype). */
    static TensorView view(DType dtype, float... v) {
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * dtype.byteSize()]);
        for (int i = 0; i < v.length; i++) {
            switch (dtype) {
                case F32 -> seg.set(F32, i * 4L, v[i]);
                case BF16 -> {
                    int bits = Float.floatToRawIntBits(v[i]);
                    assertEquals(0, bits & 0xFFFF, "not exact in BF16: " + v[i]);
                    seg.set(I16, i * 2L, (short) (bits >>> 16));
                }
                case F16 -> {
                    short h = Float.floatToFloat16(v[i]);
                    assertEquals(v[i], Float.float16ToFloat(h), "not exact in F16: " + v[i]);
                    seg.set(I16, i * 2L, h);
                }
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return TensorView.ofSegment(TensorInfo.planned("t", dtype, v.length), seg);
    }

    static TensorStats stats(TensorView v) {
        try (WorkPool pool = new WorkPool(1)) {
            return StatsCalculator.compute(v, pool, n -> { });
        }
    }

    static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, 1e-12 * Math.max(1, Math.abs(expected)), what);
    }

    // ---- hand-computed ----

    @Test
    void oneTwoThreeFour() {
        for (DType d : List.of(DType.F32, DType.BF16, DType.F16)) {
            TensorStats s = stats(view(d, 1, 2, 3, 4));
            assertEquals(4, s.count(), d.toString());
            assertEquals(4, s.finite());
            assertClose(2.5, s.mean(), "mean");
            assertClose(Math.sqrt(1.25), s.std(), "std");
            assertEquals(1.0, s.min());
            assertEquals(4.0, s.max());
            assertEquals(4.0, s.absmax());
            assertEquals(0.0, s.beyond3Sigma());
            assertEquals(0, s.nanCount());
            assertEquals(0, s.infCount());
        }
    }

    @Test
    void negativeValuesInBf16AndF16() {
        // -2, 0.5, 1.5, 4: mean 1, deviations -3, -0.5, 0.5, 3: variance (9 + 0.25 + 0.25 + 9) / 4 = 4.625
        for (DType d : List.of(DType.BF16, DType.F16)) {
            TensorStats s = stats(view(d, -2f, 0.5f, 1.5f, 4f));
            assertClose(1.0, s.mean(), "mean " + d);
            assertClose(Math.sqrt(4.625), s.std(), "std " + d);
            assertEquals(-2.0, s.min());
            assertEquals(4.0, s.absmax());
        }
        // absmax comes from the negative side: -8, 1, 1 -> mean -2, absmax 8
        TensorStats s = stats(view(DType.F16, -8f, 1f, 1f));
        assertClose(-2.0, s.mean(), "mean");
        assertEquals(8.0, s.absmax());
        assertClose(Math.sqrt((36 + 9 + 9) / 3.0), s.std(), "std");
    }

    @Test
    void oneClearOutlier() {
        // 99 zeros and one 100: mean 1, variance (99 * 1 + 99^2) / 100 = 99, 3 std = 29.85;
        // only the 100 is beyond (|100 - 1| = 99), the zeros are 1 away: fraction 1/100
        float[] v = new float[100];
        v[37] = 100f;
        for (DType d : List.of(DType.F32, DType.BF16, DType.F16)) {
            TensorStats s = stats(view(d, v));
            assertClose(1.0, s.mean(), "mean " + d);
            assertClose(Math.sqrt(99), s.std(), "std " + d);
            assertEquals(0.01, s.beyond3Sigma(), 0.0);
            assertEquals(0.0, s.min());
            assertEquals(100.0, s.max());
        }
    }

    @Test
    void nanAndInfinitiesAreCountedAndExcluded() {
        // 1000 values: zeros, one 1000, NaN at 33, +Inf at 7, -Inf at 500 (inside the vector loop)
        // finite: 997 values summing to 1000; mean m = 1000/997, E[x^2] = 10^6/997
        float[] v = new float[1000];
        v[900] = 1000f;
        v[33] = Float.NaN;
        v[7] = Float.POSITIVE_INFINITY;
        v[500] = Float.NEGATIVE_INFINITY;
        double m = 1000.0 / 997;
        double var = 1e6 / 997 - m * m;
        for (DType d : List.of(DType.F32, DType.BF16, DType.F16)) {
            TensorStats s = stats(view(d, v));
            assertEquals(1000, s.count());
            assertEquals(997, s.finite());
            assertEquals(1, s.nanCount());
            assertEquals(2, s.infCount());
            assertClose(m, s.mean(), "mean " + d);
            assertClose(Math.sqrt(var), s.std(), "std " + d);
            assertEquals(0.0, s.min());
            assertEquals(1000.0, s.max());
            assertEquals(1000.0, s.absmax());
            assertEquals(1.0 / 997, s.beyond3Sigma(), 1e-15, "only the 1000; infinities are not finite values");
        }
    }

    @Test
    void beyond3SigmaStaysAFractionWhenThreeStdOverflowFloat() {
        // finite values +-3e38 (std 3e38, so mean +- 3 std is infinite in float) with infinities in
        // the vector loop: none of them is a finite value beyond 3 std
        float[] v = new float[64];
        java.util.Arrays.fill(v, Float.NaN);
        v[0] = 3e38f;
        v[1] = -3e38f;
        v[2] = Float.POSITIVE_INFINITY;
        v[3] = Float.NEGATIVE_INFINITY;
        v[40] = Float.NEGATIVE_INFINITY;
        TensorStats s = stats(view(DType.F32, v));
        assertEquals(2, s.finite());
        assertEquals(3, s.infCount());
        assertEquals(59, s.nanCount());
        assertEquals(0.0, s.mean());
        assertClose(3e38f, s.std(), "std");
        assertEquals(0.0, s.beyond3Sigma());
    }

    @Test
    void nothingFinite() {
        TensorStats s = stats(view(DType.F32, Float.NaN, Float.POSITIVE_INFINITY));
        assertEquals(2, s.count());
        assertEquals(0, s.finite());
        assertEquals(1, s.nanCount());
        assertEquals(1, s.infCount());
        assertTrue(Double.isNaN(s.mean()) && Double.isNaN(s.std()) && Double.isNaN(s.min()) && Double.isNaN(s.absmax()));
        assertEquals(0.0, s.beyond3Sigma());
        TensorStats empty = stats(view(DType.F32));
        assertEquals(0, empty.count());
        assertTrue(Double.isNaN(empty.mean()));
    }

    @Test
    void constantTensorHasZeroStdAndNoOutliers() {
        float[] v = new float[5000];
        java.util.Arrays.fill(v, 0.75f);
        TensorStats s = stats(view(DType.BF16, v));
        assertEquals(0.75, s.mean());
        assertEquals(0.0, s.std());
        assertEquals(0.0, s.beyond3Sigma());
    }

    // ---- the fast chunk path against the scalar reference ----

    static float[] gaussian(long seed, int n, double mean, double std) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (mean + std * r.nextGaussian());
        }
        return x;
    }

    static double std(Moments m) {
        return Math.sqrt(m.m2() / m.n());
    }

    static void assertMatchesReference(float[] x, int n, String what) {
        Moments fast = StatsCalculator.chunkMoments(x, n);
        Moments ref = StatsCalculator.scalarMoments(x, n);
        assertEquals(ref.n(), fast.n(), what);
        assertEquals(ref.min(), fast.min(), 0.0, what);
        assertEquals(ref.max(), fast.max(), 0.0, what);
        double refStd = std(ref);
        if (n == 1 || refStd == 0) {
            assertEquals(ref.mean(), fast.mean(), 0.0, what);
            assertEquals(0.0, fast.m2(), 1e-30, what);
            return;
        }
        assertEquals(ref.mean(), fast.mean(), 1e-6 * refStd, what + " mean");
        double rel = Math.abs(std(fast) - refStd) / refStd;
        assertTrue(rel < 1e-5, what + ": relative error of std " + rel);
    }

    static final int[] SIZES = {1, 7, 4095, 4096, 4097, 10001};

    @Test
    void chunkMomentsMatchTheScalarReference() {
        long seed = 1;
        for (int n : SIZES) {
            assertMatchesReference(gaussian(seed++, n, 0, 1), n, "N(0,1) n=" + n);
            assertMatchesReference(gaussian(seed++, n, 1.0, 1e-3), n, "N(1,1e-3) n=" + n);
            assertMatchesReference(gaussian(seed++, n, -250, 0.02), n, "N(-250,0.02) n=" + n);
            assertMatchesReference(gaussian(seed++, n, 0, 1e-30), n, "tiny n=" + n);
            Random r = new Random(seed++);
            float[] u = new float[n];
            for (int i = 0; i < n; i++) {
                u[i] = r.nextFloat() * 200 - 100;
            }
            assertMatchesReference(u, n, "U(-100,100) n=" + n);
        }
    }

    @Test
    void chunkMomentsWithAnOutlierFirst() {
        // the chunk is summed relative to its first value: an outlier there must not cost accuracy
        long seed = 100;
        for (int n : SIZES) {
            if (n < 2) {
                continue;
            }
            for (float first : new float[] {50f, -1e4f, 1e6f}) {
                float[] x = gaussian(seed++, n, 0, 1);
                x[0] = first;
                assertMatchesReference(x, n, "outlier " + first + " first, n=" + n);
                float[] y = gaussian(seed++, n, 1.0, 1e-3);
                y[0] = 1 + first * 1e-3f;
                assertMatchesReference(y, n, "N(1,1e-3) outlier first, n=" + n);
            }
        }
    }

    @Test
    void chunkMomentsFallBackForNonFiniteValues() {
        float[] x = gaussian(7, 4097, 0, 1);
        x[4000] = Float.NaN;
        x[5] = Float.POSITIVE_INFINITY;
        Moments fast = StatsCalculator.chunkMoments(x, x.length);
        Moments ref = StatsCalculator.scalarMoments(x, x.length);
        assertEquals(ref, fast);
        assertEquals(4095, fast.n());
        assertEquals(1, fast.nan());
        assertEquals(1, fast.inf());
        // NaN first: the shift itself is not finite
        x[0] = Float.NaN;
        assertEquals(StatsCalculator.scalarMoments(x, x.length), StatsCalculator.chunkMoments(x, x.length));
    }

    @Test
    void chunkMomentsDoNotChangeOnceCompiled() {
        // The first calls run interpreted, later ones JIT-compiled: the sums must not depend on which
        // (Vector API reductions leave the order of a float sum to the implementation)
        float[] x = gaussian(77, StatsCalculator.CHUNK, 0.5, 0.02);
        x[3] = 9f;
        Moments cold = StatsCalculator.chunkMoments(x, x.length);
        Moments coldOdd = StatsCalculator.chunkMoments(x, 4001);
        for (int i = 0; i < 30_000; i++) {
            StatsCalculator.chunkMoments(x, x.length);
        }
        assertEquals(cold, StatsCalculator.chunkMoments(x, x.length));
        assertEquals(coldOdd, StatsCalculator.chunkMoments(x, 4001));
    }

    @Test
    void computeOverSeveralChunksMatchesTheReference() {
        for (int n : new int[] {4097, 10001, 3 * 4096 + 5}) {
            float[] x = gaussian(n, n, 1.0, 1e-3);
            TensorStats s = stats(view(DType.F32, x));
            Moments ref = StatsCalculator.scalarMoments(x, n);
            assertEquals(n, s.finite());
            assertEquals(ref.mean(), s.mean(), 1e-6 * std(ref));
            assertTrue(Math.abs(s.std() - std(ref)) / std(ref) < 1e-5, "std of n=" + n);
            assertEquals(ref.min(), s.min(), 0.0);
            assertEquals(ref.max(), s.max(), 0.0);
            long beyond = 0;
            for (float v : x) {
                if (Math.abs(v - s.mean()) > 3 * s.std()) {
                    beyond++;
                }
            }
            assertEquals((double) beyond / n, s.beyond3Sigma(), 0.5 / n);
        }
    }

    // ---- parallel: identical for any thread count ----

    @Test
    void identicalForAnyThreadCountOnAMappedTensor(@TempDir Path dir) {
        int n = 2_500_000; // more than two blocks of 2^20
        assertTrue(n > 2 * StatsCalculator.BLOCK);
        float[] x = gaussian(2024, n, 0.5, 0.02);
        x[123] = 9f;             // an outlier in block 0
        x[2_400_000] = Float.NaN; // and non-finite values in block 2
        x[1_500_000] = Float.NEGATIVE_INFINITY;
        Path file = dir.resolve("t.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, WritePlan.of(List.of(TensorInfo.planned("w", DType.F32, n))))) {
            w.writeFloats("w", x);
            w.commit();
        }
        List<TensorStats> results = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file); TensorView v = f.map("w")) {
            for (int threads : new int[] {1, 2, 3}) {
                AtomicLong progress = new AtomicLong();
                try (WorkPool pool = new WorkPool(threads)) {
                    results.add(StatsCalculator.compute(v, pool, progress::addAndGet));
                }
                assertEquals(n, progress.get(), "progress counts every element once");
            }
        }
        TensorStats one = results.getFirst();
        for (TensorStats s : results) {
            assertEquals(one, s, "bit-identical");
            assertEquals(Double.doubleToRawLongBits(one.std()), Double.doubleToRawLongBits(s.std()));
            assertEquals(Double.doubleToRawLongBits(one.mean()), Double.doubleToRawLongBits(s.mean()));
        }
        Moments ref = StatsCalculator.scalarMoments(x, n);
        assertEquals(n - 2, one.finite());
        assertEquals(1, one.nanCount());
        assertEquals(1, one.infCount());
        assertEquals(9.0, one.max(), 0.0);
        assertEquals(ref.min(), one.min(), 0.0);
        assertEquals(ref.mean(), one.mean(), 1e-6 * std(ref));
        assertTrue(Math.abs(one.std() - std(ref)) / std(ref) < 1e-5);
    }
}
