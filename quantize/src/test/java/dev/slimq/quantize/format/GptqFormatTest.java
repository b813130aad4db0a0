package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.FormatFixtures.fill;
import static dev.slimq.quantize.format.FormatFixtures.scheme;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPTQ, word by word against AutoGPTQ/AutoGPTQ auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py
 * ({@code pack}: {@code qweight[row] |= intweight[j] << (bits * (j - i))} down the input dimension,
 * {@code zeros -= 1} then the same packing across the output dimension).
 */
class GptqFormatTest {
    private static final QuantFormat GPTQ = QuantFormat.GPTQ;

    @TempDir
    Path dir;

    @Test
    void planNamesShapesAndDtypes() {
        QuantScheme s = scheme(4, 128, true, ZeroMode.INTEGER, DType.F16);
        assertEquals(List.of(
                TensorInfo.planned("m.q_proj.qweight", DType.I32, 32, 64),
                TensorInfo.planned("m.q_proj.qzeros", DType.I32, 2, 8),
                TensorInfo.planned("m.q_proj.scales", DType.F16, 2, 64),
                TensorInfo.planned("m.q_proj.g_idx", DType.I32, 256)),
                GPTQ.plan("m.q_proj.weight", 64, 256, s, 0, DType.BF16));
        // 3 bits: 32 input features per 3 words; per channel: one group.
        assertEquals(List.of(
                TensorInfo.planned("m.o.qweight", DType.I32, 6, 32),
                TensorInfo.planned("m.o.qzeros", DType.I32, 1, 3),
                TensorInfo.planned("m.o.scales", DType.F16, 1, 32),
                TensorInfo.planned("m.o.g_idx", DType.I32, 64)),
                GPTQ.plan("m.o.weight", 32, 64, scheme(3, 64, false, ZeroMode.INTEGER, DType.F16), 0, DType.F16));
    }

    /**
     * 8 output rows, 16 input columns, code(r, c) = (c + r) % 16. qweight [2, 8]: word [k, n] packs
     * codes 8k..8k+7 of row n: [0, 0] = 0x76543210, [1, 0] = 0xFEDCBA98, [0, 1] = 0x87654321,
     * [1, 1] = 0x0FEDCBA9, [0, 7] = 0xEDCBA987, [1, 7] = 0x6543210F. Symmetric v1 zeros: 8 - 1 = 7 per
     * nibble, 0x77777777. Scales are stored transposed, [groups, rows]; g_idx is c / 8.
     */
    @Test
    void packsQweightDownTheInputDimensionAndV1Zeros() {
        int rows = 8;
        int cols = 16;
        int[] codes = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                codes[r * cols + c] = (c + r) % 16;
            }
        }
        QuantizedTensor q = FormatFixtures.withCodes("l.weight", rows, cols, scheme(4, 8, true, ZeroMode.INTEGER, DType.F16),
                codes, fill(rows * 2, 8));
        for (int r = 0; r < rows; r++) {
            q.scales()[2 * r] = r;
            q.scales()[2 * r + 1] = 100 + r;
        }
        try (Checkpoint c = FormatFixtures.write(dir, GPTQ, List.of(q), DType.F16)) {
            int[] qw = FormatFixtures.ints(c, "l.qweight");
            assertEquals(0x76543210, qw[0]);
            assertEquals(0xFEDCBA98, qw[8]);
            assertEquals(0x87654321, qw[1]);
            assertEquals(0x0FEDCBA9, qw[8 + 1]);
            assertEquals(0xEDCBA987, qw[7]);
            assertEquals(0x6543210F, qw[8 + 7]);
            assertArrayEquals(new int[] {0x77777777, 0x77777777}, FormatFixtures.ints(c, "l.qzeros"));
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107},
                    FormatFixtures.floats(c, "l.scales"));
            assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, FormatFixtures.ints(c, "l.g_idx"));
        }
    }

    /** Symmetric v1 zeros for the other widths: 8 bits 128 - 1 = 0x7F, 2 bits 2 - 1 = 0b01, 3 bits 4 - 1 = 0b011. */
    @Test
    void symmetricV1ZerosForEveryWidth() {
        QuantizedTensor b8 = FormatFixtures.withCodes("b8.weight", 8, 32, scheme(8, 32, true, ZeroMode.INTEGER, DType.F16),
                new int[8 * 32], fill(8, 128));
        QuantizedTensor b2 = FormatFixtures.withCodes("b2.weight", 16, 32, scheme(2, 32, true, ZeroMode.INTEGER, DType.F16),
                new int[16 * 32], fill(16, 2));
        QuantizedTensor b3 = FormatFixtures.withCodes("b3.weight", 32, 32, scheme(3, 32, true, ZeroMode.INTEGER, DType.F16),
                new int[32 * 32], fill(32, 4));
        for (QuantizedTensor q : List.of(b8, b2, b3)) {
            try (Checkpoint c = FormatFixtures.write(dir.resolve(q.name()), GPTQ, List.of(q), DType.F16)) {
                String m = QuantizationSummary.moduleName(q.name());
                int[] expected = switch (q.scheme().bits()) {
                    case 8 -> new int[] {0x7F7F7F7F, 0x7F7F7F7F};
                    case 2 -> new int[] {0x55555555};
                    // 011 repeated as one bit stream over three words.
                    default -> new int[] {0xDB6DB6DB, 0xB6DB6DB6, 0x6DB6DB6D};
                };
                assertArrayEquals(expected, FormatFixtures.ints(c, m + ".qzeros"), q.name());
            }
        }
    }

    /** Asymmetric is v2: zeros stored as they are; group 0 zero of row r is r, group 1's is 15 - r. */
    @Test
    void asymmetricV2ZerosAreStoredRaw() {
        float[] zeros = new float[16];
        for (int r = 0; r < 8; r++) {
            zeros[2 * r] = r;
            zeros[2 * r + 1] = 15 - r;
        }
        QuantizedTensor q = FormatFixtures.withCodes("l.weight", 8, 16, scheme(4, 8, false, ZeroMode.INTEGER, DType.F16),
                new int[128], zeros);
        try (Checkpoint c = FormatFixtures.write(dir, GPTQ, List.of(q), DType.F16)) {
            assertArrayEquals(new int[] {0x76543210, 0x89ABCDEF}, FormatFixtures.ints(c, "l.qzeros"));
            assertEquals("gptq_v2", c.configJson().orElseThrow().at("/quantization_config/checkpoint_format").asText());
        }
    }

    /** 3-bit qweight: the codes i % 8 of one 32-column row become the three words of BitPackingTest. */
    @Test
    void threeBitQweight() {
        int[] codes = new int[32 * 32];
        for (int r = 0; r < 32; r++) {
            for (int c = 0; c < 32; c++) {
                codes[r * 32 + c] = r == 5 ? c % 8 : 0;
            }
        }
        QuantizedTensor q = FormatFixtures.withCodes("l.weight", 32, 32, scheme(3, 32, true, ZeroMode.INTEGER, DType.F16),
                codes, fill(32, 4));
        try (Checkpoint c = FormatFixtures.write(dir, GPTQ, List.of(q), DType.F16)) {
            int[] qw = FormatFixtures.ints(c, "l.qweight");
            assertEquals(3 * 32, qw.length);
            assertEquals(0x88FAC688, qw[5]);
            assertEquals(0xC688FAC6, qw[32 + 5]);
            assertEquals(0xFAC688FA, qw[64 + 5]);
            assertEquals(0, qw[4]);
        }
    }

    @Test
    void refusesWhatItCannotStoreNamingTheOption() {
        assertEquals("gptq stores scales as F16 but this scheme has BF16 scales; quantize with F16 scales (--scale-dtype f16),"
                + " or use --format compressed-tensors or slimq",
                GPTQ.refusal(scheme(4, 128, true, ZeroMode.INTEGER, DType.BF16), 64, 256, false).orElseThrow());
        assertEquals("gptq packs codes into int32 words along the input dimension, so 100 input features of 4 bits must fill"
                + " whole words (a multiple of 8); use --format compressed-tensors or slimq",
                GPTQ.refusal(scheme(4, 100, true, ZeroMode.INTEGER, DType.F16), 64, 100, false).orElseThrow());
        assertEquals("gptq packs zeros into int32 words along the output dimension, so 40 output features of 3 bits must fill"
                + " whole words (a multiple of 32); use --format compressed-tensors or slimq",
                GPTQ.refusal(scheme(3, 64, true, ZeroMode.INTEGER, DType.F16), 40, 64, false).orElseThrow());
        assertEquals("gptq cannot store outlier residuals; use --outliers off (or auto), or --format slimq",
                GPTQ.refusal(scheme(4, 128, false, ZeroMode.INTEGER, DType.F16), 64, 256, true).orElseThrow());
        assertTrue(GPTQ.refusal(scheme(2, 128, false, ZeroMode.INTEGER, DType.F16), 64, 256, false).isEmpty());
    }

    @Test
    void configSymmetricIsV1WithExclusions() {
        QuantScheme s = scheme(4, 128, true, ZeroMode.INTEGER, DType.F16);
        QuantizationSummary sum = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("model.layers.0.self_attn.q_proj.weight", 256, 256, s),
                new QuantizationSummary.Entry("model.layers.0.mlp.down_proj.weight", 256, 512, s)),
                List.of("lm_head.weight", "model.layers.0.mlp.gate_proj.weight"));
        ObjectNode out = GPTQ.updateConfig(FormatFixtures.JSON.createObjectNode().put("model_type", "llama"), sum);
        assertEquals(FormatFixtures.resourceJson("gptq-config-sym.json"), out.toString());
    }

    @Test
    void configAsymmetricPerChannelIsV2() {
        QuantScheme a = scheme(8, 256, false, ZeroMode.INTEGER, DType.F16);
        QuantizationSummary sum = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("m.a.weight", 64, 256, a),
                new QuantizationSummary.Entry("m.b.weight", 64, 512, a.withGroupSize(512)),
                new QuantizationSummary.Entry("lm_head.weight", 1024, 256, a)), List.of());
        ObjectNode qc = (ObjectNode) GPTQ.updateConfig(FormatFixtures.JSON.createObjectNode(), sum).get("quantization_config");
        assertEquals("{\"quant_method\":\"gptq\",\"bits\":8,\"group_size\":-1,\"desc_act\":false,\"sym\":false,"
                + "\"checkpoint_format\":\"gptq_v2\",\"lm_head\":true}", qc.toString());
    }

    @Test
    void configRefusesMixedSchemes() {
        QuantScheme s4 = scheme(4, 128, true, ZeroMode.INTEGER, DType.F16);
        QuantizationSummary sum = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("m.a.weight", 64, 256, s4),
                new QuantizationSummary.Entry("m.b.weight", 64, 256, s4.withGroupSize(64))), List.of());
        SlimqException e = assertThrows(SlimqException.class, () -> GPTQ.updateConfig(FormatFixtures.JSON.createObjectNode(), sum));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        assertEquals("gptq's quantization_config holds one scheme for every layer, but m.a.weight has 4 bits, group 128, symmetric"
                + " and m.b.weight has 4 bits, group 64, symmetric; use one --bits/--group-size/--symmetric for all layers,"
                + " or --format compressed-tensors or slimq", e.getMessage());
    }

    @Test
    void regexQuoteEscapesPunctuationOnly() {
        assertEquals("model\\.layers\\.0\\.mlp\\.down_proj", GptqFormat.regexQuote("model.layers.0.mlp.down_proj"));
        assertTrue("a.b-c".matches(GptqFormat.regexQuote("a.b-c")));
        assertTrue(!"aXb".matches(GptqFormat.regexQuote("a.b")));
    }
}
