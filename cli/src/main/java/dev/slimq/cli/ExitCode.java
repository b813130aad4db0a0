package dev.slimq.cli;

import dev.slimq.core.Failure;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The process exit codes of DESIGN.md section 6; scripts and CI branch on them. The descriptions are
 * the one source of the table in {@code slimq help exit-codes} and the root command's help footer.
 */
public enum ExitCode {
    OK(0, "success"),
    INTERNAL(1, "internal error (a bug; rerun with --stacktrace and report it)"),
    USAGE(2, "usage error: unknown option, bad option value, output exists without --force"),
    BAD_INPUT(3, "bad input file: malformed or inconsistent checkpoint, recipe or data file"),
    UNSUPPORTED(4, "unsupported model, tensor type or option combination"),
    IO(5, "I/O error: missing path, permission denied, disk full"),
    DEVICE(6, "requested device (OpenCL GPU/CPU) unavailable"),
    QUALITY(7, "a quality check failed (validate/eval thresholds)");

    /** The JVM's exit status when a signal ends it (128 + signal number), listed with the table. */
    static final List<String> SIGNAL_ROWS = List.of(
            "130  interrupted (SIGINT, Ctrl-C); no output is left looking complete",
            "143  terminated (SIGTERM); no output is left looking complete");

    private final int code;
    private final String description;

    ExitCode(int code, String description) {
        this.code = code;
        this.description = description;
    }

    public int code() {
        return code;
    }

    public String description() {
        return description;
    }

    public static ExitCode of(Failure failure) {
        return switch (failure) {
            case USAGE -> USAGE;
            case BAD_INPUT -> BAD_INPUT;
            case UNSUPPORTED -> UNSUPPORTED;
            case IO -> IO;
            case DEVICE -> DEVICE;
            case QUALITY -> QUALITY;
        };
    }

    /** The table {@code slimq help exit-codes} prints: code, name, meaning; one line each. */
    static List<String> table() {
        List<String> lines = new ArrayList<>();
        lines.add("Exit codes of slimq (every command):");
        lines.add("");
        for (ExitCode c : values()) {
            lines.add(String.format(Locale.ROOT, "%3d  %-12s %s", c.code, c.name().toLowerCase(Locale.ROOT).replace('_', '-'), c.description));
        }
        for (String s : SIGNAL_ROWS) {
            lines.add(String.format(Locale.ROOT, "%3s  %-12s %s", s.substring(0, 3), "signal", s.substring(5)));
        }
        return lines;
    }

    /** The root command's help footer: the codes by name, two lines. */
    static String[] footer() {
        List<String> names = new ArrayList<>();
        for (ExitCode c : values()) {
            names.add(c.code + " " + c.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        int half = names.size() / 2;
        return new String[] {"", "Exit codes: " + String.join(", ", names.subList(0, half)) + ",",
            String.join(", ", names.subList(half, names.size())) + " (details: slimq help exit-codes)."};
    }
}
