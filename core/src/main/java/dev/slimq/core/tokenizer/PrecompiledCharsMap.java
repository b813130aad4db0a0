package dev.slimq.core.tokenizer;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * SentencePiece's {@code precompiled_charsmap} (the normalizer spec's compiled rules, as
 * {@code normalizer.cc} and the {@code spm_precompiled} crate read it): a little-endian {@code u32} byte
 * length of a Darts-clone double-array trie, the trie's {@code u32} units, then the replacement strings,
 * each ended by a NUL byte. A trie key is a UTF-8 byte sequence; its value is the byte offset of its
 * replacement in the string blob.
 *
 * <p>A unit packs: the label of the edge that leads to it (low 8 bits, plus bit 31 for leaf units so no
 * byte label ever matches them), a has-leaf flag (bit 8), and the XOR offset to its children (bits 10..31,
 * shifted left by 8 more when bit 9 is set). From a node at position {@code p} with unit {@code u}, the
 * child for byte {@code c} is at {@code p ^ offset(u) ^ c} and is real only when its label is {@code c};
 * a node that ends a key has its value unit at {@code p ^ offset(u)}.
 *
 * <p>{@link #transform} returns the replacement of the <em>first</em> (shortest) key that prefixes the
 * input, as {@code spm_precompiled::Precompiled::transform} does ({@code results[0]}); SentencePiece's own
 * C++ normalizer takes the longest. Hugging Face's results are what slimq reproduces; the two differ only
 * where one key is a proper prefix of another inside one looked-up chunk (a grapheme cluster under 6
 * bytes, or one character; see {@link Normalizer.Precompiled}). Untrusted data: every position is
 * bounds-checked; a trie walk that leaves the array stops, a value that does not point at a
 * NUL-terminated UTF-8 string is a BAD_INPUT error.
 */
final class PrecompiledCharsMap {
    private final int[] units;
    private final byte[] strings;

    private PrecompiledCharsMap(int[] units, byte[] strings) {
        this.units = units;
        this.strings = strings;
    }

    /** Parses the base64 text of tokenizer.json's {@code precompiled_charsmap}. */
    static PrecompiledCharsMap parseBase64(String base64) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("precompiled_charsmap is not base64: " + e.getMessage());
        }
        return parse(raw);
    }

    /** Parses the raw bytes. */
    static PrecompiledCharsMap parse(byte[] raw) {
        if (raw.length < 4) {
            throw new IllegalArgumentException("precompiled_charsmap is " + raw.length + " bytes, shorter than its header");
        }
        ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long trieBytes = Integer.toUnsignedLong(buf.getInt());
        if (trieBytes % 4 != 0 || trieBytes > raw.length - 4L) {
            throw new IllegalArgumentException("precompiled_charsmap trie size " + trieBytes
                    + " is not a multiple of 4 within the " + raw.length + " bytes");
        }
        int[] units = new int[(int) (trieBytes / 4)];
        for (int i = 0; i < units.length; i++) {
            units[i] = buf.getInt();
        }
        byte[] strings = new byte[raw.length - 4 - (int) trieBytes];
        buf.get(strings);
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(strings));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("precompiled_charsmap replacement strings are not UTF-8");
        }
        return new PrecompiledCharsMap(units, strings);
    }

    /** The replacement for the shortest key prefixing {@code key} (a NUL byte ends the key), or null. */
    String transform(byte[] key) {
        if (units.length == 0) {
            return null;
        }
        int pos = offset(units[0]);
        for (byte b : key) {
            int c = b & 0xFF;
            if (c == 0) {
                return null;
            }
            pos ^= c;
            if (pos < 0 || pos >= units.length) {
                return null;
            }
            int unit = units[pos];
            if ((unit & 0x800000FF) != c) {
                return null;
            }
            pos ^= offset(unit);
            if (((unit >>> 8) & 1) == 1) {
                if (pos < 0 || pos >= units.length) {
                    return null;
                }
                return replacement(units[pos] & 0x7FFFFFFF);
            }
        }
        return null;
    }

    private String replacement(int index) {
        int end = index;
        while (end < strings.length && strings[end] != 0) {
            end++;
        }
        if (index > strings.length) {
            throw new SlimqException(Failure.BAD_INPUT, "precompiled_charsmap points at byte " + index
                    + " beyond its " + strings.length + " bytes of replacement strings");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(strings, index, end - index)).toString();
        } catch (CharacterCodingException e) {
            throw new SlimqException(Failure.BAD_INPUT, "precompiled_charsmap points into the middle of a character"
                    + " (byte " + index + ")");
        }
    }

    private static int offset(int unit) {
        return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    }
}
