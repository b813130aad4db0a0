package dev.slimq.testdata;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

/**
 * Formats JSON the way Python's {@code json.dumps(obj, indent=2)} lays it out (two-space indent,
 * {@code "key": value}, one array element per line, {@code "\n"} line ends on every platform, a
 * trailing newline), in the key order of the tree given: callers insert keys sorted where
 * transformers sorts them (config files) and in the library's own order elsewhere (tokenizer.json).
 * Only the text is made here; {@link SynthCheckpoint} hands it to core's checkpoint writer.
 */
final class HfJson {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ObjectWriter WRITER;

    static {
        DefaultIndenter indent = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                        .withObjectEmptySeparator("")
                        .withArrayEmptySeparator(""));
        pp.indentObjectsWith(indent);
        pp.indentArraysWith(indent);
        WRITER = MAPPER.writer(pp);
    }

    private HfJson() {
    }

    static String format(JsonNode node) {
        try {
            return WRITER.writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }
}
