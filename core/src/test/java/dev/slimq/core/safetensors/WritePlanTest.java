package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WritePlanTest {

    private static List<String> names(WritePlan plan) {
        return plan.tensors().stream().map(TensorInfo::name).toList();
    }

    @Test
    void referenceOrderIsDtypeDescendingThenName() {
        List<TensorInfo> planned = List.of(
                TensorInfo.planned("z.bool", DType.BOOL, 3),
                TensorInfo.planned("b.f32", DType.F32, 2),
                TensorInfo.planned("a.f32", DType.F32, 1),
                TensorInfo.planned("m.bf16", DType.BF16, 5),
                TensorInfo.planned("m.f16", DType.F16, 1),
                TensorInfo.planned("x.u64", DType.U64, 1),
                TensorInfo.planned("x.i64", DType.I64, 1),
                TensorInfo.planned("q.f4", DType.F4, 2),
                TensorInfo.planned("q.e4m3", DType.F8_E4M3, 1),
                TensorInfo.planned("q.e5m2", DType.F8_E5M2, 1),
                TensorInfo.planned("c.c64", DType.C64, 1),
                TensorInfo.planned("d.f64", DType.F64, 1),
                TensorInfo.planned("e.empty", DType.F32, 0, 7));
        WritePlan plan = WritePlan.of(planned);
        // U64 > I64 > F64 > C64 > F32 > BF16 > F16 > F8_E4M3 > F8_E5M2 > F4 > BOOL (DType declaration order, reversed).
        assertEquals(List.of("x.u64", "x.i64", "d.f64", "c.c64", "a.f32", "b.f32", "e.empty", "m.bf16", "m.f16",
                "q.e4m3", "q.e5m2", "q.f4", "z.bool"), names(plan));
        long offset = 0;
        for (TensorInfo t : plan.tensors()) {
            assertEquals(offset, t.begin(), t.name());
            assertEquals(TensorInfo.byteSize(t.dtype(), t.shape()), t.byteCount(), t.name());
            offset = t.end();
        }
        assertEquals(offset, plan.dataLength());
        assertEquals(8 + plan.header().length + offset, plan.fileSize());
        // The input order does not matter.
        List<TensorInfo> shuffled = new ArrayList<>(planned);
        Collections.shuffle(shuffled, new Random(3));
        assertEquals(plan.tensors(), WritePlan.of(shuffled).tensors());
        assertArrayEquals(plan.header(), WritePlan.of(shuffled).header());
        // Offsets given to the plan are ignored and reassigned.
        assertEquals(plan.tensors(), WritePlan.of(planned.stream().map(t -> t.withOffsets(100, 100 + t.byteCount())).toList()).tensors());
    }

    @Test
    void namesSortByCodePointLikeRustStrings() {
        // UTF-16 order puts U+1F600 (a surrogate pair, 0xD83D...) before U+FF01; UTF-8 bytes and code
        // points put it after. The reference compares Rust Strings, i.e. UTF-8 bytes.
        String fullwidth = "\uFF01";
        String emoji = "\uD83D\uDE00";
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned(emoji, DType.U8, 1), TensorInfo.planned(fullwidth, DType.U8, 1),
                TensorInfo.planned("Z", DType.U8, 1), TensorInfo.planned("a", DType.U8, 1), TensorInfo.planned("\u00e9", DType.U8, 1)));
        assertEquals(List.of("Z", "a", "\u00e9", fullwidth, emoji), names(plan));
        List<String> sorted = new ArrayList<>(names(plan));
        sorted.sort((x, y) -> java.util.Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8)));
        assertEquals(sorted, names(plan));
    }

    @Test
    void exactHeaderBytes() {
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("b", DType.BF16, 1), TensorInfo.planned("a", DType.F32, 2)),
                Map.of("format", "pt"));
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
        assertEquals(140, json.length());
        assertArrayEquals((json + "    ").getBytes(StandardCharsets.US_ASCII), plan.header());
        assertEquals(8 + 144 + 10, plan.fileSize());
        // Without metadata the same header comes out: format=pt is always added.
        assertArrayEquals(plan.header(), WritePlan.of(List.of(TensorInfo.planned("a", DType.F32, 2), TensorInfo.planned("b", DType.BF16, 1))).header());
    }

    @Test
    void scalarsAndEmptyPlans() {
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("s", DType.F64)));
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}";
        assertEquals(json, new String(plan.header(), StandardCharsets.UTF_8).stripTrailing());
        WritePlan empty = WritePlan.of(List.of());
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"}}", new String(empty.header(), StandardCharsets.UTF_8).stripTrailing());
        assertEquals(0, empty.dataLength());
    }

    @Test
    void headerIsPaddedWithSpacesToAMultipleOfEight() {
        for (int len = 0; len < 24; len++) {
            WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("x".repeat(len + 1), DType.U8, 1)));
            byte[] h = plan.header();
            assertEquals(0, h.length % 8, "length " + h.length);
            String s = new String(h, StandardCharsets.UTF_8);
            String trimmed = s.stripTrailing();
            assertTrue(trimmed.endsWith("}"));
            assertTrue(h.length - trimmed.length() < 8);
            assertEquals(" ".repeat(h.length - trimmed.length()), s.substring(trimmed.length()), "padding is spaces only");
        }
    }

    @Test
    void metadataIsSortedAndFormatKept() {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("zeta", "1");
        meta.put("alpha", "2");
        meta.put("format", "mlx");
        WritePlan plan = WritePlan.of(List.of(), meta);
        assertEquals(List.of("alpha", "format", "zeta"), List.copyOf(plan.metadata().keySet()));
        assertEquals("mlx", plan.metadata().get("format"), "an explicit format is kept");
        assertEquals("{\"__metadata__\":{\"alpha\":\"2\",\"format\":\"mlx\",\"zeta\":\"1\"}}",
                new String(plan.header(), StandardCharsets.UTF_8).stripTrailing());
        assertThrows(UnsupportedOperationException.class, () -> plan.metadata().put("x", "y"));
    }

    @Test
    void stringsAreEscapedLikeSerdeJson() throws Exception {
        String value = "q\"b\\s/\b\f\n\r\t\u0000\u0001\u001f\u007f\u00e9\u2028\uD83D\uDE00";
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("n\u0002", DType.U8, 0)), Map.of("k\n", value));
        String header = new String(plan.header(), StandardCharsets.UTF_8);
        assertTrue(header.contains("\"k\\n\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\u007f\u00e9\u2028\uD83D\uDE00\""), header);
        assertTrue(header.contains("\"n\\u0002\":{"), header);
        JsonNode parsed = new ObjectMapper().readTree(header);
        assertEquals(value, parsed.get("__metadata__").get("k\n").asText());
    }

    @Test
    void invalidPlansAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> WritePlan.of(List.of(TensorInfo.planned("w", DType.U8, 1), TensorInfo.planned("w", DType.F32, 1))));
        assertThrows(IllegalArgumentException.class, () -> WritePlan.of(List.of(TensorInfo.planned("__metadata__", DType.U8, 1))));
        assertThrows(IllegalArgumentException.class,
                () -> WritePlan.of(List.of(new TensorInfo("odd", DType.F4, new long[] {3}, 0, 2))), "F4[3] does not end on a byte");
        assertThrows(IllegalArgumentException.class, () -> TensorInfo.planned("odd", DType.F6_E3M2, 2));
        // Unpaired surrogates have no UTF-8 form: two such names would collide as '?'.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WritePlan.of(List.of(TensorInfo.planned("a\uD800", DType.U8, 1), TensorInfo.planned("a\uDC00", DType.U8, 1))));
        assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> WritePlan.of(List.of(), Map.of("k\uDFFF", "v")));
        assertThrows(IllegalArgumentException.class, () -> WritePlan.of(List.of(), Map.of("k", "\uD83D")));
        assertThrows(IllegalArgumentException.class, () -> WritePlan.of(List.of(), Map.of("k", "\uDE00\uD83D")));
        WritePlan ok = WritePlan.of(List.of(TensorInfo.planned("a\uD83D\uDE00", DType.U8, 1)));
        assertThrows(IllegalArgumentException.class, () -> ok.tensor("nope"));
        assertEquals("a\uD83D\uDE00", ok.tensor("a\uD83D\uDE00").name());
    }

    @Test
    void headerOverTheFormatLimitIsRefused() {
        String big = "x".repeat((int) SafetensorsHeader.MAX_HEADER_BYTES);
        assertThrows(IllegalArgumentException.class, () -> WritePlan.of(List.of(), Map.of("big", big)));
    }

    @Test
    void headerBytesAreACopy() {
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("w", DType.U8, 1)));
        byte[] h = plan.header();
        h[0] = 'X';
        assertEquals('{', plan.header()[0]);
    }
}
