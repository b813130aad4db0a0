package dev.slimq.core.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Character classes exactly as the Rust library uses them (Rust's {@code char} methods and the
 * {@code unicode_categories} crate), which differ from {@link Character}'s in places: Rust's
 * {@code is_whitespace} is the Unicode White_Space property (it includes U+00A0, excludes U+001C..1F);
 * BERT punctuation is ASCII punctuation plus the P* categories ({@code tokenizers/src/pre_tokenizers/bert.rs});
 * BERT control characters ({@code tokenizers/src/normalizers/bert.rs}); and GPT-2's {@code bytes_to_unicode} table
 * ({@code tokenizers/src/pre_tokenizers/byte_level.rs}).
 */
final class Chars {
    private Chars() {
    }

    /** Rust {@code char::is_whitespace}: the Unicode White_Space property. */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
                || c == 0x205F || c == 0x3000;
    }

    /** {@code char::is_ascii_punctuation() || char::is_punctuation()} (Pc Pd Ps Pe Pi Pf Po). */
    static boolean isBertPunctuation(int c) {
        if (c < 0x80) {
            return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
                    || (c >= 0x7B && c <= 0x7E);
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                 Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** BertNormalizer's {@code is_control}: categories Cc Cf Cn Co Cs, except tab, LF, CR. */
    static boolean isBertControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.UNASSIGNED, Character.PRIVATE_USE,
                 Character.SURROGATE -> true;
            default -> false;
        };
    }

    /** The CJK Unified Ideograph blocks BERT surrounds with spaces. */
    static boolean isChinese(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B920 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF)
                || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /** Rust {@code char::to_lowercase}, one code point at a time (no context, unlike String.toLowerCase). */
    static int[] toLowerCase(int c) {
        if (c == 0x130) {
            return new int[] {'i', 0x307};
        }
        return new int[] {Character.toLowerCase(c)};
    }

    /** GPT-2 {@code bytes_to_unicode}: byte value to the printable code point that stands for it. */
    static final int[] BYTE_TO_CHAR = new int[256];
    /** Inverse of {@link #BYTE_TO_CHAR}; -1 where a code point stands for no byte. */
    static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int c = printable ? b : 256 + n++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    static byte[] utf8(int cp) {
        return new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
    }
}
