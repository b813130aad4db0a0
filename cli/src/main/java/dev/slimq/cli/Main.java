package dev.slimq.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Entry point. The only place in slimq that calls {@link System#exit}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(launcherStderr(), StandardCharsets.UTF_8), true);
        int code = commandLine(out, err, ProgressRenderer.Mode.detect()).execute(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /**
     * The process's real stderr. The launcher (./slimq, bin/slimq) runs the JVM with stderr piped
     * through a filter that drops the JVM's start-up warning about the incubator Vector API module,
     * and hands the real stderr over as another descriptor named by {@code slimq.stderr.fd}. Writing
     * to that one directly keeps slimq's messages in order with stdout and on screen before the
     * shell prompt returns (through the filter they could arrive a moment after the JVM exits).
     * Opening a descriptor by number has no public API; the private {@code FileDescriptor(int)}
     * constructor needs {@code --add-opens java.base/java.io}, which the launcher passes. Without
     * the property, or if that fails, System.err is used as is.
     */
    static PrintStream launcherStderr() {
        String fd = System.getProperty("slimq.stderr.fd");
        if (fd == null) {
            return System.err;
        }
        try {
            Constructor<FileDescriptor> c = FileDescriptor.class.getDeclaredConstructor(int.class);
            c.setAccessible(true);
            PrintStream err = new PrintStream(new FileOutputStream(c.newInstance(Integer.parseInt(fd))), true, System.err.charset());
            System.setErr(err);
            return err;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return System.err;
        }
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
        cl.getCommandSpec().usageMessage().footer(ExitCode.footer());
        return cl;
    }
}
