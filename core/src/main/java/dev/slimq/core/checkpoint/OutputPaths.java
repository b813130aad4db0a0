package dev.slimq.core.checkpoint;

import dev.slimq.core.Failure;
import dev.slimq.core.IoFailures;
import dev.slimq.core.SlimqException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collection;

/**
 * The "never lose data" checks made before anything is written: inputs are read-only, so an output
 * equal to an input, inside one, or containing one is refused; an existing output is refused unless
 * the caller forces replacement. Missing parent directories are fine: writers create them.
 */
public final class OutputPaths {
    private OutputPaths() {
    }

    public static void check(Path output, Collection<Path> inputs, boolean force) {
        Path out = canonical(output);
        for (Path input : inputs) {
            Path in = canonical(input);
            if (out.equals(in) || out.startsWith(in) || in.startsWith(out)) {
                throw new SlimqException(Failure.USAGE, "output " + output + (out.equals(in) ? " is" : out.startsWith(in) ? " is inside" : " contains")
                        + " the input " + input + "; inputs are never modified, choose another output path");
            }
        }
        if (Files.exists(output, LinkOption.NOFOLLOW_LINKS) && !force) {
            throw new SlimqException(Failure.USAGE, "output " + output + " already exists; pass --force to replace it");
        }
        // Missing parent directories are created by the writer (as mkdir -p would); only an existing
        // non-directory on the way makes the output impossible.
        for (Path a = out.getParent(); a != null; a = a.getParent()) {
            if (Files.exists(a)) {
                if (!Files.isDirectory(a)) {
                    throw new SlimqException(Failure.IO, "cannot write " + output + ": " + a + " is not a directory");
                }
                break;
            }
        }
    }

    /**
     * The real path of the deepest existing ancestor joined with the rest, so that symbolic links
     * and {@code ..} cannot hide that two paths are the same place. The path is not normalized before
     * the file system has resolved it: {@code link/..} is the parent of the link's target, not the
     * directory holding the link, and a lexical clean-up would compare the wrong place.
     */
    static Path canonical(Path p) {
        Path abs = p.toAbsolutePath();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs.normalize();
        }
        try {
            Path real = existing.toRealPath();
            // What is left does not exist yet, so no link can hide in it: a lexical clean-up is exact.
            return existing.getNameCount() == abs.getNameCount()
                    ? real
                    : real.resolve(abs.subpath(existing.getNameCount(), abs.getNameCount())).normalize();
        } catch (IOException e) {
            throw IoFailures.wrap("resolve", p, e);
        }
    }
}
