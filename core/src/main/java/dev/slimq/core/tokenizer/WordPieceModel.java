package dev.slimq.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * BERT's WordPiece ({@code tokenizers/src/models/wordpiece/mod.rs}): greedy longest-match-first from the
 * left; every piece after the first carries {@code continuingSubwordPrefix} ("##"); a word with a piece
 * not in the vocabulary, or longer than {@code maxInputCharsPerWord} chars, becomes one unknown token.
 */
record WordPieceModel(Map<String, Integer> vocab, String unkToken, String continuingSubwordPrefix,
                      int maxInputCharsPerWord) implements TokenizerModel {
    WordPieceModel {
        vocab = Map.copyOf(vocab);
        if (!vocab.containsKey(unkToken)) {
            throw new IllegalArgumentException("WordPiece unk_token " + unkToken + " is not in the vocabulary");
        }
    }

    @Override
    public List<Token> tokenize(Piece word) {
        int n = word.length();
        if (n > maxInputCharsPerWord) {
            return List.of(new Token(vocab.get(unkToken), unkToken, 0, n));
        }
        List<Token> out = new ArrayList<>();
        int start = 0;
        while (start < n) {
            int end = n;
            Token found = null;
            while (start < end) {
                String sub = new String(word.cps, start, end - start);
                if (start > 0) {
                    sub = continuingSubwordPrefix + sub;
                }
                Integer id = vocab.get(sub);
                if (id != null) {
                    found = new Token(id, sub, start, end);
                    break;
                }
                end--;
            }
            if (found == null) {
                return List.of(new Token(vocab.get(unkToken), unkToken, 0, n));
            }
            out.add(found);
            start = end;
        }
        return out;
    }
}
