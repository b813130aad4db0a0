package dev.slimq.runtime.calibrate;

import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.llama.LlamaDecoder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Accumulates the statistics file's numbers over the batches of a calibration run, as a
 * {@link BertEncoder.Observer} or a {@link LlamaDecoder.Observer} (the two see the same three
 * events; only the module names differ, see {@link #ENCODER_MODULES} and {@link #DECODER_MODULES}).
 *
 * <p>Only non-padding tokens (attention mask 1) count: padding rows are computed by the encoder but
 * mean nothing; a decoder window has no padding. Sums are kept in double and updated token by token in row order (texts in order,
 * tokens in order), on the caller's thread, so the result is the same bits for any thread count of
 * the forward pass and for any split of the texts into batches. The cost is a few flops per
 * activation, negligible next to the matrix products that make them.
 *
 * <p>Per linear input channel {@code c} over the {@code N} tokens: {@code input_mean = Σx/N},
 * {@code input_sqmean = Σx²/N}, {@code input_var = input_sqmean − input_mean²} (the population
 * variance, clamped at 0; in double the cancellation costs nothing visible at float precision),
 * {@code input_absmean = Σ|x|/N}, {@code input_absmax = max|x|}. Per layer: {@code cos_in_out} is the
 * mean over tokens of the cosine between the token's hidden state entering and leaving the layer
 * (Adapt-Pruner / ShortGPT-style layer redundancy: near 1 means the layer changes little).
 */
public final class ActivationStats implements BertEncoder.Observer, LlamaDecoder.Observer {
    /**
     * The linears described for a BERT layer, in the file's order: HF module paths inside the layer.
     * Key and value share the query's input, so {@code attention.self.query} stands for all three.
     */
    public static final List<String> ENCODER_MODULES = List.of(BertEncoder.Observer.QUERY, BertEncoder.Observer.ATTENTION_OUTPUT,
            BertEncoder.Observer.INTERMEDIATE, BertEncoder.Observer.OUTPUT);
    /**
     * The linears described for a Llama-family layer, in the file's order. k_proj and v_proj share
     * q_proj's input and up_proj shares gate_proj's, so each shared input is written once, under the
     * first linear's name (as for BERT).
     */
    public static final List<String> DECODER_MODULES = List.of(LlamaDecoder.Observer.Q_PROJ, LlamaDecoder.Observer.O_PROJ,
            LlamaDecoder.Observer.GATE_PROJ, LlamaDecoder.Observer.DOWN_PROJ);

    private final List<String> modules;
    private final int layers;
    private final int hidden;
    /** Per layer, per module: {sum, sum of squares, sum of |x|} then max |x|, each [width]. */
    private final Map<String, double[][]>[] sums;
    private final double[] cosSum;
    private long tokens;
    /** The current batch's non-padding rows; null outside {@link #observe}. */
    private boolean[] valid;
    private float[] layerIn;

    /** Statistics of a BERT-family encoder ({@link #ENCODER_MODULES}). */
    public ActivationStats(int layers, int hidden) {
        this(ENCODER_MODULES, layers, hidden);
    }

    /** Statistics of the given modules (each must be observed in every layer). */
    @SuppressWarnings("unchecked")
    public ActivationStats(List<String> modules, int layers, int hidden) {
        this.modules = List.copyOf(modules);
        this.layers = layers;
        this.hidden = hidden;
        this.sums = new Map[layers];
        for (int i = 0; i < layers; i++) {
            sums[i] = new LinkedHashMap<>();
        }
        this.cosSum = new double[layers];
    }

    /**
     * Runs {@code encoder} over {@code batch}, adding its non-padding tokens to the statistics.
     *
     * @return the batch's final hidden states, as {@link BertEncoder#hiddenStates(List)} gives them
     */
    public float[] observe(BertEncoder encoder, List<Encoding> batch) {
        int n = 0;
        for (Encoding e : batch) {
            n += e.size();
        }
        boolean[] v = new boolean[n];
        int r = 0;
        for (Encoding e : batch) {
            for (int i = 0; i < e.size(); i++) {
                v[r++] = e.attentionMask()[i] != 0;
            }
        }
        valid = v;
        float[] out;
        try {
            out = encoder.hiddenStates(batch, this);
        } finally {
            valid = null;
            layerIn = null;
        }
        for (boolean b : v) {
            if (b) {
                tokens++;
            }
        }
        return out;
    }

    /**
     * Runs {@code decoder} over one window of {@code tokens} (positions 0..n-1), adding every token to
     * the statistics.
     *
     * @return the window's residual stream after the last layer, as {@link LlamaDecoder#hiddenStates} gives it
     */
    public float[] observe(LlamaDecoder decoder, int[] tokens) {
        boolean[] v = new boolean[tokens.length];
        java.util.Arrays.fill(v, true);
        valid = v;
        float[] out;
        try {
            out = decoder.hiddenStates(tokens, this);
        } finally {
            valid = null;
            layerIn = null;
        }
        this.tokens += tokens.length;
        return out;
    }

    /** Non-padding tokens seen so far. */
    public long tokens() {
        return tokens;
    }

    @Override
    public void layerInput(int layer, float[] x) {
        layerIn = x.clone();
    }

    @Override
    public void linearInput(int layer, String module, float[] input, int width) {
        double[][] s = sums[layer].computeIfAbsent(module, m -> new double[4][width]);
        double[] sum = s[0];
        double[] sq = s[1];
        double[] abs = s[2];
        double[] max = s[3];
        for (int r = 0; r < valid.length; r++) {
            if (!valid[r]) {
                continue;
            }
            int at = r * width;
            for (int c = 0; c < width; c++) {
                double x = input[at + c];
                sum[c] += x;
                sq[c] += x * x;
                double a = Math.abs(x);
                abs[c] += a;
                if (a > max[c]) {
                    max[c] = a;
                }
            }
        }
    }

    @Override
    public void layerOutput(int layer, float[] x) {
        double total = 0;
        for (int r = 0; r < valid.length; r++) {
            if (!valid[r]) {
                continue;
            }
            int at = r * hidden;
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int c = 0; c < hidden; c++) {
                double a = layerIn[at + c];
                double b = x[at + c];
                dot += a * b;
                na += a * a;
                nb += b * b;
            }
            double den = Math.sqrt(na) * Math.sqrt(nb);
            total += den == 0 ? 0 : Math.max(-1, Math.min(1, dot / den));
        }
        cosSum[layer] += total;
        layerIn = null;
    }

    /** Per layer, the mean input/output cosine. */
    public double[] cosInOut() {
        double[] out = new double[layers];
        for (int i = 0; i < layers; i++) {
            out[i] = tokens == 0 ? 0 : cosSum[i] / tokens;
        }
        return out;
    }

    /**
     * The statistics file's tensors by name, in file order ({@code layers.{i}.cos_in_out} as a
     * one-element array for a scalar, then per module {@code input_mean, input_var, input_sqmean,
     * input_absmean, input_absmax}).
     */
    public SequencedMap<String, float[]> tensors() {
        if (tokens == 0) {
            throw new IllegalStateException("no tokens observed");
        }
        SequencedMap<String, float[]> out = new LinkedHashMap<>();
        double[] cos = cosInOut();
        for (int i = 0; i < layers; i++) {
            out.put("layers." + i + ".cos_in_out", new float[] {(float) cos[i]});
            for (String m : modules) {
                double[][] s = sums[i].get(m);
                if (s == null) {
                    throw new IllegalStateException("layer " + i + " module " + m + " was not observed");
                }
                int width = s[0].length;
                float[] mean = new float[width];
                float[] var = new float[width];
                float[] sq = new float[width];
                float[] abs = new float[width];
                float[] max = new float[width];
                for (int c = 0; c < width; c++) {
                    double mu = s[0][c] / tokens;
                    double ms = s[1][c] / tokens;
                    mean[c] = (float) mu;
                    sq[c] = (float) ms;
                    var[c] = (float) Math.max(0, ms - mu * mu);
                    abs[c] = (float) (s[2][c] / tokens);
                    max[c] = (float) s[3][c];
                }
                String p = "layers." + i + "." + m + ".";
                out.put(p + "input_mean", mean);
                out.put(p + "input_var", var);
                out.put(p + "input_sqmean", sq);
                out.put(p + "input_absmean", abs);
                out.put(p + "input_absmax", max);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "ActivationStats[layers=" + layers + ", tokens=" + tokens + ", cos=" + Arrays.toString(cosInOut()) + "]";
    }
}
