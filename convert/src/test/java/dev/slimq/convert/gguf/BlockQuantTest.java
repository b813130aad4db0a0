package dev.slimq.convert.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.quantize.method.Quantizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockQuantTest {
    private static final List<String> METHODS = List.of("rtn", "search", "easyquant", "hqq");

    /** Gaussian-ish weights with a few large ones, rows of 96 (three blocks). */
    static float[] weights(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            double g = r.nextDouble() + r.nextDouble() + r.nextDouble() - 1.5;
            x[i] = (float) (0.02 * g * (r.nextInt(50) == 0 ? 6 : 1));
        }
        x[5] = 0;
        x[7] = -0.3f;
        for (int j = 64; j < Math.min(96, x.length); j++) {
            x[j] = 0.01f; // a constant block
        }
        return x;
    }

    private static float[] roundTrip(GgmlType type, QuantizedTensor q, float[] x) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(type.byteSize(x.length));
            BlockQuant.write(type, q, x, seg, 0);
            float[] y = new float[x.length];
            GgmlBlocks.decode(type, seg, 0, y, 0, y.length);
            return y;
        }
    }

    @Test
    void q4_0AndQ8_0DecodeExactlyToTheMethodsResult() {
        int rows = 7;
        int cols = 96;
        float[] x = weights(rows, cols, 1);
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q8_0)) {
            for (String m : METHODS) {
                Quantizer method = BlockQuant.method(m).orElseThrow();
                QuantizedTensor q = method.quantize("w", x, rows, cols, BlockQuant.scheme(type));
                float[] want = q.dequantize();
                float[] got = roundTrip(type, q, x);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), type + " " + m + " at " + i);
                }
            }
        }
    }

    @Test
    void q8_0HoldsMinus128() {
        // A symmetric 8-bit code 0 is q = -128: ggml's int8 stores it and dequantizes it as d * -128.
        QuantizedTensor q = BlockQuant.method("rtn").orElseThrow().quantize("w", weights(1, 32, 2), 1, 32, BlockQuant.scheme(GgmlType.Q8_0));
        byte[] codes = q.codes().clone();
        codes[3] = 0;
        QuantizedTensor forced = new QuantizedTensor("w", 1, 32, q.scheme(), codes, q.scales(), q.zeros(), null);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(34);
            BlockQuant.write(GgmlType.Q8_0, forced, new float[32], seg, 0);
            assertEquals(-128, seg.get(ValueLayout.JAVA_BYTE, 2 + 3));
            float[] y = new float[32];
            GgmlBlocks.decode(GgmlType.Q8_0, seg, 0, y, 0, 32);
            assertEquals(q.scales()[0] * -128, y[3]);
            assertEquals(forced.dequantize()[3], y[3]);
        }
    }

    @Test
    void q4_1StoresTheRecomputedForm() {
        int rows = 5;
        int cols = 96;
        float[] x = weights(rows, cols, 3);
        for (String m : METHODS) {
            QuantizedTensor q = BlockQuant.method(m).orElseThrow().quantize("w", x, rows, cols, BlockQuant.scheme(GgmlType.Q4_1));
            try (Arena a = Arena.ofConfined()) {
                MemorySegment seg = a.allocate(GgmlType.Q4_1.byteSize(x.length));
                BlockQuant.write(GgmlType.Q4_1, q, x, seg, 0);
                float[] y = new float[x.length];
                GgmlBlocks.decode(GgmlType.Q4_1, seg, 0, y, 0, y.length);
                double e = 0;
                double em = 0;
                float[] ref = q.dequantize();
                for (int b = 0; b < x.length / 32; b++) {
                    float d = q.scales()[b];
                    float mm = Float.float16ToFloat(Float.floatToFloat16(-d * q.zeros()[b]));
                    assertEquals(d, Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, 20L * b)), m);
                    assertEquals(mm, Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, 20L * b + 2)), m);
                    for (int j = 0; j < 32; j++) {
                        int i = 32 * b + j;
                        // the stored value is the nearest of the 16 that d and m can express
                        float best = Float.MAX_VALUE;
                        for (int k = 0; k < 16; k++) {
                            best = Math.min(best, Math.abs(k * d + mm - x[i]));
                        }
                        assertEquals(best, Math.abs(y[i] - x[i]), m + " at " + i);
                        e += (y[i] - x[i]) * (double) (y[i] - x[i]);
                        em += (ref[i] - x[i]) * (double) (ref[i] - x[i]);
                    }
                }
                // the recomputation changes the method's result by no more than F16 rounding of m does
                assertTrue(e <= em * 1.05 + 1e-12, m + ": " + e + " vs " + em);
            }
        }
    }

    @Test
    void methodNames() {
        assertTrue(BlockQuant.method("llama.cpp").isEmpty());
        assertEquals("easyquant", BlockQuant.method("EasyQuant").orElseThrow().methodName());
        assertThrows(SlimqException.class, () -> BlockQuant.method("gptq"));
    }
}
