package dev.slimq.core.safetensors;

import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * Child process for {@link SafetensorsWriterKillTest}: starts writing a large file to {@code args[0]},
 * writes part of it, prints {@code WRITING} and then blocks forever, mid-write, until killed.
 */
public final class KilledWriterMain {
    private KilledWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[0]);
        WritePlan plan = WritePlan.of(List.of(TensorInfo.planned("big", DType.U8, 256L << 20),
                TensorInfo.planned("small", DType.F32, 16)));
        SafetensorsWriter w = SafetensorsWriter.create(target, plan);
        w.writeFloats("small", new float[16]); // one finished tensor, so the journal exists too
        SafetensorsWriter.TensorSink sink = w.open("big");
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        for (int i = 0; i < 4; i++) {
            sink.write(chunk.clear());
        }
        System.out.println("WRITING");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE); // "mid-write": never finishes, never commits
    }
}
