package dev.slimq.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoders of {@code tokenizers/src/decoders/} (and the ByteLevel/Metaspace pre-tokenizers'
 * decoding halves): each rewrites the list of token strings; {@link Tokenizer#decode} joins the result.
 */
sealed interface Decoder {
    List<String> decodeChain(List<String> tokens);

    /** {@code pre_tokenizers/byte_level.rs}: characters back to bytes, then lossy UTF-8. */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                t.codePoints().forEach(c -> {
                    int b = c < Chars.CHAR_TO_BYTE.length ? Chars.CHAR_TO_BYTE[c] : -1;
                    if (b >= 0) {
                        bytes.write(b);
                    } else {
                        bytes.writeBytes(Chars.utf8(c));
                    }
                });
            }
            return List.of(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    /** {@code decoders/wordpiece.rs}: join with spaces except before "##" pieces; optional cleanup. */
    record WordPiece(String prefix, boolean cleanup) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i != 0) {
                    t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                }
                if (cleanup) {
                    t = t.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m")
                            .replace(" do not", " don't").replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
                }
                out.add(t);
            }
            return out;
        }
    }

    /**
     * {@code pre_tokenizers/metaspace.rs}: replacement characters back to spaces, except that in the first
     * token every replacement character is dropped when a prefix was prepended (prepend_scheme not
     * "never"), as the library's {@code decode_chain} does.
     */
    record Metaspace(int replacement, boolean stripFirst) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            String r = new String(Character.toChars(replacement));
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                out.add(tokens.get(i).replace(r, i == 0 && stripFirst ? "" : " "));
            }
            return out;
        }
    }

    /** {@code decoders/byte_fallback.rs}: runs of {@code <0xNN>} become their UTF-8 text, else U+FFFD per byte. */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>();
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            int runLen = 0;
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    run.write(b);
                    runLen++;
                    continue;
                }
                if (runLen > 0) {
                    out.add(flush(run, runLen));
                    run.reset();
                    runLen = 0;
                }
                out.add(t);
            }
            if (runLen > 0) {
                out.add(flush(run, runLen));
            }
            return out;
        }

        private static int byteToken(String t) {
            if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                try {
                    return Integer.parseInt(t.substring(3, 5), 16);
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
            return -1;
        }

        private static String flush(ByteArrayOutputStream run, int n) {
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(run.toByteArray())).toString();
            } catch (CharacterCodingException e) {
                return "\uFFFD".repeat(n);
            }
        }
    }

    /** {@code decoders/fuse.rs}: everything into one string. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** {@code normalizers/replace.rs} as a decoder: literal replacement in each token. */
    record Replace(String pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return tokens.stream().map(t -> t.replace(pattern, content)).toList();
        }
    }

    /** {@code decoders/strip.rs}: up to {@code start} leading and {@code stop} trailing {@code content} chars. */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int from = 0, to = cps.length;
                while (from < start && from < to && cps[from] == content) {
                    from++;
                }
                while (cps.length - to < stop && to > from && cps[to - 1] == content) {
                    to--;
                }
                out.add(new String(cps, from, to - from));
            }
            return out;
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : steps) {
                tokens = d.decodeChain(tokens);
            }
            return tokens;
        }
    }
}
