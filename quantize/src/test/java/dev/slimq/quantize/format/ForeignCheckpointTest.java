package dev.slimq.quantize.format;

import static dev.slimq.core.checkpoint.Checkpoint.open;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints as other tools write them, built tensor by tensor here with a packer written from the
 * spec (not slimq's writers), and hostile variants: act-order GPTQ, v1 zeros, older compressed-tensors
 * zero points, legacy quantize_config.json, unknown methods, malformed slimq tensors.
 */
class ForeignCheckpointTest {

    @TempDir
    Path dir;

    private static TensorInfo t(String name, DType d, long... shape) {
        return TensorInfo.planned(name, d, shape);
    }

    /** A GPTQ 4-bit module with act-order: g_idx a permutation of c / g, checked against a direct computation. */
    @Test
    void gptqWithShuffledGroupIndexDequantizesExactly() {
        for (boolean v2 : new boolean[] {true, false}) {
            int in = 64;
            int out = 16;
            int gs = 16;
            int groups = in / gs;
            Random rnd = new Random(v2 ? 11 : 12);
            int[][] q = new int[in][out];
            for (int[] row : q) {
                for (int n = 0; n < out; n++) {
                    row[n] = rnd.nextInt(16);
                }
            }
            float[][] scale = new float[groups][out];
            int[][] zero = new int[groups][out];
            for (int g = 0; g < groups; g++) {
                for (int n = 0; n < out; n++) {
                    scale[g][n] = Float.float16ToFloat(Float.floatToFloat16((float) rnd.nextDouble()));
                    zero[g][n] = 1 + rnd.nextInt(15);
                }
            }
            // Act-order: each group is a random set of columns, as GPTQ's permutation leaves them.
            int[] gIdx = new int[in];
            for (int c = 0; c < in; c++) {
                gIdx[c] = c / gs;
            }
            for (int c = in - 1; c > 0; c--) {
                int j = rnd.nextInt(c + 1);
                int tmp = gIdx[c];
                gIdx[c] = gIdx[j];
                gIdx[j] = tmp;
            }
            // Pack from the spec: qweight[k][n] = sum_t q[8k + t][n] << 4t; qzeros[g][w] = sum_t z[g][8w + t] << 4t.
            int[] qweight = new int[in / 8 * out];
            for (int k = 0; k < in / 8; k++) {
                for (int n = 0; n < out; n++) {
                    for (int tt = 0; tt < 8; tt++) {
                        qweight[k * out + n] |= q[8 * k + tt][n] << (4 * tt);
                    }
                }
            }
            int[] qzeros = new int[groups * out / 8];
            float[] scales = new float[groups * out];
            for (int g = 0; g < groups; g++) {
                for (int n = 0; n < out; n++) {
                    int stored = v2 ? zero[g][n] : zero[g][n] - 1;
                    qzeros[g * out / 8 + n / 8] |= stored << (4 * (n % 8));
                    scales[g * out + n] = scale[g][n];
                }
            }
            Map<TensorInfo, Object> tensors = new LinkedHashMap<>();
            tensors.put(t("model.layers.0.mlp.down_proj.qweight", DType.I32, in / 8, out), qweight);
            tensors.put(t("model.layers.0.mlp.down_proj.qzeros", DType.I32, groups, out / 8), qzeros);
            tensors.put(t("model.layers.0.mlp.down_proj.scales", DType.F16, groups, out), scales);
            tensors.put(t("model.layers.0.mlp.down_proj.g_idx", DType.I32, in), gIdx);
            tensors.put(t("model.layers.0.mlp.down_proj.bias", DType.F16, out), new float[out]);
            String config = "{\"model_type\":\"llama\",\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,"
                    + "\"group_size\":16,\"desc_act\":true,\"sym\":false" + (v2 ? ",\"checkpoint_format\":\"gptq_v2\"" : "") + "}}";
            try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("v2" + v2), tensors, config)) {
                QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
                assertInstanceOf(GptqReader.class, r);
                String w = "model.layers.0.mlp.down_proj.weight";
                float[] got = r.dequantize(w);
                for (int n = 0; n < out; n++) {
                    for (int ci = 0; ci < in; ci++) {
                        int g = gIdx[ci];
                        float expected = scale[g][n] * (q[ci][n] - zero[g][n]);
                        assertEquals(expected, got[n * in + ci], "row " + n + " col " + ci);
                    }
                }
                assertTrue(!r.storageTensors().contains("model.layers.0.mlp.down_proj.bias"));
                SlimqException e = assertThrows(SlimqException.class, () -> r.read(w));
                assertEquals(Failure.UNSUPPORTED, e.failure());
                assertTrue(e.getMessage().contains("act-order"), e.getMessage());
            }
        }
    }

    /** A v1 zero stored as 15 means 16 (AutoGPTQ forward adds 1 after masking). */
    @Test
    void gptqV1StoredFifteenMeansSixteen() {
        Map<TensorInfo, Object> tensors = new LinkedHashMap<>();
        tensors.put(t("l.qweight", DType.I32, 1, 8), new int[] {15, 15, 15, 15, 15, 15, 15, 15});
        tensors.put(t("l.qzeros", DType.I32, 1, 1), new int[] {0xFFFFFFFF});
        tensors.put(t("l.scales", DType.F16, 1, 8), new float[] {1, 1, 1, 1, 1, 1, 1, 1});
        String config = "{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":-1,\"desc_act\":false,\"sym\":false}}";
        try (Checkpoint c = FormatFixtures.writeRaw(dir, tensors, config)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            assertArrayEquals(new long[] {8, 8}, r.shape("l.weight"));
            float[] w = r.dequantize("l.weight");
            // Row n, column 0 holds code 15; every other column code 0.
            assertEquals(-1f, w[0]);
            assertEquals(-16f, w[1]);
            assertEquals(16f, r.read("l.weight").zeros()[0]);
        }
    }

    /** GPTQ config only in the legacy quantize_config.json. */
    @Test
    void gptqLegacyQuantizeConfigFile() throws Exception {
        Map<TensorInfo, Object> tensors = new LinkedHashMap<>();
        tensors.put(t("l.qweight", DType.I32, 1, 8), new int[] {0x76543210, 0, 0, 0, 0, 0, 0, 0});
        tensors.put(t("l.qzeros", DType.I32, 1, 1), new int[] {0x77777777});
        tensors.put(t("l.scales", DType.F16, 1, 8), new float[] {2, 1, 1, 1, 1, 1, 1, 1});
        tensors.put(t("l.g_idx", DType.I32, 8), new int[8]);
        FormatFixtures.writeRaw(dir, tensors, "{\"model_type\":\"llama\"}").close();
        Files.writeString(dir.resolve("quantize_config.json"), "{\"bits\":4,\"group_size\":8,\"desc_act\":false,\"sym\":true}");
        try (Checkpoint c = open(dir)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            float[] w = r.dequantize("l.weight");
            // Row 0: codes 0..7, zero 8, scale 2.
            assertArrayEquals(new float[] {-16, -14, -12, -10, -8, -6, -4, -2}, java.util.Arrays.copyOf(w, 8));
            assertTrue(r.read("l.weight").scheme().symmetric());
        }
    }

    /** Older compressed-tensors saved zero points unpacked as signed int8: zero = zp + 2^(bits-1). */
    @Test
    void compressedTensorsUnpackedSignedZeroPoints() {
        Map<TensorInfo, Object> tensors = new LinkedHashMap<>();
        tensors.put(t("m.weight_packed", DType.I32, 2, 1), new int[] {0x76543210, 0x00000000});
        tensors.put(t("m.weight_scale", DType.F32, 2, 1), new float[] {1, 0.5f});
        tensors.put(t("m.weight_zero_point", DType.I8, 2, 1), new byte[] {-8, 3});
        tensors.put(t("m.weight_shape", DType.I32, 2), new int[] {2, 8});
        String config = "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\","
                + "\"config_groups\":{\"group_0\":{\"targets\":[\"re:.*\"],\"weights\":{\"num_bits\":4,\"type\":\"int\","
                + "\"symmetric\":false,\"strategy\":\"channel\"}}}}}";
        try (Checkpoint c = FormatFixtures.writeRaw(dir, tensors, config)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            assertEquals(java.util.List.of("m.weight"), r.weights());
            float[] w = r.dequantize("m.weight");
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5, 6, 7, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f}, w);
        }
    }

    @Test
    void unknownOrUnreadableQuantizationsAreRefused() {
        Map<TensorInfo, Object> tensors = new LinkedHashMap<>();
        tensors.put(t("l.qweight", DType.I32, 1, 8), new int[8]);
        try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("awq"), tensors, "{\"quantization_config\":{\"quant_method\":\"awq\"}}")) {
            assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> QuantFormat.detect(c)).failure());
        }
        try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("bare"), tensors, null)) {
            assertEquals(Failure.BAD_INPUT, assertThrows(SlimqException.class, () -> QuantFormat.detect(c)).failure());
        }
        try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("marlin"), tensors,
                "{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"checkpoint_format\":\"marlin\"}}")) {
            assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> QuantFormat.detect(c)).failure());
        }
        try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("fp8"), tensors,
                "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"float-quantized\","
                        + "\"config_groups\":{\"g\":{\"targets\":[\"Linear\"],\"weights\":{\"num_bits\":8,\"type\":\"float\"}}}}}")) {
            assertEquals(Failure.UNSUPPORTED, assertThrows(SlimqException.class, () -> QuantFormat.detect(c)).failure());
        }
        Map<TensorInfo, Object> plain = new LinkedHashMap<>();
        plain.put(t("w.weight", DType.F32, 2, 2), new float[4]);
        try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve("float"), plain, "{\"model_type\":\"llama\"}")) {
            assertTrue(QuantFormat.detect(c).isEmpty());
        }
    }

    /** Malformed slimq tensors are BAD_INPUT naming the tensor, never an index error. */
    @Test
    void hostileSlimqTensors() {
        Map<TensorInfo, Object> base = new LinkedHashMap<>();
        base.put(t("w.qcodes", DType.U8, 2, 2), new byte[] {0x10, 0x32, 0x54, 0x76});
        base.put(t("w.qscales", DType.F16, 2, 1), new float[] {1, 1});
        String[] cases = {"bits", "group", "flags", "rowptr", "column", "codesShape"};
        for (String k : cases) {
            Map<TensorInfo, Object> m = new LinkedHashMap<>(base);
            int[] meta = {1, 2, 4, 4, 4, 1};
            switch (k) {
                case "bits" -> meta[3] = 5;
                case "group" -> meta[4] = 3;
                case "flags" -> meta[5] = 3;
                case "rowptr", "column" -> {
                    meta[5] = 1 | 4;
                    m.put(t("w.outlier_rowptr", DType.I32, 3), k.equals("rowptr") ? new int[] {0, 5, 2} : new int[] {0, 1, 2});
                    m.put(t("w.outlier_cols", DType.U16, 2), k.equals("rowptr") ? new short[] {0, 1} : new short[] {1, 4});
                    m.put(t("w.outlier_values", DType.F16, 2), new float[] {1, 1});
                }
                default -> {
                    m.remove(t("w.qcodes", DType.U8, 2, 2));
                    m.put(t("w.qcodes", DType.U8, 2, 3), new byte[6]);
                }
            }
            m.put(t("w.qmeta", DType.I32, 6), meta);
            try (Checkpoint c = FormatFixtures.writeRaw(dir.resolve(k), m, null)) {
                QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
                SlimqException e = assertThrows(SlimqException.class, () -> r.dequantize("w"), k);
                assertEquals(Failure.BAD_INPUT, e.failure(), k + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("w."), k + ": " + e.getMessage());
            }
        }
    }
}
