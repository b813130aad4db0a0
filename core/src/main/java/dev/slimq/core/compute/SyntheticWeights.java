package dev.slimq.core.compute;

import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded synthetic weights and activations for kernel tests and benchmarks: every code of the range,
 * scales and float zeros already rounded to the scheme's scale dtype (as a quantizer leaves them),
 * outliers at random positions with F16-rounded residuals. Same seed, same values, on every machine.
 */
public final class SyntheticWeights {
    private SyntheticWeights() {
    }

    /**
     * A random quantized matrix. {@code outlierFraction} of each row's weights (at least one per row
     * when positive) carry a residual.
     */
    public static QuantizedTensor quantized(String name, int rows, int cols, QuantScheme scheme, double outlierFraction, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        int levels = scheme.maxCode() + 1;
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) rnd.nextInt(levels);
        }
        int groups = Math.multiplyExact(rows, scheme.groupsPerRow(cols));
        float[] scales = new float[groups];
        float[] zeros = new float[groups];
        for (int g = 0; g < groups; g++) {
            // A spread of magnitudes and both signs, like real per-group ranges.
            scales[g] = round(scheme.scaleDtype(), (float) ((rnd.nextDouble(0.002, 0.05)) * (rnd.nextInt(8) == 0 ? -1 : 1)));
            if (scheme.symmetric()) {
                zeros[g] = scheme.symmetricZero();
            } else if (scheme.zeroMode() == ZeroMode.INTEGER) {
                zeros[g] = rnd.nextInt(levels);
            } else {
                zeros[g] = round(scheme.scaleDtype(), (float) rnd.nextDouble(-1, levels));
            }
        }
        Outliers outliers = outlierFraction <= 0 ? null : outliers(rows, cols, outlierFraction, rnd);
        return new QuantizedTensor(name, rows, cols, scheme, codes, scales, zeros, outliers);
    }

    private static Outliers outliers(int rows, int cols, double fraction, SplittableRandom rnd) {
        int perRow = Math.max(1, Math.min(cols, (int) Math.round(cols * fraction)));
        int[] rowPtr = new int[rows + 1];
        int[] colIdx = new int[Math.multiplyExact(rows, perRow)];
        float[] residual = new float[colIdx.length];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            int n = rnd.nextInt(perRow + 1); // some rows have none
            int[] picked = rnd.ints(0, cols).distinct().limit(n).sorted().toArray();
            for (int c : picked) {
                colIdx[k] = c;
                residual[k] = round(DType.F16, (float) rnd.nextDouble(-0.5, 0.5));
                k++;
            }
            rowPtr[r + 1] = k;
        }
        return new Outliers(rowPtr, Arrays.copyOf(colIdx, k), Arrays.copyOf(residual, k));
    }

    /** {@code n} values from a standard normal distribution, scaled by {@code scale}. */
    public static float[] gaussian(int n, double scale, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller on SplittableRandom: reproducible across JDKs (Random.nextGaussian's algorithm is not specified to stay).
            double u = rnd.nextDouble(Double.MIN_NORMAL, 1.0);
            double v = rnd.nextDouble();
            out[i] = (float) (scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return out;
    }

    /**
     * Activations that look like a transformer's: Gaussian, with input channels scaled by a
     * heavy-tailed per-channel factor (a few channels carry most of the energy).
     */
    public static float[] heavyTailed(int batch, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        float[] channel = new float[cols];
        for (int c = 0; c < cols; c++) {
            double u = rnd.nextDouble(1e-3, 1.0);
            channel[c] = (float) Math.min(100.0, Math.pow(u, -0.7)); // Pareto-like
        }
        float[] x = gaussian(Math.multiplyExact(batch, cols), 1.0, seed);
        for (int i = 0; i < x.length; i++) {
            x[i] *= channel[i % cols];
        }
        return x;
    }

    /** {@code f} rounded to nearest even in {@code dtype} (F16, BF16 or F32). */
    public static float round(DType dtype, float f) {
        return switch (dtype) {
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(f));
            case BF16 -> Float.intBitsToFloat(FloatCodec.floatToBf16(f) << 16);
            case F32 -> f;
            default -> throw new IllegalArgumentException("no rounding to " + dtype.wireName());
        };
    }
}
