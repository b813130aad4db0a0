package dev.slimq.core.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * The subword model that turns one pre-tokenized word into tokens ({@code tokenizers/src/models/}).
 * Vocabularies are shared, read-only maps.
 */
sealed interface TokenizerModel permits WordPieceModel, BpeModel, UnigramModel {
    /** One token of a word: its id and text, and the code points {@code [from, to)} of the word it covers. */
    record Token(int id, String value, int from, int to) {
    }

    List<Token> tokenize(Piece word);

    Map<String, Integer> vocab();

    /** The model's unknown token, or null. */
    String unkToken();
}
