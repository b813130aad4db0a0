package dev.slimq.prune.tokens;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code slimq reduce-tokens}: reduces token tensors of one safetensors file into another. Each reduced
 * tensor {@code NAME} [batch, tokens, dim] becomes [batch, K, dim] in its own dtype, with
 * {@code NAME.kept_index} (I64 [batch, K], ascending original positions) and {@code NAME.sizes} (F32
 * [batch, K], originals per kept token); every other tensor is copied unchanged. Batch items run in
 * parallel; results are identical for any thread count. Memory: one input tensor (mapped) and its output.
 */
public final class TokenReductionService {
    /** Suffix of the kept-position tensor written next to each reduced tensor. */
    public static final String KEPT_INDEX = ".kept_index";
    /** Suffix of the group-size tensor written next to each reduced tensor. */
    public static final String SIZES = ".sizes";

    private TokenReductionService() {
    }

    /**
     * What to reduce and how.
     *
     * @param keep      fraction of tokens to keep in (0, 1], or NaN when {@code tokens} (or the method) sets it
     * @param tokens    the budget K, or 0
     * @param tensors   names to reduce; empty = every 3-D float tensor except the scores
     * @param scores    name of the scores tensor ([batch, tokens] or [batch, heads, tokens]), or null
     * @param frames    frames per item, or 0 for none
     * @param keepFirst keep token 0 ([CLS]) untouched and reduce the others
     */
    public record Request(TokenMethod method, double keep, int tokens, List<String> tensors, String scores, int frames, boolean keepFirst) {
        public Request {
            tensors = List.copyOf(tensors);
            if (!Double.isNaN(keep) && !(keep > 0 && keep <= 1)) {
                throw new SlimqException(Failure.USAGE, "--keep must be a fraction in (0, 1], got " + keep);
            }
            if (tokens < 0 || (tokens > 0 && !Double.isNaN(keep))) {
                throw new SlimqException(Failure.USAGE, "give either a keep fraction or a token count (positive), not both");
            }
            if (frames < 0) {
                throw new SlimqException(Failure.USAGE, "--frames must be positive, got " + frames);
            }
        }
    }

    /** Per reduced tensor: shape change and quality metrics averaged over the batch. */
    public record TensorReport(String name, String dtype, long batch, long tokensIn, long tokensOut, long dim,
                               double pooledFidelity, double coverage, Double attentionError) {
    }

    public record Result(String method, List<TensorReport> tensors, List<String> copied, long outputBytes) {
    }

    /** Reduces one item, optionally protecting its first token; the building block of {@link #run}. */
    public static Reduction reduce(TokenMethod method, TokenItem item, int budget, boolean keepFirst) {
        if (budget < 1 || budget > item.tokens()) {
            throw new IllegalArgumentException("budget " + budget + " outside [1, " + item.tokens() + "]");
        }
        if (method.needsScores() && item.scores() == null) {
            throw new SlimqException(Failure.UNSUPPORTED, method.name() + " ranks tokens by attention: give --scores");
        }
        if (!keepFirst) {
            return Reduction.of(item, method.group(item, budget));
        }
        if (budget < 2) {
            throw new IllegalArgumentException("keeping the first token needs a budget of at least 2, got " + budget);
        }
        int[] rest = method.group(item.tail(1), budget - 1);
        int[] g = new int[item.tokens()];
        for (int i = 0; i < rest.length; i++) {
            g[i + 1] = rest[i] < 0 ? -1 : rest[i] + 1;
        }
        return Reduction.of(item, g);
    }

    /** The budget K for {@code tokens} tokens, or a {@link SlimqException} when the request cannot work. */
    public static int budget(Request r, int tokens) {
        int protectedTokens = r.keepFirst() ? 1 : 0;
        int n = tokens - protectedTokens;
        if (n < 1) {
            throw new SlimqException(Failure.UNSUPPORTED, "nothing to reduce: " + tokens + " token(s)" + (r.keepFirst() ? " with --keep-first" : ""));
        }
        int frames = Math.max(1, r.frames());
        if (n % frames != 0) {
            throw new SlimqException(Failure.USAGE, n + " tokens" + (r.keepFirst() ? " (after the first)" : "") + " do not split into " + frames + " frames");
        }
        int k;
        if (r.method() instanceof GridPool) {
            int natural = GridPool.budgetFor(n, frames);
            if (natural < 0) {
                throw new SlimqException(Failure.UNSUPPORTED, "pool needs a square token grid per frame; " + (n / frames) + " tokens per frame is not one");
            }
            k = natural + protectedTokens;
            int asked = r.tokens() > 0 ? r.tokens() : Double.isNaN(r.keep()) ? k : (int) Math.round(r.keep() * tokens);
            if (asked != k) {
                throw new SlimqException(Failure.UNSUPPORTED, "2×2 pooling keeps " + k + " of " + tokens + " tokens, not " + asked + "; ask for --tokens " + k + " or leave the budget out");
            }
            return k;
        }
        if (r.tokens() > 0) {
            k = r.tokens();
        } else if (!Double.isNaN(r.keep())) {
            k = (int) Math.max(1 + protectedTokens, Math.round(r.keep() * tokens));
        } else {
            throw new SlimqException(Failure.USAGE, "give a budget: --keep, --tokens or --preset");
        }
        if (k > tokens) {
            throw new SlimqException(Failure.USAGE, "budget " + k + " exceeds the " + tokens + " tokens");
        }
        if (r.keepFirst() && k < 2) {
            throw new SlimqException(Failure.USAGE, "--keep-first needs a budget of at least 2 tokens");
        }
        return k;
    }

    public static Result run(Path in, Path out, Request req, boolean force, int threads) {
        OutputPaths.check(out, List.of(in), force);
        try (SafetensorsFile file = SafetensorsFile.open(in);
             WorkPool pool = new WorkPool(threads)) {
            return run(file, out, req, pool);
        }
    }

    private record Item(Reduction reduction, TokenMetrics metrics) {
    }

    private static Result run(SafetensorsFile file, Path out, Request req, WorkPool pool) {
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : file.tensors()) {
            byName.put(t.name(), t);
        }
        TensorInfo scores = null;
        if (req.scores() != null) {
            scores = byName.get(req.scores());
            if (scores == null) {
                throw new SlimqException(Failure.USAGE, "no tensor named '" + req.scores() + "' (--scores) in " + file.path());
            }
            if ((scores.rank() != 2 && scores.rank() != 3) || !FloatCodec.isDecodable(scores.dtype())) {
                throw new SlimqException(Failure.BAD_INPUT, "scores '" + scores.name() + "' must be float [batch, tokens] or [batch, heads, tokens], got "
                        + scores.dtype().wireName() + " " + scores.shapeString());
            }
        }
        if (req.method().needsScores() && scores == null) {
            throw new SlimqException(Failure.UNSUPPORTED, req.method().name() + " ranks tokens by attention and needs --scores");
        }
        if (req.method().needsFrames() && req.frames() == 0) {
            throw new SlimqException(Failure.UNSUPPORTED, req.method().name() + " merges across frames and needs --frames");
        }
        Set<String> targets = new LinkedHashSet<>();
        if (req.tensors().isEmpty()) {
            for (TensorInfo t : byName.values()) {
                if (t.rank() == 3 && reducible(t.dtype()) && !t.name().equals(req.scores())) {
                    targets.add(t.name());
                }
            }
            if (targets.isEmpty()) {
                throw new SlimqException(Failure.UNSUPPORTED, "no 3-D float tensor to reduce in " + file.path());
            }
        } else {
            for (String name : req.tensors()) {
                TensorInfo t = byName.get(name);
                if (t == null) {
                    throw new SlimqException(Failure.USAGE, "no tensor named '" + name + "' (--tensor) in " + file.path());
                }
                if (t.rank() != 3 || !reducible(t.dtype())) {
                    throw new SlimqException(Failure.UNSUPPORTED, "'" + name + "' is " + t.dtype().wireName() + " " + t.shapeString()
                            + "; token tensors are float [batch, tokens, dim]");
                }
                if (name.equals(req.scores())) {
                    throw new SlimqException(Failure.USAGE, "'" + name + "' is the scores tensor; it cannot be reduced too");
                }
                targets.add(name);
            }
        }
        // Plan: validate every target before writing anything.
        List<TensorInfo> planned = new ArrayList<>();
        Map<String, Integer> budgets = new LinkedHashMap<>();
        for (TensorInfo t : byName.values()) {
            if (!targets.contains(t.name())) {
                planned.add(TensorInfo.planned(t.name(), t.dtype(), t.shape()));
                continue;
            }
            long b = t.dim(0);
            long n = t.dim(1);
            long d = t.dim(2);
            if (b < 1 || n < 1 || d < 1) {
                throw new SlimqException(Failure.UNSUPPORTED, "'" + t.name() + "' " + t.shapeString() + " has no tokens to reduce");
            }
            if (Math.multiplyExact(n, d) > Integer.MAX_VALUE - 8 || b > Integer.MAX_VALUE) {
                throw new SlimqException(Failure.UNSUPPORTED, "'" + t.name() + "' " + t.shapeString() + ": one batch item exceeds 2^31 values");
            }
            for (String suffix : List.of(KEPT_INDEX, SIZES)) {
                if (byName.containsKey(t.name() + suffix)) {
                    throw new SlimqException(Failure.BAD_INPUT, "'" + t.name() + suffix + "' already exists in the input; it would be overwritten");
                }
            }
            if (scores != null) {
                long sb = scores.dim(0);
                long sn = scores.dim(scores.rank() - 1);
                if (sb != b || sn != n) {
                    throw new SlimqException(Failure.BAD_INPUT, "scores '" + scores.name() + "' " + scores.shapeString() + " do not match '"
                            + t.name() + "' " + t.shapeString() + " (batch and tokens must agree)");
                }
            }
            int k = budget(req, (int) n);
            budgets.put(t.name(), k);
            planned.add(TensorInfo.planned(t.name(), t.dtype(), b, k, d));
            planned.add(TensorInfo.planned(t.name() + KEPT_INDEX, DType.I64, b, k));
            planned.add(TensorInfo.planned(t.name() + SIZES, DType.F32, b, k));
        }
        Map<String, String> metadata = new LinkedHashMap<>(file.metadata());
        metadata.put("slimq.reduce_tokens", req.method().name());
        WritePlan plan = WritePlan.of(planned, metadata);
        List<TensorReport> reports = new ArrayList<>();
        List<String> copied = new ArrayList<>();
        try (SafetensorsWriter writer = SafetensorsWriter.create(out, plan)) {
            for (TensorInfo t : byName.values()) {
                if (!targets.contains(t.name())) {
                    try (TensorView v = file.map(t.name()); SafetensorsWriter.TensorSink s = writer.open(t.name())) {
                        s.write(v.segment());
                    }
                    copied.add(t.name());
                    continue;
                }
                reports.add(reduceTensor(file, writer, t, scores, budgets.get(t.name()), req, pool));
            }
            writer.commit();
        }
        return new Result(req.method().name(), reports, copied, plan.fileSize());
    }

    private static boolean reducible(DType d) {
        return d.isFloat() && FloatCodec.isDecodable(d) && FloatCodec.isEncodable(d);
    }

    private static TensorReport reduceTensor(SafetensorsFile file, SafetensorsWriter writer, TensorInfo t, TensorInfo scores, int k,
                                             Request req, WorkPool pool) {
        int b = (int) t.dim(0);
        int n = (int) t.dim(1);
        int d = (int) t.dim(2);
        int frames = Math.max(1, req.frames());
        List<Item> items;
        try (TensorView v = file.map(t.name()); TensorView sv = scores == null ? null : file.map(scores.name())) {
            int heads = scores == null || scores.rank() == 2 ? 1 : (int) scores.dim(1);
            items = pool.map(b, i -> {
                float[] x = new float[n * d];
                v.readFloats((long) i * n * d, x, 0, n * d);
                float[] s = null;
                if (sv != null) {
                    s = new float[n];
                    float[] row = new float[n];
                    for (int h = 0; h < heads; h++) {
                        sv.readFloats(((long) i * heads + h) * n, row, 0, n);
                        for (int j = 0; j < n; j++) {
                            s[j] += row[j];
                        }
                    }
                    for (int j = 0; j < n; j++) {
                        s[j] /= heads;
                    }
                }
                TokenItem item = new TokenItem(i, n, d, x, s, frames);
                Reduction r = reduce(req.method(), item, k, req.keepFirst());
                if (r.tokens() != k) {
                    throw new IllegalStateException(req.method().name() + " kept " + r.tokens() + " tokens, budget " + k);
                }
                return new Item(r, TokenMetrics.of(item, r));
            });
        }
        try (SafetensorsWriter.TensorSink s = writer.open(t.name())) {
            for (Item it : items) {
                s.writeFloats(it.reduction().features(), 0, k * d);
            }
        }
        ByteBuffer idx = ByteBuffer.allocate(Math.multiplyExact(Math.multiplyExact(b, k), 8)).order(ByteOrder.LITTLE_ENDIAN);
        float[] sizes = new float[b * k];
        double fidelity = 0;
        double coverage = 0;
        double attention = 0;
        boolean hasAttention = true;
        for (int i = 0; i < b; i++) {
            Item it = items.get(i);
            for (int j = 0; j < k; j++) {
                idx.putLong(it.reduction().keptIndex()[j]);
            }
            System.arraycopy(it.reduction().sizes(), 0, sizes, i * k, k);
            fidelity += it.metrics().pooledFidelity();
            coverage += it.metrics().coverage();
            if (it.metrics().attentionError() == null) {
                hasAttention = false;
            } else {
                attention += it.metrics().attentionError();
            }
        }
        writer.write(t.name() + KEPT_INDEX, idx.flip());
        writer.writeFloats(t.name() + SIZES, sizes);
        return new TensorReport(t.name(), t.dtype().wireName().toUpperCase(Locale.ROOT), b, n, k, d, fidelity / b, coverage / b,
                scores != null && hasAttention ? attention / b : null);
    }
}
