package dev.slimq.runtime.llama;

import dev.slimq.core.checkpoint.Checkpoint;

/**
 * An independent, deliberately obvious Llama forward pass for one window: plain loops, double
 * arithmetic everywhere, weights read by HF name straight from the checkpoint, config read from the
 * raw config.json. It shares no code with {@link LlamaDecoder}; the tests compare the two.
 *
 * <p>Families, written from transformers' modeling code: qwen biases (whatever linear has a
 * {@code .bias}), q/k norms (qwen3, gemma3), sliding windows (mistral all layers; qwen2/3 layers at or
 * past {@code max_window_layers} when {@code use_sliding_window}; gemma2 even layers; gemma3 all but
 * every {@code sliding_window_pattern}-th; a query sees keys less than {@code window} positions back),
 * gemma's scaled embedding (the normalizer rounded to bf16 when the table is bf16), {@code (1 + w)}
 * norms, tanh-GELU, gemma2/3 output norms, {@code query_pre_attn_scalar}, soft-capping; rope
 * scaling linear / llama3 / yarn, and gemma3's local base for sliding layers.
 */
final class NaiveLlama {
    private final Checkpoint ck;
    private final int hidden;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int layers;
    private final int vocab;
    private final double eps;
    private final double theta;
    private final String type;
    private final boolean gemma;
    private final boolean gemma23;
    private final com.fasterxml.jackson.databind.JsonNode cfg;

    NaiveLlama(Checkpoint ck) {
        this.ck = ck;
        var cfg = ck.configJson().orElseThrow();
        hidden = cfg.get("hidden_size").asInt();
        heads = cfg.get("num_attention_heads").asInt();
        kvHeads = cfg.path("num_key_value_heads").asInt(heads);
        headDim = cfg.path("head_dim").asInt(hidden / heads);
        layers = cfg.get("num_hidden_layers").asInt();
        vocab = cfg.get("vocab_size").asInt();
        eps = cfg.path("rms_norm_eps").asDouble(1e-6);
        theta = cfg.path("rope_theta").asDouble(10000.0);
        this.cfg = cfg;
        type = cfg.path("model_type").asText();
        gemma = type.startsWith("gemma");
        gemma23 = type.equals("gemma2") || type.equals("gemma3_text");
    }

    /** Whether layer {@code l} slides, and over how many positions (0: full attention). */
    private int window(int l) {
        switch (type) {
            case "mistral":
                return cfg.path("sliding_window").isNumber() ? cfg.get("sliding_window").asInt() : 0;
            case "qwen2":
            case "qwen3":
                return cfg.path("use_sliding_window").asBoolean(false) && l >= cfg.get("max_window_layers").asInt()
                        ? cfg.get("sliding_window").asInt() : 0;
            case "gemma2":
                return l % 2 == 0 ? cfg.get("sliding_window").asInt() : 0;
            case "gemma3_text":
                return (l + 1) % cfg.get("sliding_window_pattern").asInt() == 0 ? 0 : cfg.get("sliding_window").asInt();
            default:
                return 0;
        }
    }

    /** The rotation frequency of pair {@code i} in layer {@code l}, and the cos/sin multiplier. */
    private double[] frequency(int l, int i) {
        double dim = headDim;
        if (type.equals("gemma3_text") && window(l) > 0) {
            return new double[] {Math.pow(cfg.get("rope_local_base_freq").asDouble(), -2.0 * i / dim), 1};
        }
        double f = Math.pow(theta, -2.0 * i / dim);
        var rs = cfg.path("rope_scaling");
        if (!rs.isObject()) {
            return new double[] {f, 1};
        }
        double factor = rs.get("factor").asDouble();
        switch (rs.get("rope_type").asText()) {
            case "linear":
                return new double[] {f / factor, 1};
            case "llama3": {
                double orig = rs.get("original_max_position_embeddings").asDouble();
                double period = 2 * Math.PI / f;
                double lowFreqPeriod = orig / rs.get("low_freq_factor").asDouble();
                double highFreqPeriod = orig / rs.get("high_freq_factor").asDouble();
                if (period < highFreqPeriod) {
                    return new double[] {f, 1};
                }
                if (period > lowFreqPeriod) {
                    return new double[] {f / factor, 1};
                }
                double t = (orig / period - rs.get("low_freq_factor").asDouble())
                        / (rs.get("high_freq_factor").asDouble() - rs.get("low_freq_factor").asDouble());
                return new double[] {t * f + (1 - t) * f / factor, 1};
            }
            case "yarn": {
                double orig = rs.get("original_max_position_embeddings").asDouble();
                // dimension index (in pairs*2 units) at which a frequency completes r rotations in orig positions
                java.util.function.DoubleUnaryOperator dimOf = r -> dim * Math.log(orig / (r * 2 * Math.PI)) / (2 * Math.log(theta));
                double lo = Math.max(0, Math.floor(dimOf.applyAsDouble(rs.path("beta_fast").asDouble(32))));
                double hi = Math.min(dim - 1, Math.ceil(dimOf.applyAsDouble(rs.path("beta_slow").asDouble(1))));
                double ramp = hi == lo ? (i < lo ? 0 : 1) : Math.min(1, Math.max(0, (i - lo) / (hi - lo)));
                double mscale = factor > 1 ? 1 + 0.1 * Math.log(factor) : 1;
                return new double[] {ramp * (f / factor) + (1 - ramp) * f, mscale};
            }
            default:
                throw new IllegalArgumentException("rope_type " + rs.get("rope_type"));
        }
    }

    private double softcap(String key) {
        return cfg.path(key).isNumber() ? cfg.get(key).asDouble() : 0;
    }

    /** An RMSNorm gain as the family applies it. */
    private double[] gain(String name) {
        double[] g = t(name);
        if (gemma) {
            for (int i = 0; i < g.length; i++) {
                g[i] += 1;
            }
        }
        return g;
    }

    int vocab() {
        return vocab;
    }

    private double[] t(String name) {
        var view = ck.map(name);
        double[] a = new double[(int) view.elementCount()];
        for (int i = 0; i < a.length; i++) {
            a[i] = view.getDouble(i);
        }
        view.close();
        return a;
    }

    /** Sees the activations of {@link #logits(int[], Tap)}, each [tokens][width], in double. */
    interface Tap {
        /** {@code what}: "in" (layer input), "attn_in" (q/k/v input), "ctx" (o_proj input), "mlp_in" (gate/up input), "act" (down_proj input), "out". */
        void see(int layer, String what, double[][] a);
    }

    /** Logits of every position, [n][vocab]. */
    double[][] logits(int[] ids) {
        return logits(ids, (l, what, a) -> {
        });
    }

    /** Logits of every position, [n][vocab], showing {@code tap} each layer's activations. */
    double[][] logits(int[] ids, Tap tap) {
        int n = ids.length;
        double[] emb = t("model.embed_tokens.weight");
        double[][] x = new double[n][hidden];
        double scale = 1;
        if (gemma) {
            scale = Math.sqrt(hidden);
            if (ck.tensor("model.embed_tokens.weight").dtype() == dev.slimq.core.tensor.DType.BF16) {
                // torch.tensor(hidden ** 0.5, dtype=bfloat16): keep 8 significant bits, ties to even
                int bits = Float.floatToIntBits((float) scale);
                int lsb = (bits >> 16) & 1;
                scale = Float.intBitsToFloat((bits + 0x7FFF + lsb) & 0xFFFF0000);
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hidden; j++) {
                x[i][j] = emb[ids[i] * hidden + j] * scale;
            }
        }
        int group = heads / kvHeads;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            tap.see(l, "in", x);
            double[][] xn = norm(x, gain(p + "input_layernorm.weight"));
            tap.see(l, "attn_in", xn);
            double[][] q = linear(xn, p + "self_attn.q_proj");
            double[][] k = linear(xn, p + "self_attn.k_proj");
            double[][] v = linear(xn, p + "self_attn.v_proj");
            if (ck.contains(p + "self_attn.q_norm.weight")) {
                double[] qg = gain(p + "self_attn.q_norm.weight");
                double[] kg = gain(p + "self_attn.k_norm.weight");
                for (int i = 0; i < n; i++) {
                    for (int h = 0; h < heads; h++) {
                        headNorm(q[i], h * headDim, qg);
                    }
                    for (int h = 0; h < kvHeads; h++) {
                        headNorm(k[i], h * headDim, kg);
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < heads; h++) {
                    rotate(q[i], h * headDim, i, l);
                }
                for (int h = 0; h < kvHeads; h++) {
                    rotate(k[i], h * headDim, i, l);
                }
            }
            int window = window(l);
            double attnScale = gemma23 ? 1 / Math.sqrt(cfg.get("query_pre_attn_scalar").asDouble()) : 1 / Math.sqrt(headDim);
            double cap = softcap("attn_logit_softcapping");
            double[][] ctx = new double[n][heads * headDim];
            for (int h = 0; h < heads; h++) {
                int kh = h / group;
                for (int i = 0; i < n; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        if (window > 0 && i - j >= window) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int c = 0; c < headDim; c++) {
                            dot += q[i][h * headDim + c] * k[j][kh * headDim + c];
                        }
                        s[j] = dot * attnScale;
                        if (cap > 0) {
                            s[j] = Math.tanh(s[j] / cap) * cap;
                        }
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        z += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int c = 0; c < headDim; c++) {
                            ctx[i][h * headDim + c] += s[j] / z * v[j][kh * headDim + c];
                        }
                    }
                }
            }
            tap.see(l, "ctx", ctx);
            double[][] o = linear(ctx, p + "self_attn.o_proj");
            if (gemma23) {
                o = norm(o, gain(p + "post_attention_layernorm.weight"));
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    x[i][j] += o[i][j];
                }
            }
            xn = norm(x, gain(p + (gemma23 ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")));
            tap.see(l, "mlp_in", xn);
            double[][] g = linear(xn, p + "mlp.gate_proj");
            double[][] u = linear(xn, p + "mlp.up_proj");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < g[i].length; j++) {
                    double a = g[i][j];
                    double act = gemma ? 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)))
                            : a / (1 + Math.exp(-a));
                    g[i][j] = act * u[i][j];
                }
            }
            tap.see(l, "act", g);
            double[][] down = linear(g, p + "mlp.down_proj");
            if (gemma23) {
                down = norm(down, gain(p + "post_feedforward_layernorm.weight"));
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    x[i][j] += down[i][j];
                }
            }
            tap.see(l, "out", x);
        }
        double[][] xn = norm(x, gain("model.norm.weight"));
        double finalCap = softcap("final_logit_softcapping");
        double[] head = ck.contains("lm_head.weight") ? t("lm_head.weight") : emb;
        double[][] out = new double[n][vocab];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < vocab; r++) {
                double s = 0;
                for (int j = 0; j < hidden; j++) {
                    s += xn[i][j] * head[r * hidden + j];
                }
                out[i][r] = finalCap > 0 ? Math.tanh(s / finalCap) * finalCap : s;
            }
        }
        return out;
    }

    /** HF rotate-half RoPE on the head starting at {@code at}, with layer {@code layer}'s frequencies. */
    private void rotate(double[] a, int at, int pos, int layer) {
        int half = headDim / 2;
        double[] r = new double[headDim];
        for (int i = 0; i < headDim; i++) {
            int fi = i % half;
            double[] f = frequency(layer, fi);
            double angle = pos * f[0];
            double rot = i < half ? -a[at + i + half] : a[at + i - half];
            r[i] = (a[at + i] * Math.cos(angle) + rot * Math.sin(angle)) * f[1];
        }
        System.arraycopy(r, 0, a, at, headDim);
    }

    /** RMSNorm of one head in place. */
    private void headNorm(double[] a, int at, double[] g) {
        double ms = 0;
        for (int c = 0; c < headDim; c++) {
            ms += a[at + c] * a[at + c];
        }
        ms /= headDim;
        for (int c = 0; c < headDim; c++) {
            a[at + c] = a[at + c] / Math.sqrt(ms + eps) * g[c];
        }
    }

    private double[][] norm(double[][] x, double[] g) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) {
                ms += v * v;
            }
            ms /= x[i].length;
            y[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = x[i][j] / Math.sqrt(ms + eps) * g[j];
            }
        }
        return y;
    }

    private double[][] linear(double[][] x, String module) {
        double[] w = t(module + ".weight");
        double[] b = ck.contains(module + ".bias") ? t(module + ".bias") : null;
        int in = x[0].length;
        int out = w.length / in;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int j = 0; j < in; j++) {
                    s += x[i][j] * w[o * in + j];
                }
                y[i][o] = s;
            }
        }
        return y;
    }
}
