package dev.slimq.quantize.method;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded test matrices and helpers shared by the quantizer tests. */
final class Matrices {
    private Matrices() {
    }

    /**
     * Heavy-tailed weights like a trained linear layer: Student-t with 4 degrees of freedom, scaled by
     * 0.02 and by a per-row factor, rounded to BF16 precision (bf16-sourced checkpoints).
     */
    static float[] heavyTailed(long seed, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int row = 0; row < rows; row++) {
            double rowScale = 0.02 * Math.exp(0.3 * r.nextGaussian());
            for (int c = 0; c < cols; c++) {
                double chi = 0;
                for (int k = 0; k < 4; k++) {
                    double t = r.nextGaussian();
                    chi += t * t;
                }
                w[row * cols + c] = bf16(rowScale * r.nextGaussian() / Math.sqrt(chi / 4));
            }
        }
        return w;
    }

    static float[] gaussian(long seed, int rows, int cols, double sd) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (sd * r.nextGaussian());
        }
        return w;
    }

    static float bf16(double v) {
        return Float.intBitsToFloat(FloatCodec.floatToBf16((float) v) << 16);
    }

    static float f16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    /** Σ(w − ŵ)² in float64. */
    static double sse(float[] w, QuantizedTensor q) {
        float[] d = q.dequantize();
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            double e = (double) w[i] - d[i];
            s += e * e;
        }
        return s;
    }

    /** Every scheme shape: bits 2/3/4/8 × symmetric, asymmetric integer, asymmetric float × F16/BF16/F32. */
    static List<QuantScheme> schemes(int groupSize) {
        List<QuantScheme> all = new ArrayList<>();
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (DType dt : new DType[] {DType.F16, DType.BF16, DType.F32}) {
                all.add(new QuantScheme(bits, groupSize, true, ZeroMode.INTEGER, dt));
                all.add(new QuantScheme(bits, groupSize, false, ZeroMode.INTEGER, dt));
                all.add(new QuantScheme(bits, groupSize, false, ZeroMode.FLOAT, dt));
            }
        }
        return all;
    }

    static QuantScheme asym(int bits, int groupSize, ZeroMode mode, DType dt) {
        return new QuantScheme(bits, groupSize, false, mode, dt);
    }

    /** All methods, including easyquant in both outlier modes. */
    static List<Quantizer> methods() {
        return List.of(new Rtn(), new Search(), new EasyQuant(), new EasyQuant().withOutliers(false), new Hqq());
    }

    static String label(Quantizer q) {
        return q instanceof EasyQuant e && !e.keepOutliers() ? "easyquant(range-only)" : q.methodName();
    }
}
