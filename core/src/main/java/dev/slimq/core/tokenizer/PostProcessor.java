package dev.slimq.core.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The post-processors of {@code tokenizers/src/processors/} for a single sequence: they add the model's
 * special tokens ({@code [CLS] $A [SEP]}, {@code <s> $A </s>}) when asked, and ByteLevel/Roberta trim
 * leading and trailing spaces out of offsets ({@code process_offsets} in {@code pre_tokenizers/byte_level.rs}).
 */
sealed interface PostProcessor {
    /** One token on its way into an {@link Encoding}. Offsets are original UTF-16 indices. */
    record Tok(int id, String value, int start, int end, int typeId, boolean special) {
    }

    List<Tok> process(List<Tok> tokens, boolean addSpecialTokens);

    /** A template item: a special token by name, or the sequence itself with its type id. */
    sealed interface Item {
    }

    record SpecialItem(String name, int typeId) implements Item {
    }

    record SequenceItem(int typeId) implements Item {
    }

    /** A named special token of the template, with the ids and tokens it expands to. */
    record Special(int[] ids, List<String> tokens) {
    }

    /** {@code processors/template.rs}, {@code single} template only. */
    record Template(List<Item> single, java.util.Map<String, Special> specials) implements PostProcessor {
        @Override
        public List<Tok> process(List<Tok> tokens, boolean addSpecialTokens) {
            List<Tok> out = new ArrayList<>();
            for (Item item : single) {
                switch (item) {
                    case SequenceItem s -> tokens.forEach(t -> out.add(
                            new Tok(t.id(), t.value(), t.start(), t.end(), s.typeId(), t.special())));
                    case SpecialItem s -> {
                        if (addSpecialTokens) {
                            Special sp = specials.get(s.name());
                            for (int i = 0; i < sp.ids().length; i++) {
                                out.add(new Tok(sp.ids()[i], sp.tokens().get(i), 0, 0, s.typeId(), true));
                            }
                        }
                    }
                }
            }
            return out;
        }
    }

    /** {@code processors/bert.rs} and {@code processors/roberta.rs}: {@code cls A sep}, Roberta trimming offsets. */
    record Wrap(Tok cls, Tok sep, boolean trimOffsets, boolean addPrefixSpace) implements PostProcessor {
        @Override
        public List<Tok> process(List<Tok> tokens, boolean addSpecialTokens) {
            List<Tok> body = trimOffsets ? new ByteLevel(true, addPrefixSpace).process(tokens, false) : tokens;
            if (!addSpecialTokens) {
                return body;
            }
            List<Tok> out = new ArrayList<>(body.size() + 2);
            out.add(cls);
            out.addAll(body);
            out.add(sep);
            return out;
        }
    }

    /** {@code pre_tokenizers/byte_level.rs} as a processor: only trims offsets. */
    record ByteLevel(boolean trimOffsets, boolean addPrefixSpace) implements PostProcessor {
        @Override
        public List<Tok> process(List<Tok> tokens, boolean addSpecialTokens) {
            if (!trimOffsets) {
                return tokens;
            }
            List<Tok> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                Tok t = tokens.get(i);
                int[] cps = t.value().codePoints().toArray();
                int lead = 0, trail = 0;
                while (lead < cps.length && space(cps[lead])) {
                    lead++;
                }
                while (trail < cps.length && space(cps[cps.length - 1 - trail])) {
                    trail++;
                }
                int s = t.start(), e = t.end();
                if (lead > 0) {
                    boolean first = i == 0 || s == 0;
                    if (first && addPrefixSpace && lead == 1) {
                        lead = 0;
                    }
                    s = Math.min(s + lead, e);
                }
                if (trail > 0 && e >= trail) {
                    e = Math.max(e - trail, s);
                }
                out.add(new Tok(t.id(), t.value(), s, e, t.typeId(), t.special()));
            }
            return out;
        }

        private static boolean space(int c) {
            return c == Chars.BYTE_TO_CHAR[' '] || Chars.isWhitespace(c);
        }
    }

    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public List<Tok> process(List<Tok> tokens, boolean addSpecialTokens) {
            for (PostProcessor p : steps) {
                tokens = p.process(tokens, addSpecialTokens);
            }
            return tokens;
        }
    }
}
