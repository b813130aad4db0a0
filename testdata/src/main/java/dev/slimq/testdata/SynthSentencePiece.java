package dev.slimq.testdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A SentencePiece-style BPE tokenizer (the Llama-2 / Mistral scheme as {@code tokenizer.json} holds
 * it): {@code <unk> <s> </s>} at ids 0-2, the 256 byte-fallback pieces {@code <0x00>..<0xFF>} at ids
 * 3-258, {@code ▁} and every other character of the corpus, then learned merges; a Metaspace
 * pre-tokenizer (replacement {@code ▁}, prepend scheme {@code first}, no split, as Mistral's
 * tokenizer.json since tokenizers 0.19), {@code byte_fallback}, {@code fuse_unk}, the Llama decoder
 * chain (Replace, ByteFallback, Fuse, Strip) and a post-processor that prepends {@code <s>}.
 *
 * <p>The synthetic checkpoints keep their byte-level tokenizer (so existing outputs stay
 * byte-identical); this class gives a Llama checkpoint a SentencePiece-style tokenizer instead, for
 * code that treats the two families differently (GGUF's {@code tokenizer.ggml.model = "llama"}).
 * Characters outside the corpus (any non-ASCII text) are encoded through the byte pieces.
 */
public final class SynthSentencePiece {
    static final String SPACE = "\u2581";
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private SynthSentencePiece() {
    }

    /** {@code tokenizer.json} with exactly {@code vocabSize} entries (placeholders {@code <unused_N>} fill the rest). */
    public static ObjectNode tokenizerJson(int vocabSize) {
        List<String> initial = new ArrayList<>(SynthTokenizer.LLAMA_SPECIALS);
        for (int b = 0; b < 256; b++) {
            initial.add(String.format(Locale.ROOT, "<0x%02X>", b));
        }
        String corpus = SynthTokenizer.corpus();
        TreeSet<Integer> chars = new TreeSet<>();
        corpus.codePoints().filter(c -> !Character.isWhitespace(c)).forEach(chars::add);
        initial.add(SPACE);
        chars.forEach(c -> initial.add(new String(Character.toChars(c))));
        if (vocabSize < initial.size()) {
            throw new SlimqException(Failure.USAGE, "a SentencePiece vocabulary needs at least " + initial.size() + " entries, got " + vocabSize);
        }
        // Words as Metaspace makes them: each whitespace-separated word with a leading ▁.
        SortedMap<String, Integer> words = new TreeMap<>();
        for (String w : corpus.split("\\s+")) {
            if (!w.isEmpty()) {
                words.merge(SPACE + w, 1, Integer::sum);
            }
        }
        BpeTrainer.Result r = BpeTrainer.train(initial, words,
                w -> w.codePoints().mapToObj(c -> new String(Character.toChars(c))).toList(), String::concat, vocabSize);
        List<String> vocab = new ArrayList<>(r.vocab());
        for (int k = 0; vocab.size() < vocabSize; k++) {
            vocab.add("<unused_" + k + ">");
        }
        ObjectNode root = JSON.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SynthTokenizer.LLAMA_SPECIALS.size(); id++) {
            ObjectNode a = added.addObject();
            a.put("id", id);
            a.put("content", SynthTokenizer.LLAMA_SPECIALS.get(id));
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Metaspace");
        pre.put("replacement", SPACE);
        pre.put("prepend_scheme", "first");
        pre.put("split", false);
        root.set("post_processor", SynthTokenizer.template(List.of("<s>:0", "$A:0"), List.of("<s>:0", "$A:0", "<s>:1", "$B:1"), Map.of("<s>", 1)));
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode steps = dec.putArray("decoders");
        ObjectNode replace = steps.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", SPACE);
        replace.put("content", " ");
        steps.addObject().put("type", "ByteFallback");
        steps.addObject().put("type", "Fuse");
        ObjectNode strip = steps.addObject();
        strip.put("type", "Strip");
        strip.put("content", " ");
        strip.put("start", 1);
        strip.put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        SynthTokenizer.putVocab(model, vocab);
        ArrayNode merges = model.putArray("merges");
        for (String[] m : r.merges()) {
            merges.add(m[0] + " " + m[1]);
        }
        return root;
    }

    /** {@code tokenizer_config.json} for it, as transformers saves a Llama tokenizer (keys sorted). */
    public static ObjectNode tokenizerConfig(int maxLength) {
        TreeMap<String, JsonNode> c = new TreeMap<>();
        ObjectNode decoder = JSON.objectNode();
        for (int id = 0; id < SynthTokenizer.LLAMA_SPECIALS.size(); id++) {
            ObjectNode a = decoder.putObject(Integer.toString(id));
            a.put("content", SynthTokenizer.LLAMA_SPECIALS.get(id));
            a.put("lstrip", false);
            a.put("normalized", false);
            a.put("rstrip", false);
            a.put("single_word", false);
            a.put("special", true);
        }
        c.put("add_bos_token", JSON.booleanNode(true));
        c.put("add_eos_token", JSON.booleanNode(false));
        c.put("added_tokens_decoder", decoder);
        c.put("bos_token", JSON.textNode("<s>"));
        c.put("clean_up_tokenization_spaces", JSON.booleanNode(false));
        c.put("eos_token", JSON.textNode("</s>"));
        c.put("model_max_length", JSON.numberNode(maxLength));
        c.put("tokenizer_class", JSON.textNode("PreTrainedTokenizerFast"));
        c.put("unk_token", JSON.textNode("<unk>"));
        ObjectNode out = JSON.objectNode();
        out.setAll(c);
        return out;
    }

    /**
     * Replaces {@code tokenizer.json} and {@code tokenizer_config.json} of a Llama checkpoint
     * directory with this tokenizer, sized to config.json's {@code vocab_size}.
     */
    public static void writeInto(Path dir) {
        try {
            JsonNode config = Json.MAPPER.readTree(dir.resolve("config.json").toFile());
            int vocab = config.path("vocab_size").asInt(0);
            int maxLen = config.path("max_position_embeddings").asInt(0);
            if (vocab <= 0 || !"llama".equals(config.path("model_type").asText())) {
                throw new SlimqException(Failure.BAD_INPUT, dir + ": not a Llama checkpoint with a vocab_size");
            }
            Files.writeString(dir.resolve("tokenizer.json"), Json.python(tokenizerJson(vocab)), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("tokenizer_config.json"), Json.python(tokenizerConfig(maxLen)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw dev.slimq.core.IoFailures.wrap("write", dir, e);
        }
    }
}
