package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.prune.tokens.TokenMethod;
import dev.slimq.prune.tokens.TokenReductionService;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code slimq reduce-tokens}: fewer tokens in token tensors [batch, tokens, dim] (DESIGN.md section 4). */
@Command(name = "reduce-tokens", mixinStandardHelpOptions = true,
        header = "Reduce token tensors [batch, tokens, dim] to a token budget (ToMe, DivPrune, DART, VisionZip, FastV, ...).",
        description = "Writes the reduced tensors in their dtype plus NAME.kept_index (I64 [batch, K], ascending original positions) "
            + "and NAME.sizes (F32 [batch, K], originals per kept token); other tensors are copied.")
final class ReduceTokensCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "IN", description = "Input .safetensors file.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "Output .safetensors file.")
    Path out;

    @Option(names = "--method", paramLabel = "M", defaultValue = "tome",
            description = "tome, divprune, dart, visionzip, fastv, fastervlm, temporal, random or pool (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--keep", paramLabel = "F", description = "Fraction of tokens to keep, in (0, 1].")
    Double keep;

    @Option(names = "--tokens", paramLabel = "K", description = "Tokens to keep per batch item.")
    Integer tokens;

    @Option(names = "--preset", paramLabel = "P", description = "LLMC+ retention: 33 (33.3%%), 22 (22.2%%) or 11 (11.1%%).")
    Integer preset;

    @Option(names = "--tensor", paramLabel = "NAME", description = "Tensor to reduce (repeatable; default: every 3-D float tensor).")
    List<String> tensors = new ArrayList<>();

    @Option(names = "--scores", paramLabel = "NAME", description = "Attention scores [batch, tokens] or [batch, heads, tokens] (heads averaged).")
    String scores;

    @Option(names = "--frames", paramLabel = "T", description = "Frames per item for video: tokens = T × per-frame tokens.")
    Integer frames;

    @Option(names = "--keep-first", description = "Keep the first token ([CLS]) as it is and reduce the others.")
    boolean keepFirst;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the random method (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threshold", paramLabel = "C", defaultValue = "0.9",
            description = "temporal: cosine above which a token repeats the previous frame's (default: ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--pivots", paramLabel = "N", defaultValue = "8", description = "dart: pivot tokens (default: ${DEFAULT-VALUE}).")
    int pivots;

    @Option(names = "--contextual", paramLabel = "N", defaultValue = "0",
            description = "visionzip: contextual tokens (default: 5/32 of the budget).")
    int contextual;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Override
    public Integer call() {
        int given = (keep != null ? 1 : 0) + (tokens != null ? 1 : 0) + (preset != null ? 1 : 0);
        if (given > 1) {
            throw new SlimqException(Failure.USAGE, "give one of --keep, --tokens and --preset");
        }
        double fraction = keep != null ? keep : preset == null ? Double.NaN : switch (preset) {
            case 33 -> 1.0 / 3;
            case 22 -> 2.0 / 9;
            case 11 -> 1.0 / 9;
            default -> throw new SlimqException(Failure.USAGE, "--preset is 33, 22 or 11, got " + preset);
        };
        if (tokens != null && tokens < 1) {
            throw new SlimqException(Failure.USAGE, "--tokens must be at least 1, got " + tokens);
        }
        if (frames != null && frames < 1) {
            throw new SlimqException(Failure.USAGE, "--frames must be at least 1, got " + frames);
        }
        TokenMethod m;
        try {
            m = TokenMethod.of(method, new TokenMethod.Settings(seed, threshold, pivots, contextual));
        } catch (IllegalArgumentException e) {
            throw new SlimqException(Failure.USAGE, e.getMessage());
        }
        var request = new TokenReductionService.Request(m, fraction, tokens == null ? 0 : tokens, tensors, scores,
                frames == null ? 0 : frames, keepFirst);
        IncrementalOptions.Started started = incremental.start(spec, java.util.List.of(in), out, force, run.json);
        if (started.upToDate()) {
            return ExitCode.OK.code();
        }
        TokenReductionService.Result r = TokenReductionService.run(in, out, request, started.replace(), run.threadCount());
        started.record();
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            for (TokenReductionService.TensorReport t : r.tensors()) {
                o.printf(Locale.ROOT, "%s: %d -> %d tokens x %d items (%s): pooled fidelity %.4f, coverage %.4f%s%n", t.name(), t.tokensIn(),
                        t.tokensOut(), t.batch(), r.method(), t.pooledFidelity(), t.coverage(),
                        t.attentionError() == null ? "" : String.format(Locale.ROOT, ", attention error %.4f", t.attentionError()));
            }
            o.printf(Locale.ROOT, "wrote %s: %d reduced, %d copied, %s%n", out, r.tensors().size(), r.copied().size(), Units.bytes(r.outputBytes()));
            o.flush();
        }
        return ExitCode.OK.code();
    }
}
