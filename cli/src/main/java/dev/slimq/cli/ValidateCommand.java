package dev.slimq.cli;

import dev.slimq.convert.hf.GgufValidateSource;
import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ActivationType;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.DeviceRequest;
import dev.slimq.kernels.Backends;
import dev.slimq.quantize.ValidateService;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code slimq validate}: every quantized layer through the fused kernels, against float64 and the original. */
@Command(name = "validate", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Run every quantized layer through the fused dequant-GEMM kernels and compare with float64 and the original.",
        description = {"Exit 7 when a kernel disagrees with the float64 reference or a layer's output error exceeds --max-error."})
final class ValidateCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Parameters(index = "0", paramLabel = "QUANTIZED", description = "Quantized checkpoint (compressed-tensors, gptq or slimq) or a .gguf file (Q4_0, Q4_1, Q8_0 weights).")
    Path quantized;

    @Option(names = "--reference", paramLabel = "ORIGINAL", description = "The float checkpoint it was made from: adds each layer's output error (GGUF names map back to Hugging Face ones).")
    Path reference;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "auto, cpu, opencl or opencl:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "4", description = "Probe rows per probe set (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the probe activations (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--activations", paramLabel = "T", defaultValue = "f32", description = "f32 or f16 activations (default: ${DEFAULT-VALUE}).")
    String activations;

    @Option(names = "--max-error", paramLabel = "E", description = "Fail when a layer's relative output error against --reference exceeds E.")
    Double maxError;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the JSON report to FILE.")
    Path report;

    @Override
    public Integer call() {
        ActivationType act = switch (activations.toLowerCase(Locale.ROOT)) {
            case "f32" -> ActivationType.F32;
            case "f16" -> ActivationType.F16;
            default -> throw new SlimqException(Failure.USAGE, "--activations must be f32 or f16, not '" + activations + "'");
        };
        ValidateService.Options o = new ValidateService.Options(Optional.ofNullable(reference), batch, seed,
                maxError == null ? OptionalDouble.empty() : OptionalDouble.of(maxError), act);
        PrintWriter err = spec.commandLine().getErr();
        ValidateService.Result r;
        // A GGUF file is read and checked (block types, shapes) before the device starts: refusals come early.
        try (GgufValidateSource gguf = isGguf(quantized) ? GgufValidateSource.open(quantized) : null;
             ComputeBackend backend = Backends.open(DeviceRequest.parse(device), run.threadCount(), true, line -> {
            if (!run.quiet) {
                err.println("slimq: " + line);
                err.flush();
            }
        })) {
            var progress = ProgressRenderer.of(err, parent.progressMode(), run.quiet);
            r = gguf != null ? ValidateService.run(quantized.toString(), gguf, o, backend, progress)
                    : ValidateService.run(quantized, o, backend, progress);
            if (progress instanceof ProgressRenderer pr) {
                pr.finish();
            }
        }
        if (report != null) {
            try {
                Files.writeString(report, JsonOutput.document(r));
            } catch (IOException e) {
                throw IoFailures.wrap("write", report, e);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(out, r);
        } else {
            int w = Math.max(5, r.layers().stream().mapToInt(l -> l.name().length()).max().orElse(5));
            out.printf(Locale.ROOT, "%s (%s) on %s, %s activations, kernel tolerance %.0e%n", r.path(), r.format(), r.backend(),
                    r.activations().toLowerCase(Locale.ROOT), r.kernelTolerance());
            out.printf(Locale.ROOT, "%-" + w + "s %12s %12s %12s %12s  %s%n", "layer", "kernel err", "kernel hvy", "output err", "output hvy", "");
            for (ValidateService.Layer l : r.layers()) {
                out.printf(Locale.ROOT, "%-" + w + "s %12.3e %12.3e %12s %12s  %s%n", l.name(), l.kernelRelError(), l.kernelRelErrorHeavy(),
                        fmt(l.outputRelError()), fmt(l.outputRelErrorHeavy()),
                        (l.kernelOk() ? "" : "KERNEL MISMATCH ") + (l.withinMaxError() ? "" : "OVER --max-error ") + (l.kernel().equals("fused") ? "" : l.kernel()));
            }
            out.printf(Locale.ROOT, "%d layers: %s%n", r.layers().size(), r.passed() ? "all kernels agree with float64"
                    + (maxError == null ? "" : " and every output error is within " + maxError)
                    : r.kernelFailures() + " kernel mismatches, " + r.errorFailures() + " layers over --max-error");
            out.flush();
        }
        return r.passed() ? ExitCode.OK.code() : ExitCode.QUALITY.code();
    }

    /** A {@code .gguf} file goes to the GGUF reader (convert module); directories and safetensors to the checkpoint formats. */
    static boolean isGguf(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".gguf") && !Files.isDirectory(p);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3e", v);
    }
}
