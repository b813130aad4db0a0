package dev.slimq.prune.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Closes a requested token set over what the tokenizer needs to keep producing it: for BPE, the tokens
 * on each kept token's merge path; for Unigram, the lowest-scoring piece ({@link #unigramMinScorePiece}).
 *
 * <p>Why the merge path is enough: BPE applies, at each step, the lowest-ranked applicable merge. If
 * every merge that the original run applied survives, removing other merges never changes which merge
 * is the minimum, so the run — and the tokens — stay the same. A kept token's merges only involve
 * symbols inside its own span, so the merges applied when the token's text is tokenized alone are the
 * ones it needs. Where that simulation does not apply (continuing-subword prefixes or end-of-word
 * suffixes, or a token its own text does not produce), every merge producing the token is kept instead:
 * more than needed, never less.
 */
final class TokenSelection {
    private TokenSelection() {
    }

    /**
     * The Unigram piece whose score is the vocabulary's minimum (the first such in id order), which a
     * trimmed Unigram vocabulary must keep.
     *
     * <p>Why keeping the pieces the corpus uses, plus this one, leaves the corpus's segmentation unchanged.
     * The library's Viterbi pass ({@code encode_optimized}) computes, for every position j of a word,
     * {@code best[j] = max over nodes (i, j) of best[i] + score(i, j)}, visiting starts i in increasing
     * order and replacing only on a strictly greater value, and backtracks from the end. Its nodes are the
     * vocabulary pieces found in the text, plus an unknown node over one character wherever no
     * single-character piece starts, scored {@code minScore - 10} with {@code minScore} the lowest score
     * in the vocabulary. Let P be the path the untrimmed model returns for a corpus word. Every piece on
     * P is kept (its id occurs in the corpus encoding; so do the ids a fused unknown run turns into: the
     * run's own piece, its byte pieces, or unk, all kept). Compare the trimmed lattice with the original:
     * <ul>
     *   <li>a kept piece keeps its score, and with the minimum-score piece kept, {@code minScore} and so
     *       every old unknown node's score are unchanged;</li>
     *   <li>removing a single-character piece c creates a new unknown node over c, scored
     *       {@code minScore - 10 < minScore <= score(c)}: below the node it replaces;</li>
     *   <li>nothing else changes.</li>
     * </ul>
     * So every trimmed node scores at most what the original node on the same span scored, and since
     * floating-point addition is monotonic, by induction over j, {@code best'[j] <= best[j]} everywhere,
     * with equality, bit for bit, on P's boundaries (P's prefix is still there, summed in the same order).
     * At each boundary j of P, the original chose its predecessor i* as the first start reaching
     * {@code best[j]}: starts before i* gave strictly less there and give at most that now, starts after
     * give at most {@code best[j]} and do not replace an equal value. So the trimmed pass picks i* at every
     * boundary and returns P. Without the minimum-score piece this fails: if the kept pieces all score
     * well above the dropped minimum, unknown nodes become cheaper and can beat kept pieces (the test
     * {@code unigramWithoutTheMinimumPieceWouldResegment} shows such a case).
     */
    static int unigramMinScorePiece(double[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] < scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The GPT-2 byte-to-unicode table: the 256 single-character tokens of byte-level BPE. */
    static List<String> byteLevelAlphabet() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        String[] chars = new String[256];
        for (int b : bs) {
            chars[b] = Character.toString(b);
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (chars[b] == null) {
                chars[b] = Character.toString(256 + n++);
            }
        }
        return List.of(chars);
    }

    /** One merge of the model: its parts, its result and its JSON entry (kept as written). */
    record Merge(String left, String right, String result, JsonNode entry) {
    }

    /**
     * Adds to {@code keep} (indexed by id) every token on the merge path of a kept token.
     *
     * @param vocab  the model vocabulary
     * @param merges in rank order
     * @param simple true when the model has no continuing-subword prefix or end-of-word suffix, so a
     *               token's path is found by running BPE on its own characters
     */
    static void closeOverMerges(boolean[] keep, String[] idToToken, Map<String, Integer> vocab, List<Merge> merges,
                                boolean simple) {
        Map<String, Integer> rank = new HashMap<>(merges.size() * 2);
        Map<String, List<Merge>> producers = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            Merge m = merges.get(r);
            rank.putIfAbsent(m.left() + '\u0000' + m.right(), r);
            producers.computeIfAbsent(m.result(), k -> new ArrayList<>()).add(m);
        }
        Deque<Integer> work = new ArrayDeque<>();
        for (int id = 0; id < keep.length; id++) {
            if (keep[id]) {
                work.add(id);
            }
        }
        while (!work.isEmpty()) {
            String token = idToToken[work.poll()];
            if (token == null) {
                continue;
            }
            List<String> path = simple ? simulate(token, rank) : null;
            if (path != null) {
                for (String s : path) {
                    mark(s, keep, vocab, work);
                }
            } else {
                for (Merge m : producers.getOrDefault(token, List.of())) {
                    mark(m.left(), keep, vocab, work);
                    mark(m.right(), keep, vocab, work);
                }
            }
        }
    }

    private static void mark(String token, boolean[] keep, Map<String, Integer> vocab, Deque<Integer> work) {
        Integer id = vocab.get(token);
        if (id != null && !keep[id]) {
            keep[id] = true;
            work.add(id);
        }
    }

    /**
     * Every symbol BPE forms when tokenizing {@code token}'s characters as one word (the starting
     * characters included), or null when that does not end in {@code token} itself.
     */
    static List<String> simulate(String token, Map<String, Integer> rank) {
        List<String> sym = new ArrayList<>();
        token.codePoints().forEach(c -> sym.add(Character.toString(c)));
        List<String> seen = new ArrayList<>(sym);
        while (sym.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer r = rank.get(sym.get(i) + '\u0000' + sym.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            sym.set(best, sym.get(best) + sym.remove(best + 1));
            seen.add(sym.get(best));
        }
        return sym.size() == 1 && sym.getFirst().equals(token) ? seen : null;
    }
}
