package dev.slimq.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.core.tensor.DType;
import dev.slimq.quantize.Method;
import dev.slimq.quantize.OutlierMode;
import dev.slimq.quantize.QuantizationReport;
import dev.slimq.quantize.QuantizeOptions;
import dev.slimq.quantize.QuantizeResult;
import dev.slimq.quantize.QuantizeService;
import dev.slimq.quantize.ShardRun;
import dev.slimq.quantize.Target;
import dev.slimq.quantize.TensorPolicy;
import dev.slimq.quantize.method.Granularity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code slimq quantize}: weight-only quantization of a checkpoint into an engine-loadable format. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Quantize the linear weights of a checkpoint (no calibration data) into compressed-tensors, gptq, slimq or dequantized form.",
        description = {"Writes OUT atomically with config.json updated and quantization-report.json added.",
            "Defaults: --method easyquant --bits 4 --group-size 128, asymmetric, --format compressed-tensors."})
final class QuantizeCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Checkpoint directory or .safetensors file.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output directory (or .safetensors file).")
    Path out;

    @Option(names = "--method", paramLabel = "M", defaultValue = "easyquant",
            description = "rtn, search, easyquant, finequant or hqq (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--bits", paramLabel = "B", defaultValue = "4", description = "2, 3, 4 or 8 (default: ${DEFAULT-VALUE}).")
    int bits;

    @Option(names = "--group-size", paramLabel = "G", defaultValue = "128",
            description = "Weights per scale along the input dimension; 'channel' or -1 for one group per row (default: ${DEFAULT-VALUE}).")
    String groupSize;

    @Option(names = "--symmetric", description = "Symmetric codes (fixed zero 2^(bits-1)); default asymmetric.")
    boolean symmetric;

    @Option(names = "--format", paramLabel = "F", defaultValue = "compressed-tensors",
            description = "compressed-tensors, gptq, slimq or dequantized (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--target", paramLabel = "ENGINE", description = "Refuse early unless the result loads in vllm, transformers or llama.cpp.")
    String target;

    @Option(names = "--outliers", paramLabel = "MODE", defaultValue = "auto",
            description = "easyquant/finequant: auto (keep when the format can store them), on, off (default: ${DEFAULT-VALUE}).")
    String outliers;

    @Option(names = "--outlier-sigma", paramLabel = "N", defaultValue = "3", description = "Outlier threshold |w - mean| > N sigma (default: ${DEFAULT-VALUE}).")
    double outlierSigma;

    @Option(names = "--granularity", paramLabel = "RULE",
            description = "finequant's group-size rule: 'bits' (default) picks per fused group the group size (per-channel, 256, 128, 64, 32) "
                    + "with the smallest log2(relative error) + bits per weight, counting scale and zero bits, so a finer group must cut the "
                    + "error by more than 2^(extra bits) to be chosen; 'tolerance' is the first rule: the largest group within (1+T) of the "
                    + "finest group's error, blind to its cost.")
    String granularity;

    @Option(names = "--granularity-tolerance", paramLabel = "T",
            description = "finequant: T for --granularity tolerance (default 0.10); giving it alone selects that rule.")
    Double tolerance;

    @Option(names = "--scale-dtype", paramLabel = "D", description = "F16, BF16 or F32 (default: what the format prefers).")
    String scaleDtype;

    @Option(names = "--include", paramLabel = "PATTERN", description = "Also quantize these 2-D tensors (glob, or re:REGEX). Repeatable.")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", paramLabel = "PATTERN", description = "Keep these tensors in float (glob, or re:REGEX). Repeatable.")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--lm-head", paramLabel = "BITS", description = "Quantize lm_head too, with BITS bits.")
    Integer lmHead;

    @Option(names = "--embeddings", paramLabel = "BITS", description = "Quantize the token embeddings too, with BITS bits.")
    Integer embeddings;

    @Option(names = "--strict", description = "Exit 4 instead of falling back to a smaller group when the group size does not divide a row.")
    boolean strict;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", description = "Split the output into shards of at most SIZE (e.g. 5GB).")
    String maxShardSize;

    @Option(names = "--shard", paramLabel = "K/N",
            description = "Scale-out: quantize only part K (1-based) of N deterministic, byte-balanced parts into OUT as a part directory; "
                    + "assemble the N parts with 'slimq merge'.")
    String shard;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Option(names = "--dry-run", description = "Plan and print sizes; write nothing.")
    boolean dryRun;

    @Override
    public Integer call() {
        Optional<DType> sd = scaleDtype == null ? Optional.empty() : Optional.of(DType.fromWireName(scaleDtype.toUpperCase(Locale.ROOT))
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown --scale-dtype '" + scaleDtype + "'; use F16, BF16 or F32")));
        QuantizeOptions o = new QuantizeOptions(Method.fromName(method), bits, parseGroup(groupSize), symmetric, format,
                target == null ? Optional.empty() : Optional.of(Target.fromName(target)), OutlierMode.fromName(outliers), outlierSigma,
                granularity(), sd, new TensorPolicy(include, exclude, opt(lmHead), opt(embeddings)), strict,
                maxShardSize == null ? 0 : SynthCommand.parseSize(maxShardSize), run.threadCount(), force, dryRun);
        PrintWriter err = spec.commandLine().getErr();
        ShardRun.Spec part = shard == null ? null : ShardRun.Spec.parse(shard);
        Fingerprint fp = dryRun ? null : incremental.fingerprint(spec, List.of(in));
        if (IncrementalOptions.upToDate(out, fp, Fingerprint.OUTPUT, force, run.json, spec.commandLine().getOut(), err)) {
            return ExitCode.OK.code();
        }
        var progress = ProgressRenderer.of(err, parent.progressMode(), run.quiet);
        QuantizeResult r = QuantizeService.run(in, out, o, progress, part, fp);
        if (progress instanceof ProgressRenderer pr) {
            pr.finish();
        }
        if (r.resumedTensors() > 0 && !run.quiet) {
            err.println("resumed: kept " + r.resumedTensors() + " finished tensors of the interrupted run");
            err.flush();
        }
        PrintWriter o2 = spec.commandLine().getOut();
        if (run.json) {
            ObjectNode j = Json.reportTree(r.report());
            j.put("dry_run", r.dryRun());
            if (shard != null) {
                j.put("shard", ShardRun.Spec.parse(shard).toString());
            }
            j.put("resumed_tensors", r.resumedTensors());
            j.put("input_bytes", r.inputBytes());
            j.put("output_bytes", r.outputBytes());
            ObjectNode t = j.putObject("timings");
            t.put("plan_seconds", r.planSeconds());
            t.put("quantize_seconds", r.quantizeSeconds());
            t.put("total_seconds", r.totalSeconds());
            JsonOutput.print(o2, j);
        } else {
            printSummary(o2, r);
        }
        return ExitCode.OK.code();
    }

    /** The finequant rule: bits-aware unless the tolerance rule is named, or implied by giving its T. */
    private Granularity granularity() {
        String rule = granularity == null ? (tolerance == null ? "bits" : "tolerance") : granularity.strip().toLowerCase(Locale.ROOT);
        return switch (rule) {
            case "bits" -> {
                if (tolerance != null) {
                    throw new SlimqException(Failure.USAGE, "--granularity-tolerance applies to --granularity tolerance only, not bits");
                }
                yield Granularity.DEFAULT;
            }
            case "tolerance" -> {
                double t = tolerance == null ? 0.10 : tolerance;
                if (!(t >= 0)) {
                    throw new SlimqException(Failure.USAGE, "--granularity-tolerance must not be negative, not " + t);
                }
                yield new Granularity.Tolerance(t);
            }
            default -> throw new SlimqException(Failure.USAGE, "--granularity must be 'bits' or 'tolerance', not '" + granularity + "'");
        };
    }

    private static OptionalInt opt(Integer v) {
        return v == null ? OptionalInt.empty() : OptionalInt.of(v);
    }

    static int parseGroup(String g) {
        String s = g.strip().toLowerCase(Locale.ROOT);
        if (s.equals("channel") || s.equals("-1") || s.equals("per-channel")) {
            return QuantizeOptions.PER_CHANNEL;
        }
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new SlimqException(Failure.USAGE, "--group-size must be a number or 'channel', not '" + g + "'");
        }
    }

    private void printSummary(PrintWriter o, QuantizeResult r) {
        QuantizationReport rep = r.report();
        o.printf(Locale.ROOT, "%s %s -> %s%n", r.dryRun() ? "planned" : "quantized", in, r.dryRun() ? "(dry run)"
                : shard == null ? out : out + " (part " + ShardRun.Spec.parse(shard) + "; figures below cover this part's tensors only)");
        o.printf(Locale.ROOT, "  %s, %d-bit, group %s, %s, %s zeros, %s scales, outliers %s, format %s%n", rep.method(), rep.bits(),
                rep.groupSize(), rep.symmetric() ? "symmetric" : "asymmetric", rep.zeroMode(), rep.scaleDtype(), rep.outliers(), rep.format());
        o.printf(Locale.ROOT, "  %d tensors, %s weights quantized; weight files %s -> %s%n", rep.tensorCount(),
                Units.count(rep.quantizedWeights()), Units.bytes(r.inputBytes()), Units.bytes(r.outputBytes()));
        if (!r.dryRun()) {
            o.printf(Locale.ROOT, "  %.3f bits per weight (native), mean SQNR %.2f dB, %s stored for quantized tensors%n",
                    rep.bitsPerWeight(), rep.meanSqnrDb(), Units.bytes(rep.storedBytes()));
        }
        for (String n : rep.notes()) {
            o.println("  note: " + n);
        }
        if (!rep.tensors().isEmpty()) {
            List<QuantizationReport.TensorEntry> worst = new ArrayList<>(rep.tensors());
            worst.sort(Comparator.comparingDouble(QuantizationReport.TensorEntry::sqnrDb));
            int w = Math.max(6, worst.stream().limit(10).mapToInt(e -> e.name().length()).max().orElse(6));
            o.printf(Locale.ROOT, "  worst tensors:%n  %-" + w + "s %8s %9s %9s %8s %6s%n", "tensor", "SQNR dB", "rel err", "out err", "outl %", "group");
            for (QuantizationReport.TensorEntry e : worst.subList(0, Math.min(10, worst.size()))) {
                o.printf(Locale.ROOT, "  %-" + w + "s %8.2f %9.5f %9.5f %8.3f %6d%n", e.name(), e.sqnrDb(), e.relFrobeniusError(),
                        e.outputRelError(), e.outlierFraction() * 100, e.groupSize());
            }
        }
        o.printf(Locale.ROOT, "  time: plan %.2f s, quantize+write %.2f s, total %.2f s%n", r.planSeconds(), r.quantizeSeconds(), r.totalSeconds());
        o.flush();
    }
}
