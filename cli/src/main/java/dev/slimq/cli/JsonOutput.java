package dev.slimq.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimq.core.json.Json;
import java.io.PrintWriter;

/**
 * {@code --json} output: one snake_case document per command on stdout ({@link Json#report}), always
 * an object whose first key is {@code schema_version} (documented in docs/json.md). Scripts check
 * that number before reading fields; it changes only when a field is renamed, removed or changes
 * meaning (adding fields keeps it).
 */
final class JsonOutput {
    /** The schema version a command's document gets when its result does not carry its own. */
    static final int SCHEMA_VERSION = 1;

    private JsonOutput() {
    }

    static void print(PrintWriter out, Object value) {
        out.print(document(value));
        out.flush();
    }

    /** The text {@link #print} writes; also used for report files written next to --json output. */
    static String document(Object value) {
        return Json.report(withSchemaVersion(value));
    }

    /**
     * The result as a tree with {@code schema_version} first. A result that is not an object (a
     * list) is wrapped as {@code {"schema_version": 1, "entries": [...]}}.
     */
    static ObjectNode withSchemaVersion(Object value) {
        JsonNode tree = value instanceof JsonNode n ? n : Json.reportTree(java.util.Map.of("v", value)).get("v");
        ObjectNode doc = Json.MAPPER.createObjectNode();
        if (tree instanceof ObjectNode o) {
            doc.put("schema_version", o.has("schema_version") ? o.get("schema_version").asInt() : SCHEMA_VERSION);
            o.properties().forEach(e -> {
                if (!e.getKey().equals("schema_version")) {
                    doc.set(e.getKey(), e.getValue());
                }
            });
        } else {
            doc.put("schema_version", SCHEMA_VERSION);
            doc.set("entries", tree);
        }
        return doc;
    }
}
