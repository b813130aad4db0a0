package dev.slimq.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Entry point. The only place in slimq that calls {@link System#exit}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = commandLine(out, err, ProgressRenderer.Mode.detect()).execute(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /**
     * The configured command line: exit codes mapped from failures, errors printed as one line,
     * output to the given writers. Tests call {@code execute} on this directly.
     */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err, ProgressRenderer.Mode progressMode) {
        CommandLine cl = new CommandLine(new SlimqCommand(progressMode));
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setParameterExceptionHandler(ErrorHandler::handleParameterException);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }
}
