package dev.slimq.testdata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.safetensors.SafetensorsFile;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The statistics promised in {@link WeightRecipe}'s javadoc, measured on written files. */
class WeightRecipeTest {
    @TempDir
    static Path tmp;
    static Path llama;
    static Path bert;

    @BeforeAll
    static void write() {
        llama = tmp.resolve("llama/model.safetensors");
        bert = tmp.resolve("bert/model.safetensors");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), llama.getParent());
        SynthCheckpoint.write(SynthSpec.tinyBert(), bert.getParent());
    }

    /** A tensor as rows of floats (vectors as one row). */
    static float[][] read(Path file, String name) {
        try (SafetensorsFile f = SafetensorsFile.open(file); TensorView v = f.map(name)) {
            TensorInfo t = v.info();
            float[][] m = new float[(int) t.rows()][(int) t.cols()];
            for (int r = 0; r < m.length; r++) {
                v.readFloats((long) r * m[r].length, m[r], 0, m[r].length);
            }
            return m;
        }
    }

    static double[] columnNorms(float[][] m) {
        double[] n = new double[m[0].length];
        for (float[] row : m) {
            for (int c = 0; c < row.length; c++) {
                n[c] += (double) row[c] * row[c];
            }
        }
        return Arrays.stream(n).map(Math::sqrt).toArray();
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Columns whose norm exceeds 3x the median: the outlier input channels. */
    static Set<Integer> outlierColumns(float[][] m) {
        double[] n = columnNorms(m);
        double med = median(n);
        return IntStream.range(0, n.length).filter(c -> n[c] > 3 * med).boxed().collect(Collectors.toSet());
    }

    /** Values outside the given columns. */
    static double[] bulk(float[][] m, Set<Integer> skip) {
        return Arrays.stream(m).flatMapToDouble(row -> IntStream.range(0, row.length).filter(c -> !skip.contains(c))
                .mapToDouble(c -> row[c])).toArray();
    }

    static double std(double[] x) {
        double mean = Arrays.stream(x).average().orElseThrow();
        return Math.sqrt(Arrays.stream(x).map(v -> (v - mean) * (v - mean)).average().orElseThrow());
    }

    static double kurtosis(double[] x) {
        double mean = Arrays.stream(x).average().orElseThrow();
        double m2 = Arrays.stream(x).map(v -> Math.pow(v - mean, 2)).average().orElseThrow();
        double m4 = Arrays.stream(x).map(v -> Math.pow(v - mean, 4)).average().orElseThrow();
        return m4 / (m2 * m2);
    }

    @Test
    void linearWeightsHaveOutlierColumnsSharedByMatricesReadingTheSameInput() {
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            float[][] q = read(llama, p + "self_attn.q_proj.weight");
            double[] qn = columnNorms(q);
            assertTrue(Arrays.stream(qn).max().orElseThrow() > 5 * median(qn), "q_proj max column norm over 5x the median");
            Set<Integer> qOut = outlierColumns(q);
            assertFalse(qOut.isEmpty());
            assertEquals(qOut, outlierColumns(read(llama, p + "self_attn.k_proj.weight")));
            assertEquals(qOut, outlierColumns(read(llama, p + "self_attn.v_proj.weight")));
            Set<Integer> gateOut = outlierColumns(read(llama, p + "mlp.gate_proj.weight"));
            assertEquals(gateOut, outlierColumns(read(llama, p + "mlp.up_proj.weight")));
            assertFalse(gateOut.equals(qOut), "a different input has different outlier channels");
            assertFalse(outlierColumns(read(llama, p + "mlp.down_proj.weight")).isEmpty());
        }
        Set<Integer> query = outlierColumns(read(bert, "encoder.layer.1.attention.self.query.weight"));
        assertFalse(query.isEmpty());
        assertEquals(query, outlierColumns(read(bert, "encoder.layer.1.attention.self.value.weight")));
    }

    @Test
    void theBulkIsHeavyTailed() {
        float[][] gate = read(llama, "model.layers.0.mlp.gate_proj.weight");
        double k = kurtosis(bulk(gate, outlierColumns(gate)));
        assertTrue(k > 3.5, "kurtosis of gate_proj without outlier columns: " + k);
        double ke = kurtosis(bulk(read(llama, "model.embed_tokens.weight"), Set.of()));
        assertTrue(ke > 3.5, "kurtosis of the embedding: " + ke);
    }

    @Test
    void scalesDifferByLayerAndRole() {
        double[] std = new double[2];
        for (int layer = 0; layer < 2; layer++) {
            float[][] up = read(llama, "model.layers." + layer + ".mlp.up_proj.weight");
            std[layer] = std(bulk(up, outlierColumns(up)));
        }
        assertTrue(std[0] > 0.015 && std[0] < 0.025, "layer 0 std " + std[0]);
        assertTrue(std[1] / std[0] > 1.1, "later layers are wider: " + Arrays.toString(std));
        float[][] o = read(llama, "model.layers.0.self_attn.o_proj.weight");
        double oStd = std(bulk(o, outlierColumns(o)));
        assertTrue(oStd < 0.7 * std[0], "o_proj writes to the residual stream with a smaller scale: " + oStd);
    }

    @Test
    void normsAreNearOneAndBiasesSmall() {
        double[] norm = bulk(read(llama, "model.layers.1.post_attention_layernorm.weight"), Set.of());
        double mean = Arrays.stream(norm).average().orElseThrow();
        assertEquals(1.0, mean, 0.03);
        assertTrue(Arrays.stream(norm).allMatch(v -> v > 0.5 && v < 1.5));
        assertTrue(std(norm) > 0.01, "with some noise");
        double[] bias = bulk(read(bert, "encoder.layer.0.intermediate.dense.bias"), Set.of());
        assertEquals(0.0, Arrays.stream(bias).average().orElseThrow(), 0.005);
        assertTrue(std(bias) < 0.02);
    }

    @Test
    void embeddingsHaveAFewRareRowsWithLargerNorms() {
        float[][] e = read(llama, "model.embed_tokens.weight");
        double[] rowNorms = Arrays.stream(e).mapToDouble(r -> Math.sqrt(IntStream.range(0, r.length).mapToDouble(c -> r[c] * r[c]).sum()))
                .toArray();
        double med = median(rowNorms);
        long rare = Arrays.stream(rowNorms).filter(n -> n > 2.5 * med).count();
        assertTrue(rare >= 1 && rare < e.length / 20, rare + " rare rows of " + e.length);
    }

    @Test
    void blocksDependOnlyOnSeedNameAndIndex() {
        WeightRecipe.Tensor t = WeightRecipe.tensors(SynthSpec.tinyLlama()).getFirst();
        float[] a = new float[WeightRecipe.BLOCK_ELEMENTS];
        float[] b = new float[WeightRecipe.BLOCK_ELEMENTS];
        int n = WeightRecipe.fillBlock(t, 5, 0, a);
        assertEquals(t.elements(), n);
        WeightRecipe.fillBlock(WeightRecipe.tensors(SynthSpec.tinyLlama()).get(1), 5, 0, b); // interleaved
        WeightRecipe.fillBlock(t, 5, 0, b);
        assertArrayEquals(a, b);
        WeightRecipe.fillBlock(t, 6, 0, b);
        assertFalse(Arrays.equals(a, b));
    }

    @Test
    void quantileTableIsSymmetricWithUnitVarianceAndHeavyTails() {
        double[] cells = IntStream.range(0, 1 << 16).mapToDouble(i -> WeightRecipe.StandardT5.sample(i << 16 | 0x8000)).toArray();
        assertEquals(0.0, Arrays.stream(cells).sum(), 1e-3);
        assertEquals(1.0, std(cells), 0.02);
        double k = kurtosis(cells);
        assertTrue(k > 5 && k < 9, "truncated t5 kurtosis " + k);
        double max = Arrays.stream(cells).max().orElseThrow();
        assertTrue(max > 6 && max < 12, "largest value " + max + " standard deviations");
    }

    @Test
    void presetsHaveTheDocumentedTensorCounts() {
        assertEquals(21, WeightRecipe.tensors(SynthSpec.tinyLlama()).size());
        assertEquals(20, WeightRecipe.tensors(SynthSpec.tinyLlama().withTiedEmbeddings(true)).size());
        assertEquals(39, WeightRecipe.tensors(SynthSpec.tinyBert()).size());
        assertEquals(22 * 9 + 3, WeightRecipe.tensors(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.B1_1)).size());
        assertEquals(List.of(32000L, 4096L), Arrays.stream(WeightRecipe.tensors(SynthSpec.of(SynthSpec.Arch.LLAMA, SynthSpec.Size.B7))
                .getFirst().shape()).boxed().toList());
    }
}
