package dev.slimq.runtime.llama;

import dev.slimq.core.checkpoint.Checkpoint;

/**
 * An independent, deliberately obvious Llama forward pass for one window: plain loops, double
 * arithmetic everywhere, weights read by HF name straight from the checkpoint, config read from the
 * raw config.json. It shares no code with {@link LlamaDecoder}; the tests compare the two.
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
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hidden; j++) {
                x[i][j] = emb[ids[i] * hidden + j];
            }
        }
        int group = heads / kvHeads;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            tap.see(l, "in", x);
            double[][] xn = norm(x, t(p + "input_layernorm.weight"));
            tap.see(l, "attn_in", xn);
            double[][] q = linear(xn, p + "self_attn.q_proj");
            double[][] k = linear(xn, p + "self_attn.k_proj");
            double[][] v = linear(xn, p + "self_attn.v_proj");
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < heads; h++) {
                    rotate(q[i], h * headDim, i);
                }
                for (int h = 0; h < kvHeads; h++) {
                    rotate(k[i], h * headDim, i);
                }
            }
            double[][] ctx = new double[n][heads * headDim];
            for (int h = 0; h < heads; h++) {
                int kh = h / group;
                for (int i = 0; i < n; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int c = 0; c < headDim; c++) {
                            dot += q[i][h * headDim + c] * k[j][kh * headDim + c];
                        }
                        s[j] = dot / Math.sqrt(headDim);
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
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    x[i][j] += o[i][j];
                }
            }
            xn = norm(x, t(p + "post_attention_layernorm.weight"));
            tap.see(l, "mlp_in", xn);
            double[][] g = linear(xn, p + "mlp.gate_proj");
            double[][] u = linear(xn, p + "mlp.up_proj");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < g[i].length; j++) {
                    double a = g[i][j];
                    g[i][j] = a / (1 + Math.exp(-a)) * u[i][j];
                }
            }
            tap.see(l, "act", g);
            double[][] down = linear(g, p + "mlp.down_proj");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    x[i][j] += down[i][j];
                }
            }
            tap.see(l, "out", x);
        }
        double[][] xn = norm(x, t("model.norm.weight"));
        double[] head = ck.contains("lm_head.weight") ? t("lm_head.weight") : emb;
        double[][] out = new double[n][vocab];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < vocab; r++) {
                double s = 0;
                for (int j = 0; j < hidden; j++) {
                    s += xn[i][j] * head[r * hidden + j];
                }
                out[i][r] = s;
            }
        }
        return out;
    }

    /** HF rotate-half RoPE on the head starting at {@code at}. */
    private void rotate(double[] a, int at, int pos) {
        int half = headDim / 2;
        double[] r = new double[headDim];
        for (int i = 0; i < headDim; i++) {
            int fi = i % half;
            double angle = pos * Math.pow(theta, -2.0 * fi / headDim);
            double rot = i < half ? -a[at + i + half] : a[at + i - half];
            r[i] = a[at + i] * Math.cos(angle) + rot * Math.sin(angle);
        }
        System.arraycopy(r, 0, a, at, headDim);
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
