package dev.slimq.runtime.calibrate;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.bert.BertEncoder;
import dev.slimq.runtime.bert.BertWeights;
import dev.slimq.runtime.bert.LinearKernel;
import dev.slimq.core.layout.Architecture;
import dev.slimq.runtime.llama.LlamaDecoder;
import dev.slimq.runtime.llama.LlamaWeights;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SequencedMap;

/**
 * {@code slimq calibrate} for BERT-family encoders and Llama-family decoders: runs the forward pass over calibration texts and
 * writes the statistics file of DESIGN.md section 4, which {@code prune} reads for layer importance,
 * unit scores and bias compensation (see {@link ActivationStats} for what each tensor is).
 *
 * <p>The file is F32 safetensors, written atomically; {@code __metadata__} ties it to what made it,
 * so a consumer can refuse statistics of another model or text: {@value #MODEL_FINGERPRINT} (SHA-256
 * over every shard's safetensors header, length prefix included, in shard order, then the bytes of
 * {@code config.json}: names, shapes, dtypes and offsets identify the weights without hashing
 * gigabytes), {@value #TEXT_FINGERPRINT} (SHA-256 of the texts used, each line UTF-8 followed by
 * {@code \n}), {@value #TOKENS} (non-padding tokens counted), {@value #TEXTS}, {@value #FORMAT} and
 * {@value #FORMAT_VERSION}. Nothing time- or host-dependent goes in, so the same inputs give the
 * same bytes, for any thread count.
 *
 * <p>Texts are tokenized with the checkpoint's {@code tokenizer.json}. Encoders: one sequence per
 * text; a text longer than the position table is cut to fit (keeping its closing special token), and
 * {@code maxTokens} stops the run once that many tokens are taken, cutting the last text the same way.
 * Decoders: the texts are one token stream, exactly as {@code slimq eval} builds it for perplexity
 * (joined by newlines, BOS first when the tokenizer has one), cut at {@code maxTokens} and run in
 * non-overlapping windows of {@code window} tokens (at most the position table), each from position
 * 0; the text fingerprint then covers every text given, {@value #TOKENS} says how much of the stream
 * was used, and {@value #WINDOW} is recorded.
 */
public final class Calibrator {
    public static final String FORMAT = "format";
    public static final String FORMAT_NAME = "slimq-calibration-stats";
    public static final String FORMAT_VERSION = "format_version";
    /** The version of the statistics file layout this class writes. */
    public static final int VERSION = 1;
    public static final String MODEL_FINGERPRINT = "model_fingerprint";
    public static final String TEXT_FINGERPRINT = "text_fingerprint";
    public static final String TOKENS = "tokens";
    public static final String TEXTS = "texts";
    public static final String ARCHITECTURE = "architecture";
    public static final String WINDOW = "window";
    /** Decoder window when none is given: long enough for real context, short enough for CPU attention. */
    public static final int DEFAULT_WINDOW = 512;

    /** Texts per forward batch: bounds activation memory; batching does not change the result. */
    static final int BATCH = 32;

    private Calibrator() {
    }

    /**
     * What to do.
     *
     * @param textsFile where {@code texts} came from (null for bundled texts): an input the output
     *     must not overwrite
     * @param maxTokens stop after this many tokens; 0 for no limit
     * @param window decoder window in tokens (capped at the position table); ignored for encoders
     * @param opener how the checkpoint's weights are read ({@link WeightSource.Opener#FLOAT}, or the
     *     CLI's, which dequantizes quantized formats)
     */
    public record Request(Path model, List<String> texts, Path textsFile, Path output, long maxTokens, int window, int threads,
            boolean force, WeightSource.Opener opener) {
        public Request {
            texts = List.copyOf(texts);
            java.util.Objects.requireNonNull(opener, "opener");
        }

        /** A request for a float checkpoint. */
        public Request(Path model, List<String> texts, Path textsFile, Path output, long maxTokens, int window, int threads,
                boolean force) {
            this(model, texts, textsFile, output, maxTokens, window, threads, force, WeightSource.Opener.FLOAT);
        }

        /** A request for a float checkpoint with the {@link #DEFAULT_WINDOW default} decoder window. */
        public Request(Path model, List<String> texts, Path textsFile, Path output, long maxTokens, int threads, boolean force) {
            this(model, texts, textsFile, output, maxTokens, DEFAULT_WINDOW, threads, force);
        }
    }

    /** What was done; {@code seconds} covers tokenization, forward passes and statistics, not loading. */
    public record Result(String output, String architecture, int layers, int hidden, int texts, long tokens, int truncated,
            double loadSeconds, double seconds, double tokensPerSecond, String modelFingerprint, String textFingerprint,
            double[] cosInOut) {
    }

    /** The statistics of a run before writing. */
    public record Collected(SequencedMap<String, float[]> tensors, Map<String, String> metadata, int texts, long tokens,
            int truncated, double[] cosInOut) {
    }

    public static Result run(Request req) {
        if (req.texts().isEmpty()) {
            throw new SlimqException(Failure.USAGE, "no calibration texts");
        }
        if (req.maxTokens() < 0) {
            throw new SlimqException(Failure.USAGE, "--max-tokens must be positive");
        }
        if (req.window() < 1) {
            throw new SlimqException(Failure.USAGE, "--window must be at least 1, got " + req.window());
        }
        List<Path> inputs = new ArrayList<>();
        inputs.add(req.model());
        if (req.textsFile() != null) {
            inputs.add(req.textsFile());
        }
        OutputPaths.check(req.output(), inputs, req.force());
        long t0 = System.nanoTime();
        Path dir = Files.isDirectory(req.model()) ? req.model() : req.model().toAbsolutePath().getParent();
        Path tokFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new SlimqException(Failure.BAD_INPUT, req.model() + ": no tokenizer.json next to the weights; calibrate needs it");
        }
        Tokenizer tokenizer = Tokenizer.load(tokFile);
        BertWeights bert = null;
        LlamaWeights llama = null;
        String modelFingerprint;
        int window = req.window();
        try (Checkpoint ck = Checkpoint.open(req.model())) {
            WeightSource source = req.opener().open(ck);
            Architecture arch = source.layout().config().map(c -> c.architecture()).orElse(Architecture.UNKNOWN);
            if (arch.family() == Architecture.Family.DECODER) {
                llama = LlamaWeights.load(source);
                OptionalInt maxPos = ck.layout().config().orElseThrow().maxPositionEmbeddings();
                if (maxPos.isPresent() && maxPos.getAsInt() > 0) {
                    window = Math.min(window, maxPos.getAsInt());
                }
            } else {
                bert = BertWeights.load(source);
            }
            modelFingerprint = ck.headerFingerprint();
        }
        long t1 = System.nanoTime();
        Collected c;
        try (WorkPool pool = new WorkPool(req.threads())) {
            c = llama != null
                    ? collect(new LlamaDecoder(llama, pool, LinearKernel.VECTOR), tokenizer, req.texts(), req.maxTokens(), window)
                    : collect(new BertEncoder(bert, pool, LinearKernel.VECTOR), tokenizer, req.texts(), req.maxTokens());
        }
        Architecture arch = llama != null ? llama.architecture() : bert.architecture();
        int layers = llama != null ? llama.layers().length : bert.layers().length;
        int hidden = llama != null ? llama.hidden() : bert.hidden();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT, FORMAT_NAME);
        meta.put(FORMAT_VERSION, Integer.toString(VERSION));
        meta.put(ARCHITECTURE, arch.toString().toLowerCase(Locale.ROOT));
        meta.put(MODEL_FINGERPRINT, modelFingerprint);
        meta.putAll(c.metadata());
        write(req.output(), c.tensors(), meta);
        long t2 = System.nanoTime();
        double secs = (t2 - t1) / 1e9;
        return new Result(req.output().toString(), meta.get(ARCHITECTURE), layers, hidden, c.texts(),
                c.tokens(), c.truncated(), (t1 - t0) / 1e9, secs, c.tokens() / secs, modelFingerprint, c.metadata().get(TEXT_FINGERPRINT),
                c.cosInOut());
    }

    /**
     * The decoder statistics of {@code texts} as one token stream (see the class comment), in windows
     * of {@code window} tokens; {@code maxTokens} (0: no limit) cuts the stream. The metadata holds the
     * text fingerprint (every text), the text count, the tokens used and the window.
     */
    public static Collected collect(LlamaDecoder decoder, Tokenizer tokenizer, List<String> texts, long maxTokens, int window) {
        if (window < 1) {
            throw new SlimqException(Failure.USAGE, "--window must be at least 1, got " + window);
        }
        LlamaWeights w = decoder.weights();
        MessageDigest textHash = sha256();
        for (String text : texts) {
            textHash.update((text + "\n").getBytes(StandardCharsets.UTF_8));
        }
        int[] body = tokenizer.encode(String.join("\n", texts), false).ids();
        OptionalInt bos = tokenizer.bosId();
        int[] stream = new int[body.length + (bos.isPresent() ? 1 : 0)];
        if (bos.isPresent()) {
            stream[0] = bos.getAsInt();
        }
        System.arraycopy(body, 0, stream, stream.length - body.length, body.length);
        int n = maxTokens > 0 ? (int) Math.min(stream.length, maxTokens) : stream.length;
        if (n == 0) {
            throw new SlimqException(Failure.USAGE, "the calibration texts gave no tokens");
        }
        ActivationStats stats = new ActivationStats(ActivationStats.DECODER_MODULES, w.layers().length, w.hidden());
        for (int s = 0; s < n; s += window) {
            stats.observe(decoder, java.util.Arrays.copyOfRange(stream, s, Math.min(n, s + window)));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(TEXT_FINGERPRINT, "sha256:" + HexFormat.of().formatHex(textHash.digest()));
        meta.put(TEXTS, Integer.toString(texts.size()));
        meta.put(TOKENS, Long.toString(stats.tokens()));
        meta.put(WINDOW, Integer.toString(window));
        return new Collected(stats.tensors(), meta, texts.size(), stats.tokens(), n < stream.length ? 1 : 0, stats.cosInOut());
    }

    /**
     * Tokenizes {@code texts} in order and accumulates their statistics; the metadata holds the text
     * fingerprint, text and token counts (of what was actually used under {@code maxTokens}).
     */
    public static Collected collect(BertEncoder encoder, Tokenizer tokenizer, List<String> texts, long maxTokens) {
        BertWeights w = encoder.weights();
        ActivationStats stats = new ActivationStats(w.layers().length, w.hidden());
        MessageDigest textHash = sha256();
        long taken = 0;
        int used = 0;
        int truncated = 0;
        List<Encoding> batch = new ArrayList<>();
        for (String text : texts) {
            if (maxTokens > 0 && maxTokens - taken < 2) {
                break;
            }
            Encoding e = tokenizer.encode(text, true);
            if (e.size() == 0) {
                continue;
            }
            int limit = w.maxSequence();
            if (maxTokens > 0) {
                limit = (int) Math.min(limit, maxTokens - taken);
            }
            if (e.size() > limit) {
                e = e.truncate(limit);
                truncated++;
            }
            textHash.update((text + "\n").getBytes(StandardCharsets.UTF_8));
            used++;
            taken += e.size();
            batch.add(e);
            if (batch.size() == BATCH) {
                stats.observe(encoder, batch);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            stats.observe(encoder, batch);
        }
        if (stats.tokens() == 0) {
            throw new SlimqException(Failure.USAGE, "the calibration texts gave no tokens");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(TEXT_FINGERPRINT, "sha256:" + HexFormat.of().formatHex(textHash.digest()));
        meta.put(TEXTS, Integer.toString(used));
        meta.put(TOKENS, Long.toString(stats.tokens()));
        return new Collected(stats.tensors(), meta, used, stats.tokens(), truncated, stats.cosInOut());
    }

    /** Writes the tensors (a one-element array becomes a scalar, shape []) as F32, atomically. */
    static void write(Path out, SequencedMap<String, float[]> tensors, Map<String, String> metadata) {
        List<TensorInfo> planned = new ArrayList<>();
        for (Map.Entry<String, float[]> t : tensors.entrySet()) {
            boolean scalar = t.getKey().endsWith(".cos_in_out");
            planned.add(scalar ? TensorInfo.planned(t.getKey(), DType.F32) : TensorInfo.planned(t.getKey(), DType.F32, t.getValue().length));
        }
        try {
            Path parent = out.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new SlimqException(Failure.IO, "cannot create the directory of " + out + ": " + e.getMessage());
        }
        try (SafetensorsWriter writer = SafetensorsWriter.create(out, WritePlan.of(planned, metadata))) {
            for (Map.Entry<String, float[]> t : tensors.entrySet()) {
                writer.writeFloats(t.getKey(), t.getValue());
            }
            writer.commit();
        }
    }


    /** The first {@code max - 1} tokens and the last (the closing {@code [SEP]} / {@code </s>}). */

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
