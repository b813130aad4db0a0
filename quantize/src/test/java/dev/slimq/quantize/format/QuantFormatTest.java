package dev.slimq.quantize.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

class QuantFormatTest {

    @Test
    void namesAndLookup() {
        assertEquals(List.of("compressed-tensors", "gptq", "slimq", "dequantized"), QuantFormat.all().stream().map(QuantFormat::name).toList());
        for (QuantFormat f : QuantFormat.all()) {
            assertSame(f, QuantFormat.byName(f.name()));
        }
        SlimqException e = assertThrows(SlimqException.class, () -> QuantFormat.byName("awq"));
        assertEquals(Failure.USAGE, e.failure());
        assertEquals("unknown format 'awq'; expected one of compressed-tensors, gptq, slimq, dequantized", e.getMessage());
    }

    @Test
    void whatQuantizersMustProduce() {
        assertEquals(ZeroMode.INTEGER, QuantFormat.COMPRESSED_TENSORS.zeroMode());
        assertEquals(ZeroMode.INTEGER, QuantFormat.GPTQ.zeroMode());
        assertEquals(ZeroMode.FLOAT, QuantFormat.SLIMQ.zeroMode());
        assertEquals(ZeroMode.FLOAT, QuantFormat.DEQUANTIZED.zeroMode());
        assertFalse(QuantFormat.COMPRESSED_TENSORS.storesOutliers());
        assertFalse(QuantFormat.GPTQ.storesOutliers());
        assertTrue(QuantFormat.SLIMQ.storesOutliers());
        assertTrue(QuantFormat.DEQUANTIZED.storesOutliers());
        assertEquals(DType.BF16, QuantFormat.COMPRESSED_TENSORS.scaleDtype(DType.BF16));
        assertEquals(DType.F16, QuantFormat.COMPRESSED_TENSORS.scaleDtype(DType.F16));
        assertEquals(DType.F16, QuantFormat.GPTQ.scaleDtype(DType.BF16));
        assertEquals(DType.F16, QuantFormat.SLIMQ.scaleDtype(DType.F32));
    }

    @Test
    void summaryModuleNames() {
        assertEquals("model.layers.0.mlp.up_proj", QuantizationSummary.moduleName("model.layers.0.mlp.up_proj.weight"));
        assertEquals("lm_head", QuantizationSummary.moduleName("lm_head.weight"));
        assertEquals("embed", QuantizationSummary.moduleName("embed"));
    }
}
