/**
 * The model layout: which architecture a checkpoint is and what each of its tensors does.
 *
 * <p>Every algorithm in slimq needs to know which matrices are linear weights, which of them read the
 * same input (q/k/v, gate/up) and so must share a quantization scheme, which tensor is the embedding or
 * the output head, and which are norms and biases to leave alone. Tensor names encode this, but
 * differently per architecture and with wrapper prefixes ({@code model.}, {@code bert.}); if each
 * algorithm parsed names itself, each would get a different subset of cases right. So name parsing
 * lives here and nowhere else (DESIGN.md section 2): algorithms ask a {@link
 * dev.slimq.core.layout.ModelLayout} for {@link dev.slimq.core.layout.TensorRole}s.
 *
 * <ul>
 *   <li>{@link dev.slimq.core.layout.ModelConfig}: a validated {@code config.json}, with transformers'
 *       per-architecture defaults; malformed or inconsistent configs raise
 *       {@link dev.slimq.core.layout.ModelConfigException} ({@code BAD_INPUT}).
 *   <li>{@link dev.slimq.core.layout.Architecture}: recognized from {@code model_type}, else from
 *       {@code architectures[0]}; everything else is UNKNOWN and handled by shape heuristics.
 *   <li>{@link dev.slimq.core.layout.ModelLayout}: classifies every tensor, cross-checks the config
 *       against tensor shapes and the layer count, and answers role, layer, fused-group and
 *       tied-embedding questions.
 * </ul>
 */
package dev.slimq.core.layout;
