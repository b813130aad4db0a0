package dev.slimq.quantize.method;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;

/**
 * A k-quant style scale search (llama.cpp {@code make_qkx2_quants} / {@code make_qx_quants}, unweighted
 * since there is no data). Per group: sweep candidate inverse scales, round, refit scale and offset by
 * closed-form least squares for those codes, keep the lowest squared error; then round the winner to
 * what is stored and keep it only if it beats min-max ({@link Rtn}) after that rounding, so search is
 * never worse than rtn on a group.
 *
 * <p>Asymmetric candidates: {@code iscale = (maxCode + rmin + rdelta·i)/(max − min)} for
 * {@code i = 0..steps}, codes {@code clamp(rint(iscale·(x − min)))}; the refit solves the 2×2 normal
 * equations for {@code x ≈ s·l + m}; in integer-zero mode the zero {@code −m/s} is rounded (its two
 * neighbours tried too) and the scale refit for it; llama.cpp's constants {@code rmin = −1},
 * {@code rdelta = 0.1}, {@code steps = 20} (21 candidates). Symmetric candidates:
 * {@code iscale = −(2^(bits−1) + 0.1·i)/extreme}, {@code i = −9..9}, scale-only refit. Formulas: {@link Grid}.
 */
public record Search() implements Quantizer {

    @Override
    public String methodName() {
        return "search";
    }

    @Override
    public QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme) {
        return quantizeRows(name, w, cols, firstRow, rowCount, scheme, Kernels.best());
    }

    QuantizedTensor quantizeRows(String name, float[] w, int cols, int firstRow, int rowCount, QuantScheme scheme, Kernels k) {
        Grid grid = new Grid(scheme);
        Workspace ws = new Workspace();
        Group g = new Group();
        return Rows.run(name, w, cols, firstRow, rowCount, scheme, k, (x, from, n, f) -> {
            g.measure(k, x, from, n, grid.symmetric, ws);
            Rows.requireFinite(name, x, cols, from, n, g.lo, g.hi);
            grid.sweep(k, g, ws, Grid.ALL_STEPS, Grid.ALL_SYM_STEPS);
            grid.settleBest(k, g, g.best(), ws, f);
        });
    }
}
