package dev.slimq.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-pair encoding as {@code tokenizers/src/models/bpe/model.rs} and {@code bpe/word.rs} apply it: the
 * word starts as single characters (with the continuing-subword prefix / end-of-word suffix where set);
 * a character missing from the vocabulary becomes its {@code <0xNN>} byte tokens when
 * {@code byteFallback} is on and they all exist, else the unknown token (consecutive ones fused when
 * {@code fuseUnk}), else it is dropped. Then, repeatedly, the adjacent pair with the lowest merge rank
 * (leftmost on ties) is merged. With {@code ignoreMerges} (Llama-3) a word that is itself in the
 * vocabulary is taken whole.
 */
record BpeModel(Map<String, Integer> vocab, Map<Long, int[]> merges, String[] idToToken, String unkToken,
                String continuingSubwordPrefix, String endOfWordSuffix, boolean fuseUnk, boolean byteFallback,
                boolean ignoreMerges) implements TokenizerModel {

    /**
     * Builds the merge table from the merges in rank order: each {@code {left, right}} pair maps to
     * {@code {rank, id of left+right}} (the right side without its continuing-subword prefix).
     *
     * @throws IllegalArgumentException naming a merge whose parts or result are not in the vocabulary
     */
    static BpeModel of(Map<String, Integer> vocab, List<String[]> mergeList, String unkToken, String prefix,
                       String suffix, boolean fuseUnk, boolean byteFallback, boolean ignoreMerges) {
        Map<Long, int[]> merges = new HashMap<>(mergeList.size() * 2);
        int prefixLen = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String a = mergeList.get(rank)[0], b = mergeList.get(rank)[1];
            Integer ia = vocab.get(a), ib = vocab.get(b);
            String joined = a + (prefixLen > 0 && b.startsWith(prefix) ? b.substring(prefixLen) : b);
            Integer ij = vocab.get(joined);
            if (ia == null || ib == null || ij == null) {
                throw new IllegalArgumentException("merge " + rank + " (" + a + " " + b + ") is out of the vocabulary");
            }
            merges.putIfAbsent(key(ia, ib), new int[] {rank, ij});
        }
        int max = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        if (max >= Tokenizer.MAX_ID || vocab.values().stream().anyMatch(id -> id < 0)) {
            throw new IllegalArgumentException("token ids must lie in [0, " + Tokenizer.MAX_ID + ")");
        }
        String[] idToToken = new String[max + 1];
        vocab.forEach((t, id) -> idToToken[id] = t);
        return new BpeModel(Map.copyOf(vocab), merges, idToToken, unkToken, prefix, suffix, fuseUnk, byteFallback,
                ignoreMerges);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    @Override
    public List<Token> tokenize(Piece word) {
        int n = word.length();
        if (n == 0) {
            return List.of();
        }
        if (ignoreMerges) {
            Integer id = vocab.get(word.text());
            if (id != null) {
                return List.of(new Token(id, word.text(), 0, n));
            }
        }
        // symbols: id, from, to (code points of the word)
        // As the library's merge_word (bpe/model.rs): symbols are laid end to end by their UTF-8 lengths
        // (Word::add), so offsets count only what was added. A character with no symbol, byte fallback
        // or unk is dropped, moving later offsets left; an unknown character waits as a pending unk
        // (fused with the next unknown when fuseUnk) that is written only before the next known
        // character or at the end of the word, so byte-fallback symbols can come before it.
        int[] byteToCp = new int[n * 4 + 1];
        int totalBytes = 0;
        for (int i = 0; i < n; i++) {
            int len = Chars.utf8(word.cps[i]).length;
            for (int k = 0; k < len; k++) {
                byteToCp[totalBytes++] = i;
            }
        }
        Symbols syms = new Symbols(byteToCp, totalBytes, n);
        Integer unk = unkToken == null ? null : vocab.get(unkToken);
        int pendingUnkLen = -1;
        for (int i = 0; i < n; i++) {
            String s = new String(Character.toChars(word.cps[i]));
            int byteLen = Chars.utf8(word.cps[i]).length;
            String withAffixes = s;
            if (i > 0 && continuingSubwordPrefix != null) {
                withAffixes = continuingSubwordPrefix + withAffixes;
            }
            if (i == n - 1 && endOfWordSuffix != null) {
                withAffixes = withAffixes + endOfWordSuffix;
            }
            Integer id = vocab.get(withAffixes);
            if (id != null) {
                if (pendingUnkLen >= 0) {
                    syms.add(unk, pendingUnkLen);
                    pendingUnkLen = -1;
                }
                syms.add(id, byteLen);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = withAffixes.getBytes(StandardCharsets.UTF_8);
                int[] ids = new int[bytes.length];
                boolean all = true;
                for (int k = 0; k < bytes.length && all; k++) {
                    Integer bid = vocab.get(String.format("<0x%02X>", bytes[k] & 0xFF));
                    all = bid != null;
                    ids[k] = all ? bid : -1;
                }
                if (all) {
                    for (int bid : ids) {
                        syms.add(bid, 1);
                    }
                    continue;
                }
            }
            if (unk != null) {
                if (pendingUnkLen >= 0 && fuseUnk) {
                    pendingUnkLen += byteLen;
                } else {
                    if (pendingUnkLen >= 0) {
                        syms.add(unk, pendingUnkLen);
                    }
                    pendingUnkLen = byteLen;
                }
            }
        }
        if (pendingUnkLen >= 0) {
            syms.add(unk, pendingUnkLen);
        }
        return mergeAll(syms.list);
    }

    /** Symbols laid end to end in UTF-8 bytes; stored as {id, from, to} in code points of the word. */
    private static final class Symbols {
        final List<int[]> list = new ArrayList<>();
        private final int[] byteToCp;
        private final int totalBytes;
        private final int cps;
        private int pos;

        Symbols(int[] byteToCp, int totalBytes, int cps) {
            this.byteToCp = byteToCp;
            this.totalBytes = totalBytes;
            this.cps = cps;
        }

        void add(int id, int byteLen) {
            int from = pos, to = pos + byteLen;
            pos = to;
            // never an empty or out-of-word range, even where affix bytes run past the word's own bytes
            list.add(new int[] {id, cp(from), Math.max(cp(from) + 1, cpEnd(to))});
        }

        private int cp(int b) {
            return b >= totalBytes ? cps - 1 : byteToCp[b];
        }

        private int cpEnd(int b) {
            return b > totalBytes ? cps : byteToCp[b - 1] + 1;
        }
    }

    /**
     * {@code Word::merge_all} in {@code bpe/word.rs}: a queue of candidate pairs ordered by (rank,
     * position); stale entries (a side already merged away) are skipped when popped. O(n log n), so a
     * long unsplit word (Metaspace with {@code split: false} passes whole sentences) stays cheap.
     */
    private List<Token> mergeAll(List<int[]> syms) {
        int n = syms.size();
        int[] id = new int[n], from = new int[n], to = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            id[i] = syms.get(i)[0];
            from[i] = syms.get(i)[1];
            to[i] = syms.get(i)[2];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        java.util.PriorityQueue<Long> queue = new java.util.PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, id[i], id[i + 1], i);
        }
        boolean[] dead = new boolean[n];
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top, rank = (int) (top >>> 32);
            int right = dead[pos] ? -1 : next[pos];
            if (right < 0) {
                continue;
            }
            int[] m = merges.get(key(id[pos], id[right]));
            if (m == null || m[0] != rank) {
                continue; // stale: one side changed since this pair was queued
            }
            id[pos] = m[1];
            to[pos] = to[right];
            dead[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
                offer(queue, id[pos], id[next[pos]], pos);
            }
            if (prev[pos] >= 0) {
                offer(queue, id[prev[pos]], id[pos], prev[pos]);
            }
        }
        List<Token> out = new ArrayList<>();
        for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
            out.add(new Token(id[i], idToToken[id[i]], from[i], to[i]));
        }
        return out;
    }

    private void offer(java.util.PriorityQueue<Long> queue, int left, int right, int pos) {
        int[] m = merges.get(key(left, right));
        if (m != null) {
            queue.add(((long) m[0] << 32) | pos);
        }
    }

    @Override
    public Map<String, Integer> vocab() {
        return vocab;
    }
}
