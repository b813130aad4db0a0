package dev.slimq.core.tokenizer;

import java.util.Arrays;

/**
 * A piece of (normalized) text whose every code point remembers the range of the original input it came
 * from: the Java counterpart of {@code NormalizedString} in {@code tokenizers/src/tokenizer/normalizer.rs},
 * reduced to what offsets need. Immutable.
 */
final class Piece {
    final int[] cps;
    final int[] start;
    final int[] end;

    Piece(int[] cps, int[] start, int[] end) {
        this.cps = cps;
        this.start = start;
        this.end = end;
    }

    /** The whole of {@code s}, every code point aligned with itself (UTF-16 offsets). */
    static Piece of(String s) {
        int n = s.codePointCount(0, s.length());
        int[] cps = new int[n], st = new int[n], en = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            int cp = s.codePointAt(off);
            cps[i] = cp;
            st[i] = off;
            off += Character.charCount(cp);
            en[i] = off;
        }
        return new Piece(cps, st, en);
    }

    int length() {
        return cps.length;
    }

    boolean isEmpty() {
        return cps.length == 0;
    }

    Piece sub(int from, int to) {
        return new Piece(Arrays.copyOfRange(cps, from, to), Arrays.copyOfRange(start, from, to),
                Arrays.copyOfRange(end, from, to));
    }


    String text() {
        return new String(cps, 0, cps.length);
    }

    /** Where code point {@code from} starts in the original input. */
    int origStart(int from) {
        return start[from];
    }

    /** Where code point {@code toExclusive - 1} ends in the original input. */
    int origEnd(int toExclusive) {
        return end[toExclusive - 1];
    }

    /** Accumulates code points with their alignments. */
    static final class Builder {
        private int[] cps = new int[16], st = new int[16], en = new int[16];
        private int n;

        Builder add(int cp, int s, int e) {
            if (n == cps.length) {
                cps = Arrays.copyOf(cps, n * 2);
                st = Arrays.copyOf(st, n * 2);
                en = Arrays.copyOf(en, n * 2);
            }
            cps[n] = cp;
            st[n] = s;
            en[n] = e;
            n++;
            return this;
        }

        Builder addAll(Piece p, int from, int to) {
            for (int i = from; i < to; i++) {
                add(p.cps[i], p.start[i], p.end[i]);
            }
            return this;
        }

        /**
         * {@code replacement} in place of code points {@code [from, to)} of {@code p}, aligned as the
         * library's {@code NormalizedString::transform} aligns a replacement: new characters take the
         * original ranges of the old ones one to one, extra new characters the range of the last old one,
         * extra old characters are dropped.
         */
        Builder addReplacement(Piece p, int from, int to, String replacement) {
            int k = 0;
            for (int i = 0; i < replacement.length(); ) {
                int cp = replacement.codePointAt(i);
                i += Character.charCount(cp);
                int src = Math.min(from + k, to - 1);
                add(cp, p.start[src], p.end[src]);
                k++;
            }
            return this;
        }

        int size() {
            return n;
        }

        Piece build() {
            return new Piece(Arrays.copyOf(cps, n), Arrays.copyOf(st, n), Arrays.copyOf(en, n));
        }
    }
}
