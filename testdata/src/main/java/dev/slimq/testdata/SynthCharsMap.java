package dev.slimq.testdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Base64;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * SentencePiece {@code precompiled_charsmap} blobs for synthetic tokenizers, written from the format
 * (sentencepiece {@code normalizer.cc}, Darts-clone's double array): a little-endian {@code u32} byte
 * length of the trie units, the units, then the NUL-terminated replacement strings. A node at position
 * {@code p} gets a base {@code b} no other node uses with every child position {@code b ^ label} free;
 * its unit holds the XOR offset {@code p ^ b} in bits 10.., its label in bits 0..7 and a has-leaf flag in
 * bit 8; a key's value (its replacement's offset) sits at {@code b ^ 0} with bit 31 set. The unit array
 * is padded to whole blocks of 256 units, as Darts-clone's is, because readers (llama.cpp's
 * {@code xcda_array_view}) look up {@code base ^ byte} for any input byte and reject positions past the
 * end. First fit, no compaction: meant for small rule sets. (core's tests carry their own copy of this
 * writer so that its reader is checked against code it does not share.)
 *
 * <p>{@link #usePrecompiled} turns {@link SynthUnigram}'s plain {@code Nmt + NFKC} normalizer into the
 * layout of a real XLM-R tokenizer.json: {@code Precompiled} with {@link #XLMR_RULES}, then the
 * {@code Replace(" {2,}", " ")} it keeps.
 */
public final class SynthCharsMap {
    private SynthCharsMap() {
    }

    /**
     * A small NFKC-like rule set: fullwidth ASCII to ASCII, the ideographic and no-break spaces to a
     * space, the fi/fl ligatures, the ellipsis, and a decomposed {@code e + U+0301} composed.
     */
    public static final Map<String, String> XLMR_RULES = xlmrRules();

    private static Map<String, String> xlmrRules() {
        Map<String, String> r = new TreeMap<>();
        for (char c = '!'; c <= '~'; c++) {
            r.put(String.valueOf((char) (c - '!' + 0xFF01)), String.valueOf(c));
        }
        r.put("\u3000", " ");
        r.put("\u00A0", " ");
        r.put("\uFB01", "fi");
        r.put("\uFB02", "fl");
        r.put("\u2026", "...");
        r.put("e\u0301", "\u00E9");
        return Map.copyOf(r);
    }

    private static final class Node {
        final TreeMap<Integer, Node> children = new TreeMap<>();
        int value = -1;
        int pos;
    }

    /** The charsmap bytes for {@code rules} (source text to replacement; a replacement may be empty). */
    public static byte[] build(Map<String, String> rules) {
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        Node root = new Node();
        for (Map.Entry<String, String> r : new TreeMap<>(rules).entrySet()) {
            Node n = root;
            for (byte b : r.getKey().getBytes(StandardCharsets.UTF_8)) {
                n = n.children.computeIfAbsent(b & 0xFF, k -> new Node());
            }
            n.value = blob.size();
            blob.writeBytes(r.getValue().getBytes(StandardCharsets.UTF_8));
            blob.write(0);
        }
        int[] units = new int[1 << 12];
        BitSet used = new BitSet();
        used.set(0); // the root
        Set<Integer> bases = new HashSet<>();
        Deque<Node> queue = new ArrayDeque<>();
        queue.add(root);
        while (!queue.isEmpty()) {
            Node n = queue.poll();
            int base = 1;
            while (!fits(base, n, used, bases)) {
                base++;
            }
            bases.add(base);
            int offset = n.pos ^ base;
            if (offset >= 1 << 21) {
                throw new IllegalStateException("offset needs the extension bit; rule set too large for this writer");
            }
            units = grow(units, base + 256);
            units[n.pos] |= offset << 10;
            if (n.value >= 0) {
                used.set(base);
                units[base] = n.value | 0x80000000;
            }
            for (Map.Entry<Integer, Node> c : n.children.entrySet()) {
                int p = base ^ c.getKey();
                used.set(p);
                Node child = c.getValue();
                child.pos = p;
                units[p] = c.getKey() | (child.value >= 0 ? 1 << 8 : 0);
                queue.add(child);
            }
        }
        int size = (used.length() + 255) / 256 * 256;
        units = grow(units, size);
        ByteBuffer out = ByteBuffer.allocate(4 + size * 4 + blob.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(size * 4);
        for (int i = 0; i < size; i++) {
            out.putInt(units[i]);
        }
        out.put(blob.toByteArray());
        return out.array();
    }

    /**
     * Rewrites {@code dir/tokenizer.json} (a {@link SynthUnigram} one) so its normalizer is
     * {@code Sequence[Precompiled(XLMR_RULES), Replace(" {2,}", " ")]}, as real XLM-R tokenizers have it.
     */
    public static void usePrecompiled(Path dir) {
        Path p = dir.resolve("tokenizer.json");
        try {
            JsonNode root = Json.MAPPER.readTree(p.toFile());
            ArrayNode old = (ArrayNode) root.path("normalizer").path("normalizers");
            if (old.size() != 3 || !"Replace".equals(old.get(2).path("type").asText())) {
                throw new SlimqException(Failure.BAD_INPUT, p + " is not a SynthUnigram tokenizer.json");
            }
            ObjectNode pre = Json.MAPPER.createObjectNode();
            pre.put("type", "Precompiled");
            pre.put("precompiled_charsmap", Base64.getEncoder().encodeToString(build(XLMR_RULES)));
            JsonNode replace = old.get(2);
            old.removeAll();
            old.add(pre);
            old.add(replace);
            Files.writeString(p, Json.python(root), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SlimqException(Failure.IO, "cannot rewrite " + p + ": " + e.getMessage());
        }
    }

    private static boolean fits(int base, Node n, BitSet used, Set<Integer> bases) {
        if (bases.contains(base) || (n.value >= 0 && used.get(base))) {
            return false;
        }
        for (int label : n.children.keySet()) {
            if (used.get(base ^ label)) {
                return false;
            }
        }
        return true;
    }

    private static int[] grow(int[] a, int need) {
        return a.length >= need ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }
}
