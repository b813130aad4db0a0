package dev.slimq.testdata;

/**
 * The dimensions of one size preset, as they appear in {@code config.json}.
 *
 * <p>The tiny and small presets are chosen so that every input dimension (hidden and intermediate)
 * is a multiple of 64, so quantization group sizes 32 and 64 divide every row; the tiny Llama uses
 * grouped-query attention (2 key/value heads for 4 query heads) so that code handling KV groups is
 * exercised by the smallest test. {@code 1.1b} is TinyLlama-1.1B's shape, {@code 7b} Llama-2-7B's.
 * The vocabulary size is the tokenizer's size (the tokenizer is built to exactly this many entries).
 *
 * @param typeVocab BERT's {@code type_vocab_size}; 0 for Llama
 */
public record ModelShape(int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab,
        int maxPositions, int typeVocab) {

    static ModelShape of(SynthSpec.Arch arch, SynthSpec.Size size) {
        return switch (arch) {
            case LLAMA -> switch (size) {
                case TINY -> new ModelShape(64, 2, 4, 2, 192, 512, 256, 0);
                case SMALL -> new ModelShape(256, 4, 8, 4, 768, 2048, 512, 0);
                case B1_1 -> new ModelShape(2048, 22, 32, 4, 5632, 32000, 2048, 0);
                case B7 -> new ModelShape(4096, 32, 32, 32, 11008, 32000, 4096, 0);
            };
            case BERT -> switch (size) {
                case TINY -> new ModelShape(64, 2, 4, 4, 256, 1024, 128, 2);
                case SMALL -> new ModelShape(384, 4, 12, 12, 1536, 4096, 512, 2);
                // SynthSpec refuses these before a shape is ever asked for.
                case B1_1, B7 -> throw new IllegalArgumentException("no bert preset " + size.cliName());
            };
        };
    }

    public int headDim() {
        return hidden / heads;
    }
}
