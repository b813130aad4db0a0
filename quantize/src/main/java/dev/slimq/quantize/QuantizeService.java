package dev.slimq.quantize;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.checkpoint.OutputPaths;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.progress.ProgressListener;
import dev.slimq.core.progress.ProgressTask;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.quantize.format.QuantFormat;
import dev.slimq.quantize.format.QuantizationSummary;
import dev.slimq.quantize.method.EasyQuant;
import dev.slimq.quantize.method.FineQuant;
import dev.slimq.quantize.method.Hqq;
import dev.slimq.quantize.method.Quantizer;
import dev.slimq.quantize.method.Rtn;
import dev.slimq.quantize.method.Search;
import dev.slimq.quantize.quality.QualityMetrics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * {@code slimq quantize}: turns a float checkpoint into a quantized one in the chosen format.
 *
 * <p>Two passes, because every output tensor is planned before the first byte is written:
 * <ol>
 *   <li><b>Plan.</b> The tensor policy picks units (fused groups share one scheme); each unit's scheme
 *       is resolved (group-size fallback, finequant's choice) and checked against the method, the
 *       format and the target, so an impossible request stops before any work; for easyquant the
 *       outlier count of each weight is computed (it sizes the residual tensors).</li>
 *   <li><b>Write.</b> Tensors are processed in parallel, largest first: a quantized weight is read,
 *       quantized, measured and packed straight into its planned place; everything else is copied
 *       through. config.json gets the format's {@code quantization_config}, and the report is added
 *       before the output is committed atomically.</li>
 * </ol>
 * Memory per worker is one weight as floats plus its codes; bytes are identical for any thread count.
 *
 * <p>With a {@link Fingerprint} the run is resumable (see {@link CheckpointWriter}): each unit's plan
 * and each quantized weight's report entry are noted as they are decided, so a run resumed after an
 * interruption reads the noted plans instead of planning those units again, and writes only the
 * tensors the interrupted run did not finish (a weight whose output tensors are all kept, and whose
 * report entry is noted, is neither read nor quantized). The result is the same bytes.
 */
public final class QuantizeService {
    public static final String REPORT_FILE = "quantization-report.json";

    private QuantizeService() {
    }

    /** The decisions for one unit: its scheme and each member's outlier count. */
    record UnitPlan(TensorPolicy.Unit unit, QuantScheme scheme, Map<String, Integer> outliers, Map<String, Double> finequant) {
    }

    public static QuantizeResult run(Path input, Path output, QuantizeOptions o, ProgressListener progress) {
        return run(input, output, o, progress, null);
    }

    /**
     * With {@code shard} non-null: the full plan pass, then only part K's tensors are quantized and
     * written into {@code output} as a part directory (see {@link ShardRun}); the returned report
     * covers that part's tensors only.
     */
    public static QuantizeResult run(Path input, Path output, QuantizeOptions o, ProgressListener progress, ShardRun.Spec shard) {
        return run(input, output, o, progress, shard, null);
    }

    /**
     * With {@code fingerprint} non-null the output records it and the run resumes an interrupted run
     * with the same fingerprint (see the class comment); an existing output that records another
     * fingerprint is an earlier slimq result and is replaced without {@code --force}.
     */
    public static QuantizeResult run(Path input, Path output, QuantizeOptions o, ProgressListener progress, ShardRun.Spec shard,
                                     Fingerprint fingerprint) {
        long t0 = System.nanoTime();
        if (shard != null && o.dryRun()) {
            throw new SlimqException(Failure.USAGE, "--shard writes a part; it cannot be combined with --dry-run");
        }
        if (shard != null && output.getFileName().toString().endsWith(".safetensors")) {
            throw new SlimqException(Failure.USAGE, "--shard writes a part directory; name PART without .safetensors");
        }
        if (!o.dryRun()) {
            OutputPaths.check(output, List.of(input), o.force()
                    || fingerprint != null && Fingerprint.recorded(output, Fingerprint.OUTPUT).isPresent());
        }
        Map<String, String> previous = fingerprint == null || o.dryRun() ? Map.of() : CheckpointWriter.previousNotes(output, fingerprint);
        QuantFormat format = QuantFormat.byName(o.format());
        try (Checkpoint ckpt = Checkpoint.open(input); WorkPool pool = new WorkPool(o.threads())) {
            if (QuantFormat.detect(ckpt).isPresent()) {
                throw new SlimqException(Failure.UNSUPPORTED, input + " is already quantized; run 'slimq dequantize' first to requantize it");
            }
            ModelLayout layout = ckpt.layout();
            TensorPolicy.Selection selection = o.policy().select(layout);
            if (selection.units().isEmpty()) {
                throw new SlimqException(Failure.UNSUPPORTED, input + ": no linear weights to quantize (use --include to name 2-D tensors)");
            }
            boolean outlierMethod = o.method() == Method.EASYQUANT || o.method() == Method.FINEQUANT;
            String outlierState = outlierState(o, format, outlierMethod);
            boolean keepOutliers = outlierState.equals("kept");
            Quantizer quantizer = quantizerFor(o.method(), keepOutliers, o.outlierSigma());
            List<String> notes = new ArrayList<>();
            if (outlierState.startsWith("dropped")) {
                notes.add("outliers " + outlierState + "; the range is optimized over all weights instead");
            }
            for (String g : selection.keptWholeGroups()) {
                notes.add("fused group " + g + " kept in float: --exclude matched only some of its members");
            }

            // Pass 1: schemes, refusals, outlier counts.
            List<TensorPolicy.Unit> units = selection.units();
            List<QuantScheme> bases = new ArrayList<>();
            for (TensorPolicy.Unit u : units) {
                bases.add(baseScheme(u, o, format, notes));
                checkScheme(u, bases.getLast(), keepOutliers, quantizer, format, o);
            }
            boolean needsData = keepOutliers || o.method() == Method.FINEQUANT;
            List<UnitPlan> plans = pool.map(units.size(), i -> {
                String noted = previous.get(planKey(units.get(i)));
                return noted != null ? decodePlan(units.get(i), noted)
                        : planUnit(ckpt, units.get(i), bases.get(i), o, quantizer, keepOutliers, needsData, format);
            });
            double planSeconds = (System.nanoTime() - t0) / 1e9;

            // The output: every input tensor in order, quantized weights replaced by the format's tensors.
            Map<String, UnitPlan> planOf = new HashMap<>();
            for (UnitPlan p : plans) {
                for (TensorInfo t : p.unit().members()) {
                    planOf.put(t.name(), p);
                }
            }
            List<TensorInfo> outTensors = new ArrayList<>();
            Map<String, Long> storedBytes = new HashMap<>();
            Set<String> names = new HashSet<>();
            for (TensorInfo t : ckpt.tensors()) {
                UnitPlan p = planOf.get(t.name());
                List<TensorInfo> replacement = p == null ? List.of(t)
                        : format.plan(t.name(), (int) t.rows(), (int) t.cols(), p.scheme(), p.outliers().getOrDefault(t.name(), 0), t.dtype());
                long bytes = 0;
                for (TensorInfo r : replacement) {
                    if (!names.add(r.name())) {
                        throw new SlimqException(Failure.UNSUPPORTED, input + ": output tensor '" + r.name() + "' would be written twice"
                                + " (the input already has a tensor of that name)");
                    }
                    bytes += r.byteCount();
                    outTensors.add(TensorInfo.planned(r.name(), r.dtype(), r.shape()));
                }
                if (p != null) {
                    storedBytes.put(t.name(), bytes);
                }
            }
            ObjectNode config = ckpt.configJson().map(c -> (ObjectNode) c).orElse(Json.MAPPER.createObjectNode());
            ObjectNode newConfig = format.updateConfig(config, summary(layout, plans));
            long outputBytes = outTensors.stream().mapToLong(TensorInfo::byteCount).sum();

            if (o.dryRun()) {
                QuantizationReport report = report(o, format, outlierState, notes, plans, storedBytes, Map.of());
                double total = (System.nanoTime() - t0) / 1e9;
                return new QuantizeResult(report, true, ckpt.dataBytes(), outputBytes, planSeconds, 0, total);
            }

            if (shard != null) {
                return runShard(input, output, o, progress, shard, ckpt, pool, outTensors, planOf, storedBytes, plans, notes,
                        outlierState, format, quantizer, newConfig, t0, planSeconds, fingerprint);
            }

            // Pass 2: quantize and write.
            long t1 = System.nanoTime();
            Map<String, QuantizationReport.TensorEntry> entries = new TreeMap<>();
            try (CheckpointWriter writer = CheckpointWriter.create(output, outTensors, ckpt.metadata(), o.maxShardBytes(), ckpt, fingerprint)) {
                notePlans(writer, plans);
                int resumed = writer.resumedTensorCount();
                List<TensorInfo> jobs = new ArrayList<>(ckpt.tensors());
                jobs.sort(Comparator.comparingLong((TensorInfo t) -> -t.byteCount()).thenComparing(TensorInfo::name));
                ProgressTask task = progress.task("quantize", ckpt.dataBytes(), "bytes");
                List<QuantizationReport.TensorEntry> done = pool.map(jobs.size(), i -> {
                    TensorInfo t = jobs.get(i);
                    QuantizationReport.TensorEntry e = writeOne(ckpt, input, t, planOf.get(t.name()), quantizer, format, writer,
                            storedBytes.get(t.name()), o.method());
                    task.advance(t.byteCount());
                    return e;
                });
                for (QuantizationReport.TensorEntry e : done) {
                    if (e != null) {
                        entries.put(e.name(), e);
                    }
                }
                QuantizationReport report = report(o, format, outlierState, notes, plans, storedBytes, entries);
                if (ckpt.isDirectory() && ckpt.configJson().isPresent()) {
                    writer.putFile(Checkpoint.CONFIG_FILE, Json.python(newConfig));
                }
                if (ckpt.isDirectory()) {
                    writer.putFile(REPORT_FILE, Json.report(report));
                }
                writer.commit();
                double quantizeSeconds = (System.nanoTime() - t1) / 1e9;
                return new QuantizeResult(report, false, ckpt.dataBytes(), outputBytes, planSeconds, quantizeSeconds,
                        (System.nanoTime() - t0) / 1e9, resumed);
            }
        }
    }

    /** Pass 2 of a {@code --shard K/N} run: part K's tensors only, plus part.json. */
    private static QuantizeResult runShard(Path input, Path output, QuantizeOptions o, ProgressListener progress, ShardRun.Spec shard,
                                           Checkpoint ckpt, WorkPool pool, List<TensorInfo> outTensors, Map<String, UnitPlan> planOf,
                                           Map<String, Long> storedBytes, List<UnitPlan> plans, List<String> notes,
                                           String outlierState, QuantFormat format, Quantizer quantizer, ObjectNode newConfig,
                                           long t0, double planSeconds, Fingerprint fingerprint) {
        if (shard.n() > ckpt.tensors().size()) {
            throw new SlimqException(Failure.USAGE, "--shard " + shard + ": the input has only " + ckpt.tensors().size()
                    + " tensors; use at most that many parts");
        }
        Map<String, Integer> partOfInput = ShardRun.assign(ckpt.tensors(), shard.n());
        // Which input tensor each output tensor comes from: replay the plan's replacement order.
        Map<String, Integer> outPart = new HashMap<>();
        int next = 0;
        for (TensorInfo t : ckpt.tensors()) {
            UnitPlan p = planOf.get(t.name());
            int count = p == null ? 1
                    : format.plan(t.name(), (int) t.rows(), (int) t.cols(), p.scheme(), p.outliers().getOrDefault(t.name(), 0), t.dtype()).size();
            for (int i = 0; i < count; i++) {
                outPart.put(outTensors.get(next++).name(), partOfInput.get(t.name()));
            }
        }
        List<TensorInfo> mine = outTensors.stream().filter(t -> outPart.get(t.name()) == shard.k()).toList();
        long t1 = System.nanoTime();
        Map<String, QuantizationReport.TensorEntry> entries = new TreeMap<>();
        try (CheckpointWriter writer = CheckpointWriter.create(output, mine, ckpt.metadata(), 0, null, fingerprint)) {
            notePlans(writer, plans);
            int resumed = writer.resumedTensorCount();
            List<TensorInfo> jobs = new ArrayList<>(ckpt.tensors().stream().filter(t -> partOfInput.get(t.name()) == shard.k()).toList());
            jobs.sort(Comparator.comparingLong((TensorInfo t) -> -t.byteCount()).thenComparing(TensorInfo::name));
            ProgressTask task = progress.task("quantize " + shard, jobs.stream().mapToLong(TensorInfo::byteCount).sum(), "bytes");
            List<QuantizationReport.TensorEntry> done = pool.map(jobs.size(), i -> {
                TensorInfo t = jobs.get(i);
                QuantizationReport.TensorEntry e = writeOne(ckpt, input, t, planOf.get(t.name()), quantizer, format, writer,
                        storedBytes.get(t.name()), o.method());
                task.advance(t.byteCount());
                return e;
            });
            for (QuantizationReport.TensorEntry e : done) {
                if (e != null) {
                    entries.put(e.name(), e);
                }
            }
            QuantizationReport skeleton = report(o, format, outlierState, notes, plans, storedBytes, Map.of());
            List<Map.Entry<String, Long>> quantized = new ArrayList<>();
            for (UnitPlan p : plans) {
                for (TensorInfo t : p.unit().members()) {
                    quantized.add(Map.entry(t.name(), t.elementCount()));
                }
            }
            String configText = ckpt.isDirectory() && ckpt.configJson().isPresent() ? Json.python(newConfig) : null;
            writer.putFile(ShardRun.PART_FILE, ShardRun.partJson(shard, ckpt, o, outTensors, outPart, configText, ckpt.isDirectory(),
                    skeleton, quantized, List.copyOf(entries.values())));
            writer.commit();
            QuantizationReport report = report(o, format, outlierState, notes, plans, storedBytes, entries);
            long partBytes = mine.stream().mapToLong(TensorInfo::byteCount).sum();
            return new QuantizeResult(report, false, jobs.stream().mapToLong(TensorInfo::byteCount).sum(), partBytes, planSeconds,
                    (System.nanoTime() - t1) / 1e9, (System.nanoTime() - t0) / 1e9, resumed);
        }
    }

    /**
     * One input tensor: copied through, or quantized with its plan, unless a resumed run already has
     * all of its output tensors (and, for a quantized weight, its noted report entry). A weight is
     * noted only after every one of its tensors is written, so a note never vouches for missing bytes.
     */
    private static QuantizationReport.TensorEntry writeOne(Checkpoint ckpt, Path input, TensorInfo t, UnitPlan p, Quantizer q,
                                                           QuantFormat format, CheckpointWriter writer, Long stored, Method method) {
        if (p == null) {
            if (!writer.isFinished(t.name())) {
                copy(ckpt, t, writer);
            }
            return null;
        }
        String key = ENTRY_NOTE + t.name();
        String noted = writer.previousNotes().get(key);
        if (noted != null && format.plan(t.name(), (int) t.rows(), (int) t.cols(), p.scheme(), p.outliers().getOrDefault(t.name(), 0),
                t.dtype()).stream().allMatch(r -> writer.isFinished(r.name()))) {
            return decodeEntry(noted);
        }
        QuantizationReport.TensorEntry e = quantizeOne(ckpt, input, t, p, q, format, writer, stored, method);
        writer.note(key, encodeEntry(e));
        return e;
    }

    private static final String PLAN_NOTE = "plan:";
    private static final String ENTRY_NOTE = "entry:";

    /** A unit's note key: its member names, so that two units can never share one. */
    private static String planKey(TensorPolicy.Unit u) {
        StringBuilder sb = new StringBuilder(PLAN_NOTE);
        for (TensorInfo t : u.members()) {
            sb.append(t.name()).append('\u0000');
        }
        return sb.toString();
    }

    private static void notePlans(CheckpointWriter writer, List<UnitPlan> plans) {
        for (UnitPlan p : plans) {
            String key = planKey(p.unit());
            if (!writer.previousNotes().containsKey(key)) {
                writer.note(key, encodePlan(p));
            }
        }
    }

    // Notes hold doubles as their exact bits, so a resumed report is the same bytes as an uninterrupted one.
    private static String bits(double d) {
        return Long.toHexString(Double.doubleToRawLongBits(d));
    }

    private static double unbits(com.fasterxml.jackson.databind.JsonNode n) {
        return Double.longBitsToDouble(Long.parseUnsignedLong(n.asText(), 16));
    }

    private static ObjectNode doubles(Map<String, Double> m) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        m.forEach((k, v) -> n.put(k, bits(v)));
        return n;
    }

    private static Map<String, Double> undoubles(com.fasterxml.jackson.databind.JsonNode n) {
        Map<String, Double> m = new TreeMap<>();
        n.properties().forEach(e -> m.put(e.getKey(), unbits(e.getValue())));
        return m;
    }

    private static String encodePlan(UnitPlan p) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        QuantScheme s = p.scheme();
        n.put("bits", s.bits()).put("group", s.groupSize()).put("symmetric", s.symmetric()).put("zero", s.zeroMode().name())
                .put("scale", s.scaleDtype().wireName());
        ObjectNode out = n.putObject("outliers");
        p.outliers().forEach(out::put);
        if (p.finequant() != null) {
            n.set("finequant", doubles(p.finequant()));
        }
        return n.toString();
    }

    private static UnitPlan decodePlan(TensorPolicy.Unit u, String text) {
        try {
            var n = Json.MAPPER.readTree(text);
            QuantScheme s = new QuantScheme(n.get("bits").asInt(), n.get("group").asInt(), n.get("symmetric").asBoolean(),
                    ZeroMode.valueOf(n.get("zero").asText()), DType.fromWireName(n.get("scale").asText()).orElseThrow());
            Map<String, Integer> outliers = new LinkedHashMap<>();
            n.get("outliers").properties().forEach(e -> outliers.put(e.getKey(), e.getValue().asInt()));
            return new UnitPlan(u, s, outliers, n.has("finequant") ? undoubles(n.get("finequant")) : null);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // Notes are checksummed line by line: a malformed one means a bug, not a torn write.
            throw new IllegalStateException("unreadable resume note for " + u.key(), e);
        }
    }

    private static String encodeEntry(QuantizationReport.TensorEntry e) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("name", e.name()).put("rows", e.rows()).put("cols", e.cols()).put("method", e.method()).put("bits", e.bits())
                .put("group", e.groupSize()).put("zero", e.zeroMode()).put("symmetric", e.symmetric())
                .put("outlier_fraction", bits(e.outlierFraction())).put("sqnr", bits(e.sqnrDb()))
                .put("rel_frobenius", bits(e.relFrobeniusError())).put("max_abs", bits(e.maxAbsError()))
                .put("output_rel", bits(e.outputRelError())).put("bpw", bits(e.bitsPerWeight())).put("stored", e.storedBytes());
        if (e.finequant() != null) {
            n.set("finequant", doubles(e.finequant()));
        }
        return n.toString();
    }

    private static QuantizationReport.TensorEntry decodeEntry(String text) {
        try {
            var n = Json.MAPPER.readTree(text);
            return new QuantizationReport.TensorEntry(n.get("name").asText(), n.get("rows").asInt(), n.get("cols").asInt(),
                    n.get("method").asText(), n.get("bits").asInt(), n.get("group").asInt(), n.get("zero").asText(),
                    n.get("symmetric").asBoolean(), unbits(n.get("outlier_fraction")), unbits(n.get("sqnr")),
                    unbits(n.get("rel_frobenius")), unbits(n.get("max_abs")), unbits(n.get("output_rel")), unbits(n.get("bpw")),
                    n.get("stored").asLong(), n.has("finequant") ? undoubles(n.get("finequant")) : null);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("unreadable resume note", e);
        }
    }

    private static String outlierState(QuantizeOptions o, QuantFormat format, boolean outlierMethod) {
        return switch (o.outliers()) {
            case OFF -> "off";
            case ON -> {
                if (!outlierMethod) {
                    throw new SlimqException(Failure.USAGE, "--outliers on needs --method easyquant or finequant, not " + o.method().cliName());
                }
                if (!format.storesOutliers()) {
                    throw new SlimqException(Failure.UNSUPPORTED, "--format " + format.name()
                            + " cannot store outlier residuals; use --format slimq, or --outliers auto to optimize the range without them");
                }
                yield "kept";
            }
            case AUTO -> !outlierMethod ? "off" : format.storesOutliers() ? "kept"
                    : "dropped: " + format.name() + " cannot store them";
        };
    }

    static Quantizer quantizerFor(Method m, boolean keepOutliers, double sigma) {
        return switch (m) {
            case RTN -> new Rtn();
            case SEARCH -> new Search();
            case EASYQUANT, FINEQUANT -> {
                EasyQuant d = new EasyQuant();
                yield new EasyQuant(sigma, d.maxOutlierFraction(), keepOutliers, d.maxIterations());
            }
            case HQQ -> new Hqq();
        };
    }

    /** The run's scheme for a unit, with the group size made to divide its rows (or refused with --strict). */
    private static QuantScheme baseScheme(TensorPolicy.Unit u, QuantizeOptions o, QuantFormat format, List<String> notes) {
        TensorInfo first = u.members().getFirst();
        long cols = first.cols();
        for (TensorInfo t : u.members()) {
            if (t.cols() != cols) {
                throw new IllegalStateException("fused group " + u.key() + " mixes input widths");
            }
        }
        if (cols > Integer.MAX_VALUE) {
            throw new SlimqException(Failure.UNSUPPORTED, first.name() + ": rows of " + cols + " weights are too long");
        }
        int bits = u.bits().orElse(o.bits());
        DType scaleDtype = o.scaleDtype().orElse(format.scaleDtype(first.dtype()));
        ZeroMode zm = o.symmetric() ? ZeroMode.INTEGER : format.zeroMode();
        int g = o.groupSize() == QuantizeOptions.PER_CHANNEL ? (int) cols : o.groupSize();
        if (cols % g != 0) {
            if (o.strict()) {
                throw new SlimqException(Failure.UNSUPPORTED, first.name() + ": group size " + g + " does not divide its "
                        + cols + " columns (--strict); choose a group size that does");
            }
            int fallback = (int) cols;
            for (int c = Integer.highestOneBit(g); c >= 8; c >>= 1) {
                if (c < g && cols % c == 0) {
                    fallback = c;
                    break;
                }
            }
            notes.add(u.key() + ": group size " + g + " does not divide " + cols + " columns; used "
                    + (fallback == cols ? "per-channel" : String.valueOf(fallback)));
            g = fallback;
        }
        return new QuantScheme(bits, g, o.symmetric(), zm, scaleDtype);
    }

    private static void checkScheme(TensorPolicy.Unit u, QuantScheme s, boolean outliers, Quantizer q, QuantFormat format, QuantizeOptions o) {
        for (TensorInfo t : u.members()) {
            int rows = Math.toIntExact(t.rows());
            int cols = Math.toIntExact(t.cols());
            if (!q.supports(s, cols)) {
                throw new SlimqException(Failure.UNSUPPORTED, t.name() + ": --method " + q.methodName() + " cannot use "
                        + (s.groupSize() == cols ? "per-channel scales" : "group size " + s.groupSize()) + "; use --group-size 128");
            }
            Optional<String> why = format.refusal(s, rows, cols, outliers);
            if (why.isPresent()) {
                throw new SlimqException(Failure.UNSUPPORTED, t.name() + ": " + why.get());
            }
            if (o.target().isPresent()) {
                Optional<String> t2 = o.target().get().refusal(format.name(), s, cols, outliers);
                if (t2.isPresent()) {
                    throw new SlimqException(Failure.UNSUPPORTED, t2.get());
                }
            }
        }
    }

    private static UnitPlan planUnit(Checkpoint ckpt, TensorPolicy.Unit u, QuantScheme base, QuantizeOptions o, Quantizer q,
                                     boolean keepOutliers, boolean needsData, QuantFormat format) {
        Map<String, Integer> outliers = new LinkedHashMap<>();
        if (!needsData) {
            return new UnitPlan(u, base, outliers, null);
        }
        List<float[]> data = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (TensorInfo t : u.members()) {
            data.add(readFloats(ckpt, t));
            shapes.add(new int[] {(int) t.rows(), (int) t.cols()});
        }
        QuantScheme scheme = base;
        Map<String, Double> fine = null;
        if (o.method() == Method.FINEQUANT) {
            FineQuant.Choice choice = FineQuant.choose(data, shapes, base, q, o.granularity());
            scheme = choice.scheme();
            fine = new TreeMap<>();
            int cols = shapes.getFirst()[1];
            for (Map.Entry<Integer, Double> e : choice.errorByGroupSize().entrySet()) {
                fine.put(e.getKey() == cols ? "channel" : String.valueOf(e.getKey()), e.getValue());
            }
            checkScheme(u, scheme, keepOutliers, q, format, o);
        }
        if (keepOutliers) {
            EasyQuant eq = (EasyQuant) q;
            for (int i = 0; i < data.size(); i++) {
                outliers.put(u.members().get(i).name(), eq.outlierCount(data.get(i), shapes.get(i)[0], shapes.get(i)[1]));
            }
        }
        return new UnitPlan(u, scheme, outliers, fine);
    }

    /** A whole tensor as row-major floats; the quantized tensors are at most 2^31 - 1 elements. */
    static float[] readFloats(Checkpoint ckpt, TensorInfo t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SlimqException(Failure.UNSUPPORTED, t.name() + ": " + n + " weights in one tensor is more than slimq quantizes at once");
        }
        float[] out = new float[(int) n];
        try (TensorView v = ckpt.map(t.name())) {
            v.readFloats(0, out, 0, (int) n);
        }
        return out;
    }

    private static QuantizationReport.TensorEntry copy(Checkpoint ckpt, TensorInfo t, CheckpointWriter writer) {
        try (TensorView v = ckpt.map(t.name()); SafetensorsWriter.TensorSink s = writer.open(t.name())) {
            s.write(v.segment());
        }
        return null;
    }

    private static QuantizationReport.TensorEntry quantizeOne(Checkpoint ckpt, Path input, TensorInfo t, UnitPlan p, Quantizer q,
                                                              QuantFormat format, CheckpointWriter writer, long stored, Method method) {
        float[] w = readFloats(ckpt, t);
        int rows = (int) t.rows();
        int cols = (int) t.cols();
        QuantizedTensor qt;
        try {
            qt = q.quantize(t.name(), w, rows, cols, p.scheme());
        } catch (SlimqException e) {
            throw new SlimqException(e.failure(), input + ": " + e.getMessage(), e);
        }
        Integer planned = p.outliers().get(t.name());
        if (planned != null && planned != qt.outliers().count()) {
            throw new IllegalStateException(t.name() + ": planned " + planned + " outliers, quantizer stored " + qt.outliers().count());
        }
        QualityMetrics m = QualityMetrics.of(w, qt, probeSeed(t.name()));
        format.write(qt, t.dtype(), writer::open);
        QuantScheme s = p.scheme();
        return new QuantizationReport.TensorEntry(t.name(), rows, cols, method.cliName(), s.bits(), s.groupSize(),
                s.zeroMode().name().toLowerCase(Locale.ROOT), s.symmetric(), m.outlierFraction(), m.sqnrDb(),
                m.relativeFrobeniusError(), m.maxAbsError(), m.relativeOutputError(), m.bitsPerWeight(), stored, p.finequant());
    }

    /** A seed that depends on the tensor's name only, so probes never change between runs or hosts. */
    static long probeSeed(String name) {
        CRC32 crc = new CRC32();
        crc.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return crc.getValue();
    }

    private static QuantizationSummary summary(ModelLayout layout, List<UnitPlan> plans) {
        List<QuantizationSummary.Entry> q = new ArrayList<>();
        Set<String> quantized = new HashSet<>();
        for (UnitPlan p : plans) {
            for (TensorInfo t : p.unit().members()) {
                q.add(new QuantizationSummary.Entry(t.name(), (int) t.rows(), (int) t.cols(), p.scheme()));
                quantized.add(t.name());
            }
        }
        List<String> unquantized = new ArrayList<>();
        for (TensorInfo t : layout.tensors()) {
            TensorRole r = layout.role(t.name());
            if ((r.isLinear() || r.kind() == TensorRole.Kind.LM_HEAD) && !quantized.contains(t.name())) {
                unquantized.add(t.name());
            }
        }
        return new QuantizationSummary(q, unquantized);
    }

    private static QuantizationReport report(QuantizeOptions o, QuantFormat format, String outlierState, List<String> notes,
                                             List<UnitPlan> plans, Map<String, Long> storedBytes,
                                             Map<String, QuantizationReport.TensorEntry> entries) {
        long weights = 0;
        double bits = 0;
        double sqnr = 0;
        long stored = 0;
        int count = 0;
        for (UnitPlan p : plans) {
            for (TensorInfo t : p.unit().members()) {
                weights += t.elementCount();
                stored += storedBytes.get(t.name());
                count++;
                QuantizationReport.TensorEntry e = entries.get(t.name());
                if (e != null) {
                    bits += e.bitsPerWeight() * t.elementCount();
                    sqnr += e.sqnrDb();
                }
            }
        }
        boolean measured = !entries.isEmpty();
        QuantScheme first = plans.getFirst().scheme();
        String group = o.groupSize() == QuantizeOptions.PER_CHANNEL ? "channel" : String.valueOf(o.groupSize());
        return new QuantizationReport(o.method().cliName(), format.name(), o.bits(), group, o.symmetric(),
                first.zeroMode().name().toLowerCase(Locale.ROOT), first.scaleDtype().wireName(), outlierState, weights, count,
                measured ? bits / weights : Double.NaN, stored, measured ? sqnr / count : Double.NaN, List.copyOf(notes),
                List.copyOf(entries.values()));
    }
}
