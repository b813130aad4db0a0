package dev.slimq.convert.gguf;

import java.util.Optional;

/**
 * The ggml tensor types slimq reads or writes, as pure layout data: wire id (explicit, never the
 * ordinal), elements per block and bytes per block. Quantization lives in {@link GgmlBlocks}.
 *
 * <p>Ids from ggml {@code include/ggml.h} {@code enum ggml_type}; block structs from
 * {@code src/ggml-common.h}: {@code block_q4_0 {ggml_half d; uint8_t qs[16];}} (18 bytes),
 * {@code block_q4_1 {ggml_half d, m; uint8_t qs[16];}} (20), {@code block_q8_0 {ggml_half d; int8_t qs[32];}}
 * (34), {@code block_q4_K} (144 per 256), {@code block_q6_K} (210 per 256).
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144),
    Q6_K(14, 256, 210),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The {@code ggml_type} value written in tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for the plain float types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** Bytes of {@code n} elements; {@code n} must be a multiple of the block size (checked by callers). */
    public long byteSize(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of " + name() + "'s block size " + blockSize);
        }
        return Math.multiplyExact(n / blockSize, (long) typeSize);
    }

    /** Lower-case name as llama.cpp prints it ({@code q4_0}, {@code bf16}). */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Optional<GgmlType> fromId(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    public static Optional<GgmlType> fromName(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name.strip())) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
