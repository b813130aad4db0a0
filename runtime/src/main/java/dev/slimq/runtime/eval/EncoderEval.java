package dev.slimq.runtime.eval;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.bert.BertWeights;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.runtime.bert.Pooling;
import dev.slimq.runtime.bert.TokenReduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code slimq eval} for encoders: embeds the same texts with a model and, optionally, the reference
 * it was compressed from, and reports how far apart the embeddings are. The model-level number is
 * what a user needs to trust a compressed encoder; weight error is only a proxy for it.
 *
 * <p>Each model is tokenized with its own {@code tokenizer.json} (a vocabulary-trimmed model has its
 * own ids). Sequences longer than the position table are cut to fit, keeping the final special
 * token. Results do not depend on the thread count.
 */
public final class EncoderEval {
    /** Texts per forward batch: bounds the activation memory (passages of 512 tokens included). */
    static final int BATCH = 32;

    private EncoderEval() {
    }

    /**
     * What one model did.
     *
     * @param seconds time of tokenization and forward passes, without loading the weights
     */
    public record ModelStats(String path, String architecture, int layers, int hidden, int texts, long tokens, int truncated,
            double loadSeconds, double seconds, double msPerText, double tokensPerSecond) {
    }

    /**
     * Agreement between the model's and the reference's embeddings of the same texts.
     *
     * @param minIndex the line (0-based among non-blank lines) with the lowest cosine
     * @param top10Overlap the mean fraction of each text's 10 nearest neighbours among the texts (by
     *     cosine) that both models agree on
     */
    public record Comparison(double meanCos, double minCos, int minIndex, double top10Overlap) {
    }

    /** {@code reference} and {@code comparison} are null without a reference. */
    public record Result(String pooling, int threads, ModelStats model, ModelStats reference, Comparison comparison) {
    }

    /** Embeddings of a list of texts with the stats of the run that made them. */
    public record Embedded(float[][] embeddings, ModelStats stats) {
    }

    public static Result run(Path model, Path reference, List<String> texts, Pooling pooling, int threads) {
        return run(model, reference, texts, pooling, threads, WeightSource.Opener.FLOAT);
    }

    /** As {@link #run(Path, Path, List, Pooling, int)}, reading both checkpoints through {@code opener}. */
    public static Result run(Path model, Path reference, List<String> texts, Pooling pooling, int threads, WeightSource.Opener opener) {
        try (WorkPool pool = new WorkPool(threads)) {
            Embedded m = embed(model, texts, pooling, pool, opener);
            if (reference == null) {
                return new Result(pooling.cliName(), threads, m.stats(), null, null);
            }
            Embedded r = embed(reference, texts, pooling, pool, opener);
            if (m.embeddings()[0].length != r.embeddings()[0].length) {
                throw new SlimqException(Failure.USAGE, "the model's embeddings have " + m.embeddings()[0].length
                        + " dimensions, the reference's " + r.embeddings()[0].length + "; they cannot be compared");
            }
            return new Result(pooling.cliName(), threads, m.stats(), r.stats(), compare(m.embeddings(), r.embeddings()));
        }
    }

    /** Loads {@code model} (a float BERT-family checkpoint with tokenizer.json) and embeds every text. */
    public static Embedded embed(Path model, List<String> texts, Pooling pooling, WorkPool pool) {
        return embed(model, texts, pooling, pool, WeightSource.Opener.FLOAT);
    }

    /** Loads {@code model} (a BERT-family checkpoint with tokenizer.json) through {@code opener} and embeds every text. */
    public static Embedded embed(Path model, List<String> texts, Pooling pooling, WorkPool pool, WeightSource.Opener opener) {
        if (texts.isEmpty()) {
            throw new SlimqException(Failure.USAGE, "no texts to embed");
        }
        long t0 = System.nanoTime();
        Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        Path tokFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new SlimqException(Failure.BAD_INPUT, model + ": no tokenizer.json next to the weights; eval needs it");
        }
        Tokenizer tokenizer = Tokenizer.load(tokFile);
        BertWeights weights;
        try (Checkpoint ck = Checkpoint.open(model)) {
            weights = BertWeights.load(opener.open(ck));
        }
        long t1 = System.nanoTime();
        BertEncoder encoder = new BertEncoder(weights, pool, LinearKernel.VECTOR);
        float[][] out = new float[texts.size()][];
        long tokens = 0;
        int truncated = 0;
        for (int start = 0; start < texts.size(); start += BATCH) {
            List<Encoding> batch = new ArrayList<>();
            for (int i = start; i < Math.min(texts.size(), start + BATCH); i++) {
                Encoding e = tokenizer.encode(texts.get(i), true);
                if (e.size() > weights.maxSequence()) {
                    e = e.truncate(weights.maxSequence());
                    truncated++;
                }
                tokens += e.size();
                batch.add(e);
            }
            float[][] emb = encoder.embed(batch, pooling);
            System.arraycopy(emb, 0, out, start, emb.length);
        }
        long t2 = System.nanoTime();
        double secs = (t2 - t1) / 1e9;
        ModelStats stats = new ModelStats(model.toString(), weights.architecture().toString().toLowerCase(java.util.Locale.ROOT),
                weights.layers().length, weights.hidden(), texts.size(), tokens, truncated, (t1 - t0) / 1e9, secs,
                secs * 1000 / texts.size(), tokens / secs);
        return new Embedded(out, stats);
    }

    /**
     * Token reduction inside the encoder, measured end to end.
     *
     * @param baseSeconds wall time of the unreduced forward passes over all texts (after a warm-up pass)
     * @param reducedSeconds the same for the reduced passes
     * @param tokensPerLayer mean over texts of the tokens entering each layer (last entry: after the final layer)
     * @param comparison the reduced model's embeddings against the reference (default: the same model unreduced)
     */
    public record ReductionResult(String reduction, String pooling, int threads, String model, String reference, int texts, long tokens,
            double[] tokensPerLayer, double baseSeconds, double reducedSeconds, double speedup, Comparison comparison) {
    }

    /**
     * Embeds {@code texts} with {@code model} with and without {@code reduction}, times both (each after a
     * warm-up pass over the same texts) and compares the reduced embeddings with {@code reference}'s
     * ({@code null}: the unreduced model's).
     */
    public static ReductionResult runReduced(Path model, Path reference, List<String> texts, Pooling pooling, int threads,
            TokenReduction reduction) {
        return runReduced(model, reference, texts, pooling, threads, reduction, WeightSource.Opener.FLOAT);
    }

    /** As {@link #runReduced(Path, Path, List, Pooling, int, TokenReduction)}, reading checkpoints through {@code opener}. */
    public static ReductionResult runReduced(Path model, Path reference, List<String> texts, Pooling pooling, int threads,
            TokenReduction reduction, WeightSource.Opener opener) {
        if (texts.isEmpty()) {
            throw new SlimqException(Failure.USAGE, "no texts to embed");
        }
        try (WorkPool pool = new WorkPool(threads)) {
            Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
            Path tokFile = dir.resolve("tokenizer.json");
            if (!Files.isRegularFile(tokFile)) {
                throw new SlimqException(Failure.BAD_INPUT, model + ": no tokenizer.json next to the weights; eval needs it");
            }
            Tokenizer tokenizer = Tokenizer.load(tokFile);
            BertWeights weights;
            try (Checkpoint ck = Checkpoint.open(model)) {
                weights = BertWeights.load(opener.open(ck));
            }
            BertEncoder encoder = new BertEncoder(weights, pool, LinearKernel.VECTOR);
            List<List<Encoding>> batches = new ArrayList<>();
            long tokens = 0;
            for (int start = 0; start < texts.size(); start += BATCH) {
                List<Encoding> batch = new ArrayList<>();
                for (int i = start; i < Math.min(texts.size(), start + BATCH); i++) {
                    Encoding e = tokenizer.encode(texts.get(i), true);
                    if (e.size() > weights.maxSequence()) {
                        e = e.truncate(weights.maxSequence());
                    }
                    tokens += e.size();
                    batch.add(e);
                }
                batches.add(batch);
            }
            int layers = weights.layers().length;
            float[][] base = new float[texts.size()][];
            float[][] reduced = new float[texts.size()][];
            double[] perLayer = new double[layers + 1];
            // Warm-up passes, then the timed ones.
            passes(encoder, batches, pooling, null, new float[texts.size()][], null);
            passes(encoder, batches, pooling, reduction, new float[texts.size()][], null);
            long t0 = System.nanoTime();
            passes(encoder, batches, pooling, null, base, null);
            long t1 = System.nanoTime();
            passes(encoder, batches, pooling, reduction, reduced, perLayer);
            long t2 = System.nanoTime();
            for (int l = 0; l <= layers; l++) {
                perLayer[l] /= texts.size();
            }
            float[][] ref = reference == null ? base : embed(reference, texts, pooling, pool, opener).embeddings();
            if (ref[0].length != reduced[0].length) {
                throw new SlimqException(Failure.USAGE, "the model's embeddings have " + reduced[0].length
                        + " dimensions, the reference's " + ref[0].length + "; they cannot be compared");
            }
            double baseSecs = (t1 - t0) / 1e9;
            double redSecs = (t2 - t1) / 1e9;
            return new ReductionResult(reduction.spec(), pooling.cliName(), threads, model.toString(),
                    reference == null ? model + " (unreduced)" : reference.toString(), texts.size(), tokens, perLayer, baseSecs, redSecs,
                    baseSecs / redSecs, compare(reduced, ref));
        }
    }

    private static void passes(BertEncoder encoder, List<List<Encoding>> batches, Pooling pooling, TokenReduction reduction, float[][] out,
            double[] perLayer) {
        int at = 0;
        for (List<Encoding> batch : batches) {
            BertEncoder.Reduced r = encoder.embedReduced(batch, pooling, reduction);
            System.arraycopy(r.embeddings(), 0, out, at, r.embeddings().length);
            at += r.embeddings().length;
            if (perLayer != null) {
                for (int[] counts : r.tokensPerLayer()) {
                    for (int l = 0; l < counts.length; l++) {
                        perLayer[l] += counts[l];
                    }
                }
            }
        }
    }

    /** The first {@code max - 1} tokens and the last (the closing {@code [SEP]} / {@code </s>}). */

    /** Cosines per text (embeddings are unit length) and the agreement of nearest neighbours. */
    public static Comparison compare(float[][] a, float[][] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("different numbers of embeddings: " + a.length + " and " + b.length);
        }
        double sum = 0;
        double min = Double.POSITIVE_INFINITY;
        int minIndex = -1;
        for (int i = 0; i < a.length; i++) {
            double c = dot(a[i], b[i]);
            sum += c;
            if (c < min) {
                min = c;
                minIndex = i;
            }
        }
        return new Comparison(sum / a.length, min, minIndex, neighbourOverlap(a, b, 10));
    }

    static double neighbourOverlap(float[][] a, float[][] b, int k) {
        int n = a.length;
        int kk = Math.min(k, n - 1);
        if (kk <= 0) {
            return 1.0;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            Set<Integer> na = new HashSet<>(neighbours(a, i, kk));
            int shared = 0;
            for (int j : neighbours(b, i, kk)) {
                if (na.contains(j)) {
                    shared++;
                }
            }
            total += (double) shared / kk;
        }
        return total / n;
    }

    /** The {@code k} texts most similar to text {@code i} (itself excluded); ties by lower index. */
    private static List<Integer> neighbours(float[][] e, int i, int k) {
        Integer[] idx = new Integer[e.length];
        double[] sim = new double[e.length];
        for (int j = 0; j < e.length; j++) {
            idx[j] = j;
            sim[j] = j == i ? Double.NEGATIVE_INFINITY : dot(e[i], e[j]);
        }
        Arrays.sort(idx, (x, y) -> sim[x] != sim[y] ? Double.compare(sim[y], sim[x]) : Integer.compare(x, y));
        return Arrays.asList(idx).subList(0, k);
    }

    private static double dot(float[] x, float[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) x[i] * y[i];
        }
        return s;
    }
}
