package dev.slimq.runtime.llama;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.runtime.bert.LinearKernel;
import java.util.Objects;

/**
 * The forward pass of a Llama-family decoder (HF {@code LlamaForCausalLM} and kin) as batched causal
 * prefill over one window of tokens, positions 0..n-1 (no KV cache): token embedding (times gemma's
 * scale), then per layer RMSNorm, q/k/v projections (+ biases for qwen2, per-head q/k RMSNorm for
 * qwen3 and gemma3), rotary position embedding in HF's rotate-half convention (per layer: see
 * {@link Rope}), causal grouped-query attention (sliding-window layers see only the last
 * {@code window} tokens; gemma2 soft-caps the scores), o projection (gemma2/3: normed) + residual,
 * RMSNorm, gated MLP ({@code down(act(gate) * up)}, SiLU or gemma's tanh GELU; gemma2/3: normed) +
 * residual; final RMSNorm, the lm_head and gemma2's logit soft-capping. See {@link LlamaWeights} for
 * what each family sets.
 *
 * <p><b>Determinism.</b> Work is split into fixed pieces (blocks of {@value #ROWS_PER_PIECE} rows for
 * linears and norms, one (head, row block) pair for attention) whose boundaries do not depend on the
 * thread count, and every output element is computed by one fixed sequence of operations
 * ({@link LinearKernel}), so logits are bit-identical for any number of threads. Each row's result
 * depends only on the tokens at or before it, so changing later tokens leaves it bit-identical too.
 *
 * <p>Numerics: float storage and float matrix products; RMSNorm statistics in double; RoPE angles in
 * double, cos/sin rounded to float; softmax in float after subtracting the row maximum. Instances are
 * immutable and may be shared across threads.
 */
public final class LlamaDecoder {
    /** Rows per linear/norm work piece. */
    static final int ROWS_PER_PIECE = 32;

    private final LlamaWeights w;
    private final WorkPool pool;
    private final LinearKernel kernel;
    /** Bias of the linears that have none: zeros as long as the widest output. */
    private final float[] zeros;

    public LlamaDecoder(LlamaWeights weights, WorkPool pool, LinearKernel kernel) {
        this.w = Objects.requireNonNull(weights);
        this.pool = Objects.requireNonNull(pool);
        this.kernel = Objects.requireNonNull(kernel);
        int widest = Math.max(Math.max(w.hidden(), w.vocab()), Math.max(w.intermediate(), w.heads() * w.headDim()));
        this.zeros = new float[widest];
    }

    public LlamaWeights weights() {
        return w;
    }

    public int vocab() {
        return w.vocab();
    }

    /**
     * Sees the activations of a forward pass as they are made, for calibration statistics
     * ({@code slimq calibrate}) without a second copy of the forward pass. Every method is called on
     * the thread that called {@link #hiddenStates(int[], Observer)}, between the parallel pieces, in a
     * fixed order per layer: {@link #layerInput}, {@link #linearInput} for {@link #Q_PROJ},
     * {@link #O_PROJ}, {@link #GATE_PROJ}, {@link #DOWN_PROJ}, then {@link #layerOutput}.
     *
     * <p>The arrays are the decoder's live buffers, {@code [tokens, width]} row-major: read them during
     * the call, copy what must outlive it, and never write to them. The defaults do nothing, so an
     * observer cannot change results.
     */
    public interface Observer {
        /** The HF module path (inside a layer) of the query projection; its input (the RMSNorm'd hidden state) is shared with k_proj and v_proj. */
        String Q_PROJ = "self_attn.q_proj";
        /** The attention output projection; its input is the attention context of all heads. */
        String O_PROJ = "self_attn.o_proj";
        /** The MLP gate projection; its input (the RMSNorm'd hidden state after attention) is shared with up_proj. */
        String GATE_PROJ = "mlp.gate_proj";
        /** The MLP down projection; its input is {@code act(gate) * up}. */
        String DOWN_PROJ = "mlp.down_proj";

        /** Observes nothing: the plain forward pass. */
        Observer NONE = new Observer() {
        };

        /** The hidden states entering layer {@code layer} (the residual stream), width {@code hidden}. */
        default void layerInput(int layer, float[] x) {
        }

        /** The input of the linear {@code module} (one of the constants above) of layer {@code layer}. */
        default void linearInput(int layer, String module, float[] input, int width) {
        }

        /** The hidden states leaving layer {@code layer}, width {@code hidden}. */
        default void layerOutput(int layer, float[] x) {
        }
    }

    /** Logits of every position of {@code tokens}, {@code [n, vocab]} row-major: row t predicts token t+1. */
    public float[] logits(int[] tokens) {
        int n = tokens.length;
        float[] x = hiddenStates(tokens, Observer.NONE);
        int h = w.hidden();
        float[] xn = new float[n * h];
        float eps = w.eps();
        float[] logits = new float[n * w.vocab()];
        float cap = w.finalSoftcap();
        int vocab = w.vocab();
        rows(n, (r0, r1) -> {
            rmsNorm(x, xn, h, w.finalNorm(), eps, r0, r1);
            kernel.apply(xn, w.lmHead(), zeros, logits, h, vocab, r0, r1);
            if (cap > 0) {
                for (int i = r0 * vocab; i < r1 * vocab; i++) {
                    logits[i] = (float) (cap * Math.tanh(logits[i] / cap));
                }
            }
        });
        return logits;
    }

    /**
     * The residual stream after the last layer (before the final norm), {@code [n, hidden]}, with
     * {@code observer} seeing each layer's activations; the result is the same bits as inside
     * {@link #logits}, observed or not.
     */
    public float[] hiddenStates(int[] tokens, Observer observer) {
        int n = tokens.length;
        if (n == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        int h = w.hidden();
        float[] x = new float[n * h];
        for (int t = 0; t < n; t++) {
            int id = tokens[t];
            if (id < 0 || id >= w.vocab()) {
                throw new SlimqException(Failure.BAD_INPUT, "token id " + id + " outside the vocabulary of " + w.vocab());
            }
            System.arraycopy(w.embedding(), id * h, x, t * h, h);
        }
        if (w.embedScale() != 1f) {
            for (int i = 0; i < x.length; i++) {
                x[i] *= w.embedScale();
            }
        }
        // cos/sin tables [n, headDim/2] per distinct rotary embedding (gemma3 has two).
        java.util.Map<Rope, float[][]> tables = new java.util.IdentityHashMap<>();
        for (LlamaWeights.Layer l : w.layers()) {
            tables.computeIfAbsent(l.rope(), rope -> ropeTable(rope, n));
        }
        int d = w.headDim();
        int qw = w.heads() * d;
        int kw = w.kvHeads() * d;
        int inter = w.intermediate();
        float[] xn = new float[n * h];
        float[] q = new float[n * qw];
        float[] k = new float[n * kw];
        float[] v = new float[n * kw];
        float[] ctx = new float[n * qw];
        float[] delta = new float[n * h];
        float[] gate = new float[n * inter];
        float[] up = new float[n * inter];
        float eps = w.eps();
        boolean observed = observer != Observer.NONE;
        for (int li = 0; li < w.layers().length; li++) {
            LlamaWeights.Layer l = w.layers()[li];
            float[][] cs = tables.get(l.rope());
            if (observed) {
                observer.layerInput(li, x);
            }
            rows(n, (r0, r1) -> {
                rmsNorm(x, xn, h, l.inputNorm(), eps, r0, r1);
                kernel.apply(xn, l.q(), bias(l.qBias()), q, h, qw, r0, r1);
                kernel.apply(xn, l.k(), bias(l.kBias()), k, h, kw, r0, r1);
                kernel.apply(xn, l.v(), bias(l.vBias()), v, h, kw, r0, r1);
                for (int r = r0; r < r1; r++) {
                    for (int hd = 0; hd < w.heads(); hd++) {
                        int at = r * qw + hd * d;
                        if (l.qNorm() != null) {
                            normAt(q, q, at, d, l.qNorm(), eps);
                        }
                        rope(q, at, r, cs);
                    }
                    for (int hd = 0; hd < w.kvHeads(); hd++) {
                        int at = r * kw + hd * d;
                        if (l.kNorm() != null) {
                            normAt(k, k, at, d, l.kNorm(), eps);
                        }
                        rope(k, at, r, cs);
                    }
                }
            });
            attention(q, k, v, ctx, n, l.window());
            if (observed) {
                observer.linearInput(li, Observer.Q_PROJ, xn, h);
                observer.linearInput(li, Observer.O_PROJ, ctx, qw);
            }
            rows(n, (r0, r1) -> {
                kernel.apply(ctx, l.o(), bias(l.oBias()), delta, qw, h, r0, r1);
                if (l.attnOutNorm() != null) {
                    rmsNorm(delta, delta, h, l.attnOutNorm(), eps, r0, r1);
                }
                for (int i = r0 * h; i < r1 * h; i++) {
                    x[i] += delta[i];
                }
                rmsNorm(x, xn, h, l.postNorm(), eps, r0, r1);
                kernel.apply(xn, l.gate(), bias(l.gateBias()), gate, h, inter, r0, r1);
                kernel.apply(xn, l.up(), bias(l.upBias()), up, h, inter, r0, r1);
                if (w.activation() == LlamaWeights.Activation.SILU) {
                    for (int i = r0 * inter; i < r1 * inter; i++) {
                        float g = gate[i];
                        gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
                    }
                } else {
                    for (int i = r0 * inter; i < r1 * inter; i++) {
                        gate[i] = geluTanh(gate[i]) * up[i];
                    }
                }
                kernel.apply(gate, l.down(), bias(l.downBias()), delta, inter, h, r0, r1);
                if (l.mlpOutNorm() != null) {
                    rmsNorm(delta, delta, h, l.mlpOutNorm(), eps, r0, r1);
                }
                for (int i = r0 * h; i < r1 * h; i++) {
                    x[i] += delta[i];
                }
            });
            if (observed) {
                // xn still holds the post-attention norm and gate the down projection's input.
                observer.linearInput(li, Observer.GATE_PROJ, xn, h);
                observer.linearInput(li, Observer.DOWN_PROJ, gate, inter);
                observer.layerOutput(li, x);
            }
        }
        return x;
    }

    private float[] bias(float[] b) {
        return b == null ? zeros : b;
    }

    /** {@code out[r] = in[r] / sqrt(mean(in[r]^2) + eps) * g} for rows {@code [r0, r1)} of width {@code width}. */
    private static void rmsNorm(float[] in, float[] out, int width, float[] g, float eps, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            normAt(in, out, r * width, width, g, eps);
        }
    }

    /** RMSNorm of the {@code width} values at {@code at}; {@code in == out} is allowed. */
    private static void normAt(float[] in, float[] out, int at, int width, float[] g, float eps) {
        double ss = 0;
        for (int j = 0; j < width; j++) {
            double v = in[at + j];
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / width + eps));
        for (int j = 0; j < width; j++) {
            out[at + j] = g[j] * (in[at + j] * inv);
        }
    }

    /** {@code {cos, sin}}, each {@code [n, headDim/2]}: angles in double, times the attention factor, rounded to float. */
    private static float[][] ropeTable(Rope rope, int n) {
        int half = rope.invFreq().length;
        float[] c = new float[n * half];
        float[] s = new float[n * half];
        for (int p = 0; p < n; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * rope.invFreq()[i];
                c[p * half + i] = (float) (Math.cos(angle) * rope.attentionFactor());
                s[p * half + i] = (float) (Math.sin(angle) * rope.attentionFactor());
            }
        }
        return new float[][] {c, s};
    }

    /** Rotates the head at {@code at} for position {@code pos}: HF's {@code x * cos + rotate_half(x) * sin}. */
    private void rope(float[] a, int at, int pos, float[][] table) {
        int half = w.headDim() / 2;
        float[] cs = table[0];
        float[] sn = table[1];
        int base = pos * half;
        for (int i = 0; i < half; i++) {
            float c = cs[base + i];
            float s = sn[base + i];
            float x1 = a[at + i];
            float x2 = a[at + half + i];
            a[at + i] = x1 * c - x2 * s;
            a[at + half + i] = x2 * c + x1 * s;
        }
    }

    /** gelu_pytorch_tanh, in double for the transcendental, rounded to float. */
    private static float geluTanh(float x) {
        double v = x;
        return (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
    }

    /**
     * Causal GQA: query head {@code hd} reads kv head {@code hd / (heads / kvHeads)}; with a
     * {@code window} > 0, query {@code i} reads keys {@code j} with {@code i - j < window} only.
     */
    private void attention(float[] q, float[] k, float[] v, float[] ctx, int n, int window) {
        int d = w.headDim();
        int heads = w.heads();
        int group = heads / w.kvHeads();
        int qw = heads * d;
        int kw = w.kvHeads() * d;
        float scale = w.attnScale();
        float cap = w.attnSoftcap();
        int blocks = (n + ROWS_PER_PIECE - 1) / ROWS_PER_PIECE;
        pool.map(heads * blocks, piece -> {
            int hd = piece / blocks;
            int r0 = (piece % blocks) * ROWS_PER_PIECE;
            int r1 = Math.min(n, r0 + ROWS_PER_PIECE);
            int kvOff = (hd / group) * d;
            float[] s = new float[n];
            for (int i = r0; i < r1; i++) {
                int qi = i * qw + hd * d;
                int j0 = window > 0 ? Math.max(0, i - window + 1) : 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = j0; j <= i; j++) {
                    int kj = j * kw + kvOff;
                    float dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += q[qi + c] * k[kj + c];
                    }
                    s[j] = cap > 0 ? (float) (cap * Math.tanh(dot * scale / cap)) : dot * scale;
                    max = Math.max(max, s[j]);
                }
                float sum = 0;
                for (int j = j0; j <= i; j++) {
                    s[j] = (float) Math.exp(s[j] - max);
                    sum += s[j];
                }
                float inv = 1f / sum;
                int ci = i * qw + hd * d;
                for (int c = 0; c < d; c++) {
                    ctx[ci + c] = 0;
                }
                for (int j = j0; j <= i; j++) {
                    float p = s[j] * inv;
                    int vj = j * kw + kvOff;
                    for (int c = 0; c < d; c++) {
                        ctx[ci + c] += p * v[vj + c];
                    }
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
}
