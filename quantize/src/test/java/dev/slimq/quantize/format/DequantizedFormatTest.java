package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.FormatFixtures.scheme;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DequantizedFormatTest {
    private static final QuantFormat DQ = QuantFormat.DEQUANTIZED;

    @TempDir
    Path dir;

    @Test
    void planIsTheWeightInItsOriginalDtype() {
        assertEquals(List.of(TensorInfo.planned("w.weight", DType.BF16, 3, 64)),
                DQ.plan("w.weight", 3, 64, scheme(4, 32, false, ZeroMode.FLOAT, DType.F16), 5, DType.BF16));
    }

    /** The floats written are QuantizedTensor.dequantize, outliers included, rounded once to the dtype. */
    @Test
    void writesDequantizedFloatsWithOutliers() {
        QuantizedTensor q = FormatFixtures.random("w.weight", 37, 96, scheme(3, 32, false, ZeroMode.FLOAT, DType.F16), 0.05, 7);
        float[] expected = q.dequantize();
        for (DType d : List.of(DType.F32, DType.BF16, DType.F16)) {
            try (Checkpoint c = FormatFixtures.write(dir.resolve(d.wireName()), DQ, List.of(q), d)) {
                float[] got = FormatFixtures.floats(c, "w.weight");
                float[] want = new float[expected.length];
                for (int i = 0; i < want.length; i++) {
                    want[i] = FormatFixtures.round(expected[i], d);
                }
                assertArrayEquals(want, got, d.wireName());
                assertEquals(Optional.empty(), QuantFormat.detect(c));
            }
        }
    }

    @Test
    void configLosesItsQuantizationConfig() {
        ObjectNode in = FormatFixtures.JSON.createObjectNode().put("model_type", "llama");
        in.putObject("quantization_config").put("quant_method", "gptq");
        ObjectNode out = DQ.updateConfig(in, new QuantizationSummary(List.of(), List.of()));
        assertFalse(out.has("quantization_config"));
        assertTrue(in.has("quantization_config"));
        assertEquals("llama", out.get("model_type").asText());
    }
}
