package dev.slimq.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.runtime.bert.LinearKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every decoder family and option the forward pass implements, on small random checkpoints written
 * here (config.json + safetensors, HF names), against {@link NaiveLlama}'s double-precision pass. The
 * windows (40 tokens) are longer than the sliding windows (8), so the masks matter; soft-caps are
 * small enough to bend the values; the rope scalings put frequencies in every band.
 */
class DecoderFamiliesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int N = 40;

    @TempDir
    Path dir;

    /** hidden 48, 4 heads of 16 (2 kv heads), intermediate 96, vocab 80, 3 layers. */
    static ObjectNode config(String type) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", type);
        c.put("hidden_size", 48);
        c.put("num_hidden_layers", 3);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("head_dim", 16);
        c.put("intermediate_size", 96);
        c.put("vocab_size", 80);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("max_position_embeddings", 64);
        c.put("tie_word_embeddings", false);
        return c;
    }

    /** Writes random weights for {@code c} under HF names; which optional tensors exist follows the family. */
    static Path write(Path dir, String name, ObjectNode c, DType dtype, long seed) throws IOException {
        String type = c.get("model_type").asText();
        boolean gemma = type.startsWith("gemma");
        boolean gemma23 = type.equals("gemma2") || type.equals("gemma3_text");
        boolean qkNorm = type.equals("qwen3") || type.equals("gemma3_text");
        boolean bias = type.equals("qwen2") || c.path("attention_bias").asBoolean(false);
        boolean oBias = c.path("attention_bias").asBoolean(false);
        boolean mlpBias = c.path("mlp_bias").asBoolean(false);
        boolean tied = c.get("tie_word_embeddings").asBoolean();
        int h = c.get("hidden_size").asInt();
        int q = c.get("num_attention_heads").asInt() * c.get("head_dim").asInt();
        int kv = c.get("num_key_value_heads").asInt() * c.get("head_dim").asInt();
        int d = c.get("head_dim").asInt();
        int inter = c.get("intermediate_size").asInt();
        int vocab = c.get("vocab_size").asInt();
        Random rnd = new Random(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        // Norm gains: gemma stores w for (1 + w), the others w itself; both around 1 in effect.
        double normCentre = gemma ? 0 : 1;
        add(values, shapes, "model.embed_tokens.weight", rnd, 0, gemma ? 0.3 : 1, vocab, h);
        for (int l = 0; l < c.get("num_hidden_layers").asInt(); l++) {
            String p = "model.layers." + l + ".";
            add(values, shapes, p + "input_layernorm.weight", rnd, normCentre, 0.2, h);
            add(values, shapes, p + "self_attn.q_proj.weight", rnd, 0, 1 / Math.sqrt(h), q, h);
            add(values, shapes, p + "self_attn.k_proj.weight", rnd, 0, 1 / Math.sqrt(h), kv, h);
            add(values, shapes, p + "self_attn.v_proj.weight", rnd, 0, 1 / Math.sqrt(h), kv, h);
            if (bias) {
                add(values, shapes, p + "self_attn.q_proj.bias", rnd, 0, 0.5, q);
                add(values, shapes, p + "self_attn.k_proj.bias", rnd, 0, 0.5, kv);
                add(values, shapes, p + "self_attn.v_proj.bias", rnd, 0, 0.5, kv);
            }
            if (qkNorm) {
                add(values, shapes, p + "self_attn.q_norm.weight", rnd, normCentre, 0.2, d);
                add(values, shapes, p + "self_attn.k_norm.weight", rnd, normCentre, 0.2, d);
            }
            add(values, shapes, p + "self_attn.o_proj.weight", rnd, 0, 1 / Math.sqrt(q), h, q);
            if (oBias) {
                add(values, shapes, p + "self_attn.o_proj.bias", rnd, 0, 0.5, h);
            }
            add(values, shapes, p + "post_attention_layernorm.weight", rnd, normCentre, 0.2, h);
            if (gemma23) {
                add(values, shapes, p + "pre_feedforward_layernorm.weight", rnd, normCentre, 0.2, h);
                add(values, shapes, p + "post_feedforward_layernorm.weight", rnd, normCentre, 0.2, h);
            }
            add(values, shapes, p + "mlp.gate_proj.weight", rnd, 0, 1 / Math.sqrt(h), inter, h);
            add(values, shapes, p + "mlp.up_proj.weight", rnd, 0, 1 / Math.sqrt(h), inter, h);
            add(values, shapes, p + "mlp.down_proj.weight", rnd, 0, 1 / Math.sqrt(inter), h, inter);
            if (mlpBias) {
                add(values, shapes, p + "mlp.gate_proj.bias", rnd, 0, 0.5, inter);
                add(values, shapes, p + "mlp.up_proj.bias", rnd, 0, 0.5, inter);
                add(values, shapes, p + "mlp.down_proj.bias", rnd, 0, 0.5, h);
            }
        }
        add(values, shapes, "model.norm.weight", rnd, normCentre, 0.2, h);
        if (!tied) {
            add(values, shapes, "lm_head.weight", rnd, 0, 1 / Math.sqrt(h), vocab, h);
        }
        Path out = dir.resolve(name);
        Files.createDirectories(out);
        List<TensorInfo> planned = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            planned.add(TensorInfo.planned(e.getKey(), dtype, e.getValue()));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(out.resolve("model.safetensors"), WritePlan.of(planned))) {
            for (Map.Entry<String, float[]> e : values.entrySet()) {
                w.writeFloats(e.getKey(), e.getValue());
            }
            w.commit();
        }
        Files.writeString(out.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        return out;
    }

    private static void add(Map<String, float[]> values, Map<String, long[]> shapes, String name, Random rnd, double centre,
            double scale, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (centre + scale * rnd.nextGaussian());
        }
        values.put(name, v);
        shapes.put(name, shape);
    }

    static int[] tokens(int vocab, long seed) {
        Random rnd = new Random(seed);
        int[] t = new int[N];
        for (int i = 0; i < N; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    /** Loads {@code model}, runs it on 2 threads (and checks 1 thread gives the same bits) and returns the worst relative logit error. */
    static double check(Path model) {
        int[] ids = tokens(80, 7);
        float[] fast;
        float[] one;
        double[][] ref;
        try (Checkpoint ck = Checkpoint.open(model)) {
            LlamaWeights w = LlamaWeights.load(ck);
            try (WorkPool pool = new WorkPool(2)) {
                fast = new LlamaDecoder(w, pool, LinearKernel.VECTOR).logits(ids);
            }
            try (WorkPool pool = new WorkPool(1)) {
                one = new LlamaDecoder(w, pool, LinearKernel.VECTOR).logits(ids);
            }
            ref = new NaiveLlama(ck).logits(ids);
        }
        assertArrayEquals(one, fast, "1 vs 2 threads");
        double worst = 0;
        double scale = 0;
        for (int t = 0; t < N; t++) {
            for (int j = 0; j < 80; j++) {
                worst = Math.max(worst, Math.abs(ref[t][j] - fast[t * 80 + j]));
                scale = Math.max(scale, Math.abs(ref[t][j]));
            }
        }
        assertTrue(scale > 0);
        return worst / scale;
    }

    static float[] logits(Path model) {
        try (Checkpoint ck = Checkpoint.open(model); WorkPool pool = new WorkPool(1)) {
            return new LlamaDecoder(LlamaWeights.load(ck), pool, LinearKernel.VECTOR).logits(tokens(80, 7));
        }
    }

    void assertMatches(String label, Path model) {
        double rel = check(model);
        System.out.printf("%s: relative logit error %.3g%n", label, rel);
        assertTrue(rel < 1e-4, label + ": relative logit error " + rel);
    }

    @Test
    void llamaAttentionAndMlpBiases() throws IOException {
        // attention_bias / mlp_bias: what prune's FLAP compensation turns on for llama. Every linear
        // carries a bias; the naive reference adds whatever .bias a module has.
        ObjectNode c = config("llama");
        c.put("attention_bias", true);
        c.put("mlp_bias", true);
        Path m = write(dir, "llama-bias", c, DType.F32, 3);
        try (Checkpoint ck = Checkpoint.open(m)) {
            LlamaWeights.Layer l0 = LlamaWeights.load(ck).layers()[0];
            assertNotNull(l0.oBias());
            assertNotNull(l0.gateBias());
            assertNotNull(l0.upBias());
            assertNotNull(l0.downBias());
        }
        assertMatches("llama (attention_bias, mlp_bias)", m);
    }

    @Test
    void qwen2BiasesAndSlidingLayers() throws IOException {
        ObjectNode c = config("qwen2");
        c.put("use_sliding_window", true);
        c.put("sliding_window", 8);
        c.put("max_window_layers", 1);
        Path m = write(dir, "qwen2", c, DType.F32, 1);
        try (Checkpoint ck = Checkpoint.open(m)) {
            LlamaWeights w = LlamaWeights.load(ck);
            assertNotNull(w.layers()[0].qBias());
            assertEquals(0, w.layers()[0].window());
            assertEquals(8, w.layers()[1].window());
            assertEquals(8, w.layers()[2].window());
        }
        assertMatches("qwen2 (biases, layers >= 1 slide over 8)", m);
        float[] sliding = logits(m);
        // The same weights without the window give other logits: the mask is not a no-op.
        c.put("use_sliding_window", false);
        Files.writeString(m.resolve("config.json"), c.toString());
        assertMatches("qwen2 (biases, no sliding)", m);
        float[] full = logits(m);
        assertArrayEquals(java.util.Arrays.copyOf(full, 8 * 80), java.util.Arrays.copyOf(sliding, 8 * 80), "the first 8 rows see no further");
        assertTrue(!java.util.Arrays.equals(full, sliding));
    }

    @Test
    void qwen3QkNorms() throws IOException {
        Path m = write(dir, "qwen3", config("qwen3"), DType.F32, 2);
        try (Checkpoint ck = Checkpoint.open(m)) {
            assertNotNull(LlamaWeights.load(ck).layers()[0].qNorm());
        }
        assertMatches("qwen3 (q/k norms)", m);
    }

    @Test
    void mistralSlidingWindow() throws IOException {
        ObjectNode c = config("mistral");
        c.put("sliding_window", 8);
        assertMatches("mistral (sliding window 8)", write(dir, "mistral", c, DType.F32, 3));
    }

    @Test
    void gemmaInBf16() throws IOException {
        ObjectNode c = config("gemma");
        c.put("tie_word_embeddings", true);
        c.put("hidden_act", "gelu");
        Path m = write(dir, "gemma", c, DType.BF16, 4);
        try (Checkpoint ck = Checkpoint.open(m)) {
            LlamaWeights w = LlamaWeights.load(ck);
            // sqrt(48) = 6.9282 rounds to 6.9375 in bf16 (8 significant bits).
            assertEquals(6.9375f, w.embedScale());
            assertEquals(LlamaWeights.Activation.GELU_TANH, w.activation());
            assertTrue(w.tied());
        }
        assertMatches("gemma (bf16, tied, scaled embedding, GeGLU, 1+w norms)", m);
    }

    @Test
    void gemma2SoftcapsSlidingAndSandwichNorms() throws IOException {
        ObjectNode c = config("gemma2");
        c.put("tie_word_embeddings", true);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("query_pre_attn_scalar", 24);
        c.put("attn_logit_softcapping", 2.0);
        c.put("final_logit_softcapping", 3.0);
        c.put("sliding_window", 8);
        Path m = write(dir, "gemma2", c, DType.F32, 5);
        try (Checkpoint ck = Checkpoint.open(m)) {
            LlamaWeights w = LlamaWeights.load(ck);
            assertEquals(8, w.layers()[0].window());
            assertEquals(0, w.layers()[1].window());
            assertEquals(8, w.layers()[2].window());
            assertNotNull(w.layers()[0].attnOutNorm());
            assertEquals(2f, w.attnSoftcap());
            assertEquals((float) (1 / Math.sqrt(24)), w.attnScale());
        }
        assertMatches("gemma2 (soft-caps, sliding even layers, sandwich norms)", m);
    }

    @Test
    void gemma3LocalAndGlobalRope() throws IOException {
        ObjectNode c = config("gemma3_text");
        c.put("tie_word_embeddings", true);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("query_pre_attn_scalar", 16);
        c.putNull("attn_logit_softcapping");
        c.putNull("final_logit_softcapping");
        c.put("sliding_window", 8);
        c.put("sliding_window_pattern", 2);
        c.put("rope_local_base_freq", 100.0);
        c.put("rope_theta", 1_000_000.0);
        ObjectNode rs = c.putObject("rope_scaling");
        rs.put("rope_type", "linear");
        rs.put("factor", 4.0);
        Path m = write(dir, "gemma3", c, DType.F32, 6);
        try (Checkpoint ck = Checkpoint.open(m)) {
            LlamaWeights w = LlamaWeights.load(ck);
            assertEquals(8, w.layers()[0].window());
            assertEquals(0, w.layers()[1].window());
            assertNotNull(w.layers()[0].qNorm());
            assertEquals(0f, w.attnSoftcap());
        }
        assertMatches("gemma3 (q/k norms, local base 100 on sliding layers, linear x4 on global)", m);
    }

    @Test
    void llamaRopeScalings() throws IOException {
        ObjectNode linear = config("llama");
        linear.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.5);
        assertMatches("llama rope linear", write(dir, "linear", linear, DType.F32, 7));

        // theta 500 over 32 original positions: the 8 frequencies fall in all three llama3 bands (wavelengths 6.3, 13.7, ... 1444).
        ObjectNode llama3 = config("llama");
        llama3.put("rope_theta", 500.0);
        llama3.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 32);
        Path l3 = write(dir, "llama3", llama3, DType.F32, 8);
        try (Checkpoint ck = Checkpoint.open(l3)) {
            double[] inv = LlamaWeights.load(ck).layers()[0].rope().invFreq();
            double[] base = Rope.plain(500.0, 16).invFreq();
            assertEquals(base[0], inv[0], 0.0, "high frequency kept");
            assertEquals(base[7] / 8, inv[7], 1e-15, "low frequency divided by the factor");
        }
        assertMatches("llama rope llama3", l3);

        ObjectNode yarn = config("llama");
        yarn.put("max_position_embeddings", 64);
        yarn.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0).put("original_max_position_embeddings", 16);
        Path y = write(dir, "yarn", yarn, DType.F32, 9);
        try (Checkpoint ck = Checkpoint.open(y)) {
            assertEquals(1 + 0.1 * Math.log(4), LlamaWeights.load(ck).layers()[0].rope().attentionFactor(), 1e-12);
        }
        assertMatches("llama rope yarn", y);

        ObjectNode dynamic = config("llama");
        dynamic.putObject("rope_scaling").put("rope_type", "dynamic").put("factor", 2.0);
        Path dyn = write(dir, "dynamic", dynamic, DType.F32, 10);
        try (Checkpoint ck = Checkpoint.open(dyn)) {
            SlimqException e = assertThrows(SlimqException.class, () -> LlamaWeights.load(ck));
            assertEquals(Failure.UNSUPPORTED, e.failure());
        }
    }

    @Test
    void llamaHasNoFamilyExtras() throws IOException {
        try (Checkpoint ck = Checkpoint.open(write(dir, "plain", config("llama"), DType.F32, 11))) {
            LlamaWeights w = LlamaWeights.load(ck);
            assertEquals(1f, w.embedScale());
            assertEquals(0, w.slidingWindow());
            assertNull(w.layers()[0].attnOutNorm());
            assertEquals(LlamaWeights.Activation.SILU, w.activation());
        }
    }
}
