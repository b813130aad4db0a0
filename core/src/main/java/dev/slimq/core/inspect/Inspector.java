package dev.slimq.core.inspect;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.progress.ProgressTask;
import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.stats.StatsCalculator;
import dev.slimq.core.stats.TensorStats;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds an {@link InspectReport}: the summary from headers and config alone (nothing mapped), and
 * with statistics a streaming pass over every tensor, one tensor mapped at a time and released
 * before the next, its blocks spread over the pool.
 */
public final class Inspector {

    /** What to include beyond the summary. */
    public record Options(boolean tensors, boolean stats) {
    }

    private Inspector() {
    }

    public static InspectReport inspect(Checkpoint ckpt, Options options, WorkPool pool, ProgressListener progress) {
        ModelLayout layout = ckpt.layout();
        long params = 0;
        Map<String, long[]> dtypes = new TreeMap<>();
        Map<String, long[]> roles = new TreeMap<>();
        for (TensorInfo t : ckpt.tensors()) {
            long n = t.elementCount();
            params += n;
            long[] d = dtypes.computeIfAbsent(t.dtype().wireName(), k -> new long[3]);
            d[0]++;
            d[1] += n;
            d[2] += t.byteCount();
            long[] r = roles.computeIfAbsent(roleName(layout.role(t.name())), k -> new long[2]);
            r[0]++;
            r[1] += n;
        }
        Map<String, InspectReport.DTypeSummary> dtypeSummary = new LinkedHashMap<>();
        dtypes.forEach((k, v) -> dtypeSummary.put(k, new InspectReport.DTypeSummary((int) v[0], v[1], v[2])));
        Map<String, InspectReport.RoleSummary> roleSummary = new LinkedHashMap<>();
        roles.forEach((k, v) -> roleSummary.put(k, new InspectReport.RoleSummary((int) v[0], v[1])));

        List<InspectReport.TensorRow> rows = null;
        if (options.tensors() || options.stats()) {
            rows = new ArrayList<>();
            ProgressTask task = options.stats() ? progress.task("stats", ckpt.dataBytes(), "bytes") : null;
            for (SafetensorsFile shard : ckpt.shards()) {
                for (TensorInfo t : shard.tensors()) {
                    TensorStats stats = null;
                    if (options.stats()) {
                        stats = statsOf(shard, t, pool, task);
                    }
                    TensorRole role = layout.role(t.name());
                    rows.add(new InspectReport.TensorRow(t.name(), t.dtype().wireName(), t.shape(), t.elementCount(),
                            t.byteCount(), roleName(role), role.linear().map(l -> l.name().toLowerCase(Locale.ROOT)).orElse(null),
                            role.layer().isPresent() ? role.layer().getAsInt() : null,
                            shard.path().getFileName().toString(), stats));
                }
            }
        }
        String modelType = layout.config().flatMap(ModelConfig::modelType).orElse(null);
        return new InspectReport(ckpt.root().toString(), layout.architecture().name().toLowerCase(Locale.ROOT), modelType,
                params, ckpt.dataBytes(), ckpt.fileBytes(), ckpt.tensors().size(), ckpt.shards().size(),
                layout.numLayers(), modelFacts(layout), dtypeSummary, roleSummary, ckpt.metadata(), rows);
    }

    private static TensorStats statsOf(SafetensorsFile shard, TensorInfo t, WorkPool pool, ProgressTask task) {
        if (!FloatCodec.isDecodable(t.dtype())) {
            task.advance(t.byteCount());
            return null;
        }
        double bytesPerElement = t.dtype().bits() / 8.0;
        try (TensorView v = shard.map(t.name())) {
            return StatsCalculator.compute(v, pool, n -> task.advance((long) (n * bytesPerElement)));
        }
    }

    static String roleName(TensorRole role) {
        return role.kind().name().toLowerCase(Locale.ROOT);
    }

    private static Map<String, Object> modelFacts(ModelLayout layout) {
        Map<String, Object> m = new LinkedHashMap<>();
        layout.config().ifPresent(c -> {
            m.put("hidden_size", c.hiddenSize());
            m.put("num_hidden_layers", c.numHiddenLayers());
            m.put("num_attention_heads", c.numAttentionHeads());
            m.put("num_key_value_heads", c.numKeyValueHeads());
            m.put("head_dim", c.headDim());
            m.put("intermediate_size", c.intermediateSize());
            m.put("vocab_size", c.vocabSize());
            if (c.hasPerLayerWidths()) {
                // lists-layout configs: the scalars above are the largest entries; these are per layer
                Map<String, Object> per = new LinkedHashMap<>();
                if (!c.perLayer().attentionHeads().isEmpty()) {
                    per.put("num_attention_heads", c.perLayer().attentionHeads());
                }
                if (!c.perLayer().keyValueHeads().isEmpty()) {
                    per.put("num_key_value_heads", c.perLayer().keyValueHeads());
                }
                if (!c.perLayer().intermediateSizes().isEmpty()) {
                    per.put("intermediate_size", c.perLayer().intermediateSizes());
                }
                m.put("per_layer", per);
            }
        });
        m.put("tied_embeddings", layout.tiedEmbeddings());
        return m;
    }
}
