package dev.slimq.runtime.bert;

import dev.slimq.core.checkpoint.Checkpoint;

/**
 * An independent, deliberately obvious BERT forward pass for one sentence: plain loops, double
 * accumulation everywhere, weights read by HF name straight from the checkpoint, erf by its power
 * series. It shares no code with {@link BertEncoder}; the tests compare the two.
 */
final class NaiveBert {
    private final Checkpoint ck;
    private final int hidden;
    private final int heads;
    private final int layers;
    private final double eps;

    NaiveBert(Checkpoint ck) {
        this.ck = ck;
        var cfg = ck.configJson().orElseThrow();
        hidden = cfg.get("hidden_size").asInt();
        heads = cfg.get("num_attention_heads").asInt();
        layers = cfg.get("num_hidden_layers").asInt();
        eps = cfg.get("layer_norm_eps").asDouble();
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

    /** The final hidden states of one sequence, [len][hidden]. */
    double[][] forward(int[] ids, int[] types) {
        int n = ids.length;
        double[] word = t("embeddings.word_embeddings.weight");
        double[] pos = t("embeddings.position_embeddings.weight");
        double[] typ = t("embeddings.token_type_embeddings.weight");
        double[][] x = new double[n][hidden];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hidden; j++) {
                x[i][j] = word[ids[i] * hidden + j] + pos[i * hidden + j] + typ[types[i] * hidden + j];
            }
            x[i] = norm(x[i], "embeddings.LayerNorm");
        }
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            double[][] q = linear(x, p + "attention.self.query");
            double[][] k = linear(x, p + "attention.self.key");
            double[][] v = linear(x, p + "attention.self.value");
            int d = hidden / heads;
            double[][] ctx = new double[n][hidden];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        for (int c = 0; c < d; c++) {
                            s[j] += q[i][h * d + c] * k[j][h * d + c];
                        }
                        s[j] /= Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - max);
                        z += s[j];
                    }
                    for (int j = 0; j < n; j++) {
                        for (int c = 0; c < d; c++) {
                            ctx[i][h * d + c] += s[j] / z * v[j][h * d + c];
                        }
                    }
                }
            }
            double[][] a = linear(ctx, p + "attention.output.dense");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    a[i][j] += x[i][j];
                }
                x[i] = norm(a[i], p + "attention.output.LayerNorm");
            }
            double[][] m = linear(x, p + "intermediate.dense");
            for (double[] row : m) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 0.5 * row[j] * (1 + erf(row[j] / Math.sqrt(2)));
                }
            }
            double[][] o = linear(m, p + "output.dense");
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hidden; j++) {
                    o[i][j] += x[i][j];
                }
                x[i] = norm(o[i], p + "output.LayerNorm");
            }
        }
        return x;
    }

    /** Mean over all tokens then L2 normalization (the sequence has no padding). */
    static double[] meanPooled(double[][] states) {
        double[] e = new double[states[0].length];
        for (double[] row : states) {
            for (int j = 0; j < e.length; j++) {
                e[j] += row[j] / states.length;
            }
        }
        double norm = 0;
        for (double v : e) {
            norm += v * v;
        }
        for (int j = 0; j < e.length; j++) {
            e[j] /= Math.sqrt(norm);
        }
        return e;
    }

    private double[][] linear(double[][] x, String name) {
        double[] w = t(name + ".weight");
        double[] b = t(name + ".bias");
        int out = b.length;
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r][i] * w[o * in + i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private double[] norm(double[] v, String name) {
        double[] g = t(name + ".weight");
        double[] b = t(name + ".bias");
        double mean = 0;
        for (double a : v) {
            mean += a / v.length;
        }
        double var = 0;
        for (double a : v) {
            var += (a - mean) * (a - mean) / v.length;
        }
        double[] out = new double[v.length];
        for (int j = 0; j < v.length; j++) {
            out[j] = (v[j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
        }
        return out;
    }

    /** erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)): every term positive, so no cancellation. */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax > 6) {
            return Math.signum(x);
        }
        double term = ax;
        double sum = ax;
        for (int n = 1; n < 200; n++) {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum;
        return x < 0 ? -r : r;
    }
}
