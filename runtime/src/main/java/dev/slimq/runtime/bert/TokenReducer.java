package dev.slimq.runtime.bert;

import dev.slimq.core.parallel.WorkPool;
import dev.slimq.prune.tokens.DivPrune;
import dev.slimq.prune.tokens.ToMe;
import dev.slimq.prune.tokens.TokenItem;
import java.util.List;

/**
 * One token-reduction step on the encoder's hidden states, per sequence (one work piece each, so the
 * result does not depend on the thread count). Row 0 of a sequence ([CLS]) is kept as it is; the
 * attended rows after it are grouped by the prune module's method ({@link ToMe} or {@link DivPrune});
 * each group becomes its size-weighted mean (in double) with the sum of the sizes, at the position of
 * its first member. Padding rows are dropped, so every row of the result is attended.
 */
final class TokenReducer {
    private TokenReducer() {
    }

    record Step(float[] x, int[] offsets, int[] rowMask, float[] sizes) {
    }

    private record Piece(float[] x, float[] sizes) {
    }

    static Step reduce(TokenReduction reduction, float[] x, int[] offsets, int[] rowMask, float[] sizes, int h, WorkPool pool) {
        int seqs = offsets.length - 1;
        List<Piece> pieces = pool.map(seqs, b -> reduceOne(reduction, b, x, offsets[b], offsets[b + 1], rowMask, sizes, h));
        int[] newOffsets = new int[seqs + 1];
        for (int b = 0; b < seqs; b++) {
            newOffsets[b + 1] = newOffsets[b] + pieces.get(b).sizes().length;
        }
        int n = newOffsets[seqs];
        float[] nx = new float[n * h];
        float[] ns = new float[n];
        for (int b = 0; b < seqs; b++) {
            Piece p = pieces.get(b);
            System.arraycopy(p.x(), 0, nx, newOffsets[b] * h, p.x().length);
            System.arraycopy(p.sizes(), 0, ns, newOffsets[b], p.sizes().length);
        }
        int[] mask = new int[n];
        java.util.Arrays.fill(mask, 1);
        return new Step(nx, newOffsets, mask, ns);
    }

    private static Piece reduceOne(TokenReduction reduction, int b, float[] x, int from, int to, int[] rowMask, float[] sizes, int h) {
        // Candidates: the attended rows after [CLS].
        int[] rows = new int[to - from];
        int c = 0;
        for (int r = from + 1; r < to; r++) {
            if (rowMask[r] != 0) {
                rows[c++] = r;
            }
        }
        int budget = switch (reduction) {
            case TokenReduction.ToMe t -> c - Math.max(0, Math.min(t.r(), c - 1));
            case TokenReduction.DivPrune d -> Math.max(1, Math.min(c, (int) Math.round(d.keep() * c)));
        };
        int[] groupOf;
        if (c == 0 || budget >= c) {
            groupOf = new int[c];
            for (int i = 0; i < c; i++) {
                groupOf[i] = i;
            }
        } else {
            float[] feat = new float[c * h];
            for (int i = 0; i < c; i++) {
                System.arraycopy(x, rows[i] * h, feat, i * h, h);
            }
            TokenItem item = new TokenItem(b, c, h, feat, null, 1);
            groupOf = switch (reduction) {
                case TokenReduction.ToMe t -> new ToMe().group(item, budget);
                case TokenReduction.DivPrune d -> new DivPrune().group(item, budget);
            };
        }
        // Output slots in order of the first member of each group ([CLS] first).
        int[] slot = new int[c];
        java.util.Arrays.fill(slot, -1);
        int k = 1;
        for (int i = 0; i < c; i++) {
            int g = groupOf[i];
            if (g >= 0 && slot[g] < 0) {
                slot[g] = k++;
            }
        }
        double[] acc = new double[k * h];
        double[] size = new double[k];
        float[] outX = new float[k * h];
        float[] outS = new float[k];
        System.arraycopy(x, from * h, outX, 0, h);
        outS[0] = sizes == null ? 1f : sizes[from];
        for (int i = 0; i < c; i++) {
            int g = groupOf[i];
            if (g < 0) {
                continue;
            }
            int s = slot[g];
            double w = sizes == null ? 1.0 : sizes[rows[i]];
            size[s] += w;
            int src = rows[i] * h;
            for (int j = 0; j < h; j++) {
                acc[s * h + j] += w * x[src + j];
            }
        }
        for (int s = 1; s < k; s++) {
            outS[s] = (float) size[s];
            for (int j = 0; j < h; j++) {
                outX[s * h + j] = (float) (acc[s * h + j] / size[s]);
            }
        }
        return new Piece(outX, outS);
    }
}
