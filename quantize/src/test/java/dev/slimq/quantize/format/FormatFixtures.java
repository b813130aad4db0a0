package dev.slimq.quantize.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Random logical tensors, checkpoints written through a format, and raw reads of what was written. */
final class FormatFixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FormatFixtures() {
    }

    static QuantScheme scheme(int bits, int groupSize, boolean symmetric, ZeroMode mode, DType scales) {
        return new QuantScheme(bits, groupSize, symmetric, mode, scales);
    }

    /** {@code v} rounded to {@code dtype} (F16, BF16 or F32), as the logical form requires. */
    static float round(float v, DType dtype) {
        return switch (dtype) {
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> Float.intBitsToFloat(FloatCodec.floatToBf16(v) << 16);
            default -> v;
        };
    }

    /**
     * A random tensor in the logical form: uniform codes, positive scales, zeros in the code range
     * (integer mode) or around it (float mode), and about {@code outlierFraction} of positions as
     * F16 residuals.
     */
    static QuantizedTensor random(String name, int rows, int cols, QuantScheme s, double outlierFraction, long seed) {
        Random rnd = new Random(seed);
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) rnd.nextInt(s.maxCode() + 1);
        }
        int groups = rows * s.groupsPerRow(cols);
        float[] scales = new float[groups];
        float[] zeros = new float[groups];
        for (int g = 0; g < groups; g++) {
            scales[g] = round((float) (0.001 + rnd.nextDouble() * 0.05), s.scaleDtype());
            if (s.symmetric()) {
                zeros[g] = s.symmetricZero();
            } else if (s.zeroMode() == ZeroMode.INTEGER) {
                zeros[g] = rnd.nextInt(s.maxCode() + 1);
            } else {
                zeros[g] = round((float) (rnd.nextDouble() * (s.maxCode() + 2) - 1), s.scaleDtype());
            }
        }
        Outliers outliers = null;
        if (outlierFraction > 0) {
            int[] rowPtr = new int[rows + 1];
            List<Integer> colList = new ArrayList<>();
            List<Float> valList = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    if (rnd.nextDouble() < outlierFraction) {
                        colList.add(c);
                        valList.add(round((float) rnd.nextGaussian(), DType.F16));
                    }
                }
                rowPtr[r + 1] = colList.size();
            }
            float[] vals = new float[valList.size()];
            for (int i = 0; i < vals.length; i++) {
                vals[i] = valList.get(i);
            }
            outliers = new Outliers(rowPtr, colList.stream().mapToInt(Integer::intValue).toArray(), vals);
        }
        return new QuantizedTensor(name, rows, cols, s, codes, scales, zeros, outliers);
    }

    /** A tensor with the given codes (row-major), unit scales and the given zeros. */
    static QuantizedTensor withCodes(String name, int rows, int cols, QuantScheme s, int[] codes, float[] zeros) {
        byte[] b = new byte[codes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) codes[i];
        }
        float[] scales = new float[zeros.length];
        java.util.Arrays.fill(scales, 1f);
        return new QuantizedTensor(name, rows, cols, s, b, scales, zeros, null);
    }

    static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    static QuantizationSummary summaryOf(List<QuantizedTensor> qs, List<String> unquantized) {
        return new QuantizationSummary(qs.stream()
                .map(q -> new QuantizationSummary.Entry(q.name(), q.rows(), q.cols(), q.scheme())).toList(), unquantized);
    }

    /**
     * Writes {@code dir/model.safetensors} holding {@code qs} in format {@code f} (planned first, as the
     * quantize command does) and {@code dir/config.json} with the format's quantization_config, then
     * opens it.
     */
    static Checkpoint write(Path dir, QuantFormat f, List<QuantizedTensor> qs, DType original) {
        List<TensorInfo> planned = new ArrayList<>();
        for (QuantizedTensor q : qs) {
            planned.addAll(f.plan(q.name(), q.rows(), q.cols(), q.scheme(), q.outliers().count(), original));
        }
        ObjectNode config = JSON.createObjectNode().put("model_type", "llama");
        config = f.updateConfig(config, summaryOf(qs, List.of()));
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), config.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), WritePlan.of(planned))) {
            for (QuantizedTensor q : qs) {
                f.write(q, original, w::open);
            }
            w.commit();
        }
        return Checkpoint.open(dir);
    }

    /** Writes plain tensors (given as raw values per dtype) and a config into {@code dir}, then opens it. */
    static Checkpoint writeRaw(Path dir, Map<TensorInfo, Object> tensors, String configJson) {
        try {
            Files.createDirectories(dir);
            if (configJson != null) {
                Files.writeString(dir.resolve("config.json"), configJson);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), WritePlan.of(tensors.keySet()))) {
            for (Map.Entry<TensorInfo, Object> e : tensors.entrySet()) {
                try (SafetensorsWriter.TensorSink s = w.open(e.getKey().name()); SinkWriter sw = new SinkWriter(s)) {
                    switch (e.getValue()) {
                        case int[] a -> {
                            for (int v : a) {
                                sw.putInt(v);
                            }
                        }
                        case float[] a -> sw.putFloats(a, 0, a.length);
                        case byte[] a -> sw.putBytes(a, 0, a.length);
                        case short[] a -> {
                            for (short v : a) {
                                sw.putShort(v);
                            }
                        }
                        default -> throw new IllegalArgumentException(e.getValue().getClass().toString());
                    }
                }
            }
            w.commit();
        }
        return Checkpoint.open(dir);
    }

    static int[] ints(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        int[] out = new int[(int) t.elementCount()];
        try (TensorView v = c.map(name)) {
            for (int i = 0; i < out.length; i++) {
                out[i] = v.segment().get(I32, 4L * i);
            }
        }
        return out;
    }

    static long[] longs(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        long[] out = new long[(int) t.elementCount()];
        try (TensorView v = c.map(name)) {
            for (int i = 0; i < out.length; i++) {
                out[i] = v.segment().get(I64, 8L * i);
            }
        }
        return out;
    }

    static byte[] bytes(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        byte[] out = new byte[(int) t.byteCount()];
        try (TensorView v = c.map(name)) {
            v.segment().asByteBuffer().get(out);
        }
        return out;
    }

    static float[] floats(Checkpoint c, String name) {
        TensorInfo t = c.tensor(name);
        float[] out = new float[(int) t.elementCount()];
        try (TensorView v = c.map(name)) {
            v.readFloats(0, out, 0, out.length);
        }
        return out;
    }

    /** A JSON resource under {@code /format/}, re-serialized compactly (key order kept). */
    static String resourceJson(String name) {
        try (InputStream in = FormatFixtures.class.getResourceAsStream("/format/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /format/" + name);
            }
            JsonNode n = JSON.readTree(in);
            return JSON.writeValueAsString(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
