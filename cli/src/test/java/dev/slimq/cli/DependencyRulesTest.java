package dev.slimq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The house rules of DESIGN.md section 1 that Maven's module graph does not enforce by itself:
 * only kernels-opencl imports JOCL, only cli imports picocli, and no library code calls System.exit.
 */
class DependencyRulesTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    private static List<Path> mainSources() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> modules = Files.list(ROOT)) {
            for (Path m : modules.filter(p -> Files.isDirectory(p.resolve("src/main/java"))).toList()) {
                try (Stream<Path> s = Files.walk(m.resolve("src/main/java"))) {
                    s.filter(p -> p.toString().endsWith(".java")).forEach(out::add);
                }
            }
        }
        return out;
    }

    private static String moduleOf(Path source) {
        return ROOT.relativize(source).getName(0).toString();
    }

    @Test
    void importsStayInTheirModules() throws IOException {
        Map<String, String> ownerOf = Map.of("org.jocl", "kernels-opencl", "picocli", "cli");
        List<String> violations = new ArrayList<>();
        List<Path> sources = mainSources();
        assertTrue(sources.size() > 50, "expected the whole tree, found " + sources.size() + " sources under " + ROOT);
        for (Path p : sources) {
            String text = read(p);
            for (Map.Entry<String, String> rule : ownerOf.entrySet()) {
                if (text.contains("import " + rule.getKey() + ".") && !moduleOf(p).equals(rule.getValue())) {
                    violations.add(ROOT.relativize(p) + " imports " + rule.getKey());
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void onlyMainCallsSystemExit() throws IOException {
        List<String> callers = new ArrayList<>();
        for (Path p : mainSources()) {
            if (read(p).contains("System.exit(")) {
                callers.add(ROOT.relativize(p).toString());
            }
        }
        assertEquals(List.of("cli/src/main/java/dev/slimq/cli/Main.java"), callers);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
