package dev.slimq.quantize.method;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;

/**
 * Min-max round-to-nearest, the baseline (round half to even, as llama.cpp's {@code nearest_int}).
 *
 * <p>Asymmetric: {@code s = (max − min)/maxCode}, {@code z = −min/s}; in integer-zero mode the range is
 * first widened to contain 0 (an integer zero in {@code [0, maxCode]} means 0 is a grid point, as in
 * GPTQ), in float-zero mode only when the group is constant. Every non-clipped weight is within half a
 * step of its reconstruction; with these ranges nothing is clipped beyond the rounding of the stored
 * scale and zero.
 *
 * <p>Symmetric (fixed zero {@code 2^(bits−1)}), llama.cpp's Q4_0 convention: {@code s = m/−2^(bits−1)}
 * where {@code m} is the signed value of largest magnitude (the negative one on a tie). {@code m} then
 * lands exactly on code 0 and all {@code 2^bits} levels are used, giving the step {@code |m|/2^(bits−1)}
 * without clipping the extreme. The alternatives are worse: {@code |m|/2^(bits−1)} with a positive scale
 * clips a positive extreme by a whole step, and {@code |m|/(2^(bits−1) − 1)} wastes a level (a step
 * {@code 8/7} larger at 4 bits, about 1.2 dB). The price is that the scale is negative when the extreme
 * is positive; {@code w = s·(code − zero)} holds either way.
 */
public record Rtn() implements Quantizer {

    @Override
    public String methodName() {
        return "rtn";
    }

    @Override
    public QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme) {
        return quantizeRows(name, w, cols, firstRow, rowCount, scheme, Kernels.best());
    }

    QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme, Kernels k) {
        Grid grid = new Grid(scheme);
        float[] mm = new float[2];
        return Rows.run(name, w, cols, firstRow, rowCount, scheme, k, (x, from, n, f) -> {
            k.minMax(x, from, n, mm);
            Rows.requireFinite(name, x, cols, from, n, mm[0], mm[1]);
            grid.minMax(mm[0], mm[1], f);
            grid.settle(f);
        });
    }
}
