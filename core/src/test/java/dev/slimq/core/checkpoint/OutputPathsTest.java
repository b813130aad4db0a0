package dev.slimq.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputPathsTest {
    @TempDir
    Path dir;

    Path in;

    @BeforeEach
    void input() throws IOException {
        in = Files.createDirectories(dir.resolve("models/in"));
        Files.createDirectories(in.resolve("sub"));
        Files.writeString(in.resolve("config.json"), "{}");
    }

    static SlimqException refused(Path out, Path input, boolean force) {
        SlimqException e = assertThrows(SlimqException.class, () -> OutputPaths.check(out, List.of(input), force));
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    static void assertUsage(Path out, Path input) {
        for (boolean force : new boolean[] {false, true}) {
            SlimqException e = refused(out, input, force);
            assertEquals(Failure.USAGE, e.failure(), e.getMessage());
            assertTrue(e.getMessage().contains(out.toString()), e.getMessage());
        }
    }

    @Test
    void outputEqualToTheInput() {
        assertUsage(in, in);
        assertUsage(Path.of(in + "/"), in);
        assertTrue(refused(in, in, true).getMessage().contains(" is the input"));
    }

    @Test
    void outputInsideTheInput() {
        assertUsage(in.resolve("out"), in);
        assertUsage(in.resolve("sub/out"), in);
        assertUsage(in.resolve("config.json"), in);
        assertTrue(refused(in.resolve("out"), in, true).getMessage().contains("inside"));
    }

    @Test
    void outputContainingTheInput() {
        assertUsage(dir.resolve("models"), in);
        assertUsage(dir, in);
        assertTrue(refused(dir.resolve("models"), in, true).getMessage().contains("contains"));
    }

    @Test
    void outputReachingTheInputThroughASymlink() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("link"), in);
        assertUsage(link, in);
        assertUsage(link.resolve("out"), in);
        // and the other way round: the input given through the link
        assertUsage(in.resolve("out"), link);
    }

    @Test
    void outputReachingTheInputThroughDotDot() throws IOException {
        Files.createDirectories(dir.resolve("models/other"));
        assertUsage(dir.resolve("models/other/../in"), in);
        assertUsage(in.resolve("sub/.."), in);
        assertUsage(in.resolve("sub/../out"), in);
        assertUsage(dir.resolve("models/other/../in/out.safetensors"), in);
    }

    @Test
    void dotDotAfterASymlinkIsResolvedByTheFileSystemNotByText() throws IOException {
        // link -> models/in/sub, so link/.. is models/in and link/../out is inside the input, although
        // the text "dir/link/../out" reads as dir/out
        Path link = Files.createSymbolicLink(dir.resolve("link"), in.resolve("sub"));
        assertUsage(dir.resolve("link/../out"), in);
        assertUsage(dir.resolve("link/.."), in);
        // a sibling of the input reached the same way is fine
        Path link2 = Files.createSymbolicLink(dir.resolve("link2"), dir.resolve("models/in"));
        assertDoesNotThrow(() -> OutputPaths.check(link2.resolve("../elsewhere"), List.of(in), false));
        assertTrue(link.isAbsolute());
    }

    @Test
    void otherPathsPass() {
        assertDoesNotThrow(() -> OutputPaths.check(dir.resolve("models/in-q4"), List.of(in), false));
        assertDoesNotThrow(() -> OutputPaths.check(dir.resolve("out.safetensors"), List.of(in), false));
        assertDoesNotThrow(() -> OutputPaths.check(dir.resolve("out"), List.of(), false));
    }

    @Test
    void aSingleFileInput() throws IOException {
        Path file = Files.writeString(dir.resolve("model.safetensors"), "x");
        assertUsage(file, file);
        assertDoesNotThrow(() -> OutputPaths.check(dir.resolve("model-q4.safetensors"), List.of(file), false));
        // the directory holding the input would be replaced as a whole
        assertUsage(dir, file);
    }

    @Test
    void everyInputIsChecked() {
        Path other = dir.resolve("models/second");
        SlimqException e = assertThrows(SlimqException.class,
                () -> OutputPaths.check(other.resolve("out"), List.of(in, other), false));
        assertEquals(Failure.USAGE, e.failure());
    }

    @Test
    void existingOutputNeedsForce() throws IOException {
        Path out = Files.createDirectory(dir.resolve("out"));
        SlimqException e = refused(out, in, false);
        assertEquals(Failure.USAGE, e.failure());
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertDoesNotThrow(() -> OutputPaths.check(out, List.of(in), true));

        Path file = Files.writeString(dir.resolve("out.safetensors"), "x");
        assertEquals(Failure.USAGE, refused(file, in, false).failure());
        assertDoesNotThrow(() -> OutputPaths.check(file, List.of(in), true));

        // a dangling symlink is something in the way too
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere"));
        assertEquals(Failure.USAGE, refused(dangling, in, false).failure());
    }

    @Test
    void missingParentsAreFineButAFileOnTheWayIsAnIoFailure() throws IOException {
        assertDoesNotThrow(() -> OutputPaths.check(dir.resolve("no/such/out"), List.of(in), false));
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        SlimqException e = refused(file.resolve("sub/out"), in, false);
        assertEquals(Failure.IO, e.failure());
        assertEquals(Failure.IO, refused(file.resolve("out"), in, true).failure());
    }
}
