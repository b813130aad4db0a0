package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.FormatFixtures.fill;
import static dev.slimq.quantize.format.FormatFixtures.scheme;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native format against its specification, slimq-format.md, byte by byte. */
class SlimqFormatTest {
    private static final QuantFormat SLIMQ = QuantFormat.SLIMQ;

    @TempDir
    Path dir;

    @Test
    void planNamesShapesAndDtypes() {
        QuantScheme floatZeros = scheme(4, 128, false, ZeroMode.FLOAT, DType.F16);
        assertEquals(List.of(
                TensorInfo.planned("w.weight.qmeta", DType.I32, 6),
                TensorInfo.planned("w.weight.qcodes", DType.U8, 10, 128),
                TensorInfo.planned("w.weight.qscales", DType.F16, 10, 2),
                TensorInfo.planned("w.weight.qzeros", DType.F16, 10, 2),
                TensorInfo.planned("w.weight.outlier_rowptr", DType.I32, 11),
                TensorInfo.planned("w.weight.outlier_cols", DType.U16, 7),
                TensorInfo.planned("w.weight.outlier_values", DType.F16, 7)),
                SLIMQ.plan("w.weight", 10, 256, floatZeros, 7, DType.BF16));
        // 3 bits, integer zeros: codes ceil(100 * 3 / 8) = 38 bytes a row, 4 zeros in ceil(12 / 8) = 2 bytes.
        assertEquals(List.of(
                TensorInfo.planned("w.qmeta", DType.I32, 6),
                TensorInfo.planned("w.qcodes", DType.U8, 3, 38),
                TensorInfo.planned("w.qscales", DType.BF16, 3, 4),
                TensorInfo.planned("w.qzeros", DType.U8, 3, 2)),
                SLIMQ.plan("w", 3, 100, scheme(3, 25, false, ZeroMode.INTEGER, DType.BF16), 0, DType.BF16));
        // Symmetric: no zeros; wide matrices index outliers with I32.
        assertEquals(List.of(
                TensorInfo.planned("w.qmeta", DType.I32, 6),
                TensorInfo.planned("w.qcodes", DType.U8, 2, 70_000),
                TensorInfo.planned("w.qscales", DType.F32, 2, 1),
                TensorInfo.planned("w.outlier_rowptr", DType.I32, 3),
                TensorInfo.planned("w.outlier_cols", DType.I32, 1),
                TensorInfo.planned("w.outlier_values", DType.F16, 1)),
                SLIMQ.plan("w", 2, 70_000, scheme(8, 70_000, true, ZeroMode.INTEGER, DType.F32), 1, DType.F32));
    }

    /**
     * 4-bit codes 0..15 then 1..5 over 21 columns: low nibble first, 0x10 0x32 .. 0xFE, then 0x21 0x43 0x05.
     * Integer zeros [1, 2, 3] of 3 groups of 7: 0x21 0x03. Meta: version 1, 1 row, 21 columns, 4 bits,
     * group 7, flags 4 (outliers). Outliers: column 20 with residual 0.5.
     */
    @Test
    void writesTheSpecifiedBytes() {
        int[] codes = new int[21];
        for (int c = 0; c < 16; c++) {
            codes[c] = c;
        }
        for (int c = 16; c < 21; c++) {
            codes[c] = c - 15;
        }
        QuantizedTensor base = FormatFixtures.withCodes("a.weight", 1, 21, scheme(4, 7, false, ZeroMode.INTEGER, DType.F16),
                codes, new float[] {1, 2, 3});
        QuantizedTensor q = new QuantizedTensor("a.weight", 1, 21, base.scheme(), base.codes(), base.scales(), base.zeros(),
                new Outliers(new int[] {0, 1}, new int[] {20}, new float[] {0.5f}));
        try (Checkpoint c = FormatFixtures.write(dir, SLIMQ, List.of(q), DType.F16)) {
            assertArrayEquals(new int[] {1, 1, 21, 4, 7, 4}, FormatFixtures.ints(c, "a.weight.qmeta"));
            assertArrayEquals(new byte[] {0x10, 0x32, 0x54, 0x76, (byte) 0x98, (byte) 0xBA, (byte) 0xDC, (byte) 0xFE, 0x21, 0x43, 0x05},
                    FormatFixtures.bytes(c, "a.weight.qcodes"));
            assertArrayEquals(new byte[] {0x21, 0x03}, FormatFixtures.bytes(c, "a.weight.qzeros"));
            assertArrayEquals(new int[] {0, 1}, FormatFixtures.ints(c, "a.weight.outlier_rowptr"));
            assertArrayEquals(new byte[] {20, 0}, FormatFixtures.bytes(c, "a.weight.outlier_cols"));
            assertArrayEquals(new float[] {0.5f}, FormatFixtures.floats(c, "a.weight.outlier_values"));
        }
    }

    /** 3 bits: codes 0..7 fill 3 bytes, 0xFAC688 little-endian; a second row starts on a new byte. 2 bits: 0xE4. */
    @Test
    void threeAndTwoBitRows() {
        int[] codes = new int[18];
        for (int c = 0; c < 8; c++) {
            codes[c] = c;
        }
        codes[9] = 7;
        QuantizedTensor three = FormatFixtures.withCodes("t", 2, 9, scheme(3, 9, true, ZeroMode.INTEGER, DType.F16), codes, fill(2, 4));
        QuantizedTensor two = FormatFixtures.withCodes("u", 1, 4, scheme(2, 4, false, ZeroMode.FLOAT, DType.F16),
                new int[] {0, 1, 2, 3}, new float[] {1.5f});
        try (Checkpoint c = FormatFixtures.write(dir, SLIMQ, List.of(three, two), DType.F16)) {
            // Row 0: codes 0..7 then code 8 = 0 in a fourth byte; row 1: code 0 = 7, the rest 0.
            assertArrayEquals(new byte[] {(byte) 0x88, (byte) 0xC6, (byte) 0xFA, 0, 7, 0, 0, 0},
                    FormatFixtures.bytes(c, "t.qcodes"));
            assertTrue(!c.contains("t.qzeros"));
            assertArrayEquals(new int[] {1, 2, 9, 3, 9, 1}, FormatFixtures.ints(c, "t.qmeta"));
            assertArrayEquals(new byte[] {(byte) 0xE4}, FormatFixtures.bytes(c, "u.qcodes"));
            assertArrayEquals(new float[] {1.5f}, FormatFixtures.floats(c, "u.qzeros"));
            assertArrayEquals(new int[] {1, 1, 4, 2, 4, 2}, FormatFixtures.ints(c, "u.qmeta"));
        }
    }

    @Test
    void acceptsEverySchemeWhoseGroupDividesTheRow() {
        for (int bits : new int[] {2, 3, 4, 8}) {
            assertTrue(SLIMQ.refusal(scheme(bits, 7, false, ZeroMode.FLOAT, DType.BF16), 3, 21, true).isEmpty());
        }
        assertEquals("group size 8 does not divide the 21 columns of this weight; use a --group-size that divides 21",
                SLIMQ.refusal(scheme(4, 8, false, ZeroMode.FLOAT, DType.F16), 3, 21, false).orElseThrow());
    }

    @Test
    void configListsSchemesAndWeights() {
        QuantScheme f4 = scheme(4, 128, false, ZeroMode.FLOAT, DType.F16);
        QuantizationSummary s = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("model.layers.0.self_attn.q_proj.weight", 256, 256, f4),
                new QuantizationSummary.Entry("model.layers.0.self_attn.o_proj.weight", 256, 256, scheme(3, 256, true, ZeroMode.INTEGER, DType.BF16)),
                new QuantizationSummary.Entry("model.layers.0.self_attn.k_proj.weight", 128, 256, f4)),
                List.of("lm_head.weight"));
        assertEquals(FormatFixtures.resourceJson("slimq-config.json"),
                SLIMQ.updateConfig(FormatFixtures.JSON.createObjectNode().put("model_type", "llama"), s).toString());
    }
}
