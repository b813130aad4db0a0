package dev.slimq.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DivergenceTest {
    @TempDir
    Path dir;

    /** log softmax of a double row, written out here independently of Divergence. */
    private static double[] logSoftmax(double[] row) {
        double max = Arrays.stream(row).max().orElseThrow();
        double z = 0;
        for (double x : row) {
            z += Math.exp(x - max);
        }
        double[] out = new double[row.length];
        for (int j = 0; j < row.length; j++) {
            out[j] = row[j] - max - Math.log(z);
        }
        return out;
    }

    private static int argmax(double[] row) {
        int a = 0;
        for (int j = 1; j < row.length; j++) {
            if (row[j] > row[a]) {
                a = j;
            }
        }
        return a;
    }

    @Test
    void matchesKlAndAgreementFromTheNaiveDoubleReference() {
        Path ref = dir.resolve("ref");
        Path cand = dir.resolve("cand");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), ref);
        SynthCheckpoint.write(SynthSpec.tinyLlama().withSeed(7), cand);
        int[] tokens = LlamaDecoderTest.randomTokens(70, 0 + vocabOf(ref), 3);
        int window = 32; // windows of 32, 32 and 6 tokens: 31 + 31 + 5 predicted positions
        List<Double> kls = new ArrayList<>();
        double nllRef = 0;
        double nllCand = 0;
        int agree = 0;
        try (Checkpoint a = Checkpoint.open(ref); Checkpoint b = Checkpoint.open(cand)) {
            NaiveLlama na = new NaiveLlama(a);
            NaiveLlama nb = new NaiveLlama(b);
            for (int s = 0; s < tokens.length; s += window) {
                int[] win = Arrays.copyOfRange(tokens, s, Math.min(tokens.length, s + window));
                double[][] la = na.logits(win);
                double[][] lb = nb.logits(win);
                for (int t = 0; t + 1 < win.length; t++) {
                    double[] p = logSoftmax(la[t]);
                    double[] q = logSoftmax(lb[t]);
                    double kl = 0;
                    for (int j = 0; j < p.length; j++) {
                        kl += Math.exp(p[j]) * (p[j] - q[j]);
                    }
                    kls.add(kl);
                    agree += argmax(la[t]) == argmax(lb[t]) ? 1 : 0;
                    nllRef -= p[win[t + 1]];
                    nllCand -= q[win[t + 1]];
                }
            }
        }
        int n = kls.size();
        assertEquals(67, n);
        double mean = kls.stream().mapToDouble(Double::doubleValue).sum() / n;
        List<Double> sorted = new ArrayList<>(kls);
        Collections.sort(sorted);
        double p99 = sorted.get((int) Math.ceil(0.99 * n) - 1);

        Divergence.Result d;
        try (Checkpoint a = Checkpoint.open(ref); Checkpoint b = Checkpoint.open(cand); WorkPool pool = new WorkPool(2)) {
            d = Divergence.of(new LlamaDecoder(LlamaWeights.load(a), pool, LinearKernel.VECTOR),
                    new LlamaDecoder(LlamaWeights.load(b), pool, LinearKernel.VECTOR), tokens, window);
        }
        System.out.printf("tiny llama vs reseeded: KL mean %.6f (naive %.6f), p99 %.6f (naive %.6f), top-1 %.4f%n",
                d.klMean(), mean, d.klP99(), p99, d.top1Agreement());
        assertEquals(n, d.positions());
        assertEquals(mean, d.klMean(), mean * 1e-4);
        assertEquals(p99, d.klP99(), p99 * 1e-4);
        assertEquals(sorted.get(n - 1), d.klMax(), sorted.get(n - 1) * 1e-4);
        assertEquals((double) agree / n, d.top1Agreement(), 1e-12);
        assertEquals(Math.exp(nllRef / n), d.reference().perplexity(), Math.exp(nllRef / n) * 1e-5);
        assertEquals(Math.exp(nllCand / n), d.candidate().perplexity(), Math.exp(nllCand / n) * 1e-5);
    }

    @Test
    void aModelAgainstItselfHasZeroKlAndFullAgreement() {
        Path ref = dir.resolve("same");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), ref);
        int[] tokens = LlamaDecoderTest.randomTokens(40, vocabOf(ref), 9);
        try (Checkpoint a = Checkpoint.open(ref); WorkPool pool = new WorkPool(1)) {
            LlamaDecoder dec = new LlamaDecoder(LlamaWeights.load(a), pool, LinearKernel.VECTOR);
            Divergence.Result d = Divergence.of(dec, dec, tokens, 16);
            assertEquals(0.0, d.klMax());
            assertEquals(1.0, d.top1Agreement());
            assertEquals(Perplexity.of(dec, tokens, 16), d.candidate().perplexity(), 0.0);
        }
    }

    private static int vocabOf(Path model) {
        try (Checkpoint c = Checkpoint.open(model)) {
            return LlamaWeights.load(c).vocab();
        }
    }
}
