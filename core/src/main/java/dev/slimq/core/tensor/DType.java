package dev.slimq.core.tensor;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every element type a safetensors file can declare, named exactly as on the wire.
 *
 * <p>The declaration order is the reference implementation's {@code enum Dtype} order, which is
 * increasing alignment; the writer sorts tensors by this order, descending, then by name, so the order
 * of the constants is part of the file format and must not change. Wire names are mapped through
 * {@link #wireName()} and {@link #fromWireName(String)}, never through {@link #ordinal()} as an id.
 */
public enum DType {
    BOOL("BOOL", 8, Kind.BOOL),
    F4("F4", 4, Kind.FLOAT),
    F6_E2M3("F6_E2M3", 6, Kind.FLOAT),
    F6_E3M2("F6_E3M2", 6, Kind.FLOAT),
    U8("U8", 8, Kind.UNSIGNED),
    I8("I8", 8, Kind.SIGNED),
    F8_E5M2("F8_E5M2", 8, Kind.FLOAT),
    F8_E4M3("F8_E4M3", 8, Kind.FLOAT),
    F8_E8M0("F8_E8M0", 8, Kind.FLOAT),
    F8_E4M3FNUZ("F8_E4M3FNUZ", 8, Kind.FLOAT),
    F8_E5M2FNUZ("F8_E5M2FNUZ", 8, Kind.FLOAT),
    I16("I16", 16, Kind.SIGNED),
    U16("U16", 16, Kind.UNSIGNED),
    F16("F16", 16, Kind.FLOAT),
    BF16("BF16", 16, Kind.FLOAT),
    I32("I32", 32, Kind.SIGNED),
    U32("U32", 32, Kind.UNSIGNED),
    F32("F32", 32, Kind.FLOAT),
    C64("C64", 64, Kind.COMPLEX),
    F64("F64", 64, Kind.FLOAT),
    I64("I64", 64, Kind.SIGNED),
    U64("U64", 64, Kind.UNSIGNED);

    /** What the bits of one element mean. */
    public enum Kind { BOOL, SIGNED, UNSIGNED, FLOAT, COMPLEX }

    private static final Map<String, DType> BY_WIRE_NAME =
            Stream.of(values()).collect(Collectors.toUnmodifiableMap(DType::wireName, Function.identity()));

    private final String wireName;
    private final int bits;
    private final Kind kind;

    DType(String wireName, int bits, Kind kind) {
        this.wireName = wireName;
        this.bits = bits;
        this.kind = kind;
    }

    /** The exact string used in safetensors headers, e.g. {@code "F8_E4M3"}. */
    public String wireName() {
        return wireName;
    }

    /** Bits per element: 4 and 6 for the packed micro-float types, otherwise a multiple of 8. */
    public int bits() {
        return bits;
    }

    public Kind kind() {
        return kind;
    }

    /** True for the types whose elements are real floating-point numbers (not complex). */
    public boolean isFloat() {
        return kind == Kind.FLOAT;
    }

    /** True when elements do not occupy whole bytes (F4, F6_*): a tensor must then end on a byte. */
    public boolean isSubByte() {
        return bits % 8 != 0;
    }

    /** Bytes per element for byte-aligned types; throws for sub-byte types, which have none. */
    public int byteSize() {
        if (isSubByte()) {
            throw new IllegalStateException(wireName + " elements are " + bits + " bits, not whole bytes");
        }
        return bits / 8;
    }

    /**
     * The position in the reference ordering (increasing alignment). The writer sorts by this,
     * descending; ties between types of the same width keep the reference's declaration order.
     */
    public int alignmentRank() {
        return ordinal();
    }

    public static Optional<DType> fromWireName(String name) {
        return Optional.ofNullable(BY_WIRE_NAME.get(name));
    }
}
