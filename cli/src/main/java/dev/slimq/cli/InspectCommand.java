package dev.slimq.cli;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.inspect.InspectReport;
import dev.slimq.core.inspect.Inspector;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.stats.TensorStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code slimq inspect}: what a checkpoint holds, optionally per tensor and with value statistics. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        header = "Show what a checkpoint holds: architecture, parameters, dtypes, layers, tensors, statistics.",
        description = "PATH is a .safetensors file or a checkpoint directory (single file or shards with an index).")
final class InspectCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Parameters(index = "0", paramLabel = "PATH", description = "Checkpoint directory or .safetensors file.")
    Path path;

    @Option(names = "--tensors", description = "List every tensor (name, dtype, shape, role, layer).")
    boolean tensors;

    @Option(names = "--stats", description = "Per-tensor min/max/mean/std/absmax, fraction beyond 3 sigma, NaN and Inf counts (reads all data).")
    boolean stats;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ProgressRenderer.Mode mode = parent.progressMode();
        InspectReport report;
        try (Checkpoint ckpt = Checkpoint.open(path); WorkPool pool = new WorkPool(run.threadCount())) {
            var progress = ProgressRenderer.of(err, mode, run.quiet);
            report = Inspector.inspect(ckpt, new Inspector.Options(tensors, stats), pool, progress);
            if (progress instanceof ProgressRenderer r) {
                r.finish();
            }
        }
        if (run.json) {
            JsonOutput.print(out, report);
        } else {
            printText(out, report);
        }
        return ExitCode.OK.code();
    }

    private void printText(PrintWriter out, InspectReport r) {
        out.println(r.path());
        out.printf(Locale.ROOT, "  architecture  %s%s%n", r.architecture(), r.modelType() == null ? "" : " (model_type " + r.modelType() + ")");
        out.printf(Locale.ROOT, "  parameters    %,d (%s)%n", r.parameters(), Units.count(r.parameters()));
        out.printf(Locale.ROOT, "  tensors       %d in %d file%s, %s of data (%s on disk)%n", r.tensorCount(), r.shards(),
                r.shards() == 1 ? "" : "s", Units.bytes(r.tensorBytes()), Units.bytes(r.fileBytes()));
        out.printf(Locale.ROOT, "  layers        %d%n", r.layers());
        Map<String, Object> m = r.model();
        if (m.containsKey("hidden_size")) {
            out.printf(Locale.ROOT, "  shape         hidden %s, heads %s (kv %s, head_dim %s), intermediate %s, vocab %s%s%n",
                    m.get("hidden_size"), m.get("num_attention_heads"), m.get("num_key_value_heads"), m.get("head_dim"),
                    m.get("intermediate_size"), m.get("vocab_size"), Boolean.TRUE.equals(m.get("tied_embeddings")) ? ", tied embeddings" : "");
        }
        out.println("  dtypes");
        r.dtypes().forEach((k, v) -> out.printf(Locale.ROOT, "    %-12s %5d tensors %12s params %12s%n", k, v.tensors(), Units.count(v.parameters()), Units.bytes(v.bytes())));
        out.println("  roles");
        r.roles().forEach((k, v) -> out.printf(Locale.ROOT, "    %-20s %5d tensors %12s params%n", k, v.tensors(), Units.count(v.parameters())));
        if (r.tensors() != null) {
            out.println();
            int w = Math.max(4, r.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4));
            if (stats) {
                out.printf(Locale.ROOT, "%-" + w + "s  %-6s %-16s %11s %11s %11s %11s %11s %8s %6s %6s%n",
                        "name", "dtype", "shape", "min", "max", "mean", "std", "absmax", ">3sigma", "nan", "inf");
            } else {
                out.printf(Locale.ROOT, "%-" + w + "s  %-6s %-16s %12s  %-12s %-16s %5s%n", "name", "dtype", "shape", "params", "role", "linear", "layer");
            }
            for (InspectReport.TensorRow t : r.tensors()) {
                String shape = Arrays.toString(t.shape()).replace(" ", "");
                if (stats) {
                    TensorStats s = t.stats();
                    if (s == null) {
                        out.printf(Locale.ROOT, "%-" + w + "s  %-6s %-16s %s%n", t.name(), t.dtype(), shape, "(no statistics for this dtype)");
                    } else {
                        out.printf(Locale.ROOT, "%-" + w + "s  %-6s %-16s %11.4g %11.4g %11.4g %11.4g %11.4g %7.3f%% %6d %6d%n",
                                t.name(), t.dtype(), shape, s.min(), s.max(), s.mean(), s.std(), s.absmax(), s.beyond3Sigma() * 100,
                                s.nanCount(), s.infCount());
                    }
                } else {
                    out.printf(Locale.ROOT, "%-" + w + "s  %-6s %-16s %12d  %-12s %-16s %5s%n", t.name(), t.dtype(), shape, t.parameters(),
                            t.role(), t.linearRole() == null ? "-" : t.linearRole(), t.layer() == null ? "-" : t.layer());
                }
            }
        }
        out.flush();
    }
}
