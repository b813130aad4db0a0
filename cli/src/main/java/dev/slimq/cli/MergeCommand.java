package dev.slimq.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.io.Fingerprint;
import dev.slimq.core.json.Json;
import dev.slimq.quantize.MergeService;
import dev.slimq.quantize.ShardRun;
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

/** {@code slimq merge}: assembles the parts of {@code slimq quantize --shard K/N} runs into the final checkpoint. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Assemble the N parts of 'slimq quantize --shard K/N' into the checkpoint one run would write, byte for byte.",
        description = {"Checks that the parts agree (same input and options, K = 1..N each exactly once, no tensor missing or",
            "duplicated; exit 3 otherwise), then writes OUT atomically with config.json, quantization-report.json and",
            "the input's other files. The input path recorded in the parts is used unless --input is given."})
final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "OUT", description = "Output directory (or .safetensors file).")
    Path out;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "PART", description = "Part directories written by quantize --shard K/N.")
    List<Path> parts;

    @Option(names = "--input", paramLabel = "IN", description = "The input checkpoint, when it is not at the path recorded in the parts.")
    Path input;

    @Option(names = "--force", description = "Redo the merge and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    /**
     * The input checkpoint, whose other files the merge copies, so that its fingerprint covers them:
     * --input, else the path the first part recorded (an unreadable part is the merge's error to report).
     */
    private Optional<Path> recordedInput() {
        if (input != null) {
            return Optional.of(input);
        }
        try {
            String p = Json.MAPPER.readTree(parts.getFirst().resolve(ShardRun.PART_FILE).toFile())
                    .path("input").asText("");
            return p.isEmpty() ? Optional.empty() : Optional.of(Path.of(p));
        } catch (java.io.IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        List<Path> inputs = new ArrayList<>(parts);
        recordedInput().ifPresent(inputs::add);
        var fp = incremental.fingerprint(spec, inputs);
        if (IncrementalOptions.upToDate(out, fp, Fingerprint.OUTPUT, force, run.json, o, spec.commandLine().getErr())) {
            return ExitCode.OK.code();
        }
        MergeService.Result r = MergeService.run(out, parts, Optional.ofNullable(input), force, fp);
        if (run.json) {
            ObjectNode j = Json.reportTree(r.report());
            j.put("schema_version", 1);
            j.put("parts", r.parts());
            j.put("output", out.toString());
            j.put("output_bytes", r.outputBytes());
            JsonOutput.print(o, j);
        } else {
            o.printf(Locale.ROOT, "merged %d parts -> %s%n", r.parts(), out);
            o.printf(Locale.ROOT, "  %d tensors, weight files %s; %.3f bits per weight (native), mean SQNR %.2f dB%n", r.tensors(),
                    Units.bytes(r.outputBytes()), r.report().bitsPerWeight(), r.report().meanSqnrDb());
        }
        o.flush();
        return ExitCode.OK.code();
    }
}
