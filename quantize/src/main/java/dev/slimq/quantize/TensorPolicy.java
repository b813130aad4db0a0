package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.Text;
import dev.slimq.core.SlimqException;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which tensors are quantized, in which groups, with how many bits (DESIGN.md section 3, tensor
 * policy). By default only 2-D float linear weights of the model layout; {@code --include} adds
 * other 2-D float tensors, {@code --exclude} removes, {@code --lm-head BITS} and
 * {@code --embeddings BITS} opt those in with their own precision. Patterns are globs ({@code *}
 * any run of characters, {@code ?} one) over full tensor names, or regular expressions prefixed
 * {@code re:} (the compressed-tensors convention).
 *
 * <p>Members of a fused group (q/k/v, gate/up) are quantized alike or not at all: engines fuse them
 * into one matrix. Excluding one member therefore keeps the whole group in float, and the plan says so.
 */
public record TensorPolicy(List<String> include, List<String> exclude, OptionalInt lmHeadBits, OptionalInt embeddingBits) {

    public TensorPolicy {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
        compileAll(include);
        compileAll(exclude);
        for (OptionalInt b : List.of(lmHeadBits, embeddingBits)) {
            if (b.isPresent() && b.getAsInt() != 2 && b.getAsInt() != 3 && b.getAsInt() != 4 && b.getAsInt() != 8) {
                throw new SlimqException(Failure.USAGE, "--lm-head and --embeddings take 2, 3, 4 or 8 bits, not " + b.getAsInt());
            }
        }
    }

    public static TensorPolicy defaults() {
        return new TensorPolicy(List.of(), List.of(), OptionalInt.empty(), OptionalInt.empty());
    }

    /** Tensors quantized together with one scheme; {@code bits} empty means the run's --bits. */
    public record Unit(String key, List<TensorInfo> members, OptionalInt bits) {
        public Unit {
            members = List.copyOf(members);
        }
    }

    /** What the policy decided: units to quantize, and fused groups kept in float because of --exclude. */
    public record Selection(List<Unit> units, List<String> keptWholeGroups) {
        public Selection {
            units = List.copyOf(units);
            keptWholeGroups = List.copyOf(keptWholeGroups);
        }

        public int tensorCount() {
            return units.stream().mapToInt(u -> u.members().size()).sum();
        }
    }

    public Selection select(ModelLayout layout) {
        List<Pattern> inc = compileAll(include);
        List<Pattern> exc = compileAll(exclude);
        Map<String, OptionalInt> chosen = new LinkedHashMap<>();
        for (TensorInfo t : layout.tensors()) {
            if (t.rank() != 2 || !t.dtype().isFloat() || t.dtype().isSubByte()) {
                continue;
            }
            TensorRole role = layout.role(t.name());
            boolean matchesInclude = matchesAny(inc, t.name());
            if (role.kind() == TensorRole.Kind.LM_HEAD && lmHeadBits.isPresent()) {
                chosen.put(t.name(), lmHeadBits);
            } else if (role.kind() == TensorRole.Kind.EMBEDDING && embeddingBits.isPresent()) {
                chosen.put(t.name(), embeddingBits);
            } else if (role.isLinear() || matchesInclude) {
                chosen.put(t.name(), OptionalInt.empty());
            }
        }
        chosen.keySet().removeIf(n -> matchesAny(exc, n));
        List<Unit> units = new ArrayList<>();
        TreeSet<String> kept = new TreeSet<>();
        Map<String, List<String>> groups = layout.fusedGroups();
        java.util.Set<String> grouped = new java.util.HashSet<>();
        for (Map.Entry<String, List<String>> g : groups.entrySet()) {
            List<String> members = g.getValue();
            grouped.addAll(members);
            long present = members.stream().filter(chosen::containsKey).count();
            if (present == 0) {
                continue;
            }
            if (present < members.size()) {
                kept.add(g.getKey());
                continue;
            }
            units.add(new Unit(g.getKey(), members.stream().map(layout::tensor).toList(), chosen.get(members.getFirst())));
        }
        for (Map.Entry<String, OptionalInt> e : chosen.entrySet()) {
            if (!grouped.contains(e.getKey())) {
                units.add(new Unit(e.getKey(), List.of(layout.tensor(e.getKey())), e.getValue()));
            }
        }
        return new Selection(units, List.copyOf(kept));
    }

    private static boolean matchesAny(List<Pattern> ps, String name) {
        for (Pattern p : ps) {
            if (p.matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    private static List<Pattern> compileAll(List<String> specs) {
        List<Pattern> out = new ArrayList<>();
        for (String s : specs) {
            out.add(Text.namePattern(s));
        }
        return out;
    }
}
