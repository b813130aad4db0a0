package dev.slimq.core.compute;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.Outliers;
import dev.slimq.core.quant.QuantScheme;
import dev.slimq.core.quant.QuantizedTensor;

/**
 * The packed form of quantized codes that the fast kernels stream (the Java vector path and every
 * OpenCL kernel): designed so that unpacking costs one shift and one mask per vector of codes, with
 * no byte shuffles, on any SIMD width.
 *
 * <p>Each row is cut into groups padded to {@link #paddedGroup()} columns; a padded group is a whole
 * number of <em>tiles</em>. A tile is {@link #width()} 32-bit words; word {@code j} of a tile holds
 * {@link #codesPerWord()} codes of {@link #storedBits()} bits each, code {@code k} (bits
 * {@code [k*bits, (k+1)*bits)}) being the weight at tile offset {@code j + width * k}. Loading the
 * tile as one vector of {@code width} words and shifting by {@code k*bits} therefore yields the codes
 * of {@code width} consecutive columns, lined up with a plain vector load of the activations. Padded
 * columns hold code 0 and meet zero activations, so they add nothing.
 *
 * <p>3-bit codes are stored in 4-bit fields. {@link #chunkTiles()} is the unit a work-item applies one
 * scale to (a whole group on CPUs, one tile on GPUs where lanes interleave); activation sums are
 * precomputed per chunk so the zero point costs nothing inside the loop:
 * {@code sum_c s*(q_c - z)*x_c = s*(sum_c q_c*x_c) - s*z*(sum_c x_c)}.
 *
 * @param rows        output features
 * @param cols        input features (K) of the logical matrix
 * @param storedBits  bits per stored code: 2, 4 or 8
 * @param width       words per tile (the kernel's vector width): 4, 8 or 16
 * @param groupSize   the scheme's group size
 * @param paddedGroup group size rounded up to whole tiles
 * @param chunkTiles  tiles per chunk; divides the tiles of a group
 */
public record TiledLayout(int rows, int cols, int storedBits, int width, int groupSize, int paddedGroup, int chunkTiles) {

    public TiledLayout {
        if (storedBits != 2 && storedBits != 4 && storedBits != 8) {
            throw new IllegalArgumentException("stored bits must be 2, 4 or 8, got " + storedBits);
        }
        if (width != 4 && width != 8 && width != 16) {
            throw new IllegalArgumentException("tile width must be 4, 8 or 16, got " + width);
        }
        int tile = (32 / storedBits) * width;
        if (groupSize < 1 || cols % groupSize != 0 || paddedGroup < groupSize || paddedGroup % tile != 0) {
            throw new IllegalArgumentException("inconsistent groups: " + groupSize + " padded to " + paddedGroup + " in " + cols + " columns, tile " + tile);
        }
        if (chunkTiles < 1 || (paddedGroup / tile) % chunkTiles != 0) {
            throw new IllegalArgumentException(chunkTiles + " tiles per chunk do not divide a group of " + paddedGroup / tile + " tiles");
        }
        Math.multiplyExact(rows, Math.multiplyExact(cols / groupSize, paddedGroup / tile * width));
    }

    /**
     * The layout for {@code q} with tiles of at most {@code maxWidth} words: the widest tile that pads
     * a group by no more than the narrowest tile must, or by 1/16 of the group.
     *
     * @param wholeGroupChunks one chunk per group (CPU: one scale per group and row) rather than per tile
     */
    public static TiledLayout of(QuantizedTensor q, int maxWidth, boolean wholeGroupChunks) {
        QuantScheme s = q.scheme();
        int bits = s.bits() <= 2 ? 2 : s.bits() <= 4 ? 4 : 8;
        int g = s.groupSize();
        int perWord = 32 / bits;
        long minPad = roundUp(g, perWord * 4L) - g;
        int width = 4;
        for (int w = 16; w >= 4; w /= 2) {
            if (w <= maxWidth && roundUp(g, (long) perWord * w) - g <= Math.max(minPad, g / 16)) {
                width = w;
                break;
            }
        }
        int tile = perWord * width;
        long gp = roundUp(g, tile);
        if (gp > Integer.MAX_VALUE / 2) {
            throw new SlimqException(Failure.UNSUPPORTED, q.name() + ": group size " + g + " is too large for the kernels");
        }
        int tilesPerGroup = (int) (gp / tile);
        return new TiledLayout(q.rows(), q.cols(), bits, width, g, (int) gp, wholeGroupChunks ? tilesPerGroup : 1);
    }

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    public int codesPerWord() {
        return 32 / storedBits;
    }

    /** Columns per tile. */
    public int tileCodes() {
        return codesPerWord() * width;
    }

    public int groups() {
        return cols / groupSize;
    }

    /** Columns of a padded row: the length of the padded activations. */
    public int paddedCols() {
        return groups() * paddedGroup;
    }

    public int tilesPerRow() {
        return paddedCols() / tileCodes();
    }

    public int wordsPerRow() {
        return tilesPerRow() * width;
    }

    /** Chunks per row: the length of one batch row of activation sums. */
    public int chunksPerRow() {
        return tilesPerRow() / chunkTiles;
    }

    /** Chunks per group. */
    public int chunksPerGroup() {
        return paddedGroup / tileCodes() / chunkTiles;
    }

    /** Column {@code c} of the logical matrix in padded coordinates. */
    public int paddedCol(int c) {
        return c / groupSize * paddedGroup + c % groupSize;
    }

    /**
     * Packs the codes of {@code q} into {@code rows * wordsPerRow()} words. A code outside the
     * scheme's range is a malformed tensor: {@link Failure#BAD_INPUT}.
     */
    public int[] pack(QuantizedTensor q) {
        if (q.rows() != rows || q.cols() != cols) {
            throw new IllegalArgumentException("layout is for " + rows + "x" + cols + ", tensor is " + q.rows() + "x" + q.cols());
        }
        byte[] codes = q.codes();
        int max = q.scheme().maxCode();
        int wpr = wordsPerRow();
        int tile = tileCodes();
        int[] words = new int[Math.multiplyExact(rows, wpr)];
        for (int r = 0; r < rows; r++) {
            int src = r * cols;
            int dst = r * wpr;
            for (int c = 0; c < cols; c++) {
                int code = codes[src + c] & 0xFF;
                if (code > max) {
                    throw new SlimqException(Failure.BAD_INPUT, q.name() + ": code " + code + " at (" + r + ", " + c + ") is outside the "
                            + q.scheme().bits() + "-bit range");
                }
                int p = paddedCol(c);
                int o = p % tile;
                words[dst + p / tile * width + o % width] |= code << (storedBits * (o / width));
            }
        }
        return words;
    }

    /** Outlier columns in padded coordinates, in CSR order. */
    public int[] paddedOutlierColumns(Outliers o) {
        int[] out = new int[o.count()];
        for (int k = 0; k < out.length; k++) {
            out[k] = paddedCol(o.colIdx()[k]);
        }
        return out;
    }

    /**
     * Activations in padded form: {@code batchPadded} rows of {@link #paddedCols()} values, each value
     * rounded as {@code type} stores it; padding columns and rows beyond {@code batch} are zero.
     */
    public float[] padActivations(float[] x, int batch, int batchPadded, ActivationType type) {
        int kp = paddedCols();
        float[] out = new float[Math.multiplyExact(batchPadded, kp)];
        int groups = groups();
        for (int b = 0; b < batch; b++) {
            for (int gi = 0; gi < groups; gi++) {
                int src = b * cols + gi * groupSize;
                int dst = b * kp + gi * paddedGroup;
                for (int j = 0; j < groupSize; j++) {
                    out[dst + j] = type.round(x[src + j]);
                }
            }
        }
        return out;
    }

    /**
     * Per-chunk sums of padded activations ({@code batchPadded} rows of {@link #chunksPerRow()}),
     * accumulated in float64 and rounded once: what the kernels multiply by {@code scale * zero}.
     */
    public float[] chunkSums(float[] padded, int batchPadded) {
        int kp = paddedCols();
        int n = chunksPerRow();
        int len = chunkTiles * tileCodes();
        float[] out = new float[Math.multiplyExact(batchPadded, n)];
        for (int b = 0; b < batchPadded; b++) {
            for (int c = 0; c < n; c++) {
                double s = 0;
                int base = b * kp + c * len;
                for (int j = 0; j < len; j++) {
                    s += padded[base + j];
                }
                out[b * n + c] = (float) s;
            }
        }
        return out;
    }
}
