package dev.slimq.runtime.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.bert.BertWeights;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.eval.EvalTexts;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibratorTest {
    static final List<String> STATS = List.of("input_mean", "input_var", "input_sqmean", "input_absmean", "input_absmax");

    @TempDir
    static Path dir;
    static Path model;
    static Tokenizer tokenizer;
    static BertWeights weights;
    static Path stats2;
    static Calibrator.Result result2;

    @BeforeAll
    static void generate() {
        model = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), model);
        tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
        try (Checkpoint ck = Checkpoint.open(model)) {
            weights = BertWeights.load(ck);
        }
        stats2 = dir.resolve("out/stats-2.safetensors");
        result2 = Calibrator.run(new Calibrator.Request(model, EvalTexts.bundled(), null, stats2, 0, 2, false));
    }

    static Map<String, float[]> read(Path file) {
        Map<String, float[]> out = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                try (TensorView v = f.map(t.name())) {
                    float[] a = new float[(int) v.elementCount()];
                    v.readFloats(0, a, 0, a.length);
                    out.put(t.name(), a);
                }
            }
        }
        return out;
    }

    @Test
    void namesShapesAndMetadataAreThoseOfTheDesign() {
        int layers = weights.layers().length;
        Map<String, long[]> expected = new HashMap<>();
        for (int i = 0; i < layers; i++) {
            expected.put("layers." + i + ".cos_in_out", new long[0]);
            Map<String, Integer> in = Map.of("attention.self.query", weights.hidden(), "attention.output.dense", weights.hidden(),
                    "intermediate.dense", weights.hidden(), "output.dense", weights.intermediate());
            for (Map.Entry<String, Integer> m : in.entrySet()) {
                for (String s : STATS) {
                    expected.put("layers." + i + "." + m.getKey() + "." + s, new long[] {m.getValue()});
                }
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(stats2)) {
            TreeSet<String> names = new TreeSet<>();
            for (TensorInfo t : f.tensors()) {
                names.add(t.name());
                assertEquals(DType.F32, t.dtype(), t.name());
                assertArrayEquals(expected.get(t.name()), t.shape(), t.name());
            }
            assertEquals(new TreeSet<>(expected.keySet()), names);
            Map<String, String> meta = f.metadata();
            assertEquals("slimq-calibration-stats", meta.get("format"));
            assertEquals("1", meta.get("format_version"));
            assertTrue(meta.get("model_fingerprint").matches("sha256:[0-9a-f]{64}"), meta.get("model_fingerprint"));
            assertTrue(meta.get("text_fingerprint").matches("sha256:[0-9a-f]{64}"), meta.get("text_fingerprint"));
            assertEquals(Long.toString(result2.tokens()), meta.get("tokens"));
            assertEquals("400", meta.get("texts"));
            assertTrue(result2.tokens() > 400);
        }
    }

    @Test
    void momentsAreConsistentAndCosinesBounded() {
        Map<String, float[]> t = read(stats2);
        for (int i = 0; i < weights.layers().length; i++) {
            float cos = t.get("layers." + i + ".cos_in_out")[0];
            assertTrue(cos >= -1 && cos <= 1, "cos " + cos);
            assertEquals(result2.cosInOut()[i], cos, 1e-7);
            for (String m : ActivationStats.ENCODER_MODULES) {
                String p = "layers." + i + "." + m + ".";
                float[] mean = t.get(p + "input_mean");
                float[] var = t.get(p + "input_var");
                float[] sq = t.get(p + "input_sqmean");
                float[] abs = t.get(p + "input_absmean");
                float[] max = t.get(p + "input_absmax");
                for (int c = 0; c < mean.length; c++) {
                    assertEquals((double) sq[c] - (double) mean[c] * mean[c], var[c], 1e-6 + 1e-6 * sq[c], p + c);
                    assertTrue(var[c] >= 0);
                    assertTrue(abs[c] >= Math.abs(mean[c]) * (1 - 1e-6), p + c);
                    assertTrue(max[c] >= abs[c] * (1 - 1e-6), p + c);
                    assertTrue(sq[c] >= abs[c] * abs[c] * (1 - 1e-5), p + c);
                }
            }
        }
    }

    /** Layer 0's query input is the embedding output, computed here independently of the encoder. */
    @Test
    void layerZeroQueryInputIsTheEmbeddingOutput() {
        List<Encoding> batch = EvalTexts.bundled().stream().map(s -> tokenizer.encode(s, true)).toList();
        int h = weights.hidden();
        double[] sum = new double[h];
        double[] sq = new double[h];
        long n = 0;
        for (Encoding e : batch) {
            for (int i = 0; i < e.size(); i++) {
                double[] x = new double[h];
                for (int j = 0; j < h; j++) {
                    x[j] = weights.wordEmbeddings()[e.ids()[i] * h + j] + weights.positionEmbeddings()[(weights.positionOffset() + i) * h + j]
                            + (weights.typeEmbeddings() == null ? 0 : weights.typeEmbeddings()[e.typeIds()[i] * h + j]);
                }
                double mu = 0;
                for (double v : x) {
                    mu += v;
                }
                mu /= h;
                double var = 0;
                for (double v : x) {
                    var += (v - mu) * (v - mu);
                }
                var /= h;
                for (int j = 0; j < h; j++) {
                    double y = (x[j] - mu) / Math.sqrt(var + weights.eps()) * weights.embeddingNormWeight()[j] + weights.embeddingNormBias()[j];
                    sum[j] += y;
                    sq[j] += y * y;
                }
                n++;
            }
        }
        assertEquals(result2.tokens(), n);
        Map<String, float[]> t = read(stats2);
        float[] mean = t.get("layers.0.attention.self.query.input_mean");
        float[] sqmean = t.get("layers.0.attention.self.query.input_sqmean");
        for (int j = 0; j < h; j++) {
            assertEquals(sum[j] / n, mean[j], 1e-5, "mean " + j);
            assertEquals(sq[j] / n, sqmean[j], 1e-5 * Math.max(1, sq[j] / n), "sqmean " + j);
        }
    }

    @Test
    void sameBytesForOneAndTwoThreads() throws Exception {
        Path one = dir.resolve("stats-1.safetensors");
        Calibrator.run(new Calibrator.Request(model, EvalTexts.bundled(), null, one, 0, 1, false));
        assertEquals(-1, Files.mismatch(one, stats2));
    }

    @Test
    void theObserverDoesNotChangeTheForwardPass() {
        List<Encoding> batch = EvalTexts.bundled().stream().limit(7).map(s -> tokenizer.encode(s, true)).toList();
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder enc = new BertEncoder(weights, pool, LinearKernel.VECTOR);
            float[] plain = enc.hiddenStates(batch);
            float[] observed = new ActivationStats(weights.layers().length, weights.hidden()).observe(enc, batch);
            assertArrayEquals(plain, observed);
        }
    }

    @Test
    void paddingTokensDoNotCount() {
        List<Encoding> plain = EvalTexts.bundled().stream().limit(5).map(s -> tokenizer.encode(s, true)).toList();
        List<Encoding> padded = new ArrayList<>();
        for (Encoding e : plain) {
            int n = e.size() + 3;
            int[] ids = java.util.Arrays.copyOf(e.ids(), n);
            int[] mask = java.util.Arrays.copyOf(e.attentionMask(), n);
            List<String> toks = new ArrayList<>(e.tokens());
            for (int i = e.size(); i < n; i++) {
                ids[i] = 0;
                toks.add("[PAD]");
            }
            padded.add(new Encoding(ids, toks, java.util.Arrays.copyOf(e.typeIds(), n), java.util.Arrays.copyOf(e.starts(), n),
                    java.util.Arrays.copyOf(e.ends(), n), mask, java.util.Arrays.copyOf(e.specialTokensMask(), n)));
        }
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder enc = new BertEncoder(weights, pool, LinearKernel.VECTOR);
            ActivationStats a = new ActivationStats(weights.layers().length, weights.hidden());
            a.observe(enc, plain);
            ActivationStats b = new ActivationStats(weights.layers().length, weights.hidden());
            b.observe(enc, padded);
            assertEquals(a.tokens(), b.tokens());
            SequencedMap<String, float[]> ta = a.tensors();
            SequencedMap<String, float[]> tb = b.tensors();
            assertEquals(ta.keySet(), tb.keySet());
            for (String k : ta.keySet()) {
                assertArrayEquals(ta.get(k), tb.get(k), k);
            }
        }
    }

    @Test
    void maxTokensCapsTheRunAndChangesTheFingerprintOfTheTextsUsed() {
        Path capped = dir.resolve("capped.safetensors");
        Calibrator.Result r = Calibrator.run(new Calibrator.Request(model, EvalTexts.bundled(), null, capped, 50, 1, false));
        assertTrue(r.tokens() <= 50 && r.tokens() >= 40, "tokens " + r.tokens());
        assertTrue(r.texts() < 30);
        assertNotEquals(result2.textFingerprint(), r.textFingerprint());
        assertEquals(result2.modelFingerprint(), r.modelFingerprint());
    }

    @Test
    void refusesToOverwriteWithoutForce() throws Exception {
        Path out = dir.resolve("exists.safetensors");
        Files.writeString(out, "keep me");
        assertThrows(SlimqException.class,
                () -> Calibrator.run(new Calibrator.Request(model, List.of("a short text"), null, out, 0, 1, false)));
        assertEquals("keep me", Files.readString(out));
        Calibrator.run(new Calibrator.Request(model, List.of("a short text"), null, out, 0, 1, true));
        assertTrue(read(out).containsKey("layers.0.cos_in_out"));
        assertThrows(SlimqException.class,
                () -> Calibrator.run(new Calibrator.Request(model, List.of("x"), null, model.resolve("stats.safetensors"), 0, 1, true)));
    }
}
