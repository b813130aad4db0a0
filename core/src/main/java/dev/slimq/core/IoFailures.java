package dev.slimq.core;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Turns an {@link IOException} into a one-line {@link Failure#IO} error that names the path and the cause. */
public final class IoFailures {
    private IoFailures() {
    }

    public static SlimqException wrap(String action, Path path, IOException e) {
        return new SlimqException(Failure.IO, "cannot " + action + " " + path + ": " + describe(e), e);
    }

    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
