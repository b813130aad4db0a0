package dev.slimq.runtime.eval;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.LinearKernel;
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
 * and with a reference the ratio of the two perplexities — the model-level number for a compressed
 * decoder, where weight error alone says little.
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

    /** {@code perplexityRatio} is model / reference (1 = unchanged); absent without a reference. */
    public record Result(ModelStats model, ModelStats reference, Double perplexityRatio) {
    }

    public static Result run(Path model, Path reference, List<String> texts, int window, int threads) {
        return run(model, reference, texts, window, threads, WeightSource.Opener.FLOAT);
    }

    /** As {@link #run(Path, Path, List, int, int)}, reading both checkpoints through {@code opener}. */
    public static Result run(Path model, Path reference, List<String> texts, int window, int threads, WeightSource.Opener opener) {
        if (window < 2) {
            throw new SlimqException(Failure.USAGE, "--window must be at least 2, got " + window);
        }
        try (WorkPool pool = new WorkPool(threads)) {
            ModelStats m = one(model, texts, window, pool, opener);
            ModelStats r = reference == null ? null : one(reference, texts, window, pool, opener);
            return new Result(m, r, r == null ? null : m.perplexity() / r.perplexity());
        }
    }

    private static ModelStats one(Path path, List<String> texts, int window, WorkPool pool, WeightSource.Opener opener) {
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
            if (tokens.length < 2) {
                throw new SlimqException(Failure.USAGE, "the texts give fewer than 2 tokens: nothing to predict");
            }
            int win = Math.min(window, ckpt.layout().config().flatMap(c -> c.maxPositionEmbeddings().isPresent()
                    ? java.util.Optional.of(c.maxPositionEmbeddings().getAsInt()) : java.util.Optional.empty()).orElse(window));
            LlamaDecoder decoder = new LlamaDecoder(w, pool, LinearKernel.VECTOR);
            long t1 = System.nanoTime();
            double ppl = Perplexity.of(decoder, tokens, win);
            double secs = (System.nanoTime() - t1) / 1e9;
            return new ModelStats(path.toString(), w.architecture().name().toLowerCase(java.util.Locale.ROOT), w.layers().length,
                    tokens.length, win, ppl, (t1 - t0) / 1e9, secs, tokens.length / secs);
        }
    }
}
