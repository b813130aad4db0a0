package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The data-free activation-aware unit score ({@code --importance gauss}): FLAP's fluctuation and
 * Wanda's input statistics computed from a Gaussian model of the unit's input instead of from
 * calibration tokens.
 *
 * <p><b>The model.</b> Every MLP and attention block reads the output of a LayerNorm/RMSNorm whose
 * scale γ (and, for LayerNorm, shift β) the checkpoint holds. The normalized activations n have
 * zero mean and unit variance over the channels, so the block input is modelled as independent
 * channels x_c ~ N(β_c, γ_c²) (β = 0 for RMSNorm). A linear row w with bias b then sees
 * z = w·x + b ~ N(w·β + b, Σ_c (w_c γ_c)²): a weight on a channel the norm switches off (γ_c ≈ 0)
 * adds to l2 magnitude but not to the neuron's activity, which is what l1/l2 get wrong.
 * <ul>
 *   <li><b>MLP neuron j</b> (GELU/ReLU/SiLU up, or SwiGLU gate·up, whose gate and up
 *       pre-activations are jointly Gaussian with covariance Σ_c w^g_c w^u_c γ_c²): the moments
 *       E[a_j] and E[a_j²] of its activation by a fixed deterministic quadrature
 *       ({@link #moments}); its contribution to the block output is a_j·W_down[:, j].</li>
 *   <li><b>Attention unit</b> (a BERT head, a KV group): the head's output is a convex combination
 *       (softmax weights) of value vectors v = W_v x + b_v, so its mean is E[v] whatever the
 *       attention pattern, and its second moment is at most E[v²]; per value channel d,
 *       E[v_d²] = (W_v[d]·β + b_d)² + Σ_c (W_v[d, c] γ_c)², fed through the unit's o_proj columns
 *       (every query head of a KV group reads the same values).</li>
 * </ul>
 * The unit's score is the expected energy it adds to the block output, Σ_{c∈unit} E[x_c²]·‖W_out[:, c]‖²
 * (FLAP's {@code input_var · ‖W[:, c]‖²} with the second moment in place of the variance, since
 * without measured means nothing is compensated: folding the modelled means into BERT's output bias
 * was tried and lowered bge-small's embedding cosine from 0.948 to 0.894, the model's means being
 * too far from the real ones, which BERT's outlier channels dominate). Scores are divided
 * by the expected input energy Σ_c (γ_c² + β_c²) of the block, so that they compare across layers
 * as relative updates (the layer proxy {@link PruneService} averages them; cross-channel
 * correlations are ignored, as FLAP ignores them).
 *
 * <p>Which norm feeds which block is the one HF naming convention used here (the layout classifies
 * norms but does not link them to linears): decoders (llama, mistral, qwen2, qwen3)
 * {@code input_layernorm} before attention and {@code post_attention_layernorm} before the MLP;
 * Gemma: {@code input_layernorm} and, before the MLP, {@code post_attention_layernorm} (Gemma 1) or
 * {@code pre_feedforward_layernorm} (Gemma 2/3), whose RMSNorm scales by 1 + w, with the tanh GELU;
 * BERT-family encoders (post-norm) {@code attention.output.LayerNorm} before the MLP and the previous
 * layer's {@code output.LayerNorm} (layer 0: {@code embeddings.LayerNorm}) before attention. Other
 * architectures are refused with a pointer to {@code l2}.
 *
 * <p>Everything is computed in double, each unit in a fixed order, groups in parallel but each by
 * one thread, so the scores do not depend on the thread count.
 */
final class GaussianContribution {
    private GaussianContribution() {
    }

    /** The activations whose Gaussian moments are modelled. */
    enum Activation {
        /** HF {@code "gelu"}: x Φ(x). */
        GELU,
        /** HF {@code "gelu_new"}, {@code "gelu_pytorch_tanh"}: the tanh approximation. */
        GELU_TANH,
        RELU,
        /** SiLU / swish: x σ(x). */
        SILU;

        double apply(double x) {
            return switch (this) {
                case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
                case GELU_TANH -> 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
                case RELU -> Math.max(0, x);
                case SILU -> x / (1 + Math.exp(-x));
            };
        }

        static Activation fromConfig(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "gelu" -> GELU;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "relu" -> RELU;
                case "silu", "swish" -> SILU;
                default -> throw new SlimqException(Failure.UNSUPPORTED, "--importance gauss models gelu, gelu_new, gelu_pytorch_tanh,"
                        + " relu and silu MLPs; this config's hidden_act is '" + name + "' (use --importance l2)");
            };
        }
    }

    /**
     * Quadrature nodes and weights for E[f(Z)], Z ~ N(0, 1): composite Simpson on [−{@value #SPAN},
     * {@value #SPAN}] with {@value #INTERVALS} intervals, weights times the normal density. The
     * activations here are smooth (ReLU has one kink, costing O(h²) there), and the tails beyond 10σ
     * weigh below 1e-22; fixed nodes keep the result exact-repeatable.
     */
    static final double SPAN = 10;
    static final int INTERVALS = 800;
    private static final double[] NODE = new double[INTERVALS + 1];
    private static final double[] WEIGHT = new double[INTERVALS + 1];

    static {
        double h = 2 * SPAN / INTERVALS;
        for (int i = 0; i <= INTERVALS; i++) {
            double t = -SPAN + i * h;
            double simpson = i == 0 || i == INTERVALS ? 1 : (i % 2 == 1 ? 4 : 2);
            NODE[i] = t;
            WEIGHT[i] = simpson * h / 3 * Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
        }
    }

    /** {E[a(z)], E[a(z)²]} for z ~ N(mu, sigma²). */
    static double[] moments(Activation act, double mu, double sigma) {
        if (sigma == 0) {
            double a = act.apply(mu);
            return new double[] {a, a * a};
        }
        double m1 = 0;
        double m2 = 0;
        for (int i = 0; i < NODE.length; i++) {
            double a = act.apply(mu + sigma * NODE[i]);
            m1 += WEIGHT[i] * a;
            m2 += WEIGHT[i] * a * a;
        }
        return new double[] {m1, m2};
    }

    /**
     * {E[a], E[a²]} of a gated unit a = act(g)·u with (g, u) jointly Gaussian: means muG, muU,
     * standard deviations sigmaG, sigmaU, covariance cov. Conditioned on g, u is Gaussian with mean
     * muU + cov/sigmaG²·(g − muG) and variance sigmaU² − cov²/sigmaG², so both moments are one
     * quadrature over g.
     */
    static double[] gatedMoments(Activation act, double muG, double sigmaG, double muU, double sigmaU, double cov) {
        if (sigmaG == 0) {
            double a = act.apply(muG);
            return new double[] {a * muU, a * a * (muU * muU + sigmaU * sigmaU)};
        }
        double slope = cov / (sigmaG * sigmaG);
        double condVar = Math.max(0, sigmaU * sigmaU - slope * cov);
        double m1 = 0;
        double m2 = 0;
        for (int i = 0; i < NODE.length; i++) {
            double g = muG + sigmaG * NODE[i];
            double a = act.apply(g);
            double mean = muU + slope * sigmaG * NODE[i];
            m1 += WEIGHT[i] * a * mean;
            m2 += WEIGHT[i] * a * a * (mean * mean + condVar);
        }
        return new double[] {m1, m2};
    }

    /**
     * The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7; the same
     * approximation the BERT runtime evaluates GELU with). Java's Math has no erf.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        double t = 1.0 / (1.0 + 0.3275911 * ax);
        double y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
                * Math.exp(-ax * ax);
        return x < 0 ? -y : y;
    }

    /**
     * Per group, per input column of the consuming linear (an MLP neuron, or one o_proj column of an
     * attention unit): the modelled second moment of that input and the squared column norm.
     *
     * @param second E[x_c²]
     * @param colSq ‖W_out[:, c]‖²
     * @param inputEnergy Σ_c (γ_c² + β_c²) of the norm that feeds the block
     */
    record Model(double[] second, double[] colSq, double inputEnergy) {
        /** The unit scores: Σ over the unit's columns of the second moment × column norm², over the input energy. */
        double[] scores(UnitGroup g) {
            UnitGroup.Member m = Importance.consumer(g);
            double[] s = new double[g.count()];
            for (int u = 0; u < s.length; u++) {
                double acc = 0;
                for (int c = (int) (u * m.span()); c < (u + 1) * m.span(); c++) {
                    acc += second[c] * colSq[c];
                }
                s[u] = inputEnergy > 0 ? acc / inputEnergy : acc;
            }
            return s;
        }
    }

    /** The unit scores of every group (result i belongs to group i). */
    static List<double[]> scores(Checkpoint ckpt, List<UnitGroup> groups, WorkPool pool) {
        List<Model> models = models(ckpt, groups, pool);
        List<double[]> out = new java.util.ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            out.add(models.get(i).scores(groups.get(i)));
        }
        return out;
    }

    /** The model of every group, computed in parallel (one group per task). */
    private static List<Model> models(Checkpoint ckpt, List<UnitGroup> groups, WorkPool pool) {
        ModelLayout layout = ckpt.layout();
        Map<LinearRole, String>[] linears = linearsByLayer(layout);
        boolean encoder = layout.architecture().family() == Architecture.Family.ENCODER;
        checkArchitecture(layout.architecture());
        Architecture arch = layout.architecture();
        boolean gemma = arch == Architecture.GEMMA || arch == Architecture.GEMMA2 || arch == Architecture.GEMMA3;
        // transformers runs every Gemma MLP with the tanh GELU whatever hidden_act says
        Activation act = gemma ? Activation.GELU_TANH
                : Activation.fromConfig(layout.config().orElseThrow().raw().path("hidden_act").asText(encoder ? "gelu" : "silu"));
        return pool.map(groups.size(), i -> {
            UnitGroup g = groups.get(i);
            Map<LinearRole, String> p = linears[g.layer()];
            return g.kind() == UnitKind.MLP_NEURON ? mlp(ckpt, layout, g, p, encoder, act) : attention(ckpt, layout, g, p, encoder);
        });
    }

    private static void checkArchitecture(Architecture a) {
        switch (a) {
            case LLAMA, MISTRAL, QWEN2, QWEN3, GEMMA, GEMMA2, GEMMA3, BERT, ROBERTA, XLM_ROBERTA -> {
            }
            default -> throw new SlimqException(Failure.UNSUPPORTED, "--importance gauss knows the norm layout of llama, mistral, qwen2,"
                    + " qwen3, gemma and bert-family checkpoints, not " + a.modelType() + " (use --importance l2)");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<LinearRole, String>[] linearsByLayer(ModelLayout layout) {
        Map<LinearRole, String>[] out = new Map[layout.numLayers()];
        for (int l = 0; l < out.length; l++) {
            out[l] = new HashMap<>();
        }
        for (TensorInfo t : layout.tensors()) {
            TensorRole r = layout.role(t.name());
            if (r.isLinear() && r.layer().isPresent()) {
                out[r.layer().getAsInt()].put(r.linear().orElseThrow(), t.name());
            }
        }
        return out;
    }

    /** γ and β (zeros for RMSNorm) of the norm whose output the linear {@code reader} of this layer reads. */
    private static double[][] norm(Checkpoint ckpt, ModelLayout layout, String reader, int layer, boolean encoder, boolean mlp, long hidden) {
        String gamma;
        Architecture arch = layout.architecture();
        boolean gemma = arch == Architecture.GEMMA || arch == Architecture.GEMMA2 || arch == Architecture.GEMMA3;
        if (!encoder) {
            String mlpNorm = arch == Architecture.GEMMA2 || arch == Architecture.GEMMA3 ? "pre_feedforward_layernorm.weight"
                    : "post_attention_layernorm.weight";
            gamma = replaceModule(reader, mlp ? "mlp.gate_proj.weight" : "self_attn.q_proj.weight", mlp ? mlpNorm : "input_layernorm.weight");
        } else if (mlp) {
            gamma = replaceModule(reader, "intermediate.dense.weight", "attention.output.LayerNorm.weight");
        } else if (layer > 0) {
            gamma = PruneService.renumber(replaceModule(reader, "attention.self.query.weight", "output.LayerNorm.weight"), layer, layer - 1);
        } else {
            gamma = layout.tensors().stream().map(TensorInfo::name).filter(n -> n.endsWith("embeddings.LayerNorm.weight")).findFirst()
                    .orElseThrow(() -> new SlimqException(Failure.UNSUPPORTED, "--importance gauss: no embeddings.LayerNorm.weight found"
                            + " to model layer 0's attention input (use --importance l2)"));
        }
        double[] g = vector(ckpt, layout, gamma, hidden);
        if (gemma) {
            for (int c = 0; c < g.length; c++) {
                g[c] += 1;
            }
        }
        String betaName = gamma.substring(0, gamma.length() - "weight".length()) + "bias";
        double[] b = encoder ? vector(ckpt, layout, betaName, hidden) : new double[(int) hidden];
        return new double[][] {g, b};
    }

    private static String replaceModule(String name, String suffix, String replacement) {
        if (!name.endsWith(suffix)) {
            throw new SlimqException(Failure.UNSUPPORTED, "--importance gauss: " + name + " does not end in " + suffix
                    + ", so the norm feeding it cannot be found (use --importance l2)");
        }
        return name.substring(0, name.length() - suffix.length()) + replacement;
    }

    private static double[] vector(Checkpoint ckpt, ModelLayout layout, String name, long n) {
        TensorInfo t;
        try {
            t = layout.tensor(name);
        } catch (RuntimeException e) {
            t = null;
        }
        if (t == null || layout.role(name).kind() != TensorRole.Kind.NORM && layout.role(name).kind() != TensorRole.Kind.BIAS
                || t.rank() != 1 || t.dim(0) != n || !t.dtype().isFloat() || t.dtype().isSubByte()) {
            throw new SlimqException(Failure.UNSUPPORTED, "--importance gauss needs the norm tensor " + name + " of " + n
                    + " float entries to model the block input (use --importance l2)");
        }
        float[] f = new float[(int) n];
        try (TensorView v = ckpt.map(name)) {
            v.readFloats(0, f, 0, f.length);
        }
        double[] d = new double[f.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double energy(double[][] norm) {
        double e = 0;
        for (int c = 0; c < norm[0].length; c++) {
            e += norm[0][c] * norm[0][c] + norm[1][c] * norm[1][c];
        }
        return e;
    }

    /** Mean and standard deviation of w·x + b for every row of a [rows, hidden] weight. */
    private static double[][] rowStats(Checkpoint ckpt, String weight, String bias, int rows, double[][] norm) {
        int hidden = norm[0].length;
        double[] mu = new double[rows];
        double[] sd = new double[rows];
        float[] b = new float[rows];
        if (bias != null) {
            try (TensorView v = ckpt.map(bias)) {
                v.readFloats(0, b, 0, rows);
            }
        }
        float[] row = new float[hidden];
        try (TensorView v = ckpt.map(weight)) {
            for (int r = 0; r < rows; r++) {
                v.readFloats((long) r * hidden, row, 0, hidden);
                double m = b[r];
                double var = 0;
                for (int c = 0; c < hidden; c++) {
                    m += row[c] * norm[1][c];
                    double s = row[c] * norm[0][c];
                    var += s * s;
                }
                mu[r] = m;
                sd[r] = Math.sqrt(var);
            }
        }
        return new double[][] {mu, sd};
    }

    private static Map<String, String> biases(ModelLayout layout) {
        Map<String, String> out = new HashMap<>();
        for (TensorInfo t : layout.tensors()) {
            TensorRole r = layout.role(t.name());
            if (r.kind() == TensorRole.Kind.BIAS && r.ownerWeight().isPresent()) {
                out.put(r.ownerWeight().get(), t.name());
            }
        }
        return out;
    }

    private static Model mlp(Checkpoint ckpt, ModelLayout layout, UnitGroup g, Map<LinearRole, String> p, boolean encoder, Activation act) {
        UnitGroup.Member out = Importance.consumer(g);
        int n = g.count();
        long hidden = out.otherDim();
        Map<String, String> bias = biases(layout);
        double[] second = new double[n];
        double[][] norm;
        if (encoder) {
            String up = p.get(LinearRole.BERT_INTERMEDIATE);
            norm = norm(ckpt, layout, up, g.layer(), true, true, hidden);
            double[][] z = rowStats(ckpt, up, bias.get(up), n, norm);
            for (int j = 0; j < n; j++) {
                double[] m = moments(act, z[0][j], z[1][j]);
                second[j] = m[1];
            }
        } else {
            String gate = p.get(LinearRole.GATE);
            String up = p.get(LinearRole.UP);
            norm = norm(ckpt, layout, gate, g.layer(), false, true, hidden);
            double[][] z = pairStats(ckpt, gate, bias.get(gate), up, bias.get(up), n, norm);
            for (int j = 0; j < n; j++) {
                double[] m = gatedMoments(act, z[0][j], z[1][j], z[2][j], z[3][j], z[4][j]);
                second[j] = m[1];
            }
        }
        return new Model(second, Importance.columnSquares(ckpt, out.tensor(), n, hidden), energy(norm));
    }

    /**
     * For the gate and up rows of every neuron, in one pass over both weights: the means and
     * standard deviations of both pre-activations and their covariance Σ_c g_c·u_c·γ_c².
     */
    private static double[][] pairStats(Checkpoint ckpt, String gate, String gateBias, String up, String upBias, int rows, double[][] norm) {
        int hidden = norm[0].length;
        double[][] z = new double[5][rows];
        float[] bg = new float[rows];
        float[] bu = new float[rows];
        if (gateBias != null) {
            try (TensorView v = ckpt.map(gateBias)) {
                v.readFloats(0, bg, 0, rows);
            }
        }
        if (upBias != null) {
            try (TensorView v = ckpt.map(upBias)) {
                v.readFloats(0, bu, 0, rows);
            }
        }
        float[] rg = new float[hidden];
        float[] ru = new float[hidden];
        try (TensorView vg = ckpt.map(gate); TensorView vu = ckpt.map(up)) {
            for (int r = 0; r < rows; r++) {
                vg.readFloats((long) r * hidden, rg, 0, hidden);
                vu.readFloats((long) r * hidden, ru, 0, hidden);
                double mg = bg[r];
                double mu = bu[r];
                double vgs = 0;
                double vus = 0;
                double cov = 0;
                for (int c = 0; c < hidden; c++) {
                    mg += rg[c] * norm[1][c];
                    mu += ru[c] * norm[1][c];
                    double sg = rg[c] * norm[0][c];
                    double su = ru[c] * norm[0][c];
                    vgs += sg * sg;
                    vus += su * su;
                    cov += sg * su;
                }
                z[0][r] = mg;
                z[1][r] = Math.sqrt(vgs);
                z[2][r] = mu;
                z[3][r] = Math.sqrt(vus);
                z[4][r] = cov;
            }
        }
        return z;
    }

    private static Model attention(Checkpoint ckpt, ModelLayout layout, UnitGroup g, Map<LinearRole, String> p, boolean encoder) {
        UnitGroup.Member out = Importance.consumer(g);
        long hidden = out.otherDim();
        String q = p.get(encoder ? LinearRole.BERT_QUERY : LinearRole.Q);
        String v = p.get(encoder ? LinearRole.BERT_VALUE : LinearRole.V);
        double[][] norm = norm(ckpt, layout, q, g.layer(), encoder, false, hidden);
        TensorInfo vt = layout.tensor(v);
        int valueRows = Math.toIntExact(vt.dim(0));
        int headDim = valueRows / g.count();
        double[][] z = rowStats(ckpt, v, biases(layout).get(v), valueRows, norm);
        int cols = Math.toIntExact(out.span() * g.count());
        double[] second = new double[cols];
        for (int c = 0; c < cols; c++) {
            // o_proj column c belongs to unit c / span; within it, query head (c % span) / headDim reads value channel c % headDim
            int unit = (int) (c / out.span());
            int d = unit * headDim + (int) (c % out.span()) % headDim;
            second[c] = z[0][d] * z[0][d] + z[1][d] * z[1][d];
        }
        return new Model(second, Importance.columnSquares(ckpt, out.tensor(), cols, hidden), energy(norm));
    }
}
