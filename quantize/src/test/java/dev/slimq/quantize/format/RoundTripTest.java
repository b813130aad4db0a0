package dev.slimq.quantize.format;

import static dev.slimq.quantize.format.FormatFixtures.scheme;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;
import dev.slimq.core.quant.ZeroMode;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random logical tensors, every scheme each format accepts: plan, write into a real safetensors file
 * with the format's config.json, open the checkpoint, detect the format, read back. The lossless
 * formats must give back the identical QuantizedTensor and identical floats.
 */
class RoundTripTest {

    @TempDir
    Path dir;

    private static final List<DType> SCALES = List.of(DType.F16, DType.BF16, DType.F32);

    static Stream<Arguments> compressedTensors() {
        List<Arguments> out = new ArrayList<>();
        for (int bits : new int[] {4, 8}) {
            for (boolean sym : new boolean[] {true, false}) {
                for (int g : new int[] {32, 96}) {
                    for (DType d : SCALES) {
                        // 13 rows: zero points pad the last word row; 96 columns: 8-bit rows of 24 words.
                        out.add(Arguments.of(scheme(bits, g, sym, ZeroMode.INTEGER, d), 13, 96, 0.0));
                    }
                }
            }
        }
        return out.stream();
    }

    static Stream<Arguments> gptq() {
        List<Arguments> out = new ArrayList<>();
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (boolean sym : new boolean[] {true, false}) {
                for (int g : new int[] {32, 128}) {
                    out.add(Arguments.of(scheme(bits, g, sym, ZeroMode.INTEGER, DType.F16), 64, 128, 0.0));
                }
            }
        }
        return out.stream();
    }

    static Stream<Arguments> slimq() {
        List<Arguments> out = new ArrayList<>();
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int zero = 0; zero < 3; zero++) {
                for (int g : new int[] {8, 40}) {
                    for (DType d : SCALES) {
                        for (double outliers : new double[] {0, 0.05}) {
                            QuantScheme s = switch (zero) {
                                case 0 -> scheme(bits, g, true, ZeroMode.INTEGER, d);
                                case 1 -> scheme(bits, g, false, ZeroMode.INTEGER, d);
                                default -> scheme(bits, g, false, ZeroMode.FLOAT, d);
                            };
                            out.add(Arguments.of(s, 11, 40, outliers));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("compressedTensors")
    void compressedTensorsRoundTrips(QuantScheme s, int rows, int cols, double outliers) {
        roundTrip(QuantFormat.COMPRESSED_TENSORS, s, rows, cols, outliers);
    }

    @ParameterizedTest
    @MethodSource("gptq")
    void gptqRoundTrips(QuantScheme s, int rows, int cols, double outliers) {
        roundTrip(QuantFormat.GPTQ, s, rows, cols, outliers);
    }

    @ParameterizedTest
    @MethodSource("slimq")
    void slimqRoundTrips(QuantScheme s, int rows, int cols, double outliers) {
        roundTrip(QuantFormat.SLIMQ, s, rows, cols, outliers);
    }

    private void roundTrip(QuantFormat f, QuantScheme s, int rows, int cols, double outlierFraction) {
        assertTrue(f.refusal(s, rows, cols, outlierFraction > 0).isEmpty());
        QuantizedTensor q = FormatFixtures.random("model.layers.3.mlp.up_proj.weight", rows, cols, s, outlierFraction,
                s.hashCode() * 31L + rows);
        try (Checkpoint c = FormatFixtures.write(dir, f, List.of(q), DType.BF16)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            assertSame(f, r.format());
            assertEquals(List.of(q.name()), r.weights());
            assertArrayEquals(new long[] {rows, cols}, r.shape(q.name()));
            Set<String> planned = new TreeSet<>();
            for (TensorInfo t : f.plan(q.name(), rows, cols, s, q.outliers().count(), DType.BF16)) {
                planned.add(t.name());
            }
            assertEquals(planned, new TreeSet<>(r.storageTensors()));
            assertEquals(q, r.read(q.name()));
            assertArrayEquals(q.dequantize(), r.dequantize(q.name()));
        }
    }

    /** Several weights with different schemes in one compressed-tensors file: each finds its config group by name. */
    @Test
    void compressedTensorsMixedSchemesFindTheirGroups() {
        List<QuantizedTensor> qs = List.of(
                FormatFixtures.random("m.a.weight", 16, 64, scheme(4, 16, false, ZeroMode.INTEGER, DType.BF16), 0, 1),
                FormatFixtures.random("m.b.weight", 8, 64, scheme(8, 64, true, ZeroMode.INTEGER, DType.BF16), 0, 2),
                FormatFixtures.random("m.c.weight", 24, 32, scheme(4, 32, true, ZeroMode.INTEGER, DType.BF16), 0, 3));
        try (Checkpoint c = FormatFixtures.write(dir, QuantFormat.COMPRESSED_TENSORS, qs, DType.BF16)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            assertEquals(List.of("m.a.weight", "m.b.weight", "m.c.weight"), r.weights());
            for (QuantizedTensor q : qs) {
                assertEquals(q, r.read(q.name()));
            }
        }
    }

    /** Several weights in one slimq file, each with its own scheme and outliers. */
    @Test
    void slimqMixedSchemes() {
        List<QuantizedTensor> qs = List.of(
                FormatFixtures.random("x.weight", 5, 24, scheme(3, 8, false, ZeroMode.FLOAT, DType.F16), 0.1, 4),
                FormatFixtures.random("y.weight", 7, 24, scheme(8, 24, true, ZeroMode.INTEGER, DType.F32), 0, 5),
                FormatFixtures.random("z", 3, 16, scheme(2, 4, false, ZeroMode.INTEGER, DType.BF16), 0.2, 6));
        try (Checkpoint c = FormatFixtures.write(dir, QuantFormat.SLIMQ, qs, DType.BF16)) {
            QuantizedCheckpointReader r = QuantFormat.detect(c).orElseThrow();
            assertEquals(List.of("x.weight", "y.weight", "z"), r.weights());
            for (QuantizedTensor q : qs) {
                assertEquals(q, r.read(q.name()));
                assertArrayEquals(q.dequantize(), r.dequantize(q.name()));
            }
        }
    }
}
