package dev.slimq.core.tokenizer;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece's unigram language model as {@code tokenizers/src/models/unigram/model.rs} applies it
 * ({@code encode_optimized}, then {@code Model::tokenize}): the segmentation of a word is the path
 * through its lattice of vocabulary pieces with the highest total score (scores are log probabilities,
 * summed in {@code double} exactly as the library sums them).
 *
 * <p>The Viterbi pass walks start positions left to right; at each, every piece that begins there is
 * tried shortest first (the trie's common-prefix order), and the best path to a position is replaced only
 * by a strictly better one, so ties go to the earliest start, as in the library. Where no single-character
 * piece begins at a position, an unknown node covering that one character is added with score
 * {@code minScore - 10} ({@code K_UNK_PENALTY}), {@code minScore} being the lowest score in the whole
 * vocabulary. On the way back, consecutive unknown nodes are fused into one string (the library's
 * {@code fuse_unk}, always on for Unigram). Each string of the path then becomes its id; a fused unknown
 * string that is not a piece becomes its {@code <0xNN>} byte pieces when {@code byteFallback} is on and
 * all of them exist, else the unknown id. The token text of an unknown is the covered text itself, not
 * the unknown piece (as the library reports it).
 *
 * <p>Positions are code points; the library works on UTF-8 bytes, but a piece is valid UTF-8, so a
 * piece matching at a character boundary ends at one, and the two lattices are the same.
 */
final class UnigramModel implements TokenizerModel {
    /** {@code K_UNK_PENALTY} in {@code unigram/model.rs}. */
    static final double UNK_PENALTY = 10.0;

    private final String[] pieces;
    private final double[] scores;
    private final Map<String, Integer> vocab;
    private final int unkId;
    private final boolean byteFallback;
    private final double minScore;
    private final CodePointTrie trie;

    /**
     * @param pieces  the vocabulary in id order
     * @param scores  the score of each piece
     * @param unkId   the unknown piece's id, or -1 for none (then text with an unknown character fails)
     * @throws IllegalArgumentException for an empty vocabulary, an unk id outside it, an empty piece or a
     *                                  score that is not finite
     */
    UnigramModel(List<String> pieces, double[] scores, int unkId, boolean byteFallback) {
        if (pieces.isEmpty()) {
            throw new IllegalArgumentException("Unigram vocabulary is empty");
        }
        if (pieces.size() != scores.length) {
            throw new IllegalArgumentException("Unigram vocabulary has " + pieces.size() + " pieces but "
                    + scores.length + " scores");
        }
        if (pieces.size() >= Tokenizer.MAX_ID) {
            throw new IllegalArgumentException("Unigram vocabulary has more than " + Tokenizer.MAX_ID + " pieces");
        }
        if (unkId < -1 || unkId >= pieces.size()) {
            throw new IllegalArgumentException("Unigram unk_id " + unkId + " is not in the vocabulary of "
                    + pieces.size() + " pieces");
        }
        this.pieces = pieces.toArray(String[]::new);
        this.scores = scores.clone();
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        Map<String, Integer> v = new LinkedHashMap<>(pieces.size() * 2);
        double min = Double.POSITIVE_INFINITY;
        trie = new CodePointTrie(pieces.size());
        for (int id = 0; id < this.pieces.length; id++) {
            String p = this.pieces[id];
            if (p.isEmpty()) {
                throw new IllegalArgumentException("Unigram piece " + id + " is empty");
            }
            if (!Double.isFinite(scores[id])) {
                throw new IllegalArgumentException("Unigram piece " + id + " has score " + scores[id]);
            }
            // as the library's HashMap insert: a repeated piece maps to its last id (and that id's score)
            v.put(p, id);
            min = Math.min(min, scores[id]);
        }
        v.forEach(trie::insert);
        this.vocab = Collections.unmodifiableMap(v);
        this.minScore = min;
    }

    @Override
    public List<Token> tokenize(Piece word) {
        int n = word.length();
        if (n == 0) {
            return List.of();
        }
        int[] cps = word.cps;
        double unkScore = minScore - UNK_PENALTY;
        // best path to each position: its score, where its last node starts, that node's id (an unknown
        // node has the unk id, or -2 without one)
        int unknown = unkId >= 0 ? unkId : -2;
        double[] best = new double[n + 1];
        int[] from = new int[n + 1];
        int[] id = new int[n + 1];
        Arrays.fill(from, -1);
        for (int start = 0; start < n; start++) {
            double here = best[start];
            boolean single = false;
            int node = 0;
            for (int end = start; end < n; end++) {
                node = trie.child(node, cps[end]);
                if (node < 0) {
                    break;
                }
                int pid = trie.leaf(node);
                if (pid < 0) {
                    continue;
                }
                double candidate = here + scores[pid];
                if (from[end + 1] < 0 || candidate > best[end + 1]) {
                    best[end + 1] = candidate;
                    from[end + 1] = start;
                    id[end + 1] = pid;
                }
                single |= end == start;
            }
            if (!single) {
                double candidate = here + unkScore;
                if (from[start + 1] < 0 || candidate > best[start + 1]) {
                    best[start + 1] = candidate;
                    from[start + 1] = start;
                    id[start + 1] = unknown;
                }
            }
        }
        // Back from the end; runs of unknown nodes fuse into one span. The library fuses by id, so a
        // literal match of the unk piece's own text fuses with unknown neighbours too.
        List<int[]> spans = new ArrayList<>(); // {from, to, id or -2 for a fused unknown span}
        int end = n;
        int unkEnd = -1;
        while (end > 0) {
            int start = from[end];
            if (id[end] == unknown) {
                if (unkEnd < 0) {
                    unkEnd = end;
                }
            } else {
                if (unkEnd >= 0) {
                    spans.add(new int[] {end, unkEnd, -2});
                    unkEnd = -1;
                }
                spans.add(new int[] {start, end, id[end]});
            }
            end = start;
        }
        if (unkEnd >= 0) {
            spans.add(new int[] {0, unkEnd, -2});
        }
        List<Token> out = new ArrayList<>(spans.size());
        for (int k = spans.size() - 1; k >= 0; k--) {
            int[] s = spans.get(k);
            String text = new String(cps, s[0], s[1] - s[0]);
            if (s[2] >= 0) {
                out.add(new Token(s[2], text, s[0], s[1]));
            } else {
                unknown(text, s[0], s[1], out);
            }
        }
        return out;
    }

    /** A fused unknown span: the piece of that text if there is one, else byte pieces, else unk. */
    private void unknown(String text, int from, int to, List<Token> out) {
        Integer piece = vocab.get(text);
        if (piece != null) {
            out.add(new Token(piece, text, from, to));
            return;
        }
        if (byteFallback) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            List<Token> bs = new ArrayList<>(bytes.length);
            for (byte b : bytes) {
                String name = String.format("<0x%02X>", b & 0xFF);
                Integer bid = vocab.get(name);
                if (bid == null) {
                    bs = null;
                    break;
                }
                bs.add(new Token(bid, name, from, to));
            }
            if (bs != null) {
                out.addAll(bs);
                return;
            }
        }
        if (unkId < 0) {
            throw new SlimqException(Failure.BAD_INPUT, "the text has characters the Unigram vocabulary lacks ("
                    + text + ") and the tokenizer has no unk_id");
        }
        out.add(new Token(unkId, text, from, to));
    }

    @Override
    public Map<String, Integer> vocab() {
        return vocab;
    }

    @Override
    public String unkToken() {
        return unkId < 0 ? null : pieces[unkId];
    }

    /** The lowest piece score: unknown characters cost {@code minScore() - 10}. */
    double minScore() {
        return minScore;
    }

    /**
     * A trie over code points: node 0 is the root; edges live in one open-addressing table keyed by
     * (node, code point), so a 250,000-piece vocabulary costs a few arrays rather than a map per node.
     */
    private static final class CodePointTrie {
        private long[] keys;
        private int[] children;
        private int size;
        private int[] leaf = new int[16];
        private int nodes = 1;

        CodePointTrie(int pieces) {
            int cap = Integer.highestOneBit(Math.max(16, pieces * 8) - 1) << 1;
            keys = new long[cap];
            children = new int[cap];
            Arrays.fill(keys, -1L);
            leaf[0] = -1;
        }

        void insert(String piece, int id) {
            int node = 0;
            for (int i = 0; i < piece.length(); ) {
                int cp = piece.codePointAt(i);
                i += Character.charCount(cp);
                int next = child(node, cp);
                if (next < 0) {
                    next = newNode();
                    put(key(node, cp), next);
                }
                node = next;
            }
            leaf[node] = id;
        }

        int child(int node, int cp) {
            long k = key(node, cp);
            int mask = keys.length - 1;
            for (int slot = hash(k) & mask; ; slot = (slot + 1) & mask) {
                if (keys[slot] == k) {
                    return children[slot];
                }
                if (keys[slot] == -1L) {
                    return -1;
                }
            }
        }

        int leaf(int node) {
            return leaf[node];
        }

        private int newNode() {
            if (nodes == leaf.length) {
                leaf = Arrays.copyOf(leaf, nodes * 2);
            }
            leaf[nodes] = -1;
            return nodes++;
        }

        private void put(long k, int child) {
            if ((size + 1) * 2 > keys.length) {
                long[] oldKeys = keys;
                int[] oldChildren = children;
                keys = new long[oldKeys.length * 2];
                children = new int[oldKeys.length * 2];
                Arrays.fill(keys, -1L);
                size = 0;
                for (int s = 0; s < oldKeys.length; s++) {
                    if (oldKeys[s] != -1L) {
                        put(oldKeys[s], oldChildren[s]);
                    }
                }
            }
            int mask = keys.length - 1;
            int slot = hash(k) & mask;
            while (keys[slot] != -1L) {
                slot = (slot + 1) & mask;
            }
            keys[slot] = k;
            children[slot] = child;
            size++;
        }

        private static long key(int node, int cp) {
            return ((long) node << 21) | cp;
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }
    }
}
