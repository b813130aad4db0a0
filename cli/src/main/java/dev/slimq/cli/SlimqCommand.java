package dev.slimq.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The root command: lists the subcommands; each does one job over a service in core or a module.
 * Its help footer (the exit codes) is set from {@link ExitCode} in {@link Main#commandLine}.
 */
@Command(name = "slimq",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Data-free compression for Hugging Face safetensors checkpoints.",
        subcommands = {InspectCommand.class, QuantizeCommand.class, DequantizeCommand.class, ValidateCommand.class,
            BenchCommand.class, DevicesCommand.class, ConvertCommand.class, PruneCommand.class, ReduceTokensCommand.class,
            EvalCommand.class, CalibrateCommand.class, TrimVocabCommand.class, RunCommand.class, SummarizeCommand.class,
            MergeCommand.class,
            SynthCommand.class,
            HelpTopicsCommand.class})
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
