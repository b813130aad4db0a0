package dev.slimq.quantize.method;

import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;

/**
 * A scheme's code grid and the group-level math every quantizer shares: the min-max start, the
 * llama.cpp-style candidate sweep, the closed-form least-squares refits, the alternation of rounding
 * and refitting, and the rounding of parameters to what is stored.
 *
 * <h2>Model and sums</h2>
 * A group {@code x[0..n)} is represented as {@code x ≈ s·(l − z)} with codes {@code l ∈ [0, maxCode]}.
 * For fixed codes the kernels give Σl, Σl², Σxl; with Σx, Σx² the squared error of any {@code (s, z)} is
 * closed form: {@code SSE = Σx² − 2s·(Σxl − zΣx) + s²·(Σl² − 2zΣl + n z²)}. Refits:
 * <ul>
 *   <li>float zero: the 2×2 normal equations of {@code x ≈ s·l + m}, {@code D = nΣl² − (Σl)²},
 *       {@code s = (nΣxl − ΣxΣl)/D}, {@code m = (Σl²Σx − ΣlΣxl)/D}, {@code z = −m/s};</li>
 *   <li>integer zero: the float fit's {@code z} rounded (into the code range) and the scale refit for that
 *       zero, {@code s = (Σxl − zΣx)/(Σl² − 2zΣl + n z²)} (also trying the neighbours of the rounded zero
 *       changed nothing measurable on bge-small);</li>
 *   <li>symmetric: {@code z = 2^(bits−1)} fixed and the same scale-only refit.</li>
 * </ul>
 *
 * <h2>Stored parameters</h2>
 * {@link #settle} rounds the scale to the scheme's dtype (saturating at its largest finite value), then
 * rounds the zero against the stored scale, keeping the fitted offset {@code s·z}: integer mode
 * {@code clamp(rint(z·s/sq), 0, maxCode)}, float mode {@code z·s/sq} in the dtype. Codes are always
 * recomputed against the stored values ({@code clamp(rint(x/sq + zq))}, as llama.cpp does), so
 * rounding can only move a code to the nearest one for what is actually stored. A scale that rounds
 * to zero (all-zero groups, underflow) or whose inverse overflows makes a zero group: scale 0, every
 * code equal to the zero, reconstruction 0. Nothing here can produce NaN from finite input.
 *
 * <p>Immutable and cheap; made once per quantization call.
 */
final class Grid {
    /** llama.cpp make_qkx2_quants: iscale = (maxCode + RMIN + RDELTA·i)/(max − min), i = 0..STEPS. */
    static final double RMIN = -1.0;
    static final double RDELTA = 0.1;
    static final int STEPS = 20;
    /** llama.cpp make_qx_quants: iscale = −(half + 0.1·i)/extreme, i = −SYM_STEPS..SYM_STEPS. */
    static final int SYM_STEPS = 9;
    /** Candidates {@link #sweep} writes at most. */
    static final int MAX_CANDIDATES = Math.max(STEPS + 1, 2 * SYM_STEPS + 1);
    /**
     * Over-relaxation of {@link #alternate}: each move goes this many times the refit's step from the
     * current parameters. Fixed points are unchanged (a zero step stays zero); on bge-small's encoder
     * (4-bit, g128) 2 gains about 0.04 dB over plain alternation at the same number of passes.
     */
    static final double OVER_RELAXATION = 2.0;

    private static final float F16_MAX = 65504f;
    private static final float BF16_MAX = Float.intBitsToFloat(0x7F7F0000);

    final int maxCode;
    final float fMaxCode;
    final boolean symmetric;
    /** Asymmetric with integer zeros. */
    final boolean integerZero;
    /** {@code 2^(bits−1)}: the symmetric zero. */
    final int half;
    private final DType dtype;

    Grid(QuantScheme scheme) {
        this.maxCode = scheme.maxCode();
        this.fMaxCode = maxCode;
        this.symmetric = scheme.symmetric();
        this.integerZero = !symmetric && scheme.zeroMode() == ZeroMode.INTEGER;
        this.half = scheme.symmetricZero();
        this.dtype = scheme.scaleDtype();
    }

    /** {@code v} rounded (through float) to nearest-even in the scale dtype, saturated to its finite range. */
    float toDtype(double v) {
        float f = (float) v;
        return switch (dtype) {
            case F16 -> Math.clamp(Float.float16ToFloat(Float.floatToFloat16(f)), -F16_MAX, F16_MAX);
            case BF16 -> Math.clamp(Float.intBitsToFloat(FloatCodec.floatToBf16(f) << 16), -BF16_MAX, BF16_MAX);
            default -> Math.clamp(f, -Float.MAX_VALUE, Float.MAX_VALUE);
        };
    }

    // ---------------------------------------------------------------- min-max start

    /**
     * The min-max (rtn) parameters of a group with extremes {@code lo, hi}.
     * Asymmetric: {@code s = (hi − lo)/maxCode}, {@code z = −lo/s}, over the {@link #rangeLo range}.
     * Symmetric (llama.cpp Q4_0): the signed extreme {@code m} (the negative one on a tie) and
     * {@code s = m/−2^(bits−1)}, so {@code m} lands exactly on code 0 and all 2^bits levels are used;
     * {@code s} is negative when the extreme is positive.
     */
    void minMax(float lo, float hi, Fit out) {
        if (symmetric) {
            out.set(extreme(lo, hi) / -half, half, Double.POSITIVE_INFINITY);
            return;
        }
        double a = rangeLo(lo, hi);
        double s = (rangeHi(lo, hi) - a) / maxCode;
        out.set(s, s == 0 ? 0 : -a / s, Double.POSITIVE_INFINITY);
    }

    private static double extreme(float lo, float hi) {
        return hi > -lo ? hi : lo;
    }

    /**
     * The range fitted by min-max and swept by {@link #sweep}: {@code [lo, hi]}, widened to contain 0 in
     * integer-zero mode (an integer zero in {@code [0, maxCode]} means 0 is on the grid, as in GPTQ) and for
     * a constant group (so that its value is representable).
     */
    private double rangeLo(float lo, float hi) {
        return integerZero || lo == hi ? Math.min(lo, 0) : lo;
    }

    private double rangeHi(float lo, float hi) {
        return integerZero || lo == hi ? Math.max(hi, 0) : hi;
    }

    // ---------------------------------------------------------------- stored values

    /** Rounds {@code f}'s scale and zero to what is stored (see the class comment). */
    void settle(Fit f) {
        float sq = Double.isFinite(f.s) ? toDtype(f.s) : 0f;
        if (sq == 0f || !Float.isFinite(1f / sq)) {
            f.sq = 0f;
            f.zq = symmetric ? half : 0f;
            return;
        }
        f.sq = sq;
        if (symmetric) {
            f.zq = half;
        } else {
            double z = f.z * (f.s / sq);
            // + 0f turns a zero of -0 (from -lo/s with lo = 0) into +0.
            f.zq = (integerZero ? (float) Math.clamp(Math.rint(z), 0, maxCode) : toDtype(z)) + 0f;
        }
    }

    /** Squared error of the settled {@code f} over the group's participating weights, from direct residuals. */
    double storedSse(Kernels k, Group g, Fit f, Workspace ws) {
        return k.sse(g.x, g.from, g.n, f.inv(), f.sq, f.zq, fMaxCode, ws);
    }

    /** Closed-form squared error of {@code (s, z)} with codes whose sums are Σl, Σl², Σxl. */
    private static double sse(Group g, double s, double z, double sl, double sll, double sxl) {
        int n = g.n;
        return Math.max(g.sxx - 2 * s * (sxl - z * g.sx) + s * s * (sll - 2 * z * sl + n * z * z), 0);
    }

    /**
     * Leaves in {@code out} the better, after rounding to what is stored, of the group's min-max fit and
     * {@code best} (when not null); ties go to min-max. This makes every optimized method at least as
     * good as {@link Rtn} on every group, up to the float rounding of the sums that compare them.
     */
    void settleBest(Kernels k, Group g, Fit best, Workspace ws, Fit out) {
        minMax(g.lo, g.hi, out);
        settle(out);
        if (best == null) {
            return;
        }
        out.sse = storedSse(k, g, out, ws);
        settle(best);
        best.sse = storedSse(k, g, best, ws);
        if (best.sse < out.sse) {
            out.copyFrom(best);
        }
    }

    // ---------------------------------------------------------------- least-squares refits

    /** Refit for codes with sums Σl, Σl², Σxl; false when degenerate. */
    boolean refit(Group g, double sl, double sll, double sxl, Fit out) {
        if (symmetric) {
            return fixedZero(g, half, sl, sll, sxl, out);
        }
        int n = g.n;
        double d = n * sll - sl * sl;
        double sd = n * sxl - g.sx * sl; // s·D
        double md = sll * g.sx - sl * sxl; // m·D
        if (!(d > 0) || !(sd > 0) || !Double.isFinite(sd) || !Double.isFinite(md)) {
            return false;
        }
        if (!integerZero) {
            double s = sd / d;
            double z = -md / sd;
            out.set(s, z, sse(g, s, z, sl, sll, sxl));
            return Double.isFinite(out.sse);
        }
        return fixedZero(g, Math.clamp(Math.rint(-md / sd), 0, maxCode), sl, sll, sxl, out);
    }

    private static boolean fixedZero(Group g, double z, double sl, double sll, double sxl, Fit out) {
        double suu = sll - 2 * z * sl + g.n * z * z;
        if (!(suu > 0)) {
            return false;
        }
        double s = (sxl - z * g.sx) / suu;
        if (s == 0 || !Double.isFinite(s)) {
            return false;
        }
        out.set(s, z, sse(g, s, z, sl, sll, sxl));
        return Double.isFinite(out.sse);
    }

    // ---------------------------------------------------------------- search

    /** Every candidate of llama.cpp's sweeps: asymmetric steps 0..20, symmetric −9..9. */
    static final int[] ALL_STEPS = java.util.stream.IntStream.rangeClosed(0, STEPS).toArray();
    static final int[] ALL_SYM_STEPS = java.util.stream.IntStream.rangeClosed(-SYM_STEPS, SYM_STEPS).toArray();

    /**
     * The candidate sweep of llama.cpp's k-quants (unweighted, since there is no data): for each step
     * {@code i} of {@code steps} (asymmetric, in 0..20) the inverse scale {@code (maxCode − 1 + 0.1·i)/(hi − lo)}
     * over the {@link #rangeLo range}, codes relative to its low end, or for each {@code i} of
     * {@code symSteps} (symmetric, in −9..9) {@code −(half + 0.1·i)/extreme}; each followed by its
     * least-squares refit. The valid fits go to {@code g.starts[0 .. g.count)}.
     */
    void sweep(Kernels k, Group g, Workspace ws, int[] steps, int[] symSteps) {
        g.count = 0;
        double m = extreme(g.lo, g.hi);
        double a = rangeLo(g.lo, g.hi);
        double b = rangeHi(g.lo, g.hi);
        int count = symmetric ? (m == 0 ? 0 : symSteps.length) : (b > a ? steps.length : 0);
        // All passes first, then all refits, as in alternate(): no data-dependent branch between passes.
        double[] batch = ws.batch(3 * count);
        for (int i = 0; i < count; i++) {
            if (symmetric) {
                k.codeSums(g.x, g.from, g.n, (float) (-(half + RDELTA * symSteps[i]) / m), half, fMaxCode, ws);
            } else {
                double iscale = (maxCode + RMIN + RDELTA * steps[i]) / (b - a);
                k.codeSums(g.x, g.from, g.n, (float) iscale, (float) (-a * iscale), fMaxCode, ws);
            }
            System.arraycopy(ws.sums, 0, batch, 3 * i, 3);
        }
        for (int i = 0; i < count; i++) {
            if (refit(g, batch[3 * i], batch[3 * i + 1], batch[3 * i + 2], g.starts[g.count])) {
                g.count++;
            }
        }
    }

    /**
     * Alternates "nearest codes for (s, z)" and "least-squares refit for those codes" from every start
     * of every group in {@code groups[0 .. count)}, at most {@code maxIterations} rounds, each start until
     * its codes stop changing; leaves in each start the lowest predicted error on its path.
     *
     * <p>A move goes {@link #OVER_RELAXATION} times the refit's step, in scale and offset {@code s·z}
     * (integer zeros rounded back to the grid). Codes are recognized by their sums Σl, Σl², Σxl (equal
     * sums give an equal refit, hence the same path from there on): a start ends when its sums repeat
     * any seen before in its group, its own previous ones (a fixed point) or another start's (the paths
     * joined). All starts of all groups advance in lockstep, passes first and refits after, because each
     * pass depends on the previous refit: independent chains side by side let the CPU overlap them.
     */
    void alternate(Kernels k, Group[] groups, int count, int maxIterations, Workspace ws, Fit cand) {
        boolean any = false;
        for (int gi = 0; gi < count; gi++) {
            Group g = groups[gi];
            g.active = (1 << g.count) - 1;
            any |= g.active != 0;
            for (int j = 0; j < g.count; j++) {
                g.s[j] = g.starts[j].s;
                g.z[j] = g.starts[j].z;
            }
        }
        double[] batch = ws.batch(3 * count * MAX_CANDIDATES);
        for (int it = 0; it < maxIterations && any; it++) {
            for (int gi = 0; gi < count; gi++) {
                Group g = groups[gi];
                for (int j = 0; j < g.count; j++) {
                    if ((g.active & 1 << j) != 0) {
                        k.codeSums(g.x, g.from, g.n, (float) (1 / g.s[j]), (float) g.z[j], fMaxCode, ws);
                        System.arraycopy(ws.sums, 0, batch, 3 * (gi * MAX_CANDIDATES + j), 3);
                    }
                }
            }
            any = false;
            for (int gi = 0; gi < count; gi++) {
                Group g = groups[gi];
                for (int j = 0; j < g.count; j++) {
                    if ((g.active & 1 << j) != 0) {
                        int b = 3 * (gi * MAX_CANDIDATES + j);
                        step(g, j, batch[b], batch[b + 1], batch[b + 2], cand);
                    }
                }
                any |= g.active != 0;
            }
        }
    }

    /** One refit and over-relaxed move of start {@code j} of {@code g}, from the sums of its codes. */
    private void step(Group g, int j, double sl, double sll, double sxl, Fit cand) {
        if (!g.remember(sl, sll, sxl) || !refit(g, sl, sll, sxl, cand)) {
            g.active &= ~(1 << j);
            return;
        }
        if (cand.sse < g.starts[j].sse) {
            g.starts[j].copyFrom(cand);
        }
        double s0 = g.s[j];
        double m0 = -s0 * g.z[j];
        double s = s0 + OVER_RELAXATION * (cand.s - s0);
        double m = m0 + OVER_RELAXATION * (-cand.s * cand.z - m0);
        if (!(symmetric ? s != 0 : s > 0) || !Double.isFinite(s)) {
            s = cand.s;
            m = -cand.s * cand.z;
        }
        double z = symmetric ? half : -m / s;
        g.s[j] = s;
        g.z[j] = integerZero ? Math.clamp(Math.rint(z), 0, maxCode) : z;
    }
}
