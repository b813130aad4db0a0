package dev.slimq.cli.recipe;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.slimq.cli.recipe.Recipe.ArgValue;
import dev.slimq.core.IoFailures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reads a recipe with Jackson, strictly: unknown keys, duplicate keys, wrong types (no scalar
 * coercion: {@code version: "1"} or {@code vars: {bits: 4}} are errors) and missing required keys
 * all fail with file, line and column. YAML unless the file name ends in {@code .json}; JSON through
 * the JSON parser gives JSON-accurate messages.
 */
public final class RecipeParser {
    private RecipeParser() {
    }

    /** The file's shape as Jackson binds it; locations are captured by {@link StepDeserializer}. */
    record RawRecipe(@JsonProperty("version") Integer version, @JsonProperty("vars") LinkedHashMap<String, String> vars,
            @JsonProperty("steps") List<RawStep> steps) {
    }

    /** A step plus where it starts in the file. */
    @JsonDeserialize(using = StepDeserializer.class)
    record RawStep(int line, int column, StepBody body) {
    }

    record StepBody(@JsonProperty("name") String name, @JsonProperty("command") String command,
            @JsonProperty("in") String in, @JsonProperty("out") String out,
            @JsonProperty("args") @JsonDeserialize(contentUsing = ArgDeserializer.class) LinkedHashMap<String, ArgValue> args) {
    }

    /** Records the step's start location, then binds the body with the strict defaults. */
    static final class StepDeserializer extends StdDeserializer<RawStep> {
        StepDeserializer() {
            super(RawStep.class);
        }

        @Override
        public RawStep deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            JsonLocation at = p.currentTokenLocation();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                return (RawStep) ctxt.handleUnexpectedToken(RawStep.class, p);
            }
            StepBody body = ctxt.readValue(p, StepBody.class);
            return new RawStep(at.getLineNr(), at.getColumnNr(), body);
        }
    }

    /** A scalar, {@code true}/{@code false}, or a list of scalars; nothing else. */
    static final class ArgDeserializer extends StdDeserializer<ArgValue> {
        ArgDeserializer() {
            super(ArgValue.class);
        }

        @Override
        public ArgValue deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            JsonToken t = p.currentToken();
            if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
                return new ArgValue.Flag(t == JsonToken.VALUE_TRUE);
            }
            if (t == JsonToken.START_ARRAY) {
                List<String> texts = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    if (!isScalar(e)) {
                        return (ArgValue) ctxt.reportInputMismatch(this,
                                "a list item of an option must be a string or number, got " + describe(e));
                    }
                    texts.add(p.getText());
                }
                if (texts.isEmpty()) {
                    return (ArgValue) ctxt.reportInputMismatch(this, "an empty list; leave the option out instead");
                }
                return new ArgValue.Many(List.copyOf(texts));
            }
            if (isScalar(t)) {
                return new ArgValue.Scalar(p.getText());
            }
            return (ArgValue) ctxt.reportInputMismatch(this,
                    "an option value must be a string, number, true/false or a list, got " + describe(t));
        }

        @Override
        public ArgValue getNullValue(DeserializationContext ctxt) throws com.fasterxml.jackson.databind.JsonMappingException {
            return (ArgValue) ctxt.reportInputMismatch(this, "an option value must not be empty (null); use true for a flag");
        }

        private static boolean isScalar(JsonToken t) {
            return t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT;
        }

        private static String describe(JsonToken t) {
            return switch (t) {
                case START_OBJECT -> "a mapping";
                case START_ARRAY -> "a list";
                case VALUE_NULL -> "null";
                default -> t.asString() == null ? t.name() : t.asString();
            };
        }
    }

    private static ObjectMapper mapper(boolean json) {
        JsonFactory f = json ? new JsonFactory() : new YAMLFactory();
        f.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        ObjectMapper m = JsonMapper.builder(f)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .build();
        for (CoercionInputShape s : new CoercionInputShape[] {CoercionInputShape.Integer, CoercionInputShape.Float,
                CoercionInputShape.Boolean}) {
            m.coercionConfigFor(LogicalType.Textual).setCoercion(s, CoercionAction.Fail);
        }
        m.coercionConfigFor(LogicalType.Integer).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        m.coercionConfigFor(LogicalType.Integer).setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
        return m;
    }

    /** Reads and checks {@code path}; the structure is checked here, variables and options later. */
    public static Recipe parse(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (IOException e) {
            throw IoFailures.wrap("read recipe", path, e);
        }
        return parse(path.toString(), text, path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".json"));
    }

    /** Parses recipe text; {@code file} only names it in messages. */
    public static Recipe parse(String file, String text, boolean json) {
        RawRecipe raw;
        try {
            ObjectMapper m = mapper(json);
            checkKeys(file, m, text);
            raw = m.readValue(text, RawRecipe.class);
        } catch (JsonProcessingException e) {
            // The start of the offending token (a key's value, a wrong-typed value), not where the
            // parser stopped: YAML's reader is often already on the next line by then.
            JsonLocation at = e.getProcessor() instanceof JsonParser p && p.currentTokenLocation() != null
                    && p.currentTokenLocation().getLineNr() > 0 ? p.currentTokenLocation() : e.getLocation();
            int line = at == null ? 0 : at.getLineNr();
            int col = at == null ? 0 : at.getColumnNr();
            throw new RecipeFormatException(file, line, col, describe(e));
        }
        if (raw == null) {
            throw new RecipeFormatException(file, 1, 1, "the recipe is empty");
        }
        if (raw.version() == null) {
            throw new RecipeFormatException(file, 1, 1, "missing 'version: 1'");
        }
        if (raw.version() != 1) {
            throw new RecipeFormatException(file, 1, 1, "unsupported recipe version " + raw.version() + "; this slimq reads version 1");
        }
        if (raw.steps() == null || raw.steps().isEmpty()) {
            throw new RecipeFormatException(file, 1, 1, "no 'steps'; a recipe needs at least one step");
        }
        Map<String, String> vars = new LinkedHashMap<>();
        if (raw.vars() != null) {
            for (Map.Entry<String, String> v : raw.vars().entrySet()) {
                if (!RecipeResolver.isVariableName(v.getKey()) || RecipeResolver.RESERVED.contains(v.getKey())) {
                    throw new RecipeFormatException(file, 1, 1, "invalid variable name '" + v.getKey()
                            + "' in vars (letters, digits, '_' and '-'; 'work', 'prev' and 'env' are reserved)");
                }
                if (v.getValue() == null) {
                    throw new RecipeFormatException(file, 1, 1, "variable '" + v.getKey() + "' has no value");
                }
                vars.put(v.getKey(), v.getValue());
            }
        }
        List<Recipe.Step> steps = new ArrayList<>();
        for (int i = 0; i < raw.steps().size(); i++) {
            RawStep rs = raw.steps().get(i);
            if (rs == null) {
                throw new RecipeFormatException(file, 1, 1, "step " + (i + 1) + " is empty");
            }
            steps.add(step(file, i, rs));
        }
        return new Recipe(file, raw.version(), Map.copyOf(vars), List.copyOf(steps));
    }

    private static Recipe.Step step(String file, int index, RawStep rs) {
        StepBody b = rs.body();
        String where = "step " + (index + 1);
        if (b.command() == null) {
            throw new RecipeFormatException(file, rs.line(), rs.column(), where + ": missing 'command' (one of "
                    + new TreeSet<>(Recipe.COMMANDS) + ")");
        }
        if (!Recipe.COMMANDS.contains(b.command())) {
            throw new RecipeFormatException(file, rs.line(), rs.column(), where + ": unknown command '" + b.command()
                    + "' (one of " + new TreeSet<>(Recipe.COMMANDS) + ")");
        }
        String name = b.name() != null ? b.name() : b.command();
        where = "step " + (index + 1) + " '" + name + "'";
        if (b.in() == null) {
            throw new RecipeFormatException(file, rs.line(), rs.column(), where + ": missing 'in'");
        }
        boolean writes = Recipe.WRITERS.contains(b.command());
        if (writes && b.out() == null) {
            throw new RecipeFormatException(file, rs.line(), rs.column(), where + ": missing 'out' (" + b.command() + " writes)");
        }
        if (!writes && b.out() != null) {
            throw new RecipeFormatException(file, rs.line(), rs.column(), where + ": " + b.command()
                    + " writes no output; remove 'out'");
        }
        Map<String, ArgValue> args = b.args() == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.args()));
        return new Recipe.Step(index, rs.line(), rs.column(), name, b.command(), b.in(), b.out(), args);
    }

    private static final List<String> TOP_KEYS = List.of("steps", "vars", "version");
    private static final List<String> STEP_KEYS = List.of("args", "command", "in", "name", "out");

    /**
     * A streaming pass for unknown keys before binding: databind reports them where its reader
     * stopped, which in YAML is often the next line; here each key's own position is at hand.
     */
    private static void checkKeys(String file, ObjectMapper m, String text) throws JsonProcessingException {
        try (JsonParser p = m.getFactory().createParser(text)) {
            checkKeys(file, p);
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a String source does not fail to read
        }
    }

    private static void checkKeys(String file, JsonParser p) throws IOException {
        {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return; // databind reports the wrong shape
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String key = p.currentName();
                unknown(file, p, key, TOP_KEYS);
                JsonToken v = p.nextToken();
                if (key.equals("steps") && v == JsonToken.START_ARRAY) {
                    for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY && e != null; e = p.nextToken()) {
                        if (e != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        for (JsonToken f = p.nextToken(); f == JsonToken.FIELD_NAME; f = p.nextToken()) {
                            unknown(file, p, p.currentName(), STEP_KEYS);
                            p.nextToken();
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
    }

    private static void unknown(String file, JsonParser p, String key, List<String> known) {
        if (!known.contains(key)) {
            JsonLocation at = p.currentTokenLocation();
            throw new RecipeFormatException(file, at.getLineNr(), at.getColumnNr(),
                    "unknown key '" + key + "' (known: " + String.join(", ", known) + ")");
        }
    }

    private static String describe(JsonProcessingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> known = new ArrayList<>();
            if (u.getKnownPropertyIds() != null) {
                u.getKnownPropertyIds().forEach(k -> known.add(String.valueOf(k)));
            }
            java.util.Collections.sort(known);
            return "unknown key '" + u.getPropertyName() + "'" + (known.isEmpty() ? "" : " (known: " + String.join(", ", known) + ")");
        }
        String m = e.getOriginalMessage();
        if (m == null) {
            m = e.getClass().getSimpleName();
        }
        // Jackson's coercion messages talk about CoercionConfig; say what the recipe needs instead.
        m = m.replaceAll("(?s)^Cannot coerce (\\w+) value \\((.*?)\\) to `java\\.lang\\.(\\w+)` value.*",
                "wrong type: expected $3, got $1 $2");
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException jm && !jm.getPath().isEmpty()) {
            m = m + " (at " + path(jm) + ")";
        }
        return m.replace('\n', ' ');
    }

    private static String path(com.fasterxml.jackson.databind.JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (var r : e.getPath()) {
            if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            } else if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            }
        }
        return sb.toString();
    }
}
