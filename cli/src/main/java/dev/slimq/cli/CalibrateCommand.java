package dev.slimq.cli;

import dev.slimq.runtime.calibrate.Calibrator;
import dev.slimq.runtime.eval.EvalTexts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code slimq calibrate}: runs an encoder or decoder over calibration texts and writes the activation
 * statistics file (DESIGN.md section 4) that structured pruning reads, so that layer importance and
 * unit scores come from what the model actually does on the user's text, not from weights alone.
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Write activation statistics of a BERT-family encoder or Llama-family decoder for pruning.",
        description = {"Per layer: the mean cosine between input and output hidden states; per linear input channel:",
            "mean, variance, mean square, mean absolute value and absolute maximum over the texts' tokens.",
            "Encoders: one sequence per text. Decoders: the texts as one token stream in windows of --window tokens.",
            "Float or quantized checkpoints (compressed-tensors, GPTQ, slimq: each weight is dequantized as it is loaded)."})
final class CalibrateCommand implements Callable<Integer> {
    @ParentCommand
    SlimqCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Mixin
    IncrementalOptions incremental;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Checkpoint (directory with config.json and tokenizer.json).")
    Path model;

    @Parameters(index = "1", paramLabel = "OUT", description = "Statistics file to write (.safetensors).")
    Path output;

    @Option(names = {"--texts", "--text"}, paramLabel = "FILE", description = "One sentence or passage per line (default: the bundled English texts).")
    Path texts;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Stop after N tokens (default: all texts).")
    long maxTokens;

    @Option(names = "--window", paramLabel = "N", defaultValue = "" + Calibrator.DEFAULT_WINDOW,
            description = "Decoders: tokens per forward window, capped at the position table (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--force", description = "Redo the work and replace OUT even when it is up to date, or was not written by slimq.")
    boolean force;

    @Override
    public Integer call() {
        List<Path> inputs = texts == null ? List.of(model) : List.of(model, texts);
        IncrementalOptions.Started started = incremental.start(spec, inputs, output, force, run.json);
        if (started.upToDate()) {
            return ExitCode.OK.code();
        }
        List<String> lines = texts == null ? EvalTexts.bundled() : EvalTexts.read(texts);
        Calibrator.Result r = Calibrator.run(new Calibrator.Request(model, lines, texts, output, maxTokens, window, run.threadCount(), started.replace(),
                QuantizedWeightSource.OPENER));
        started.record();
        PrintWriter o = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(o, r);
        } else {
            o.printf(Locale.ROOT, "%s (%s, %d layers, hidden %d): %d texts, %d tokens%s in %.2f s (%.0f tokens/s; load %.2f s)%n",
                    model, r.architecture(), r.layers(), r.hidden(), r.texts(), r.tokens(),
                    r.truncated() > 0 ? " (" + r.truncated() + " truncated)" : "", r.seconds(), r.tokensPerSecond(), r.loadSeconds());
            StringBuilder cos = new StringBuilder();
            for (int i = 0; i < r.cosInOut().length; i++) {
                cos.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.4f", r.cosInOut()[i]));
            }
            o.printf(Locale.ROOT, "cos(layer input, output): %s%n", cos);
            o.printf(Locale.ROOT, "wrote %s%n", r.output());
            o.flush();
        }
        return ExitCode.OK.code();
    }
}
