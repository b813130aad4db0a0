package dev.slimq.core.tokenizer;

import java.text.Normalizer.Form;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The normalizers of {@code tokenizers/src/normalizers/} that the supported models use. Each maps a
 * {@link Piece} to a new one, carrying every output code point's original range along, so offsets
 * survive normalization.
 */
sealed interface Normalizer {
    Piece normalize(Piece p);

    /** {@code normalizers/bert.rs}: clean_text, handle_chinese_chars, strip_accents, lowercase, in that order. */
    record Bert(boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase)
            implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            Piece.Builder b = new Piece.Builder();
            for (int i = 0; i < p.length(); i++) {
                int c = p.cps[i];
                if (cleanText) {
                    if (c == 0 || c == 0xFFFD || Chars.isBertControl(c)) {
                        continue;
                    }
                    if (c == '\t' || c == '\n' || c == '\r' || Chars.isWhitespace(c)) {
                        c = ' ';
                    }
                }
                if (chineseChars && Chars.isChinese(c)) {
                    b.add(' ', p.start[i], p.end[i]).add(c, p.start[i], p.end[i]).add(' ', p.start[i], p.end[i]);
                } else {
                    b.add(c, p.start[i], p.end[i]);
                }
            }
            Piece out = b.build();
            if (stripAccents) {
                out = new StripAccents().normalize(new Unicode(Form.NFD).normalize(out));
            }
            return lowercase ? new Lowercase().normalize(out) : out;
        }
    }

    /** {@code normalizers/unicode.rs}: NFC, NFD, NFKC, NFKD. */
    record Unicode(Form form) implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            Piece.Builder b = new Piece.Builder();
            int i = 0;
            while (i < p.length()) {
                // a cluster: one starter and the combining marks after it, normalized together
                int j = i + 1;
                while (j < p.length() && (combining(p.cps[j]) || composesWithPrevious(p.cps[j - 1], p.cps[j]))) {
                    j++;
                }
                b.addReplacement(p, i, j, java.text.Normalizer.normalize(new String(p.cps, i, j - i), form));
                i = j;
            }
            return b.build();
        }

        /**
         * Whether {@code cp} changes when normalized after {@code prev} (halfwidth katakana and their
         * voiced marks, which are letters rather than marks, compose under NFKC): then the two belong to
         * one cluster, as the library normalizes the whole string at once. Below U+0300 nothing composes
         * with what precedes it.
         */
        private boolean composesWithPrevious(int prev, int cp) {
            if (cp < 0x300) {
                return false;
            }
            String a = new String(Character.toChars(prev)), b = new String(Character.toChars(cp));
            return !java.text.Normalizer.normalize(a + b, form)
                    .equals(java.text.Normalizer.normalize(a, form) + java.text.Normalizer.normalize(b, form));
        }

        private static boolean combining(int cp) {
            int t = Character.getType(cp);
            return t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK
                    || t == Character.ENCLOSING_MARK || (cp >= 0x1160 && cp <= 0x11FF);
        }
    }

    /** {@code normalizers/utils.rs} Lowercase: Rust {@code char::to_lowercase} per code point. */
    record Lowercase() implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            Piece.Builder b = new Piece.Builder();
            for (int i = 0; i < p.length(); i++) {
                for (int cp : Chars.toLowerCase(p.cps[i])) {
                    b.add(cp, p.start[i], p.end[i]);
                }
            }
            return b.build();
        }
    }

    /** {@code normalizers/strip.rs} StripAccents: drops nonspacing marks (Mn). */
    record StripAccents() implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            Piece.Builder b = new Piece.Builder();
            for (int i = 0; i < p.length(); i++) {
                if (Character.getType(p.cps[i]) != Character.NON_SPACING_MARK) {
                    b.add(p.cps[i], p.start[i], p.end[i]);
                }
            }
            return b.build();
        }
    }

    /** {@code normalizers/strip.rs} Strip: whitespace off the left and/or right. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            int from = 0, to = p.length();
            while (left && from < to && Chars.isWhitespace(p.cps[from])) {
                from++;
            }
            while (right && to > from && Chars.isWhitespace(p.cps[to - 1])) {
                to--;
            }
            return p.sub(from, to);
        }
    }

    /** {@code normalizers/prepend.rs}: prefix a non-empty piece (Llama-2's legacy "▁"). */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            if (p.isEmpty()) {
                return p;
            }
            Piece.Builder b = new Piece.Builder();
            prefix.codePoints().forEach(cp -> b.add(cp, p.start[0], p.end[0]));
            return b.addAll(p, 0, p.length()).build();
        }
    }

    /** {@code normalizers/replace.rs}: every match of a literal or regex becomes {@code content}. */
    record Replace(Pattern pattern, String content) implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            String text = p.text();
            Matcher m = pattern.matcher(text);
            Piece.Builder b = new Piece.Builder();
            int cp = 0; // code point index of char index `at`
            int at = 0;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                int from = cp + text.codePointCount(at, m.start());
                int to = from + text.codePointCount(m.start(), m.end());
                b.addAll(p, cp, from);
                // as the library's NormalizedString::replace: every new character takes the range of the
                // match's last character
                int s = p.start[to - 1], e = p.end[to - 1];
                content.codePoints().forEach(c -> b.add(c, s, e));
                cp = to;
                at = m.end();
            }
            return b.addAll(p, cp, p.length()).build();
        }
    }

    /**
     * {@code normalizers/unicode.rs} Nmt: drops the ASCII/C1 control characters SentencePiece's NMT rules
     * drop and turns the other white-space-like code points (tab, newlines, zero-width spaces, U+2581,
     * BOM, U+FFFD, ...) into a space.
     */
    record Nmt() implements Normalizer {
        @Override
        public Piece normalize(Piece p) {
            Piece.Builder b = new Piece.Builder();
            for (int i = 0; i < p.length(); i++) {
                int c = p.cps[i];
                if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F
                        || c == 0x9F) {
                    continue;
                }
                boolean space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680
                        || (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x2581
                        || c == 0xFEFF || c == 0xFFFD;
                b.add(space ? ' ' : c, p.start[i], p.end[i]);
            }
            return b.build();
        }
    }

    /**
     * {@code normalizers/precompiled.rs}: SentencePiece's normalization rules compiled into its
     * {@code precompiled_charsmap} ({@link PrecompiledCharsMap}). As the library does it: the text is cut
     * into extended grapheme clusters; a cluster shorter than 6 UTF-8 bytes is looked up whole, and when
     * that finds nothing, each of its characters is looked up alone; a character without a rule stays.
     * Replacements are aligned as {@link Piece.Builder#addReplacement} describes.
     */
    record Precompiled(PrecompiledCharsMap map) implements Normalizer {
        private static final Pattern GRAPHEME = Pattern.compile("\\X");

        @Override
        public Piece normalize(Piece p) {
            String text = p.text();
            Piece.Builder b = new Piece.Builder();
            Matcher m = GRAPHEME.matcher(text);
            int cp = 0; // code point index of the cluster's start
            while (m.find()) {
                String g = m.group();
                int len = g.codePointCount(0, g.length());
                byte[] utf8 = g.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                String whole = utf8.length < 6 ? map.transform(utf8) : null;
                if (whole != null) {
                    b.addReplacement(p, cp, cp + len, whole);
                } else {
                    for (int k = cp; k < cp + len; k++) {
                        String one = map.transform(Chars.utf8(p.cps[k]));
                        if (one == null) {
                            b.add(p.cps[k], p.start[k], p.end[k]);
                        } else {
                            b.addReplacement(p, k, k + 1, one);
                        }
                    }
                }
                cp += len;
            }
            return b.build();
        }
    }

    record Sequence(List<Normalizer> steps) implements Normalizer {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public Piece normalize(Piece p) {
            for (Normalizer n : steps) {
                p = n.normalize(p);
            }
            return p;
        }
    }
}
