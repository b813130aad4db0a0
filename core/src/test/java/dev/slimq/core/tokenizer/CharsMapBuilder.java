package dev.slimq.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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
 * Test-side writer of SentencePiece {@code precompiled_charsmap} blobs, written from the format
 * (sentencepiece {@code normalizer.cc} / Darts-clone's double array) and independently of
 * {@link PrecompiledCharsMap}'s reader: replacement strings NUL-terminated in one blob, keys (UTF-8)
 * in a byte trie laid out as a double array. A node at position {@code p} gets a base {@code b} not used
 * by any other node with every child position {@code b ^ label} free; its unit stores the XOR offset
 * {@code p ^ b} in bits 10.., its own label in bits 0..7 and a has-leaf flag in bit 8; a key's value
 * (its replacement's offset) sits in a unit with bit 31 set at {@code b ^ 0}, the leaf position.
 * Unique bases guarantee that a byte that is no child of a node never lands on a unit carrying that
 * label. First fit, no compaction: fine for test-sized rule sets.
 */
final class CharsMapBuilder {
    private CharsMapBuilder() {
    }

    private static final class Node {
        final TreeMap<Integer, Node> children = new TreeMap<>();
        int value = -1;
        int pos;
    }

    /** The charsmap bytes for {@code rules} (source text to replacement; a replacement may be empty). */
    static byte[] build(Map<String, String> rules) {
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
        root.pos = 0;
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
                throw new IllegalStateException("offset needs the extension bit; rule set too large for this builder");
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
        int size = used.length();
        ByteBuffer out = ByteBuffer.allocate(4 + size * 4 + blob.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(size * 4);
        for (int i = 0; i < size; i++) {
            out.putInt(units[i]);
        }
        out.put(blob.toByteArray());
        return out.array();
    }

    static String buildBase64(Map<String, String> rules) {
        return Base64.getEncoder().encodeToString(build(rules));
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
