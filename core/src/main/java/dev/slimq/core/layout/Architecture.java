package dev.slimq.core.layout;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The model architectures whose tensor names slimq understands.
 *
 * <p>An architecture is recognized from {@code model_type} first, because that is what transformers
 * itself dispatches on, and only when a config has none from {@code architectures[0]} (a class name
 * such as {@code LlamaForCausalLM} or {@code BertModel}). A {@code model_type} slimq does not know is
 * {@link #UNKNOWN} even when the class name looks familiar: {@code gemma3} with
 * {@code Gemma3ForConditionalGeneration} is a vision-language model whose tensors are not Gemma 3
 * text tensors. For UNKNOWN the layout falls back to shape heuristics (DESIGN.md section 2) rather
 * than guessing names.
 */
public enum Architecture {
    LLAMA(Family.DECODER, "llama", "Llama"),
    MISTRAL(Family.DECODER, "mistral", "Mistral"),
    QWEN2(Family.DECODER, "qwen2", "Qwen2"),
    QWEN3(Family.DECODER, "qwen3", "Qwen3"),
    GEMMA(Family.DECODER, "gemma", "Gemma"),
    GEMMA2(Family.DECODER, "gemma2", "Gemma2"),
    /** The text-only Gemma 3 ({@code gemma3_text}); the multimodal {@code gemma3} is UNKNOWN. */
    GEMMA3(Family.DECODER, "gemma3_text", "Gemma3"),
    PHI3(Family.DECODER, "phi3", "Phi3"),
    BERT(Family.ENCODER, "bert", "Bert"),
    ROBERTA(Family.ENCODER, "roberta", "Roberta"),
    XLM_ROBERTA(Family.ENCODER, "xlm-roberta", "XLMRoberta"),
    UNKNOWN(Family.UNKNOWN, "", "");

    /** How tensors are named and what an output head means. */
    public enum Family {
        /** Causal language models with HF llama-style names ({@code model.layers.N.self_attn.q_proj}). */
        DECODER,
        /** BERT-style encoders ({@code encoder.layer.N.attention.self.query}). */
        ENCODER,
        UNKNOWN
    }

    private final Family family;
    private final String modelType;
    private final String classPrefix;

    Architecture(Family family, String modelType, String classPrefix) {
        this.family = family;
        this.modelType = modelType;
        this.classPrefix = classPrefix;
    }

    public Family family() {
        return family;
    }

    /** The {@code model_type} transformers writes for this architecture; empty for UNKNOWN. */
    public String modelType() {
        return modelType;
    }

    /**
     * Recognizes an architecture by {@code model_type} when the config has one, else by the class name
     * in {@code architectures[0]} (its prefix before {@code For...} or {@code Model}), else UNKNOWN.
     */
    public static Architecture recognize(Optional<String> modelType, List<String> architectures) {
        if (modelType.isPresent()) {
            return known().filter(a -> a.modelType.equals(modelType.get())).findFirst().orElse(UNKNOWN);
        }
        if (architectures.isEmpty()) {
            return UNKNOWN;
        }
        String cls = architectures.getFirst();
        int cut = cls.indexOf("For");
        String prefix = cut > 0 ? cls.substring(0, cut) : cls.endsWith("Model") ? cls.substring(0, cls.length() - 5) : "";
        return known().filter(a -> a.classPrefix.equals(prefix)).findFirst().orElse(UNKNOWN);
    }

    private static Stream<Architecture> known() {
        return Stream.of(values()).filter(a -> a != UNKNOWN);
    }
}
