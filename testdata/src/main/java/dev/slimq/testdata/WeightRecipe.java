package dev.slimq.testdata;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which tensors a preset has and how their values are drawn, so that quantizers and pruners meet
 * the statistics of real checkpoints rather than those of {@code nextGaussian()}.
 *
 * <p>The recipe, per tensor kind:
 * <ul>
 *   <li><b>Bulk distribution</b>: Student-t with 5 degrees of freedom, scaled to unit variance
 *       (kurtosis 9 in theory, about 7 as sampled: the quantile table below stops at the
 *       1/131,074 quantile, about 11 standard deviations). Trained weights are close to Gaussian
 *       in the middle but have far more large values than a Gaussian, which is exactly what makes
 *       min-max quantization hard.
 *   <li><b>Linear weights</b> {@code [out, in]}: standard deviation {@code 0.02 * (1 + 0.5 * layer /
 *       layers)}, halved for the projections that write back into the residual stream (o_proj,
 *       down_proj; BERT attention.output.dense and output.dense), times a per-row factor uniform in
 *       [0.75, 1.25] so rows need different scales. A handful of <i>outlier input channels</i>
 *       (max(2, min(8, in / 128)) columns) are scaled 10 to 30 times; matrices that read the same
 *       input (q/k/v; gate/up; BERT query/key/value) share the same columns and factors, as in real
 *       LLMs, where the outliers come from a few hidden dimensions of the shared input.
 *   <li><b>Embeddings</b> (and lm_head, position and token-type tables): standard deviation 0.02 with
 *       the same per-row factor; in the token embedding about one row in 128 (a "rare token") has
 *       3 to 5 times the norm.
 *   <li><b>Norm weights</b>: 1.0 plus noise of standard deviation 0.05. <b>Biases</b> (and LayerNorm
 *       shifts): noise of standard deviation 0.01.
 * </ul>
 *
 * <p>Determinism: every value is a function of the seed, the tensor's name and the element's
 * position. A tensor is produced in blocks of whole rows (about a million elements, a count fixed by
 * the shape alone), each from its own {@link SplittableRandom} seeded by (seed, name, block index);
 * outlier columns come from a generator seeded by (seed, input group) and rare rows from a hash of
 * (seed, name, row), never from a shared stream. So the output does not depend on the order
 * tensors are generated in, on the thread count, or on the platform (the quantile table is built
 * with {@link StrictMath}; everything else is float arithmetic, which Java defines exactly).
 *
 * <p>Speed: one {@code nextLong()} gives two samples, each a lookup in a 65,537-entry quantile
 * table of the standardized t distribution with linear interpolation, so no transcendental function
 * is evaluated per element.
 */
final class WeightRecipe {
    /** How a tensor's values are drawn. */
    enum Kind { MATRIX, NORM, BIAS }

    /**
     * One tensor to generate.
     *
     * @param std standard deviation of the bulk before row and column factors
     * @param columnScale per input column factor (1 except at outlier channels); length = columns
     * @param rareRows whether some rows get 3-5 times the norm (token embeddings)
     */
    record Tensor(String name, long[] shape, Kind kind, float std, float[] columnScale, boolean rareRows) {
        long rows() {
            return shape.length == 1 ? 1 : shape[0];
        }

        int cols() {
            return (int) shape[shape.length - 1];
        }

        long elements() {
            return rows() * cols();
        }

        /** Rows per generation block: about a million elements, fixed by the shape alone. */
        int rowsPerBlock() {
            return (int) Math.min(rows(), Math.max(1, BLOCK_ELEMENTS / cols()));
        }

        long blocks() {
            return (rows() + rowsPerBlock() - 1) / rowsPerBlock();
        }
    }

    static final int BLOCK_ELEMENTS = 1 << 20;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final float NORM_STD = 0.05f;
    private static final float BIAS_STD = 0.01f;
    private static final float EMBEDDING_STD = 0.02f;

    private WeightRecipe() {
    }

    // ---------------------------------------------------------------------------------------------
    // Which tensors, in the order transformers' state_dict lists them (the "tensor order" that
    // sharding follows).

    static List<Tensor> tensors(SynthSpec spec) {
        return spec.arch() == SynthSpec.Arch.LLAMA ? llama(spec) : bert(spec);
    }

    private static List<Tensor> llama(SynthSpec spec) {
        ModelShape s = spec.shape();
        long seed = spec.seed();
        int h = s.hidden();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        int f = s.intermediate();
        List<Tensor> out = new ArrayList<>();
        out.add(matrix("model.embed_tokens.weight", EMBEDDING_STD, ones(h), true, s.vocab(), h));
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            float std = layerStd(i, s.layers());
            float[] attnIn = outlierColumns(seed, "layers." + i + ".attn_in", h);
            float[] mlpIn = outlierColumns(seed, "layers." + i + ".mlp_in", h);
            out.add(matrix(p + "self_attn.q_proj.weight", std, attnIn, false, q, h));
            out.add(matrix(p + "self_attn.k_proj.weight", std, attnIn, false, kv, h));
            out.add(matrix(p + "self_attn.v_proj.weight", std, attnIn, false, kv, h));
            out.add(matrix(p + "self_attn.o_proj.weight", std / 2, outlierColumns(seed, "layers." + i + ".o_in", q), false, h, q));
            out.add(matrix(p + "mlp.gate_proj.weight", std, mlpIn, false, f, h));
            out.add(matrix(p + "mlp.up_proj.weight", std, mlpIn, false, f, h));
            out.add(matrix(p + "mlp.down_proj.weight", std / 2, outlierColumns(seed, "layers." + i + ".down_in", f), false, h, f));
            out.add(vector(p + "input_layernorm.weight", Kind.NORM, h));
            out.add(vector(p + "post_attention_layernorm.weight", Kind.NORM, h));
        }
        out.add(vector("model.norm.weight", Kind.NORM, h));
        if (!spec.tiedEmbeddings()) {
            out.add(matrix("lm_head.weight", EMBEDDING_STD, ones(h), false, s.vocab(), h));
        }
        return out;
    }

    private static List<Tensor> bert(SynthSpec spec) {
        ModelShape s = spec.shape();
        long seed = spec.seed();
        int h = s.hidden();
        int f = s.intermediate();
        List<Tensor> out = new ArrayList<>();
        out.add(matrix("embeddings.word_embeddings.weight", EMBEDDING_STD, ones(h), true, s.vocab(), h));
        out.add(matrix("embeddings.position_embeddings.weight", EMBEDDING_STD, ones(h), false, s.maxPositions(), h));
        out.add(matrix("embeddings.token_type_embeddings.weight", EMBEDDING_STD, ones(h), false, s.typeVocab(), h));
        layerNorm(out, "embeddings.LayerNorm", h);
        for (int i = 0; i < s.layers(); i++) {
            String p = "encoder.layer." + i + ".";
            float std = layerStd(i, s.layers());
            float[] attnIn = outlierColumns(seed, "layers." + i + ".attn_in", h);
            for (String proj : List.of("query", "key", "value")) {
                linear(out, p + "attention.self." + proj, std, attnIn, h, h);
            }
            linear(out, p + "attention.output.dense", std / 2, outlierColumns(seed, "layers." + i + ".attn_out_in", h), h, h);
            layerNorm(out, p + "attention.output.LayerNorm", h);
            linear(out, p + "intermediate.dense", std, outlierColumns(seed, "layers." + i + ".mlp_in", h), f, h);
            linear(out, p + "output.dense", std / 2, outlierColumns(seed, "layers." + i + ".mlp_out_in", f), h, f);
            layerNorm(out, p + "output.LayerNorm", h);
        }
        linear(out, "pooler.dense", EMBEDDING_STD, outlierColumns(seed, "pooler_in", h), h, h);
        return out;
    }

    private static float layerStd(int layer, int layers) {
        return 0.02f * (1 + 0.5f * layer / layers);
    }

    private static Tensor matrix(String name, float std, float[] columnScale, boolean rareRows, int rows, int cols) {
        return new Tensor(name, new long[] {rows, cols}, Kind.MATRIX, std, columnScale, rareRows);
    }

    private static Tensor vector(String name, Kind kind, int n) {
        return new Tensor(name, new long[] {n}, kind, kind == Kind.NORM ? NORM_STD : BIAS_STD, ones(n), false);
    }

    private static void linear(List<Tensor> out, String module, float std, float[] columnScale, int rows, int cols) {
        out.add(matrix(module + ".weight", std, columnScale, false, rows, cols));
        out.add(vector(module + ".bias", Kind.BIAS, rows));
    }

    private static void layerNorm(List<Tensor> out, String module, int n) {
        out.add(vector(module + ".weight", Kind.NORM, n));
        out.add(vector(module + ".bias", Kind.BIAS, n));
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 1f);
        return a;
    }

    /**
     * Column factors for the matrices that read input {@code group}: 1 except for a handful of
     * channels scaled 10-30x. Derived from (seed, group) only, so every reader of that input agrees.
     */
    static float[] outlierColumns(long seed, String group, int cols) {
        float[] scale = ones(cols);
        SplittableRandom rng = new SplittableRandom(mix64(fnv1a64(group) ^ mix64(seed)));
        int k = Math.max(2, Math.min(8, cols / 128));
        for (int placed = 0; placed < k; ) {
            int c = rng.nextInt(cols);
            if (scale[c] == 1f) {
                scale[c] = 10f + 20f * (float) rng.nextDouble();
                placed++;
            }
        }
        return scale;
    }

    // ---------------------------------------------------------------------------------------------
    // Values.

    /**
     * Fills {@code dst} with block {@code block} of tensor {@code t} (rows {@code block *
     * rowsPerBlock} onward, row-major) and returns the number of values written.
     */
    static int fillBlock(Tensor t, long seed, long block, float[] dst) {
        long tensorSeed = mix64(fnv1a64(t.name()) ^ mix64(seed));
        SplittableRandom rng = new SplittableRandom(mix64(tensorSeed + (block + 1) * GOLDEN));
        int cols = t.cols();
        long firstRow = block * t.rowsPerBlock();
        int rows = (int) Math.min(t.rowsPerBlock(), t.rows() - firstRow);
        float center = t.kind() == Kind.NORM ? 1f : 0f;
        float[] cs = t.columnScale();
        for (int r = 0; r < rows; r++) {
            float rowStd = t.std();
            if (t.kind() == Kind.MATRIX) {
                rowStd *= 0.75f + 0.5f * (float) rng.nextDouble();
                if (t.rareRows()) {
                    long hr = mix64(tensorSeed ^ (firstRow + r) * GOLDEN);
                    if ((hr & 127) == 0) {
                        rowStd *= 3f + 2f * ((hr >>> 32) & 0xFFFF) / 65536f;
                    }
                }
            }
            int o = r * cols;
            for (int c = 0; c < cols; c += 2) {
                long bits = rng.nextLong();
                dst[o + c] = center + StandardT5.sample((int) bits) * rowStd * cs[c];
                if (c + 1 < cols) {
                    dst[o + c + 1] = center + StandardT5.sample((int) (bits >>> 32)) * rowStd * cs[c + 1];
                }
            }
        }
        return rows * cols;
    }

    /** Student-t with 5 degrees of freedom scaled to unit variance, sampled from a quantile table. */
    static final class StandardT5 {
        private static final int LEVELS = 1 << 16;
        /** Quantile at probability (j + 0.5) / (LEVELS + 1), j = 0..LEVELS. */
        private static final float[] Q = new float[LEVELS + 1];
        /** Q[j + 1] - Q[j]. */
        private static final float[] DQ = new float[LEVELS];

        static {
            // CDF of t5 with theta = atan(t / sqrt 5): F = 1/2 + (theta + sin cos (1 + 2/3 cos^2)) / pi,
            // increasing in theta. Solve for theta by bisection on the upper half and mirror, so the
            // table is exactly symmetric. Unit variance: t5 has variance 5/3, and
            // sqrt(5) tan(theta) / sqrt(5/3) = sqrt(3) tan(theta).
            int mid = LEVELS / 2;
            for (int j = mid; j <= LEVELS; j++) {
                double target = Math.PI * ((j + 0.5) / (LEVELS + 1) - 0.5);
                double lo = 0;
                double hi = Math.PI / 2;
                for (int it = 0; it < 60; it++) {
                    double th = (lo + hi) / 2;
                    double cos = StrictMath.cos(th);
                    double g = th + StrictMath.sin(th) * cos * (1 + 2.0 / 3 * cos * cos);
                    if (g < target) {
                        lo = th;
                    } else {
                        hi = th;
                    }
                }
                float v = (float) (StrictMath.sqrt(3) * StrictMath.tan((lo + hi) / 2));
                Q[j] = v;
                Q[LEVELS - j] = -v;
            }
            for (int j = 0; j < LEVELS; j++) {
                DQ[j] = Q[j + 1] - Q[j];
            }
        }

        private StandardT5() {
        }

        /** A sample from 32 uniform bits: the high 16 pick a table cell, the low 16 interpolate in it. */
        static float sample(int bits) {
            int i = bits >>> 16;
            return Q[i] + (bits & 0xFFFF) * 0x1p-16f * DQ[i];
        }
    }

    /** SplitMix64's finalizer: a bijective 64-bit mix. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a over UTF-8: a stable 64-bit name hash (String.hashCode has only 32 bits). */
    static long fnv1a64(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        return h;
    }
}
