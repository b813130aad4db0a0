package dev.slimq.core.checkpoint;

import static dev.slimq.core.checkpoint.TestCheckpoints.t;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShardPlanTest {

    /** A U8 vector of {@code bytes} bytes. */
    static TensorInfo bytes(String name, long bytes) {
        return t(name, DType.U8, bytes);
    }

    static List<List<String>> names(ShardPlan p) {
        return p.shards().stream().map(s -> s.plan().tensors().stream().map(TensorInfo::name).toList()).toList();
    }

    static List<String> fileNames(ShardPlan p) {
        return p.shards().stream().map(ShardPlan.Shard::fileName).toList();
    }

    static final List<TensorInfo> FIVE = List.of(bytes("t0", 40), bytes("t1", 40), bytes("t2", 30), bytes("t3", 100), bytes("t4", 10));

    @Test
    void greedySplitInGivenOrder() {
        // 40+40 = 80 fits; +30 would be 110, so [t0,t1] closes; t3 (100) is over the limit and goes to a
        // shard of its own at once while [t2] stays open; t4 joins it (huggingface_hub's rule).
        ShardPlan p = ShardPlan.of(FIVE, 80, Map.of());
        assertEquals(List.of(List.of("t0", "t1"), List.of("t3"), List.of("t2", "t4")), names(p));
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), fileNames(p));
        assertTrue(p.isSharded());
        assertEquals(220, p.totalSize());
        Map<String, String> wm = new LinkedHashMap<>();
        wm.put("t0", "model-00001-of-00003.safetensors");
        wm.put("t1", "model-00001-of-00003.safetensors");
        wm.put("t3", "model-00002-of-00003.safetensors");
        wm.put("t2", "model-00003-of-00003.safetensors");
        wm.put("t4", "model-00003-of-00003.safetensors");
        assertEquals(wm, p.weightMap());
        assertEquals(List.copyOf(wm.keySet()), List.copyOf(p.weightMap().keySet()), "shard then file order");
        assertEquals(80, p.shards().get(0).plan().dataLength());
        assertEquals(100, p.shards().get(1).plan().dataLength());
        assertEquals(40, p.shards().get(2).plan().dataLength());
    }

    @Test
    void limitIsInclusiveAndOrderMatters() {
        // 30+40+10 = 80 exactly: one shard; 40 opens the next; 100 goes alone before it closes
        List<TensorInfo> ts = List.of(bytes("t2", 30), bytes("t0", 40), bytes("t4", 10), bytes("t1", 40), bytes("t3", 100));
        ShardPlan p = ShardPlan.of(ts, 80, Map.of());
        assertEquals(List.of(List.of("t0", "t2", "t4"), List.of("t3"), List.of("t1")), names(p)); // names sorted inside a file
        assertEquals("model-00003-of-00003.safetensors", fileNames(p).get(2));
        // a limit below every tensor: one tensor per shard
        assertEquals(5, ShardPlan.of(FIVE, 1, Map.of()).shards().size());
    }

    @Test
    void oneShardIsModelSafetensors() {
        for (long max : new long[] {0, -1, 220, 1L << 40}) {
            ShardPlan p = ShardPlan.of(FIVE, max, Map.of("k", "v"));
            assertEquals(List.of("model.safetensors"), fileNames(p), "max " + max);
            assertFalse(p.isSharded());
            assertEquals(220, p.totalSize());
            assertEquals(Map.of("k", "v", "format", "pt"), p.shards().getFirst().plan().metadata());
            assertEquals(5, p.weightMap().size());
        }
        // a limit of 219 holds t0..t3 (210 bytes); t4 would make 220
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"),
                fileNames(ShardPlan.of(FIVE, 219, Map.of())));
    }

    @Test
    void noTensorsGiveOneEmptyFile() {
        ShardPlan p = ShardPlan.of(List.of(), 80, Map.of());
        assertEquals(List.of("model.safetensors"), fileNames(p));
        assertEquals(0, p.totalSize());
        assertTrue(p.weightMap().isEmpty());
    }

    @Test
    void shardNamesUseAsciiDigitsWhateverTheLocale() {
        Locale saved = Locale.getDefault();
        try {
            for (String tag : List.of("ar-EG", "fa-IR", "th-TH-u-nu-thai", "hi-IN-u-nu-deva")) {
                Locale.setDefault(Locale.forLanguageTag(tag));
                assertEquals("model-00003-of-00003.safetensors", fileNames(ShardPlan.of(FIVE, 80, Map.of())).get(2), tag);
            }
        } finally {
            Locale.setDefault(saved);
        }
    }

    @Test
    void namesHaveFiveDigitsUpTo99999AndGrowBeyond() {
        List<TensorInfo> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.add(bytes("t" + i, 1));
        }
        List<String> names = fileNames(ShardPlan.of(many, 1, Map.of()));
        assertEquals("model-00001-of-00012.safetensors", names.get(0));
        assertEquals("model-00012-of-00012.safetensors", names.get(11));
    }

    @Test
    void totalSizeCountsDataBytesOfAllDtypes() {
        List<TensorInfo> ts = List.of(t("a", DType.F32, 3, 5), t("b", DType.BF16, 7), t("c", DType.F4, 4), t("d", DType.F64));
        ShardPlan p = ShardPlan.of(ts, 16, Map.of());
        assertEquals(60 + 14 + 2 + 8, p.totalSize());
        assertEquals(p.shards().stream().mapToLong(s -> s.plan().dataLength()).sum(), p.totalSize());
    }
}
