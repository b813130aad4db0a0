package dev.slimq.prune.structure;

import java.util.List;
import java.util.Objects;

/**
 * All units of one kind in one layer, with the tensor slices they own: unit {@code i} owns, in every
 * member, the rows (or columns) {@code [i * span, (i + 1) * span)}.
 *
 * @param layer transformer layer
 * @param kind the unit kind
 * @param count how many units the layer has (intermediate size, KV groups, BERT heads)
 * @param queryHeadsPerUnit query heads one unit carries (GQA group size; 1 for BERT heads, 0 for MLP)
 * @param members the coupled tensor slices, in a fixed order (the order scores are summed in)
 */
public record UnitGroup(int layer, UnitKind kind, int count, int queryHeadsPerUnit, List<Member> members) {

    /** Which axis of a member tensor a unit owns a slice of. */
    public enum Axis {
        /** Output rows (and, for a 1-D bias, its entries). */
        ROW,
        /** Input columns. */
        COLUMN
    }

    /**
     * One tensor coupled to the units.
     *
     * @param tensor tensor name (as the layout gives it)
     * @param axis the axis the units slice
     * @param span rows or columns per unit
     * @param otherDim the length of the other axis (columns of a row member, rows of a column member; 1 for a bias)
     */
    public record Member(String tensor, Axis axis, long span, long otherDim) {
        public Member {
            Objects.requireNonNull(tensor);
            Objects.requireNonNull(axis);
            if (span < 1 || otherDim < 1) {
                throw new IllegalArgumentException("span and other dimension must be positive");
            }
        }

        /** Parameters of this member owned by one unit. */
        public long parametersPerUnit() {
            return span * otherDim;
        }
    }

    public UnitGroup {
        Objects.requireNonNull(kind);
        members = List.copyOf(members);
        if (count < 1) {
            throw new IllegalArgumentException("a unit group has at least one unit");
        }
    }

    /** Parameters one unit owns, over all members. */
    public long parametersPerUnit() {
        long p = 0;
        for (Member m : members) {
            p += m.parametersPerUnit();
        }
        return p;
    }

    /** Parameters of the whole group. */
    public long parameters() {
        return parametersPerUnit() * count;
    }
}
