package dev.slimq.testdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.json.Json;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An XLM-RoBERTa-style checkpoint: the BERT preset's weights (byte-identical to {@link SynthCheckpoint}'s
 * for the same spec) under an {@code xlm-roberta} config ({@code XLMRobertaModel}, pad 1, so position ids
 * start at 2), with a SentencePiece Unigram tokenizer trained on the bundled corpus in XLM-R's
 * tokenizer.json layout: {@code <s> <pad> </s> <unk>} at ids 0-3 and {@code <mask>} last (lstrip), the
 * pieces in between ordered by score; normalizer Nmt + NFKC + {@code Replace(" {2,}", " ")} (what
 * XLM-R's nmt_nfkc charsmap does, written as plain normalizers), Metaspace (▁, prepend always, split),
 * {@code <s> $A </s>}, Metaspace decoder. byte_fallback is off, as in XLM-R.
 *
 * <p>Training is a small, deterministic unigram-LM fit rather than SentencePiece's EM with pruning:
 * candidates are every printable ASCII character and ▁ (so any ASCII text encodes without unk) plus
 * the most frequent substrings (2 to 10 characters, weighted by length) of the corpus words with ▁
 * prepended; scores start as log frequencies and are then re-estimated twice from the pieces' use in the
 * Viterbi segmentation of the corpus (hard EM), rounded to float as SentencePiece stores them.
 * {@link StrictMath#log} keeps every score the same on every platform.
 */
public final class SynthUnigram {
    /** Special pieces at ids 0-3, as in XLM-R; {@code <mask>} takes the last id. */
    static final List<String> SPECIALS = List.of("<s>", "<pad>", "</s>", "<unk>");
    static final String MASK = "<mask>";
    static final String META = "\u2581";

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private SynthUnigram() {
    }

    /** A piece and its score. */
    record ScoredPiece(String piece, double score) {
    }

    /**
     * Writes the XLM-R-style model for a BERT {@code spec} into {@code out} (atomically, through
     * {@link CheckpointWriter}; an existing output is refused without {@code options.force()}).
     */
    public static SynthCheckpoint.Result write(SynthSpec spec, Path out, SynthCheckpoint.Options options) {
        if (spec.arch() != SynthSpec.Arch.BERT) {
            throw new SlimqException(Failure.USAGE, "the XLM-R-style Unigram model is an encoder: give a bert spec");
        }
        OutputPaths.check(out, List.of(), options.force());
        ModelShape shape = spec.shape();
        List<WeightRecipe.Tensor> tensors = WeightRecipe.tensors(spec);
        List<TensorInfo> planned = SynthCheckpoint.plannedTensors(spec);
        List<ScoredPiece> vocab = train(shape.vocab());
        Map<String, String> files = new TreeMap<>();
        files.put("config.json", Json.python(config(spec)));
        files.put("tokenizer.json", Json.python(tokenizerJson(vocab)));
        files.put("tokenizer_config.json", Json.python(tokenizerConfig(vocab.size(), shape.maxPositions() - 2)));
        long params = 0;
        long bytes = 0;
        try (CheckpointWriter w = CheckpointWriter.create(out, planned, Map.of(), 0, null)) {
            for (WeightRecipe.Tensor t : tensors) {
                float[] values = new float[t.rowsPerBlock() * t.cols()];
                try (SafetensorsWriter.TensorSink sink = w.open(t.name())) {
                    for (long b = 0; b < t.blocks(); b++) {
                        sink.writeFloats(values, 0, WeightRecipe.fillBlock(t, spec.seed(), b, values));
                    }
                }
                params += t.elements();
                bytes += t.elements() * spec.dtype().byteSize();
            }
            files.forEach(w::putFile);
            w.commit();
        }
        Path dir = out.toAbsolutePath();
        List<Path> paths = new ArrayList<>();
        files.keySet().forEach(f -> paths.add(dir.resolve(f)));
        paths.add(dir.resolve("model.safetensors"));
        paths.sort(Comparator.naturalOrder());
        return new SynthCheckpoint.Result(dir, paths, tensors.size(), params, bytes);
    }

    /** The trained vocabulary, exactly {@code size} entries in id order (specials and mask included). */
    static List<ScoredPiece> train(int size) {
        Map<String, Integer> words = new TreeMap<>();
        for (String w : SynthTokenizer.corpus().split("\\s+")) {
            if (!w.isEmpty()) {
                words.merge(META + w, 1, Integer::sum);
            }
        }
        List<String> singles = new ArrayList<>();
        singles.add(META);
        for (char c = '!'; c <= '~'; c++) {
            singles.add(String.valueOf(c));
        }
        int multi = size - SPECIALS.size() - 1 - singles.size();
        if (multi < 0) {
            throw new IllegalArgumentException("vocabulary of " + size + " is too small for the " + singles.size()
                    + " single characters");
        }
        Map<String, Long> freq = new TreeMap<>();
        words.forEach((w, c) -> {
            for (int i = 0; i < w.length(); i++) {
                for (int len = 1; len <= 10 && i + len <= w.length(); len++) {
                    freq.merge(w.substring(i, i + len), (long) c, Long::sum);
                }
            }
        });
        List<String> candidates = new ArrayList<>(freq.keySet().stream().filter(s -> s.length() > 1).toList());
        candidates.sort(Comparator.comparingLong((String s) -> -freq.get(s) * s.length()).thenComparing(s -> s));
        List<String> pieces = new ArrayList<>(singles);
        pieces.addAll(candidates.subList(0, Math.min(multi, candidates.size())));
        for (int k = 0; pieces.size() < size - SPECIALS.size() - 1; k++) {
            pieces.add("<unused" + k + ">"); // only when the corpus runs out of substrings
        }
        Map<String, Double> score = new HashMap<>();
        long total = 0;
        for (String p : pieces) {
            total += freq.getOrDefault(p, 0L) + 1;
        }
        for (String p : pieces) {
            score.put(p, StrictMath.log((freq.getOrDefault(p, 0L) + 1) / (double) total));
        }
        for (int round = 0; round < 2; round++) {
            Map<String, Long> used = new HashMap<>();
            words.forEach((w, c) -> {
                for (String p : viterbi(w, score)) {
                    used.merge(p, (long) c, Long::sum);
                }
            });
            long sum = 0;
            for (String p : pieces) {
                sum += used.getOrDefault(p, 0L);
            }
            double denom = sum + 0.5 * pieces.size();
            for (String p : pieces) {
                score.put(p, StrictMath.log((used.getOrDefault(p, 0L) + 0.5) / denom));
            }
        }
        List<ScoredPiece> out = new ArrayList<>();
        SPECIALS.forEach(s -> out.add(new ScoredPiece(s, 0.0)));
        pieces.stream().map(p -> new ScoredPiece(p, (float) (double) score.get(p)))
                .sorted(Comparator.comparingDouble((ScoredPiece p) -> -p.score()).thenComparing(ScoredPiece::piece))
                .forEach(out::add);
        out.add(new ScoredPiece(MASK, 0.0));
        return List.copyOf(out);
    }

    /** Best-scoring segmentation of {@code w} into pieces of {@code score} (every character is a piece). */
    private static List<String> viterbi(String w, Map<String, Double> score) {
        int n = w.length();
        double[] best = new double[n + 1];
        int[] from = new int[n + 1];
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        best[0] = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j <= Math.min(n, i + 10); j++) {
                Double s = score.get(w.substring(i, j));
                if (s != null && best[i] + s > best[j]) {
                    best[j] = best[i] + s;
                    from[j] = i;
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (int j = n; j > 0; j = from[j]) {
            out.add(w.substring(from[j], j));
        }
        return out.reversed();
    }

    /** {@code tokenizer.json} in the layout transformers' XLM-R converter writes. */
    static ObjectNode tokenizerJson(List<ScoredPiece> vocab) {
        ObjectNode root = JSON.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SPECIALS.size(); id++) {
            addedToken(added, id, SPECIALS.get(id), false);
        }
        addedToken(added, vocab.size() - 1, MASK, true);
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Nmt");
        ns.addObject().put("type", "NFKC");
        ObjectNode replace = ns.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("Regex", " {2,}");
        replace.put("content", " ");
        root.set("pre_tokenizer", metaspace());
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        special(single, "<s>");
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        special(single, "</s>");
        ArrayNode pair = post.putArray("pair");
        special(pair, "<s>");
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        special(pair, "</s>");
        special(pair, "</s>");
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 0);
        special(pair, "</s>");
        ObjectNode sp = post.putObject("special_tokens");
        for (String s : new String[] {"</s>", "<s>"}) {
            ObjectNode e = sp.putObject(s);
            e.put("id", s);
            e.putArray("ids").add(SPECIALS.indexOf(s));
            e.putArray("tokens").add(s);
        }
        root.set("decoder", metaspace());
        ObjectNode model = root.putObject("model");
        model.put("type", "Unigram");
        model.put("unk_id", SPECIALS.indexOf("<unk>"));
        ArrayNode v = model.putArray("vocab");
        for (ScoredPiece p : vocab) {
            v.addArray().add(p.piece()).add(p.score());
        }
        model.put("byte_fallback", false);
        return root;
    }

    private static void addedToken(ArrayNode added, int id, String content, boolean lstrip) {
        ObjectNode a = added.addObject();
        a.put("id", id);
        a.put("content", content);
        a.put("single_word", false);
        a.put("lstrip", lstrip);
        a.put("rstrip", false);
        a.put("normalized", false);
        a.put("special", true);
    }

    private static void special(ArrayNode items, String id) {
        items.addObject().putObject("SpecialToken").put("id", id).put("type_id", 0);
    }

    private static ObjectNode metaspace() {
        ObjectNode m = JSON.objectNode();
        m.put("type", "Metaspace");
        m.put("replacement", META);
        m.put("prepend_scheme", "always");
        m.put("split", true);
        return m;
    }

    /** {@code tokenizer_config.json} as transformers saves XLMRobertaTokenizerFast's (keys sorted). */
    static ObjectNode tokenizerConfig(int vocabSize, int maxLength) {
        TreeMap<String, JsonNode> c = new TreeMap<>();
        ObjectNode decoder = JSON.objectNode();
        List<String> names = new ArrayList<>(SPECIALS);
        for (int id = 0; id <= SPECIALS.size(); id++) {
            int realId = id < SPECIALS.size() ? id : vocabSize - 1;
            ObjectNode a = decoder.putObject(Integer.toString(realId));
            a.put("content", id < SPECIALS.size() ? names.get(id) : MASK);
            a.put("lstrip", id == SPECIALS.size());
            a.put("normalized", false);
            a.put("rstrip", false);
            a.put("single_word", false);
            a.put("special", true);
        }
        c.put("added_tokens_decoder", decoder);
        c.put("bos_token", JSON.textNode("<s>"));
        c.put("clean_up_tokenization_spaces", JSON.booleanNode(false));
        c.put("cls_token", JSON.textNode("<s>"));
        c.put("eos_token", JSON.textNode("</s>"));
        c.put("mask_token", JSON.textNode(MASK));
        c.put("model_max_length", JSON.numberNode(maxLength));
        c.put("pad_token", JSON.textNode("<pad>"));
        c.put("sep_token", JSON.textNode("</s>"));
        c.put("tokenizer_class", JSON.textNode("XLMRobertaTokenizer"));
        c.put("unk_token", JSON.textNode("<unk>"));
        ObjectNode out = JSON.objectNode();
        out.setAll(c);
        return out;
    }

    /** The BERT preset's config.json turned into XLM-R's: architecture, model type and special ids. */
    static ObjectNode config(SynthSpec spec) {
        ObjectNode base = SynthCheckpoint.config(spec);
        TreeMap<String, JsonNode> c = new TreeMap<>();
        base.properties().forEach(e -> c.put(e.getKey(), e.getValue()));
        c.put("architectures", JSON.arrayNode().add("XLMRobertaModel"));
        c.put("model_type", JSON.textNode("xlm-roberta"));
        c.put("bos_token_id", JSON.numberNode(0));
        c.put("pad_token_id", JSON.numberNode(1));
        c.put("eos_token_id", JSON.numberNode(2));
        ObjectNode out = JSON.objectNode();
        out.setAll(c);
        return out;
    }
}
