package dev.slimq.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.calibrate.Calibrator;
import dev.slimq.runtime.eval.EvalTexts;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimq calibrate} on a Llama-family decoder: the statistics file against statistics computed
 * here from {@link NaiveLlama}'s double-precision activations over the same token windows.
 */
class LlamaCalibrationTest {
    static final List<String> TEXTS = EvalTexts.bundled().subList(0, 40);
    static final int WINDOW = 48;
    /** (statistics module, the naive pass's activation) in the file's order. */
    static final Map<String, String> MODULES = new LinkedHashMap<>();

    static {
        MODULES.put("self_attn.q_proj", "attn_in");
        MODULES.put("self_attn.o_proj", "ctx");
        MODULES.put("mlp.gate_proj", "mlp_in");
        MODULES.put("mlp.down_proj", "act");
    }

    @TempDir
    static Path dir;
    static Path model;
    static Path stats1;
    static Path stats2;
    static Calibrator.Result result;

    @BeforeAll
    static void calibrate() {
        model = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), model);
        stats1 = dir.resolve("s1.safetensors");
        stats2 = dir.resolve("s2.safetensors");
        Calibrator.run(new Calibrator.Request(model, TEXTS, null, stats1, 0, WINDOW, 1, false));
        result = Calibrator.run(new Calibrator.Request(model, TEXTS, null, stats2, 0, WINDOW, 2, false));
    }

    static Map<String, float[]> read(Path file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.header().tensors()) {
                float[] v = new float[Math.toIntExact(t.elementCount())];
                try (TensorView view = f.map(t.name())) {
                    view.readFloats(0, v, 0, v.length);
                }
                out.put(t.name(), v);
            }
        }
        return out;
    }

    @Test
    void sameBytesForOneAndTwoThreads() throws Exception {
        assertArrayEquals(Files.readAllBytes(stats1), Files.readAllBytes(stats2));
    }

    @Test
    void namesShapesAndMetadata() throws Exception {
        int layers;
        int hidden;
        int inter;
        int qWidth;
        try (Checkpoint ck = Checkpoint.open(model)) {
            LlamaWeights w = LlamaWeights.load(ck);
            layers = w.layers().length;
            hidden = w.hidden();
            inter = w.intermediate();
            qWidth = w.heads() * w.headDim();
        }
        Map<String, float[]> t = read(stats2);
        List<String> expect = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            expect.add("layers." + l + ".cos_in_out");
            for (String m : MODULES.keySet()) {
                for (String s : List.of("input_mean", "input_var", "input_sqmean", "input_absmean", "input_absmax")) {
                    expect.add("layers." + l + "." + m + "." + s);
                }
            }
        }
        assertEquals(expect.stream().sorted().toList(), t.keySet().stream().sorted().toList());
        try (SafetensorsFile f = SafetensorsFile.open(stats2)) {
            assertEquals(0, f.tensor("layers.0.cos_in_out").rank());
            assertArrayEquals(new long[] {hidden}, f.tensor("layers.0.self_attn.q_proj.input_mean").shape());
            assertArrayEquals(new long[] {qWidth}, f.tensor("layers.0.self_attn.o_proj.input_var").shape());
            assertArrayEquals(new long[] {hidden}, f.tensor("layers.0.mlp.gate_proj.input_absmean").shape());
            assertArrayEquals(new long[] {inter}, f.tensor("layers.0.mlp.down_proj.input_absmax").shape());
            Map<String, String> meta = f.metadata();
            assertEquals("slimq-calibration-stats", meta.get("format"));
            assertEquals("llama", meta.get("architecture"));
            assertEquals(Integer.toString(WINDOW), meta.get("window"));
            assertEquals(Integer.toString(TEXTS.size()), meta.get("texts"));
            assertEquals(Long.toString(result.tokens()), meta.get("tokens"));
            try (Checkpoint ck = Checkpoint.open(model)) {
                assertEquals(ck.headerFingerprint(), meta.get("model_fingerprint"));
            }
            assertTrue(meta.get("text_fingerprint").matches("sha256:[0-9a-f]{64}"));
        }
    }

    /** Every statistic against the naive double pass over the same windows of the same token stream. */
    @Test
    void matchesStatisticsOfTheNaiveReference() {
        Tokenizer tok = Tokenizer.load(model.resolve("tokenizer.json"));
        // The stream as the class comment of Calibrator defines it, rebuilt here.
        int[] body = tok.encode(String.join("\n", TEXTS), false).ids();
        int[] stream = body;
        if (tok.bosId().isPresent()) {
            stream = new int[body.length + 1];
            stream[0] = tok.bosId().getAsInt();
            System.arraycopy(body, 0, stream, 1, body.length);
        }
        assertEquals(stream.length, result.tokens());
        assertTrue(stream.length > 2 * WINDOW, "several windows: " + stream.length);

        Map<String, double[][]> acc = new LinkedHashMap<>(); // key -> {sum, sq, abs, max}
        double[] cos;
        int layers;
        try (Checkpoint ck = Checkpoint.open(model)) {
            NaiveLlama naive = new NaiveLlama(ck);
            layers = ck.configJson().orElseThrow().get("num_hidden_layers").asInt();
            cos = new double[layers];
            double[][][] in = new double[layers][][];
            for (int s = 0; s < stream.length; s += WINDOW) {
                int[] win = Arrays.copyOfRange(stream, s, Math.min(stream.length, s + WINDOW));
                naive.logits(win, (l, what, a) -> {
                    if (what.equals("in")) {
                        in[l] = Arrays.stream(a).map(double[]::clone).toArray(double[][]::new);
                    } else if (what.equals("out")) {
                        for (int i = 0; i < a.length; i++) {
                            double dot = 0;
                            double na = 0;
                            double nb = 0;
                            for (int j = 0; j < a[i].length; j++) {
                                dot += in[l][i][j] * a[i][j];
                                na += in[l][i][j] * in[l][i][j];
                                nb += a[i][j] * a[i][j];
                            }
                            cos[l] += dot / Math.sqrt(na * nb);
                        }
                    } else {
                        double[][] st = acc.computeIfAbsent(l + "." + what, k -> new double[4][a[0].length]);
                        for (double[] row : a) {
                            for (int c = 0; c < row.length; c++) {
                                st[0][c] += row[c];
                                st[1][c] += row[c] * row[c];
                                st[2][c] += Math.abs(row[c]);
                                st[3][c] = Math.max(st[3][c], Math.abs(row[c]));
                            }
                        }
                    }
                });
            }
        }
        double n = stream.length;
        Map<String, float[]> t = read(stats2);
        for (int l = 0; l < layers; l++) {
            assertEquals(cos[l] / n, t.get("layers." + l + ".cos_in_out")[0], 1e-5, "cos_in_out " + l);
            for (Map.Entry<String, String> m : MODULES.entrySet()) {
                double[][] st = acc.get(l + "." + m.getValue());
                String p = "layers." + l + "." + m.getKey() + ".";
                float[] mean = t.get(p + "input_mean");
                float[] var = t.get(p + "input_var");
                float[] sq = t.get(p + "input_sqmean");
                float[] abs = t.get(p + "input_absmean");
                float[] max = t.get(p + "input_absmax");
                assertEquals(st[0].length, mean.length, p);
                for (int c = 0; c < mean.length; c++) {
                    double mu = st[0][c] / n;
                    double ms = st[1][c] / n;
                    double scale = Math.max(1e-3, st[3][c]);
                    assertEquals(mu, mean[c], 1e-4 * scale, p + "input_mean " + c);
                    assertEquals(ms, sq[c], 1e-4 * scale * scale, p + "input_sqmean " + c);
                    assertEquals(ms - mu * mu, var[c], 1e-4 * scale * scale, p + "input_var " + c);
                    assertEquals(st[2][c] / n, abs[c], 1e-4 * scale, p + "input_absmean " + c);
                    assertEquals(st[3][c], max[c], 1e-4 * scale, p + "input_absmax " + c);
                }
            }
        }
    }

    /** {@code maxTokens} cuts the stream; the decoder pass underneath is unchanged by observing it. */
    @Test
    void maxTokensCutsTheStreamAndObservingChangesNothing() {
        Path capped = dir.resolve("capped.safetensors");
        Calibrator.Result r = Calibrator.run(new Calibrator.Request(model, TEXTS, null, capped, 70, WINDOW, 1, false));
        assertEquals(70, r.tokens());
        int[] tokens = Arrays.copyOf(Tokenizer.load(model.resolve("tokenizer.json")).encode(TEXTS.get(0) + " " + TEXTS.get(1), false).ids(), 20);
        try (Checkpoint ck = Checkpoint.open(model); WorkPool pool = new WorkPool(2)) {
            LlamaDecoder d = new LlamaDecoder(LlamaWeights.load(ck), pool, LinearKernel.VECTOR);
            float[] plain = d.hiddenStates(tokens, LlamaDecoder.Observer.NONE);
            float[] seen = new dev.slimq.runtime.calibrate.ActivationStats(dev.slimq.runtime.calibrate.ActivationStats.DECODER_MODULES,
                    d.weights().layers().length, d.weights().hidden()).observe(d, tokens);
            assertArrayEquals(plain, seen);
        }
    }
}
