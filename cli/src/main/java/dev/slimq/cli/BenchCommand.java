package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.compute.ComputeBackend;
import dev.slimq.core.compute.DeviceRequest;
import dev.slimq.kernels.Backends;
import dev.slimq.kernels.bench.BenchSettings;
import dev.slimq.kernels.bench.KernelBench;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code slimq bench}: the fused dequant kernels against f16 and f32 float kernels on working sets
 * larger than any cache, next to the device's read bandwidth measured in the same run. Maps options
 * to {@link BenchSettings} and runs {@link KernelBench}; timings go to stdout, progress to stderr.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        header = "Benchmark the fused dequant GEMV/GEMM kernels against f16/f32 float kernels and the device's read bandwidth.",
        description = {"Shapes are OUTxIN as in the weight tensor (K = IN, the dot-product length).",
            "Each kernel rotates over weight copies totalling at least --working-set and 4x the device's last-level cache, so weights stream from DRAM/HBM.",
            "Per shape and batch: ms per product, GB/s of weight bytes, fraction of the read bandwidth measured between the same passes, speedup over the f16 kernel."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto",
            description = "auto, cpu, opencl or opencl:N (see `slimq devices`; default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--shapes", paramLabel = "OUTxIN", split = ",",
            description = "Matrix shapes, OUTxIN (default: 4096x4096,4096x11008,11008x4096,8192x8192,896x4864,384x1536).")
    List<String> shapes;

    @Option(names = "--batches", paramLabel = "N", split = ",", description = "Batch sizes, 1..256 (default: 1,8,64).")
    List<Integer> batches;

    @Option(names = "--bits", paramLabel = "B", defaultValue = "4", description = "Code width: 2, 3, 4 or 8 (default: ${DEFAULT-VALUE}).")
    int bits;

    @Option(names = "--group-size", paramLabel = "G", defaultValue = "128",
            description = "Group size along IN; -1 for one group per row (default: ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--zeros", paramLabel = "MODE", defaultValue = "none",
            description = "none (symmetric), int or float zero points (default: ${DEFAULT-VALUE}).")
    String zeros;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "5",
            description = "Timed passes over the weight copies; the median is reported (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--working-set", paramLabel = "SIZE", defaultValue = "1GiB",
            description = "Least bytes of weight copies each kernel rotates over; also at least 4x the device's last-level cache (default: ${DEFAULT-VALUE}).")
    String workingSet;

    @Option(names = "--f32", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also time the f32 float kernel (default: on; --no-f32 skips it).")
    boolean f32;

    @Option(names = "--json-file", paramLabel = "PATH",
            description = "Also write the entries as JSON to PATH (replaced atomically), whatever goes to stdout.")
    Path jsonFile;

    @Override
    public Integer call() {
        BenchSettings settings;
        try {
            settings = new BenchSettings(shapes == null ? BenchSettings.DEFAULT_SHAPES : shapes.stream().map(BenchSettings.Shape::parse).toList(),
                    batches == null ? BenchSettings.DEFAULT_BATCHES : batches, bits, groupSize, zeros, iterations, Units.parseBytes(workingSet), 4,
                    BenchSettings.GIB, f32);
        } catch (IllegalArgumentException e) {
            throw new SlimqException(Failure.USAGE, e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        KernelBench.Report report;
        try (ComputeBackend backend = Backends.open(DeviceRequest.parse(device), run.threadCount(), m -> message(err, m))) {
            report = KernelBench.run(backend, settings, m -> message(err, m));
        }
        if (jsonFile != null) {
            writeJson(report);
        }
        if (run.json) {
            JsonOutput.print(out, report.entries());
        } else {
            KernelBench.table(report).forEach(out::println);
            out.flush();
        }
        return ExitCode.OK.code();
    }

    private void writeJson(KernelBench.Report report) {
        StringWriter sw = new StringWriter();
        JsonOutput.print(new PrintWriter(sw), report.entries());
        Path abs = jsonFile.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, sw.toString());
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new SlimqException(Failure.IO, "cannot write " + jsonFile + ": " + e.getMessage(), e);
        }
    }

    private void message(PrintWriter err, String m) {
        if (!run.quiet) {
            err.println(m);
            err.flush();
        }
    }
}
