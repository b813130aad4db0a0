package dev.slimq.cli;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.FloatWeightSource;
import dev.slimq.core.checkpoint.WeightSource;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.quantize.format.QuantizedCheckpointReader;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CLI's wiring of quantize's readers into the forward passes' {@link WeightSource} seam (runtime
 * may not depend on quantize): {@link #OPENER} detects compressed-tensors, GPTQ and slimq checkpoints
 * and serves each quantized weight as the floats {@link QuantizedCheckpointReader#dequantize} gives,
 * which are exactly what {@code slimq dequantize --dtype F32} writes; plain tensors are read as
 * stored; a float checkpoint gets the plain {@link FloatWeightSource}.
 */
final class QuantizedWeightSource implements WeightSource {
    /** Opens a quantized checkpoint through its reader, a float one as it is. */
    static final WeightSource.Opener OPENER = ck -> QuantizedCheckpointReader.detect(ck)
            .<WeightSource>map(r -> new QuantizedWeightSource(ck, r))
            .orElseGet(() -> new FloatWeightSource(ck));

    private final Checkpoint checkpoint;
    private final QuantizedCheckpointReader reader;
    private final FloatWeightSource plain;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName = new HashMap<>();
    private final Set<String> quantized;
    private ModelLayout layout;

    private QuantizedWeightSource(Checkpoint checkpoint, QuantizedCheckpointReader reader) {
        this.checkpoint = checkpoint;
        this.reader = reader;
        this.plain = new FloatWeightSource(checkpoint);
        this.quantized = Set.copyOf(reader.weights());
        Set<String> storage = reader.storageTensors();
        List<TensorInfo> all = new ArrayList<>();
        for (TensorInfo t : checkpoint.tensors()) {
            if (!storage.contains(t.name()) && !quantized.contains(t.name())) {
                all.add(t);
            }
        }
        for (String w : reader.weights()) {
            all.add(TensorInfo.planned(w, DType.F32, reader.shape(w)));
        }
        all.sort(Comparator.comparing(TensorInfo::name));
        this.tensors = List.copyOf(all);
        for (TensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
    }

    @Override
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    @Override
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public TensorInfo tensor(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return t;
    }

    @Override
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    @Override
    public float[] floats(String name) {
        return quantized.contains(name) ? reader.dequantize(name) : plain.floats(name);
    }

    @Override
    public synchronized ModelLayout layout() {
        if (layout == null) {
            layout = ModelLayout.of(checkpoint.configJson().map(ModelConfig::of), tensors);
        }
        return layout;
    }
}
