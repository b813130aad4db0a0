package dev.slimq.convert.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokenizer metadata from {@code tokenizer.json}, as llama.cpp's converter writes it
 * ({@code get_vocab_base}, {@code _set_vocab_gpt2}, {@code BertModel.set_vocab}; keys from
 * {@code gguf-py/gguf/constants.py}; token types from {@code llama-vocab.cpp}: 1 normal, 3 control,
 * 4 user-defined):
 * <ul>
 * <li>byte-level BPE: {@code tokenizer.ggml.model = "gpt2"}, tokens by id, token types, merges
 *     ({@code "a b"} strings), and {@code tokenizer.ggml.pre}. llama.cpp picks the pre-tokenizer name
 *     from a hash of the tokenizer's output on a fixed text; slimq has no Python tokenizer to hash
 *     with, so it writes {@code "default"}, a name llama.cpp accepts, unless
 *     {@code tokenizer_config.json} is known to need another (not attempted).</li>
 * <li>WordPiece: {@code tokenizer.ggml.model = "bert"}, tokens mapped to the "phantom space" form
 *     ({@code [X]} kept, {@code ##x} becomes {@code x}, others get a leading U+2581), and
 *     {@code tokenizer.ggml.token_type_count}.</li>
 * </ul>
 * Ids shorter than the config's {@code vocab_size} are padded with {@code [PAD<i>]} user-defined tokens,
 * as the converter does. Special ids come from config.json and the tokenizer's added tokens.
 */
public final class GgufTokenizer {
    private GgufTokenizer() {
    }

    public static Map<String, GgufValue> metadata(JsonNode tok, JsonNode config, GgufArch arch) {
        JsonNode model = tok.path("model");
        String type = model.path("type").asText("");
        Map<String, GgufValue> m = new LinkedHashMap<>();
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
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
        int[] types = new int[size];
        List<String> list = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            if (tokens[i] == null) {
                list.add("[PAD" + i + "]");
                types[i] = 4;
            } else {
                JsonNode a = added.get(i);
                types[i] = a == null ? 1 : a.path("special").asBoolean() ? 3 : 4;
                list.add(tokens[i]);
            }
        }
        switch (type) {
            case "BPE" -> {
                m.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
                m.put("tokenizer.ggml.pre", GgufValue.string("default"));
                m.put("tokenizer.ggml.tokens", GgufValue.strings(list));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                List<String> merges = new ArrayList<>();
                for (JsonNode mg : model.path("merges")) {
                    merges.add(mg.isArray() ? mg.get(0).asText() + " " + mg.get(1).asText() : mg.asText());
                }
                m.put("tokenizer.ggml.merges", GgufValue.strings(merges));
            }
            case "WordPiece" -> {
                m.put("tokenizer.ggml.model", GgufValue.string("bert"));
                m.put("tokenizer.ggml.pre", GgufValue.string("default"));
                List<String> phantom = new ArrayList<>(size);
                for (String t : list) {
                    phantom.add(t.startsWith("[") && t.endsWith("]") ? t : t.startsWith("##") ? t.substring(2) : "\u2581" + t);
                }
                m.put("tokenizer.ggml.tokens", GgufValue.strings(phantom));
                m.put("tokenizer.ggml.token_type", GgufValue.i32s(types));
                m.put("tokenizer.ggml.token_type_count", GgufValue.u32(config.path("type_vocab_size").asInt(1)));
            }
            default -> throw new SlimqException(Failure.UNSUPPORTED, "tokenizer.json model type '" + dev.slimq.core.Text.oneLine(type)
                    + "' is not supported for GGUF (BPE and WordPiece are)");
        }
        special(m, "bos", config.path("bos_token_id"), vocab, null);
        special(m, "eos", config.path("eos_token_id"), vocab, null);
        special(m, "unknown", null, vocab, model.path("unk_token").asText(arch == GgufArch.BERT ? "[UNK]" : "<unk>"));
        special(m, "padding", config.path("pad_token_id"), vocab, arch == GgufArch.BERT ? "[PAD]" : null);
        if (arch == GgufArch.BERT) {
            special(m, "cls", null, vocab, "[CLS]");
            special(m, "seperator", null, vocab, "[SEP]");
            special(m, "mask", null, vocab, "[MASK]");
        }
        return m;
    }

    /** {@code tokenizer.ggml.<kind>_token_id} (gguf-py spells the separator key "seperator"). */
    private static void special(Map<String, GgufValue> m, String kind, JsonNode id, Map<String, Integer> vocab, String text) {
        Integer v = id != null && id.canConvertToInt() ? Integer.valueOf(id.asInt()) : text != null ? vocab.get(text) : null;
        if (v != null && v >= 0) {
            m.put("tokenizer.ggml." + kind + "_token_id", GgufValue.u32(v));
        }
    }
}
