package dev.slimq.prune.structure;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.json.Json;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelConfig;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * {@code slimq prune}: data-free structural pruning with Adapt-Pruner's layer-adaptive allocation.
 *
 * <p>Steps: units from the layout ({@link UnitMap}); unit scores ({@link Importance}: l1/l2, or
 * {@code gauss}, the data-free expected output energy of {@link GaussianContribution}); a
 * weight-based layer importance (below); per-layer sparsity solved on the width grid
 * ({@link LayerAllocation}); the lowest-scored units of each layer removed; the output written
 * through {@link CheckpointWriter}: member tensors sliced (or, for {@code mask}, zeroed) byte for
 * byte, so every kept weight is bit-identical to the input's, every other tensor copied through,
 * config.json rewritten for the uniform, lists and deci layouts.
 *
 * <p><b>Layer importance without statistics.</b> Adapt-Pruner measures it as −cos(layer input,
 * layer output) over calibration tokens, which needs a forward pass. Until {@code slimq calibrate}
 * supplies it, the proxy is the layer's mean per-weight unit magnitude (mean |w| for l1, RMS for
 * l2), averaged over the selected unit kinds, then normalized as Adapt-Pruner normalizes: minus the
 * mean, divided by the largest |·|; with {@code gauss} it is the mean unit score, the unit's expected
 * output energy relative to the block's input energy, so a layer whose block changes its input more
 * counts as more important (the data-free analogue of 1 − cos). Layers with larger weights count as more important and lose
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
 * {@code attention.output.dense} have biases. Llama's down_proj/o_proj have none: the config switch
 * {@code mlp_bias}/{@code attention_bias} is turned on and the biases created ({@link BiasFlags});
 * architectures without such a switch are refused with a pointer to {@code --no-bias-compensation}.
 *
 * <p><b>Depth</b> ({@link LayerDrop}): dropped layers are chosen on the layer importance above
 * (before its normalization), their tensors left out, the later layers' tensors renamed to their
 * new index, and the per-layer config entries cut ({@link ConfigLayouts}). The width allocation
 * then runs over the remaining layers. In the mask layout a dropped decoder layer keeps its
 * tensors with o_proj and down_proj zeroed, which makes the pre-norm block the identity.
 *
 * <p>Every physical layout's config is checked against the planned tensors before anything is
 * written ({@link ConfigLayouts#check}).
 */
public final class PruneService {
    /** The report written next to the pruned weights. */
    public static final String REPORT_FILE = "prune-report.json";

    /** Rows copied per write when slicing columns. */
    private static final int BLOCK_BYTES = 1 << 20;

    private PruneService() {
    }

    /**
     * The outcome: the report, and per unit group the units kept.
     *
     * @param groups the unit groups, as {@link UnitMap#of} found them
     * @param kept per group, which units were kept
     * @param seconds wall time per phase (score: unit and layer scores; analysis: block errors and bias compensation; write), for stdout only: not deterministic
     */
    public record Result(PruneReport report, List<UnitGroup> groups, List<boolean[]> kept, Map<String, Double> seconds) {
    }

    public static Result run(Path in, Path out, PruneOptions o) {
        validate(o);
        OutputPaths.check(out, List.of(in), o.force());
        boolean singleFile = out.getFileName().toString().endsWith(".safetensors");
        boolean physical = o.layout() != PruneLayout.MASK;
        if (physical && singleFile) {
            throw new SlimqException(Failure.USAGE, "--layout " + o.layout().cliName() + " rewrites config.json, so OUT must be a directory, not a .safetensors file");
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
            if (o.ratio() > 0 && encoder && o.units().includes(UnitKind.ATTENTION_GROUP)
                    && o.layout() != PruneLayout.MASK && o.layout() != PruneLayout.LISTS) {
                throw new SlimqException(Failure.UNSUPPORTED, "BERT head pruning needs --layout mask or lists: its stock config derives the"
                        + " head size from hidden_size / num_attention_heads, so fewer heads cannot be written as a stock config"
                        + " (prune --units mlp for a uniform BERT)");
            }
            if (o.drop().any() && encoder && !physical) {
                throw new SlimqException(Failure.UNSUPPORTED, "--drop-layers with --layout mask works for pre-norm decoders only (zeroed"
                        + " o_proj and down_proj make the layer the identity there); BERT normalizes after the residual, so drop its"
                        + " layers with --layout uniform");
            }
            int mlpStep = o.mlpMultiple(cfg.intermediateSize());
            if (o.layout() == PruneLayout.DECI) {
                checkDeci(layout, cfg, o);
                mlpStep = lcm(mlpStep, ConfigLayouts.DECI_FFN_MULTIPLE);
            }
            Map<String, Double> seconds = new java.util.LinkedHashMap<>();
            long t0 = System.nanoTime();
            boolean needScores = o.ratio() > 0 || (o.drop() instanceof LayerDrop.Lowest && stats == null);
            List<double[]> scores = !needScores ? null : stats == null ? o.importance().scores(ckpt, groups, pool)
                    : o.importance().scores(ckpt, groups, stats, pool);

            int layers = layout.numLayers();
            double[] raw = new double[layers];
            if (stats != null) {
                for (int l = 0; l < layers; l++) {
                    raw[l] = 1 - stats.cosInOut(l);
                }
            } else if (scores != null) {
                int[] n = new int[layers];
                for (int i = 0; i < groups.size(); i++) {
                    UnitGroup g = groups.get(i);
                    double mean = 0;
                    for (double s : scores.get(i)) {
                        mean += o.importance().perWeight(s, g.parametersPerUnit());
                    }
                    raw[g.layer()] += mean / g.count();
                    n[g.layer()]++;
                }
                for (int l = 0; l < layers; l++) {
                    raw[l] = n[l] == 0 ? 0 : raw[l] / n[l];
                }
            }
            boolean[] dropped = o.drop().resolve(layers, raw);
            int[] newIndex = new int[layers];
            int kept0 = 0;
            for (int l = 0; l < layers; l++) {
                newIndex[l] = dropped[l] ? -1 : kept0++;
            }
            double[] importance = LayerAllocation.normalize(raw);
            double[] activeRaw = new double[kept0];
            for (int l = 0; l < layers; l++) {
                if (!dropped[l]) {
                    activeRaw[newIndex[l]] = raw[l];
                }
            }
            // the width allocation runs over the remaining layers only, their importance normalized among themselves
            double[] activeImportance = LayerAllocation.normalize(activeRaw);
            List<Integer> active = new ArrayList<>();
            List<LayerAllocation.Group> alloc = new ArrayList<>();
            for (int i = 0; i < groups.size(); i++) {
                UnitGroup g = groups.get(i);
                if (!dropped[g.layer()]) {
                    active.add(i);
                    alloc.add(new LayerAllocation.Group(newIndex[g.layer()], g.count(), g.parametersPerUnit(),
                            g.kind() == UnitKind.MLP_NEURON ? mlpStep : 1));
                }
            }
            List<boolean[]> activeMasks = new ArrayList<>();
            LayerAllocation.Result a;
            try {
                a = allocate(o, groups, active, alloc, scores, activeImportance, kept0, stats != null, activeMasks);
            } catch (IllegalArgumentException e) {
                throw new SlimqException(Failure.UNSUPPORTED, e.getMessage());
            }
            int[] keptCount = new int[groups.size()];
            double[] sparsity = new double[layers];
            List<boolean[]> kept = new ArrayList<>();
            for (int i = 0; i < groups.size(); i++) {
                kept.add(new boolean[groups.get(i).count()]);
            }
            for (int j = 0; j < active.size(); j++) {
                int i = active.get(j);
                keptCount[i] = a.kept()[j];
                kept.set(i, activeMasks.get(j));
            }
            for (int l = 0; l < layers; l++) {
                sparsity[l] = dropped[l] ? 1 : a.sparsity()[newIndex[l]];
            }
            Map<String, Integer> groupOf = new HashMap<>();
            Map<String, UnitGroup.Member> memberOf = new HashMap<>();
            for (int i : active) {
                for (UnitGroup.Member m : groups.get(i).members()) {
                    groupOf.put(m.tensor(), i);
                    memberOf.put(m.tensor(), m);
                }
            }
            if (o.layout() == PruneLayout.UNIFORM) {
                checkUniform(groups, active, keptCount);
            }
            long t1 = System.nanoTime();
            seconds.put("score", (t1 - t0) / 1e9);
            double[] blockError = new double[groups.size()];
            if (o.ratio() > 0) {
                List<Double> errs = pool.map(active.size(), j -> BlockError.of(ckpt, groups.get(active.get(j)), kept.get(active.get(j)), encoder));
                for (int j = 0; j < active.size(); j++) {
                    blockError[active.get(j)] = errs.get(j);
                }
            }
            List<UnitGroup> activeGroups = active.stream().map(groups::get).toList();
            List<boolean[]> activeKept = active.stream().map(kept::get).toList();
            Map<String, double[]> compensation = stats != null && o.biasCompensation() && o.ratio() > 0
                    ? compensation(ckpt, layout, activeGroups, activeKept, stats) : Map.of();

            List<TensorInfo> planned = new ArrayList<>();
            Map<String, String> outName = new HashMap<>();
            Map<String, ConfigLayouts.Slot> slots = new HashMap<>();
            long before = 0;
            long depthRemoved = 0;
            long[] layerParams = new long[layers];
            for (TensorInfo t : ckpt.tensors()) {
                before += t.elementCount();
                OptionalInt layer = layout.layerOf(t.name());
                if (layer.isPresent()) {
                    layerParams[layer.getAsInt()] += t.elementCount();
                }
                if (layer.isPresent() && dropped[layer.getAsInt()]) {
                    depthRemoved += t.elementCount();
                    if (physical) {
                        continue;
                    }
                }
                String name = physical && layer.isPresent() ? renumber(t.name(), layer.getAsInt(), newIndex[layer.getAsInt()]) : t.name();
                outName.put(t.name(), name);
                slots.put(name, slot(layout, t.name(), layer.isPresent() ? newIndex[layer.getAsInt()] : -1));
                Integer gi = groupOf.get(t.name());
                if (gi == null || !physical) {
                    planned.add(TensorInfo.planned(name, t.dtype(), t.shape()));
                } else {
                    UnitGroup.Member m = memberOf.get(t.name());
                    long[] shape = t.shape().clone();
                    int axis = m.axis() == UnitGroup.Axis.ROW ? 0 : 1;
                    shape[axis] = keptCount[gi] * m.span();
                    planned.add(TensorInfo.planned(name, t.dtype(), shape));
                }
            }
            long t2 = System.nanoTime();
            seconds.put("analysis", (t2 - t1) / 1e9);
            List<BiasFlags.Created> created = BiasFlags.plan(layout, compensation.keySet(), dropped, newIndex, planned, outName);
            if (!created.isEmpty() && (singleFile || !ckpt.isDirectory() || ckpt.configJson().isEmpty())) {
                throw new SlimqException(Failure.UNSUPPORTED, "bias compensation creates biases switched on in config.json, so it needs a"
                        + " checkpoint directory in and out; pass --no-bias-compensation to prune without it");
            }
            for (BiasFlags.Created c : created) {
                planned.add(TensorInfo.planned(c.name(), c.dtype(), c.rows()));
                slots.put(c.name(), new ConfigLayouts.Slot(TensorRole.Kind.BIAS, c.owner(), c.layer()));
            }
            String config = null;
            if ((physical || !created.isEmpty()) && ckpt.isDirectory() && ckpt.configJson().isPresent()) {
                ObjectNode json = ((ObjectNode) ckpt.configJson().get()).deepCopy();
                if (physical) {
                    LayerWidths widths = LayerWidths.of(cfg, layers, groups, keptCount, dropped);
                    ConfigLayouts.write(json, o.layout(), widths, dropped, encoder);
                }
                for (BiasFlags.Created c : created) {
                    json.put(c.flag(), true);
                }
                ConfigLayouts.check(json, planned, slots);
                config = Json.python(json);
            }
            PruneReport report = report(in, out, layout, o, groups, keptCount, dropped, newIndex, importance, sparsity, a, before,
                    depthRemoved, layerParams, compensation, created, blockError, mlpStep);
            try (CheckpointWriter w = CheckpointWriter.create(out, planned, ckpt.metadata(), 0, ckpt)) {
                for (TensorInfo t : ckpt.tensors()) {
                    String name = outName.get(t.name());
                    if (name == null) {
                        continue;
                    }
                    Integer gi = groupOf.get(t.name());
                    OptionalInt layer = layout.layerOf(t.name());
                    try (TensorView v = ckpt.map(t.name()); SafetensorsWriter.TensorSink sink = w.open(name)) {
                        double[] delta = compensation.get(t.name());
                        if (delta != null) {
                            float[] b = new float[delta.length];
                            v.readFloats(0, b, 0, b.length);
                            for (int r = 0; r < b.length; r++) {
                                b[r] = (float) (b[r] + delta[r]);
                            }
                            sink.writeFloats(b, 0, b.length);
                        } else if (layer.isPresent() && dropped[layer.getAsInt()] && writesIntoResidual(layout, t.name())) {
                            // mask layout, dropped decoder layer: zero o_proj and down_proj (and their biases), so
                            // both residual branches add nothing and the layer is the identity
                            writeZeros(sink, t.byteCount());
                        } else if (gi == null) {
                            sink.write(v.segment());
                        } else {
                            writeMember(sink, v, memberOf.get(t.name()), kept.get(gi), physical);
                        }
                    }
                }
                for (BiasFlags.Created c : created) {
                    double[] delta = compensation.get(c.source());
                    float[] b = new float[Math.toIntExact(c.rows())];
                    for (int r = 0; delta != null && r < b.length; r++) {
                        b[r] = (float) delta[r];
                    }
                    try (SafetensorsWriter.TensorSink sink = w.open(c.name())) {
                        sink.writeFloats(b, 0, b.length);
                    }
                }
                if (!singleFile) {
                    // deterministic content only (no timings), so two runs give identical directories
                    w.putFile(REPORT_FILE, Json.report(report));
                }
                if (config != null) {
                    w.putFile("config.json", config);
                }
                w.commit();
            }
            seconds.put("write", (System.nanoTime() - t2) / 1e9);
            return new Result(report, groups, List.copyOf(kept), java.util.Collections.unmodifiableMap(seconds));
        }
    }

    private static ConfigLayouts.Slot slot(ModelLayout layout, String name, int layer) {
        TensorRole r = layout.role(name);
        TensorRole w = r.kind() == TensorRole.Kind.BIAS && r.ownerWeight().isPresent() ? layout.role(r.ownerWeight().get()) : r;
        return new ConfigLayouts.Slot(r.kind(), w.linear().orElse(null), layer);
    }

    /**
     * The width allocation over the active groups, filling {@code masks} (per active group, the
     * units kept). One step: Adapt-Pruner's allocation solved for {@code ratio}. {@code N} steps:
     * step k removes what brings the removed parameters to {@code k/N} of the target, solving the
     * allocation on the current widths with the layer importance re-scored over the units still
     * kept (the weight proxy; statistics describe the original model and stay as they are), and
     * removing the lowest-scored of the remaining units. A unit's own l1/l2/flap/wanda score does
     * not change when other units go, so re-scoring changes the layer importance, not the ranking
     * inside a layer.
     */
    static LayerAllocation.Result allocate(PruneOptions o, List<UnitGroup> groups, List<Integer> active, List<LayerAllocation.Group> alloc,
                                           List<double[]> scores, double[] importance, int layers, boolean fromStats, List<boolean[]> masks) {
        boolean uniform = o.layout() == PruneLayout.UNIFORM;
        if (o.ratio() == 0) {
            for (int i : active) {
                masks.add(all(groups.get(i).count()));
            }
            return LayerAllocation.none(alloc, layers);
        }
        if (o.steps() == 1) {
            LayerAllocation.Result a = LayerAllocation.solve(alloc, importance, o.amplitude(), o.ratio(), uniform);
            for (int j = 0; j < active.size(); j++) {
                masks.add(LayerAllocation.keepMask(scores.get(active.get(j)), a.kept()[j]));
            }
            return a;
        }
        int n = alloc.size();
        int[] cur = new int[n];
        boolean[][] m = new boolean[n][];
        long total = 0;
        for (int j = 0; j < n; j++) {
            cur[j] = alloc.get(j).count();
            m[j] = all(cur[j]);
            total += alloc.get(j).count() * alloc.get(j).parametersPerUnit();
        }
        double base = 0;
        for (int step = 1; step <= o.steps(); step++) {
            long removedSoFar = 0;
            List<LayerAllocation.Group> now = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                LayerAllocation.Group g = alloc.get(j);
                removedSoFar += (long) (g.count() - cur[j]) * g.parametersPerUnit();
                now.add(new LayerAllocation.Group(g.layer(), cur[j], g.parametersPerUnit(), g.step()));
            }
            double want = o.ratio() * step / o.steps() * total - removedSoFar;
            if (want <= 0) {
                continue;
            }
            double[] imp = fromStats ? importance : remainingProxy(o, groups, active, alloc, scores, m, layers);
            LayerAllocation.Result a = LayerAllocation.solve(now, imp, o.amplitude(), want / (total - removedSoFar), uniform);
            base = a.base();
            for (int j = 0; j < n; j++) {
                if (a.kept()[j] < cur[j]) {
                    double[] masked = scores.get(active.get(j)).clone();
                    for (int u = 0; u < masked.length; u++) {
                        if (!m[j][u]) {
                            masked[u] = Double.NEGATIVE_INFINITY;
                        }
                    }
                    m[j] = LayerAllocation.keepMask(masked, a.kept()[j]);
                    cur[j] = a.kept()[j];
                }
            }
        }
        long removed = 0;
        double[] layerRemoved = new double[layers];
        double[] layerTotal = new double[layers];
        for (int j = 0; j < n; j++) {
            LayerAllocation.Group g = alloc.get(j);
            long r = (long) (g.count() - cur[j]) * g.parametersPerUnit();
            removed += r;
            layerRemoved[g.layer()] += r;
            layerTotal[g.layer()] += (double) g.count() * g.parametersPerUnit();
            masks.add(m[j]);
        }
        double[] sparsity = new double[layers];
        for (int l = 0; l < layers; l++) {
            sparsity[l] = layerTotal[l] == 0 ? 0 : layerRemoved[l] / layerTotal[l];
        }
        return new LayerAllocation.Result(base, sparsity, cur, removed, total);
    }

    /** The weight proxy of layer importance over the units still kept, normalized; indexed like {@code alloc}'s layers. */
    private static double[] remainingProxy(PruneOptions o, List<UnitGroup> groups, List<Integer> active, List<LayerAllocation.Group> alloc,
                                           List<double[]> scores, boolean[][] m, int layers) {
        double[] raw = new double[layers];
        int[] count = new int[layers];
        for (int j = 0; j < active.size(); j++) {
            UnitGroup g = groups.get(active.get(j));
            double sum = 0;
            int k = 0;
            for (int u = 0; u < g.count(); u++) {
                if (m[j][u]) {
                    sum += o.importance().perWeight(scores.get(active.get(j))[u], g.parametersPerUnit());
                    k++;
                }
            }
            int l = alloc.get(j).layer();
            raw[l] += k == 0 ? 0 : sum / k;
            count[l]++;
        }
        for (int l = 0; l < layers; l++) {
            raw[l] = count[l] == 0 ? 0 : raw[l] / count[l];
        }
        return LayerAllocation.normalize(raw);
    }

    private static boolean[] all(int n) {
        boolean[] b = new boolean[n];
        java.util.Arrays.fill(b, true);
        return b;
    }

    /** Whether the tensor is a decoder layer's o_proj or down_proj weight or bias: what a residual branch ends with. */
    private static boolean writesIntoResidual(ModelLayout layout, String name) {
        TensorRole r = layout.role(name);
        if (r.kind() == TensorRole.Kind.BIAS && r.ownerWeight().isPresent()) {
            r = layout.role(r.ownerWeight().get());
        }
        return r.is(LinearRole.O) || r.is(LinearRole.DOWN);
    }

    /**
     * The name of a tensor of layer {@code from} once it is layer {@code to}. The layout placed the
     * tensor in layer {@code from}; its index is the first whole dotted segment equal to it
     * ({@code model.layers.7.mlp…}, {@code encoder.layer.7.…}), the only name handling here.
     */
    static String renumber(String name, int from, int to) {
        if (from == to) {
            return name;
        }
        String[] seg = name.split("\\.", -1);
        String f = Integer.toString(from);
        for (int i = 0; i < seg.length; i++) {
            if (seg[i].equals(f)) {
                seg[i] = Integer.toString(to);
                return String.join(".", seg);
            }
        }
        throw new SlimqException(Failure.UNSUPPORTED, "tensor " + name + " belongs to layer " + from + " but its name has no segment " + f
                + "; cannot renumber it");
    }

    /**
     * Per output bias, Σ_{removed c} W[r, c]·input_mean[c] (double) for every group whose consuming
     * linear has an {@code input_mean} in the statistics; ordered by tensor name. A consuming linear
     * without a bias gets the name its bias would have ({@link BiasFlags}).
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
            // a bias the checkpoint lacks is named as HF names it; the caller creates it (or refuses)
            String bias = biasOf.getOrDefault(m.tensor(), BiasFlags.biasName(m.tensor()));
            long cols = m.span() * g.count();
            long rows = m.otherDim();
            float[] mean = stats.input(g.layer(), m.tensor(), "input_mean", cols);
            TensorInfo bt = biasOf.containsKey(m.tensor()) ? layout.tensor(bias) : TensorInfo.planned(bias, DType.F32, rows);
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
        boolean depthOnly = o.ratio() == 0 && o.drop().any();
        if (!(o.ratio() > 0 && o.ratio() < 1) && !depthOnly) {
            throw new SlimqException(Failure.UNSUPPORTED, "--ratio must lie strictly between 0 and 1, got " + o.ratio()
                    + (o.drop().any() ? " (or leave it out to drop layers only)" : ""));
        }
        if (!(o.amplitude() >= 0 && o.amplitude() <= 1)) {
            throw new SlimqException(Failure.USAGE, "--amplitude must lie in [0, 1], got " + o.amplitude());
        }
        if (o.multipleOf() < 0) {
            throw new SlimqException(Failure.USAGE, "--multiple-of must be at least 1 (or auto), got " + o.multipleOf());
        }
        if (o.threads() < 1) {
            throw new SlimqException(Failure.USAGE, "--threads must be at least 1, got " + o.threads());
        }
        if (o.steps() < 1) {
            throw new SlimqException(Failure.USAGE, "--steps must be at least 1, got " + o.steps());
        }
    }

    /** DeciLM's block_configs describe llama decoders with per-layer FFN widths on a 256 grid and global query heads. */
    private static void checkDeci(ModelLayout layout, ModelConfig cfg, PruneOptions o) {
        if (layout.architecture() != Architecture.LLAMA) {
            throw new SlimqException(Failure.UNSUPPORTED, "--layout deci writes DeciLM (Llama-based) block_configs; "
                    + layout.architecture().modelType() + " is not a llama checkpoint");
        }
        if (o.ratio() > 0 && o.units().includes(UnitKind.ATTENTION_GROUP)) {
            throw new SlimqException(Failure.UNSUPPORTED, "--layout deci cannot express attention pruning (DeciLM's query heads are"
                    + " global, only n_heads_in_group varies); use --units mlp, or --layout lists/uniform");
        }
        if (cfg.intermediateSize() % ConfigLayouts.DECI_FFN_MULTIPLE != 0) {
            throw new SlimqException(Failure.UNSUPPORTED, "--layout deci needs FFN widths on DeciLM's grid of "
                    + ConfigLayouts.DECI_FFN_MULTIPLE + ", and intermediate_size " + cfg.intermediateSize() + " is not on it");
        }
    }

    private static int lcm(int a, int b) {
        int g = java.math.BigInteger.valueOf(a).gcd(java.math.BigInteger.valueOf(b)).intValue();
        return Math.multiplyExact(a / g, b);
    }

    /** Uniform means one width per kind: the allocation averages sparsities, so this only guards the invariant. */
    private static void checkUniform(List<UnitGroup> groups, List<Integer> active, int[] kept) {
        Map<UnitKind, Integer> width = new HashMap<>();
        for (int i : active) {
            Integer prev = width.putIfAbsent(groups.get(i).kind(), kept[i]);
            if (prev != null && prev != kept[i]) {
                throw new SlimqException(Failure.UNSUPPORTED, "layers differ in width, which a uniform layout cannot express");
            }
        }
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
        // runs of consecutive kept units, as (source offset, destination offset, length) in bytes of one row,
        // so each row costs one bulk read and one copy per run instead of one per unit
        List<int[]> runs = new ArrayList<>();
        long d0 = 0;
        for (int u = 0; u < kept.length; ) {
            int end = u;
            while (end < kept.length && kept[end] == kept[u]) {
                end++;
            }
            long len = (end - u) * spanBytes;
            if (kept[u]) {
                runs.add(new int[] {Math.toIntExact(u * spanBytes), Math.toIntExact(d0), Math.toIntExact(len)});
            }
            if (kept[u] || !physical) {
                d0 += len;
            }
            u = end;
        }
        long outRow = d0;
        int rowsPerBlock = (int) Math.max(1, Math.min(rows, BLOCK_BYTES / Math.max(1, Math.max(inRow, outRow))));
        byte[] in = new byte[Math.toIntExact(rowsPerBlock * inRow)];
        byte[] buf = new byte[Math.toIntExact(rowsPerBlock * outRow)];
        MemorySegment inSeg = MemorySegment.ofArray(in);
        for (long r0 = 0; r0 < rows; r0 += rowsPerBlock) {
            int nr = (int) Math.min(rowsPerBlock, rows - r0);
            MemorySegment.copy(src, r0 * inRow, inSeg, 0, nr * inRow);
            if (!physical) {
                java.util.Arrays.fill(buf, (byte) 0);
            }
            for (int r = 0; r < nr; r++) {
                int s = Math.toIntExact(r * inRow);
                int d = Math.toIntExact(r * outRow);
                for (int[] run : runs) {
                    System.arraycopy(in, s + run[0], buf, d + run[1], run[2]);
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

    private static PruneReport report(Path in, Path out, ModelLayout layout, PruneOptions o, List<UnitGroup> groups, int[] keptCount,
                                      boolean[] dropped, int[] newIndex, double[] importance, double[] sparsity, LayerAllocation.Result a,
                                      long before, long depthRemoved, long[] layerParams, Map<String, double[]> compensation,
                                      List<BiasFlags.Created> created, double[] blockError, int mlpStep) {
        int layers = layout.numLayers();
        Integer[] mlp = new Integer[layers];
        Integer[] mlpKept = new Integer[layers];
        Integer[] att = new Integer[layers];
        Integer[] attKept = new Integer[layers];
        Integer[] qKept = new Integer[layers];
        Double[] mlpErr = new Double[layers];
        Double[] attErr = new Double[layers];
        long[] removed = new long[layers];
        for (int i = 0; i < groups.size(); i++) {
            UnitGroup g = groups.get(i);
            int k = keptCount[i];
            if (!dropped[g.layer()] && o.ratio() > 0) {
                if (g.kind() == UnitKind.MLP_NEURON) {
                    mlpErr[g.layer()] = blockError[i];
                } else {
                    attErr[g.layer()] = blockError[i];
                }
            }
            if (!dropped[g.layer()]) {
                removed[g.layer()] += (g.count() - k) * g.parametersPerUnit();
            }
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
        List<Integer> droppedList = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            if (dropped[l]) {
                droppedList.add(l);
                removed[l] = layerParams[l];
            }
            rows.add(new PruneReport.Layer(l, dropped[l] ? null : newIndex[l], dropped[l], importance[l], sparsity[l], mlp[l], mlpKept[l],
                    att[l], attKept[l], qKept[l], removed[l], mlpErr[l], attErr[l]));
        }
        String proxy = o.amplitude() == 0 && !(o.drop() instanceof LayerDrop.Lowest) ? "none (amplitude 0)"
                : o.stats() != null ? "statistics: 1 - cos_in_out per layer from " + o.stats() + ", normalized to mean 0, max |.| 1"
                : o.importance() == Importance.GAUSS ? "gauss: mean modelled output energy (relative to the block input's) of the layer's selected units, normalized to mean 0, max |.| 1"
                : "weights: mean per-weight " + (o.importance() == Importance.L1 ? "|w|" : "RMS") + " of the layer's selected units, normalized to mean 0, max |.| 1";
        long after = before - a.removedParameters() - depthRemoved;
        return new PruneReport(in.toString(), out.toString(), layout.architecture().modelType(), o.layout().cliName(),
                o.units().cliName(), o.importance().cliName(), o.ratio(), a.achievedRatio(), o.amplitude(), mlpStep,
                o.steps(), a.base(), proxy, a.totalParameters(), a.removedParameters(), before, after, droppedList, depthRemoved,
                before == 0 ? 0 : (double) (before - after) / before, rows,
                o.stats() == null ? null : o.stats().toString(), new ArrayList<>(compensation.keySet()),
                created.stream().map(BiasFlags.Created::name).toList(), created.stream().map(BiasFlags.Created::flag).distinct().sorted().toList());
    }
}
