package dev.slimq.core.safetensors;

import dev.slimq.core.Text;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Everything about one output file that is known before its first byte: each tensor's name, dtype
 * and shape, their canonical order and offsets, the metadata, and so the exact header bytes.
 *
 * <p>Order is the reference writer's: dtype alignment descending (the {@link DType} declaration
 * order), then name. Metadata keys are written sorted by code point (the reference writes a hash map,
 * whose order is not reproducible), {@code "format": "pt"} is added when absent because transformers refuses files
 * without it, and the header is compact JSON padded with spaces to a multiple of 8. Two plans built
 * from the same tensors and metadata therefore produce identical bytes.
 */
public final class WritePlan {
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final Map<String, String> metadata;
    private final byte[] header;

    private WritePlan(List<TensorInfo> tensors, Map<String, String> metadata, byte[] header) {
        this.tensors = tensors;
        this.metadata = metadata;
        this.header = header;
        Map<String, TensorInfo> m = new HashMap<>();
        for (TensorInfo t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
    }

    /**
     * Plans a file holding {@code planned} tensors (their offsets are ignored and reassigned) with
     * {@code metadata} (may be empty).
     */
    public static WritePlan of(Collection<TensorInfo> planned, Map<String, String> metadata) {
        Set<String> names = new HashSet<>();
        for (TensorInfo t : planned) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' planned twice");
            }
            if (t.name().equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
            }
            requireText("tensor name", t.name());
            TensorInfo.byteSize(t.dtype(), t.shape()); // rejects sub-byte tensors that do not end on a byte
        }
        List<TensorInfo> ordered = new ArrayList<>(planned);
        ordered.sort(Comparator.comparingInt((TensorInfo t) -> -t.dtype().alignmentRank())
                .thenComparing(TensorInfo::name, Text.CODE_POINT_ORDER));
        List<TensorInfo> placed = new ArrayList<>(ordered.size());
        long offset = 0;
        for (TensorInfo t : ordered) {
            long bytes = TensorInfo.byteSize(t.dtype(), t.shape());
            placed.add(t.withOffsets(offset, Math.addExact(offset, bytes)));
            offset += bytes;
        }
        Map<String, String> meta = new TreeMap<>(Text.CODE_POINT_ORDER);
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            requireText("metadata key", e.getKey());
            requireText("metadata value of '" + e.getKey() + "'", e.getValue());
            meta.put(e.getKey(), e.getValue());
        }
        meta.putIfAbsent("format", "pt");
        byte[] header = headerBytes(placed, meta);
        if (header.length > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("header would be " + header.length + " bytes, over the format's limit");
        }
        return new WritePlan(List.copyOf(placed), Collections.unmodifiableMap(meta), header);
    }


    /**
     * Names and metadata are written as UTF-8, which cannot hold an unpaired surrogate: Java would
     * silently write '?' (so two distinct names could collide in the file). Refuse them instead.
     */
    private static void requireText(String what, String s) {
        if (s == null) {
            throw new IllegalArgumentException(what + " is null");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(what + " holds an unpaired UTF-16 surrogate (U+"
                        + Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT) + "), which UTF-8 cannot encode");
            }
        }
    }

    public static WritePlan of(Collection<TensorInfo> planned) {
        return of(planned, Map.of());
    }

    /** Tensors in file order, with their final offsets. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo tensor(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("tensor '" + name + "' is not in the write plan");
        }
        return t;
    }

    /** True when the plan has a tensor of that name. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The padded header, without the 8-byte length prefix. */
    public byte[] header() {
        return header.clone();
    }

    int headerLength() {
        return header.length;
    }

    byte[] headerRef() {
        return header;
    }

    /** Bytes of tensor data. */
    public long dataLength() {
        return tensors.isEmpty() ? 0 : tensors.getLast().end();
    }

    /** Size of the file this plan writes. */
    public long fileSize() {
        return 8 + header.length + dataLength();
    }

    private static byte[] headerBytes(List<TensorInfo> tensors, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder(64 + tensors.size() * 96);
        sb.append('{');
        boolean first = true;
        if (!metadata.isEmpty()) {
            sb.append("\"__metadata__\":{");
            boolean firstMeta = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (!firstMeta) {
                    sb.append(',');
                }
                firstMeta = false;
                appendString(sb, e.getKey());
                sb.append(':');
                appendString(sb, e.getValue());
            }
            sb.append('}');
            first = false;
        }
        for (TensorInfo t : tensors) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            appendString(sb, t.name());
            sb.append(":{\"dtype\":\"").append(t.dtype().wireName()).append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(shape[i]);
            }
            sb.append("],\"data_offsets\":[").append(t.begin()).append(',').append(t.end()).append("]}");
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        java.util.Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** JSON string escaping as serde_json does it: short escapes where JSON has them, else lower-case \\u00XX. */
    static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
