package dev.slimq.core.safetensors;

import static dev.slimq.core.safetensors.StFiles.bytes;
import static dev.slimq.core.safetensors.StFiles.floats;
import static dev.slimq.core.safetensors.StFiles.ints;
import static dev.slimq.core.safetensors.StFiles.longs;
import static dev.slimq.core.safetensors.StFiles.shorts;
import static dev.slimq.core.safetensors.StFiles.single;
import static dev.slimq.core.safetensors.StFiles.u8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.safetensors.SafetensorsFormatException.Reason;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafetensorsReaderTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- hostile files, one per reason

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "-", value = {
            "file_too_short,            FILE_TOO_SHORT,        -",
            "header_too_large,          HEADER_TOO_LARGE,      -",
            "header_too_large_u64,      HEADER_TOO_LARGE,      -",
            "header_past_eof,           HEADER_PAST_EOF,       -",
            "header_not_utf8,           HEADER_NOT_UTF8,       -",
            "header_not_json,           HEADER_NOT_JSON,       -",
            "header_not_object,         HEADER_NOT_OBJECT,     -",
            "duplicate_name,            DUPLICATE_NAME,        layer.0.weight",
            "unknown_dtype,             UNKNOWN_DTYPE,         layer.0.weight",
            "missing_field,             MISSING_FIELD,         layer.0.weight",
            "mistyped_field,            MISTYPED_FIELD,        layer.0.weight",
            "negative_dimension,        NEGATIVE_DIMENSION,    layer.0.weight",
            "size_overflow,             SIZE_OVERFLOW,         layer.0.weight",
            "size_overflow_product,     SIZE_OVERFLOW,         layer.0.weight",
            "size_overflow_bits,        SIZE_OVERFLOW,         layer.0.weight",
            "offsets_not_from_zero,     OFFSETS_NOT_FROM_ZERO, layer.0.weight",
            "offsets_hole,              OFFSETS_HOLE,          layer.0.weight",
            "offsets_overlap,           OFFSETS_OVERLAP,       layer.0.weight",
            "offsets_reversed,          OFFSETS_REVERSED,      layer.0.weight",
            "byte_size_mismatch,        BYTE_SIZE_MISMATCH,    layer.0.weight",
            "sub_byte_misaligned,       SUB_BYTE_MISALIGNED,   layer.0.weight",
            "data_not_at_eof,           DATA_NOT_AT_EOF,       -",
            "data_not_at_eof_truncated, DATA_NOT_AT_EOF,       -",
            "metadata_not_string,       METADATA_NOT_STRING,   -",
            "json_attack,               OFFSETS_OVERLAP,       weight_1",
    })
    void hostileFileIsRejected(String file, Reason reason, String tensor) {
        Path p = StFiles.hostile(file);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p));
        assertEquals(reason, e.reason(), e.getMessage());
        assertEquals(Failure.BAD_INPUT, e.failure());
        assertEquals(p, e.file());
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": "), "message must name the file: " + e.getMessage());
        if (tensor == null) {
            assertTrue(e.tensor().isEmpty(), "no tensor expected, got " + e.tensor());
            assertFalse(e.getMessage().contains("tensor '"), e.getMessage());
        } else {
            assertEquals(tensor, e.tensor().orElseThrow());
            assertTrue(e.getMessage().contains("tensor '" + tensor + "'"), "message must name the tensor: " + e.getMessage());
        }
        // readHeader applies the same validation.
        assertEquals(reason, assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.readHeader(p)).reason());
    }

    @Test
    void sizeOverflowMessageSaysWhatOverflows() {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsFile.open(StFiles.hostile("size_overflow")));
        assertTrue(e.getMessage().contains("18446744073709551614"), e.getMessage());
    }

    @Test
    void truncatedAndTrailingDataAreToldApart() {
        String trailing = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsFile.open(StFiles.hostile("data_not_at_eof"))).getMessage();
        String truncated = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsFile.open(StFiles.hostile("data_not_at_eof_truncated"))).getMessage();
        assertTrue(trailing.contains("3 bytes follow"), trailing);
        assertTrue(truncated.contains("truncated"), truncated);
    }

    @Test
    void hostileNamesStayOnOneLineInMessages() {
        String name = "evil\nname\r\u2028" + "x".repeat(500);
        String header = "{\"" + name.replace("\n", "\\n").replace("\r", "\\r")
                + "\":{\"dtype\":\"NOPE\",\"shape\":[],\"data_offsets\":[0,0]}}";
        Path p = StFiles.write(dir, "evil.safetensors", bytes(header));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p));
        assertEquals(Reason.UNKNOWN_DTYPE, e.reason());
        assertEquals(name, e.tensor().orElseThrow());
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().length() < 400, "message must stay bounded: " + e.getMessage().length());
    }

    @Test
    void moreRejections() {
        // Each of these breaks one rule in a way the committed fixtures do not.
        assertReason(Reason.HEADER_NOT_JSON, bytes(""));
        assertReason(Reason.HEADER_NOT_JSON, bytes("        "));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{} {}"));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{}\0\0"));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"a\":1,}"));
        assertReason(Reason.HEADER_NOT_JSON, bytes("\uFEFF{}"));                          // a byte order mark is not whitespace
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]} /* c */}"));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{'a':{}}"));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", (byte) 0));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[NaN],\"data_offsets\":[0,1]}}", (byte) 0));
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"\\ud800\":{}}"));               // unpaired surrogate escape
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"__metadata__\":{\"k\":\"\\udc00x\"}}"));
        assertReason(Reason.HEADER_NOT_OBJECT, bytes("\"{}\""));
        assertReason(Reason.HEADER_NOT_OBJECT, bytes("null"));
        assertReason(Reason.DUPLICATE_NAME, bytes("{\"__metadata__\":{},\"__metadata__\":{}}"));
        assertReason(Reason.DUPLICATE_NAME, bytes("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}"));
        assertReason(Reason.DUPLICATE_NAME, bytes("{\"t\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}"));
        assertReason(Reason.MISSING_FIELD, bytes("{\"t\":{\"shape\":[0],\"data_offsets\":[0,0]}}"));
        assertReason(Reason.MISSING_FIELD, bytes("{\"t\":{\"dtype\":\"U8\",\"data_offsets\":[0,0]}}"));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":[]}"));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":{\"dtype\":8,\"shape\":[0],\"data_offsets\":[0,0]}}"));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", (byte) 0));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,1]}}", (byte) 0));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", (byte) 0));
        assertReason(Reason.MISTYPED_FIELD, bytes("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":null}}", (byte) 0));
        assertReason(Reason.UNKNOWN_DTYPE, bytes(single("f32", "[1]", 4), new byte[4]));       // names are case-sensitive
        assertReason(Reason.SIZE_OVERFLOW, bytes(single("U8", "[1]", 1).replace("[0,1]", "[0,9223372036854775808]"), (byte) 0));
        assertReason(Reason.SIZE_OVERFLOW, bytes(single("U8", "[0,18446744073709551615]", 0)));  // zero elements, but a dim over 63 bits
        assertReason(Reason.SUB_BYTE_MISALIGNED, bytes(single("F6_E2M3", "[2]", 2), new byte[2]));
        assertReason(Reason.BYTE_SIZE_MISMATCH, bytes(single("F4", "[2]", 2), new byte[2]));
        assertReason(Reason.METADATA_NOT_STRING, bytes("{\"__metadata__\":[]}"));
        assertReason(Reason.METADATA_NOT_STRING, bytes("{\"__metadata__\":{\"a\":null}}"));
        assertReason(Reason.METADATA_NOT_STRING, bytes("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}"));
        // A zero-size tensor in the middle of another one's bytes overlaps it.
        assertReason(Reason.OFFSETS_OVERLAP, bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}", new byte[4]));
        // A zero-size tensor sitting after a hole is still a hole.
        assertReason(Reason.OFFSETS_HOLE, bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]));
        // Eight tensors of 2^60 - 1 bytes end at 2^63 - 8: 8 + N + that overflows a long, and the check
        // that the data reaches EOF must still say the file is truncated.
        StringBuilder huge = new StringBuilder("{");
        long each = (1L << 60) - 1;
        for (int i = 0; i < 8; i++) {
            huge.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"U8\",\"shape\":[").append(each)
                    .append("],\"data_offsets\":[").append(i * each).append(',').append((i + 1) * each).append("]}");
        }
        SafetensorsFormatException e = assertReason(Reason.DATA_NOT_AT_EOF, bytes(huge.append('}').toString(), new byte[3]));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertReason(Reason.DATA_NOT_AT_EOF, bytes("{}", new byte[1]));
    }

    @Test
    void headerLengthFieldEdgeCases() {
        // Exactly 8 bytes with N = 0: an empty header is not JSON.
        assertReason(Reason.HEADER_NOT_JSON, longs(0));
        assertReason(Reason.HEADER_PAST_EOF, longs(1));
        assertReason(Reason.HEADER_TOO_LARGE, longs(Long.MIN_VALUE));
        assertReason(Reason.FILE_TOO_SHORT, new byte[0]);
        assertReason(Reason.FILE_TOO_SHORT, new byte[7]);
    }

    @Test
    void missingFileIsAnIoFailure() {
        SlimqException e = assertThrows(SlimqException.class, () -> SafetensorsFile.open(dir.resolve("nope.safetensors")));
        assertEquals(Failure.IO, e.failure());
        assertOneLine(e.getMessage());
    }

    // ---------------------------------------------------------------- valid files

    @Test
    void emptyHeaderWithoutData() {
        Path p = StFiles.write(dir, "empty.safetensors", bytes("{}"));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertTrue(f.tensors().isEmpty());
            assertTrue(f.metadata().isEmpty());
            assertEquals(2, f.header().headerLength());
            assertEquals(10, f.header().dataStart());
            assertEquals(0, f.header().dataLength());
            assertEquals(10, f.fileSize());
        }
    }

    @Test
    void headerPaddedWithSpacesAndLeadingWhitespace() {
        for (String h : List.of("{}      ", "{\"__metadata__\":null}   ", "  {}", "\n{}\t")) {
            Path p = StFiles.write(dir, "pad.safetensors", bytes(h));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertTrue(f.tensors().isEmpty(), h);
                assertEquals(h.length(), f.header().headerLength());
            }
        }
        String padded = single("F32", "[1]", 4);
        padded += " ".repeat(8 - padded.length() % 8);
        Path p = StFiles.write(dir, "pad2.safetensors", bytes(padded, floats(2.5f)));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            assertEquals(0, f.header().headerLength() % 8);
            assertEquals(2.5f, v.getFloat(0));
        }
    }

    @Test
    void rankZeroScalar() {
        Path p = StFiles.write(dir, "scalar.safetensors", bytes(single("F32", "[]", 4), floats(-1.5f)));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            TensorInfo t = f.tensor("t");
            assertEquals(0, t.rank());
            assertEquals(1, t.elementCount());
            assertEquals(1, t.rows());
            assertEquals(1, t.cols());
            assertEquals(1, v.elementCount());
            assertEquals(-1.5f, v.getFloat(0));
            try (TensorView row = f.mapRows("t", 0, 1)) {
                assertEquals(-1.5f, row.getFloat(0));
            }
        }
    }

    @Test
    void zeroSizeTensors() {
        String h = "{\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[2,2]},"
                + "\"cols0\":{\"dtype\":\"BF16\",\"shape\":[4,0],\"data_offsets\":[0,0]},"
                + "\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        Path p = StFiles.write(dir, "zero.safetensors", bytes(h, u8(7, 9)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("cols0", "w", "empty"), f.tensors().stream().map(TensorInfo::name).toList(),
                    "tensors are listed in data order");
            try (TensorView v = f.map("empty")) {
                assertEquals(0, v.elementCount());
                assertEquals(0, v.segment().byteSize());
                float[] none = new float[0];
                v.readFloats(0, none, 0, 0);
                assertThrows(IndexOutOfBoundsException.class, () -> v.getFloat(0));
            }
            try (TensorView v = f.mapRows("cols0", 1, 2)) {
                assertEquals(0, v.elementCount());
            }
            try (TensorView v = f.map("w")) {
                assertEquals(9.0, v.getDouble(1));
            }
        }
    }

    @Test
    void metadataIsReadBackInFileOrder() {
        String h = "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"__metadata__\":{\"format\":\"pt\",\"zeta\":\"line\\nbreak \\\"q\\\" \\u00e9\",\"alpha\":\"\",\"emoji\":\"\\ud83d\\ude00\"}}";
        Path p = StFiles.write(dir, "meta.safetensors", bytes(h, u8(1)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("format", "zeta", "alpha", "emoji"), List.copyOf(f.metadata().keySet()));
            assertEquals(Map.of("format", "pt", "zeta", "line\nbreak \"q\" \u00e9", "alpha", "", "emoji", "\uD83D\uDE00"),
                    Map.copyOf(f.metadata()));
            assertThrows(UnsupportedOperationException.class, () -> f.metadata().put("x", "y"));
        }
    }

    @Test
    void unknownExtraFieldsAreIgnored() {
        String h = "{\"w\":{\"x-extra\":{\"nested\":[1,2,{\"y\":null}],\"s\":\"\\u0000\"},\"dtype\":\"I16\",\"flag\":true,"
                + "\"shape\":[2],\"num\":-1.5e300,\"data_offsets\":[0,4],\"arr\":[]}}";
        Path p = StFiles.write(dir, "extra.safetensors", bytes(h, shorts(-3, 300)));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("w")) {
            assertEquals(new TensorInfo("w", DType.I16, new long[] {2}, 0, 4), f.tensor("w"));
            assertEquals(-3.0, v.getDouble(0));
            assertEquals(300.0f, v.getFloat(1));
        }
    }

    @Test
    void nestingIsBoundedLikeTheReference() {
        String deep = "[".repeat(20) + "]".repeat(20);
        Path ok = StFiles.write(dir, "deep.safetensors", bytes("{\"t\":{\"x\":" + deep + ",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", u8(5)));
        try (SafetensorsFile f = SafetensorsFile.open(ok)) {
            assertEquals(1, f.tensors().size());
        }
        String tooDeep = "[".repeat(200) + "]".repeat(200);
        assertReason(Reason.HEADER_NOT_JSON, bytes("{\"t\":{\"x\":" + tooDeep + ",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", u8(5)));
    }

    @Test
    void unknownTensorNameIsBadInput() {
        Path p = StFiles.write(dir, "one.safetensors", bytes(single("U8", "[1]", 1), u8(1)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SlimqException e = assertThrows(SlimqException.class, () -> f.map("missing\nname"));
            assertEquals(Failure.BAD_INPUT, e.failure());
            assertOneLine(e.getMessage());
            assertFalse(f.header().contains("missing\nname"));
            assertTrue(f.header().contains("t"));
        }
    }

    @Test
    void unalignedTensorOffsetsAreReadCorrectly() {
        // U8[3] first, so the F32, F64 and I16 data that follow start at odd offsets.
        String h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},"
                + "\"c\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[11,19]},"
                + "\"d\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[19,21]}}";
        byte[] data = concat(u8(1, 2, 3), floats(1.25f, -7f), longs(Double.doubleToRawLongBits(Math.PI)), shorts(-2));
        Path p = StFiles.write(dir, "unaligned.safetensors", bytes(h, data));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            try (TensorView v = f.map("b")) {
                float[] out = new float[2];
                v.readFloats(0, out, 0, 2);
                assertArrayEquals(new float[] {1.25f, -7f}, out);
            }
            try (TensorView v = f.map("c")) {
                assertEquals(Math.PI, v.getDouble(0));
            }
            try (TensorView v = f.map("d")) {
                assertEquals(-2.0f, v.getFloat(0));
            }
        }
    }

    @Test
    void viewIsUnusableAfterClose() {
        Path p = StFiles.write(dir, "one.safetensors", bytes(single("F32", "[2]", 8), floats(1, 2)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            TensorView v = f.map("t");
            assertEquals(2f, v.getFloat(1));
            v.close();
            v.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> v.getFloat(1));
        }
    }

    @Test
    void readFloatsChecksBounds() {
        Path p = StFiles.write(dir, "one.safetensors", bytes(single("F32", "[3]", 12), floats(1, 2, 3)));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            float[] out = new float[4];
            v.readFloats(1, out, 2, 2);
            assertArrayEquals(new float[] {0, 0, 2, 3}, out);
            assertThrows(IndexOutOfBoundsException.class, () -> v.readFloats(2, out, 0, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> v.readFloats(-1, out, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> v.readFloats(0, out, 0, -1));
        }
    }

    // ---------------------------------------------------------------- every dtype decodes exactly

    @Test
    void f16() {
        float[] v = decodeAll("F16", 8, shorts(0x3C00, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x0400));
        assertEquals(1.0f, v[0]);
        assertEquals(65504f, v[1]);
        assertEquals(0x1p-24f, v[2]);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(v[3]));
        assertEquals(Float.POSITIVE_INFINITY, v[4]);
        assertEquals(Float.NEGATIVE_INFINITY, v[5]);
        assertEquals(0.333251953125f, v[6]);
        assertEquals(0x1p-14f, v[7]); // smallest normal
        assertTrue(Float.isNaN(decodeAll("F16", 1, shorts(0x7E00))[0]));
    }

    @Test
    void bf16() {
        float[] v = decodeAll("BF16", 6, shorts(0x3F80, 0x4049, 0x7F7F, 0x0001, 0xFF80, 0xC000));
        assertEquals(1.0f, v[0]);
        assertEquals(3.140625f, v[1]);
        assertEquals(Float.intBitsToFloat(0x7F7F0000), v[2]);
        assertEquals(0x1p-133f, v[3]);
        assertEquals(Float.NEGATIVE_INFINITY, v[4]);
        assertEquals(-2.0f, v[5]);
        assertTrue(Float.isNaN(decodeAll("BF16", 1, shorts(0x7FC0))[0]));
    }

    @Test
    void f8e4m3() {
        float[] v = decodeAll("F8_E4M3", 8, u8(0x7E, 0x7F, 0x01, 0x08, 0x38, 0xB8, 0x80, 0xFF));
        assertEquals(448f, v[0]);
        assertTrue(Float.isNaN(v[1]));
        assertEquals(0x1p-9f, v[2]);
        assertEquals(0x1p-6f, v[3]);
        assertEquals(1.0f, v[4]);
        assertEquals(-1.0f, v[5]);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(v[6]));
        assertTrue(Float.isNaN(v[7]));
    }

    @Test
    void f8e5m2() {
        float[] v = decodeAll("F8_E5M2", 7, u8(0x7C, 0xFC, 0x7B, 0x7D, 0x3C, 0x01, 0x04));
        assertEquals(Float.POSITIVE_INFINITY, v[0]);
        assertEquals(Float.NEGATIVE_INFINITY, v[1]);
        assertEquals(57344f, v[2]);
        assertTrue(Float.isNaN(v[3]));
        assertEquals(1.0f, v[4]);
        assertEquals(0x1p-16f, v[5]);
        assertEquals(0x1p-14f, v[6]);
    }

    @Test
    void f8e4m3fnuz() {
        float[] v = decodeAll("F8_E4M3FNUZ", 6, u8(0x80, 0x7F, 0x40, 0x01, 0xFF, 0x00));
        assertTrue(Float.isNaN(v[0]));
        assertEquals(240f, v[1]);
        assertEquals(1.0f, v[2]);
        assertEquals(0x1p-10f, v[3]);
        assertEquals(-240f, v[4]);
        assertEquals(Float.floatToRawIntBits(0.0f), Float.floatToRawIntBits(v[5]));
    }

    @Test
    void f8e5m2fnuz() {
        float[] v = decodeAll("F8_E5M2FNUZ", 6, u8(0x80, 0x7F, 0x40, 0x01, 0xFF, 0x7C));
        assertTrue(Float.isNaN(v[0]));
        assertEquals(57344f, v[1]);
        assertEquals(1.0f, v[2]);
        assertEquals(0x1p-17f, v[3]);
        assertEquals(-57344f, v[4]);
        assertEquals(32768f, v[5]); // no infinities: 0x7C is an ordinary number, 2^(31-16)
    }

    @Test
    void f8e8m0() {
        float[] v = decodeAll("F8_E8M0", 5, u8(0x7F, 0xFF, 0x00, 0xFE, 0x80));
        assertEquals(1.0f, v[0]);
        assertTrue(Float.isNaN(v[1]));
        assertEquals(0x1p-127f, v[2]);
        assertEquals(0x1p127f, v[3]);
        assertEquals(2.0f, v[4]);
    }

    @Test
    void f4e2m1() {
        // Codes 0..15 packed two per byte, low nibble first.
        float[] v = decodeAll("F4", 16, u8(0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE));
        float[] expected = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
        for (int i = 0; i < 16; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(v[i]), "code " + i);
        }
        assertArrayEquals(new float[] {0.5f, 6f}, decodeAll("F4", 2, u8(0x71)), "low nibble is element 0");
    }

    @Test
    void f6e2m3() {
        // Codes 0x1F, 0x3F, 0x01, 0x08 in one little-endian 24-bit word: 0x201FDF.
        float[] v = decodeAll("F6_E2M3", 4, u8(0xDF, 0x1F, 0x20));
        assertArrayEquals(new float[] {7.5f, -7.5f, 0.125f, 1.0f}, v);
    }

    @Test
    void f6e3m2() {
        // Codes 0x1F, 0x3F, 0x01, 0x0C: word 0x301FDF.
        float[] v = decodeAll("F6_E3M2", 4, u8(0xDF, 0x1F, 0x30));
        assertArrayEquals(new float[] {28f, -28f, 0.0625f, 1.0f}, v);
    }

    @Test
    void f64IsExactAsDouble() {
        Path p = StFiles.write(dir, "f64.safetensors", bytes(single("F64", "[3]", 24),
                longs(Double.doubleToRawLongBits(0.1), Double.doubleToRawLongBits(1e300), Double.doubleToRawLongBits(-0x1p-1074))));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            assertEquals(0.1, v.getDouble(0));
            assertEquals(0.1f, v.getFloat(0));
            assertEquals(1e300, v.getDouble(1));
            assertEquals(Float.POSITIVE_INFINITY, v.getFloat(1));
            assertEquals(-0x1p-1074, v.getDouble(2));
            float[] out = new float[3];
            v.readFloats(0, out, 0, 3);
            assertEquals(0.1f, out[0]);
        }
    }

    @Test
    void integerTypes() {
        assertDoubles("I64", longs(Long.MIN_VALUE, -5, 123456789012L), -0x1p63, -5, 123456789012.0);
        assertDoubles("U64", longs(-1L, 5, Long.MIN_VALUE), 0x1p64, 5, 0x1p63);
        assertDoubles("I32", ints(-1, Integer.MIN_VALUE, Integer.MAX_VALUE), -1, -0x1p31, 0x1p31 - 1);
        assertDoubles("U32", ints(-1, 7), 4294967295.0, 7);
        assertDoubles("I16", shorts(0x8000, 0x7FFF, 0xFFFE), -32768, 32767, -2);
        assertDoubles("U16", shorts(0xFFFF, 0x8000), 65535, 32768);
        assertDoubles("I8", u8(0x80, 0x7F, 0xFF), -128, 127, -1);
        assertDoubles("U8", u8(0xFF, 0x80, 0), 255, 128, 0);
        assertDoubles("BOOL", u8(1, 0), 1, 0);
    }

    @Test
    void u64AndI64RoundOnceToTheNearest() {
        // 2^63 + 2^10 + 1 is just above the midpoint between the doubles 2^63 and 2^63 + 2^11: it must
        // round up. Rounding the halved value first and adding the low bit afterwards gets 2^63.
        long[] values = {
            Long.MIN_VALUE + (1L << 10) + 1, Long.MIN_VALUE + (1L << 10), -1L, Long.MIN_VALUE + (1L << 39) + 1,
            Long.MIN_VALUE + (3L << 10), (1L << 53) + 1, (1L << 24) + 1, Long.MAX_VALUE
        };
        Path p = StFiles.write(dir, "u64.safetensors", bytes(single("U64", "[" + values.length + "]", values.length * 8), longs(values)));
        Path q = StFiles.write(dir, "i64.safetensors", bytes(single("I64", "[" + values.length + "]", values.length * 8), longs(values)));
        try (SafetensorsFile fu = SafetensorsFile.open(p); SafetensorsFile fi = SafetensorsFile.open(q);
             TensorView u = fu.map("t"); TensorView s = fi.map("t")) {
            for (int i = 0; i < values.length; i++) {
                BigInteger unsigned = new BigInteger(Long.toUnsignedString(values[i]));
                assertEquals(unsigned.doubleValue(), u.getDouble(i), "U64 " + unsigned);
                assertEquals(unsigned.floatValue(), u.getFloat(i), "U64 as float " + unsigned);
                assertEquals((double) values[i], s.getDouble(i), "I64 " + values[i]);
                assertEquals((float) values[i], s.getFloat(i), "I64 as float " + values[i]);
            }
            assertEquals(0x1p63 + 0x1p11, u.getDouble(0));
        }
    }

    @Test
    void c64IsNotReal() {
        Path p = StFiles.write(dir, "c64.safetensors", bytes(single("C64", "[1]", 8), floats(1, 2)));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            assertEquals(DType.C64, v.dtype());
            assertEquals(1, v.elementCount());
            assertThrows(IllegalArgumentException.class, () -> v.getFloat(0));
            assertThrows(IllegalArgumentException.class, () -> v.readFloats(0, new float[1], 0, 1));
            assertEquals(2.0f, v.segment().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 4));
        }
    }

    @Test
    void everyDtypeNameIsAccepted() {
        for (DType d : DType.values()) {
            int n = d.isSubByte() ? 8 : 3;
            long bytes = TensorInfo.byteSize(d, new long[] {n});
            Path p = StFiles.write(dir, "all.safetensors", bytes(single(d.wireName(), "[" + n + "]", (int) bytes), new byte[(int) bytes]));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals(d, f.tensor("t").dtype());
                assertEquals(bytes, f.tensor("t").byteCount());
            }
        }
    }

    // ---------------------------------------------------------------- row windows

    @Test
    void mapRowsWindows() {
        float[] values = new float[15];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        String h = "{\"m\":{\"dtype\":\"F32\",\"shape\":[5,3],\"data_offsets\":[0,60]},"
                + "\"r3\":{\"dtype\":\"F32\",\"shape\":[2,2,2],\"data_offsets\":[60,92]},"
                + "\"vec\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[92,108]}}";
        float[] r3 = {20, 21, 22, 23, 24, 25, 26, 27};
        Path p = StFiles.write(dir, "rows.safetensors", bytes(h, concat(floats(values), floats(r3), floats(30, 31, 32, 33))));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            try (TensorView v = f.mapRows("m", 1, 2)) {
                assertEquals(6, v.elementCount());
                assertEquals(3, v.firstElement());
                assertArrayEquals(new float[] {3, 4, 5, 6, 7, 8}, readAll(v));
            }
            try (TensorView v = f.mapRows("m", 4, 1)) {
                assertArrayEquals(new float[] {12, 13, 14}, readAll(v));
            }
            try (TensorView v = f.mapRows("m", 0, 5)) {
                assertArrayEquals(values, readAll(v));
            }
            try (TensorView v = f.mapRows("m", 5, 0)) {
                assertEquals(0, v.elementCount());
                assertEquals(15, v.firstElement());
            }
            try (TensorView v = f.mapRows("r3", 1, 1)) {
                assertEquals(4, v.firstElement());
                assertArrayEquals(new float[] {24, 25, 26, 27}, readAll(v));
            }
            try (TensorView v = f.mapRows("vec", 0, 1)) {
                assertArrayEquals(new float[] {30, 31, 32, 33}, readAll(v));
            }
            assertThrows(IndexOutOfBoundsException.class, () -> f.mapRows("m", 4, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> f.mapRows("m", -1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> f.mapRows("m", 0, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> f.mapRows("m", 1, Long.MAX_VALUE));
            assertThrows(IndexOutOfBoundsException.class, () -> f.mapRows("vec", 1, 1));
        }
    }

    @Test
    void mapRowsOfSubByteTensors() {
        // F4 [3, 2]: one byte per row. F4 [2, 3]: rows of 12 bits cannot be mapped on their own.
        String h = "{\"even\":{\"dtype\":\"F4\",\"shape\":[3,2],\"data_offsets\":[0,3]},"
                + "\"odd\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[3,6]},"
                + "\"six\":{\"dtype\":\"F6_E2M3\",\"shape\":[2,4],\"data_offsets\":[6,12]}}";
        byte[] data = u8(0x21, 0x43, 0x65, 0, 0, 0, 0xDF, 0x1F, 0x20, 0x01, 0x00, 0x00);
        Path p = StFiles.write(dir, "rows4.safetensors", bytes(h, data));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            try (TensorView v = f.mapRows("even", 1, 2)) {
                assertEquals(2, v.firstElement());
                assertArrayEquals(new float[] {1.5f, 2, 3, 4}, readAll(v));
            }
            assertThrows(IllegalArgumentException.class, () -> f.mapRows("odd", 0, 1));
            try (TensorView v = f.mapRows("six", 1, 1)) {
                assertArrayEquals(new float[] {0.125f, 0, 0, 0}, readAll(v));
            }
        }
    }

    @Test
    void openFileIsSafeFromSeveralThreads() throws Exception {
        int n = 4096;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i * 0.5f;
        }
        Path p = StFiles.write(dir, "mt.safetensors", bytes(single("F32", "[64,64]", n * 4), floats(values)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int k = 0; k < 8; k++) {
                int first = k * 8;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int rep = 0; rep < 50; rep++) {
                            try (TensorView v = f.mapRows("t", first, 8)) {
                                float[] got = readAll(v);
                                for (int i = 0; i < got.length; i++) {
                                    assertEquals(values[first * 64 + i], got[i]);
                                }
                            }
                        }
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertTrue(errors.isEmpty(), () -> "errors: " + errors);
        }
    }

    // ---------------------------------------------------------------- helpers

    private SafetensorsFormatException assertReason(Reason reason, byte[] content) {
        Path p = StFiles.write(dir, "bad.safetensors", content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p),
                () -> "expected " + reason + " for " + new String(content, StandardCharsets.ISO_8859_1));
        assertEquals(reason, e.reason(), e.getMessage());
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        return e;
    }

    static void assertOneLine(String message) {
        assertFalse(message.isBlank());
        assertTrue(message.lines().count() == 1 && message.indexOf('\n') < 0 && message.indexOf('\r') < 0
                && message.indexOf('\u2028') < 0, "not one line: " + message);
    }

    private float[] decodeAll(String dtype, int count, byte[] data) {
        Path p = StFiles.write(dir, dtype + ".safetensors", bytes(single(dtype, "[" + count + "]", data.length), data));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            assertEquals(count, v.elementCount());
            float[] bulk = readAll(v);
            // The per-element paths agree with the bulk one, and getDouble is the same value widened.
            for (int i = 0; i < count; i++) {
                assertEquals(Float.floatToRawIntBits(bulk[i]), Float.floatToRawIntBits(v.getFloat(i)), dtype + " element " + i);
                assertEquals(Double.doubleToRawLongBits(bulk[i]), Double.doubleToRawLongBits(v.getDouble(i)), dtype + " element " + i);
            }
            return bulk;
        }
    }

    private void assertDoubles(String dtype, byte[] data, double... expected) {
        int bits = DType.fromWireName(dtype).orElseThrow().bits();
        int count = data.length * 8 / bits;
        assertEquals(expected.length, count);
        Path p = StFiles.write(dir, dtype + ".safetensors", bytes(single(dtype, "[" + count + "]", data.length), data));
        try (SafetensorsFile f = SafetensorsFile.open(p); TensorView v = f.map("t")) {
            float[] bulk = readAll(v);
            for (int i = 0; i < count; i++) {
                assertEquals(expected[i], v.getDouble(i), dtype + " element " + i);
                assertEquals((float) expected[i], v.getFloat(i), dtype + " element " + i + " as float");
                assertEquals((float) expected[i], bulk[i], dtype + " element " + i + " in bulk");
            }
        }
    }

    static float[] readAll(TensorView v) {
        float[] out = new float[(int) v.elementCount()];
        v.readFloats(0, out, 0, out.length);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] b : parts) {
            n += b.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] b : parts) {
            System.arraycopy(b, 0, out, o, b.length);
            o += b.length;
        }
        return out;
    }
}
