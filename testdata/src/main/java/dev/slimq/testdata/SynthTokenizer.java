package dev.slimq.testdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real Hugging Face tokenizers, trained on the small English corpus in {@code corpus.txt}: what a
 * test needs to tokenize text, trim a vocabulary or run an end-to-end forward pass, with files the
 * Python and Rust {@code tokenizers} libraries load unchanged.
 *
 * <ul>
 *   <li><b>Llama</b>: byte-level BPE (the GPT-2 / Llama-3 scheme: ByteLevel pre-tokenizer with the
 *       GPT-2 split regex and decoder), {@code <unk>}, {@code <s>}, {@code </s>} at ids 0-2 as in
 *       Llama-2, the 256 byte symbols at ids 3-258 in byte order, then learned merges. A template
 *       post-processor prepends {@code <s>}, as Llama-2's tokenizer.json does.
 *   <li><b>BERT</b>: WordPiece with {@code ##} continuations, BertNormalizer (lower case),
 *       BertPreTokenizer and {@code [CLS] $A [SEP]}; {@code [PAD] [UNK] [CLS] [SEP] [MASK]} are ids
 *       0-4, then every ASCII letter, digit and punctuation mark and the {@code ##} form of every
 *       letter and digit (so any ASCII word can be encoded without {@code [UNK]}), then learned pieces.
 * </ul>
 *
 * <p>The vocabulary has exactly the preset's size. The corpus is small, so training stops early when
 * every corpus word has become a single token (the larger presets' 32,000 entries are far more
 * than a few pages of text yields). The remaining ids are then filled with inert placeholders, which
 * no input ever produces: {@code <|reserved_N|>} for Llama (as Llama-3's reserved tokens, but plain
 * vocabulary entries rather than added tokens, which would make loading slow), {@code [unusedN]} for
 * BERT (as in the original BERT vocabularies). Merges are written as {@code "left right"} strings,
 * which every {@code tokenizers} version reads (byte-level and WordPiece symbols never contain a space).
 */
final class SynthTokenizer {
    /** The special tokens, in id order. */
    static final List<String> LLAMA_SPECIALS = List.of("<unk>", "<s>", "</s>");
    static final List<String> BERT_SPECIALS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

    /** GPT-2's pre-tokenization regex, which the ByteLevel pre-tokenizer applies with use_regex. */
    static final Pattern GPT2_SPLIT = Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    /** BertPreTokenizer: runs of non-space non-punctuation, and single punctuation marks (ASCII corpus). */
    private static final Pattern BERT_SPLIT = Pattern.compile("[^\\s\\p{Punct}]+|\\p{Punct}");

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final Map<String, BpeTrainer.Result> TRAINED = new ConcurrentHashMap<>();

    /**
     * A trained tokenizer.
     *
     * @param vocab every token in id order (size = the preset's vocabulary)
     * @param merges BPE merges in rank order (empty for WordPiece, which encodes by longest match)
     */
    record Trained(SynthSpec.Arch arch, List<String> vocab, List<String[]> merges) {
        int size() {
            return vocab.size();
        }
    }

    private SynthTokenizer() {
    }

    static Trained train(SynthSpec.Arch arch, int vocabSize) {
        BpeTrainer.Result r = TRAINED.computeIfAbsent(arch + "/" + vocabSize, k -> arch == SynthSpec.Arch.LLAMA
                ? BpeTrainer.train(byteLevelAlphabet(), wordCounts(corpus(), GPT2_SPLIT, SynthTokenizer::toByteLevel),
                        SynthTokenizer::chars, String::concat, vocabSize)
                : BpeTrainer.train(wordPieceAlphabet(), wordCounts(corpus().toLowerCase(Locale.ROOT), BERT_SPLIT, UnaryOperator.identity()),
                        SynthTokenizer::wordPieceSymbols, (a, b) -> a + (b.startsWith("##") ? b.substring(2) : b), vocabSize));
        List<String> vocab = new ArrayList<>(r.vocab());
        for (int k = 0; vocab.size() < vocabSize; k++) {
            vocab.add(arch == SynthSpec.Arch.LLAMA ? "<|reserved_" + k + "|>" : "[unused" + k + "]");
        }
        return new Trained(arch, List.copyOf(vocab), r.merges());
    }

    static String corpus() {
        try (InputStream in = SynthTokenizer.class.getResourceAsStream("corpus.txt")) {
            return new String(Objects.requireNonNull(in, "corpus.txt resource missing").readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static SortedMap<String, Integer> wordCounts(String text, Pattern split, UnaryOperator<String> map) {
        SortedMap<String, Integer> counts = new TreeMap<>();
        Matcher m = split.matcher(text);
        while (m.find()) {
            counts.merge(map.apply(m.group()), 1, Integer::sum);
        }
        return counts;
    }

    // ---------------------------------------------------------------------------------------------
    // Byte level: each byte is shown as one printable character (GPT-2's bytes_to_unicode), so that
    // vocabulary entries are valid strings; a space becomes 'Ġ' (U+0120), a newline 'Ċ'.

    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE;
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + extra++);
        }
    }

    /** A pre-token's UTF-8 bytes, each shown as its byte-level character. */
    static String toByteLevel(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            sb.append(BYTE_TO_CHAR[b & 0xFF]);
        }
        return sb.toString();
    }

    private static List<String> byteLevelAlphabet() {
        List<String> v = new ArrayList<>(LLAMA_SPECIALS);
        for (int b = 0; b < 256; b++) {
            v.add(String.valueOf(BYTE_TO_CHAR[b]));
        }
        return v;
    }

    private static List<String> chars(String word) {
        return word.chars().mapToObj(c -> String.valueOf((char) c)).toList();
    }

    // ---------------------------------------------------------------------------------------------
    // WordPiece.

    private static List<String> wordPieceAlphabet() {
        List<String> v = new ArrayList<>(BERT_SPECIALS);
        StringBuilder initial = new StringBuilder();
        for (char c = '!'; c <= '~'; c++) {
            initial.append(c);
        }
        initial.chars().filter(c -> !Character.isUpperCase(c)).forEach(c -> v.add(String.valueOf((char) c)));
        initial.chars().filter(Character::isLetterOrDigit).filter(c -> !Character.isUpperCase(c))
                .forEach(c -> v.add("##" + (char) c));
        return v;
    }

    private static List<String> wordPieceSymbols(String word) {
        List<String> s = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); i++) {
            s.add(i == 0 ? String.valueOf(word.charAt(i)) : "##" + word.charAt(i));
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------------
    // The files.

    /** {@code tokenizer.json}, in the key order the {@code tokenizers} library writes. */
    static ObjectNode tokenizerJson(Trained t) {
        boolean llama = t.arch() == SynthSpec.Arch.LLAMA;
        List<String> specials = llama ? LLAMA_SPECIALS : BERT_SPECIALS;
        ObjectNode root = JSON.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < specials.size(); id++) {
            ObjectNode a = added.addObject();
            a.put("id", id);
            a.put("content", specials.get(id));
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", true);
        }
        if (llama) {
            root.putNull("normalizer");
            root.set("pre_tokenizer", byteLevel(false));
            root.set("post_processor", template(List.of("<s>:0", "$A:0"), List.of("<s>:0", "$A:0", "<s>:1", "$B:1"), Map.of("<s>", 1)));
            root.set("decoder", byteLevel(true));
        } else {
            ObjectNode norm = root.putObject("normalizer");
            norm.put("type", "BertNormalizer");
            norm.put("clean_text", true);
            norm.put("handle_chinese_chars", true);
            norm.putNull("strip_accents");
            norm.put("lowercase", true);
            root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
            root.set("post_processor", template(List.of("[CLS]:0", "$A:0", "[SEP]:0"), List.of("[CLS]:0", "$A:0", "[SEP]:0", "$B:1", "[SEP]:1"),
                    new TreeMap<>(Map.of("[CLS]", 2, "[SEP]", 3))));
            ObjectNode dec = root.putObject("decoder");
            dec.put("type", "WordPiece");
            dec.put("prefix", "##");
            dec.put("cleanup", true);
        }
        ObjectNode model = root.putObject("model");
        if (llama) {
            model.put("type", "BPE");
            model.putNull("dropout");
            model.putNull("unk_token");
            model.putNull("continuing_subword_prefix");
            model.putNull("end_of_word_suffix");
            model.put("fuse_unk", false);
            model.put("byte_fallback", false);
            model.put("ignore_merges", false);
            putVocab(model, t.vocab());
            ArrayNode merges = model.putArray("merges");
            for (String[] m : t.merges()) {
                merges.add(m[0] + " " + m[1]);
            }
        } else {
            model.put("type", "WordPiece");
            model.put("unk_token", "[UNK]");
            model.put("continuing_subword_prefix", "##");
            model.put("max_input_chars_per_word", 100);
            putVocab(model, t.vocab());
        }
        return root;
    }

    static void putVocab(ObjectNode model, List<String> vocab) {
        ObjectNode v = model.putObject("vocab");
        for (int id = 0; id < vocab.size(); id++) {
            v.put(vocab.get(id), id);
        }
    }

    private static ObjectNode byteLevel(boolean decoder) {
        ObjectNode n = JSON.objectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", decoder);
        n.put("trim_offsets", true);
        n.put("use_regex", true);
        return n;
    }

    /**
     * A TemplateProcessing post-processor from pieces written {@code ID:TYPE_ID}, as the library's own
     * template strings: {@code $A} and {@code $B} are the sequences, anything else a special token.
     */
    static ObjectNode template(List<String> single, List<String> pair, Map<String, Integer> ids) {
        ObjectNode n = JSON.objectNode();
        n.put("type", "TemplateProcessing");
        n.set("single", pieces(single));
        n.set("pair", pieces(pair));
        ObjectNode sp = n.putObject("special_tokens");
        ids.forEach((tok, id) -> {
            ObjectNode e = sp.putObject(tok);
            e.put("id", tok);
            e.putArray("ids").add(id);
            e.putArray("tokens").add(tok);
        });
        return n;
    }

    private static ArrayNode pieces(List<String> template) {
        ArrayNode a = JSON.arrayNode();
        for (String piece : template) {
            int colon = piece.lastIndexOf(':');
            String p = piece.substring(0, colon);
            int typeId = Integer.parseInt(piece.substring(colon + 1));
            ObjectNode e = a.addObject();
            if (p.startsWith("$")) {
                e.putObject("Sequence").put("id", p.substring(1)).put("type_id", typeId);
            } else {
                e.putObject("SpecialToken").put("id", p).put("type_id", typeId);
            }
        }
        return a;
    }

    /** {@code tokenizer_config.json} as transformers saves it for this tokenizer (keys sorted). */
    static ObjectNode tokenizerConfig(Trained t, int maxLength) {
        boolean llama = t.arch() == SynthSpec.Arch.LLAMA;
        List<String> specials = llama ? LLAMA_SPECIALS : BERT_SPECIALS;
        TreeMap<String, JsonNode> c = new TreeMap<>();
        ObjectNode decoder = JSON.objectNode();
        for (int id = 0; id < specials.size(); id++) {
            ObjectNode a = decoder.putObject(Integer.toString(id));
            a.put("content", specials.get(id));
            a.put("lstrip", false);
            a.put("normalized", false);
            a.put("rstrip", false);
            a.put("single_word", false);
            a.put("special", true);
        }
        c.put("added_tokens_decoder", decoder);
        c.put("model_max_length", JSON.numberNode(maxLength));
        if (llama) {
            // PreTrainedTokenizerFast takes tokenizer.json as it is (LlamaTokenizerFast would rewrite
            // the pre-tokenizer for SentencePiece-style text); <s> comes from the post-processor.
            c.put("bos_token", JSON.textNode("<s>"));
            c.put("eos_token", JSON.textNode("</s>"));
            c.put("unk_token", JSON.textNode("<unk>"));
            c.put("clean_up_tokenization_spaces", JSON.booleanNode(false));
            c.put("tokenizer_class", JSON.textNode("PreTrainedTokenizerFast"));
        } else {
            c.put("cls_token", JSON.textNode("[CLS]"));
            c.put("mask_token", JSON.textNode("[MASK]"));
            c.put("pad_token", JSON.textNode("[PAD]"));
            c.put("sep_token", JSON.textNode("[SEP]"));
            c.put("unk_token", JSON.textNode("[UNK]"));
            c.put("clean_up_tokenization_spaces", JSON.booleanNode(true));
            c.put("do_basic_tokenize", JSON.booleanNode(true));
            c.put("do_lower_case", JSON.booleanNode(true));
            c.put("never_split", JSON.nullNode());
            c.put("strip_accents", JSON.nullNode());
            c.put("tokenize_chinese_chars", JSON.booleanNode(true));
            c.put("tokenizer_class", JSON.textNode("BertTokenizer"));
        }
        ObjectNode out = JSON.objectNode();
        out.setAll(c);
        return out;
    }

    /** BERT's {@code vocab.txt}: one token per line, the line number is the id (the slow tokenizer's input). */
    static String vocabTxt(Trained t) {
        return String.join("\n", t.vocab()) + "\n";
    }
}
