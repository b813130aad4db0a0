package dev.slimq.core.checkpoint;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.file.Path;

/**
 * A checkpoint directory is inconsistent: its index disagrees with its shards, its config is not
 * JSON, or it holds no weights. Shard contents themselves fail with the safetensors format error.
 */
public final class CheckpointFormatException extends SlimqException {

    /** Each way a checkpoint directory can be inconsistent. */
    public enum Reason {
        NO_WEIGHTS,
        INDEX_NOT_JSON,
        INDEX_MISTYPED,
        MISSING_SHARD,
        TENSOR_MISSING,
        TENSOR_DUPLICATED,
        TENSOR_NOT_INDEXED,
        TOTAL_SIZE_MISMATCH,
        CONFIG_NOT_JSON
    }

    private final Reason reason;

    public CheckpointFormatException(Reason reason, Path path, String detail) {
        super(Failure.BAD_INPUT, path + ": " + detail);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
