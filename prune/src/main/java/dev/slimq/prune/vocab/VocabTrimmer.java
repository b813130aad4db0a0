package dev.slimq.prune.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.json.Json;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code slimq trim-vocab}: keeps a token set and drops every other row of the embedding and output
 * head, rewriting the tokenizer and configs to the new, consecutive ids.
 *
 * <p>The kept set is the union of the requested ids ({@code --keep-ids}) and of the corpus tokens
 * occurring at least {@code minCount} times, plus everything the model needs regardless of text: every
 * added/special token, the special ids named in config.json and generation_config.json, the WordPiece or
 * BPE unknown token, byte-level BPE's 256 byte tokens (any text can then still be encoded) and, for
 * BPE, every token on a kept token's merge path (see {@link TokenSelection}). New ids follow the original
 * order. The new vocabulary size is rounded up to {@code multipleOf} with zero rows no token maps to,
 * because matrix kernels and tensor-parallel splits want aligned row counts.
 *
 * <p>Rows are copied as raw bytes (no float round trip), so kept tokens' embeddings are bit-identical.
 * Corpus files are tokenized whole, without special tokens; encoding the corpus with the trimmed
 * tokenizer yields exactly the original ids renumbered. For Unigram tokenizers the scores are kept as
 * they are, the unknown piece, the {@code <0xNN>} pieces with byte_fallback and the lowest-scoring piece
 * are kept too (why the last is needed, and why that makes the kept text's segmentation unchanged:
 * {@link TokenSelection}); SentencePiece model files, which would describe the old vocabulary, are left out.
 */
public final class VocabTrimmer {
    private VocabTrimmer() {
    }

    /**
     * What to keep.
     *
     * @param keepIds    files of token ids, one per line (blank lines and {@code #} comments ignored)
     * @param corpora    text files tokenized with the checkpoint's tokenizer
     * @param minCount   a corpus token is kept when it occurs at least this often
     * @param multipleOf the new vocabulary size is rounded up to a multiple of this
     */
    public record Options(List<Path> keepIds, List<Path> corpora, int minCount, int multipleOf, boolean force) {
        public Options {
            keepIds = List.copyOf(keepIds);
            corpora = List.copyOf(corpora);
            if (keepIds.isEmpty() && corpora.isEmpty()) {
                throw new SlimqException(Failure.USAGE, "give at least one --keep-ids FILE or --corpus TEXT");
            }
            if (minCount < 1) {
                throw new SlimqException(Failure.USAGE, "--min-count must be at least 1, got " + minCount);
            }
            if (multipleOf < 1) {
                throw new SlimqException(Failure.USAGE, "--multiple-of must be at least 1, got " + multipleOf);
            }
        }
    }

    /**
     * The outcome.
     *
     * @param tokensBefore   tokenizer vocabulary size before (model vocabulary plus added tokens)
     * @param tokensAfter    tokens kept
     * @param vocabSizeAfter rows of the trimmed tables: {@code tokensAfter} rounded up; the extra rows
     *                       are zero and unused
     * @param requested      tokens asked for (ids files and corpus) before adding what the tokenizer needs
     * @param keptIds        original id of each new id, in new-id order (the kept-id table)
     * @param trimmedTensors the embedding and output-head tensors whose rows were gathered
     */
    public record Result(Path input, Path output, String tokenizerModel, int tokensBefore, int tokensAfter,
                         long vocabSizeBefore, long vocabSizeAfter, int padRows, int requested, int mergesBefore,
                         int mergesAfter, long parametersBefore, long parametersAfter, List<String> trimmedTensors,
                         int[] keptIds) {
    }

    /** SentencePiece model files that describe the vocabulary; a trimmed Unigram checkpoint leaves them out. */
    static final List<String> SENTENCEPIECE_FILES = List.of("sentencepiece.bpe.model", "spiece.model", "tokenizer.model");

    /** Trims {@code in} into {@code out} (atomically; {@code in} is never modified). */
    public static Result run(Path in, Path out, Options opt) {
        OutputPaths.check(out, List.of(in), opt.force());
        if (!Files.isDirectory(in) || !Files.isRegularFile(in.resolve("tokenizer.json"))) {
            throw new SlimqException(Failure.USAGE, in + " must be a checkpoint directory with a tokenizer.json");
        }
        if (out.getFileName().toString().endsWith(".safetensors")) {
            throw new SlimqException(Failure.USAGE, "the output must be a directory: the tokenizer is rewritten too");
        }
        ObjectNode tok = (ObjectNode) readJson(in.resolve("tokenizer.json"));
        ObjectNode model = (ObjectNode) tok.path("model");
        String type = model.path("type").asText(model.has("merges") ? "BPE" : model.has("max_input_chars_per_word")
                ? "WordPiece" : model.path("vocab").isArray() ? "Unigram" : "");
        if (!type.equals("BPE") && !type.equals("WordPiece") && !type.equals("Unigram")) {
            throw new SlimqException(Failure.UNSUPPORTED, "tokenizer model " + (type.isEmpty() ? "(none)" : type)
                    + " is not supported by trim-vocab (WordPiece, BPE and Unigram are)");
        }
        boolean unigram = type.equals("Unigram");
        // Loading validates the whole file (a Unigram vocab of [piece, score] pairs, its unk_id, ...).
        Tokenizer tokenizer = Tokenizer.load(in.resolve("tokenizer.json"));

        // Old id space: the model vocabulary plus the added tokens.
        Map<String, Integer> modelVocab = new LinkedHashMap<>();
        if (unigram) {
            // [piece, score] pairs; the id is the position (a repeated piece answers to its last id, as in the library)
            int i = 0;
            for (JsonNode e : model.path("vocab")) {
                modelVocab.put(e.get(0).asText(), i++);
            }
        } else {
            model.path("vocab").properties().forEach(e -> modelVocab.put(e.getKey(), e.getValue().asInt()));
        }
        Map<String, Integer> vocab = new LinkedHashMap<>(modelVocab);
        tok.path("added_tokens").forEach(a -> vocab.put(a.path("content").asText(), a.path("id").asInt()));
        int oldSize = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        String[] idToToken = new String[oldSize];
        vocab.forEach((t, id) -> idToToken[id] = t);
        boolean[] keep = new boolean[oldSize];

        int requested = 0;
        for (Path f : opt.keepIds()) {
            for (int id : readIds(f, idToToken)) {
                keep[id] = true;
            }
        }
        for (Path f : opt.corpora()) {
            int[] counts = new int[oldSize];
            for (int id : tokenizer.encode(readText(f), false).ids()) {
                counts[id]++;
            }
            for (int id = 0; id < oldSize; id++) {
                if (counts[id] >= opt.minCount()) {
                    keep[id] = true;
                }
            }
        }
        for (boolean k : keep) {
            requested += k ? 1 : 0;
        }

        // What the tokenizer and model need whatever the text.
        tok.path("added_tokens").forEach(a -> keep[a.path("id").asInt()] = true);
        keepNamed(keep, vocab, model.path("unk_token"));
        if (unigram && model.hasNonNull("unk_id")) {
            keep[model.get("unk_id").asInt()] = true;
        }
        if (unigram) {
            keep[TokenSelection.unigramMinScorePiece(unigramScores(model))] = true;
        }
        JsonNode config = readJsonIfExists(in.resolve("config.json"));
        JsonNode generation = readJsonIfExists(in.resolve("generation_config.json"));
        for (JsonNode cfg : new JsonNode[] {config, generation}) {
            specialIds(cfg, id -> {
                if (id >= 0 && id < oldSize && idToToken[id] != null) {
                    keep[id] = true;
                }
            });
        }
        boolean byteLevel = type.equals("BPE") && isByteLevel(tok);
        if (byteLevel) {
            for (String b : TokenSelection.byteLevelAlphabet()) {
                keepNamed(keep, vocab, b);
            }
        }
        if ((type.equals("BPE") || unigram) && model.path("byte_fallback").asBoolean(false)) {
            for (int b = 0; b < 256; b++) {
                keepNamed(keep, vocab, String.format("<0x%02X>", b));
            }
        }
        List<TokenSelection.Merge> merges = type.equals("BPE") ? merges(model, modelVocab) : List.of();
        if (type.equals("BPE")) {
            String prefix = model.path("continuing_subword_prefix").asText("");
            String suffix = model.path("end_of_word_suffix").asText("");
            TokenSelection.closeOverMerges(keep, idToToken, vocab, merges, prefix.isEmpty() && suffix.isEmpty());
        }

        int[] newId = new int[oldSize];
        List<Integer> kept = new ArrayList<>();
        for (int id = 0; id < oldSize; id++) {
            newId[id] = keep[id] ? kept.size() : -1;
            if (keep[id]) {
                kept.add(id);
            }
        }
        int tokensAfter = kept.size();
        long newRows = ((long) tokensAfter + opt.multipleOf() - 1) / opt.multipleOf() * opt.multipleOf();

        try (Checkpoint ckpt = Checkpoint.open(in)) {
            ModelLayout layout = ckpt.layout();
            long oldRows = -1;
            for (TensorInfo t : ckpt.tensors()) {
                if (layout.role(t.name()).kind() == TensorRole.Kind.EMBEDDING && t.rank() == 2) {
                    oldRows = t.dim(0);
                    break;
                }
            }
            if (oldRows < 0) {
                throw new SlimqException(Failure.UNSUPPORTED, in + " has no token embedding tensor to trim");
            }
            if (oldRows < oldSize) {
                throw new SlimqException(Failure.BAD_INPUT, in + ": the tokenizer has ids up to " + (oldSize - 1)
                        + " but the embedding only " + oldRows + " rows");
            }
            List<String> gathered = new ArrayList<>();
            List<TensorInfo> planned = new ArrayList<>();
            long paramsBefore = 0;
            long paramsAfter = 0;
            for (TensorInfo t : ckpt.tensors()) {
                paramsBefore += t.elementCount();
                TensorInfo p;
                if (isVocabTable(t, layout, oldRows)) {
                    if (!t.dtype().isFloat() || t.dtype().isSubByte()) {
                        throw new SlimqException(Failure.UNSUPPORTED, t.name() + " is " + t.dtype().wireName()
                                + "; trim-vocab gathers rows of float tables only (dequantize first)");
                    }
                    long[] shape = t.shape();
                    shape[0] = newRows;
                    p = TensorInfo.planned(t.name(), t.dtype(), shape);
                    gathered.add(t.name());
                } else {
                    p = TensorInfo.planned(t.name(), t.dtype(), t.shape());
                }
                paramsAfter += p.elementCount();
                planned.add(p);
            }
            Map<String, String> files = new LinkedHashMap<>();
            int mergesAfter = rewriteTokenizer(tok, model, type, newId, merges, keep, vocab);
            files.put("tokenizer.json", Json.python(tok));
            if (config != null) {
                files.put("config.json", Json.python(rewriteConfig((ObjectNode) config, newId, newRows)));
            }
            if (generation != null) {
                files.put("generation_config.json", Json.python(rewriteConfig((ObjectNode) generation, newId, -1)));
            }
            JsonNode tokConfig = readJsonIfExists(in.resolve("tokenizer_config.json"));
            if (tokConfig != null) {
                files.put("tokenizer_config.json", Json.python(rewriteTokenizerConfig((ObjectNode) tokConfig, newId)));
            }
            if (Files.isRegularFile(in.resolve("vocab.txt")) && type.equals("WordPiece")) {
                StringBuilder sb = new StringBuilder();
                for (int id : kept) {
                    sb.append(idToToken[id]).append('\n');
                }
                files.put("vocab.txt", sb.toString());
            }
            try (CheckpointWriter w = CheckpointWriter.create(out, planned, ckpt.metadata(), 0, ckpt)) {
                if (type.equals("BPE")) {
                    w.omitFile("vocab.json");
                    w.omitFile("merges.txt");
                }
                if (unigram) {
                    // SentencePiece model files would describe the untrimmed vocabulary: tokenizer.json,
                    // rewritten, is the tokenizer of the output (transformers' fast tokenizers load it)
                    for (String f : SENTENCEPIECE_FILES) {
                        w.omitFile(f);
                    }
                }
                files.forEach(w::putFile);
                for (TensorInfo t : ckpt.tensors()) {
                    try (TensorView v = ckpt.map(t.name()); SafetensorsWriter.TensorSink sink = w.open(t.name())) {
                        if (gathered.contains(t.name())) {
                            gatherRows(v.segment(), t.byteCount() / oldRows, kept, newRows - tokensAfter, sink);
                        } else {
                            sink.write(v.segment());
                        }
                    }
                }
                w.commit();
            }
            int[] table = kept.stream().mapToInt(Integer::intValue).toArray();
            return new Result(in, out, type, vocab.size(), tokensAfter, oldRows, newRows, (int) (newRows - tokensAfter),
                    requested, merges.size(), mergesAfter, paramsBefore, paramsAfter, List.copyOf(gathered), table);
        }
    }

    /** Embedding and output-head tables (tied: the one embedding), and a vocabulary-sized head bias. */
    private static boolean isVocabTable(TensorInfo t, ModelLayout layout, long oldRows) {
        TensorRole role = layout.role(t.name());
        if (t.rank() < 1 || t.dim(0) != oldRows) {
            return false;
        }
        return switch (role.kind()) {
            case EMBEDDING, LM_HEAD -> true;
            case BIAS -> t.rank() == 1 && (role.ownerWeight().map(o -> layout.role(o).kind() == TensorRole.Kind.LM_HEAD)
                    .orElse(false) || t.name().endsWith("predictions.bias"));
            default -> false;
        };
    }

    /** Writes the kept rows in order (contiguous runs in one write each), then {@code pad} zero rows. */
    private static void gatherRows(MemorySegment src, long rowBytes, List<Integer> kept, long pad,
                                   SafetensorsWriter.TensorSink sink) {
        int i = 0;
        while (i < kept.size()) {
            int j = i + 1;
            while (j < kept.size() && kept.get(j) == kept.get(j - 1) + 1) {
                j++;
            }
            sink.write(src.asSlice(kept.get(i) * rowBytes, (j - i) * rowBytes));
            i = j;
        }
        long zeros = pad * rowBytes;
        ByteBuffer z = ByteBuffer.allocate((int) Math.min(zeros, 1 << 20));
        while (zeros > 0) {
            int n = (int) Math.min(zeros, z.capacity());
            sink.write(z.duplicate().limit(n));
            zeros -= n;
        }
    }

    /** The Unigram model's piece scores in id order. */
    private static double[] unigramScores(JsonNode model) {
        double[] scores = new double[model.path("vocab").size()];
        int i = 0;
        for (JsonNode e : model.path("vocab")) {
            scores[i++] = e.get(1).doubleValue();
        }
        return scores;
    }

    private static int rewriteTokenizer(ObjectNode tok, ObjectNode model, String type, int[] newId,
                                        List<TokenSelection.Merge> merges, boolean[] keep, Map<String, Integer> vocab) {
        if (type.equals("Unigram")) {
            // kept [piece, score] pairs as written (scores untouched), in the original order
            ArrayNode pieces = Json.MAPPER.createArrayNode();
            int id = 0;
            for (JsonNode e : model.path("vocab")) {
                if (keep[id++]) {
                    pieces.add(e);
                }
            }
            model.set("vocab", pieces);
            if (model.hasNonNull("unk_id")) {
                model.put("unk_id", newId[model.get("unk_id").asInt()]);
            }
            remapAddedAndPostProcessor(tok, newId);
            return 0;
        }
        ObjectNode newVocab = Json.MAPPER.createObjectNode();
        List<Map.Entry<String, Integer>> entries = new ArrayList<>();
        model.path("vocab").properties().forEach(e -> entries.add(Map.entry(e.getKey(), e.getValue().asInt())));
        entries.sort(Map.Entry.comparingByValue());
        for (Map.Entry<String, Integer> e : entries) {
            if (keep[e.getValue()]) {
                newVocab.put(e.getKey(), newId[e.getValue()]);
            }
        }
        model.set("vocab", newVocab);
        int mergesAfter = 0;
        if (type.equals("BPE")) {
            ArrayNode kept = Json.MAPPER.createArrayNode();
            for (TokenSelection.Merge m : merges) {
                if (isKept(m.left(), keep, vocab) && isKept(m.right(), keep, vocab) && isKept(m.result(), keep, vocab)) {
                    kept.add(m.entry());
                }
            }
            model.set("merges", kept);
            mergesAfter = kept.size();
        }
        remapAddedAndPostProcessor(tok, newId);
        return mergesAfter;
    }

    private static void remapAddedAndPostProcessor(ObjectNode tok, int[] newId) {
        for (JsonNode a : tok.path("added_tokens")) {
            ((ObjectNode) a).put("id", newId[a.path("id").asInt()]);
        }
        if (tok.path("post_processor").isObject()) {
            remapPostProcessor((ObjectNode) tok.get("post_processor"), newId);
        }
    }

    private static boolean isKept(String token, boolean[] keep, Map<String, Integer> vocab) {
        Integer id = vocab.get(token);
        return id != null && keep[id];
    }

    private static void remapPostProcessor(ObjectNode pp, int[] newId) {
        switch (pp.path("type").asText()) {
            case "TemplateProcessing" -> pp.path("special_tokens").forEach(s -> {
                ArrayNode ids = (ArrayNode) s.path("ids");
                for (int i = 0; i < ids.size(); i++) {
                    ids.set(i, IntNode.valueOf(remap(newId, ids.get(i).asInt(), "post_processor special token")));
                }
            });
            case "BertProcessing", "RobertaProcessing" -> {
                for (String k : new String[] {"cls", "sep"}) {
                    if (pp.path(k).isArray() && pp.get(k).size() == 2) {
                        ((ArrayNode) pp.get(k)).set(1, IntNode.valueOf(remap(newId, pp.get(k).get(1).asInt(), k)));
                    }
                }
            }
            case "Sequence" -> pp.path("processors").forEach(p -> remapPostProcessor((ObjectNode) p, newId));
            default -> {
            }
        }
    }

    private static int remap(int[] newId, int id, String what) {
        if (id < 0 || id >= newId.length || newId[id] < 0) {
            throw new SlimqException(Failure.BAD_INPUT, what + " id " + id + " is not a token of the tokenizer");
        }
        return newId[id];
    }

    /** config.json / generation_config.json: {@code vocab_size} and every {@code *_token_id(s)}, at any depth. */
    static ObjectNode rewriteConfig(ObjectNode cfg, int[] newId, long newRows) {
        Iterator<Map.Entry<String, JsonNode>> it = cfg.properties().iterator();
        List<String> names = new ArrayList<>();
        it.forEachRemaining(e -> names.add(e.getKey()));
        for (String k : names) {
            JsonNode v = cfg.get(k);
            if (k.equals("vocab_size") && newRows > 0 && v.isIntegralNumber()) {
                cfg.put(k, newRows);
            } else if (isIdKey(k) && v.isIntegralNumber()) {
                cfg.put(k, mapOrKeep(newId, v.asInt()));
            } else if (isIdKey(k) && v.isArray()) {
                ArrayNode a = (ArrayNode) v;
                for (int i = 0; i < a.size(); i++) {
                    if (a.get(i).isIntegralNumber()) {
                        a.set(i, IntNode.valueOf(mapOrKeep(newId, a.get(i).asInt())));
                    }
                }
            } else if (v.isObject()) {
                rewriteConfig((ObjectNode) v, newId, newRows);
            }
        }
        return cfg;
    }

    private static int mapOrKeep(int[] newId, int id) {
        // Negative or out-of-vocabulary ids (e.g. -1 for "none") carry no token; they stay as written.
        return id >= 0 && id < newId.length && newId[id] >= 0 ? newId[id] : id;
    }

    private static boolean isIdKey(String k) {
        return k.endsWith("_token_id") || k.endsWith("_token_ids");
    }

    private static void specialIds(JsonNode cfg, java.util.function.IntConsumer sink) {
        if (cfg == null || !cfg.isObject()) {
            return;
        }
        cfg.properties().forEach(e -> {
            JsonNode v = e.getValue();
            if (isIdKey(e.getKey())) {
                if (v.isIntegralNumber()) {
                    sink.accept(v.asInt());
                } else if (v.isArray()) {
                    v.forEach(x -> sink.accept(x.asInt(-1)));
                }
            } else if (v.isObject()) {
                specialIds(v, sink);
            }
        });
    }

    /** tokenizer_config.json: the keys of {@code added_tokens_decoder} are ids. */
    static ObjectNode rewriteTokenizerConfig(ObjectNode cfg, int[] newId) {
        if (cfg.path("added_tokens_decoder").isObject()) {
            ObjectNode old = (ObjectNode) cfg.get("added_tokens_decoder");
            Map<Integer, JsonNode> byId = new java.util.TreeMap<>();
            old.properties().forEach(e -> {
                int id = Integer.parseInt(e.getKey());
                byId.put(remap(newId, id, "tokenizer_config.json added token"), e.getValue());
            });
            ObjectNode neu = Json.MAPPER.createObjectNode();
            byId.forEach((id, v) -> neu.set(Integer.toString(id), v));
            cfg.set("added_tokens_decoder", neu);
        }
        return rewriteConfig(cfg, newId, -1);
    }

    private static boolean isByteLevel(JsonNode tok) {
        return hasByteLevel(tok.path("pre_tokenizer")) || hasByteLevel(tok.path("decoder"));
    }

    private static boolean hasByteLevel(JsonNode n) {
        if (n.path("type").asText().equals("ByteLevel")) {
            return true;
        }
        for (String k : new String[] {"pretokenizers", "decoders"}) {
            for (JsonNode c : n.path(k)) {
                if (hasByteLevel(c)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<TokenSelection.Merge> merges(JsonNode model, Map<String, Integer> vocab) {
        String prefix = model.path("continuing_subword_prefix").asText("");
        List<TokenSelection.Merge> out = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            String a;
            String b;
            if (m.isArray()) {
                a = m.get(0).asText();
                b = m.get(1).asText();
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            }
            String joined = a + (!prefix.isEmpty() && b.startsWith(prefix) ? b.substring(prefix.length()) : b);
            out.add(new TokenSelection.Merge(a, b, joined, m));
        }
        return out;
    }

    private static void keepNamed(boolean[] keep, Map<String, Integer> vocab, JsonNode token) {
        if (token.isTextual()) {
            keepNamed(keep, vocab, token.asText());
        }
    }

    private static void keepNamed(boolean[] keep, Map<String, Integer> vocab, String token) {
        Integer id = vocab.get(token);
        if (id != null) {
            keep[id] = true;
        }
    }

    private static Set<Integer> readIds(Path f, String[] idToToken) {
        Set<Integer> ids = new TreeSet<>();
        String[] lines = readText(f).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String s = lines[i].strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            int id;
            try {
                id = Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new SlimqException(Failure.USAGE, f + ":" + (i + 1) + ": '" + s + "' is not a token id");
            }
            if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
                throw new SlimqException(Failure.USAGE, f + ":" + (i + 1) + ": id " + id + " is not in the vocabulary (0.."
                        + (idToToken.length - 1) + ")");
            }
            ids.add(id);
        }
        return ids;
    }

    private static String readText(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw IoFailures.wrap("read", f, e);
        }
    }

    private static JsonNode readJson(Path f) {
        try {
            return Json.MAPPER.readTree(readText(f));
        } catch (IOException e) {
            throw new SlimqException(Failure.BAD_INPUT, f + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJsonIfExists(Path f) {
        return Files.isRegularFile(f) ? readJson(f) : null;
    }
}
