package dev.slimq.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The root command: lists the subcommands; each does one job over a service in core or a module. */
@Command(name = "slimq",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Data-free compression for Hugging Face safetensors checkpoints.",
        footer = {"", "Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input file,",
            "4 unsupported model or options, 5 I/O error, 6 device unavailable,",
            "7 quality check failed."},
        subcommands = {InspectCommand.class, QuantizeCommand.class, DequantizeCommand.class, ValidateCommand.class,
            BenchCommand.class, DevicesCommand.class, ConvertCommand.class, PruneCommand.class, ReduceTokensCommand.class,
            EvalCommand.class, CalibrateCommand.class, TrimVocabCommand.class, RunCommand.class, SummarizeCommand.class,
            MergeCommand.class,
            SynthCommand.class,
            CommandLine.HelpCommand.class})
public final class SlimqCommand implements Runnable {
    private final ProgressRenderer.Mode progressMode;

    @Spec
    CommandSpec spec;

    public SlimqCommand(ProgressRenderer.Mode progressMode) {
        this.progressMode = progressMode;
    }

    ProgressRenderer.Mode progressMode() {
        return progressMode;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
