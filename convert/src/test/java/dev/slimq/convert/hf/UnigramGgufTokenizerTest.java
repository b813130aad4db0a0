package dev.slimq.convert.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.convert.gguf.GgufValue;
import dev.slimq.convert.gguf.GgufValueType;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SentencePiece Unigram (XLM-R) tokenizer metadata against values worked out by hand from llama.cpp's
 * {@code _xlmroberta_set_vocab}, gguf-py's key names and llama-vocab.cpp's UGM loader.
 */
class UnigramGgufTokenizerTest {
    private static JsonNode json(String s) {
        try {
            return Json.MAPPER.readTree(s.replace('\'', '"'));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Charsmap bytes written by hand: u32 trie length 4, one unit 0x00000500, then "b\0". */
    private static final String CHARSMAP_BASE64 = "BAAAAAAFAABiAA==";
    private static final List<Long> CHARSMAP_BYTES = List.of(4L, 0L, 0L, 0L, 0L, 5L, 0L, 0L, 0x62L, 0L);

    /** XLM-R's layout: specials at 0-3, pieces, mask last (in the model vocab too, as transformers writes it). */
    private static JsonNode xlmr(String normalizer, String prepend) {
        String added = "'added_tokens':[{'id':0,'content':'<s>','special':true},{'id':1,'content':'<pad>','special':true},"
                + "{'id':2,'content':'</s>','special':true},{'id':3,'content':'<unk>','special':true},{'id':7,'content':'<mask>','special':true,'lstrip':true}],";
        return json("{" + added + "'normalizer':" + normalizer + ","
                + "'pre_tokenizer':{'type':'Metaspace','replacement':'\u2581','prepend_scheme':'" + prepend + "','split':true},"
                + "'post_processor':{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>','type_id':0}},{'Sequence':{'id':'A','type_id':0}},"
                + "{'SpecialToken':{'id':'</s>','type_id':0}}],'pair':[{'SpecialToken':{'id':'<s>','type_id':0}},{'Sequence':{'id':'A','type_id':0}},"
                + "{'SpecialToken':{'id':'</s>','type_id':0}},{'SpecialToken':{'id':'</s>','type_id':0}},{'Sequence':{'id':'B','type_id':0}},"
                + "{'SpecialToken':{'id':'</s>','type_id':0}}],'special_tokens':{}},"
                + "'model':{'type':'Unigram','unk_id':3,'byte_fallback':false,'vocab':[['<s>',0.0],['<pad>',0.0],['</s>',0.0],['<unk>',0.0],"
                + "['\u2581',-2.5],['a',-3.25],['\u2581a',-1.5],['<mask>',0.0]]}}");
    }

    private static final JsonNode TOKENIZER_CONFIG = json("{'bos_token':'<s>','eos_token':'</s>','unk_token':'<unk>','sep_token':'</s>',"
            + "'pad_token':'<pad>','cls_token':'<s>','mask_token':'<mask>','tokenizer_class':'XLMRobertaTokenizer'}");
    private static final JsonNode CONFIG = json("{'model_type':'xlm-roberta','vocab_size':9,'type_vocab_size':1,'pad_token_id':1,"
            + "'bos_token_id':0,'eos_token_id':2}");

    @Test
    void xlmRobertaMetadataAsWorkedOutByHand() {
        String norm = "{'type':'Sequence','normalizers':[{'type':'Precompiled','precompiled_charsmap':'" + CHARSMAP_BASE64 + "'},"
                + "{'type':'Replace','pattern':{'Regex':' {2,}'},'content':' '}]}";
        GgufTokenizer.Metadata md = GgufTokenizer.metadata(xlmr(norm, "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT);
        Map<String, GgufValue> m = md.keys();
        assertEquals("t5", m.get("tokenizer.ggml.model").asString());
        assertEquals("default", m.get("tokenizer.ggml.pre").asString());
        // vocab_size 9 in config.json: id 8 is the converter's [PAD8] placeholder.
        assertEquals(List.of("<s>", "<pad>", "</s>", "<unk>", "\u2581", "a", "\u2581a", "<mask>", "[PAD8]"), m.get("tokenizer.ggml.tokens").asList());
        assertEquals(List.of(0f, 0f, 0f, 0f, -2.5f, -3.25f, -1.5f, 0f, -10000f), m.get("tokenizer.ggml.scores").asList());
        // <s> <pad> </s> control (3), <unk> unknown (2), pieces normal (1), <mask> control, padding unused (5).
        assertEquals(List.of(3L, 3L, 3L, 2L, 1L, 1L, 1L, 3L, 5L), m.get("tokenizer.ggml.token_type").asList());
        assertEquals(GgufValueType.INT32, m.get("tokenizer.ggml.token_type").elementType());
        assertEquals(GgufValueType.FLOAT32, m.get("tokenizer.ggml.scores").elementType());
        assertTrue(m.get("tokenizer.ggml.add_space_prefix").asBool());
        assertTrue(m.get("tokenizer.ggml.remove_extra_whitespaces").asBool());
        assertEquals(GgufValueType.UINT32, m.get("tokenizer.ggml.token_type_count").type());
        assertEquals(1L, m.get("tokenizer.ggml.token_type_count").asLong());
        GgufValue cm = m.get("tokenizer.ggml.precompiled_charsmap");
        assertEquals(GgufValueType.ARRAY, cm.type());
        assertEquals(GgufValueType.UINT8, cm.elementType(), "llama.cpp asserts an INT8/UINT8 array");
        assertEquals(CHARSMAP_BYTES, cm.asList());
        Map<String, Long> ids = Map.of("bos", 0L, "eos", 2L, "unknown", 3L, "seperator", 2L, "padding", 1L, "cls", 0L, "mask", 7L);
        ids.forEach((k, v) -> assertEquals(v, m.get("tokenizer.ggml." + k + "_token_id").asLong(), k));
        ids.keySet().forEach(k -> assertEquals(GgufValueType.UINT32, m.get("tokenizer.ggml." + k + "_token_id").type(), k));
        // "<s> $A </s>" adds both; the pair template's "</s> </s>" between A and B adds the separator.
        assertTrue(m.get("tokenizer.ggml.add_bos_token").asBool());
        assertTrue(m.get("tokenizer.ggml.add_eos_token").asBool());
        assertTrue(m.get("tokenizer.ggml.add_sep_token").asBool());
        assertFalse(m.containsKey("tokenizer.ggml.merges"));
        assertEquals(List.of(), md.warnings());
    }

    @Test
    void newerTransformersWhitespaceRulesAlsoMeanRemoveExtraWhitespaces() {
        // transformers 4.4x: Precompiled, Strip(right), Replace(" {2,}", "▁")
        String norm = "{'type':'Sequence','normalizers':[{'type':'Precompiled','precompiled_charsmap':'" + CHARSMAP_BASE64 + "'},"
                + "{'type':'Strip','strip_left':false,'strip_right':true},{'type':'Replace','pattern':{'Regex':' {2,}'},'content':'▁'}]}";
        GgufTokenizer.Metadata md = GgufTokenizer.metadata(xlmr(norm, "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT);
        assertTrue(md.keys().get("tokenizer.ggml.remove_extra_whitespaces").asBool());
        assertEquals(CHARSMAP_BYTES, md.keys().get("tokenizer.ggml.precompiled_charsmap").asList());
        assertEquals(List.of(), md.warnings());
        // A Strip without the folding rule is not something llama.cpp does: warned about.
        String stripOnly = "{'type':'Sequence','normalizers':[{'type':'Strip','strip_left':false,'strip_right':true}]}";
        GgufTokenizer.Metadata s = GgufTokenizer.metadata(xlmr(stripOnly, "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT);
        assertFalse(s.keys().get("tokenizer.ggml.remove_extra_whitespaces").asBool());
        assertEquals(1, s.warnings().size(), s.warnings().toString());
        assertTrue(s.warnings().get(0).contains("Strip"), s.warnings().get(0));
    }

    @Test
    void normalizersLlamaCppCannotRunAreDroppedWithAWarning() {
        String norm = "{'type':'Sequence','normalizers':[{'type':'Nmt'},{'type':'NFKC'}]}";
        GgufTokenizer.Metadata md = GgufTokenizer.metadata(xlmr(norm, "never"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT);
        assertFalse(md.keys().containsKey("tokenizer.ggml.precompiled_charsmap"));
        assertFalse(md.keys().get("tokenizer.ggml.remove_extra_whitespaces").asBool());
        assertFalse(md.keys().get("tokenizer.ggml.add_space_prefix").asBool());
        assertEquals(1, md.warnings().size(), md.warnings().toString());
        assertTrue(md.warnings().get(0).contains("Nmt, NFKC"), md.warnings().get(0));
    }

    @Test
    void badCharsmapAndDecoderArchitecturesAreRefused() {
        String bad = "{'type':'Precompiled','precompiled_charsmap':'not base64!'}";
        SlimqException e = assertThrows(SlimqException.class, () -> GgufTokenizer.metadata(xlmr(bad, "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT));
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertTrue(e.getMessage().contains("precompiled_charsmap"), e.getMessage());
        String shortMap = "{'type':'Precompiled','precompiled_charsmap':'AAA='}";
        assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class,
                () -> GgufTokenizer.metadata(xlmr(shortMap, "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.BERT)).failure());
        // A Unigram tokenizer on a decoder: llama.cpp's llama graph with a UGM vocabulary is not what the converter writes.
        assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class,
                () -> GgufTokenizer.metadata(xlmr("null", "always"), TOKENIZER_CONFIG, CONFIG, GgufArch.LLAMA)).failure());
    }

    @Test
    void positionOffsetIsPadPlusOneForXlmRobertaOnly() {
        assertEquals(2, GgufArch.positionOffset(json("{'model_type':'xlm-roberta','pad_token_id':1}")));
        assertEquals(4, GgufArch.positionOffset(json("{'model_type':'xlm-roberta','pad_token_id':3}")));
        assertEquals(2, GgufArch.positionOffset(json("{'model_type':'xlm-roberta'}")), "XLMRobertaConfig's default pad is 1");
        assertEquals(0, GgufArch.positionOffset(json("{'model_type':'bert','pad_token_id':0}")));
        assertEquals(GgufArch.BERT, GgufArch.of(json("{'model_type':'xlm-roberta'}")));
        assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class,
                () -> GgufArch.positionOffset(json("{'model_type':'xlm-roberta','pad_token_id':-1}"))).failure());
        // 3 positions minus the offset of 2 leave 1; 2 leave none.
        assertEquals(1L, GgufArch.BERT.hparams(json("{'model_type':'xlm-roberta','pad_token_id':1,'hidden_size':8,'num_attention_heads':2,"
                + "'max_position_embeddings':3,'num_hidden_layers':1,'intermediate_size':16}")).get("bert.context_length").asLong());
        assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class, () -> GgufArch.BERT.hparams(json("{'model_type':'xlm-roberta','pad_token_id':1,"
                + "'hidden_size':8,'num_attention_heads':2,'max_position_embeddings':2,'num_hidden_layers':1,'intermediate_size':16}"))).failure());
        // The "roberta." prefix (bge-reranker-v2-m3's checkpoint) is dropped as the converter does.
        assertEquals("position_embd.weight", GgufArch.BERT.ggufName("roberta.embeddings.position_embeddings.weight").orElseThrow());
    }
}
