package dev.slimq.core.json;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.nio.file.Path;

/**
 * The two JSON dialects slimq writes. {@link #python} lays a tree out as Python's
 * {@code json.dumps(obj, indent=2)} does (two-space indent, {@code "key": value}, {@code "\n"} line
 * ends, a trailing newline), for files Hugging Face tools write and read (config.json,
 * tokenizer files). {@link #report} serializes records with snake_case keys, absent values omitted,
 * for reports and {@code --json} output. Both are deterministic.
 */
public final class Json {
    /** A plain mapper for reading and building trees. */
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private static final ObjectWriter PYTHON;
    private static final ObjectMapper REPORT_MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(SerializationFeature.INDENT_OUTPUT)
            // A Path is written as the path the user typed, not Jackson's default file:// URI.
            .registerModule(new SimpleModule("slimq-paths").addSerializer(Path.class, new ToStringSerializer(Path.class)));
    private static final ObjectWriter REPORT = REPORT_MAPPER.writer();

    static {
        DefaultIndenter indent = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                        .withObjectEmptySeparator("")
                        .withArrayEmptySeparator(""));
        pp.indentObjectsWith(indent);
        pp.indentArraysWith(indent);
        PYTHON = MAPPER.writer(pp);
    }

    private Json() {
    }

    /** {@code node} as Python's {@code json.dumps(node, indent=2) + "\n"} lays it out (key order kept). */
    public static String python(JsonNode node) {
        try {
            return PYTHON.writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    /** A record as a tree with the {@link #report} key convention, to extend before printing. */
    public static com.fasterxml.jackson.databind.node.ObjectNode reportTree(Object value) {
        return REPORT_MAPPER.valueToTree(value);
    }

    /** A record or map as a snake_case, pretty-printed JSON document with a trailing newline. */
    public static String report(Object value) {
        try {
            return REPORT.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value.getClass().getSimpleName(), e);
        }
    }
}
