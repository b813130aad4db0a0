package dev.slimq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One in-process run of the slimq command line as the CLI tests drive it — the same picocli wiring
 * as {@code slimq} itself ({@link Main#commandLine}), no progress output — with its exit code,
 * stdout and stderr.
 */
record CliRun(int code, String out, String err) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** stdout parsed as JSON (for runs with {@code --json}). */
    JsonNode json() throws IOException {
        return JSON.readTree(out);
    }

    static CliRun run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true), ProgressRenderer.Mode.NONE).execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }
}
