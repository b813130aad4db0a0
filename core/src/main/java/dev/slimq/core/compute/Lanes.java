package dev.slimq.core.compute;

import jdk.incubator.vector.FloatVector;

/**
 * Horizontal sums of Vector API vectors in a fixed order. {@code reduceLanes(ADD)} leaves the order
 * of its additions to the implementation, and the JIT-compiled intrinsic and the interpreted
 * fallback do differ: a result would then depend on warm-up, so on how work happened to be spread
 * over threads and on the run. Summing the lanes first to last costs one store per reduction and
 * keeps every kernel bit-identical for any thread count.
 */
public final class Lanes {
    private Lanes() {
    }

    /** The lanes of {@code v} summed first to last in float; {@code scratch} holds at least {@code v.length()} floats. */
    public static float sum(FloatVector v, float[] scratch) {
        v.intoArray(scratch, 0);
        float s = 0;
        for (int i = 0; i < v.length(); i++) {
            s += scratch[i];
        }
        return s;
    }

    /** As {@link #sum(FloatVector, float[])} with a scratch array of its own. */
    public static float sum(FloatVector v) {
        return sum(v, new float[v.length()]);
    }
}
