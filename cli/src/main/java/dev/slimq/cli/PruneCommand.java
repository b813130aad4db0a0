package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.prune.structure.Importance;
import dev.slimq.prune.structure.LayerDrop;
import dev.slimq.prune.structure.PruneLayout;
import dev.slimq.prune.structure.PruneOptions;
import dev.slimq.prune.structure.PruneReport;
import dev.slimq.prune.structure.PruneService;
import dev.slimq.prune.structure.UnitSelection;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code slimq prune}: structural pruning (Adapt-Pruner layer-adaptive widths), data-free by default ({@code gauss} unit scores). */
@Command(name = "prune", mixinStandardHelpOptions = true,
        header = "Remove whole MLP neurons, attention KV groups and layers (Adapt-Pruner allocation).")
final class PruneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Checkpoint directory (llama family or bert family, unquantized).")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output directory (a .safetensors file only with --layout mask).")
    Path out;

    @Option(names = "--ratio", paramLabel = "R", description = "Fraction of the selected units' parameters to remove, in (0, 1)"
            + " (in the layers that remain after --drop-layers; required unless --drop-layers is given).")
    Double ratio;

    @Option(names = "--drop-layers", paramLabel = "SPEC", description = "Remove whole layers: indices like 3,7, or auto:N for the N least"
            + " important (1 - cos_in_out with --stats, else the weight proxy); the rest are renumbered.")
    String dropLayers;

    @Option(names = "--units", paramLabel = "U", defaultValue = "all", description = "mlp, attention or all (default: ${DEFAULT-VALUE}).")
    String units;

    @Option(names = "--layout", paramLabel = "L", defaultValue = "uniform",
            description = "uniform (same widths in every layer, stock config), lists (per-layer width lists), deci (DeciLM/Nemotron-NAS"
                    + " block_configs, MLP only, widths on a 256 grid) or mask (pruned units zeroed, shapes kept) (default: ${DEFAULT-VALUE}).")
    String layout;

    @Option(names = "--importance", paramLabel = "I",
            description = "Unit score: gauss (expected output energy, the unit's input modelled from the feeding norm's weights),"
                    + " l1 or l2 weight magnitude, or with --stats flap (input variance x squared column norm) or wanda"
                    + " (mean |x| x column norm) (default: gauss, with --stats flap).")
    String importance;

    @Option(names = "--stats", paramLabel = "FILE",
            description = "Activation statistics from slimq calibrate: layer importance from 1 - cos(in, out), activation-aware unit"
                    + " scores, and bias compensation.")
    Path stats;

    @Option(names = "--no-bias-compensation", description = "With --stats: do not fold the removed units' mean contribution into the output bias.")
    boolean noBiasCompensation;

    @Option(names = "--ignore-fingerprint", description = "With --stats: accept statistics whose model_fingerprint is another model's.")
    boolean ignoreFingerprint;

    @Option(names = "--amplitude", paramLabel = "A", defaultValue = "0.02",
            description = "Adapt-Pruner amplitude: per-layer sparsity = base - A * layer importance (default: ${DEFAULT-VALUE}).")
    double amplitude;

    @Option(names = "--multiple-of", paramLabel = "N", defaultValue = "auto",
            description = "Keep MLP widths at multiples of N; auto: 64 when the intermediate size is at least 4096, else 8 (default: ${DEFAULT-VALUE}).")
    String multipleOf;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "1",
            description = "Apply the allocation in N increments, re-scoring layer importance over the remaining units after each"
                    + " (Adapt-Pruner's schedule; the training it interleaves is yours) (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    private int multiple() {
        if (multipleOf.strip().equalsIgnoreCase("auto")) {
            return PruneOptions.AUTO_MULTIPLE;
        }
        try {
            int m = Integer.parseInt(multipleOf.strip());
            if (m >= 1) {
                return m;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SlimqException(Failure.USAGE, "--multiple-of must be a positive integer or auto, got '" + multipleOf + "'");
    }

    @Override
    public Integer call() {
        LayerDrop drop = LayerDrop.parse(dropLayers);
        if (ratio == null && !drop.any()) {
            throw new SlimqException(Failure.USAGE, "prune needs --ratio R, --drop-layers SPEC, or both");
        }
        if (ratio != null && Double.isNaN(ratio)) {
            throw new SlimqException(Failure.USAGE, "--ratio must be a number");
        }
        var inputs = stats == null ? java.util.List.of(in) : java.util.List.of(in, stats);
        IncrementalOptions.Started started = incremental.start(spec, inputs, out, force, run.json);
        if (started.upToDate()) {
            return ExitCode.OK.code();
        }
        PruneOptions o = new PruneOptions(ratio == null ? 0 : ratio, UnitSelection.fromName(units), PruneLayout.fromName(layout),
                importance != null ? Importance.fromName(importance) : stats != null ? Importance.FLAP : Importance.GAUSS,
                amplitude, multiple(), started.replace(), run.threadCount(), stats, !noBiasCompensation, ignoreFingerprint, drop, steps);
        PruneService.Result result = PruneService.run(in, out, o);
        started.record();
        PruneReport r = result.report();
        PrintWriter w = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(w, r);
            return ExitCode.OK.code();
        }
        w.printf(Locale.ROOT, "pruned %s -> %s (%s layout, %s units, %s importance)%n", in, out, r.layout(), r.units(), r.importance());
        w.printf(Locale.ROOT, "layer importance: %s%n", r.layerImportance());
        if (!r.compensatedBiases().isEmpty()) {
            w.printf(Locale.ROOT, "bias compensation: %s%n", String.join(", ", r.compensatedBiases()));
        }
        if (!r.droppedLayers().isEmpty()) {
            w.printf(Locale.ROOT, "dropped layers %s: %d parameters%n", r.droppedLayers(), r.depthRemovedParameters());
        }
        w.printf(Locale.ROOT, "removed %d of %d selected parameters: %.4f (asked %.4f); model %d -> %d parameters (%.4f removed)%n",
                r.removedParameters(), r.selectedParameters(), r.achievedRatio(), r.ratio(), r.parametersBefore(), r.parametersAfter(), r.modelRatio());
        for (PruneReport.Layer l : r.layers()) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  layer %3d  importance %+.3f  sparsity %.3f", l.layer(), l.importance(), l.sparsity()));
            if (l.dropped()) {
                w.println(sb.append("  dropped"));
                continue;
            }
            if (l.mlpNeurons() != null) {
                sb.append(String.format(Locale.ROOT, "  mlp %d/%d", l.mlpNeuronsKept(), l.mlpNeurons()));
            }
            if (l.attentionUnits() != null) {
                sb.append(String.format(Locale.ROOT, "  attention groups %d/%d (query heads %d)", l.attentionUnitsKept(), l.attentionUnits(), l.queryHeadsKept()));
            }
            if (l.mlpError() != null || l.attentionError() != null) {
                sb.append("  block error");
                if (l.mlpError() != null) {
                    sb.append(String.format(Locale.ROOT, " mlp %.4f", l.mlpError()));
                }
                if (l.attentionError() != null) {
                    sb.append(String.format(Locale.ROOT, " attention-out %.4f", l.attentionError()));
                }
            }
            w.println(sb);
        }
        StringBuilder t = new StringBuilder("time:");
        result.seconds().forEach((phase, sec) -> t.append(String.format(Locale.ROOT, " %s %.2f s", phase.replace('_', ' '), sec)));
        w.println(t);
        w.flush();
        return ExitCode.OK.code();
    }
}
