package dev.slimq.core.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads tokenizer.json as {@code tokenizers/src/tokenizer/serialization.rs} writes it: one
 * {@code "type"}-tagged object per component, defaults as the Rust serde structs declare them.
 */
final class TokenizerJson {
    private final Path file;

    private TokenizerJson(Path file) {
        this.file = file;
    }

    static Tokenizer load(Path file) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new TokenizerFormatException(Failure.BAD_INPUT, file, "not valid JSON: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TokenizerFormatException(Failure.BAD_INPUT, file, "not UTF-8 text", e);
        } catch (IOException e) {
            throw IoFailures.wrap("read", file, e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerFormatException(Failure.BAD_INPUT, file, "not a tokenizer.json object");
        }
        return new TokenizerJson(file).tokenizer(root);
    }

    private Tokenizer tokenizer(JsonNode root) {
        try {
            List<AddedToken> added = new ArrayList<>();
            for (JsonNode t : root.path("added_tokens")) {
                boolean special = t.path("special").asBoolean(false);
                added.add(new AddedToken(intField(t, "id"), text(t, "content"), t.path("single_word").asBoolean(false),
                        t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                        t.path("normalized").asBoolean(!special), special));
            }
            TokenizerModel model = model(need(root, "model"));
            return new Tokenizer(file, present(root, "normalizer") ? normalizer(root.get("normalizer")) : null,
                    present(root, "pre_tokenizer") ? preTokenizer(root.get("pre_tokenizer")) : null, model,
                    present(root, "post_processor") ? postProcessor(root.get("post_processor"), root) : null,
                    present(root, "decoder") ? decoder(root.get("decoder")) : null, added);
        } catch (IllegalArgumentException e) {
            throw new TokenizerFormatException(Failure.BAD_INPUT, file, e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    private TokenizerModel model(JsonNode m) {
        String type = m.path("type").asText(m.has("merges") ? "BPE" : m.has("max_input_chars_per_word") ? "WordPiece"
                : m.path("vocab").isArray() ? "Unigram" : "");
        if (type.equals("Unigram")) {
            return unigram(m);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        if (!m.path("vocab").isObject()) {
            if (type.equals("BPE") || type.equals("WordPiece")) {
                throw bad("model.vocab is not an object");
            }
        } else {
            m.get("vocab").properties().forEach(e -> {
                if (!e.getValue().canConvertToInt()) {
                    throw bad("vocab entry " + e.getKey() + " has no integer id");
                }
                vocab.put(e.getKey(), e.getValue().intValue());
            });
        }
        return switch (type) {
            case "WordPiece" -> new WordPieceModel(vocab, m.path("unk_token").asText("[UNK]"),
                    m.path("continuing_subword_prefix").asText("##"), m.path("max_input_chars_per_word").asInt(100));
            case "BPE" -> {
                List<String[]> merges = new ArrayList<>();
                for (JsonNode mg : m.path("merges")) {
                    if (mg.isArray() && mg.size() == 2) {
                        merges.add(new String[] {mg.get(0).asText(), mg.get(1).asText()});
                    } else if (mg.isTextual() && mg.asText().indexOf(' ') > 0) {
                        String s = mg.asText();
                        int sp = s.indexOf(' ');
                        merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                    } else {
                        throw bad("merge " + merges.size() + " is neither \"a b\" nor [a, b]");
                    }
                }
                if (m.hasNonNull("dropout") && m.get("dropout").asDouble() > 0) {
                    throw new TokenizerFormatException(Failure.UNSUPPORTED, file, "BPE dropout is not supported");
                }
                yield BpeModel.of(vocab, merges, optText(m, "unk_token"), optText(m, "continuing_subword_prefix"),
                        optText(m, "end_of_word_suffix"), m.path("fuse_unk").asBoolean(false),
                        m.path("byte_fallback").asBoolean(false), m.path("ignore_merges").asBoolean(false));
            }
            default -> throw unsupported("model type " + (type.isEmpty() ? "(none)" : type));
        };
    }

    /** {@code {"type": "Unigram", "unk_id": N or null, "vocab": [[piece, score], ...], "byte_fallback": bool}}. */
    private TokenizerModel unigram(JsonNode m) {
        JsonNode v = m.path("vocab");
        if (!v.isArray()) {
            throw bad("Unigram model.vocab is not an array of [piece, score]");
        }
        List<String> pieces = new ArrayList<>(v.size());
        double[] scores = new double[v.size()];
        for (JsonNode e : v) {
            if (!e.isArray() || e.size() != 2 || !e.get(0).isTextual() || !e.get(1).isNumber()) {
                throw bad("Unigram vocab entry " + pieces.size() + " is not [piece, score]: " + abbreviate(e));
            }
            scores[pieces.size()] = e.get(1).doubleValue();
            pieces.add(e.get(0).asText());
        }
        int unk = -1;
        if (m.hasNonNull("unk_id")) {
            if (!m.get("unk_id").canConvertToInt()) {
                throw bad("Unigram unk_id is not an integer");
            }
            unk = m.get("unk_id").intValue();
            if (unk < 0) {
                throw bad("Unigram unk_id " + unk + " is negative");
            }
        }
        return new UnigramModel(pieces, scores, unk, m.path("byte_fallback").asBoolean(false));
    }

    private Normalizer normalizer(JsonNode n) {
        String type = text(n, "type");
        return switch (type) {
            case "BertNormalizer" -> {
                boolean lower = n.path("lowercase").asBoolean(true);
                boolean strip = n.path("strip_accents").isNull() || n.path("strip_accents").isMissingNode()
                        ? lower : n.get("strip_accents").asBoolean();
                yield new Normalizer.Bert(n.path("clean_text").asBoolean(true),
                        n.path("handle_chinese_chars").asBoolean(true), strip, lower);
            }
            case "NFC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFC);
            case "NFD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "StripAccents" -> new Normalizer.StripAccents();
            case "Strip" -> new Normalizer.Strip(n.path("strip_left").asBoolean(true),
                    n.path("strip_right").asBoolean(true));
            case "Prepend" -> new Normalizer.Prepend(text(n, "prepend"));
            case "Nmt" -> new Normalizer.Nmt();
            case "Precompiled" -> new Normalizer.Precompiled(PrecompiledCharsMap.parseBase64(text(n, "precompiled_charsmap")));
            case "Replace" -> new Normalizer.Replace(pattern(need(n, "pattern")), text(n, "content"));
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                need(n, "normalizers").forEach(s -> steps.add(normalizer(s)));
                yield new Normalizer.Sequence(steps);
            }
            default -> throw unsupported("normalizer " + type);
        };
    }

    private PreTokenizer preTokenizer(JsonNode n) {
        String type = text(n, "type");
        return switch (type) {
            case "BertPreTokenizer" -> new PreTokenizer.Bert();
            case "Whitespace" -> new PreTokenizer.Whitespace();
            case "WhitespaceSplit" -> new PreTokenizer.WhitespaceSplit();
            case "ByteLevel" -> new PreTokenizer.ByteLevel(n.path("add_prefix_space").asBoolean(true),
                    n.path("use_regex").asBoolean(true));
            case "Split" -> new PreTokenizer.Split(pattern(need(n, "pattern")), behavior(text(n, "behavior")),
                    n.path("invert").asBoolean(false));
            case "Metaspace" -> new PreTokenizer.Metaspace(replacement(n), prependScheme(n),
                    n.path("split").asBoolean(true));
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                need(n, "pretokenizers").forEach(s -> steps.add(preTokenizer(s)));
                yield new PreTokenizer.Sequence(steps);
            }
            default -> throw unsupported("pre_tokenizer " + type);
        };
    }

    private PostProcessor postProcessor(JsonNode n, JsonNode root) {
        String type = text(n, "type");
        return switch (type) {
            case "TemplateProcessing" -> {
                List<PostProcessor.Item> single = new ArrayList<>();
                for (JsonNode item : need(n, "single")) {
                    if (item.has("SpecialToken")) {
                        JsonNode s = item.get("SpecialToken");
                        single.add(new PostProcessor.SpecialItem(text(s, "id"), s.path("type_id").asInt(0)));
                    } else if (item.has("Sequence")) {
                        single.add(new PostProcessor.SequenceItem(item.get("Sequence").path("type_id").asInt(0)));
                    } else {
                        throw bad("template item " + item + " is neither SpecialToken nor Sequence");
                    }
                }
                Map<String, PostProcessor.Special> specials = new HashMap<>();
                n.path("special_tokens").properties().forEach(e -> {
                    JsonNode ids = need(e.getValue(), "ids"), toks = need(e.getValue(), "tokens");
                    if (ids.size() != toks.size()) {
                        throw bad("special token " + e.getKey() + " has " + ids.size() + " ids but "
                                + toks.size() + " tokens");
                    }
                    int[] idArr = new int[ids.size()];
                    List<String> tokList = new ArrayList<>();
                    for (int i = 0; i < idArr.length; i++) {
                        idArr[i] = ids.get(i).asInt();
                        tokList.add(toks.get(i).asText());
                    }
                    specials.put(e.getKey(), new PostProcessor.Special(idArr, tokList));
                });
                for (PostProcessor.Item item : single) {
                    if (item instanceof PostProcessor.SpecialItem s && !specials.containsKey(s.name())) {
                        throw bad("template uses special token " + s.name() + " missing from special_tokens");
                    }
                }
                yield new PostProcessor.Template(single, specials);
            }
            case "BertProcessing", "RobertaProcessing" -> {
                JsonNode cls = need(n, "cls"), sep = need(n, "sep");
                boolean roberta = type.equals("RobertaProcessing");
                yield new PostProcessor.Wrap(
                        new PostProcessor.Tok(cls.path(1).asInt(), cls.path(0).asText(), 0, 0, 0, true),
                        new PostProcessor.Tok(sep.path(1).asInt(), sep.path(0).asText(), 0, 0, 0, true),
                        roberta && n.path("trim_offsets").asBoolean(true),
                        roberta && n.path("add_prefix_space").asBoolean(true));
            }
            case "ByteLevel" -> new PostProcessor.ByteLevel(n.path("trim_offsets").asBoolean(true),
                    n.path("add_prefix_space").asBoolean(true));
            case "Sequence" -> {
                List<PostProcessor> steps = new ArrayList<>();
                need(n, "processors").forEach(s -> steps.add(postProcessor(s, root)));
                yield new PostProcessor.Sequence(steps);
            }
            default -> throw unsupported("post_processor " + type);
        };
    }

    private Decoder decoder(JsonNode n) {
        String type = text(n, "type");
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevel();
            case "WordPiece" -> new Decoder.WordPiece(n.path("prefix").asText("##"), n.path("cleanup").asBoolean(true));
            case "Metaspace" -> new Decoder.Metaspace(replacement(n), !prependScheme(n).equals("never"));
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Replace" -> {
                JsonNode p = need(n, "pattern");
                if (!p.has("String")) {
                    throw unsupported("Replace decoder with a regex pattern");
                }
                yield new Decoder.Replace(p.get("String").asText(), text(n, "content"));
            }
            case "Strip" -> {
                String c = text(n, "content");
                if (c.codePointCount(0, c.length()) != 1) {
                    throw bad("Strip decoder content must be one character");
                }
                yield new Decoder.Strip(c.codePointAt(0), n.path("start").asInt(0), n.path("stop").asInt(0));
            }
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                need(n, "decoders").forEach(s -> steps.add(decoder(s)));
                yield new Decoder.Sequence(steps);
            }
            default -> throw unsupported("decoder " + type);
        };
    }

    private int replacement(JsonNode n) {
        String r = n.path("replacement").asText("\u2581");
        if (r.codePointCount(0, r.length()) != 1) {
            throw bad("Metaspace replacement must be one character");
        }
        return r.codePointAt(0);
    }

    /** prepend_scheme, or the older add_prefix_space (true meaning "always"). */
    private String prependScheme(JsonNode n) {
        if (n.hasNonNull("prepend_scheme")) {
            String s = n.get("prepend_scheme").asText();
            if (!s.equals("always") && !s.equals("first") && !s.equals("never")) {
                throw bad("unknown prepend_scheme " + s);
            }
            return s;
        }
        return n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
    }

    private PreTokenizer.Behavior behavior(String b) {
        return switch (b) {
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
            default -> throw bad("unknown split behavior " + b);
        };
    }

    /** {@code {"String": s}} (literal) or {@code {"Regex": r}} (Oniguruma syntax; Java's is close enough for HF's). */
    private Pattern pattern(JsonNode p) {
        if (p.has("String")) {
            return Pattern.compile(Pattern.quote(p.get("String").asText()));
        }
        if (p.has("Regex")) {
            return Pattern.compile(p.get("Regex").asText(), Pattern.UNICODE_CHARACTER_CLASS);
        }
        throw bad("pattern " + p + " is neither String nor Regex");
    }

    private static boolean present(JsonNode root, String field) {
        return root.hasNonNull(field);
    }

    private JsonNode need(JsonNode n, String field) {
        if (!n.hasNonNull(field)) {
            throw bad("missing " + field + " in " + abbreviate(n));
        }
        return n.get(field);
    }

    private String text(JsonNode n, String field) {
        JsonNode v = need(n, field);
        if (!v.isTextual()) {
            throw bad(field + " is not a string in " + abbreviate(n));
        }
        return v.asText();
    }

    private int intField(JsonNode n, String field) {
        JsonNode v = need(n, field);
        if (!v.canConvertToInt() || v.intValue() < 0) {
            throw bad(field + " is not a non-negative integer in " + abbreviate(n));
        }
        return v.intValue();
    }

    private static String optText(JsonNode n, String field) {
        return n.hasNonNull(field) && !n.get(field).asText().isEmpty() ? n.get(field).asText() : null;
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    private TokenizerFormatException bad(String reason) {
        return new TokenizerFormatException(Failure.BAD_INPUT, file, reason);
    }

    private TokenizerFormatException unsupported(String what) {
        return new TokenizerFormatException(Failure.UNSUPPORTED, file, what + " is not supported");
    }
}
