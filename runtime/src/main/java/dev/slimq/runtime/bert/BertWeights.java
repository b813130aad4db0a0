package dev.slimq.runtime.bert;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.FloatWeightSource;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.runtime.WeightReader;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.TensorInfo;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * A BERT-family encoder's weights, every tensor decoded to {@code float[]} once (whatever float dtype
 * the checkpoint stores). An encoder of this class's intended size (bge-small: 33M parameters, 133 MB as
 * floats) fits in memory easily, and decoding once keeps the forward pass free of per-call dtype
 * handling. Quantized checkpoints are read through a {@link WeightSource} that dequantizes each weight
 * (the CLI supplies it; {@code runtime} may not depend on {@code quantize}, DESIGN.md section 1).
 *
 * <p>Linear weights are found through the layout's roles ({@link LinearRole#BERT_QUERY} and so on), so
 * any wrapper prefix ({@code bert.}, {@code roberta.}) is accepted; LayerNorms, biases and the
 * embedding tables sit next to them under HF BERT's names. Linear weights are {@code [out, in]},
 * row-major, as HF stores them.
 *
 * @param positionOffset the position id of a sequence's first token: 0 for BERT, RoBERTa's
 *     {@code pad_token_id + 1} (its position ids skip the padding index)
 * @param typeEmbeddings {@code [type_vocab, hidden]}, or null when the checkpoint has none
 */
public record BertWeights(Architecture architecture, int hidden, int heads, int intermediate, int vocab,
        int maxPositions, int positionOffset, float eps, float[] wordEmbeddings, float[] positionEmbeddings,
        float[] typeEmbeddings, float[] embeddingNormWeight, float[] embeddingNormBias, Layer[] layers) {

    /** One transformer block. Linears are {@code [out, in]}; biases and norm vectors have {@code out} entries. */
    public record Layer(float[] query, float[] queryBias, float[] key, float[] keyBias, float[] value, float[] valueBias,
            float[] attnOut, float[] attnOutBias, float[] attnNormWeight, float[] attnNormBias,
            float[] intermediate, float[] intermediateBias, float[] output, float[] outputBias,
            float[] outputNormWeight, float[] outputNormBias) {
    }

    public int headDim() {
        return hidden / heads;
    }

    /** The longest sequence the position table admits. */
    public int maxSequence() {
        return maxPositions - positionOffset;
    }

    /** Reads and checks every weight of a float BERT, RoBERTa or XLM-RoBERTa checkpoint. */
    public static BertWeights load(Checkpoint checkpoint) {
        return load(new FloatWeightSource(checkpoint));
    }

    /** Reads and checks every weight of a BERT, RoBERTa or XLM-RoBERTa checkpoint through {@code source}. */
    public static BertWeights load(WeightSource source) {
        ModelLayout layout = source.layout();
        ModelConfig config = layout.config().orElseThrow(() -> new SlimqException(Failure.BAD_INPUT,
                source.root() + ": no config.json; the forward pass needs the model's dimensions"));
        Architecture arch = config.architecture();
        if (arch.family() != Architecture.Family.ENCODER) {
            throw new SlimqException(Failure.UNSUPPORTED, source.root() + ": " + arch
                    + " is not a BERT-family encoder; only bert, roberta and xlm-roberta run here so far");
        }
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        if (heads <= 0 || hidden % heads != 0) {
            throw new SlimqException(Failure.BAD_INPUT, "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        int inter = config.intermediateSize();
        int layersN = config.numHiddenLayers();
        String act = config.raw().path("hidden_act").asText("gelu");
        if (!act.equals("gelu")) {
            throw new SlimqException(Failure.UNSUPPORTED, "hidden_act '" + act + "': only HF's exact (erf) \"gelu\" is implemented");
        }
        String posType = config.raw().path("position_embedding_type").asText("absolute");
        if (!posType.equals("absolute")) {
            throw new SlimqException(Failure.UNSUPPORTED, "position_embedding_type '" + posType + "': only absolute positions are implemented");
        }
        int offset = arch == Architecture.BERT ? 0 : config.raw().path("pad_token_id").asInt(1) + 1;

        WeightReader r = new WeightReader(source);
        TensorInfo word = layout.tensorsOf(TensorRole.Kind.EMBEDDING).stream()
                .filter(t -> t.name().endsWith("word_embeddings.weight")).findFirst()
                .orElseThrow(() -> new SlimqException(Failure.BAD_INPUT, source.root() + ": no word_embeddings.weight"));
        String e = word.name().substring(0, word.name().length() - "word_embeddings.weight".length());
        int vocab = Math.toIntExact(word.shape()[0]);
        float[] wordEmb = r.read(word.name(), vocab, hidden);
        long[] posShape = source.tensor(e + "position_embeddings.weight").shape();
        int maxPos = Math.toIntExact(posShape[0]);
        float[] posEmb = r.read(e + "position_embeddings.weight", maxPos, hidden);
        float[] typeEmb = null;
        if (source.contains(e + "token_type_embeddings.weight")) {
            int types = Math.toIntExact(source.tensor(e + "token_type_embeddings.weight").shape()[0]);
            typeEmb = r.read(e + "token_type_embeddings.weight", types, hidden);
        }
        float[] embLnW = r.read(e + "LayerNorm.weight", hidden);
        float[] embLnB = r.read(e + "LayerNorm.bias", hidden);

        // (layer, role) -> weight name, from the layout's roles rather than from name patterns.
        Map<Integer, Map<LinearRole, String>> linears = new HashMap<>();
        for (TensorInfo t : layout.linearWeights()) {
            TensorRole role = layout.role(t.name());
            if (role.layer().isPresent() && role.linear().isPresent()) {
                linears.computeIfAbsent(role.layer().getAsInt(), k -> new EnumMap<>(LinearRole.class))
                        .put(role.linear().get(), t.name());
            }
        }
        Layer[] layers = new Layer[layersN];
        for (int l = 0; l < layersN; l++) {
            Map<LinearRole, String> m = linears.getOrDefault(l, Map.of());
            String q = need(m, LinearRole.BERT_QUERY, l);
            // Norms have no role of their own that tells the two apart: they sit next to the linears.
            String p = q.substring(0, q.length() - "attention.self.query.weight".length());
            String k = need(m, LinearRole.BERT_KEY, l);
            String v = need(m, LinearRole.BERT_VALUE, l);
            String ao = need(m, LinearRole.BERT_ATTN_OUT, l);
            String in = need(m, LinearRole.BERT_INTERMEDIATE, l);
            String out = need(m, LinearRole.BERT_OUTPUT, l);
            layers[l] = new Layer(r.read(q, hidden, hidden), r.read(bias(q), hidden),
                    r.read(k, hidden, hidden), r.read(bias(k), hidden),
                    r.read(v, hidden, hidden), r.read(bias(v), hidden),
                    r.read(ao, hidden, hidden), r.read(bias(ao), hidden),
                    r.read(p + "attention.output.LayerNorm.weight", hidden), r.read(p + "attention.output.LayerNorm.bias", hidden),
                    r.read(in, inter, hidden), r.read(bias(in), inter),
                    r.read(out, hidden, inter), r.read(bias(out), hidden),
                    r.read(p + "output.LayerNorm.weight", hidden), r.read(p + "output.LayerNorm.bias", hidden));
        }
        if (maxPos <= offset) {
            throw new SlimqException(Failure.BAD_INPUT, "position table of " + maxPos + " rows leaves no room after offset " + offset);
        }
        return new BertWeights(arch, hidden, heads, inter, vocab, maxPos, offset, (float) config.normEps(), wordEmb, posEmb,
                typeEmb, embLnW, embLnB, layers);
    }

    private static String need(Map<LinearRole, String> m, LinearRole role, int layer) {
        String name = m.get(role);
        if (name == null) {
            throw new SlimqException(Failure.BAD_INPUT, "layer " + layer + " has no " + role + " weight");
        }
        return name;
    }

    private static String bias(String weight) {
        return weight.substring(0, weight.length() - "weight".length()) + "bias";
    }
}
