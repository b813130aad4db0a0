package dev.slimq.quantize.format;

import dev.slimq.core.quant.QuantScheme;
import java.util.Comparator;
import java.util.List;

/**
 * What a format's {@code quantization_config} is built from: every quantized weight with its
 * scheme, and the linear weights left in float. Known once all tensors are planned, so a format can
 * refuse an inconsistent mix (GPTQ's single scheme) before any byte is written.
 *
 * <p>Names are weight tensor names ({@code "model.layers.0.mlp.down_proj.weight"}); the module
 * names engines match against drop the {@code ".weight"} suffix ({@link #moduleName}). The
 * unquantized list must name every linear module an engine would otherwise quantize, a tied
 * {@code lm_head} included ({@code "lm_head.weight"}): compressed-tensors targets the class
 * {@code Linear} and quantizes whatever is not ignored. Entries are sorted by name on construction, so the
 * config does not depend on the order the caller found them in.
 */
public record QuantizationSummary(List<Entry> quantized, List<String> unquantized) {

    /** One quantized weight: shape (per-channel is {@code scheme.groupSize() == cols}) and scheme. */
    public record Entry(String weight, int rows, int cols, QuantScheme scheme) {
        public Entry {
            scheme.groupsPerRow(cols);
        }

        /** True when one group spans the whole row. */
        public boolean perChannel() {
            return scheme.groupSize() == cols;
        }
    }

    public QuantizationSummary {
        quantized = quantized.stream().sorted(Comparator.comparing(Entry::weight)).toList();
        unquantized = unquantized.stream().sorted().toList();
    }

    /** The module a weight belongs to: {@code "a.b.weight"} gives {@code "a.b"}; other names stay as they are. */
    public static String moduleName(String weight) {
        return weight.endsWith(".weight") ? weight.substring(0, weight.length() - ".weight".length()) : weight;
    }
}
