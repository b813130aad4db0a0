package dev.slimq.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimq.convert.gguf.BlockQuant;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.convert.gguf.GgufFile;
import dev.slimq.convert.gguf.GgufTensorInfo;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertServiceTest {
    @TempDir
    Path dir;

    private static ConvertService.Options toGguf(GgmlType t) {
        return new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(t), Optional.empty(), false, 0, false, 3);
    }

    private static ConvertService.Options toSt(Optional<DType> d) {
        return new ConvertService.Options(ConvertService.Target.SAFETENSORS, Optional.empty(), d, false, 0, false, 2);
    }

    private static byte[] bytes(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            return v.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** safetensors -> GGUF -> safetensors keeps every tensor bit-exact under its original name. */
    private void roundTrip(SynthSpec spec, GgmlType type, DType back) {
        Path in = dir.resolve("in-" + type.cliName() + back);
        SynthCheckpoint.write(spec, in);
        Path g = dir.resolve("m-" + type.cliName() + back + ".gguf");
        ConvertService.run(in, g, toGguf(type));
        Path out = dir.resolve("out-" + type.cliName() + back);
        ConvertService.run(g, out, toSt(Optional.of(back)));
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            int compared = 0;
            for (TensorInfo t : a.tensors()) {
                if (t.name().startsWith("pooler.")) {
                    assertFalse(b.contains(t.name()), "the converter drops BERT's pooler");
                    continue;
                }
                assertEquals(t.dtype(), b.tensor(t.name()).dtype());
                assertArrayEquals(t.shape(), b.tensor(t.name()).shape());
                assertArrayEquals(bytes(a, t.name()), bytes(b, t.name()), t.name());
                compared++;
            }
            assertEquals(compared, b.tensors().size());
            JsonNode c0 = a.configJson().orElseThrow();
            JsonNode c1 = b.configJson().orElseThrow();
            for (String k : List.of("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "max_position_embeddings")) {
                assertEquals(c0.get(k).asLong(), c1.get(k).asLong(), k);
            }
        }
    }

    @Test
    void llamaBf16RoundTripsThroughBf16AndF32() {
        roundTrip(SynthSpec.tinyLlama(), GgmlType.BF16, DType.BF16);
        roundTrip(SynthSpec.tinyLlama(), GgmlType.F32, DType.BF16);
    }

    @Test
    void llamaF16RoundTripsThroughF16() {
        roundTrip(SynthSpec.tinyLlama().withDtype(DType.F16), GgmlType.F16, DType.F16);
    }

    @Test
    void bertF32RoundTripsThroughF32() {
        roundTrip(SynthSpec.tinyBert(), GgmlType.F32, DType.F32);
    }

    @Test
    void llamaMetadataNamesTypesAndPermutation() throws Exception {
        Path in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        Path g = dir.resolve("a.gguf");
        ConvertService.run(in, g, toGguf(GgmlType.Q8_0));
        try (GgufFile f = GgufFile.open(g); Checkpoint c = Checkpoint.open(in)) {
            JsonNode cfg = c.configJson().orElseThrow();
            assertEquals("llama", f.get("general.architecture").orElseThrow().asString());
            assertEquals(cfg.get("hidden_size").asLong(), f.get("llama.embedding_length").orElseThrow().asLong());
            assertEquals(cfg.get("num_hidden_layers").asLong(), f.get("llama.block_count").orElseThrow().asLong());
            assertEquals(cfg.get("intermediate_size").asLong(), f.get("llama.feed_forward_length").orElseThrow().asLong());
            assertEquals(cfg.get("num_attention_heads").asLong(), f.get("llama.attention.head_count").orElseThrow().asLong());
            assertEquals(cfg.get("num_key_value_heads").asLong(), f.get("llama.attention.head_count_kv").orElseThrow().asLong());
            assertEquals(cfg.get("max_position_embeddings").asLong(), f.get("llama.context_length").orElseThrow().asLong());
            assertEquals((float) cfg.get("rms_norm_eps").asDouble(), (float) f.get("llama.attention.layer_norm_rms_epsilon").orElseThrow().asDouble());
            assertEquals(10000.0, f.get("llama.rope.freq_base").orElseThrow().asDouble());
            assertEquals(7L, f.get("general.file_type").orElseThrow().asLong());
            assertEquals(2L, f.get("general.quantization_version").orElseThrow().asLong());
            assertEquals("gpt2", f.get("tokenizer.ggml.model").orElseThrow().asString());
            assertEquals(cfg.get("vocab_size").asInt(), f.get("tokenizer.ggml.tokens").orElseThrow().asList().size());
            assertFalse(f.get("tokenizer.ggml.merges").orElseThrow().asList().isEmpty());
            assertEquals(1L, f.get("tokenizer.ggml.bos_token_id").orElseThrow().asLong());
            assertEquals(2L, f.get("tokenizer.ggml.eos_token_id").orElseThrow().asLong());
            assertEquals(3L, ((Long) f.get("tokenizer.ggml.token_type").orElseThrow().asList().get(1)));
            assertEquals(GgmlType.F32, f.tensor("blk.0.attn_norm.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, f.tensor("output_norm.weight").orElseThrow().type());
            assertEquals(GgmlType.Q8_0, f.tensor("token_embd.weight").orElseThrow().type());
            assertEquals(GgmlType.Q8_0, f.tensor("output.weight").orElseThrow().type());
            GgufTensorInfo q = f.tensor("blk.0.attn_q.weight").orElseThrow();
            assertArrayEquals(new long[] {64, 64}, q.dims());
            assertEquals(List.of(32L, 64L), List.of(f.tensor("blk.0.attn_k.weight").orElseThrow().dims()[1], f.tensor("blk.0.attn_k.weight").orElseThrow().dims()[0]));
            // Permuted rows: within a head of d = 16 rows, ggml row 1 is Hugging Face row 8 (a = 1, b = 0).
            float[] hf = new float[64 * 64];
            try (TensorView v = c.map("model.layers.0.self_attn.q_proj.weight")) {
                v.readFloats(0, hf, 0, hf.length);
            }
            GgufFile f32 = null;
            Path g32 = dir.resolve("b.gguf");
            ConvertService.run(in, g32, toGguf(GgmlType.F32));
            try (GgufFile h = GgufFile.open(g32)) {
                float[] gg = h.readFloats(h.tensor("blk.0.attn_q.weight").orElseThrow());
                assertArrayEquals(java.util.Arrays.copyOfRange(hf, 8 * 64, 9 * 64), java.util.Arrays.copyOfRange(gg, 64, 128));
                assertArrayEquals(java.util.Arrays.copyOfRange(hf, 0, 64), java.util.Arrays.copyOfRange(gg, 0, 64));
                assertArrayEquals(java.util.Arrays.copyOfRange(hf, 16 * 64 + 8 * 64, 16 * 64 + 9 * 64), java.util.Arrays.copyOfRange(gg, 17 * 64, 18 * 64));
                float[] v = h.readFloats(h.tensor("blk.0.attn_v.weight").orElseThrow());
                float[] hv = new float[v.length];
                try (TensorView tv = c.map("model.layers.0.self_attn.v_proj.weight")) {
                    tv.readFloats(0, hv, 0, hv.length);
                }
                assertArrayEquals(hv, v, "v is not permuted");
            }
        }
    }

    @Test
    void bertMetadataAndNames() {
        Path in = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        Path g = dir.resolve("b.gguf");
        ConvertService.run(in, g, toGguf(GgmlType.F16));
        try (GgufFile f = GgufFile.open(g)) {
            assertEquals("bert", f.get("general.architecture").orElseThrow().asString());
            assertFalse(f.get("bert.attention.causal").orElseThrow().asBool());
            assertEquals(1e-12f, (float) f.get("bert.attention.layer_norm_epsilon").orElseThrow().asDouble());
            assertEquals("bert", f.get("tokenizer.ggml.model").orElseThrow().asString());
            assertEquals(2L, f.get("tokenizer.ggml.cls_token_id").orElseThrow().asLong());
            assertEquals(3L, f.get("tokenizer.ggml.seperator_token_id").orElseThrow().asLong());
            assertEquals(2L, f.get("tokenizer.ggml.token_type_count").orElseThrow().asLong());
            for (String n : List.of("token_embd.weight", "token_types.weight", "position_embd.weight", "token_embd_norm.weight", "token_embd_norm.bias",
                    "blk.1.attn_q.weight", "blk.1.attn_q.bias", "blk.1.attn_output_norm.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight",
                    "blk.1.layer_output_norm.bias")) {
                assertTrue(f.tensor(n).isPresent(), n);
            }
            assertEquals(GgmlType.F32, f.tensor("position_embd.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, f.tensor("token_types.weight").orElseThrow().type());
            assertEquals(GgmlType.F16, f.tensor("blk.0.attn_q.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, f.tensor("blk.0.attn_q.bias").orElseThrow().type());
        }
    }

    @Test
    void conversionIsDeterministic() throws Exception {
        Path in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.BF16)) {
            Path a = dir.resolve("a-" + t.cliName() + ".gguf");
            Path b = dir.resolve("b-" + t.cliName() + ".gguf");
            ConvertService.run(in, a, toGguf(t));
            ConvertService.run(in, b, new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(t), Optional.empty(), false, 0, false, 1));
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), t.cliName());
        }
    }

    @Test
    void quantizedGgufComesBackClose() {
        Path in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama().withDtype(DType.F32), in);
        Path g = dir.resolve("q.gguf");
        ConvertService.run(in, g, toGguf(GgmlType.Q8_0));
        Path out = dir.resolve("back");
        ConvertService.run(g, out, toSt(Optional.empty()));
        try (Checkpoint a = Checkpoint.open(in); Checkpoint b = Checkpoint.open(out)) {
            float[] x = new float[64 * 64];
            float[] y = new float[64 * 64];
            try (TensorView va = a.map("model.layers.1.self_attn.k_proj.weight"); TensorView vb = b.map("model.layers.1.self_attn.k_proj.weight")) {
                va.readFloats(0, x, 0, 32 * 64);
                vb.readFloats(0, y, 0, 32 * 64);
            }
            double num = 0;
            double den = 0;
            for (int i = 0; i < 32 * 64; i++) {
                num += (x[i] - y[i]) * (x[i] - y[i]);
                den += x[i] * x[i];
            }
            assertTrue(10 * Math.log10(den / num) > 35, "Q8_0 un-permuted back to Hugging Face order");
            assertEquals(DType.F32, b.tensor("model.layers.1.self_attn.k_proj.weight").dtype());
        }
    }

    @Test
    void castsAndReshards() {
        Path in = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), in);
        Path sharded = dir.resolve("sharded");
        ConvertService.run(in, sharded, new ConvertService.Options(ConvertService.Target.SAFETENSORS, Optional.empty(), Optional.empty(), false, 100_000, false, 1));
        assertTrue(Files.isRegularFile(sharded.resolve(Checkpoint.INDEX_FILE)));
        Path half = dir.resolve("half");
        ConvertService.run(in, half, toSt(Optional.of(DType.BF16)));
        try (Checkpoint a = Checkpoint.open(in); Checkpoint s = Checkpoint.open(sharded); Checkpoint h = Checkpoint.open(half)) {
            assertTrue(s.shards().size() > 1);
            for (TensorInfo t : a.tensors()) {
                assertArrayEquals(bytes(a, t.name()), bytes(s, t.name()), t.name());
                assertEquals(DType.BF16, h.tensor(t.name()).dtype());
            }
            assertEquals("bfloat16", h.configJson().orElseThrow().get("torch_dtype").asText());
        }
    }

    @Test
    void overflowNamesTheTensorUnlessSaturating() {
        float[] x = {1, 70000, -1e6f};
        SlimqException e = assertThrows(SlimqException.class, () -> ConvertService.cast(x.clone(), DType.F16, false, "w"));
        assertTrue(e.getMessage().contains("'w'"));
        float[] y = x.clone();
        ConvertService.cast(y, DType.F16, true, "w");
        assertArrayEquals(new float[] {1, 65504, -65504}, y);
        ConvertService.cast(new float[] {65519}, DType.F16, false, "w"); // rounds to 65504: no overflow
        assertThrows(SlimqException.class, () -> ConvertService.cast(new float[] {500}, DType.F8_E4M3, false, "w"));
    }

    @Test
    void unsupportedArchitectureAndWrongNamesAreRefused() throws Exception {
        Path in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        String cfg = Files.readString(in.resolve("config.json")).replace("\"llama\"", "\"gpt_neox\"");
        Files.writeString(in.resolve("config.json"), cfg);
        SlimqException e = assertThrows(SlimqException.class, () -> ConvertService.run(in, dir.resolve("x.gguf"), toGguf(GgmlType.F16)));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertEquals(Failure.USAGE, assertThrows(SlimqException.class, () -> ConvertService.run(in, dir.resolve("x.bin"), toGguf(GgmlType.F16))).failure());
        assertTrue(Files.notExists(dir.resolve("x.gguf")));
    }

    /**
     * {@code --method search} fills the Q4_0/Q8_0 blocks with slimq's result (exactly, per tensor, in
     * ggml row order), leaves non-quantized tensors and metadata as the reference path writes them, and
     * needs a block type.
     */
    @Test
    void slimqMethodFillsTheBlocks() {
        Path in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_1)) {
            Path ref = dir.resolve("ref-" + t.cliName() + ".gguf");
            Path opt = dir.resolve("opt-" + t.cliName() + ".gguf");
            ConvertService.run(in, ref, toGguf(t));
            ConvertService.Result r = ConvertService.run(in, opt, new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(t), Optional.empty(),
                    false, 0, false, 2, BlockQuant.method("search")));
            assertEquals(t.cliName() + " (search)", r.type());
            int checked = 0;
            try (GgufFile a = GgufFile.open(ref); GgufFile b = GgufFile.open(opt); Checkpoint ck = Checkpoint.open(in)) {
                assertEquals(a.tensors().size(), b.tensors().size());
                for (GgufTensorInfo ta : a.tensors()) {
                    GgufTensorInfo tb = b.tensor(ta.name()).orElseThrow();
                    assertEquals(ta.type(), tb.type(), ta.name());
                    assertArrayEquals(ta.shape(), tb.shape(), ta.name());
                    if (!BlockQuant.supports(ta.type())) {
                        assertArrayEquals(a.readFloats(ta), b.readFloats(tb), ta.name());
                        continue;
                    }
                    if (t != GgmlType.Q4_1 && ta.name().endsWith("ffn_down.weight")) {
                        TensorInfo hf = ck.tensors().stream().filter(x -> x.name().endsWith("mlp.down_proj.weight")
                                && x.name().contains(".layers." + ta.name().split("\\.")[1] + ".")).findFirst().orElseThrow();
                        float[] w = new float[(int) hf.elementCount()];
                        try (TensorView v = ck.map(hf.name())) {
                            v.readFloats(0, w, 0, w.length);
                        }
                        float[] want = new dev.slimq.quantize.method.Search().quantize("w", w, (int) (w.length / hf.cols()), (int) hf.cols(),
                                BlockQuant.scheme(ta.type())).dequantize();
                        assertArrayEquals(want, b.readFloats(tb), ta.name());
                        checked++;
                    }
                }
            }
            assertTrue(t == GgmlType.Q4_1 || checked > 0, "no ffn_down checked");
        }
        SlimqException e = assertThrows(SlimqException.class, () -> new ConvertService.Options(ConvertService.Target.GGUF, Optional.of(GgmlType.F16),
                Optional.empty(), false, 0, false, 1, BlockQuant.method("search")));
        assertEquals(Failure.USAGE, e.failure());
    }
}
