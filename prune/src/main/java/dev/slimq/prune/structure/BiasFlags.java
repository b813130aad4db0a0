package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.Architecture;
import dev.slimq.core.layout.LinearRole;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Biases created so that bias compensation (FLAP) can land on a Llama-family projection that has
 * none. The config switch decides which projections carry a bias, all of them at once, so the
 * siblings get zero biases:
 * <ul>
 *   <li>{@code mlp_bias} (transformers' {@code LlamaConfig}): gate_proj, up_proj and down_proj all
 *       carry biases; the compensation goes into down_proj's;</li>
 *   <li>{@code attention_bias} ({@code LlamaConfig}, {@code Qwen3Config}): q/k/v/o_proj all carry
 *       biases; the compensation goes into o_proj's.</li>
 * </ul>
 * Mistral and Qwen2 configs have no such switch for down_proj / o_proj (their modules hard-code
 * {@code bias=False} there), so compensation is refused for them with a pointer to
 * {@code --no-bias-compensation}. Every remaining layer gets the biases, since the switch is global.
 */
final class BiasFlags {
    private BiasFlags() {
    }

    /**
     * One created bias.
     *
     * @param name output name
     * @param source the input-side name the compensation map uses
     * @param rows entries (the pruned weight's rows)
     * @param layer output layer
     * @param owner the projection it follows
     * @param flag the config key that switches it on
     */
    record Created(String name, String source, DType dtype, long rows, int layer, LinearRole owner, String flag) {
    }

    /** HF's name for the bias of a linear weight: {@code ….weight} → {@code ….bias}. */
    static String biasName(String weight) {
        if (!weight.endsWith(".weight")) {
            throw new SlimqException(Failure.UNSUPPORTED, "cannot name a bias for " + weight + " (its name does not end in .weight)");
        }
        return weight.substring(0, weight.length() - "weight".length()) + "bias";
    }

    private static final Set<LinearRole> MLP = EnumSet.of(LinearRole.GATE, LinearRole.UP, LinearRole.DOWN);
    private static final Set<LinearRole> ATTENTION = EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V, LinearRole.O);

    /**
     * The biases to create: none when every compensated bias exists; otherwise, per needed switch,
     * a bias for every projection it governs in every remaining layer that lacks one.
     */
    static List<Created> plan(ModelLayout layout, Set<String> compensated, boolean[] dropped, int[] newIndex,
                              List<TensorInfo> planned, Map<String, String> outName) {
        Set<String> existing = new HashSet<>();
        Map<String, String> weightOf = new HashMap<>();
        for (TensorInfo t : layout.tensors()) {
            existing.add(t.name());
            TensorRole r = layout.role(t.name());
            if (r.isLinear()) {
                weightOf.put(biasName0(t.name()), t.name());
            }
        }
        Set<String> flags = new TreeSet<>();
        Architecture arch = layout.architecture();
        for (String b : compensated) {
            if (existing.contains(b)) {
                continue;
            }
            String w = weightOf.get(b);
            TensorRole r = w == null ? null : layout.role(w);
            if (r != null && r.is(LinearRole.DOWN) && arch == Architecture.LLAMA) {
                flags.add("mlp_bias");
            } else if (r != null && r.is(LinearRole.O) && (arch == Architecture.LLAMA || arch == Architecture.QWEN3)) {
                flags.add("attention_bias");
            } else {
                throw new SlimqException(Failure.UNSUPPORTED, "bias compensation needs a bias on " + w + ", and " + arch.modelType()
                        + " configs have no switch that gives that projection one (llama: mlp_bias, attention_bias; qwen3:"
                        + " attention_bias); pass --no-bias-compensation to prune without it");
            }
        }
        if (flags.isEmpty()) {
            return List.of();
        }
        Map<String, TensorInfo> plannedByName = new HashMap<>();
        for (TensorInfo t : planned) {
            plannedByName.put(t.name(), t);
        }
        List<Created> out = new ArrayList<>();
        for (TensorInfo t : layout.linearWeights()) {
            TensorRole r = layout.role(t.name());
            if (r.layer().isEmpty() || dropped[r.layer().getAsInt()] || existing.contains(biasName0(t.name()))) {
                continue;
            }
            LinearRole lr = r.linear().orElseThrow();
            String flag = MLP.contains(lr) ? "mlp_bias" : ATTENTION.contains(lr) ? "attention_bias" : null;
            if (flag == null || !flags.contains(flag)) {
                continue;
            }
            String name = outName.get(t.name());
            out.add(new Created(biasName(name), biasName(t.name()), t.dtype(), plannedByName.get(name).dim(0),
                    newIndex[r.layer().getAsInt()], lr, flag));
        }
        return List.copyOf(out);
    }

    private static String biasName0(String weight) {
        return weight.endsWith(".weight") ? weight.substring(0, weight.length() - "weight".length()) + "bias" : weight + "#bias";
    }
}
