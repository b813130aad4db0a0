package dev.slimq.core.checkpoint;

import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Small safetensors files and checkpoint directories for tests, written with the plain writer. */
public final class TestCheckpoints {
    private TestCheckpoints() {
    }

    public static TensorInfo t(String name, DType dtype, long... shape) {
        return TensorInfo.planned(name, dtype, shape);
    }

    /** Deterministic values for a tensor: multiples of 1/4 in [-1.5, 1.5], exact in F32, F16 and BF16. */
    public static float[] values(String name, long count) {
        float[] v = new float[Math.toIntExact(count)];
        int h = Math.floorMod(name.hashCode(), 13);
        for (int i = 0; i < v.length; i++) {
            v[i] = ((i * 7 + h) % 13 - 6) * 0.25f;
        }
        return v;
    }

    /** Writes a safetensors file holding {@code tensors}, each filled with {@link #values}. */
    public static void write(Path file, List<TensorInfo> tensors) {
        write(file, tensors, Map.of());
    }

    /** As {@link #write(Path, List)}, with explicit values for the tensors named in {@code given}. */
    public static void write(Path file, List<TensorInfo> tensors, Map<String, float[]> given) {
        try (SafetensorsWriter w = SafetensorsWriter.create(file, WritePlan.of(tensors))) {
            for (TensorInfo t : tensors) {
                w.writeFloats(t.name(), given.getOrDefault(t.name(), values(t.name(), t.elementCount())));
            }
            w.commit();
        }
    }

    public static void writeString(Path file, String content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The raw bytes of one tensor of a checkpoint. */
    public static byte[] bytesOf(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            return v.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** One tensor of a checkpoint decoded to floats. */
    public static float[] floatsOf(Checkpoint c, String name) {
        try (TensorView v = c.map(name)) {
            float[] out = new float[Math.toIntExact(v.elementCount())];
            v.readFloats(0, out, 0, out.length);
            return out;
        }
    }

    /** Every regular file under {@code dir}, relative, sorted (as strings with '/'). */
    public static List<String> listFiles(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every entry directly in {@code dir}, hidden ones included, sorted by name. */
    public static List<String> listNames(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Open file descriptors of this process that point under {@code dir} (Linux, via /proc/self/fd);
     * -1 where that cannot be read.
     */
    public static int openHandlesUnder(Path dir) {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return -1;
        }
        try {
            Path real = dir.toRealPath();
            int n = 0;
            try (Stream<Path> s = Files.list(fds)) {
                for (Path fd : s.toList()) {
                    try {
                        if (Files.readSymbolicLink(fd).startsWith(real)) {
                            n++;
                        }
                    } catch (IOException gone) {
                        // the fd of the listing itself, closed by now
                    }
                }
            }
            return n;
        } catch (IOException e) {
            return -1;
        }
    }
}
