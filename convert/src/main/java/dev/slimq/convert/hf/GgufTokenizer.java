package dev.slimq.convert.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.Text;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Tokenizer metadata from {@code tokenizer.json} (and {@code tokenizer_config.json}), as llama.cpp's
 * converter writes it (keys from {@code gguf-py/gguf/constants.py}, token types numbered as
 * {@code llama_token_type}: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte):
 * <ul>
 * <li>byte-level BPE ({@code get_vocab_base}, {@code _set_vocab_gpt2}): {@code tokenizer.ggml.model =
 *     "gpt2"}, tokens by id, token types, merges ({@code "a b"} strings) and {@code tokenizer.ggml.pre},
 *     the name llama.cpp gives the pre-tokenizer's split regex ({@link #preTokenizer}). llama.cpp's
 *     converter finds that name by hashing the tokenizer's output on a fixed text; slimq reads the
 *     regex itself from {@code tokenizer.json} and maps it to the name whose regex llama.cpp
 *     hard-codes ({@code llm_tokenizer_bpe}), which names the same split.</li>
 * <li>SentencePiece-style BPE (Llama-2, Mistral: {@code byte_fallback}, Metaspace or a
 *     {@code Prepend}/{@code Replace} normalizer, {@code <0xNN>} byte pieces; {@code LlamaHfVocab},
 *     {@code _set_vocab_llama_hf}): {@code tokenizer.ggml.model = "llama"}, tokens, scores, types
 *     (byte pieces BYTE, the unknown token UNKNOWN, special tokens CONTROL, added non-special tokens
 *     past the model vocabulary USER_DEFINED), {@code pre = "default"}, and
 *     {@code tokenizer.ggml.add_space_prefix} from the Metaspace prepend scheme. One deliberate
 *     difference: {@code LlamaHfVocab} writes the placeholder score -1000 for every token, but
 *     llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined piece scores highest,
 *     so equal scores make it merge left to right instead of in BPE rank order. slimq writes
 *     {@code -(1 + rank)} of the first merge producing the piece (what a {@code tokenizer.model}'s
 *     BPE scores order the same way), and {@code -(1 + number of merges)} for pieces no merge produces,
 *     so llama.cpp splits text as the Hugging Face tokenizer does.</li>
 * <li>WordPiece ({@code BertModel.set_vocab}): {@code tokenizer.ggml.model = "bert"}, tokens mapped
 *     to the "phantom space" form ({@code [X]} kept, {@code ##x} becomes {@code x}, others get a
 *     leading U+2581), and {@code tokenizer.ggml.token_type_count}.</li>
 * <li>SentencePiece Unigram (XLM-RoBERTa and the multilingual embedders built on it, bge-m3,
 *     multilingual-e5; {@code _xlmroberta_set_vocab}): {@code tokenizer.ggml.model = "t5"} (llama.cpp's
 *     UGM tokenizer), {@code pre = "default"}, tokens and scores by id, types (the unknown token
 *     UNKNOWN, special tokens CONTROL, other added tokens USER_DEFINED), {@code add_space_prefix},
 *     {@code token_type_count}, {@code remove_extra_whitespaces} and
 *     {@code tokenizer.ggml.precompiled_charsmap} (UINT8 array: the decoded bytes of the
 *     {@code Precompiled} normalizer's charsmap, which llama.cpp walks itself). Two deliberate
 *     differences from the converter, which reads them off the transformers object:
 *     {@code add_space_prefix} comes from the Metaspace prepend scheme, and
 *     {@code remove_extra_whitespaces} is true when the normalizer holds {@code Replace(" {2,}", " ")}
 *     (or {@code "▁"}, after a right {@code Strip}, as transformers 4.4x writes it), the rules
 *     transformers' SentencePiece conversion writes for remove_extra_whitespaces, which in llama.cpp
 *     also drops trailing spaces (the
 *     converter uses {@code clean_up_tokenization_spaces}, a decoding flag that XLM-R checkpoints set
 *     either way). Normalizers llama.cpp's UGM tokenizer cannot run (NFKC, Nmt, Lowercase, ...) are
 *     dropped with a warning. Added tokens past the model vocabulary keep their text with score 0.</li>
 * </ul>
 * Ids short of the config's {@code vocab_size} are padded with {@code [PAD<id>]} tokens of type UNUSED,
 * as the converter does. Special token ids and the {@code add_bos/eos/sep_token} flags follow
 * {@code gguf.SpecialVocab}: {@code tokenizer_config.json}'s {@code *_token} entries first, then
 * config.json's {@code *_token_id}, with the flags read from the post-processor's template and
 * overridden by {@code tokenizer_config.json}'s {@code add_*_token}.
 */
public final class GgufTokenizer {
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    /** Split regexes as tokenizer.json spells them, and the {@code tokenizer.ggml.pre} name llama.cpp gives each. */
    static final Map<String, String> PRE_TOKENIZERS = Map.of(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "gpt-2",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                    + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                    + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "gpt-4o");

    /** The llama.cpp tokenizer model a tokenizer.json becomes. */
    public enum Model {
        GPT2("gpt2"), LLAMA("llama"), BERT("bert"), UGM("t5");

        private final String ggufName;

        Model(String ggufName) {
            this.ggufName = ggufName;
        }

        public String ggufName() {
            return ggufName;
        }
    }

    /** The metadata keys, and warnings for the user (a pre-tokenizer llama.cpp has no name for). */
    public record Metadata(Map<String, GgufValue> keys, List<String> warnings) {
        public Metadata {
            keys = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(keys));
            warnings = List.copyOf(warnings);
        }
    }

    private GgufTokenizer() {
    }

    /**
     * Which tokenizer model llama.cpp should run: BPE with byte fallback or a Metaspace / "▁"
     * normalizer is SentencePiece-style ({@code LlamaHfVocab}'s test, widened to tokenizers that
     * mark SentencePiece by their pre-tokenizer); other BPE is byte-level ({@code BpeVocab}).
     */
    public static Model model(JsonNode tok) {
        JsonNode m = tok.path("model");
        String type = m.path("type").asText("");
        return switch (type) {
            case "BPE" -> m.path("byte_fallback").asBoolean(false) || mentions(tok.path("pre_tokenizer"), "Metaspace")
                    || mentions(tok.path("normalizer"), "Prepend") ? Model.LLAMA : Model.GPT2;
            case "WordPiece" -> Model.BERT;
            case "Unigram" -> Model.UGM;
            default -> throw new SlimqException(Failure.UNSUPPORTED, "tokenizer.json model type '" + Text.oneLine(type)
                    + "' is not supported for GGUF (BPE, WordPiece and Unigram are)");
        };
    }

    /** Whether a normalizer/pre-tokenizer node, or a Sequence of them, has a member of this type. */
    private static boolean mentions(JsonNode n, String type) {
        if (n == null || n.isMissingNode() || n.isNull()) {
            return false;
        }
        if (type.equals(n.path("type").asText())) {
            return true;
        }
        for (String list : List.of("pretokenizers", "normalizers")) {
            for (JsonNode c : n.path(list)) {
                if (mentions(c, type)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * {@code tokenizer.ggml.pre} for byte-level BPE: a ByteLevel pre-tokenizer with its own (GPT-2)
     * regex is {@code gpt-2}; a Sequence of a regex Split and a regex-less ByteLevel is named by the
     * regex ({@link #PRE_TOKENIZERS}). Anything else is {@code null}: llama.cpp has no name for it.
     */
    static String preTokenizer(JsonNode pre) {
        if ("ByteLevel".equals(pre.path("type").asText())) {
            return pre.path("use_regex").asBoolean(true) ? "gpt-2" : null;
        }
        if ("Sequence".equals(pre.path("type").asText())) {
            JsonNode list = pre.path("pretokenizers");
            if (list.size() == 2 && "Split".equals(list.get(0).path("type").asText()) && "ByteLevel".equals(list.get(1).path("type").asText())
                    && !list.get(1).path("use_regex").asBoolean(true) && !list.get(0).path("invert").asBoolean(false)
                    && "Isolated".equals(list.get(0).path("behavior").asText())) {
                JsonNode regex = list.get(0).path("pattern").path("Regex");
                return regex.isTextual() ? PRE_TOKENIZERS.get(regex.asText()) : null;
            }
            if (list.size() == 1) {
                return preTokenizer(list.get(0));
            }
        }
        return null;
    }

    /**
     * The metadata for {@code tok}; {@code tokConfig} is tokenizer_config.json or a missing node.
     */
    public static Metadata metadata(JsonNode tok, JsonNode tokConfig, JsonNode config, GgufArch arch) {
        Objects.requireNonNull(tokConfig, "tokConfig (use MissingNode)");
        Model kind = model(tok);
        boolean encoderVocab = kind == Model.BERT || kind == Model.UGM;
        if ((arch == GgufArch.BERT) != encoderVocab) {
            throw new SlimqException(Failure.UNSUPPORTED, "a " + arch.ggufName() + " checkpoint with a " + kind.ggufName()
                    + "-style tokenizer is not supported for GGUF");
        }
        JsonNode model = tok.path("model");
        Map<String, GgufValue> m = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        Map<String, Integer> base = new HashMap<>();
        // Unigram's vocab is a list of [piece, score] pairs whose index is the id; the others map piece -> id.
        List<String> unigramPieces = new ArrayList<>();
        List<Float> unigramScores = new ArrayList<>();
        if (kind == Model.UGM) {
            for (JsonNode e : model.path("vocab")) {
                if (!e.isArray() || e.size() != 2 || !e.get(0).isTextual() || !e.get(1).isNumber()) {
                    throw new SlimqException(Failure.BAD_INPUT, "tokenizer.json: Unigram vocab entry " + unigramPieces.size() + " is not a [piece, score] pair");
                }
                base.putIfAbsent(e.get(0).asText(), unigramPieces.size());
                unigramPieces.add(e.get(0).asText());
                unigramScores.add((float) e.get(1).asDouble());
            }
        } else {
            model.path("vocab").properties().forEach(e -> base.put(e.getKey(), e.getValue().asInt()));
        }
        int baseSize = base.values().stream().mapToInt(i -> i + 1).max().orElse(0);
        Map<String, Integer> vocab = new HashMap<>(base);
        Map<Integer, JsonNode> added = new HashMap<>();
        for (JsonNode a : tok.path("added_tokens")) {
            added.put(a.path("id").asInt(), a);
            vocab.putIfAbsent(a.path("content").asText(), a.path("id").asInt());
        }
        int size = Math.max(config.path("vocab_size").asInt(0), vocab.values().stream().mapToInt(i -> i + 1).max().orElse(0));
        String[] tokens = new String[size];
        vocab.forEach((s, id) -> {
            if (id >= 0 && id < size) {
                tokens[id] = s;
            }
        });
        Specials sp = specials(tok, tokConfig, config, size);
        // Without tokenizer_config.json SpecialVocab finds no ids; the model's unk token and BERT's
        // bracketed specials are unambiguous, so slimq still writes them (llama.cpp's WPM needs CLS/SEP).
        if (model.path("unk_token").isTextual() && vocab.containsKey(model.path("unk_token").asText())) {
            sp.ids.putIfAbsent("unk", vocab.get(model.path("unk_token").asText()));
        }
        if (kind == Model.BERT) {
            for (String typ : List.of("cls", "sep", "mask", "pad")) {
                String text = "[" + typ.toUpperCase(java.util.Locale.ROOT) + "]";
                if (vocab.containsKey(text)) {
                    sp.ids.putIfAbsent(typ, vocab.get(text));
                }
            }
        }
        Set<Integer> specialIds = new HashSet<>(sp.ids.values());
        added.forEach((id, a) -> {
            if (a.path("special").asBoolean()) {
                specialIds.add(id);
            }
        });
        Integer unk = model.path("unk_token").isTextual() ? vocab.get(model.path("unk_token").asText()) : null;
        if (kind == Model.UGM) {
            // Unigram pieces may repeat text (SentencePiece forbids it, tokenizer.json does not): the id is the index.
            for (int i = 0; i < unigramPieces.size() && i < size; i++) {
                tokens[i] = unigramPieces.get(i);
            }
            JsonNode unkId = model.path("unk_id");
            if (unkId.canConvertToInt() && unkId.asInt() >= 0 && unkId.asInt() < size) {
                sp.ids.putIfAbsent("unk", unkId.asInt());
            }
            unk = sp.ids.get("unk");
        }
        int[] types = new int[size];
        List<String> list = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            if (tokens[i] == null) {
                list.add("[PAD" + i + "]");
                types[i] = UNUSED;
                continue;
            }
            list.add(tokens[i]);
            JsonNode a = added.get(i);
            if (kind == Model.UGM) {
                types[i] = unk != null && unk == i ? UNKNOWN
                        : specialIds.contains(i) ? CONTROL
                        : a != null ? USER_DEFINED : NORMAL;
            } else if (kind == Model.LLAMA) {
                types[i] = BYTE_PIECE.matcher(tokens[i]).matches() ? BYTE
                        : unk != null && unk == i ? UNKNOWN
                        : specialIds.contains(i) ? CONTROL
                        : a != null && i >= baseSize ? USER_DEFINED : NORMAL;
            } else {
                types[i] = a == null ? NORMAL : a.path("special").asBoolean() ? CONTROL : USER_DEFINED;
            }
        }
        m.put("tokenizer.ggml.model", GgufValue.string(kind.ggufName()));
        switch (kind) {
            case GPT2 -> {
                String pre = preTokenizer(tok.path("pre_tokenizer"));
                if (pre == null) {
                    warnings.add("tokenizer.json's pre-tokenizer " + abbreviate(Text.oneLine(tok.path("pre_tokenizer").toString()))
                            + " has no llama.cpp name; writing tokenizer.ggml.pre = \"default\", so llama.cpp may split text differently");
                    pre = "default";
                }
                m.put("tokenizer.ggml.pre", GgufValue.string(pre));
                m.put("tokenizer.ggml.tokens", GgufValue.strings(list));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                m.put("tokenizer.ggml.merges", GgufValue.strings(merges(model)));
            }
            case LLAMA -> {
                m.put("tokenizer.ggml.pre", GgufValue.string("default"));
                m.put("tokenizer.ggml.tokens", GgufValue.strings(list));
                m.put("tokenizer.ggml.scores", GgufValue.f32s(scores(list, merges(model))));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                m.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(addsSpacePrefix(tok)));
            }
            case BERT -> {
                m.put("tokenizer.ggml.pre", GgufValue.string("default"));
                List<String> phantom = new ArrayList<>(size);
                for (String t : list) {
                    phantom.add(t.startsWith("[") && t.endsWith("]") ? t : t.startsWith("##") ? t.substring(2) : "\u2581" + t);
                }
                m.put("tokenizer.ggml.tokens", GgufValue.strings(phantom));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                m.put("tokenizer.ggml.token_type_count", GgufValue.u32(config.path("type_vocab_size").asInt(1)));
            }
            case UGM -> {
                float[] scores = new float[size];
                for (int i = 0; i < size; i++) {
                    scores[i] = i < unigramScores.size() ? unigramScores.get(i) : tokens[i] == null ? -10000f : 0f;
                }
                Normalization n = normalization(tok.path("normalizer"));
                warnings.addAll(n.warnings());
                m.put("tokenizer.ggml.pre", GgufValue.string("default"));
                m.put("tokenizer.ggml.tokens", GgufValue.strings(list));
                m.put("tokenizer.ggml.scores", GgufValue.f32s(scores));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                m.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(addsSpacePrefix(tok)));
                m.put("tokenizer.ggml.token_type_count", GgufValue.u32(config.path("type_vocab_size").asInt(1)));
                m.put("tokenizer.ggml.remove_extra_whitespaces", GgufValue.bool(n.removeExtraWhitespaces()));
                if (n.charsmap().length > 0) {
                    m.put("tokenizer.ggml.precompiled_charsmap", GgufValue.u8s(n.charsmap()));
                }
            }
        }
        sp.ids.forEach((typ, id) -> m.put("tokenizer.ggml." + SPECIAL_KEYS.get(typ) + "_token_id", GgufValue.u32(id)));
        sp.add.forEach((typ, on) -> m.put("tokenizer.ggml.add_" + typ + "_token", GgufValue.bool(on)));
        warnings.addAll(sp.warnings);
        return new Metadata(m, warnings);
    }

    /** What a Unigram tokenizer's normalizer becomes in GGUF: see the class comment. */
    record Normalization(byte[] charsmap, boolean removeExtraWhitespaces, List<String> warnings) {
    }

    static Normalization normalization(JsonNode normalizer) {
        List<JsonNode> parts = new ArrayList<>();
        if ("Sequence".equals(normalizer.path("type").asText())) {
            normalizer.path("normalizers").forEach(parts::add);
        } else if (normalizer.isObject()) {
            parts.add(normalizer);
        }
        byte[] charsmap = new byte[0];
        boolean removeExtra = false;
        boolean strip = false;
        List<String> dropped = new ArrayList<>();
        for (JsonNode p : parts) {
            String type = p.path("type").asText("");
            if (type.equals("Precompiled") && charsmap.length == 0) {
                try {
                    charsmap = java.util.Base64.getDecoder().decode(p.path("precompiled_charsmap").asText("").strip());
                } catch (IllegalArgumentException e) {
                    throw new SlimqException(Failure.BAD_INPUT, "tokenizer.json: precompiled_charsmap is not base64: " + Text.oneLine(e.getMessage()));
                }
                if (charsmap.length > 0 && charsmap.length < 4) {
                    throw new SlimqException(Failure.BAD_INPUT, "tokenizer.json: precompiled_charsmap is " + charsmap.length + " bytes, shorter than its header");
                }
            } else if (type.equals("Replace") && " {2,}".equals(p.path("pattern").path("Regex").asText(null))
                    && List.of(" ", "\u2581").contains(p.path("content").asText(""))) {
                removeExtra = true;
            } else if (type.equals("Strip")) {
                strip = true;
            } else {
                dropped.add(type.equals("Replace") ? "Replace " + abbreviate(Text.oneLine(p.path("pattern").toString())) : type);
            }
        }
        if (strip && !removeExtra) {
            dropped.add("Strip");
        }
        List<String> warnings = dropped.isEmpty() ? List.of() : List.of("llama.cpp's Unigram (t5) tokenizer runs only a precompiled charsmap and "
                + "whitespace folding; tokenizer.json's normalizer " + String.join(", ", dropped) + " is not carried into the GGUF, so llama.cpp may "
                + "tokenize text these rules would change differently");
        return new Normalization(charsmap, removeExtra, warnings);
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    private static List<String> merges(JsonNode model) {
        List<String> merges = new ArrayList<>();
        for (JsonNode mg : model.path("merges")) {
            // The pair form (transformers 4.45+) may hold spaces, which "a b" strings cannot:
            // gguf.SpecialVocab writes them as U+0120 (space + 256), and so does slimq.
            merges.add(mg.isArray() ? mg.get(0).asText().replace(' ', '\u0120') + " " + mg.get(1).asText().replace(' ', '\u0120') : mg.asText());
        }
        return merges;
    }

    /** SentencePiece scores: see the class comment. */
    static float[] scores(List<String> tokens, List<String> merges) {
        Map<String, Integer> firstRank = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            String mg = merges.get(r);
            int sp = mg.indexOf(' ');
            firstRank.putIfAbsent(mg.substring(0, sp) + mg.substring(sp + 1), r);
        }
        float[] s = new float[tokens.size()];
        for (int i = 0; i < s.length; i++) {
            Integer r = firstRank.get(tokens.get(i));
            s[i] = -(1f + (r == null ? merges.size() : r));
        }
        return s;
    }

    /**
     * Whether llama.cpp should put "▁" before the text: a Metaspace pre-tokenizer's prepend scheme
     * ({@code always}/{@code first}; the older {@code add_prefix_space} flag), or a {@code Prepend}
     * normalizer (Llama-2's legacy tokenizer.json).
     */
    static boolean addsSpacePrefix(JsonNode tok) {
        if (mentions(tok.path("normalizer"), "Prepend")) {
            return true;
        }
        JsonNode ms = find(tok.path("pre_tokenizer"), "Metaspace");
        if (ms == null) {
            return false;
        }
        if (ms.has("prepend_scheme")) {
            return !"never".equals(ms.path("prepend_scheme").asText());
        }
        return ms.path("add_prefix_space").asBoolean(true);
    }

    private static JsonNode find(JsonNode n, String type) {
        if (type.equals(n.path("type").asText())) {
            return n;
        }
        for (JsonNode c : n.path("pretokenizers")) {
            JsonNode f = find(c, type);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- special tokens (gguf.SpecialVocab)

    /** gguf-py's names for the special token types: {@code tokenizer.ggml.<name>_token_id}. */
    private static final Map<String, String> SPECIAL_KEYS = Map.of("bos", "bos", "eos", "eos", "unk", "unknown", "sep", "seperator",
            "pad", "padding", "cls", "cls", "mask", "mask", "eot", "eot", "eom", "eom");

    private record Specials(Map<String, Integer> ids, Map<String, Boolean> add, List<String> warnings) {
    }

    /**
     * {@code gguf.SpecialVocab._try_load_from_tokenizer_json} then {@code _try_load_from_config_json}:
     * the first id set for a type wins; ids at or past {@code nVocab} are skipped with a warning.
     */
    private static Specials specials(JsonNode tok, JsonNode tokConfig, JsonNode config, int nVocab) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        Map<String, Boolean> add = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        List<String> typesList = new ArrayList<>(List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask"));
        boolean hasTc = tokConfig.isObject();
        Map<String, String> tc = new HashMap<>();
        if (hasTc) {
            for (String typ : List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom")) {
                String s = content(tokConfig.path(typ + "_token"));
                if (s != null) {
                    tc.put(typ, s);
                }
            }
        }
        String bos = tc.get("bos");
        String cls = tc.get("cls");
        String eos = tc.get("eos");
        String sep = tc.get("sep");
        if (bos == null && cls != null && hasTc) {
            tc.put("bos", bos = cls);
        }
        if (eos == null && sep != null && hasTc) {
            tc.put("eos", eos = sep);
        }
        JsonNode pp = tok.path("post_processor");
        List<JsonNode> processors = new ArrayList<>();
        if (pp.has("processors")) {
            pp.path("processors").forEach(processors::add);
        } else if (pp.isObject()) {
            processors.add(pp);
        }
        for (JsonNode p : processors) {
            String type = p.path("type").asText();
            if (type.equals("RobertaProcessing")) {
                add.put("bos", true);
                add.put("eos", true);
                add.put("sep", true);
                if (cls == null && hasTc) {
                    cls = p.path("cls").isArray() ? p.path("cls").get(0).asText() : bos;
                    putIfNotNull(tc, "cls", cls);
                }
                if (sep == null && hasTc) {
                    sep = p.path("sep").isArray() ? p.path("sep").get(0).asText() : eos;
                    putIfNotNull(tc, "sep", sep);
                }
                continue;
            }
            if (!type.equals("TemplateProcessing")) {
                continue;
            }
            List<JsonNode> single = new ArrayList<>();
            p.path("single").forEach(single::add);
            List<JsonNode> pair = new ArrayList<>();
            p.path("pair").forEach(pair::add);
            String first = null;
            String last = null;
            if (single.size() > 1) {
                first = specialId(single.get(0));
                if (first != null) {
                    if (!hasTc) {
                        bos = first;
                    }
                    add.put("bos", first.equals(bos) || first.equals(cls));
                }
                last = specialId(single.get(single.size() - 1));
                if (last != null) {
                    if (!hasTc) {
                        eos = last;
                    } else if (!last.equals(eos)) {
                        // SpecialVocab keeps the configured EOS as end-of-turn (then end-of-message).
                        String extra = !typesList.contains("eot") ? "eot" : !typesList.contains("eom") ? "eom" : null;
                        if (extra != null) {
                            typesList.add(extra);
                            putIfNotNull(tc, extra, eos);
                        }
                        tc.put("eos", eos = last);
                    }
                    add.put("eos", last.equals(eos));
                }
            }
            if (!pair.isEmpty()) {
                int start = first != null && first.equals(specialId(pair.get(0))) ? 1 : 0;
                int stop = last != null && last.equals(specialId(pair.get(pair.size() - 1))) ? pair.size() - 1 : pair.size();
                List<JsonNode> mid = start < stop ? pair.subList(start, stop) : List.of();
                if (!mid.isEmpty() && "A".equals(seqId(mid.get(0))) && "B".equals(seqId(mid.get(mid.size() - 1))) && mid.size() > 2) {
                    List<JsonNode> between = mid.subList(1, mid.size() - 1);
                    boolean addSep = false;
                    String e = specialId(between.get(0));
                    if (e != null && (e.equals(sep) || e.equals(eos)) && last == null) {
                        addSep = true;
                    }
                    if (between.size() == 2) {
                        String e2 = specialId(between.get(1));
                        if (e2 != null && (e2.equals(sep) || e2.equals(eos))) {
                            addSep = true;
                        }
                    }
                    add.put("sep", addSep);
                    if (addSep && sep == null && hasTc) {
                        putIfNotNull(tc, "sep", eos);
                    }
                }
            }
        }
        if (hasTc) {
            for (String typ : typesList) {
                JsonNode flag = tokConfig.path("add_" + typ + "_token");
                if (flag.isBoolean()) {
                    add.put(typ, flag.asBoolean());
                }
                String content = tc.get(typ);
                if (content == null) {
                    continue;
                }
                for (JsonNode a : tok.path("added_tokens")) {
                    if (content.equals(a.path("content").asText(null))) {
                        setSpecial(ids, typ, a.path("id"), nVocab, warnings);
                        break;
                    }
                }
            }
        }
        for (String typ : typesList) {
            setSpecial(ids, typ, config.path(typ + "_token_id"), nVocab, warnings);
        }
        // gguf-py writes add_{bos,eos,sep}_token only (no handler for the others)
        add.keySet().retainAll(Set.of("bos", "eos", "sep"));
        return new Specials(ids, add, warnings);
    }

    private static void putIfNotNull(Map<String, String> m, String k, String v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    private static String content(JsonNode entry) {
        if (entry.isTextual()) {
            return entry.asText();
        }
        return entry.isObject() && entry.path("content").isTextual() ? entry.path("content").asText() : null;
    }

    private static String specialId(JsonNode piece) {
        JsonNode id = piece.path("SpecialToken").path("id");
        return id.isTextual() && !id.asText().isEmpty() ? id.asText() : null;
    }

    private static String seqId(JsonNode piece) {
        JsonNode id = piece.path("Sequence").path("id");
        return id.isTextual() ? id.asText() : null;
    }

    private static void setSpecial(Map<String, Integer> ids, String typ, JsonNode id, int nVocab, List<String> warnings) {
        if (!id.isIntegralNumber()) {
            return;
        }
        long v = id.asLong();
        if (v < 0) {
            throw new SlimqException(Failure.BAD_INPUT, "invalid id " + v + " for special token type " + typ);
        }
        if (v < nVocab) {
            ids.putIfAbsent(typ, (int) v);
        } else {
            warnings.add("special token " + typ + " has id " + v + ", outside the vocabulary of " + nVocab + "; not written");
        }
    }

    /** For tests and callers without a tokenizer_config.json. */
    public static Metadata metadata(JsonNode tok, JsonNode config, GgufArch arch) {
        return metadata(tok, MissingNode.getInstance(), config, arch);
    }
}
