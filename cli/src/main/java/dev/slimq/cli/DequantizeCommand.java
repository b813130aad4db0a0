package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.tensor.DType;
import dev.slimq.quantize.DequantizeService;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code slimq dequantize}: a quantized checkpoint (any format slimq reads) back to floats. */
@Command(name = "dequantize", mixinStandardHelpOptions = true,
        header = "Expand a quantized checkpoint (compressed-tensors, gptq, slimq; from slimq or other tools) back to floats.")
final class DequantizeCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Quantized checkpoint directory or file.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output directory (or .safetensors file).")
    Path out;

    @Option(names = "--dtype", paramLabel = "D", description = "F32, F16 or BF16 (default: config.json's torch_dtype, else F32).")
    String dtype;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", description = "Split the output into shards of at most SIZE.")
    String maxShardSize;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Override
    public Integer call() {
        Optional<DType> d = dtype == null ? Optional.empty() : Optional.of(DType.fromWireName(dtype.toUpperCase(Locale.ROOT))
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown --dtype '" + dtype + "'; use F32, F16 or BF16")));
        PrintWriter err = spec.commandLine().getErr();
        var fp = incremental.fingerprint(spec, List.of(in));
        if (IncrementalOptions.upToDate(out, fp, Fingerprint.OUTPUT, force, run.json, spec.commandLine().getOut(), err)) {
            return ExitCode.OK.code();
        }
        var progress = ProgressRenderer.of(err, parent.progressMode(), run.quiet);
        DequantizeService.Result r = DequantizeService.run(in, out, d, force,
                maxShardSize == null ? 0 : SynthCommand.parseSize(maxShardSize), run.threadCount(), progress, fp);
        if (progress instanceof ProgressRenderer pr) {
            pr.finish();
        }
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            o.printf(Locale.ROOT, "dequantized %s (%s) -> %s: %d weights as %s, %s of tensor data%n", in, r.format(), out, r.weights(),
                    r.dtype(), Units.bytes(r.outputBytes()));
            o.flush();
        }
        return ExitCode.OK.code();
    }
}
