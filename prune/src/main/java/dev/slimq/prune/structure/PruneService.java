package dev.slimq.prune.structure;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.json.Json;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code slimq prune}: data-free structural pruning with Adapt-Pruner's layer-adaptive allocation.
 *
 * <p>Steps: units from the layout ({@link UnitMap}); l1/l2 unit scores ({@link Importance}); a
 * weight-based layer importance (below); per-layer sparsity solved on the width grid
 * ({@link LayerAllocation}); the lowest-scored units of each layer removed; the output written
 * through {@link CheckpointWriter}: member tensors sliced (or, for {@code mask}, zeroed) byte for
 * byte, so every kept weight is bit-identical to the input's, every other tensor copied through,
 * config.json rewritten for {@code uniform}.
 *
 * <p><b>Layer importance without statistics.</b> Adapt-Pruner measures it as −cos(layer input,
 * layer output) over calibration tokens, which needs a forward pass. Until {@code slimq calibrate}
 * supplies it, the proxy is the layer's mean per-weight unit magnitude (mean |w| for l1, RMS for
 * l2), averaged over the selected unit kinds, then normalized as Adapt-Pruner normalizes: minus the
 * mean, divided by the largest |·|. Layers with larger weights count as more important and lose
 * fewer units. This is an untested heuristic (pruning_tokens.md section 1, "data-free
 * substitutes"); {@code --amplitude 0} switches it off.
 *
 * <p><b>With statistics</b> ({@code --stats}, {@link StatisticsFile}): layer importance is
 * Adapt-Pruner's / ShortGPT's 1 − cos(layer input, layer output) from {@code layers.{i}.cos_in_out}
 * (a layer that changes its input more matters more), normalized the same way, replacing the
 * weight proxy; unit scores may be {@code flap} or {@code wanda} ({@link Importance}). Bias
 * compensation (FLAP, pruning_tokens.md section 2): where the statistics hold the consuming
 * linear's {@code input_mean} x̄, Σ_{removed c} W[:, c]·x̄[c] is added to that linear's output
 * bias (summed in double, rounded once to float, then written in the bias's dtype), so for inputs
 * equal to x̄ the pruned layer's output equals the unpruned one. BERT's {@code output.dense} and
 * {@code attention.output.dense} have biases. Llama-family down_proj/o_proj have none; creating one
 * (config {@code mlp_bias}/{@code attention_bias} with zero biases on the sibling projections) is
 * not implemented, so those are refused with a message pointing at {@code --no-bias-compensation}.
 */
public final class PruneService {
    /** Rows copied per write when slicing columns. */
    private static final int BLOCK_BYTES = 1 << 20;

    private PruneService() {
    }

    /**
     * The outcome: the report, and per unit group the units kept.
     *
     * @param groups the unit groups, as {@link UnitMap#of} found them
     * @param kept per group, which units were kept
     */
    public record Result(PruneReport report, List<UnitGroup> groups, List<boolean[]> kept) {
    }

    public static Result run(Path in, Path out, PruneOptions o) {
        validate(o);
        OutputPaths.check(out, List.of(in), o.force());
        boolean singleFile = out.getFileName().toString().endsWith(".safetensors");
        if (o.layout() == PruneLayout.UNIFORM && singleFile) {
            throw new SlimqException(Failure.USAGE, "--layout uniform rewrites config.json, so OUT must be a directory, not a .safetensors file");
        }
        try (Checkpoint ckpt = Checkpoint.open(in); WorkPool pool = new WorkPool(o.threads());
             StatisticsFile stats = o.stats() == null ? null : StatisticsFile.open(o.stats())) {
            if (stats == null && o.importance().activationAware()) {
                throw new SlimqException(Failure.USAGE, "--importance " + o.importance().cliName() + " needs --stats FILE (from slimq calibrate)");
            }
            if (stats != null) {
                stats.checkFingerprint(ckpt, o.ignoreFingerprint());
            }
            ModelLayout layout = ckpt.layout();
            List<UnitGroup> groups = UnitMap.of(layout, o.units());
            ModelConfig cfg = layout.config().orElseThrow();
            boolean encoder = layout.architecture().family() == Architecture.Family.ENCODER;
            if (o.layout() == PruneLayout.UNIFORM && encoder && o.units().includes(UnitKind.ATTENTION_GROUP)) {
                throw new SlimqException(Failure.UNSUPPORTED, "BERT head pruning needs --layout mask: its config derives the head size"
                        + " from hidden_size / num_attention_heads, so fewer heads cannot be written as a stock config"
                        + " (prune --units mlp for a uniform BERT)");
            }
            List<double[]> scores = stats == null ? o.importance().scores(ckpt, groups, pool)
                    : o.importance().scores(ckpt, groups, stats, pool);

            int layers = layout.numLayers();
            double[] raw = new double[layers];
            int[] n = new int[layers];
            List<LayerAllocation.Group> alloc = new ArrayList<>();
            for (int i = 0; i < groups.size(); i++) {
                UnitGroup g = groups.get(i);
                double mean = 0;
                for (double s : scores.get(i)) {
                    mean += o.importance().perWeight(s, g.parametersPerUnit());
                }
                raw[g.layer()] += mean / g.count();
                n[g.layer()]++;
                alloc.add(new LayerAllocation.Group(g.layer(), g.count(), g.parametersPerUnit(),
                        g.kind() == UnitKind.MLP_NEURON ? o.multipleOf() : 1));
            }
            for (int l = 0; l < layers; l++) {
                raw[l] = n[l] == 0 ? 0 : raw[l] / n[l];
            }
            if (stats != null) {
                for (int l = 0; l < layers; l++) {
                    raw[l] = 1 - stats.cosInOut(l);
                }
            }
            double[] importance = LayerAllocation.normalize(raw);
            LayerAllocation.Result a;
            try {
                a = LayerAllocation.solve(alloc, importance, o.amplitude(), o.ratio(), o.layout() == PruneLayout.UNIFORM);
            } catch (IllegalArgumentException e) {
                throw new SlimqException(Failure.UNSUPPORTED, e.getMessage());
            }
            List<boolean[]> kept = new ArrayList<>();
            Map<String, Integer> groupOf = new HashMap<>();
            Map<String, UnitGroup.Member> memberOf = new HashMap<>();
            for (int i = 0; i < groups.size(); i++) {
                kept.add(LayerAllocation.keepMask(scores.get(i), a.kept()[i]));
                for (UnitGroup.Member m : groups.get(i).members()) {
                    groupOf.put(m.tensor(), i);
                    memberOf.put(m.tensor(), m);
                }
            }
            if (o.layout() == PruneLayout.UNIFORM) {
                checkUniform(groups, a.kept());
            }
            Map<String, double[]> compensation = stats != null && o.biasCompensation()
                    ? compensation(ckpt, layout, groups, kept, stats) : Map.of();

            boolean physical = o.layout() == PruneLayout.UNIFORM;
            List<TensorInfo> planned = new ArrayList<>();
            long before = 0;
            for (TensorInfo t : ckpt.tensors()) {
                before += t.elementCount();
                Integer gi = groupOf.get(t.name());
                if (gi == null || !physical) {
                    planned.add(TensorInfo.planned(t.name(), t.dtype(), t.shape()));
                } else {
                    UnitGroup.Member m = memberOf.get(t.name());
                    long[] shape = t.shape().clone();
                    int axis = m.axis() == UnitGroup.Axis.ROW ? 0 : 1;
                    shape[axis] = a.kept()[gi] * m.span();
                    planned.add(TensorInfo.planned(t.name(), t.dtype(), shape));
                }
            }
            try (CheckpointWriter w = CheckpointWriter.create(out, planned, ckpt.metadata(), 0, ckpt)) {
                for (TensorInfo t : ckpt.tensors()) {
                    Integer gi = groupOf.get(t.name());
                    try (TensorView v = ckpt.map(t.name()); SafetensorsWriter.TensorSink sink = w.open(t.name())) {
                        double[] delta = compensation.get(t.name());
                        if (delta != null) {
                            float[] b = new float[delta.length];
                            v.readFloats(0, b, 0, b.length);
                            for (int r = 0; r < b.length; r++) {
                                b[r] = (float) (b[r] + delta[r]);
                            }
                            sink.writeFloats(b, 0, b.length);
                        } else if (gi == null) {
                            sink.write(v.segment());
                        } else {
                            writeMember(sink, v, memberOf.get(t.name()), kept.get(gi), physical);
                        }
                    }
                }
                if (physical && ckpt.isDirectory() && ckpt.configJson().isPresent()) {
                    w.putFile("config.json", Json.python(rewriteConfig((ObjectNode) ckpt.configJson().get(), cfg, groups, a.kept())));
                }
                w.commit();
            }
            PruneReport report = report(in, out, layout, o, groups, a, importance, before, compensation);
            return new Result(report, groups, List.copyOf(kept));
        }
    }

    /**
     * Per output bias, Σ_{removed c} W[r, c]·input_mean[c] (double) for every group whose consuming
     * linear has an {@code input_mean} in the statistics; ordered by tensor name. Refuses consuming
     * linears without a bias.
     */
    static Map<String, double[]> compensation(Checkpoint ckpt, ModelLayout layout, List<UnitGroup> groups, List<boolean[]> kept,
                                              StatisticsFile stats) {
        Map<String, String> biasOf = new HashMap<>();
        for (TensorInfo t : layout.tensors()) {
            TensorRole r = layout.role(t.name());
            if (r.kind() == TensorRole.Kind.BIAS && r.ownerWeight().isPresent()) {
                biasOf.put(r.ownerWeight().get(), t.name());
            }
        }
        Map<String, double[]> out = new TreeMap<>();
        for (int i = 0; i < groups.size(); i++) {
            UnitGroup g = groups.get(i);
            UnitGroup.Member m = Importance.consumer(g);
            boolean[] k = kept.get(i);
            boolean any = false;
            for (boolean b : k) {
                any |= !b;
            }
            if (!any || !stats.hasInput(g.layer(), m.tensor(), "input_mean")) {
                continue;
            }
            String bias = biasOf.get(m.tensor());
            if (bias == null) {
                throw new SlimqException(Failure.UNSUPPORTED, "bias compensation needs an output bias on " + m.tensor()
                        + ", which this architecture does not have (creating one through the config's mlp_bias/attention_bias"
                        + " is not implemented yet); pass --no-bias-compensation to prune without it");
            }
            long cols = m.span() * g.count();
            long rows = m.otherDim();
            float[] mean = stats.input(g.layer(), m.tensor(), "input_mean", cols);
            TensorInfo bt = layout.tensor(bias);
            if (bt.rank() != 1 || bt.dim(0) != rows) {
                throw new SlimqException(Failure.BAD_INPUT, "bias " + bias + " is " + bt.shapeString() + " but " + m.tensor() + " has " + rows + " rows");
            }
            double[] delta = new double[Math.toIntExact(rows)];
            float[] row = new float[Math.toIntExact(cols)];
            try (TensorView v = ckpt.map(m.tensor())) {
                for (int r = 0; r < rows; r++) {
                    v.readFloats(r * cols, row, 0, row.length);
                    double acc = 0;
                    for (int c = 0; c < cols; c++) {
                        if (!k[(int) (c / m.span())]) {
                            acc += (double) row[c] * mean[c];
                        }
                    }
                    delta[r] = acc;
                }
            }
            out.put(bias, delta);
        }
        return out;
    }

    private static void validate(PruneOptions o) {
        if (!(o.ratio() > 0 && o.ratio() < 1)) {
            throw new SlimqException(Failure.UNSUPPORTED, "--ratio must lie strictly between 0 and 1, got " + o.ratio());
        }
        if (!(o.amplitude() >= 0 && o.amplitude() <= 1)) {
            throw new SlimqException(Failure.USAGE, "--amplitude must lie in [0, 1], got " + o.amplitude());
        }
        if (o.multipleOf() < 1) {
            throw new SlimqException(Failure.USAGE, "--multiple-of must be at least 1, got " + o.multipleOf());
        }
        if (o.threads() < 1) {
            throw new SlimqException(Failure.USAGE, "--threads must be at least 1, got " + o.threads());
        }
        if (o.layout() == PruneLayout.DECI || o.layout() == PruneLayout.LISTS) {
            throw new SlimqException(Failure.UNSUPPORTED, "--layout " + o.layout().cliName()
                    + " is not implemented yet; use uniform (stock config) or mask (zeroed units, stock shapes)");
        }
    }

    /** Uniform means one width per kind: the allocation averages sparsities, so this only guards the invariant. */
    private static void checkUniform(List<UnitGroup> groups, int[] kept) {
        Map<UnitKind, Integer> width = new HashMap<>();
        for (int i = 0; i < groups.size(); i++) {
            Integer prev = width.putIfAbsent(groups.get(i).kind(), kept[i]);
            if (prev != null && prev != kept[i]) {
                throw new SlimqException(Failure.UNSUPPORTED, "layers differ in width, which a uniform layout cannot express");
            }
        }
    }

    private static ObjectNode rewriteConfig(ObjectNode json, ModelConfig cfg, List<UnitGroup> groups, int[] kept) {
        for (int i = 0; i < groups.size(); i++) {
            UnitGroup g = groups.get(i);
            if (g.kind() == UnitKind.MLP_NEURON) {
                json.put("intermediate_size", kept[i]);
            } else {
                int heads = kept[i] * g.queryHeadsPerUnit();
                json.put("num_attention_heads", heads);
                json.put("num_key_value_heads", kept[i]);
                if (json.has("head_dim") || cfg.hiddenSize() % heads != 0 || cfg.hiddenSize() / heads != cfg.headDim()) {
                    json.put("head_dim", cfg.headDim());
                }
            }
        }
        return json;
    }

    /** Writes one member tensor: kept slices copied byte for byte; pruned ones dropped ({@code physical}) or zeroed. */
    static void writeMember(SafetensorsWriter.TensorSink sink, TensorView v, UnitGroup.Member m, boolean[] kept, boolean physical) {
        long eb = v.info().dtype().byteSize();
        MemorySegment src = v.segment();
        if (m.axis() == UnitGroup.Axis.ROW) {
            long unitBytes = m.span() * m.otherDim() * eb;
            int u = 0;
            while (u < kept.length) {
                int end = u;
                while (end < kept.length && kept[end] == kept[u]) {
                    end++;
                }
                long len = (end - u) * unitBytes;
                if (kept[u]) {
                    sink.write(src.asSlice(u * unitBytes, len));
                } else if (!physical) {
                    writeZeros(sink, len);
                }
                u = end;
            }
            return;
        }
        long rows = m.otherDim();
        long inRow = m.span() * kept.length * eb;
        long spanBytes = m.span() * eb;
        int keptCount = 0;
        for (boolean k : kept) {
            keptCount += k ? 1 : 0;
        }
        long outRow = physical ? keptCount * spanBytes : inRow;
        int rowsPerBlock = (int) Math.max(1, Math.min(rows, BLOCK_BYTES / Math.max(1, outRow)));
        byte[] buf = new byte[Math.toIntExact(rowsPerBlock * outRow)];
        MemorySegment dst = MemorySegment.ofArray(buf);
        for (long r0 = 0; r0 < rows; r0 += rowsPerBlock) {
            int nr = (int) Math.min(rowsPerBlock, rows - r0);
            java.util.Arrays.fill(buf, (byte) 0);
            for (int r = 0; r < nr; r++) {
                long s = (r0 + r) * inRow;
                long d = r * outRow;
                for (int u = 0; u < kept.length; u++) {
                    if (kept[u]) {
                        MemorySegment.copy(src, s + u * spanBytes, dst, d, spanBytes);
                    }
                    if (kept[u] || !physical) {
                        d += spanBytes;
                    }
                }
            }
            sink.write(ByteBuffer.wrap(buf, 0, (int) (nr * outRow)));
        }
    }

    private static void writeZeros(SafetensorsWriter.TensorSink sink, long len) {
        byte[] z = new byte[(int) Math.min(len, BLOCK_BYTES)];
        for (long done = 0; done < len; ) {
            int k = (int) Math.min(z.length, len - done);
            sink.write(ByteBuffer.wrap(z, 0, k));
            done += k;
        }
    }

    private static PruneReport report(Path in, Path out, ModelLayout layout, PruneOptions o, List<UnitGroup> groups,
                                      LayerAllocation.Result a, double[] importance, long before, Map<String, double[]> compensation) {
        int layers = layout.numLayers();
        Integer[] mlp = new Integer[layers];
        Integer[] mlpKept = new Integer[layers];
        Integer[] att = new Integer[layers];
        Integer[] attKept = new Integer[layers];
        Integer[] qKept = new Integer[layers];
        long[] removed = new long[layers];
        for (int i = 0; i < groups.size(); i++) {
            UnitGroup g = groups.get(i);
            int k = a.kept()[i];
            removed[g.layer()] += (g.count() - k) * g.parametersPerUnit();
            if (g.kind() == UnitKind.MLP_NEURON) {
                mlp[g.layer()] = g.count();
                mlpKept[g.layer()] = k;
            } else {
                att[g.layer()] = g.count();
                attKept[g.layer()] = k;
                qKept[g.layer()] = k * g.queryHeadsPerUnit();
            }
        }
        List<PruneReport.Layer> rows = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            rows.add(new PruneReport.Layer(l, importance[l], a.sparsity()[l], mlp[l], mlpKept[l], att[l], attKept[l], qKept[l], removed[l]));
        }
        String proxy = o.amplitude() == 0 ? "none (amplitude 0)"
                : o.stats() != null ? "statistics: 1 - cos_in_out per layer from " + o.stats() + ", normalized to mean 0, max |.| 1"
                : "weights: mean per-weight " + (o.importance() == Importance.L1 ? "|w|" : "RMS") + " of the layer's selected units, normalized to mean 0, max |.| 1";
        return new PruneReport(in.toString(), out.toString(), layout.architecture().modelType(), o.layout().cliName(),
                o.units().cliName(), o.importance().cliName(), o.ratio(), a.achievedRatio(), o.amplitude(), o.multipleOf(),
                a.base(), proxy, a.totalParameters(), a.removedParameters(), before, before - a.removedParameters(), rows,
                o.stats() == null ? null : o.stats().toString(), new ArrayList<>(compensation.keySet()));
    }
}
