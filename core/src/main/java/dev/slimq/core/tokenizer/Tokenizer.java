package dev.slimq.core.tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face tokenizer loaded from {@code tokenizer.json}, encoding as the Rust {@code tokenizers}
 * library does ({@code tokenizers/src/tokenizer/mod.rs}, {@code encode_single_sequence}): added tokens are
 * split out of the raw text first (leftmost-longest; {@code tokenizer/added_vocabulary.rs}), each
 * remaining segment is normalized, split again on the added tokens marked {@code normalized}, pre-tokenized,
 * and each word run through the model; the post-processor then adds special tokens. Offsets follow each
 * token back to the input through every step.
 *
 * <p>Immutable and safe to share between threads. Only single sequences (no pairs), no truncation or
 * padding: callers batch themselves.
 */
public final class Tokenizer {
    /** Ids beyond this are taken as corruption (the largest real vocabularies hold about 2^18). */
    static final int MAX_ID = 1 << 24;
    private final Path source;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final TokenizerModel model;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final List<AddedToken> addedTokens;
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final Set<Integer> specialIds;
    private final Map<String, AddedToken> rawAdded = new HashMap<>();
    private final Map<String, AddedToken> normalizedAdded = new HashMap<>();

    Tokenizer(Path source, Normalizer normalizer, PreTokenizer preTokenizer, TokenizerModel model,
              PostProcessor postProcessor, Decoder decoder, List<AddedToken> addedTokens) {
        this.source = source;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.addedTokens = List.copyOf(addedTokens);
        Map<String, Integer> v = new LinkedHashMap<>(model.vocab());
        Set<Integer> special = new java.util.HashSet<>();
        for (AddedToken t : this.addedTokens) {
            v.put(t.content(), t.id());
            if (t.special()) {
                special.add(t.id());
            }
            if (t.normalized() && normalizer != null) {
                normalizedAdded.put(normalizer.normalize(Piece.of(t.content())).text(), t);
            } else {
                rawAdded.put(t.content(), t);
            }
        }
        this.vocab = Collections.unmodifiableMap(v);
        this.specialIds = Set.copyOf(special);
        int max = v.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        if (max >= MAX_ID || v.values().stream().anyMatch(id -> id < 0)) {
            throw new IllegalArgumentException("token ids must lie in [0, " + MAX_ID + ")");
        }
        this.idToToken = new String[max + 1];
        model.vocab().forEach((t, id) -> idToToken[id] = t);
        this.addedTokens.forEach(t -> idToToken[t.id()] = t.content());
    }

    /**
     * Loads {@code tokenizer.json}.
     *
     * @throws TokenizerFormatException BAD_INPUT when malformed, UNSUPPORTED for a model or component
     *                                  slimq does not implement (WordLevel, BPE dropout, ...)
     * @throws dev.slimq.core.SlimqException IO when the file cannot be read
     */
    public static Tokenizer load(Path tokenizerJson) {
        return TokenizerJson.load(tokenizerJson);
    }

    /** Encodes one sequence; {@code addSpecialTokens} lets the post-processor add [CLS]/[SEP], BOS, ... */
    public Encoding encode(String text, boolean addSpecialTokens) {
        List<PostProcessor.Tok> toks = new ArrayList<>();
        for (Object seg : splitAdded(Piece.of(text), rawAdded)) {
            if (seg instanceof PostProcessor.Tok t) {
                toks.add(t);
                continue;
            }
            Piece p = normalizer == null ? (Piece) seg : normalizer.normalize((Piece) seg);
            for (Object sub : splitAdded(p, normalizedAdded)) {
                if (sub instanceof PostProcessor.Tok t) {
                    toks.add(t);
                    continue;
                }
                List<Piece> words = preTokenizer == null ? List.of((Piece) sub) : preTokenizer.split((Piece) sub);
                for (Piece w : words) {
                    for (TokenizerModel.Token t : model.tokenize(w)) {
                        toks.add(new PostProcessor.Tok(t.id(), t.value(), w.origStart(t.from()),
                                w.origEnd(t.to()), 0, false));
                    }
                }
            }
        }
        if (postProcessor != null) {
            toks = postProcessor.process(toks, addSpecialTokens);
        }
        int n = toks.size();
        int[] ids = new int[n], types = new int[n], st = new int[n], en = new int[n], mask = new int[n];
        int[] spec = new int[n];
        List<String> tokens = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            PostProcessor.Tok t = toks.get(i);
            ids[i] = t.id();
            tokens.add(t.value());
            types[i] = t.typeId();
            st[i] = t.start();
            en[i] = t.end();
            mask[i] = 1;
            spec[i] = t.special() ? 1 : 0;
        }
        return new Encoding(ids, tokens, types, st, en, mask, spec);
    }

    /** Ids only, with special tokens. */
    public int[] encodeIds(String text) {
        return encode(text, true).ids();
    }

    /** Decodes skipping special tokens, as {@code tokenizer.decode(ids)} does by default in Python. */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * Ids to text through the decoder ({@code Tokenizer::decode} in {@code tokenizer/mod.rs}); without a
     * decoder the tokens are joined with spaces.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecialTokens && specialIds.contains(id)) {
                continue;
            }
            String t = idToToken(id);
            if (t == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + source);
            }
            tokens.add(t);
        }
        return decoder == null ? String.join(" ", tokens) : String.join("", decoder.decodeChain(tokens));
    }

    /** The subword model: {@code "WordPiece"}, {@code "BPE"} or {@code "Unigram"}, as tokenizer.json names it. */
    public String modelType() {
        return switch (model) {
            case WordPieceModel w -> "WordPiece";
            case BpeModel b -> "BPE";
            case UnigramModel u -> "Unigram";
        };
    }

    /** Number of distinct tokens, added tokens included ({@code get_vocab_size(true)}). */
    public int vocabSize() {
        return vocab.size();
    }

    /** Model vocabulary plus added tokens, token to id. */
    public Map<String, Integer> vocab() {
        return vocab;
    }

    public OptionalInt tokenToId(String token) {
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The token of {@code id}, or null when no token has it. */
    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** Whether {@code id} is an added token flagged special. */
    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** The model's unknown token id ({@code unk_token}), if it has one. */
    public OptionalInt unkId() {
        return model.unkToken() == null ? OptionalInt.empty() : tokenToId(model.unkToken());
    }

    /**
     * Special ids by the names the model families use; tokenizer.json does not record roles (that is
     * tokenizer_config.json's job), so these are conventions: the first name present wins.
     */
    public OptionalInt bosId() {
        return firstOf("<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>");
    }

    public OptionalInt eosId() {
        return firstOf("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>");
    }

    public OptionalInt padId() {
        return firstOf("[PAD]", "<pad>", "<|pad|>");
    }

    public OptionalInt clsId() {
        return firstOf("[CLS]", "<cls>");
    }

    public OptionalInt sepId() {
        return firstOf("[SEP]", "<sep>");
    }

    public OptionalInt maskId() {
        return firstOf("[MASK]", "<mask>");
    }

    private OptionalInt firstOf(String... names) {
        for (String n : names) {
            OptionalInt id = tokenToId(n);
            if (id.isPresent()) {
                return id;
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Cuts {@code p} at added-token matches (leftmost, then longest, as the library's aho-corasick
     * {@code LeftmostLongest}); a match becomes a {@link PostProcessor.Tok}, the text between stays a
     * {@link Piece}. lstrip/rstrip widen a match over adjacent whitespace (not into the previous match);
     * a single_word match with a word character beside it is dropped ({@code find_matches} in
     * {@code tokenizer/added_vocabulary.rs}).
     */
    private static List<Object> splitAdded(Piece p, Map<String, AddedToken> added) {
        if (added.isEmpty() || p.isEmpty()) {
            return List.of(p);
        }
        String text = p.text();
        int[] cps = p.cps;
        List<Object> out = new ArrayList<>();
        int cpAt = 0, charAt = 0, segStart = 0;
        while (cpAt < cps.length) {
            AddedToken best = null;
            int bestLen = 0;
            for (Map.Entry<String, AddedToken> e : added.entrySet()) {
                String c = e.getKey();
                if (c.length() > bestLen && text.startsWith(c, charAt)) {
                    best = e.getValue();
                    bestLen = c.length();
                }
            }
            if (best == null) {
                charAt += Character.charCount(cps[cpAt]);
                cpAt++;
                continue;
            }
            int len = text.codePointCount(charAt, charAt + bestLen);
            if (best.singleWord() && (wordChar(cps, cpAt - 1) || wordChar(cps, cpAt + len))) {
                // the library drops such a match and searches on after it
                charAt += bestLen;
                cpAt += len;
                continue;
            }
            int from = cpAt, to = cpAt + len;
            charAt += bestLen;
            if (best.lstrip()) {
                while (from > segStart && Chars.isWhitespace(cps[from - 1])) {
                    from--;
                }
            }
            if (best.rstrip()) {
                while (to < cps.length && Chars.isWhitespace(cps[to])) {
                    charAt += Character.charCount(cps[to]);
                    to++;
                }
            }
            if (from > segStart) {
                out.add(p.sub(segStart, from));
            }
            // the token's text is the matched span, stripped whitespace included (as the library's)
            out.add(new PostProcessor.Tok(best.id(), new String(cps, from, to - from), p.start[from], p.end[to - 1], 0,
                    best.special()));
            segStart = cpAt = to;
        }
        if (segStart < cps.length) {
            out.add(p.sub(segStart, cps.length));
        }
        return out;
    }

    private static boolean wordChar(int[] cps, int i) {
        return i >= 0 && i < cps.length && (Character.isLetterOrDigit(cps[i]) || cps[i] == '_');
    }

    @Override
    public String toString() {
        return "Tokenizer[" + modelType() + ", " + vocabSize() + " tokens, " + source + "]";
    }
}
