package dev.slimq.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A writer process that dies mid-write never leaves a file under the final name. */
class SafetensorsWriterKillTest {
    @TempDir
    Path dir;

    private Process startWriter(Path target) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow(() -> new AssertionError("no java command"));
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                KilledWriterMain.class.getName(), target.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            seen.append(line).append('\n');
            if (line.equals("WRITING")) {
                return p;
            }
        }
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("writer child exited before writing: " + seen);
    }

    private static void assertMidWrite(Path target) {
        assertTrue(Files.exists(SafetensorsWriter.tempPathFor(target)), "the child is writing its temp file");
        assertTrue(Files.exists(SafetensorsWriter.journalPathFor(target)), "and its journal");
        assertFalse(Files.exists(target), "nothing under the final name while writing");
    }

    @Test
    @Timeout(60)
    void sigtermDuringAWriteLeavesNothing() throws Exception {
        Path target = dir.resolve("model.safetensors");
        Process p = startWriter(target);
        try {
            assertMidWrite(target);
            p.destroy(); // SIGTERM: the shutdown hook runs
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child did not exit on SIGTERM");
            assertEquals(143, p.exitValue(), "killed by SIGTERM");
            assertFalse(Files.exists(target), "target must not exist");
            assertFalse(Files.exists(SafetensorsWriter.tempPathFor(target)), "the shutdown hook removes the temp file");
            assertFalse(Files.exists(SafetensorsWriter.journalPathFor(target)), "and the journal");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @Timeout(60)
    void sigkillDuringAWriteLeavesNothingUnderTheFinalName() throws Exception {
        Path target = dir.resolve("model.safetensors");
        Process p = startWriter(target);
        try {
            assertMidWrite(target);
            p.destroyForcibly(); // SIGKILL: no hook runs
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child did not exit on SIGKILL");
            assertEquals(137, p.exitValue(), "killed by SIGKILL");
            assertFalse(Files.exists(target), "target must not exist");
            // Only the hidden names may remain; they never look like a finished output.
            try (var s = Files.list(dir)) {
                for (Path left : s.toList()) {
                    assertTrue(left.getFileName().toString().startsWith("."), "unexpected leftover " + left);
                }
            }
        } finally {
            p.destroyForcibly();
        }
    }
}
