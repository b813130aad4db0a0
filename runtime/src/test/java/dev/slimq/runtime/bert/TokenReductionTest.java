package dev.slimq.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.tokenizer.Encoding;
import dev.slimq.core.tokenizer.Tokenizer;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenReductionTest {
    static final List<String> TEXTS = List.of(
            "the cat sat on the mat",
            "a much longer sentence about models, weights and the quality of compressed encoders that we measure today",
            "hello",
            "Quantization maps floats to a few bits; pruning removes whole heads and neurons from the network.");

    @TempDir
    static Path dir;
    static Tokenizer tokenizer;
    static BertWeights weights;

    @BeforeAll
    static void generate() {
        Path model = dir.resolve("bert");
        SynthCheckpoint.write(SynthSpec.tinyBert(), model);
        tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
        try (Checkpoint ck = Checkpoint.open(model)) {
            weights = BertWeights.load(ck);
        }
    }

    static List<Encoding> batch() {
        List<Encoding> out = new ArrayList<>(TEXTS.stream().map(t -> tokenizer.encode(t, true)).toList());
        out.add(padded(tokenizer.encode(TEXTS.get(1), true), 5));
        return out;
    }

    /** {@code e} with {@code pad} padding tokens (mask 0) appended. */
    static Encoding padded(Encoding e, int pad) {
        int n = e.size() + pad;
        List<String> toks = new ArrayList<>(e.tokens());
        for (int i = 0; i < pad; i++) {
            toks.add("[PAD]");
        }
        return new Encoding(Arrays.copyOf(e.ids(), n), toks, Arrays.copyOf(e.typeIds(), n), Arrays.copyOf(e.starts(), n),
                Arrays.copyOf(e.ends(), n), Arrays.copyOf(e.attentionMask(), n), Arrays.copyOf(e.specialTokensMask(), n));
    }

    @Test
    void parsesSpecs() {
        assertEquals(new TokenReduction.ToMe(8), TokenReduction.parse("tome:r=8"));
        assertEquals(new TokenReduction.DivPrune(0.5, 2), TokenReduction.parse("divprune:keep=0.5@2"));
        assertThrows(SlimqException.class, () -> TokenReduction.parse("tome:r=x"));
        assertThrows(SlimqException.class, () -> TokenReduction.parse("divprune:keep=0.5"));
        assertThrows(SlimqException.class, () -> TokenReduction.parse("tome:r=-1"));
        assertThrows(SlimqException.class, () -> TokenReduction.parse("divprune:keep=0@1"));
        assertThrows(SlimqException.class, () -> TokenReduction.parse("fastv:keep=0.5"));
    }

    @Test
    void withoutReductionBitIdenticalToThePlainForward() {
        List<Encoding> batch = batch();
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder enc = new BertEncoder(weights, pool, LinearKernel.VECTOR);
            for (Pooling p : Pooling.values()) {
                float[][] plain = enc.embed(batch, p);
                float[][] none = enc.embedReduced(batch, p, null).embeddings();
                float[][] r0 = enc.embedReduced(batch, p, new TokenReduction.ToMe(0)).embeddings();
                float[][] keepAll = enc.embedReduced(batch, p, new TokenReduction.DivPrune(1.0, 1)).embeddings();
                for (int b = 0; b < batch.size(); b++) {
                    assertArrayEquals(plain[b], none[b], 0f);
                    assertArrayEquals(plain[b], r0[b], 0f);
                    assertArrayEquals(plain[b], keepAll[b], 0f);
                }
            }
        }
    }

    @Test
    void tomeShrinksByRPerLayerKeepingClsAndOneToken() {
        List<Encoding> batch = batch();
        int layers = weights.layers().length;
        int r = 2;
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder.Reduced red = new BertEncoder(weights, pool, LinearKernel.VECTOR).embedReduced(batch, Pooling.MEAN,
                    new TokenReduction.ToMe(r));
            for (int b = 0; b < batch.size(); b++) {
                int[] counts = red.tokensPerLayer()[b];
                assertEquals(layers + 1, counts.length);
                int valid = Arrays.stream(batch.get(b).attentionMask()).sum();
                assertEquals(valid, counts[0], "layer 0 sees every attended token");
                int expect = valid;
                for (int l = 1; l < layers; l++) {
                    int c = expect - 1;
                    expect = 1 + c - Math.max(0, Math.min(r, c - 1));
                    assertEquals(expect, counts[l], "sequence " + b + " layer " + l);
                }
                assertEquals(counts[layers - 1], counts[layers]);
                assertTrue(counts[layers] >= Math.min(valid, 2));
            }
            // The long text shrinks by exactly r per layer; its padded copy gives the same embedding.
            int[] longCounts = red.tokensPerLayer()[1];
            assertTrue(longCounts[0] - 1 > r * layers, "long text too short for the test");
            for (int l = 1; l < layers; l++) {
                assertEquals(longCounts[l - 1] - r, longCounts[l]);
            }
            assertArrayEquals(longCounts, red.tokensPerLayer()[4]);
            assertArrayEquals(red.embeddings()[1], red.embeddings()[4], 1e-6f);
            // A huge r leaves [CLS] and one token.
            BertEncoder.Reduced all = new BertEncoder(weights, pool, LinearKernel.VECTOR).embedReduced(batch, Pooling.MEAN,
                    new TokenReduction.ToMe(1000));
            if (layers > 1) {
                assertEquals(2, all.tokensPerLayer()[1][1]);
            }
        }
    }

    @Test
    void divpruneKeepsTheFractionOnceAtItsLayer() {
        List<Encoding> batch = batch();
        int layers = weights.layers().length;
        int at = Math.min(1, layers - 1);
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder.Reduced red = new BertEncoder(weights, pool, LinearKernel.VECTOR).embedReduced(batch, Pooling.MEAN,
                    new TokenReduction.DivPrune(0.5, at));
            for (int b = 0; b < batch.size(); b++) {
                int[] counts = red.tokensPerLayer()[b];
                int valid = Arrays.stream(batch.get(b).attentionMask()).sum();
                int c = valid - 1;
                int kept = 1 + (c == 0 ? 0 : Math.max(1, (int) Math.round(0.5 * c)));
                for (int l = 0; l <= layers; l++) {
                    assertEquals(l < at ? valid : kept, counts[l], "sequence " + b + " layer " + l);
                }
            }
        }
        assertThrows(SlimqException.class, () -> {
            try (WorkPool pool = new WorkPool(1)) {
                new BertEncoder(weights, pool, LinearKernel.VECTOR).embedReduced(batch, Pooling.MEAN, new TokenReduction.DivPrune(0.5, layers));
            }
        });
    }

    /**
     * ToMe's exactness for identical tokens: a token duplicated in the sequence gives the same embedding
     * as one copy with size 2 under proportional attention and size-weighted pooling.
     */
    @Test
    void mergedDuplicateEqualsTheUnmergedSequence() {
        Encoding e = tokenizer.encode(TEXTS.get(0), true);
        int n = e.size();
        int h = weights.hidden();
        int dup = 2;
        try (WorkPool pool = new WorkPool(2)) {
            BertEncoder enc = new BertEncoder(weights, pool, LinearKernel.VECTOR);
            float[] x = enc.embeddingOutput(List.of(e));
            float[] withDup = new float[(n + 1) * h];
            System.arraycopy(x, 0, withDup, 0, (dup + 1) * h);
            System.arraycopy(x, dup * h, withDup, (dup + 1) * h, (n - dup) * h);
            float[] sizes = new float[n];
            Arrays.fill(sizes, 1f);
            sizes[dup] = 2f;
            for (Pooling p : Pooling.values()) {
                float[] unmerged = enc.embedFromHidden(withDup, new int[] {n + 1}, null, p, null)[0];
                float[] merged = enc.embedFromHidden(x, new int[] {n}, sizes, p, null)[0];
                assertArrayEquals(unmerged, merged, 1e-5f, p.cliName());
                if (p == Pooling.MEAN) {
                    // Without the sizes the two differ: the check is not vacuous.
                    float[] plain = enc.embedFromHidden(x, new int[] {n}, null, p, null)[0];
                    assertTrue(maxDiff(unmerged, plain) > 1e-4, "sizes should matter");
                }
            }
            // The reducer itself: [CLS], a, a merges the identical pair (r capped at 1) and keeps the embedding.
            float[] three = new float[3 * h];
            System.arraycopy(x, 0, three, 0, h);
            System.arraycopy(x, dup * h, three, h, h);
            System.arraycopy(x, dup * h, three, 2 * h, h);
            for (Pooling p : Pooling.values()) {
                float[] ref = enc.embedFromHidden(three, new int[] {3}, null, p, null)[0];
                float[] red = enc.embedFromHidden(three, new int[] {3}, null, p, new TokenReduction.ToMe(4))[0];
                assertArrayEquals(ref, red, 1e-5f, p.cliName());
            }
        }
    }

    @Test
    void deterministicAcrossThreadCounts() {
        List<Encoding> batch = batch();
        for (TokenReduction red : List.of(new TokenReduction.ToMe(3), new TokenReduction.DivPrune(0.4, Math.min(1, weights.layers().length - 1)))) {
            float[][] ref = null;
            for (int threads : new int[] {1, 2, 3}) {
                float[][] got;
                try (WorkPool pool = new WorkPool(threads)) {
                    got = new BertEncoder(weights, pool, LinearKernel.VECTOR).embedReduced(batch, Pooling.MEAN, red).embeddings();
                }
                if (ref == null) {
                    ref = got;
                } else {
                    for (int b = 0; b < batch.size(); b++) {
                        assertArrayEquals(ref[b], got[b], 0f, red.spec() + " threads " + threads);
                    }
                }
            }
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
