package dev.slimq.quantize.method;

/**
 * Scratch space of one quantization call (one thread) for the kernels: partial sums, their
 * reductions, and a padded last block. Never shared between threads; allocated once per call so the
 * hot loops allocate nothing.
 */
final class Workspace {
    /** Three blocks of {@link Kernels#PARTIALS} float partial sums. */
    final float[] partials = new float[3 * Kernels.PARTIALS];
    /** Σl, Σl², Σx·l of the last {@link Kernels#codeSums} call. */
    final double[] sums = new double[3];
    /** Σx, Σx² of the last {@link Kernels#moments} call. */
    final double[] mom = new double[2];
    /** Minimum and maximum of the last {@link Kernels#minMax} call. */
    final float[] minMax = new float[2];
    private double[] batch = new double[0];

    /** A scratch array of at least {@code n} doubles (reused). */
    double[] batch(int n) {
        if (batch.length < n) {
            batch = new double[n];
        }
        return batch;
    }
}
