package dev.slimq.convert.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.core.json.Json;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.testdata.SynthSentencePiece;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokenizer metadata against values worked out by hand from llama.cpp's converter and llama-vocab.cpp. */
class GgufTokenizerTest {
    private static JsonNode json(String s) {
        try {
            return Json.MAPPER.readTree(s.replace('\'', '"'));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static final String SPECIALS = "'added_tokens':[{'id':0,'content':'<unk>','special':true},{'id':1,'content':'<s>','special':true},"
            + "{'id':2,'content':'</s>','special':true},{'id':11,'content':'<extra>','special':false}],";

    /** A SentencePiece-style tokenizer.json small enough to work out every field by hand. */
    private static JsonNode spm() {
        return json("{" + SPECIALS
                + "'normalizer':null,'pre_tokenizer':{'type':'Metaspace','replacement':'\u2581','prepend_scheme':'first','split':false},"
                + "'post_processor':{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>','type_id':0}},{'Sequence':{'id':'A','type_id':0}}],"
                + "'pair':[{'SpecialToken':{'id':'<s>','type_id':0}},{'Sequence':{'id':'A','type_id':0}},{'SpecialToken':{'id':'<s>','type_id':1}},"
                + "{'Sequence':{'id':'B','type_id':1}}],'special_tokens':{}},"
                + "'decoder':{'type':'Sequence','decoders':[{'type':'ByteFallback'}]},"
                + "'model':{'type':'BPE','unk_token':'<unk>','byte_fallback':true,'fuse_unk':true,"
                + "'vocab':{'<unk>':0,'<s>':1,'</s>':2,'<0x0A>':3,'<0xe2>':4,'\u2581':5,'a':6,'b':7,'\u2581a':8,'ab':9,'\u2581ab':10},"
                + "'merges':['\u2581 a','a b','\u2581a b']}}");
    }

    private static List<?> list(Map<String, GgufValue> m, String key) {
        return m.get(key).asList();
    }

    @Test
    void sentencePieceMetadataAsWorkedOutByHand() {
        JsonNode tc = json("{'add_bos_token':true,'add_eos_token':false,'bos_token':'<s>','eos_token':'</s>','unk_token':'<unk>'}");
        GgufTokenizer.Metadata md = GgufTokenizer.metadata(spm(), tc, json("{'vocab_size':13}"), GgufArch.LLAMA);
        Map<String, GgufValue> m = md.keys();
        assertEquals("llama", m.get("tokenizer.ggml.model").asString());
        assertEquals("default", m.get("tokenizer.ggml.pre").asString());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x0A>", "<0xe2>", "\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "<extra>", "[PAD12]"),
                list(m, "tokenizer.ggml.tokens"));
        // 3 merges: "▁a" is rank 0 -> -1, "ab" rank 1 -> -2, "▁ab" rank 2 -> -3; all others -(1 + 3).
        assertEquals(List.of(-4f, -4f, -4f, -4f, -4f, -4f, -4f, -4f, -1f, -2f, -3f, -4f, -4f), list(m, "tokenizer.ggml.scores"));
        // unk 2 (unknown), <s> </s> 3 (control), byte pieces 6 (either hex case), normal 1,
        // the non-special added token past the model vocabulary 4 (user-defined), padding 5 (unused).
        assertEquals(List.of(2L, 3L, 3L, 6L, 6L, 1L, 1L, 1L, 1L, 1L, 1L, 4L, 5L), list(m, "tokenizer.ggml.token_type"));
        assertEquals(1, m.get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(2, m.get("tokenizer.ggml.eos_token_id").asLong());
        assertEquals(0, m.get("tokenizer.ggml.unknown_token_id").asLong());
        assertTrue(m.get("tokenizer.ggml.add_bos_token").asBool());
        assertFalse(m.get("tokenizer.ggml.add_eos_token").asBool());
        assertTrue(m.get("tokenizer.ggml.add_space_prefix").asBool());
        assertFalse(m.containsKey("tokenizer.ggml.merges"), "llama.cpp's SentencePiece tokenizer takes scores, not merges");
        assertEquals(List.of(), md.warnings());
    }

    @Test
    void prependSchemeNeverMeansNoSpacePrefix() {
        ObjectNode tok = (ObjectNode) spm();
        ((ObjectNode) tok.get("pre_tokenizer")).put("prepend_scheme", "never");
        assertFalse(GgufTokenizer.metadata(tok, json("{'vocab_size':12}"), GgufArch.LLAMA).keys().get("tokenizer.ggml.add_space_prefix").asBool());
        // Llama-2's legacy form: Prepend + Replace normalizer, no pre-tokenizer, still SentencePiece-style.
        JsonNode legacy = json("{'normalizer':{'type':'Sequence','normalizers':[{'type':'Prepend','prepend':'\u2581'},"
                + "{'type':'Replace','pattern':{'String':' '},'content':'\u2581'}]},'pre_tokenizer':null,"
                + "'model':{'type':'BPE','byte_fallback':false,'vocab':{'a':0},'merges':[]}}");
        assertEquals(GgufTokenizer.Model.LLAMA, GgufTokenizer.model(legacy));
        assertTrue(GgufTokenizer.addsSpacePrefix(legacy));
    }

    /**
     * llama.cpp's SentencePiece tokenizer ({@code llm_tokenizer_spm_session}), written here from
     * llama-vocab.cpp: " " prefix, spaces to U+2581, then repeatedly merge the adjacent pair whose
     * joined text is a token with the highest score (ties: leftmost); symbols that are no token
     * become their UTF-8 bytes' {@code <0xNN>} pieces.
     */
    private static List<Integer> llamaCppSpm(String text, List<String> tokens, List<Float> scores) {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            ids.putIfAbsent(tokens.get(i), i);
        }
        String s = (" " + text).replace(' ', '\u2581');
        List<String> sym = new ArrayList<>(s.codePoints().mapToObj(c -> new String(Character.toChars(c))).toList());
        while (true) {
            int best = -1;
            float bestScore = Float.NEGATIVE_INFINITY;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer id = ids.get(sym.get(i) + sym.get(i + 1));
                if (id != null && scores.get(id) > bestScore) {
                    best = i;
                    bestScore = scores.get(id);
                }
            }
            if (best < 0) {
                break;
            }
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
        List<Integer> out = new ArrayList<>();
        for (String x : sym) {
            Integer id = ids.get(x);
            if (id != null) {
                out.add(id);
            } else {
                for (byte b : x.getBytes(StandardCharsets.UTF_8)) {
                    out.add(ids.get(String.format("<0x%02X>", b & 0xFF)));
                }
            }
        }
        return out;
    }

    @Test
    void scoresMakeLlamaCppsMergeOrderTheBpeMergeOrder(@TempDir Path dir) throws IOException {
        ObjectNode tok = SynthSentencePiece.tokenizerJson(512);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, Json.python(tok));
        Tokenizer hf = Tokenizer.load(file);
        Map<String, GgufValue> m = GgufTokenizer.metadata(tok, SynthSentencePiece.tokenizerConfig(256), json("{'vocab_size':512}"), GgufArch.LLAMA).keys();
        @SuppressWarnings("unchecked")
        List<String> tokens = (List<String>) list(m, "tokenizer.ggml.tokens");
        @SuppressWarnings("unchecked")
        List<Float> scores = (List<Float>) list(m, "tokenizer.ggml.scores");
        List<Float> flat = new ArrayList<>();
        for (int i = 0; i < scores.size(); i++) {
            flat.add(-1000f); // LlamaHfVocab's placeholder score
        }
        List<String> texts = List.of("The harbor town woke slowly on cold mornings.", "the quick brown fox jumps over the lazy dog",
                "Fishing boats came back before the sun was fully up, and the men who worked on them carried crates.",
                "naïve café ☃ 日本", "hello world", "a small test of embeddings");
        int flatDiffers = 0;
        for (String t : texts) {
            int[] expected = hf.encode(t, false).ids();
            List<Integer> got = llamaCppSpm(t, tokens, scores);
            assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray(), t);
            if (!llamaCppSpm(t, tokens, flat).equals(got)) {
                flatDiffers++;
            }
        }
        assertTrue(flatDiffers > 0, "with equal scores llama.cpp merges left to right, which differs from BPE on some text");
    }

    private static JsonNode byteLevel(JsonNode pre) {
        ObjectNode tok = (ObjectNode) json("{'added_tokens':[],'model':{'type':'BPE','vocab':{'a':0,'b':1,'ab':2},'merges':[['a','b']]}}");
        tok.set("pre_tokenizer", pre);
        return tok;
    }

    /** Split(regex, Isolated) then ByteLevel without its own regex, as Llama-3's and Qwen2's tokenizer.json. */
    private static JsonNode split(String regex) {
        ObjectNode seq = Json.MAPPER.createObjectNode();
        seq.put("type", "Sequence");
        ObjectNode sp = seq.putArray("pretokenizers").addObject();
        sp.put("type", "Split");
        sp.putObject("pattern").put("Regex", regex);
        sp.put("behavior", "Isolated");
        sp.put("invert", false);
        seq.withArray("pretokenizers").add(json("{'type':'ByteLevel','add_prefix_space':false,'trim_offsets':true,'use_regex':false}"));
        return seq;
    }

    @Test
    void preTokenizerNamesFollowLlamaCpp() {
        // Regexes copied from the models' tokenizer.json files (Llama-3, Qwen2); the names are llama.cpp's.
        String llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        String qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        Map<JsonNode, String> cases = Map.of(
                json("{'type':'ByteLevel','add_prefix_space':false,'trim_offsets':true,'use_regex':true}"), "gpt-2",
                split(llama3), "llama-bpe",
                split(qwen2), "qwen2");
        JsonNode config = json("{'vocab_size':3}");
        cases.forEach((pre, name) -> {
            GgufTokenizer.Metadata md = GgufTokenizer.metadata(byteLevel(pre), config, GgufArch.LLAMA);
            assertEquals("gpt2", md.keys().get("tokenizer.ggml.model").asString());
            assertEquals(name, md.keys().get("tokenizer.ggml.pre").asString(), pre.toString());
            assertEquals(List.of(), md.warnings());
            assertEquals(List.of("a b"), list(md.keys(), "tokenizer.ggml.merges"));
        });
        GgufTokenizer.Metadata unknown = GgufTokenizer.metadata(byteLevel(split("\\p{L}+|\\p{N}")), config, GgufArch.QWEN2);
        assertEquals("default", unknown.keys().get("tokenizer.ggml.pre").asString());
        assertEquals(1, unknown.warnings().size());
        assertTrue(unknown.warnings().get(0).contains("no llama.cpp name"), unknown.warnings().get(0));
    }

    @Test
    void specialTokensFollowSpecialVocab() {
        // BERT template "[CLS] $A [SEP]" with a tokenizer_config naming cls/sep only: SpecialVocab takes
        // bos = cls, eos = sep; add_bos and add_eos from the template; add_sep false (the pair's middle
        // [SEP] follows a trailing special).
        JsonNode tok = json("{'added_tokens':[{'id':0,'content':'[PAD]','special':true},{'id':1,'content':'[UNK]','special':true},"
                + "{'id':2,'content':'[CLS]','special':true},{'id':3,'content':'[SEP]','special':true},{'id':4,'content':'[MASK]','special':true}],"
                + "'post_processor':{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'[CLS]'}},{'Sequence':{'id':'A'}},{'SpecialToken':{'id':'[SEP]'}}],"
                + "'pair':[{'SpecialToken':{'id':'[CLS]'}},{'Sequence':{'id':'A'}},{'SpecialToken':{'id':'[SEP]'}},{'Sequence':{'id':'B'}},{'SpecialToken':{'id':'[SEP]'}}]},"
                + "'model':{'type':'WordPiece','unk_token':'[UNK]','vocab':{'[PAD]':0,'[UNK]':1,'[CLS]':2,'[SEP]':3,'[MASK]':4,'a':5,'##b':6}}}");
        JsonNode tc = json("{'cls_token':'[CLS]','sep_token':'[SEP]','pad_token':'[PAD]','mask_token':'[MASK]','unk_token':'[UNK]'}");
        Map<String, GgufValue> m = GgufTokenizer.metadata(tok, tc, json("{'vocab_size':7,'type_vocab_size':2,'pad_token_id':0}"), GgufArch.BERT).keys();
        assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "\u2581a", "b"), list(m, "tokenizer.ggml.tokens"));
        assertEquals(2, m.get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(3, m.get("tokenizer.ggml.eos_token_id").asLong());
        assertEquals(1, m.get("tokenizer.ggml.unknown_token_id").asLong());
        assertEquals(3, m.get("tokenizer.ggml.seperator_token_id").asLong());
        assertEquals(0, m.get("tokenizer.ggml.padding_token_id").asLong());
        assertEquals(2, m.get("tokenizer.ggml.cls_token_id").asLong());
        assertEquals(4, m.get("tokenizer.ggml.mask_token_id").asLong());
        assertTrue(m.get("tokenizer.ggml.add_bos_token").asBool());
        assertTrue(m.get("tokenizer.ggml.add_eos_token").asBool());
        assertFalse(m.get("tokenizer.ggml.add_sep_token").asBool());
        assertEquals(2, m.get("tokenizer.ggml.token_type_count").asLong());

        // RobertaProcessing sets add_bos/eos/sep; tokenizer_config's add_eos_token overrides; config.json
        // ids fill types the tokenizer config does not name; an id past the vocabulary is skipped.
        JsonNode roberta = json("{'added_tokens':[{'id':0,'content':'<s>','special':true},{'id':1,'content':'</s>','special':true}],"
                + "'pre_tokenizer':{'type':'ByteLevel','use_regex':true},'post_processor':{'type':'RobertaProcessing','sep':['</s>',1],'cls':['<s>',0]},"
                + "'model':{'type':'BPE','vocab':{'<s>':0,'</s>':1,'a':2},'merges':[]}}");
        GgufTokenizer.Metadata r = GgufTokenizer.metadata(roberta, json("{'bos_token':'<s>','add_eos_token':false}"),
                json("{'vocab_size':3,'eos_token_id':1,'pad_token_id':9}"), GgufArch.QWEN2);
        assertEquals(0, r.keys().get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(1, r.keys().get("tokenizer.ggml.eos_token_id").asLong());
        assertTrue(r.keys().get("tokenizer.ggml.add_bos_token").asBool());
        assertFalse(r.keys().get("tokenizer.ggml.add_eos_token").asBool());
        assertTrue(r.keys().get("tokenizer.ggml.add_sep_token").asBool());
        assertFalse(r.keys().containsKey("tokenizer.ggml.padding_token_id"));
        assertEquals(1, r.warnings().size(), r.warnings().toString());
    }
}
