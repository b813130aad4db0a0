package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.safetensors.SafetensorsFormatException.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The committed fixtures in testdata/hostile are complete, tiny, documented and each rejected for its reason. */
class HostileFilesTest {

    private static List<Path> fixtures() throws IOException {
        try (Stream<Path> s = Files.list(StFiles.hostileDir())) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void everyReasonHasItsFile() {
        for (Reason r : Reason.values()) {
            Path p = StFiles.hostile(r.name().toLowerCase(Locale.ROOT));
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p));
            assertEquals(r, e.reason(), p + ": " + e.getMessage());
        }
    }

    @Test
    void everyFixtureIsTinyDocumentedAndRejectedForTheReasonInItsName() throws IOException {
        String readme = Files.readString(StFiles.hostileDir().resolve("README.md"));
        assertTrue(Files.isRegularFile(StFiles.hostileDir().resolve("make_hostile.py")), "the generator script is committed");
        List<Path> files = fixtures();
        assertTrue(files.size() >= Reason.values().length + 1, "fixtures: " + files);
        for (Path p : files) {
            String name = p.getFileName().toString();
            assertTrue(Files.size(p) < 1024, name + " is not tiny");
            assertTrue(readme.contains("`" + name + "`"), name + " is not listed in README.md");
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p), name);
            String stem = name.substring(0, name.length() - ".safetensors".length());
            if (stem.equals("json_attack")) {
                assertEquals(Reason.OFFSETS_OVERLAP, e.reason(), name);
            } else {
                assertTrue(stem.equals(e.reason().name().toLowerCase(Locale.ROOT))
                        || stem.startsWith(e.reason().name().toLowerCase(Locale.ROOT) + "_"),
                        name + " was rejected as " + e.reason() + ": " + e.getMessage());
            }
            assertTrue(readme.contains("| `" + name + "` | " + e.reason() + " |"), name + "'s README row names another reason");
        }
    }
}
