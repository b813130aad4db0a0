package dev.slimq.core.safetensors;

import dev.slimq.core.Text;
import static dev.slimq.core.safetensors.SafetensorsFormatException.Reason.*;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.slimq.core.safetensors.SafetensorsFormatException.Reason;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A validated safetensors header: the tensors (in data order), the free-form metadata and where the
 * data section starts. {@link #parse} applies every rule of the reference reader
 * ({@code Metadata::validate}) before anything is handed out, so code holding a header never sees
 * an offset or size it has to re-check.
 */
public final class SafetensorsHeader {
    /** The reference reader's cap (decimal 100 MB): larger claims are malformed or hostile. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength((int) MAX_HEADER_BYTES)
                    .maxNumberLength(64)
                    .maxNestingDepth(128) // serde_json's recursion limit: deeper unknown fields are refused there too
                    .build())
            .build();

    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final SequencedMap<String, String> metadata;
    private final long headerLength;

    private SafetensorsHeader(List<TensorInfo> tensors, SequencedMap<String, String> metadata, long headerLength) {
        this.tensors = List.copyOf(tensors);
        Map<String, TensorInfo> m = new HashMap<>(tensors.size() * 2);
        for (TensorInfo t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
        this.metadata = Collections.unmodifiableSequencedMap(metadata);
        this.headerLength = headerLength;
    }

    /** Tensors in the order of their data in the file (header order among those at the same offsets). */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo tensor(String name) {
        return byName.get(name);
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** {@code __metadata__}, in file order; empty when absent. */
    public SequencedMap<String, String> metadata() {
        return metadata;
    }

    /** N, the header's byte length as stored in the first 8 bytes. */
    public long headerLength() {
        return headerLength;
    }

    /** Absolute file offset of the data section (8 + N). */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Total bytes of tensor data. */
    public long dataLength() {
        return tensors.isEmpty() ? 0 : tensors.getLast().end();
    }

    /** Reads the 8-byte length prefix; {@code fileSize} is the whole file's size. */
    static long readLength(Path file, ByteBuffer prefix, long fileSize) {
        if (fileSize < 8) {
            throw new SafetensorsFormatException(FILE_TOO_SHORT, file, null,
                    "file is " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        long n = prefix.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(HEADER_TOO_LARGE, file, null,
                    "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (n > fileSize - 8) {
            throw new SafetensorsFormatException(HEADER_PAST_EOF, file, null,
                    "header length " + n + " runs past the end of the " + fileSize + "-byte file");
        }
        return n;
    }

    /**
     * Parses and validates a header. {@code headerBytes} are the N bytes after the length prefix;
     * {@code fileSize} is used to check that the data ends exactly at the end of the file.
     */
    public static SafetensorsHeader parse(Path file, byte[] headerBytes, long fileSize) {
        String json = decodeUtf8(file, headerBytes);
        Parsed parsed = parseJson(file, json);
        List<TensorInfo> sorted = validateOffsets(file, parsed.tensors);
        long dataLength = sorted.isEmpty() ? 0 : sorted.getLast().end();
        // Compare what is left after the header with what the tensors claim: no sum that can overflow
        // (a hostile end offset may be close to Long.MAX_VALUE).
        long available = fileSize - 8 - headerBytes.length;
        if (dataLength != available) {
            String what = available > dataLength
                    ? (available - dataLength) + " bytes follow the last tensor's data"
                    : "the tensors need " + dataLength + " bytes of data but the file holds " + Math.max(available, 0)
                            + " (truncated?)";
            throw new SafetensorsFormatException(DATA_NOT_AT_EOF, file, null, what);
        }
        return new SafetensorsHeader(sorted, parsed.metadata, headerBytes.length);
    }

    private static String decodeUtf8(Path file, byte[] bytes) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(HEADER_NOT_UTF8, file, null, "header is not valid UTF-8");
        }
    }

    private record Parsed(List<TensorInfo> tensors, SequencedMap<String, String> metadata) {
    }

    private static Parsed parseJson(Path file, String json) {
        checkSyntax(file, json);
        List<TensorInfo> tensors = new ArrayList<>();
        SequencedMap<String, String> metadata = new LinkedHashMap<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (JsonParser p = JSON.createParser(json)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                        "header is empty" + (json.isEmpty() ? "" : " (only whitespace)"));
            }
            if (first != JsonToken.START_OBJECT) {
                throw new SafetensorsFormatException(HEADER_NOT_OBJECT, file, null,
                        "header is JSON but not an object (starts with " + describe(first) + ")");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = checkedString(file, p.currentName());
                if (!seen.add(name)) {
                    throw new SafetensorsFormatException(DUPLICATE_NAME, file, name, "name appears twice in the header");
                }
                p.nextToken();
                if (name.equals("__metadata__")) {
                    readMetadata(file, p, metadata);
                } else {
                    tensors.add(readTensor(file, name, p));
                }
            }
            // Only padding may follow the object: anything else is not a single JSON document.
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                        "unexpected " + describe(trailing) + " after the header object");
            }
        } catch (JsonParseException e) {
            throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                    "header is not valid JSON: " + Text.oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            // Parsing a String does no I/O; a parser failure that is not a JsonParseException still
            // means the text is not acceptable JSON (e.g. a StreamConstraintsException).
            throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                    "header is not valid JSON: " + Text.oneLine(String.valueOf(e.getMessage())));
        }
        return new Parsed(tensors, metadata);
    }

    /**
     * A first pass over the whole text, so that a document that is not JSON is reported as such
     * (HEADER_NOT_JSON) rather than by whichever rule the streaming second pass meets before the
     * syntax error.
     */
    private static void checkSyntax(Path file, String json) {
        try (JsonParser p = JSON.createParser(json)) {
            while (p.nextToken() != null) {
                // tokenizing is the check
            }
        } catch (IOException e) {
            String why = e instanceof JsonParseException j ? j.getOriginalMessage() : e.getMessage();
            throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                    "header is not valid JSON: " + Text.oneLine(String.valueOf(why)));
        }
    }

    private static void readMetadata(Path file, JsonParser p, SequencedMap<String, String> out) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return; // serde's Option<HashMap>: null means absent
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsFormatException(METADATA_NOT_STRING, file, null,
                    "__metadata__ must be an object of strings, found " + describe(p.currentToken()));
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = checkedString(file, p.currentName());
            JsonToken v = p.nextToken();
            if (v != JsonToken.VALUE_STRING) {
                throw new SafetensorsFormatException(METADATA_NOT_STRING, file, null,
                        "__metadata__ value of '" + Text.oneLine(key) + "' is " + describe(v) + ", not a string");
            }
            if (out.putIfAbsent(key, checkedString(file, p.getText())) != null) {
                throw new SafetensorsFormatException(DUPLICATE_NAME, file, null,
                        "__metadata__ key '" + Text.oneLine(key) + "' appears twice");
            }
        }
    }

    private static TensorInfo readTensor(Path file, String name, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsFormatException(MISTYPED_FIELD, file, name,
                    "entry must be an object, found " + describe(p.currentToken()));
        }
        String dtypeName = null;
        BigInteger[] shape = null;
        BigInteger[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (dtypeName != null) {
                        throw new SafetensorsFormatException(DUPLICATE_NAME, file, name, "field 'dtype' appears twice");
                    }
                    if (v != JsonToken.VALUE_STRING) {
                        throw new SafetensorsFormatException(MISTYPED_FIELD, file, name, "'dtype' is " + describe(v) + ", not a string");
                    }
                    dtypeName = p.getText();
                }
                case "shape" -> {
                    if (shape != null) {
                        throw new SafetensorsFormatException(DUPLICATE_NAME, file, name, "field 'shape' appears twice");
                    }
                    shape = readIntegers(file, name, "shape", p);
                }
                case "data_offsets" -> {
                    if (offsets != null) {
                        throw new SafetensorsFormatException(DUPLICATE_NAME, file, name, "field 'data_offsets' appears twice");
                    }
                    offsets = readIntegers(file, name, "data_offsets", p);
                }
                default -> p.skipChildren(); // the reference reader ignores unknown fields too
            }
        }
        if (dtypeName == null || shape == null || offsets == null) {
            String missing = dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets";
            throw new SafetensorsFormatException(MISSING_FIELD, file, name, "field '" + missing + "' is missing");
        }
        String wire = dtypeName;
        DType dtype = DType.fromWireName(wire).orElseThrow(() -> new SafetensorsFormatException(UNKNOWN_DTYPE, file, name,
                "unknown dtype '" + Text.oneLine(wire) + "'"));
        if (offsets.length != 2) {
            throw new SafetensorsFormatException(MISTYPED_FIELD, file, name,
                    "'data_offsets' must hold exactly 2 integers, found " + offsets.length);
        }
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i].signum() < 0) {
                throw new SafetensorsFormatException(NEGATIVE_DIMENSION, file, name, "dimension " + i + " is negative (" + shape[i] + ")");
            }
            if (shape[i].bitLength() > 63) {
                throw new SafetensorsFormatException(SIZE_OVERFLOW, file, name, "dimension " + i + " (" + shape[i] + ") overflows 64 bits");
            }
            dims[i] = shape[i].longValueExact();
        }
        for (BigInteger o : offsets) {
            if (o.signum() < 0) {
                throw new SafetensorsFormatException(MISTYPED_FIELD, file, name, "'data_offsets' holds a negative value (" + o + ")");
            }
            if (o.bitLength() > 63) {
                throw new SafetensorsFormatException(SIZE_OVERFLOW, file, name, "offset " + o + " overflows 64 bits");
            }
        }
        long begin = offsets[0].longValueExact();
        long end = offsets[1].longValueExact();
        long bits;
        try {
            bits = Math.multiplyExact(TensorInfo.elementCount(dims), (long) dtype.bits());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(SIZE_OVERFLOW, file, name,
                    "shape " + java.util.Arrays.toString(dims) + " x " + dtype.wireName() + " overflows 64 bits");
        }
        if (bits % 8 != 0) {
            throw new SafetensorsFormatException(SUB_BYTE_MISALIGNED, file, name,
                    dtype.wireName() + " tensor of " + (bits / dtype.bits()) + " elements does not end on a byte");
        }
        if (end >= begin && end - begin != bits / 8) {
            throw new SafetensorsFormatException(BYTE_SIZE_MISMATCH, file, name,
                    "data_offsets span " + (end - begin) + " bytes but " + dtype.wireName()
                            + java.util.Arrays.toString(dims) + " needs " + bits / 8);
        }
        return new TensorInfo(name, dtype, dims, begin, end);
    }

    /**
     * JSON lets a string spell an unpaired UTF-16 surrogate as an escape ({@code "\\ud800"}); such a
     * string has no UTF-8 form, the reference reader (serde_json) rejects it, and slimq could not
     * write it back. Names and metadata must be real text.
     */
    private static String checkedString(Path file, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new SafetensorsFormatException(HEADER_NOT_JSON, file, null,
                        "header holds a string with an unpaired surrogate escape (\\u" + Integer.toHexString(c) + ")");
            }
        }
        return s;
    }

    private static BigInteger[] readIntegers(Path file, String name, String field, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new SafetensorsFormatException(MISTYPED_FIELD, file, name,
                    "'" + field + "' is " + describe(p.currentToken()) + ", not an array of integers");
        }
        List<BigInteger> out = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw new SafetensorsFormatException(MISTYPED_FIELD, file, name,
                        "'" + field + "' holds " + describe(t) + ", not an integer");
            }
            out.add(p.getBigIntegerValue());
        }
        return out.toArray(BigInteger[]::new);
    }

    /**
     * The reference rule: sorted by offsets, the first tensor starts at 0 and each starts where the
     * previous one ended (no holes, no overlaps), and no tensor ends before it begins.
     */
    private static List<TensorInfo> validateOffsets(Path file, List<TensorInfo> tensors) {
        for (TensorInfo t : tensors) {
            if (t.end() < t.begin()) {
                throw new SafetensorsFormatException(OFFSETS_REVERSED, file, t.name(),
                        "data_offsets [" + t.begin() + ", " + t.end() + "] end before they begin");
            }
        }
        // A stable sort: tensors at the same offsets (zero-size ones) keep their header order, so a
        // file slimq wrote lists its tensors in exactly the order they were planned.
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        for (TensorInfo t : sorted) {
            if (t.begin() != expected) {
                Reason r = expected == 0 && t == sorted.getFirst() ? OFFSETS_NOT_FROM_ZERO
                        : t.begin() > expected ? OFFSETS_HOLE : OFFSETS_OVERLAP;
                String what = switch (r) {
                    case OFFSETS_NOT_FROM_ZERO -> "the first tensor's data starts at " + t.begin() + ", not 0";
                    case OFFSETS_HOLE -> "data starts at " + t.begin() + " but the previous tensor ends at " + expected
                            + " (a hole of " + (t.begin() - expected) + " bytes)";
                    default -> "data starts at " + t.begin() + " inside the previous tensor, which ends at " + expected;
                };
                throw new SafetensorsFormatException(r, file, t.name(), what);
            }
            expected = t.end();
        }
        return sorted;
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "end of input";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a non-integer number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name() : "'" + t.asString() + "'";
        };
    }
}
