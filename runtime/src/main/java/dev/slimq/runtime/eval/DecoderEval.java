package dev.slimq.runtime.eval;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.llama.Divergence;
import dev.slimq.runtime.llama.LlamaDecoder;
import dev.slimq.runtime.llama.LlamaWeights;
import dev.slimq.runtime.llama.Perplexity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/**
 * {@code slimq eval} for decoders: perplexity of the texts (joined by newlines, tokenized by the
 * model's own tokenizer.json, BOS first when the tokenizer has one) over non-overlapping windows,
 * and with a reference the ratio of the two perplexities plus the per-token KL divergence of the
 * candidate's next-token distribution from the reference's and their top-1 agreement — the
 * model-level numbers for a compressed decoder, where weight error alone says little.
 */
public final class DecoderEval {
    private DecoderEval() {
    }

    /**
     * One model's perplexity. {@code loadSeconds} covers reading the weights and tokenizing,
     * {@code seconds} the forward passes and log-likelihoods, {@code tokensPerSecond} is
     * {@code tokens / seconds} (prefill throughput).
     */
    public record ModelStats(String path, String architecture, int layers, long tokens, int window, double perplexity,
                             double loadSeconds, double seconds, double tokensPerSecond) {
    }

    /**
     * The candidate's next-token distributions against the reference's on the same tokens
     * ({@link Divergence}): KL(reference || candidate) per predicted position (mean, 99th percentile,
     * max; nats) and the share of positions whose most likely token agrees.
     */
    public record Comparison(double pplReference, double pplCandidate, double klMean, double klP99, double klMax,
                             double top1Agreement, long positions) {
    }

    /**
     * {@code perplexityRatio} is model / reference (1 = unchanged); it and {@code comparison} are
     * absent without a reference. {@code comparison} is also absent, with {@code note} saying why, when
     * the two tokenizers give different ids for the texts (a trimmed vocabulary): then only the
     * perplexities can be compared.
     */
    public record Result(ModelStats model, ModelStats reference, Double perplexityRatio, Comparison comparison, String note) {
    }

    public static Result run(Path model, Path reference, List<String> texts, int window, int threads) {
        return run(model, reference, texts, window, 0, threads, WeightSource.Opener.FLOAT);
    }

    /**
     * As {@link #run(Path, Path, List, int, int)}, reading both checkpoints through {@code opener} and
     * stopping after {@code maxTokens} tokens (0: all). With a reference whose tokenizer gives the same
     * ids, both models are held in memory and run window by window side by side.
     */
    public static Result run(Path model, Path reference, List<String> texts, int window, long maxTokens, int threads,
            WeightSource.Opener opener) {
        if (window < 2) {
            throw new SlimqException(Failure.USAGE, "--window must be at least 2, got " + window);
        }
        if (maxTokens < 0) {
            throw new SlimqException(Failure.USAGE, "--max-tokens must not be negative, got " + maxTokens);
        }
        try (WorkPool pool = new WorkPool(threads)) {
            Loaded m = load(model, texts, window, maxTokens, pool, opener);
            if (reference == null) {
                return new Result(alone(m), null, null, null, null);
            }
            Loaded r = load(reference, texts, window, maxTokens, pool, opener);
            if (!java.util.Arrays.equals(m.tokens, r.tokens) || m.decoder.vocab() != r.decoder.vocab()) {
                ModelStats ms = alone(m);
                m = null; // let the candidate's weights go before the reference runs
                ModelStats rs = alone(r);
                return new Result(ms, rs, ms.perplexity() / rs.perplexity(), null,
                        "the two tokenizers give different ids for the texts (or the vocabularies differ): perplexities only, no per-token KL");
            }
            int win = Math.min(m.window, r.window);
            Divergence.Result d = Divergence.of(r.decoder, m.decoder, m.tokens, win);
            double pm = d.candidate().perplexity();
            double pr = d.reference().perplexity();
            ModelStats ms = stats(m, win, pm, d.candidateSeconds());
            ModelStats rs = stats(r, win, pr, d.referenceSeconds());
            return new Result(ms, rs, pm / pr, new Comparison(pr, pm, d.klMean(), d.klP99(), d.klMax(), d.top1Agreement(), d.positions()),
                    null);
        }
    }

    /** A checkpoint's decoder with the texts tokenized by its own tokenizer. */
    private record Loaded(Path path, LlamaWeights weights, LlamaDecoder decoder, int[] tokens, int window, double loadSeconds) {
    }

    private static Loaded load(Path path, List<String> texts, int window, long maxTokens, WorkPool pool, WeightSource.Opener opener) {
        long t0 = System.nanoTime();
        Path tokenizerFile = path.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new SlimqException(Failure.BAD_INPUT, path + ": no tokenizer.json to tokenize the texts with");
        }
        try (Checkpoint ckpt = Checkpoint.open(path)) {
            LlamaWeights w = LlamaWeights.load(opener.open(ckpt));
            Tokenizer tok = Tokenizer.load(tokenizerFile);
            int[] body = tok.encode(String.join("\n", texts), false).ids();
            OptionalInt bos = tok.bosId();
            int[] tokens = body;
            if (bos.isPresent()) {
                tokens = new int[body.length + 1];
                tokens[0] = bos.getAsInt();
                System.arraycopy(body, 0, tokens, 1, body.length);
            }
            if (maxTokens > 0 && tokens.length > maxTokens) {
                tokens = java.util.Arrays.copyOf(tokens, (int) maxTokens);
            }
            if (tokens.length < 2) {
                throw new SlimqException(Failure.USAGE, "the texts give fewer than 2 tokens: nothing to predict");
            }
            int win = Math.min(window, ckpt.layout().config().flatMap(c -> c.maxPositionEmbeddings().isPresent()
                    ? java.util.Optional.of(c.maxPositionEmbeddings().getAsInt()) : java.util.Optional.empty()).orElse(window));
            return new Loaded(path, w, new LlamaDecoder(w, pool, LinearKernel.VECTOR), tokens, win, (System.nanoTime() - t0) / 1e9);
        }
    }

    private static ModelStats alone(Loaded m) {
        long t1 = System.nanoTime();
        double ppl = Perplexity.of(m.decoder, m.tokens, m.window);
        return stats(m, m.window, ppl, (System.nanoTime() - t1) / 1e9);
    }

    private static ModelStats stats(Loaded m, int window, double ppl, double secs) {
        return new ModelStats(m.path.toString(), m.weights.architecture().name().toLowerCase(java.util.Locale.ROOT), m.weights.layers().length,
                m.tokens.length, window, ppl, m.loadSeconds, secs, m.tokens.length / secs);
    }
}
