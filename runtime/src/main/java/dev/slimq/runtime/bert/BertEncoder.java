package dev.slimq.runtime.bert;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Encoding;
import java.util.List;
import java.util.Objects;

/**
 * The forward pass of a BERT-family encoder (HF {@code BertModel} / {@code RobertaModel} without the
 * pooler): embeddings (word + position + token type, LayerNorm), then per layer self-attention with
 * the padding mask, output projection + residual + LayerNorm, GELU MLP + residual + LayerNorm.
 *
 * <p><b>Batches are ragged.</b> The sequences of a batch are laid end to end (row {@code offset[b] + i}
 * is token {@code i} of sequence {@code b}) instead of padded to the longest: the result is the one a
 * right-padded batch with its attention mask gives, without computing padding rows. Attention runs
 * per sequence over its own keys, skipping keys whose attention mask is 0, so a sentence's embedding
 * does not depend on the batch it is in. An {@link Encoding} may still carry padding (mask 0) itself:
 * such tokens are never attended to and are left out of mean pooling.
 *
 * <p><b>Determinism.</b> Work is split into fixed pieces (blocks of {@value #ROWS_PER_PIECE} rows for
 * linears and norms, one (sequence, head) pair for attention) whose boundaries do not depend on the
 * thread count, and every output element is computed by one fixed sequence of operations
 * ({@link LinearKernel}), so results are bit-identical for any number of threads.
 *
 * <p>Numerics: float storage and float matrix products; LayerNorm statistics and pooling sums in
 * double (cheap, one pass per row); softmax in float after subtracting the row maximum; GELU in the
 * exact erf form HF's {@code "gelu"} uses. Instances are immutable and may be shared across threads.
 */
public final class BertEncoder {
    /** Rows per linear/norm work piece: big enough that a piece streams each weight row once for many rows. */
    static final int ROWS_PER_PIECE = 32;

    private final BertWeights w;
    private final WorkPool pool;
    private final LinearKernel kernel;

    public BertEncoder(BertWeights weights, WorkPool pool, LinearKernel kernel) {
        this.w = Objects.requireNonNull(weights);
        this.pool = Objects.requireNonNull(pool);
        this.kernel = Objects.requireNonNull(kernel);
    }

    public BertWeights weights() {
        return w;
    }

    /**
     * Sees the activations of a forward pass as they are made, for calibration statistics
     * ({@code slimq calibrate}) without a second copy of the forward pass. Every method is called on
     * the thread that called {@link #hiddenStates(List, Observer)}, between the parallel pieces, in a
     * fixed order per layer: {@link #layerInput}, {@link #linearInput} for {@link #QUERY},
     * {@link #ATTENTION_OUTPUT}, {@link #INTERMEDIATE}, {@link #OUTPUT}, then {@link #layerOutput}.
     *
     * <p>The arrays are the encoder's live buffers, {@code [total tokens, width]} row-major with the
     * sequences end to end (padding rows included): read them during the call, copy what must outlive
     * it, and never write to them. The defaults do nothing, so an observer cannot change results.
     */
    public interface Observer {
        /** The HF module path (inside a layer) of the query projection; its input is shared with key and value. */
        String QUERY = "attention.self.query";
        /** The attention output projection; its input is the attention context. */
        String ATTENTION_OUTPUT = "attention.output.dense";
        /** The MLP up projection; its input is the hidden state after the attention block. */
        String INTERMEDIATE = "intermediate.dense";
        /** The MLP down projection; its input is the GELU output. */
        String OUTPUT = "output.dense";

        /** Observes nothing: the plain forward pass. */
        Observer NONE = new Observer() {
        };

        /** The hidden states entering layer {@code layer}, width {@code hidden}. */
        default void layerInput(int layer, float[] x) {
        }

        /** The input of the linear {@code module} (one of the constants above) of layer {@code layer}. */
        default void linearInput(int layer, String module, float[] input, int width) {
        }

        /** The hidden states leaving layer {@code layer}, width {@code hidden}. */
        default void layerOutput(int layer, float[] x) {
        }
    }

    /** One L2-normalized embedding per encoding, in order. */
    public float[][] embed(List<Encoding> batch, Pooling pooling) {
        int[] offsets = offsets(batch);
        float[] x = hiddenStates(batch, offsets, Observer.NONE);
        int h = w.hidden();
        float[][] out = new float[batch.size()][];
        for (int b = 0; b < batch.size(); b++) {
            int[] mask = batch.get(b).attentionMask();
            double[] acc = new double[h];
            int off = offsets[b];
            if (pooling == Pooling.CLS) {
                for (int j = 0; j < h; j++) {
                    acc[j] = x[off * h + j];
                }
            } else {
                int count = 0;
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i] != 0) {
                        count++;
                        int row = (off + i) * h;
                        for (int j = 0; j < h; j++) {
                            acc[j] += x[row + j];
                        }
                    }
                }
                for (int j = 0; j < h; j++) {
                    acc[j] /= Math.max(count, 1);
                }
            }
            double norm = 0;
            for (double v : acc) {
                norm += v * v;
            }
            norm = Math.sqrt(norm);
            float[] e = new float[h];
            for (int j = 0; j < h; j++) {
                e[j] = norm == 0 ? 0f : (float) (acc[j] / norm);
            }
            out[b] = e;
        }
        return out;
    }

    /**
     * Embeddings of a token-reduced pass, and the tokens (padding excluded) of each sequence entering
     * each layer ({@code tokensPerLayer[b][layer]}, the last entry after the final layer).
     */
    public record Reduced(float[][] embeddings, int[][] tokensPerLayer) {
    }

    /**
     * {@link #embed} with {@code reduction} applied between layers (null: none): merged tokens carry
     * sizes, attention is proportional (log size added to a key's logit) and mean pooling is
     * size-weighted. Without a reduction the embeddings are bit-identical to {@link #embed}'s.
     */
    public Reduced embedReduced(List<Encoding> batch, Pooling pooling, TokenReduction reduction) {
        int[] offsets = offsets(batch);
        LayerState st = layers(embeddings(batch, offsets), offsets, rowMask(batch, offsets), null, reduction, Observer.NONE);
        return new Reduced(pool(st, pooling), st.tokensPerLayer());
    }

    /**
     * Runs the layers on given hidden states (e.g. {@link #embeddingOutput}, possibly with rows merged by
     * hand): {@code lengths} rows per sequence end to end, all attended, {@code sizes} per row (null: 1),
     * with an optional {@code reduction} between layers.
     */
    public float[][] embedFromHidden(float[] x, int[] lengths, float[] sizes, Pooling pooling, TokenReduction reduction) {
        int[] offsets = new int[lengths.length + 1];
        for (int b = 0; b < lengths.length; b++) {
            offsets[b + 1] = offsets[b] + lengths[b];
        }
        int n = offsets[lengths.length];
        if (x.length != n * w.hidden() || (sizes != null && sizes.length != n)) {
            throw new IllegalArgumentException("hidden states or sizes do not match " + n + " rows");
        }
        int[] mask = new int[n];
        java.util.Arrays.fill(mask, 1);
        return pool(layers(x.clone(), offsets, mask, sizes == null ? null : sizes.clone(), reduction, Observer.NONE), pooling);
    }

    /** Pools each sequence: [CLS] row, or the size-weighted mean of its attended rows; then L2-normalizes. */
    private float[][] pool(LayerState st, Pooling pooling) {
        int h = w.hidden();
        int seqs = st.offsets().length - 1;
        float[] x = st.x();
        float[][] out = new float[seqs][];
        for (int b = 0; b < seqs; b++) {
            double[] acc = new double[h];
            int off = st.offsets()[b];
            int end = st.offsets()[b + 1];
            if (pooling == Pooling.CLS) {
                for (int j = 0; j < h; j++) {
                    acc[j] = x[off * h + j];
                }
            } else {
                double count = 0;
                for (int i = off; i < end; i++) {
                    if (st.rowMask()[i] != 0) {
                        double s = st.sizes() == null ? 1.0 : st.sizes()[i];
                        count += s;
                        int row = i * h;
                        for (int j = 0; j < h; j++) {
                            acc[j] += s * x[row + j];
                        }
                    }
                }
                for (int j = 0; j < h; j++) {
                    acc[j] /= Math.max(count, 1);
                }
            }
            double norm = 0;
            for (double v : acc) {
                norm += v * v;
            }
            norm = Math.sqrt(norm);
            float[] e = new float[h];
            for (int j = 0; j < h; j++) {
                e[j] = norm == 0 ? 0f : (float) (acc[j] / norm);
            }
            out[b] = e;
        }
        return out;
    }

    /**
     * The final hidden states of a batch, {@code [total tokens, hidden]} row-major with the sequences
     * end to end (see the class comment).
     */
    public float[] hiddenStates(List<Encoding> batch) {
        return hiddenStates(batch, offsets(batch), Observer.NONE);
    }

    /** {@link #hiddenStates(List)}, showing the intermediate activations to {@code observer}. */
    public float[] hiddenStates(List<Encoding> batch, Observer observer) {
        return hiddenStates(batch, offsets(batch), Objects.requireNonNull(observer));
    }

    private int[] offsets(List<Encoding> batch) {
        int[] offsets = new int[batch.size() + 1];
        for (int b = 0; b < batch.size(); b++) {
            Encoding e = batch.get(b);
            if (e.size() == 0) {
                throw new SlimqException(Failure.USAGE, "sequence " + b + " of the batch is empty");
            }
            if (e.size() > w.maxSequence()) {
                throw new SlimqException(Failure.USAGE, "sequence " + b + " has " + e.size() + " tokens; the model's position table allows "
                        + w.maxSequence());
            }
            offsets[b + 1] = offsets[b] + e.size();
        }
        return offsets;
    }

    private float[] hiddenStates(List<Encoding> batch, int[] offsets, Observer observer) {
        return layers(embeddings(batch, offsets), offsets, rowMask(batch, offsets), null, null, observer).x();
    }

    private static int[] rowMask(List<Encoding> batch, int[] offsets) {
        int[] rowMask = new int[offsets[batch.size()]];
        for (int b = 0; b < batch.size(); b++) {
            System.arraycopy(batch.get(b).attentionMask(), 0, rowMask, offsets[b], batch.get(b).size());
        }
        return rowMask;
    }

    /** Word + position + token type embeddings with their LayerNorm. */
    private float[] embeddings(List<Encoding> batch, int[] offsets) {
        int n = offsets[batch.size()];
        int h = w.hidden();
        int[] ids = new int[n];
        int[] types = new int[n];
        int[] positions = new int[n];
        for (int b = 0; b < batch.size(); b++) {
            Encoding e = batch.get(b);
            for (int i = 0; i < e.size(); i++) {
                int id = e.ids()[i];
                if (id < 0 || id >= w.vocab()) {
                    throw new SlimqException(Failure.BAD_INPUT, "token id " + id + " is outside the embedding table of " + w.vocab());
                }
                ids[offsets[b] + i] = id;
                int type = w.typeEmbeddings() == null ? 0 : e.typeIds()[i];
                if (type < 0 || (w.typeEmbeddings() != null && type >= w.typeEmbeddings().length / w.hidden())) {
                    throw new SlimqException(Failure.BAD_INPUT, "token type id " + type + " is outside the model's token type table");
                }
                types[offsets[b] + i] = type;
                positions[offsets[b] + i] = w.positionOffset() + i;
            }
        }
        float[] x = new float[n * h];
        rows(n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int xr = r * h;
                int we = ids[r] * h;
                int pe = positions[r] * h;
                for (int j = 0; j < h; j++) {
                    x[xr + j] = w.wordEmbeddings()[we + j] + w.positionEmbeddings()[pe + j];
                }
                if (w.typeEmbeddings() != null) {
                    int te = types[r] * h;
                    for (int j = 0; j < h; j++) {
                        x[xr + j] += w.typeEmbeddings()[te + j];
                    }
                }
                layerNorm(x, xr, h, w.embeddingNormWeight(), w.embeddingNormBias(), w.eps());
            }
        });

        return x;
    }

    /**
     * The embedding layer's output for a batch, {@code [total tokens, hidden]} with the sequences end to
     * end: the input of {@link #embedFromHidden}.
     */
    public float[] embeddingOutput(List<Encoding> batch) {
        return embeddings(batch, offsets(batch));
    }

    /** State of a (possibly token-reduced) pass: rows end to end per sequence, their mask and sizes. */
    record LayerState(float[] x, int[] offsets, int[] rowMask, float[] sizes, int[][] tokensPerLayer) {
    }

    /**
     * The layers of the encoder from hidden states {@code x} (sequences end to end at {@code offsets}),
     * with optional token sizes (null: all 1; a size s adds log s to the attention logits of that key)
     * and an optional token reduction between layers (null: none, the plain forward pass).
     */
    LayerState layers(float[] x0, int[] offsets0, int[] rowMask0, float[] sizes0, TokenReduction reduction, Observer observer) {
        float[] x = x0;
        int[] offsets = offsets0;
        int[] rowMask = rowMask0;
        float[] sizes = sizes0;
        int seqs = offsets.length - 1;
        int n = offsets[seqs];
        int h = w.hidden();
        int nLayers = w.layers().length;
        int[][] counts = new int[seqs][nLayers + 1];
        float[] q = new float[n * h];
        float[] k = new float[n * h];
        float[] v = new float[n * h];
        float[] ctx = new float[n * h];
        float[] tmp = new float[n * h];
        float[] inter = new float[n * w.intermediate()];
        for (int li = 0; li < nLayers; li++) {
            if (reduction != null && reduction.appliesBefore(li, nLayers)) {
                TokenReducer.Step step = TokenReducer.reduce(reduction, x, offsets, rowMask, sizes, h, pool);
                x = step.x();
                offsets = step.offsets();
                rowMask = step.rowMask();
                sizes = step.sizes();
                n = offsets[seqs];
            }
            for (int b = 0; b < seqs; b++) {
                counts[b][li] = countValid(rowMask, offsets[b], offsets[b + 1]);
            }
            BertWeights.Layer layer = w.layers()[li];
            float[] bias = logSizes(sizes, n);
            runLayer(li, layer, x, offsets, rowMask, bias, n, q, k, v, ctx, tmp, inter, observer);
        }
        for (int b = 0; b < seqs; b++) {
            counts[b][nLayers] = countValid(rowMask, offsets[b], offsets[b + 1]);
        }
        return new LayerState(x, offsets, rowMask, sizes, counts);
    }

    private static int countValid(int[] rowMask, int from, int to) {
        int c = 0;
        for (int i = from; i < to; i++) {
            c += rowMask[i] != 0 ? 1 : 0;
        }
        return c;
    }

    /** log(size) per row, or null when there are no sizes (every token stands for itself). */
    private static float[] logSizes(float[] sizes, int n) {
        if (sizes == null) {
            return null;
        }
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            bias[i] = (float) Math.log(sizes[i]);
        }
        return bias;
    }

    private void runLayer(int li, BertWeights.Layer layer, float[] x, int[] offsets, int[] rowMask, float[] bias, int n, float[] q,
            float[] k, float[] v, float[] ctx, float[] tmp, float[] inter, Observer observer) {
        int h = w.hidden();
        {
            observer.layerInput(li, x);
            observer.linearInput(li, Observer.QUERY, x, h);
            rows(n, (r0, r1) -> {
                kernel.apply(x, layer.query(), layer.queryBias(), q, h, h, r0, r1);
                kernel.apply(x, layer.key(), layer.keyBias(), k, h, h, r0, r1);
                kernel.apply(x, layer.value(), layer.valueBias(), v, h, h, r0, r1);
            });
            attention(offsets, rowMask, bias, q, k, v, ctx);
            observer.linearInput(li, Observer.ATTENTION_OUTPUT, ctx, h);
            rows(n, (r0, r1) -> {
                kernel.apply(ctx, layer.attnOut(), layer.attnOutBias(), tmp, h, h, r0, r1);
                for (int r = r0; r < r1; r++) {
                    addNorm(x, tmp, r * h, h, layer.attnNormWeight(), layer.attnNormBias(), w.eps());
                }
            });
            int m = w.intermediate();
            observer.linearInput(li, Observer.INTERMEDIATE, x, h);
            rows(n, (r0, r1) -> {
                kernel.apply(x, layer.intermediate(), layer.intermediateBias(), inter, h, m, r0, r1);
                for (int i = r0 * m; i < r1 * m; i++) {
                    inter[i] = gelu(inter[i]);
                }
                kernel.apply(inter, layer.output(), layer.outputBias(), tmp, m, h, r0, r1);
                for (int r = r0; r < r1; r++) {
                    addNorm(x, tmp, r * h, h, layer.outputNormWeight(), layer.outputNormBias(), w.eps());
                }
            });
            observer.linearInput(li, Observer.OUTPUT, inter, m);
            observer.layerOutput(li, x);
        }
    }

    /** Scaled dot-product attention, one piece per (sequence, head); masked keys get probability 0. */
    private void attention(int[] offsets, int[] rowMask, float[] bias, float[] q, float[] k, float[] v, float[] ctx) {
        int heads = w.heads();
        int d = w.headDim();
        int h = w.hidden();
        float scale = (float) (1.0 / Math.sqrt(d));
        pool.map((offsets.length - 1) * heads, piece -> {
            int b = piece / heads;
            int head = piece % heads;
            int off = offsets[b];
            int len = offsets[b + 1] - off;
            float[] p = new float[len];
            for (int i = 0; i < len; i++) {
                int qi = (off + i) * h + head * d;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    if (rowMask[off + j] == 0) {
                        continue;
                    }
                    int kj = (off + j) * h + head * d;
                    float s = 0;
                    for (int t = 0; t < d; t++) {
                        s += q[qi + t] * k[kj + t];
                    }
                    p[j] = s * scale;
                    if (bias != null) {
                        p[j] += bias[off + j];
                    }
                    max = Math.max(max, p[j]);
                }
                float sum = 0;
                for (int j = 0; j < len; j++) {
                    p[j] = rowMask[off + j] == 0 ? 0f : (float) Math.exp(p[j] - max);
                    sum += p[j];
                }
                float inv = sum == 0 ? 0f : 1f / sum;
                for (int t = 0; t < d; t++) {
                    float acc = 0;
                    for (int j = 0; j < len; j++) {
                        acc += p[j] * v[(off + j) * h + head * d + t];
                    }
                    ctx[qi + t] = acc * inv;
                }
            }
            return null;
        });
    }

    /** Runs {@code body} over fixed blocks of {@value #ROWS_PER_PIECE} rows on the pool. */
    private void rows(int n, RowBlock body) {
        int pieces = (n + ROWS_PER_PIECE - 1) / ROWS_PER_PIECE;
        pool.map(pieces, piece -> {
            int r0 = piece * ROWS_PER_PIECE;
            body.run(r0, Math.min(n, r0 + ROWS_PER_PIECE));
            return null;
        });
    }

    @FunctionalInterface
    private interface RowBlock {
        void run(int rowStart, int rowEnd);
    }

    /** {@code x[row] = LayerNorm(x[row] + delta[row])}. */
    private static void addNorm(float[] x, float[] delta, int at, int h, float[] g, float[] b, float eps) {
        for (int j = 0; j < h; j++) {
            x[at + j] += delta[at + j];
        }
        layerNorm(x, at, h, g, b, eps);
    }

    /** LayerNorm of {@code x[at, at + h)} in place; statistics in double, biased variance as PyTorch. */
    static void layerNorm(float[] x, int at, int h, float[] g, float[] b, float eps) {
        double mean = 0;
        for (int j = 0; j < h; j++) {
            mean += x[at + j];
        }
        mean /= h;
        double var = 0;
        for (int j = 0; j < h; j++) {
            double c = x[at + j] - mean;
            var += c * c;
        }
        var /= h;
        double inv = 1.0 / Math.sqrt(var + eps);
        for (int j = 0; j < h; j++) {
            x[at + j] = (float) ((x[at + j] - mean) * inv) * g[j] + b[j];
        }
    }

    /** HF's {@code "gelu"}: {@code x/2 (1 + erf(x / sqrt 2))}. */
    static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + erf(x * 0.7071067811865476)));
    }

    /**
     * The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, under float
     * resolution of GELU's output for the inputs that matter). Java's Math has no erf.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        double t = 1.0 / (1.0 + 0.3275911 * ax);
        double y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
                * Math.exp(-ax * ax);
        return x < 0 ? -y : y;
    }
}
