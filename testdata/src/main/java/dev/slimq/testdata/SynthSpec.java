package dev.slimq.testdata;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.tensor.DType;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What to generate: architecture, size preset, dtype, tying, seed and sharding. Two equal specs
 * produce byte-identical directories (see {@link SynthCheckpoint}).
 *
 * <p>Invalid combinations are refused when the spec is built, with a {@link Failure#USAGE}
 * {@link SlimqException}, so that a command line mapping options onto a spec gets the right exit
 * code without checking anything itself: BERT exists only as {@code tiny} and {@code small}, has no
 * output head to tie, the dtype is one of F32, F16, BF16, and the maximum shard size is not negative.
 *
 * @param arch the model family
 * @param size the size preset; its dimensions are {@link #shape()}
 * @param dtype element type of every tensor (BF16 for llama, F32 for bert by default)
 * @param tiedEmbeddings llama only: no {@code lm_head.weight}, {@code tie_word_embeddings: true}
 * @param seed the only source of randomness
 * @param maxShardBytes 0 for a single {@code model.safetensors}, or the most tensor bytes per shard,
 *     split greedily in tensor order as transformers does (a single tensor larger than this gets a
 *     shard of its own), with {@code model.safetensors.index.json}
 */
public record SynthSpec(Arch arch, Size size, DType dtype, boolean tiedEmbeddings, long seed, long maxShardBytes) {

    /** The model families the generator knows. */
    public enum Arch {
        /** Llama-2 style decoder ({@code LlamaForCausalLM}) with grouped-query attention where the preset has it. */
        LLAMA,
        /** BERT encoder without heads ({@code BertModel}). */
        BERT;

        /** Parses {@code llama} or {@code bert}, case-insensitively. */
        public static Arch fromName(String name) {
            return Stream.of(values()).filter(a -> a.cliName().equalsIgnoreCase(name.strip())).findFirst()
                    .orElseThrow(() -> usage("unknown architecture '" + name + "', expected one of " + names(values())));
        }

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The dtype real checkpoints of this family are usually published in. */
        public DType defaultDtype() {
            return this == LLAMA ? DType.BF16 : DType.F32;
        }
    }

    /** Size presets; {@code 1.1b} is TinyLlama's shape and {@code 7b} Llama-2-7B's. */
    public enum Size {
        TINY("tiny"), SMALL("small"), B1_1("1.1b"), B7("7b");

        private final String cliName;

        Size(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        /** Parses a preset name ({@code tiny}, {@code small}, {@code 1.1b}, {@code 7b}), case-insensitively. */
        public static Size fromName(String name) {
            return Stream.of(values()).filter(s -> s.cliName.equalsIgnoreCase(name.strip())).findFirst()
                    .orElseThrow(() -> usage("unknown size '" + name + "', expected one of " + names(values())));
        }
    }

    public SynthSpec {
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(dtype, "dtype");
        if (arch == Arch.BERT && (size == Size.B1_1 || size == Size.B7)) {
            throw usage("bert has only the tiny and small presets, not " + size.cliName());
        }
        if (arch == Arch.BERT && tiedEmbeddings) {
            throw usage("bert has no output head, so there is nothing to tie");
        }
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw usage("dtype must be F32, F16 or BF16, not " + dtype.wireName());
        }
        if (maxShardBytes < 0) {
            throw usage("max shard bytes must not be negative, got " + maxShardBytes);
        }
    }

    /** The preset with its family's default dtype, untied, seed 0, one file. */
    public static SynthSpec of(Arch arch, Size size) {
        return new SynthSpec(arch, size, arch.defaultDtype(), false, 0, 0);
    }

    /** The tiny Llama: small enough for any unit test (about 0.2 M parameters). */
    public static SynthSpec tinyLlama() {
        return of(Arch.LLAMA, Size.TINY);
    }

    /** The tiny BERT: small enough for any unit test. */
    public static SynthSpec tinyBert() {
        return of(Arch.BERT, Size.TINY);
    }

    public SynthSpec withDtype(DType d) {
        return new SynthSpec(arch, size, d, tiedEmbeddings, seed, maxShardBytes);
    }

    public SynthSpec withTiedEmbeddings(boolean tied) {
        return new SynthSpec(arch, size, dtype, tied, seed, maxShardBytes);
    }

    public SynthSpec withSeed(long s) {
        return new SynthSpec(arch, size, dtype, tiedEmbeddings, s, maxShardBytes);
    }

    /** Splits greedily into shards of at most {@code bytes} tensor bytes; 0 writes one file. */
    public SynthSpec withMaxShardBytes(long bytes) {
        return new SynthSpec(arch, size, dtype, tiedEmbeddings, seed, bytes);
    }

    /** The dimensions of this preset. */
    public ModelShape shape() {
        return ModelShape.of(arch, size);
    }

    private static SlimqException usage(String message) {
        return new SlimqException(Failure.USAGE, message);
    }

    private static String names(Enum<?>[] values) {
        return Stream.of(values).map(v -> v instanceof Size s ? s.cliName() : ((Arch) v).cliName())
                .collect(Collectors.joining(", "));
    }
}
