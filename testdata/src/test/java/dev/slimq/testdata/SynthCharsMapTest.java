package dev.slimq.testdata;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimq.core.tokenizer.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCharsMapTest {
    /**
     * One rule "a" -> "b", laid out by hand: the root (unit 0) takes base 1, so its child for 'a' (0x61)
     * sits at 1 ^ 0x61 = 0x60 with label 0x61 and the has-leaf bit; that node takes the next free base, 2
     * (offset 0x60 ^ 2 = 0x62), whose unit holds the value 0 (offset of "b") with bit 31. Units are padded
     * to one 256-unit block.
     */
    @Test
    void oneRuleAsLaidOutByHand() {
        byte[] raw = SynthCharsMap.build(Map.of("a", "b"));
        assertEquals(4 + 256 * 4 + 2, raw.length);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1024, b.getInt(0));
        int[] units = new int[256];
        for (int i = 0; i < 256; i++) {
            units[i] = b.getInt(4 + 4 * i);
        }
        int[] expected = new int[256];
        expected[0] = 1 << 10;
        expected[0x60] = 0x61 | 1 << 8 | 0x62 << 10;
        expected[2] = 0x80000000;
        assertArrayEquals(expected, units);
        assertEquals('b', raw[4 + 1024]);
        assertEquals(0, raw[4 + 1025]);
    }

    @Test
    void precompiledNormalizerFoldsFullwidthAndLigatures(@TempDir Path dir) {
        SynthUnigram.write(SynthSpec.tinyBert(), dir.resolve("m"), new SynthCheckpoint.Options(false, 1));
        SynthCharsMap.usePrecompiled(dir.resolve("m"));
        Tokenizer t = Tokenizer.load(dir.resolve("m").resolve("tokenizer.json"));
        assertArrayEquals(t.encode("Full width: fish flour... 123", true).ids(),
                t.encode("Ｆｕｌｌ\u3000ｗｉｄｔｈ： \uFB01sh \uFB02our\u2026 １２３", true).ids());
    }
}
