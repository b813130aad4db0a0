package dev.slimq.runtime.llama;

/**
 * Perplexity of a token sequence under a decoder: {@code exp} of the mean negative log-likelihood of
 * token {@code t+1} given the tokens before it, over non-overlapping windows (each window is run on
 * its own from position 0, so the first token of a window is never predicted). Log-softmax and all
 * sums are in double, in a fixed order, so the result is as deterministic as the logits.
 */
public final class Perplexity {
    private Perplexity() {
    }

    /** The summed negative log-likelihood and the number of predicted tokens. */
    public record Nll(double sum, long count) {
        public double perplexity() {
            return Math.exp(sum / count);
        }
    }

    /** Perplexity of {@code tokens} in windows of {@code window} tokens (the last one may be shorter). */
    public static double of(LlamaDecoder decoder, int[] tokens, int window) {
        return nll(decoder, tokens, window).perplexity();
    }

    /** The negative log-likelihood summed over all windows of {@code tokens}. */
    public static Nll nll(LlamaDecoder decoder, int[] tokens, int window) {
        if (window < 2) {
            throw new IllegalArgumentException("window must be at least 2 tokens, got " + window);
        }
        double sum = 0;
        long count = 0;
        for (int s = 0; s < tokens.length; s += window) {
            int e = Math.min(tokens.length, s + window);
            if (e - s < 2) {
                continue;
            }
            int[] win = java.util.Arrays.copyOfRange(tokens, s, e);
            sum += windowNll(decoder.logits(win), decoder.vocab(), win);
            count += e - s - 1;
        }
        if (count == 0) {
            throw new IllegalArgumentException("need at least 2 tokens in a window to measure perplexity, got " + tokens.length);
        }
        return new Nll(sum, count);
    }

    /** {@code sum_t -log softmax(logits[t])[tokens[t+1]]} for t in {@code [0, n-1)}, logits {@code [n, vocab]}. */
    public static double windowNll(float[] logits, int vocab, int[] tokens) {
        double sum = 0;
        for (int t = 0; t + 1 < tokens.length; t++) {
            int row = t * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[row + j]);
            }
            double z = 0;
            for (int j = 0; j < vocab; j++) {
                z += Math.exp(logits[row + j] - max);
            }
            sum -= logits[row + tokens[t + 1]] - max - Math.log(z);
        }
        return sum;
    }
}
