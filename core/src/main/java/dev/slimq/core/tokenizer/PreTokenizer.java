package dev.slimq.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizers of {@code tokenizers/src/pre_tokenizers/} the supported models use: each cuts a
 * {@link Piece} into the words the model sees (and may rewrite them, as ByteLevel and Metaspace do).
 */
sealed interface PreTokenizer {
    List<Piece> split(Piece p);

    /** How a split keeps its delimiters: {@code SplitDelimiterBehavior} in {@code tokenizer/normalizer.rs}. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** GPT-2's pattern; {@code \s} and friends need Unicode semantics to match the Rust (onig) regex. */
    Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** {@code pre_tokenizers/bert.rs}: split on whitespace (dropped), then isolate each punctuation char. */
    record Bert() implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            List<Piece> out = new ArrayList<>();
            int wordStart = 0;
            for (int i = 0; i <= p.length(); i++) {
                if (i == p.length() || Chars.isWhitespace(p.cps[i]) || Chars.isBertPunctuation(p.cps[i])) {
                    if (i > wordStart) {
                        out.add(p.sub(wordStart, i));
                    }
                    if (i < p.length() && !Chars.isWhitespace(p.cps[i])) {
                        out.add(p.sub(i, i + 1));
                    }
                    wordStart = i + 1;
                }
            }
            return out;
        }
    }

    /** {@code pre_tokenizers/whitespace.rs} WhitespaceSplit: on whitespace, dropped. */
    record WhitespaceSplit() implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            return splitOn(p, Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS), Behavior.REMOVED, false);
        }
    }

    /** {@code pre_tokenizers/whitespace.rs} Whitespace: {@code \w+|[^\w\s]+}. */
    record Whitespace() implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            return splitOn(p, Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS),
                    Behavior.REMOVED, true);
        }
    }

    /** {@code pre_tokenizers/split.rs}: a literal or regex pattern with a delimiter behaviour. */
    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            return splitOn(p, pattern, behavior, invert);
        }
    }

    /**
     * {@code pre_tokenizers/byte_level.rs}: optional leading space, optional GPT-2 regex split, then
     * every UTF-8 byte becomes its {@code bytes_to_unicode} character (keeping its source char's range).
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            if (addPrefixSpace && !p.isEmpty() && p.cps[0] != ' ') {
                p = new Piece.Builder().add(' ', p.start[0], p.start[0]).addAll(p, 0, p.length()).build();
            }
            List<Piece> words = useRegex ? splitOn(p, GPT2, Behavior.ISOLATED, false) : List.of(p);
            List<Piece> out = new ArrayList<>(words.size());
            for (Piece w : words) {
                Piece.Builder b = new Piece.Builder();
                for (int i = 0; i < w.length(); i++) {
                    for (byte x : Chars.utf8(w.cps[i])) {
                        b.add(Chars.BYTE_TO_CHAR[x & 0xFF], w.start[i], w.end[i]);
                    }
                }
                out.add(b.build());
            }
            return out;
        }
    }

    /**
     * {@code pre_tokenizers/metaspace.rs}: spaces become {@code replacement}; one is prepended per the
     * prepend_scheme ("always", "first": only at the start of the input, "never"); {@code split} cuts
     * before each replacement char.
     */
    record Metaspace(int replacement, String prependScheme, boolean split) implements PreTokenizer {
        @Override
        public List<Piece> split(Piece p) {
            Piece.Builder b = new Piece.Builder();
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> !p.isEmpty() && p.start[0] == 0;
                default -> false;
            };
            if (prepend && !p.isEmpty() && p.cps[0] != replacement && p.cps[0] != ' ') {
                b.add(replacement, p.start[0], p.end[0]);
            }
            for (int i = 0; i < p.length(); i++) {
                b.add(p.cps[i] == ' ' ? replacement : p.cps[i], p.start[i], p.end[i]);
            }
            Piece r = b.build();
            if (!split) {
                return List.of(r);
            }
            return splitOn(r, Pattern.compile(Pattern.quote(new String(Character.toChars(replacement)))),
                    Behavior.MERGED_WITH_NEXT, false);
        }
    }

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public List<Piece> split(Piece p) {
            List<Piece> cur = List.of(p);
            for (PreTokenizer t : steps) {
                List<Piece> next = new ArrayList<>();
                for (Piece q : cur) {
                    next.addAll(t.split(q));
                }
                cur = next;
            }
            return cur;
        }
    }

    /** {@code NormalizedString::split} over the (non-empty) matches of {@code pattern}; empty pieces dropped. */
    static List<Piece> splitOn(Piece p, Pattern pattern, Behavior behavior, boolean invert) {
        String text = p.text();
        // (from, to, isMatch) in code points, covering the piece
        List<int[]> spans = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int prevChar = 0, prevCp = 0;
        while (m.find()) {
            if (m.start() == m.end()) {
                continue;
            }
            int s = prevCp + text.codePointCount(prevChar, m.start());
            int e = s + text.codePointCount(m.start(), m.end());
            if (s > prevCp) {
                spans.add(new int[] {prevCp, s, invert ? 1 : 0});
            }
            spans.add(new int[] {s, e, invert ? 0 : 1});
            prevChar = m.end();
            prevCp = e;
        }
        if (prevCp < p.length()) {
            spans.add(new int[] {prevCp, p.length(), invert ? 1 : 0});
        }
        List<int[]> kept = new ArrayList<>();
        switch (behavior) {
            case REMOVED -> spans.stream().filter(s -> s[2] == 0).forEach(kept::add);
            case ISOLATED -> kept.addAll(spans);
            case MERGED_WITH_PREVIOUS -> {
                for (int[] s : spans) {
                    if (s[2] == 1 && !kept.isEmpty() && kept.getLast()[2] == 0) {
                        kept.getLast()[1] = s[1];
                        kept.getLast()[2] = 1;
                    } else {
                        kept.add(s.clone());
                    }
                }
            }
            case MERGED_WITH_NEXT -> {
                // as the library: walk backwards, a match joins the piece after it unless that is a match
                boolean nextIsMatch = false;
                for (int[] s : spans.reversed()) {
                    if (s[2] == 1 && !nextIsMatch && !kept.isEmpty()) {
                        kept.getLast()[0] = s[0];
                    } else {
                        kept.add(s.clone());
                    }
                    nextIsMatch = s[2] == 1;
                }
                java.util.Collections.reverse(kept);
            }
            case CONTIGUOUS -> {
                for (int[] s : spans) {
                    if (s[2] == 1 && !kept.isEmpty() && kept.getLast()[2] == 1) {
                        kept.getLast()[1] = s[1];
                    } else {
                        kept.add(s.clone());
                    }
                }
            }
        }
        List<Piece> out = new ArrayList<>(kept.size());
        for (int[] s : kept) {
            if (s[1] > s[0]) {
                out.add(p.sub(s[0], s[1]));
            }
        }
        return out;
    }
}
