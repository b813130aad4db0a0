package dev.slimq.cli;

import dev.slimq.core.json.Json;
import java.io.PrintWriter;

/** {@code --json} output: one snake_case document per command on stdout ({@link Json#report}). */
final class JsonOutput {
    private JsonOutput() {
    }

    static void print(PrintWriter out, Object value) {
        out.print(Json.report(value));
        out.flush();
    }
}
