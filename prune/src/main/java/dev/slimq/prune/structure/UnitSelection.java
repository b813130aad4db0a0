package dev.slimq.prune.structure;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/** Which unit kinds {@code --units} selects for pruning. */
public enum UnitSelection {
    MLP, ATTENTION, ALL;

    public boolean includes(UnitKind kind) {
        return switch (this) {
            case MLP -> kind == UnitKind.MLP_NEURON;
            case ATTENTION -> kind == UnitKind.ATTENTION_GROUP;
            case ALL -> true;
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code mlp}, {@code attention} or {@code all}. */
    public static UnitSelection fromName(String name) {
        for (UnitSelection s : values()) {
            if (s.cliName().equalsIgnoreCase(name.strip())) {
                return s;
            }
        }
        throw new SlimqException(Failure.USAGE, "unknown --units '" + name + "'; use mlp, attention or all");
    }
}
