package dev.slimq.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Temporary outputs that must not survive the process: the JVM's shutdown hook (run on SIGINT,
 * SIGTERM and normal exit) deletes whatever is still registered. Writers register a temp file or
 * directory when they create it and unregister it once it has been renamed into place. A SIGKILL
 * skips the hook, but even then nothing exists under a final name: only hidden temp names remain.
 * Resumable writers (those given a {@link Fingerprint}) do not register their temp state: after a
 * SIGINT or SIGTERM, as after a SIGKILL, it stays for the next run with the same fingerprint.
 */
public final class PendingOutputs {
    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(PendingOutputs::deleteAll, "slimq-pending-outputs"));
    }

    private PendingOutputs() {
    }

    public static void register(Path path) {
        PENDING.add(path.toAbsolutePath());
    }

    public static void unregister(Path path) {
        PENDING.remove(path.toAbsolutePath());
    }

    static void deleteAll() {
        for (Path p : PENDING) {
            deleteRecursively(p);
        }
    }

    /** Deletes a file or a directory tree, ignoring what is already gone. */
    public static void deleteRecursively(Path p) {
        try {
            if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> s = Files.walk(p)) {
                    for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(q);
                    }
                }
            } else {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort: this runs while failing or shutting down
        }
    }
}
