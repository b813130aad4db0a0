package dev.slimq.core.layout;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What one tensor is in the model: the answer algorithms ask the layout for instead of parsing names.
 *
 * @param kind what the tensor does
 * @param linear which projection, present exactly when {@code kind} is {@link Kind#LINEAR}
 * @param layer the transformer layer the tensor belongs to; empty for embeddings, heads, final norms
 * @param group the fused-group key: tensors that read the same input and so must share one
 *     quantization scheme share it ({@code layers.3.attn_in} for q/k/v or a fused qkv,
 *     {@code layers.3.mlp_in} for gate/up); any other tensor's key is its own name
 * @param ownerWeight for a {@link Kind#BIAS}, the weight it is added after, when that weight exists
 */
public record TensorRole(Kind kind, Optional<LinearRole> linear, OptionalInt layer, String group,
        Optional<String> ownerWeight) {

    /** The kinds of tensor a policy treats differently (DESIGN.md section 3, tensor policy). */
    public enum Kind {
        /** A rank-2 weight of a linear map: what quantization and structural pruning work on. */
        LINEAR,
        /** The token embedding table, [vocab, hidden]. */
        EMBEDDING,
        /** The output projection to vocabulary logits (absent when tied to the embedding). */
        LM_HEAD,
        /** Scale (and shift) of a LayerNorm or RMSNorm, including q/k norms. */
        NORM,
        /** A bias vector added after a linear map. */
        BIAS,
        /** A learned additive table indexed by position or segment, not by token (BERT, GPT-2). */
        POSITION_EMBEDDING,
        /** Anything else (buffers, integer tensors, higher-rank tensors): copied through untouched. */
        OTHER
    }

    public TensorRole {
        Objects.requireNonNull(kind);
        Objects.requireNonNull(group);
        if (linear.isPresent() != (kind == Kind.LINEAR)) {
            throw new IllegalArgumentException("a linear role is given exactly for LINEAR tensors, not " + kind);
        }
        if (ownerWeight.isPresent() && kind != Kind.BIAS) {
            throw new IllegalArgumentException("only a BIAS has an owner weight, not " + kind);
        }
    }

    static TensorRole linear(LinearRole role, OptionalInt layer, String group) {
        return new TensorRole(Kind.LINEAR, Optional.of(role), layer, group, Optional.empty());
    }

    static TensorRole bias(OptionalInt layer, String name, Optional<String> owner) {
        return new TensorRole(Kind.BIAS, Optional.empty(), layer, name, owner);
    }

    static TensorRole of(Kind kind, OptionalInt layer, String name) {
        return new TensorRole(kind, Optional.empty(), layer, name, Optional.empty());
    }

    public boolean isLinear() {
        return kind == Kind.LINEAR;
    }

    /** True when {@link #linear()} is {@code role}. */
    public boolean is(LinearRole role) {
        return linear.orElse(null) == role;
    }
}
