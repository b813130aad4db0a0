package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.FormatFixtures.fill;
import static dev.slimq.quantize.format.FormatFixtures.scheme;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * compressed-tensors pack-quantized, word by word against vllm-project/compressed-tensors
 * compressors/quantized_compressors/pack_quantized.py ({@code pack_to_int32}: the unsigned value
 * {@code q + 2^(bits-1)} of element {@code j} of a word at shift {@code bits * j}; zero points packed
 * the same way along dim 0).
 */
class CompressedTensorsFormatTest {
    private static final QuantFormat CT = QuantFormat.COMPRESSED_TENSORS;
    private static final QuantScheme ASYM4 = scheme(4, 128, false, ZeroMode.INTEGER, DType.BF16);
    private static final QuantScheme SYM4 = scheme(4, 128, true, ZeroMode.INTEGER, DType.F16);

    @TempDir
    Path dir;

    @Test
    void planNamesShapesAndDtypes() {
        assertEquals(List.of(
                TensorInfo.planned("m.q_proj.weight_packed", DType.I32, 20, 32),
                TensorInfo.planned("m.q_proj.weight_scale", DType.BF16, 20, 2),
                TensorInfo.planned("m.q_proj.weight_zero_point", DType.I32, 3, 2),
                TensorInfo.planned("m.q_proj.weight_shape", DType.I64, 2)),
                CT.plan("m.q_proj.weight", 20, 256, ASYM4, 0, DType.BF16));
        // Symmetric: no zero point; per channel: one scale column; 8 bits: 4 codes per word.
        assertEquals(List.of(
                TensorInfo.planned("m.o.weight_packed", DType.I32, 8, 25),
                TensorInfo.planned("m.o.weight_scale", DType.F32, 8, 1),
                TensorInfo.planned("m.o.weight_shape", DType.I64, 2)),
                CT.plan("m.o.weight", 8, 100, scheme(8, 100, true, ZeroMode.INTEGER, DType.F32), 0, DType.F32));
    }

    /**
     * Row 0 holds codes {@code c % 16} for 20 columns, row 1 codes {@code 15 - c % 16}: three words per
     * row, the last padded with zero codes: 0x76543210 0xFEDCBA98 0x00003210 / 0x89ABCDEF 0x01234567 0x0000CDEF.
     * Zero points (4 bits, 10 rows so two word rows, 2 groups of 10 columns): group 0 zero of row r is r,
     * group 1's is 9 - r; word [0, 0] = rows 0..7 of group 0 = 0x76543210, [0, 1] = 9..2 = 0x23456789,
     * [1, 0] = rows 8, 9 = 0x98, [1, 1] = 1, 0 = 0x01.
     */
    @Test
    void packsCodesAndZeroPointsWordByWord() {
        int rows = 2;
        int cols = 20;
        int[] codes = new int[rows * cols];
        for (int c = 0; c < cols; c++) {
            codes[c] = c % 16;
            codes[cols + c] = 15 - c % 16;
        }
        QuantizedTensor q = FormatFixtures.withCodes("a.weight", rows, cols, scheme(4, 20, true, ZeroMode.INTEGER, DType.F16), codes, fill(2, 8));
        int zr = 10;
        int[] zc = new int[zr * 20];
        float[] zeros = new float[zr * 2];
        for (int r = 0; r < zr; r++) {
            zeros[2 * r] = r;
            zeros[2 * r + 1] = 9 - r;
        }
        QuantizedTensor z = FormatFixtures.withCodes("b.weight", zr, 20, scheme(4, 10, false, ZeroMode.INTEGER, DType.F16), zc, zeros);
        try (Checkpoint c = FormatFixtures.write(dir, CT, List.of(q, z), DType.F16)) {
            assertArrayEquals(new int[] {0x76543210, 0xFEDCBA98, 0x00003210, 0x89ABCDEF, 0x01234567, 0x0000CDEF},
                    FormatFixtures.ints(c, "a.weight_packed"));
            assertArrayEquals(new long[] {2, 20}, FormatFixtures.longs(c, "a.weight_shape"));
            assertFalse(c.contains("a.weight_zero_point"));
            assertArrayEquals(new int[] {0x76543210, 0x23456789, 0x00000098, 0x00000001},
                    FormatFixtures.ints(c, "b.weight_zero_point"));
            assertArrayEquals(new float[] {1, 1}, FormatFixtures.floats(c, "a.weight_scale"));
        }
    }

    /** 8 bits: four codes per word; pack_to_int32's docstring example [129, 130] packs to 33409 = 0x8281. */
    @Test
    void eightBitWords() {
        QuantizedTensor q = FormatFixtures.withCodes("a.weight", 1, 6, scheme(8, 6, true, ZeroMode.INTEGER, DType.F16),
                new int[] {129, 130, 0, 0, 1, 255}, fill(1, 128));
        try (Checkpoint c = FormatFixtures.write(dir, CT, List.of(q), DType.F16)) {
            assertArrayEquals(new int[] {0x00008281, 0x0000FF01}, FormatFixtures.ints(c, "a.weight_packed"));
        }
    }

    @Test
    void refusesWhatItCannotStoreNamingTheOption() {
        assertEquals("compressed-tensors pack-quantized holds 4- or 8-bit codes (what compressed-tensors and vLLM's WNA16 kernels"
                + " accept), not 3-bit; use --bits 4 or --bits 8, or --format gptq or slimq",
                CT.refusal(scheme(3, 128, false, ZeroMode.INTEGER, DType.F16), 64, 256, false).orElseThrow());
        assertEquals("compressed-tensors stores integer zero points but this scheme has float zeros; quantize with integer zeros"
                + " (the zero mode compressed-tensors asks for) or use --format slimq",
                CT.refusal(scheme(4, 128, false, ZeroMode.FLOAT, DType.F16), 64, 256, false).orElseThrow());
        assertEquals("compressed-tensors cannot store outlier residuals; use --outliers off (or auto), or --format slimq",
                CT.refusal(ASYM4, 64, 256, true).orElseThrow());
        assertEquals("group size 128 does not divide the 200 columns of this weight; use a --group-size that divides 200",
                CT.refusal(ASYM4, 64, 200, false).orElseThrow());
        assertTrue(CT.refusal(SYM4, 64, 256, false).isEmpty());
        SlimqException e = assertThrows(SlimqException.class, () -> CT.plan("w.weight", 64, 256, ASYM4, 3, DType.BF16));
        assertEquals(Failure.UNSUPPORTED, e.failure());
        SlimqException name = assertThrows(SlimqException.class, () -> CT.plan("embed", 64, 256, ASYM4, 0, DType.BF16));
        assertEquals(Failure.UNSUPPORTED, name.failure());
    }

    @Test
    void configOneSchemeTargetsLinearAndIgnoresTheRest() {
        QuantizationSummary s = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("model.layers.0.self_attn.q_proj.weight", 256, 256, ASYM4),
                new QuantizationSummary.Entry("model.layers.0.self_attn.k_proj.weight", 128, 256, ASYM4)),
                List.of("lm_head.weight"));
        ObjectNode in = FormatFixtures.JSON.createObjectNode().put("model_type", "llama").put("torch_dtype", "bfloat16");
        ObjectNode out = CT.updateConfig(in, s);
        assertEquals(FormatFixtures.resourceJson("ct-config-one-scheme.json"), out.toString());
        assertFalse(in.has("quantization_config"), "the input config is not modified");
    }

    @Test
    void configSeveralSchemesTargetModulesByName() {
        QuantScheme channel8 = scheme(8, 512, true, ZeroMode.INTEGER, DType.BF16);
        QuantizationSummary s = new QuantizationSummary(List.of(
                new QuantizationSummary.Entry("model.layers.0.self_attn.q_proj.weight", 256, 256, ASYM4),
                new QuantizationSummary.Entry("model.layers.0.mlp.down_proj.weight", 256, 512, channel8),
                new QuantizationSummary.Entry("model.layers.0.self_attn.k_proj.weight", 128, 256, ASYM4)),
                List.of("lm_head.weight", "model.layers.0.mlp.gate_proj.weight"));
        ObjectNode out = CT.updateConfig(FormatFixtures.JSON.createObjectNode().put("model_type", "llama"), s);
        assertEquals(FormatFixtures.resourceJson("ct-config-two-schemes.json"), out.toString());
    }
}
