package dev.slimq.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JsonReportTest {
    record Result(Path input, int tokensAfter) {
    }

    @Test
    void pathsAreWrittenAsTypedNotAsUris() {
        // Expected text written by hand: snake_case key, the relative path unchanged, two-space indent.
        assertEquals("{\n  \"input\" : \"models/a b\",\n  \"tokens_after\" : 3\n}",
                Json.report(new Result(Path.of("models/a b"), 3)).strip());
    }
}
