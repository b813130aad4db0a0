package dev.slimq.runtime.llama;

import java.util.Arrays;

/**
 * How far a candidate decoder's next-token distributions are from a reference's on the same tokens:
 * per predicted position the KL divergence {@code KL(p_ref || p_cand)}, whether the two agree on the
 * most likely token, and each model's negative log-likelihood of the actual next token (so one joint
 * pass also gives both perplexities). Windows and predicted positions are exactly those of
 * {@link Perplexity}; sums run in double in a fixed order, so the result is as deterministic as the
 * logits. KL is the number llama.cpp's {@code --kl-divergence} reports for quantized models: a
 * perplexity ratio near 1 can hide errors that cancel, per-token KL cannot.
 */
public final class Divergence {
    private Divergence() {
    }

    /**
     * @param klMean mean KL over predicted positions (nats)
     * @param klP99 99th percentile (nearest rank) of the per-position KL
     * @param klMax the largest per-position KL
     * @param top1Agreement fraction of positions where both models' most likely token is the same
     * @param referenceSeconds time spent in the reference's forward passes ({@code candidateSeconds} likewise)
     */
    public record Result(Perplexity.Nll reference, Perplexity.Nll candidate, double klMean, double klP99, double klMax,
                         double top1Agreement, long positions, double referenceSeconds, double candidateSeconds) {
    }

    /** Runs both decoders on {@code tokens} in windows of {@code window} and compares them position by position. */
    public static Result of(LlamaDecoder reference, LlamaDecoder candidate, int[] tokens, int window) {
        if (window < 2) {
            throw new IllegalArgumentException("window must be at least 2 tokens, got " + window);
        }
        if (reference.vocab() != candidate.vocab()) {
            throw new IllegalArgumentException("vocabularies differ: " + reference.vocab() + " vs " + candidate.vocab());
        }
        int vocab = reference.vocab();
        double[] kls = new double[Math.max(0, tokens.length - 1)];
        int n = 0;
        long agree = 0;
        double nllRef = 0;
        double nllCand = 0;
        double[] lp = new double[vocab];
        double[] lq = new double[vocab];
        long refNanos = 0;
        long candNanos = 0;
        for (int s = 0; s < tokens.length; s += window) {
            int e = Math.min(tokens.length, s + window);
            if (e - s < 2) {
                continue;
            }
            int[] win = Arrays.copyOfRange(tokens, s, e);
            long t0 = System.nanoTime();
            float[] a = reference.logits(win);
            long t1 = System.nanoTime();
            float[] b = candidate.logits(win);
            refNanos += t1 - t0;
            candNanos += System.nanoTime() - t1;
            for (int t = 0; t + 1 < win.length; t++) {
                int argA = logSoftmax(a, t * vocab, vocab, lp);
                int argB = logSoftmax(b, t * vocab, vocab, lq);
                double kl = 0;
                for (int j = 0; j < vocab; j++) {
                    kl += Math.exp(lp[j]) * (lp[j] - lq[j]);
                }
                // Rounding can make a KL of identical distributions a hair below zero.
                kls[n++] = Math.max(0, kl);
                agree += argA == argB ? 1 : 0;
                nllRef -= lp[win[t + 1]];
                nllCand -= lq[win[t + 1]];
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("need at least 2 tokens in a window, got " + tokens.length);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += kls[i];
        }
        double[] sorted = Arrays.copyOf(kls, n);
        Arrays.sort(sorted);
        double p99 = sorted[Math.max(0, (int) Math.ceil(0.99 * n) - 1)];
        return new Result(new Perplexity.Nll(nllRef, n), new Perplexity.Nll(nllCand, n), sum / n, p99, sorted[n - 1],
                (double) agree / n, n, refNanos / 1e9, candNanos / 1e9);
    }

    /** {@code out = log softmax(row)} in double; returns the index of the largest logit (the first on ties). */
    static int logSoftmax(float[] logits, int off, int vocab, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        int arg = 0;
        for (int j = 0; j < vocab; j++) {
            if (logits[off + j] > max) {
                max = logits[off + j];
                arg = j;
            }
        }
        double z = 0;
        for (int j = 0; j < vocab; j++) {
            z += Math.exp(logits[off + j] - max);
        }
        double lz = max + Math.log(z);
        for (int j = 0; j < vocab; j++) {
            out[j] = logits[off + j] - lz;
        }
        return arg;
    }
}
