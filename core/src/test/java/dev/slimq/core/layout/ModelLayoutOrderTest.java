package dev.slimq.core.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.CharRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;

/** The layout's order is part of determinism (DESIGN.md section 7): it must not depend on the input order. */
class ModelLayoutOrderTest {

    @Property(tries = 50)
    void sameLayoutWhateverTheInputOrder(@ForAll long seed) {
        List<TensorInfo> given = ModelLayoutTest.llamaTensors(2, true);
        List<TensorInfo> shuffled = new ArrayList<>(given);
        Collections.shuffle(shuffled, new Random(seed));
        ModelConfig config = ModelConfigTest.config(ModelLayoutTest.LLAMA_CONFIG.formatted(false));
        ModelLayout a = ModelLayout.of(Optional.of(config), given);
        ModelLayout b = ModelLayout.of(Optional.of(config), shuffled);
        assertEquals(a.tensors(), b.tensors());
        assertEquals(List.copyOf(a.fusedGroups().entrySet()), List.copyOf(b.fusedGroups().entrySet()));
    }

    @Property
    void layerNumbersCompareAsNumbers(@ForAll @IntRange(max = 100_000) int i, @ForAll @IntRange(max = 100_000) int j) {
        int c = ModelLayout.compareNatural("model.layers." + i + ".mlp.up_proj.weight", "model.layers." + j + ".mlp.up_proj.weight");
        assertEquals(Integer.signum(Integer.compare(i, j)), Integer.signum(c));
    }

    @Property
    void naturalOrderIsAntisymmetricAndOnlyEqualForEqualNames(
            @ForAll @StringLength(max = 8) @CharRange(from = '.', to = '9') String a,
            @ForAll @StringLength(max = 8) @CharRange(from = '.', to = '9') String b) {
        int ab = ModelLayout.compareNatural(a, b);
        assertEquals(-Integer.signum(ab), Integer.signum(ModelLayout.compareNatural(b, a)));
        assertEquals(a.equals(b), ab == 0);
    }
}
