package dev.slimq.cli;

import dev.slimq.core.SlimqException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * The one boundary where failures become exit codes and messages: an expected failure
 * ({@link SlimqException}) prints {@code slimq: error: MESSAGE} and exits with its category's code;
 * anything else is a bug (exit 1). Stack traces only with {@code --stacktrace}.
 */
final class ErrorHandler implements IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        boolean trace = wantsStacktrace(parseResult);
        if (ex instanceof SlimqException se) {
            err.println("slimq: error: " + se.getMessage());
            if (trace) {
                se.printStackTrace(err);
            }
            err.flush();
            return ExitCode.of(se.failure()).code();
        }
        err.println("slimq: internal error: " + ex + (trace ? "" : " (run with --stacktrace for details)"));
        if (trace) {
            ex.printStackTrace(err);
        }
        err.flush();
        return ExitCode.INTERNAL.code();
    }

    static int handleParameterException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("slimq: usage error: " + ex.getMessage());
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return ExitCode.USAGE.code();
    }

    private static boolean wantsStacktrace(ParseResult pr) {
        for (ParseResult p = pr; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--stacktrace")) {
                return true;
            }
        }
        return false;
    }
}
