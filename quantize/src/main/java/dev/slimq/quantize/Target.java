package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.quant.QuantScheme;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code --target}: the engine the output must load in. Each checks the planned scheme and format
 * against what that engine loads, before any work is done (DESIGN.md section 3; facts from
 * formats_ecosystem.md: vLLM's wNa16 compressed-tensors and GPTQ Marlin paths take 4 or 8 bits and
 * group sizes -1/32/64/128; q/k/v and gate/up must be quantized alike, which slimq always does).
 */
public enum Target {
    VLLM("vllm"), TRANSFORMERS("transformers"), LLAMA_CPP("llama.cpp");

    private final String cliName;

    Target(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    public static Target fromName(String s) {
        for (Target t : values()) {
            if (t.cliName.equalsIgnoreCase(s.strip())) {
                return t;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown --target '" + s + "'; use vllm, transformers or llama.cpp");
    }

    /** Why {@code scheme} written as {@code format} would not load in this engine; empty when it would. */
    public Optional<String> refusal(String format, QuantScheme scheme, int cols, boolean outliers) {
        String who = "--target " + cliName;
        switch (this) {
            case LLAMA_CPP -> {
                return Optional.of(who + " loads GGUF, which quantize cannot write yet; use 'slimq convert IN OUT.gguf --to gguf"
                        + " --type q4_0' (or q4_1, q8_0) on the float checkpoint");
            }
            case VLLM, TRANSFORMERS -> {
                if (!format.equals("compressed-tensors") && !format.equals("gptq")) {
                    return Optional.of(who + " loads compressed-tensors or gptq, not " + format + "; use --format compressed-tensors");
                }
                if (outliers) {
                    return Optional.of(who + " cannot apply sparse outlier residuals; use --outliers off (or auto)");
                }
                if (this == VLLM) {
                    if (scheme.bits() != 4 && scheme.bits() != 8) {
                        return Optional.of(who + " loads 4- or 8-bit weights only, not " + scheme.bits() + "-bit; use --bits 4");
                    }
                    int g = scheme.groupSize();
                    if (g != cols && g != 32 && g != 64 && g != 128) {
                        return Optional.of(who + " takes group sizes 32, 64, 128 or per-channel, not " + g + "; use --group-size 128");
                    }
                }
                return Optional.empty();
            }
            default -> throw new IllegalStateException(name().toLowerCase(Locale.ROOT));
        }
    }
}
