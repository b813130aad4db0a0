package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tensor.DType;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code slimq synth}: writes a synthetic checkpoint for trying slimq, tests and benchmarks. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        header = "Write a synthetic checkpoint (Llama-style decoder or BERT) with realistic-looking weights and a tokenizer.",
        description = {"Weights have heavy tails, a few outlier input channels and per-layer scales, like real ones.",
            "The same options always give byte-identical files."})
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Parameters(index = "0", paramLabel = "OUT", description = "Output checkpoint directory.")
    Path out;

    @Option(names = "--arch", paramLabel = "ARCH", defaultValue = "llama", description = "llama or bert (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "tiny",
            description = "tiny, small, 1.1b (TinyLlama shape) or 7b (Llama-2-7B shape); 1.1b and 7b are llama only (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--dtype", paramLabel = "DTYPE", description = "F32, F16 or BF16 (default: BF16 for llama, F32 for bert).")
    String dtype;

    @Option(names = "--tied", description = "Tie the Llama output head to the embeddings (no lm_head.weight).")
    boolean tied;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of every random value (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-shard-size", paramLabel = "SIZE",
            description = "Split into shards of at most SIZE tensor bytes (e.g. 500MB, 2GB, 1GiB), with model.safetensors.index.json.")
    String maxShardSize;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Override
    public Integer call() {
        SynthSpec.Arch a = SynthSpec.Arch.fromName(arch);
        SynthSpec s = SynthSpec.of(a, SynthSpec.Size.fromName(size)).withSeed(seed).withTiedEmbeddings(tied);
        if (dtype != null) {
            s = s.withDtype(DType.fromWireName(dtype.toUpperCase(Locale.ROOT))
                    .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown dtype '" + dtype + "'; use F32, F16 or BF16")));
        }
        if (maxShardSize != null) {
            s = s.withMaxShardBytes(parseSize(maxShardSize));
        }
        SynthCheckpoint.Result r = SynthCheckpoint.write(s, out, new SynthCheckpoint.Options(force, run.threadCount()));
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", out.toString());
            m.put("architecture", a.cliName());
            m.put("size", s.size().cliName());
            m.put("dtype", s.dtype().wireName());
            m.put("parameters", r.parameterCount());
            m.put("tensor_count", r.tensorCount());
            m.put("tensor_bytes", r.tensorBytes());
            m.put("files", r.files().stream().map(p -> r.dir().relativize(p).toString()).toList());
            JsonOutput.print(o, m);
        } else {
            o.printf(Locale.ROOT, "wrote %s: %s %s, %s, %,d parameters in %d tensors, %s in %d files%n", out, a.cliName(), s.size().cliName(),
                    s.dtype().wireName(), r.parameterCount(), r.tensorCount(), Units.bytes(r.tensorBytes()), r.files().size());
            o.flush();
        }
        return ExitCode.OK.code();
    }

    static long parseSize(String text) {
        try {
            return Units.parseBytes(text);
        } catch (NumberFormatException e) {
            throw new SlimqException(Failure.USAGE, "invalid size '" + text + "': use a positive number with an optional unit (kB, MB, GB, KiB, MiB, GiB)");
        }
    }
}
