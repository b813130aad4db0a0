package dev.slimq.cli;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import picocli.CommandLine.Option;

/** Options every subcommand takes (a picocli mixin): output form, verbosity, error detail, threads. */
public final class RunOptions {
    @Option(names = "--json", description = "Print the result as JSON on stdout.")
    boolean json;

    @Option(names = {"-q", "--quiet"}, description = "No progress output on stderr.")
    boolean quiet;

    @Option(names = "--stacktrace", description = "Print the stack trace of an error.")
    boolean stacktrace;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads (default: the number of cores). Results do not depend on it.")
    Integer threads;

    int threadCount() {
        if (threads != null && threads < 1) {
            throw new SlimqException(Failure.USAGE, "--threads must be at least 1, got " + threads);
        }
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }
}
