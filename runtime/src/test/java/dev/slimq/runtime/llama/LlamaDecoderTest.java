package dev.slimq.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaDecoderTest {
    @TempDir
    static Path dir;
    static Path untied;
    static Path tied;
    static LlamaWeights weights;
    static LlamaWeights tiedWeights;

    @BeforeAll
    static void generate() {
        untied = dir.resolve("llama");
        tied = dir.resolve("llama-tied");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), untied);
        SynthCheckpoint.write(SynthSpec.tinyLlama().withTiedEmbeddings(true), tied);
        try (Checkpoint ck = Checkpoint.open(untied)) {
            weights = LlamaWeights.load(ck);
        }
        try (Checkpoint ck = Checkpoint.open(tied)) {
            tiedWeights = LlamaWeights.load(ck);
        }
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        Random rnd = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    static float[] logits(LlamaWeights w, int[] tokens, int threads, LinearKernel kernel) {
        try (WorkPool pool = new WorkPool(threads)) {
            return new LlamaDecoder(w, pool, kernel).logits(tokens);
        }
    }

    /** Worst |fast - naive| over the largest |naive| logit. */
    static double relativeError(Path model, LlamaWeights w, int[] tokens, float[] fast) {
        double[][] ref;
        try (Checkpoint ck = Checkpoint.open(model)) {
            ref = new NaiveLlama(ck).logits(tokens);
        }
        double worst = 0;
        double scale = 0;
        for (int t = 0; t < tokens.length; t++) {
            for (int j = 0; j < w.vocab(); j++) {
                worst = Math.max(worst, Math.abs(ref[t][j] - fast[t * w.vocab() + j]));
                scale = Math.max(scale, Math.abs(ref[t][j]));
            }
        }
        assertTrue(scale > 0, "logits are all zero");
        return worst / scale;
    }

    @Test
    void loadsTheTinyLlamaByRoles() {
        assertFalse(weights.tied());
        assertTrue(tiedWeights.tied());
        assertSame(tiedWeights.embedding(), tiedWeights.lmHead());
        assertEquals(2, weights.layers().length);
        assertEquals(0, weights.hidden() % weights.heads());
        assertTrue(weights.heads() > weights.kvHeads(), "the tiny preset exercises GQA");
        assertEquals(null, weights.layers()[0].qBias());
        assertEquals(null, weights.layers()[0].qNorm());
    }

    @Test
    void matchesTheNaiveDoubleReference() {
        // 45 tokens: more than one row block of 32, so the split's boundary is crossed.
        int[] tokens = randomTokens(45, weights.vocab(), 1);
        for (LinearKernel kernel : LinearKernel.values()) {
            double rel = relativeError(untied, weights, tokens, logits(weights, tokens, 2, kernel));
            System.out.printf("tiny llama %s: relative logit error %.3g%n", kernel, rel);
            assertTrue(rel < 1e-3, kernel + ": relative logit error " + rel);
        }
    }

    @Test
    void tiedEmbeddingsMatchTheNaiveReference() {
        int[] tokens = randomTokens(37, tiedWeights.vocab(), 2);
        double rel = relativeError(tied, tiedWeights, tokens, logits(tiedWeights, tokens, 2, LinearKernel.VECTOR));
        System.out.printf("tiny llama tied: relative logit error %.3g%n", rel);
        assertTrue(rel < 1e-3, "relative logit error " + rel);
    }

    @Test
    void isCausal() {
        int n = 40;
        int[] a = randomTokens(n, weights.vocab(), 3);
        int[] b = a.clone();
        int t = 17;
        for (int i = t + 1; i < n; i++) {
            b[i] = (a[i] + 1 + i) % weights.vocab();
        }
        float[] la = logits(weights, a, 2, LinearKernel.VECTOR);
        float[] lb = logits(weights, b, 2, LinearKernel.VECTOR);
        int v = weights.vocab();
        assertArrayEquals(Arrays.copyOf(la, (t + 1) * v), Arrays.copyOf(lb, (t + 1) * v));
        assertFalse(Arrays.equals(Arrays.copyOfRange(la, (t + 1) * v, n * v), Arrays.copyOfRange(lb, (t + 1) * v, n * v)));
    }

    @Test
    void bitIdenticalForAnyThreadCount() {
        int[] tokens = randomTokens(70, weights.vocab(), 4);
        float[] one = logits(weights, tokens, 1, LinearKernel.VECTOR);
        assertArrayEquals(one, logits(weights, tokens, 2, LinearKernel.VECTOR));
        assertArrayEquals(one, logits(weights, tokens, 3, LinearKernel.VECTOR));
        double[] ppl = new double[3];
        for (int threads = 1; threads <= 3; threads++) {
            try (WorkPool pool = new WorkPool(threads)) {
                ppl[threads - 1] = Perplexity.of(new LlamaDecoder(weights, pool, LinearKernel.VECTOR), tokens, 32);
            }
        }
        assertEquals(ppl[0], ppl[1]);
        assertEquals(ppl[0], ppl[2]);
    }

    /** exp(mean NLL) from the naive double logits, per non-overlapping window, log-softmax written out here. */
    static double naivePerplexity(Path model, int[] tokens, int window) {
        double sum = 0;
        long count = 0;
        try (Checkpoint ck = Checkpoint.open(model)) {
            NaiveLlama naive = new NaiveLlama(ck);
            for (int s = 0; s < tokens.length; s += window) {
                int[] win = Arrays.copyOfRange(tokens, s, Math.min(tokens.length, s + window));
                double[][] lg = naive.logits(win);
                for (int t = 0; t + 1 < win.length; t++) {
                    double max = Arrays.stream(lg[t]).max().orElseThrow();
                    double z = 0;
                    for (double x : lg[t]) {
                        z += Math.exp(x - max);
                    }
                    sum += -(lg[t][win[t + 1]] - max - Math.log(z));
                    count++;
                }
            }
        }
        return Math.exp(sum / count);
    }

    @Test
    void perplexityMatchesTheNaiveReferenceAndIsSane() {
        int[] tokens = randomTokens(75, weights.vocab(), 5);
        int window = 32; // windows of 32, 32 and 11 tokens
        double fast;
        try (WorkPool pool = new WorkPool(2)) {
            LlamaDecoder dec = new LlamaDecoder(weights, pool, LinearKernel.VECTOR);
            fast = Perplexity.of(dec, tokens, window);
            assertEquals(75 - 3, Perplexity.nll(dec, tokens, window).count());
        }
        double ref = naivePerplexity(untied, tokens, window);
        System.out.printf("tiny llama perplexity: fast %.9f naive %.9f (vocab %d)%n", fast, ref, weights.vocab());
        assertTrue(Double.isFinite(fast));
        assertTrue(fast > weights.vocab() / 10.0 && fast < weights.vocab() * 10.0, "perplexity " + fast);
        assertEquals(ref, fast, ref * 1e-6);
    }

    @Test
    void refusesEncodersAndShortInput() {
        Path bert = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert);
        try (Checkpoint ck = Checkpoint.open(bert)) {
            SlimqException e = assertThrows(SlimqException.class, () -> LlamaWeights.load(ck));
            assertEquals(Failure.UNSUPPORTED, e.failure());
        }
        try (WorkPool pool = new WorkPool(1)) {
            LlamaDecoder dec = new LlamaDecoder(weights, pool, LinearKernel.SCALAR);
            assertThrows(IllegalArgumentException.class, () -> Perplexity.of(dec, new int[] {1}, 8));
            assertThrows(SlimqException.class, () -> dec.logits(new int[] {weights.vocab()}));
        }
    }
}
