package dev.slimq.cli;

import dev.slimq.convert.ConvertService;
import dev.slimq.convert.DtypeRule;
import dev.slimq.convert.gguf.BlockQuant;
import dev.slimq.convert.gguf.GgmlType;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code slimq convert}: safetensors to GGUF and back, dtype casts, resharding. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        header = "Convert between safetensors and GGUF, cast dtypes, reshard, export to Arrow.")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Checkpoint directory, .safetensors file or .gguf file.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output: a .gguf file, or a directory (or .safetensors file).")
    Path out;

    @Option(names = "--to", required = true, paramLabel = "FORMAT", description = "gguf, safetensors or arrow (an Arrow IPC file, one row per tensor with statistics).")
    String to;

    @Option(names = "--type", paramLabel = "T", description = "GGUF weight type: f32, f16 (default), bf16, q8_0, q4_0, q4_1.")
    String type;

    @Option(names = "--method", paramLabel = "M", defaultValue = "llama.cpp",
            description = "How q4_0, q4_1 and q8_0 blocks get their scales: llama.cpp (ggml's reference rounding, the default), "
                    + "or a slimq method: rtn, search, easyquant (range only) or hqq. Same block layout either way.")
    String method;

    @Option(names = "--dtype", paramLabel = "D", description = "Safetensors float dtype: f32, f16, bf16, f8_e4m3 (default: keep).")
    String dtype;

    @Option(names = "--dtype-for", paramLabel = "GLOB=D",
            description = "Safetensors outputs: write float tensors whose name matches GLOB as D (f32, f16, bf16, f8_e4m3), "
                    + "e.g. 'model.embed_tokens.*=f32'. Repeatable; the first matching rule wins, then --dtype applies. "
                    + "GLOB: * and ? wildcards over the full name, or re:REGEX. A rule matching no float tensor is an error.")
    List<String> dtypeFor = new ArrayList<>();

    @Option(names = "--saturate", description = "Clamp values beyond the --dtype range instead of failing.")
    boolean saturate;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", description = "Split a safetensors output into shards of at most SIZE.")
    String maxShardSize;

    @Option(names = "--with-data", description = "Arrow output: add each tensor's values (as float32) in a list column.")
    boolean withData;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Override
    public Integer call() {
        ConvertService.Target target = switch (to.toLowerCase(Locale.ROOT)) {
            case "gguf" -> ConvertService.Target.GGUF;
            case "safetensors" -> ConvertService.Target.SAFETENSORS;
            case "arrow" -> ConvertService.Target.ARROW;
            default -> throw new SlimqException(Failure.USAGE, "unknown --to '" + to + "'; use gguf, safetensors or arrow");
        };
        Optional<GgmlType> t = type == null ? Optional.empty() : Optional.of(GgmlType.fromName(type)
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown --type '" + type + "'; use f32, f16, bf16, q8_0, q4_0 or q4_1")));
        Optional<DType> d = dtype == null ? Optional.empty() : Optional.of(DType.fromWireName(dtype.toUpperCase(Locale.ROOT))
                .orElseThrow(() -> new SlimqException(Failure.USAGE, "unknown --dtype '" + dtype + "'; use f32, f16, bf16 or f8_e4m3")));
        long shard = maxShardSize == null ? 0 : SynthCommand.parseSize(maxShardSize);
        var rules = dtypeFor.stream().map(DtypeRule::parse).toList();
        IncrementalOptions.Started started = incremental.start(spec, java.util.List.of(in), out, force, run.json);
        if (started.upToDate()) {
            return ExitCode.OK.code();
        }
        ConvertService.Result r = ConvertService.run(in, out,
                new ConvertService.Options(target, t, d, saturate, shard, started.replace(), run.threadCount(), BlockQuant.method(method), withData,
                        rules), started.fingerprint());
        started.record();
        PrintWriter err = spec.commandLine().getErr();
        if (r.resumedTensors() > 0) {
            err.println("resumed: kept " + r.resumedTensors() + " finished tensors of the interrupted run");
        }
        for (String w : r.warnings()) {
            err.println("slimq: warning: " + w);
        }
        err.flush();
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            o.printf(Locale.ROOT, "converted %s (%s) -> %s (%s, %s): %d tensors, %s %s%n", in, r.from(), out, r.to(), r.type(),
                    r.tensors(), Units.bytes(r.outputBytes()), r.to().equals("arrow") ? "written" : "of tensor data");
            o.flush();
        }
        return ExitCode.OK.code();
    }
}
