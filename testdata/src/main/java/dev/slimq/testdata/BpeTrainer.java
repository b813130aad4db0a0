package dev.slimq.testdata;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.function.BinaryOperator;
import java.util.function.Function;

/**
 * A plain, deterministic byte-pair-encoding trainer: repeatedly merge the most frequent adjacent
 * pair of symbols over a word-frequency table. Ties go to the pair whose symbols have the lowest ids
 * (left first), so the result is a function of the input alone.
 *
 * <p>The same loop serves both tokenizers, as in Hugging Face {@code tokenizers} (whose WordPiece
 * trainer is a BPE trainer): byte-level BPE joins symbols by concatenation; WordPiece starts
 * non-initial characters with {@code ##} and drops that prefix from the right symbol when joining.
 * Incremental pair counts with a lazily invalidated heap keep training to exhaustion fast.
 */
final class BpeTrainer {
    /** Vocabulary in id order (initial symbols first) and merges in rank order, as {left, right}. */
    record Result(List<String> vocab, List<String[]> merges) {
    }

    private BpeTrainer() {
    }

    /**
     * Trains until the vocabulary has {@code targetSize} entries or no adjacent pair is left.
     *
     * @param initial the vocabulary before any merge (specials and alphabet), ids in list order
     * @param wordCounts pre-tokenized words and their frequencies (sorted, for a stable word order)
     * @param split a word's initial symbols; each must be in {@code initial}
     * @param join the symbol a merge of two symbols produces
     */
    static Result train(List<String> initial, SortedMap<String, Integer> wordCounts, Function<String, List<String>> split,
            BinaryOperator<String> join, int targetSize) {
        List<String> vocab = new ArrayList<>(initial);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.put(vocab.get(i), i);
        }
        int n = wordCounts.size();
        int[][] words = new int[n][];
        int[] freq = new int[n];
        int w = 0;
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            words[w] = split.apply(e.getKey()).stream().mapToInt(s -> {
                Integer id = ids.get(s);
                if (id == null) {
                    throw new IllegalArgumentException("symbol '" + s + "' of word '" + e.getKey() + "' is not in the initial vocabulary");
                }
                return id;
            }).toArray();
            freq[w++] = e.getValue();
        }

        Map<Long, Integer> counts = new HashMap<>();
        Map<Long, Set<Integer>> where = new HashMap<>();
        for (w = 0; w < n; w++) {
            addPairs(words[w], w, freq[w], counts, where, null);
        }
        // Highest count first, then the smallest (left id, right id): ids are non-negative ints,
        // so comparing the packed longs orders by left id, then right id.
        PriorityQueue<long[]> heap = new PriorityQueue<>((x, y) -> x[0] != y[0] ? Long.compare(y[0], x[0]) : Long.compare(x[1], y[1]));
        counts.forEach((pair, c) -> heap.add(new long[] {c, pair}));

        List<String[]> merges = new ArrayList<>();
        while (vocab.size() < targetSize && !heap.isEmpty()) {
            long[] top = heap.poll();
            long pair = top[1];
            int count = counts.getOrDefault(pair, 0);
            if (count != top[0] || count <= 0) {
                continue; // stale entry: the count changed after it was queued
            }
            int a = (int) (pair >>> 32);
            int b = (int) pair;
            String merged = join.apply(vocab.get(a), vocab.get(b));
            Integer id = ids.get(merged);
            if (id == null) { // two different merges may produce the same string; it is one token
                id = vocab.size();
                vocab.add(merged);
                ids.put(merged, id);
            }
            merges.add(new String[] {vocab.get(a), vocab.get(b)});
            Set<Long> touched = new HashSet<>();
            for (int wi : new TreeSet<>(where.get(pair))) {
                int[] sy = words[wi];
                if (!contains(sy, a, b)) {
                    continue;
                }
                removePairs(sy, freq[wi], counts, touched);
                words[wi] = applyMerge(sy, a, b, id);
                addPairs(words[wi], wi, freq[wi], counts, where, touched);
            }
            for (long p : touched) {
                int c = counts.getOrDefault(p, 0);
                if (c > 0) {
                    heap.add(new long[] {c, p});
                }
            }
        }
        return new Result(List.copyOf(vocab), List.copyOf(merges));
    }

    private static long key(int a, int b) {
        return (long) a << 32 | (b & 0xFFFFFFFFL);
    }

    private static void addPairs(int[] sy, int word, int f, Map<Long, Integer> counts, Map<Long, Set<Integer>> where, Set<Long> touched) {
        for (int i = 0; i + 1 < sy.length; i++) {
            long k = key(sy[i], sy[i + 1]);
            counts.merge(k, f, Integer::sum);
            where.computeIfAbsent(k, x -> new HashSet<>()).add(word);
            if (touched != null) {
                touched.add(k);
            }
        }
    }

    private static void removePairs(int[] sy, int f, Map<Long, Integer> counts, Set<Long> touched) {
        for (int i = 0; i + 1 < sy.length; i++) {
            long k = key(sy[i], sy[i + 1]);
            counts.merge(k, -f, Integer::sum);
            touched.add(k);
        }
    }

    private static boolean contains(int[] sy, int a, int b) {
        for (int i = 0; i + 1 < sy.length; i++) {
            if (sy[i] == a && sy[i + 1] == b) {
                return true;
            }
        }
        return false;
    }

    /** Replaces each occurrence of (a, b), left to right and non-overlapping, by {@code id}. */
    static int[] applyMerge(int[] sy, int a, int b, int id) {
        int[] out = new int[sy.length];
        int m = 0;
        for (int i = 0; i < sy.length; i++) {
            if (i + 1 < sy.length && sy[i] == a && sy[i + 1] == b) {
                out[m++] = id;
                i++;
            } else {
                out[m++] = sy[i];
            }
        }
        return Arrays.copyOf(out, m);
    }
}
