package dev.slimq.core;

/**
 * Why an operation failed, in the terms a caller acts on. The CLI maps each to its own exit code
 * (DESIGN.md section 6); library code only says which one applies.
 */
public enum Failure {
    /** The request itself is wrong: bad option values, an output inside an input, an existing output. */
    USAGE,
    /** A file is malformed or fails validation (format errors, inconsistent checkpoints). */
    BAD_INPUT,
    /** The input is valid but this model, option or combination is not supported. */
    UNSUPPORTED,
    /** The operating system refused: disk full, permissions, missing paths, existing outputs. */
    IO,
    /** An accelerator was requested but none is usable. */
    DEVICE,
    /** A validation or evaluation threshold was not met. */
    QUALITY
}
