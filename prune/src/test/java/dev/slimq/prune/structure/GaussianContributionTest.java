package dev.slimq.prune.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.prune.structure.GaussianContribution.Activation;
import dev.slimq.testdata.CheckpointEdit;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --importance gauss}: the Gaussian moments against closed forms and high-resolution sums
 * written here, and hand-built models where the unit to drop is known.
 */
class GaussianContributionTest {
    @TempDir
    Path tmp;

    /** erf by its everywhere-positive power series, independent of the code under test's rational approximation. */
    static double erf(double x) {
        if (Math.abs(x) > 6) {
            return Math.signum(x); // erfc(6) < 3e-17
        }
        double sum = 0;
        double term = x;
        for (int n = 0; n < 400; n++) {
            sum += term;
            term *= 2 * x * x / (2 * n + 3);
            if (Math.abs(term) < 1e-18 * Math.abs(sum)) {
                break;
            }
        }
        return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
    }

    static double cdf(double x) {
        return 0.5 * (1 + erf(x / Math.sqrt(2)));
    }

    static double pdf(double x) {
        return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    }

    static double gelu(double x) {
        return x * cdf(x);
    }

    static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    /** E[f(z)^power], z ~ N(mu, sigma²), by a midpoint sum of 200 000 cells over mu ± 12 sigma. */
    static double expect(DoubleUnaryOperator f, int power, double mu, double sigma) {
        int n = 200_000;
        double lo = -12;
        double h = 24.0 / n;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            double t = lo + (i + 0.5) * h;
            acc += Math.pow(f.applyAsDouble(mu + sigma * t), power) * pdf(t) * h;
        }
        return acc;
    }

    private static final double[][] CASES = {{0, 1}, {-2, 0.5}, {0.7, 2.5}, {3, 0.1}, {-0.3, 4}, {1.5, 1e-3}};

    @Test
    void geluMomentsMatchClosedFormAndNumericIntegration() {
        for (double[] c : CASES) {
            double mu = c[0];
            double s = c[1];
            double[] m = GaussianContribution.moments(Activation.GELU, mu, s);
            // E[z Φ(z)] = μ Φ(μ/r) + σ²/r φ(μ/r), r = √(1 + σ²)
            double r = Math.sqrt(1 + s * s);
            double mean = mu * cdf(mu / r) + s * s / r * pdf(mu / r);
            // the code's erf approximation errs by 1.5e-7, times |z|/2
            double tol = 2e-7 * (1 + Math.abs(mu) + 6 * s);
            assertEquals(mean, m[0], tol, "mean " + mu + " " + s);
            double second = expect(GaussianContributionTest::gelu, 2, mu, s);
            assertEquals(second, m[1], tol * (1 + Math.abs(mu) + 6 * s), "second " + mu + " " + s);
        }
    }

    @Test
    void reluMomentsMatchClosedForms() {
        for (double[] c : CASES) {
            double mu = c[0];
            double s = c[1];
            double[] m = GaussianContribution.moments(Activation.RELU, mu, s);
            double a = mu / s;
            // E[max(0, z)] = μΦ(a) + σφ(a); E[max(0, z)²] = (μ² + σ²)Φ(a) + μσφ(a)
            double mean = mu * cdf(a) + s * pdf(a);
            double second = (mu * mu + s * s) * cdf(a) + mu * s * pdf(a);
            // Simpson's rule loses its order at the kink: error about h²·σ with h = 0.025
            assertEquals(mean, m[0], 1e-4 * s, "mean " + mu + " " + s);
            assertEquals(second, m[1], 1e-4 * s * (s + Math.abs(mu)), "second " + mu + " " + s);
        }
    }

    @Test
    void siluAndTanhGeluMomentsMatchNumericIntegration() {
        for (double[] c : CASES) {
            double mu = c[0];
            double s = c[1];
            double[] m = GaussianContribution.moments(Activation.SILU, mu, s);
            assertEquals(expect(GaussianContributionTest::silu, 1, mu, s), m[0], 1e-9 * (1 + Math.abs(mu) + s));
            assertEquals(expect(GaussianContributionTest::silu, 2, mu, s), m[1], 1e-9 * (1 + mu * mu + s * s));
            DoubleUnaryOperator tanhGelu = x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            double[] t = GaussianContribution.moments(Activation.GELU_TANH, mu, s);
            assertEquals(expect(tanhGelu, 2, mu, s), t[1], 1e-9 * (1 + mu * mu + s * s));
        }
        // a constant input: the activation's value and its square
        assertArrayEquals(new double[] {silu(1.5), silu(1.5) * silu(1.5)}, GaussianContribution.moments(Activation.SILU, 1.5, 0), 1e-15);
    }

    @Test
    void gatedMomentsMatchATwoDimensionalSum() {
        // (g, u) = (μg + σg z1, μu + (c/σg) z1 + √(σu² − c²/σg²) z2), z1, z2 independent standard normals
        double[][] cases = {{0.3, 1.2, -0.4, 0.8, 0.5}, {-1, 0.5, 0.2, 1.5, -0.3}, {0, 2, 0, 1, 0}, {0.5, 1, 1, 1, 0.99}};
        for (double[] c : cases) {
            double muG = c[0];
            double sG = c[1];
            double muU = c[2];
            double sU = c[3];
            double cov = c[4];
            double[] m = GaussianContribution.gatedMoments(Activation.SILU, muG, sG, muU, sU, cov);
            int n = 3000;
            double h = 18.0 / n;
            double m1 = 0;
            double m2 = 0;
            double b = cov / sG;
            double e = Math.sqrt(sU * sU - b * b);
            for (int i = 0; i < n; i++) {
                double z1 = -9 + (i + 0.5) * h;
                double a = silu(muG + sG * z1);
                double w1 = pdf(z1) * h;
                for (int j = 0; j < n; j++) {
                    double z2 = -9 + (j + 0.5) * h;
                    double v = a * (muU + b * z1 + e * z2);
                    double w = w1 * pdf(z2) * h;
                    m1 += w * v;
                    m2 += w * v * v;
                }
            }
            assertEquals(m1, m[0], 1e-8, "E[a] for " + java.util.Arrays.toString(c));
            assertEquals(m2, m[1], 1e-8 * (1 + m2), "E[a²] for " + java.util.Arrays.toString(c));
        }
    }

    @Test
    void activationNamesFollowTransformers() {
        assertEquals(Activation.GELU, Activation.fromConfig("gelu"));
        assertEquals(Activation.GELU_TANH, Activation.fromConfig("gelu_pytorch_tanh"));
        assertEquals(Activation.SILU, Activation.fromConfig("swish"));
        SlimqException e = assertThrows(SlimqException.class, () -> Activation.fromConfig("mish"));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertTrue(e.getMessage().contains("'mish'") && e.getMessage().contains("l2"), e.getMessage());
    }

    /** Copies a checkpoint, editing the floats of some tensors. */
    private Path edited(Path src, String name, BiConsumer<String, float[]> edit) {
        return CheckpointEdit.copy(src, tmp.resolve(name), edit);
    }

    /** Row {@code row} of a [rows, 64] weight: 3.0 on channel 0, the rest scaled to 1 %. */
    private static void loudOnChannel0(float[] w, int row) {
        for (int c = 0; c < 64; c++) {
            w[row * 64 + c] = c == 0 ? 3f : w[row * 64 + c] * 0.01f;
        }
    }

    private static int argMin(double[] s) {
        int k = 0;
        for (int i = 1; i < s.length; i++) {
            if (s[i] < s[k]) {
                k = i;
            }
        }
        return k;
    }

    private static int rank(double[] s, int unit) {
        int r = 0;
        for (double v : s) {
            if (v > s[unit]) {
                r++;
            }
        }
        return r;
    }

    @Test
    void llamaNeuronReadingASwitchedOffChannelGoesFirst() {
        // layer 0's MLP norm zeroes channel 0; neuron 5 reads almost only channel 0, with big weights
        Path in = edited(SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("llama")).dir(), "llama-gamma", (name, v) -> {
            if (name.equals("model.layers.0.post_attention_layernorm.weight")) {
                v[0] = 0;
            }
            if (name.equals("model.layers.0.mlp.gate_proj.weight") || name.equals("model.layers.0.mlp.up_proj.weight")) {
                loudOnChannel0(v, 5);
            }
        });
        try (Checkpoint c = Checkpoint.open(in); WorkPool pool = new WorkPool(1)) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.MLP);
            double[] l2 = Importance.L2.scores(c, g, pool).get(0);
            double[] gauss = Importance.GAUSS.scores(c, g, pool).get(0);
            assertEquals(0, rank(l2, 5), "l2 ranks the big-weight neuron first");
            assertEquals(5, argMin(gauss), "gauss ranks it last");
            assertFalse(LayerAllocation.keepMask(gauss, 191)[5]);
            assertTrue(LayerAllocation.keepMask(l2, 191)[5]);
        }
    }

    @Test
    void gemmaNormsScaleByOnePlusWeight() throws java.io.IOException {
        // the tiny llama relabelled as Gemma 1 (same tensor names): its RMSNorm scales by 1 + w, so w = -1 switches
        // channel 0 off, and the MLP runs the tanh GELU whatever hidden_act says
        Path in = edited(SynthCheckpoint.write(SynthSpec.tinyLlama(), tmp.resolve("llama")).dir(), "gemma", (name, v) -> {
            if (name.equals("model.layers.0.post_attention_layernorm.weight")) {
                java.util.Arrays.fill(v, 0f);
                v[0] = -1;
            }
            if (name.equals("model.layers.0.mlp.gate_proj.weight") || name.equals("model.layers.0.mlp.up_proj.weight")) {
                loudOnChannel0(v, 5);
            }
        });
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(in.resolve("config.json").toFile());
        cfg.put("model_type", "gemma").put("head_dim", 16).put("hidden_act", "gelu");
        cfg.putArray("architectures").add("GemmaForCausalLM");
        java.nio.file.Files.writeString(in.resolve("config.json"), cfg.toString());
        try (Checkpoint c = Checkpoint.open(in); WorkPool pool = new WorkPool(1)) {
            assertEquals(dev.slimq.core.layout.Architecture.GEMMA, c.layout().architecture());
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.MLP);
            double[] gauss = Importance.GAUSS.scores(c, g, pool).get(0);
            assertEquals(5, argMin(gauss));
            // with every other channel at scale 1 + 0 the model is exact to hand-check for a neuron: gate and up rows
            // g, u see N(0, |g|²), N(0, |u|²) with covariance g·u; its score is E[(gelu_tanh(g) u)²]·|down column|² / hidden
            float[] gw = read(c, "model.layers.0.mlp.gate_proj.weight");
            float[] uw = read(c, "model.layers.0.mlp.up_proj.weight");
            float[] dw = read(c, "model.layers.0.mlp.down_proj.weight");
            int j = 11;
            double vg = 0;
            double vu = 0;
            double cov = 0;
            for (int ch = 1; ch < 64; ch++) {
                vg += gw[j * 64 + ch] * (double) gw[j * 64 + ch];
                vu += uw[j * 64 + ch] * (double) uw[j * 64 + ch];
                cov += gw[j * 64 + ch] * (double) uw[j * 64 + ch];
            }
            double col = 0;
            for (int r = 0; r < 64; r++) {
                col += dw[r * 192 + j] * (double) dw[r * 192 + j];
            }
            DoubleUnaryOperator tanhGelu = x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            double sg = Math.sqrt(vg);
            double b = cov / sg;
            double e = Math.sqrt(vu - b * b);
            double m2 = 0;
            int n = 2000;
            double h = 18.0 / n;
            for (int a = 0; a < n; a++) {
                double z1 = -9 + (a + 0.5) * h;
                double act = tanhGelu.applyAsDouble(sg * z1);
                for (int k = 0; k < n; k++) {
                    double z2 = -9 + (k + 0.5) * h;
                    double v = act * (b * z1 + e * z2);
                    m2 += pdf(z1) * pdf(z2) * h * h * v * v;
                }
            }
            assertEquals(m2 * col / 63, gauss[j], 1e-6 * gauss[j]);
        }
    }

    private static float[] read(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            float[] f = new float[Math.toIntExact(v.info().elementCount())];
            v.readFloats(0, f, 0, f.length);
            return f;
        }
    }

    @Test
    void bertNeuronAndHeadReadingASwitchedOffChannelGoFirst() {
        // layer 0: the MLP's LayerNorm (attention.output.LayerNorm) and the attention's (embeddings.LayerNorm)
        // zero channel 0, scale and shift; neuron 7 and head 2's value rows read almost only channel 0
        Path in = edited(SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert")).dir(), "bert-gamma", (name, v) -> {
            switch (name) {
                case "encoder.layer.0.attention.output.LayerNorm.weight", "encoder.layer.0.attention.output.LayerNorm.bias",
                     "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias" -> v[0] = 0;
                case "encoder.layer.0.intermediate.dense.weight" -> loudOnChannel0(v, 7);
                case "encoder.layer.0.intermediate.dense.bias" -> v[7] = 0;
                case "encoder.layer.0.attention.self.value.weight" -> {
                    for (int r = 32; r < 48; r++) {
                        loudOnChannel0(v, r);
                    }
                }
                case "encoder.layer.0.attention.self.value.bias" -> java.util.Arrays.fill(v, 32, 48, 0f);
                default -> {
                }
            }
        });
        try (Checkpoint c = Checkpoint.open(in); WorkPool pool = new WorkPool(1)) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.ALL);
            List<double[]> l2 = Importance.L2.scores(c, g, pool);
            List<double[]> gauss = Importance.GAUSS.scores(c, g, pool);
            assertTrue(rank(l2.get(0), 7) < 4, "l2 ranks the big-weight neuron among the first");
            assertEquals(7, argMin(gauss.get(0)));
            // GELU near 0 is z/2 and the remaining weights are at 1 %: about 1e-4 of a typical neuron's energy
            assertTrue(gauss.get(0)[7] < 1e-3 * gauss.get(0)[0], gauss.get(0)[7] + " vs " + gauss.get(0)[0]);
            assertTrue(LayerAllocation.keepMask(l2.get(1), 3)[2], "l2 keeps the big-weight head");
            assertEquals(2, argMin(gauss.get(1)));
        }
        PruneService.Result r = PruneService.run(in, tmp.resolve("bert-mask"), PruneOptions.of(0.25)
                .withUnits(UnitSelection.ATTENTION).withLayout(PruneLayout.MASK).withAmplitude(0).withImportance(Importance.GAUSS));
        assertArrayEquals(new boolean[] {true, true, false, true}, r.kept().get(0));
    }

    @Test
    void scoresDoNotDependOnTheThreadCount() {
        Path in = SynthCheckpoint.write(SynthSpec.tinyBert(), tmp.resolve("bert-threads")).dir();
        try (Checkpoint c = Checkpoint.open(in); WorkPool one = new WorkPool(1); WorkPool three = new WorkPool(3)) {
            List<UnitGroup> g = UnitMap.of(c.layout(), UnitSelection.ALL);
            List<double[]> a = Importance.GAUSS.scores(c, g, one);
            List<double[]> b = Importance.GAUSS.scores(c, g, three);
            assertEquals(g.size(), a.size());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i), b.get(i));
                for (double s : a.get(i)) {
                    assertTrue(s > 0 && Double.isFinite(s));
                }
            }
        }
    }
}
