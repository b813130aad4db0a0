package dev.slimq.quantize.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The two ways the formats put small unsigned integers into words.
 *
 * <p><b>Bit stream</b> (GPTQ qweight and qzeros, compressed-tensors with 4 or 8 bits, slimq codes and
 * zeros): value {@code i} of a sequence occupies bits {@code [i*bits, (i+1)*bits)} of one little-endian
 * bit stream, whose bit {@code p} is bit {@code p % 32} of 32-bit word {@code p / 32}, or equally bit
 * {@code p % 8} of byte {@code p / 8}. For 2, 4 and 8 bits this is "value {@code i} at shift
 * {@code bits * (i % (32/bits))} of word {@code i / (32/bits)}" (GPTQ: ModelCloud/GPTQModel
 * {@code gptqmodel/nn_modules/qlinear/__init__.py} and AutoGPTQ/AutoGPTQ
 * {@code auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py}, {@code pack}: {@code qweight[row] |= intweight[j] << (bits * (j - i))}).
 * For 3 bits, 32 values fill exactly three words and values 10 and 21 straddle word boundaries, which
 * is AutoGPTQ's 3-bit packing in the same {@code pack}: value 10 goes {@code << 30} into word 0 and
 * {@code (v >> 2) & 1} into word 1, values 11..20 at shifts {@code 3j + 1}, value 21 goes {@code << 31}
 * into word 1 and {@code (v >> 1) & 3} into word 2, values 22..31 at shifts {@code 3j + 2}.
 *
 * <p><b>Word fill</b> (compressed-tensors for any bit width): {@code pf = 32 / bits} whole values per
 * word, value {@code i} at shift {@code bits * (i % pf)} of word {@code i / pf}, the unused high bits
 * zero (vllm-project/compressed-tensors {@code compressors/quantized_compressors/pack_quantized.py},
 * {@code pack_to_int32} and {@code unpack_from_int32}). It is the bit stream when {@code bits} divides 32.
 */
final class BitPacking {
    /** Four bytes of a byte array as one little-endian int: a word of the stream is its next 4 bytes. */
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private BitPacking() {
    }

    /** Values per word in the word-fill layout. */
    static int perWord(int bits) {
        return 32 / bits;
    }

    /** 32-bit words of a bit stream of {@code count} values: {@code ceil(count * bits / 32)}. */
    static int streamWords(long count, int bits) {
        return Math.toIntExact((count * bits + 31) / 32);
    }

    /** Bytes of a bit stream of {@code count} values: {@code ceil(count * bits / 8)}. */
    static int streamBytes(long count, int bits) {
        return Math.toIntExact((count * bits + 7) / 8);
    }

    /**
     * Packs {@code src[off..off+count)} (unsigned, low {@code bits} bits used) as a bit stream into
     * {@code out[outOff..]}, the last word zero-padded; returns the number of words written.
     */
    static int packWords(byte[] src, int off, int count, int bits, int[] out, int outOff) {
        int mask = (1 << bits) - 1;
        int o = outOff;
        int i = 0;
        // Whole words first, unrolled for the common widths; the general stream handles the rest.
        if (bits == 4) {
            for (; i + 8 <= count; i += 8) {
                int b = off + i;
                out[o++] = src[b] & 15 | (src[b + 1] & 15) << 4 | (src[b + 2] & 15) << 8 | (src[b + 3] & 15) << 12
                        | (src[b + 4] & 15) << 16 | (src[b + 5] & 15) << 20 | (src[b + 6] & 15) << 24 | (src[b + 7] & 15) << 28;
            }
        } else if (bits == 8) {
            for (; i + 4 <= count; i += 4) {
                int b = off + i;
                out[o++] = src[b] & 255 | (src[b + 1] & 255) << 8 | (src[b + 2] & 255) << 16 | (src[b + 3] & 255) << 24;
            }
        }
        long acc = 0;
        int have = 0;
        for (; i < count; i++) {
            acc |= (long) (src[off + i] & mask) << have;
            have += bits;
            if (have >= 32) {
                out[o++] = (int) acc;
                acc >>>= 32;
                have -= 32;
            }
        }
        if (have > 0) {
            out[o++] = (int) acc;
        }
        return o - outOff;
    }

    /** As {@link #packWords}, into little-endian bytes; returns the number of bytes written. */
    static int packBytes(byte[] src, int off, int count, int bits, byte[] out, int outOff) {
        int mask = (1 << bits) - 1;
        int o = outOff;
        int i = 0;
        if (bits == 4) {
            for (; i + 8 <= count; i += 8) {
                int b = off + i;
                INT_LE.set(out, o, src[b] & 15 | (src[b + 1] & 15) << 4 | (src[b + 2] & 15) << 8 | (src[b + 3] & 15) << 12
                        | (src[b + 4] & 15) << 16 | (src[b + 5] & 15) << 20 | (src[b + 6] & 15) << 24 | (src[b + 7] & 15) << 28);
                o += 4;
            }
        } else if (bits == 8) {
            System.arraycopy(src, off, out, o, count);
            return count;
        }
        int acc = 0;
        int have = 0;
        for (; i < count; i++) {
            acc |= (src[off + i] & mask) << have;
            have += bits;
            while (have >= 8) {
                out[o++] = (byte) acc;
                acc >>>= 8;
                have -= 8;
            }
        }
        if (have > 0) {
            out[o++] = (byte) acc;
        }
        return o - outOff;
    }

    /** Unpacks {@code count} values of a bit stream held in {@code words[off..]} into {@code dst[dstOff..]}. */
    static void unpackWords(int[] words, int off, int count, int bits, byte[] dst, int dstOff) {
        int mask = (1 << bits) - 1;
        long acc = 0;
        int have = 0;
        int k = off;
        for (int i = 0; i < count; i++) {
            if (have < bits) {
                acc |= (words[k++] & 0xFFFFFFFFL) << have;
                have += 32;
            }
            dst[dstOff + i] = (byte) (acc & mask);
            acc >>>= bits;
            have -= bits;
        }
    }

    /** Unpacks {@code count} values of a bit stream held in little-endian {@code bytes[off..]}. */
    static void unpackBytes(byte[] bytes, int off, int count, int bits, byte[] dst, int dstOff) {
        int mask = (1 << bits) - 1;
        int acc = 0;
        int have = 0;
        int k = off;
        for (int i = 0; i < count; i++) {
            if (have < bits) {
                acc |= (bytes[k++] & 0xFF) << have;
                have += 8;
            }
            dst[dstOff + i] = (byte) (acc & mask);
            acc >>>= bits;
            have -= bits;
        }
    }

    /** Value {@code i} of the word-fill layout held in {@code words[off..]}. */
    static int filledValue(int[] words, int off, int i, int bits) {
        int pf = perWord(bits);
        return words[off + i / pf] >>> (bits * (i % pf)) & ((1 << bits) - 1);
    }
}
