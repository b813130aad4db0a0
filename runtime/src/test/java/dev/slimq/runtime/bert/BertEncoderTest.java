package dev.slimq.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BertEncoderTest {
    static final List<String> TEXTS = List.of(
            "the cat sat on the mat",
            "a much longer sentence about models, weights and the quality of compressed encoders that we measure",
            "hello",
            "Quantization maps floats to a few bits; pruning removes whole heads and neurons.",
            "x y z");

    @TempDir
    static Path dir;
    static Path model;
    static Tokenizer tokenizer;
    static BertWeights weights;

    @BeforeAll
    static void generate() {
        model = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), model);
        tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
        try (Checkpoint ck = Checkpoint.open(model)) {
            weights = BertWeights.load(ck);
        }
    }

    static List<Encoding> encode(List<String> texts) {
        return texts.stream().map(t -> tokenizer.encode(t, true)).toList();
    }

    static float[][] embed(List<Encoding> batch, int threads, LinearKernel kernel, Pooling pooling) {
        try (WorkPool pool = new WorkPool(threads)) {
            return new BertEncoder(weights, pool, kernel).embed(batch, pooling);
        }
    }

    @Test
    void matchesTheNaiveDoubleReference() {
        List<Encoding> batch = encode(TEXTS);
        float[][] fast = embed(batch, 2, LinearKernel.VECTOR, Pooling.MEAN);
        float[][] scalar = embed(batch, 1, LinearKernel.SCALAR, Pooling.MEAN);
        float[] states;
        try (WorkPool pool = new WorkPool(1)) {
            states = new BertEncoder(weights, pool, LinearKernel.VECTOR).hiddenStates(batch);
        }
        double worst = 0;
        double worstState = 0;
        int row = 0;
        try (Checkpoint ck = Checkpoint.open(model)) {
            NaiveBert naive = new NaiveBert(ck);
            for (int b = 0; b < batch.size(); b++) {
                double[][] ref = naive.forward(batch.get(b).ids(), batch.get(b).typeIds());
                for (double[] r : ref) {
                    for (int j = 0; j < r.length; j++) {
                        worstState = Math.max(worstState, Math.abs(r[j] - states[row * r.length + j]));
                    }
                    row++;
                }
                double[] e = NaiveBert.meanPooled(ref);
                for (int j = 0; j < e.length; j++) {
                    worst = Math.max(worst, Math.abs(e[j] - fast[b][j]));
                    worst = Math.max(worst, Math.abs(e[j] - scalar[b][j]));
                }
            }
        }
        assertTrue(worst < 1e-4, "embedding max abs diff " + worst);
        assertTrue(worstState < 1e-3, "hidden state max abs diff " + worstState);
        assertEquals(1.0, norm(fast[0]), 1e-5);
    }

    @Test
    void bitIdenticalForAnyThreadCount() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.addAll(TEXTS);
        }
        List<Encoding> batch = encode(many); // well over one 32-row piece
        float[][] one = embed(batch, 1, LinearKernel.VECTOR, Pooling.MEAN);
        for (int threads : new int[] {2, 3, 7}) {
            float[][] other = embed(batch, threads, LinearKernel.VECTOR, Pooling.MEAN);
            for (int b = 0; b < one.length; b++) {
                assertArrayEquals(one[b], other[b], 0f, "threads " + threads + ", text " + b);
            }
        }
    }

    @Test
    void aSentenceEmbedsTheSameAloneAndInABatch() {
        Encoding shortOne = tokenizer.encode(TEXTS.get(0), true);
        Encoding longOne = tokenizer.encode(TEXTS.get(1), true);
        for (Pooling p : Pooling.values()) {
            float[] alone = embed(List.of(shortOne), 2, LinearKernel.VECTOR, p)[0];
            float[] batched = embed(List.of(longOne, shortOne), 2, LinearKernel.VECTOR, p)[1];
            assertArrayEquals(alone, batched, 1e-5f, p.toString());
            float[] padded = embed(List.of(pad(shortOne, longOne.size())), 2, LinearKernel.VECTOR, p)[0];
            assertArrayEquals(alone, padded, 1e-5f, p + " with explicit padding");
        }
    }

    @Test
    void clsPoolingDiffersFromMean() {
        List<Encoding> batch = encode(TEXTS.subList(0, 1));
        float[] mean = embed(batch, 1, LinearKernel.VECTOR, Pooling.MEAN)[0];
        float[] cls = embed(batch, 1, LinearKernel.VECTOR, Pooling.CLS)[0];
        assertEquals(1.0, norm(cls), 1e-5);
        assertTrue(!Arrays.equals(mean, cls));
    }

    @Test
    void vectorKernelAgreesWithScalarOnOddSizes() {
        Random rnd = new Random(7);
        int rows = 11;
        int in = 37;
        int out = 5;
        float[] x = randoms(rnd, rows * in);
        float[] w = randoms(rnd, out * in);
        float[] b = randoms(rnd, out);
        float[] ys = new float[rows * out];
        float[] yv = new float[rows * out];
        float[] yv2 = new float[rows * out];
        LinearKernel.SCALAR.apply(x, w, b, ys, in, out, 0, rows);
        LinearKernel.VECTOR.apply(x, w, b, yv, in, out, 0, rows);
        for (int r = 0; r < rows; r++) { // one row at a time: the tail path
            LinearKernel.VECTOR.apply(x, w, b, yv2, in, out, r, r + 1);
        }
        assertArrayEquals(ys, yv, 1e-5f);
        assertArrayEquals(yv, yv2, 0f, "4-row micro-kernel and 1-row tail must agree bit for bit");
    }

    @Test
    void erfIsAccurate() {
        for (double x = -5; x <= 5; x += 0.01) {
            assertEquals(NaiveBert.erf(x), BertEncoder.erf(x), 2e-7, "erf(" + x + ")");
        }
    }

    @Test
    void readsHalfPrecisionCheckpoints() {
        Path half = dir.resolve("bert-bf16");
        SynthCheckpoint.write(SynthSpec.tinyBert().withDtype(DType.BF16), half);
        try (Checkpoint ck = Checkpoint.open(half); WorkPool pool = new WorkPool(1)) {
            float[] e = new BertEncoder(BertWeights.load(ck), pool, LinearKernel.VECTOR)
                    .embed(encode(TEXTS.subList(0, 1)), Pooling.MEAN)[0];
            assertEquals(1.0, norm(e), 1e-5);
        }
    }

    @Test
    void refusesDecodersAndOverlongSequences() {
        Path llama = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama);
        try (Checkpoint ck = Checkpoint.open(llama)) {
            SlimqException e = assertThrows(SlimqException.class, () -> BertWeights.load(ck));
            assertEquals(Failure.UNSUPPORTED, e.failure());
        }
        int[] ids = new int[weights.maxSequence() + 1];
        Encoding tooLong = pad(new Encoding(new int[] {0}, List.of("a"), new int[1], new int[1], new int[1], new int[] {1}, new int[1]),
                ids.length);
        assertThrows(SlimqException.class, () -> embed(List.of(tooLong), 1, LinearKernel.VECTOR, Pooling.MEAN));
    }

    /** {@code e} right-padded with mask-0 tokens to {@code len}, as a padding tokenizer would. */
    static Encoding pad(Encoding e, int len) {
        int n = e.size();
        List<String> toks = new ArrayList<>(e.tokens());
        while (toks.size() < len) {
            toks.add("[PAD]");
        }
        return new Encoding(Arrays.copyOf(e.ids(), len), toks, Arrays.copyOf(e.typeIds(), len), Arrays.copyOf(e.starts(), len),
                Arrays.copyOf(e.ends(), len), Arrays.copyOf(e.attentionMask(), len), Arrays.copyOf(e.specialTokensMask(), len));
    }

    static float[] randoms(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }
}
