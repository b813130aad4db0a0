package dev.slimq.cli;

import dev.slimq.core.Failure;

/** The process exit codes of DESIGN.md section 6; scripts and CI branch on them. */
public enum ExitCode {
    OK(0),
    INTERNAL(1),
    USAGE(2),
    BAD_INPUT(3),
    UNSUPPORTED(4),
    IO(5),
    DEVICE(6),
    QUALITY(7);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
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
}
