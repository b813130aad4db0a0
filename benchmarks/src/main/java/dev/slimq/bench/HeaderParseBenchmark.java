package dev.slimq.bench;

import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.checkpoint.CheckpointWriter;
import dev.slimq.core.io.PendingOutputs;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Opening a sharded checkpoint of 1,000 tensors: every shard header read and validated, the index
 * parsed and checked against the shards (target: under 200 ms). The tensors are small, so the
 * benchmark measures header work, not data.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 20)
@Measurement(iterations = 50)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class HeaderParseBenchmark {
    private Path dir;

    @Setup(Level.Trial)
    public void writeCheckpoint() throws IOException {
        Path parent = Files.createTempDirectory("slimq-bench");
        dir = parent.resolve("ckpt");
        List<TensorInfo> tensors = new ArrayList<>();
        for (int layer = 0; layer < 100; layer++) {
            for (String n : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")) {
                tensors.add(TensorInfo.planned("model.layers." + layer + ".mlp." + n + ".weight", DType.BF16, 16, 16));
            }
            tensors.add(TensorInfo.planned("model.layers." + layer + ".input_layernorm.weight", DType.BF16, 16));
            tensors.add(TensorInfo.planned("model.layers." + layer + ".post_attention_layernorm.weight", DType.BF16, 16));
            tensors.add(TensorInfo.planned("model.layers." + layer + ".self_attn.q_norm.weight", DType.BF16, 16));
        }
        try (CheckpointWriter w = CheckpointWriter.create(dir, tensors, Map.of(), 1 << 17, null)) {
            for (TensorInfo t : tensors) {
                try (SafetensorsWriter.TensorSink s = w.open(t.name())) {
                    s.write(ByteBuffer.allocate((int) t.byteCount()));
                }
            }
            w.commit();
        }
    }

    @Benchmark
    public int openCheckpoint() {
        try (Checkpoint c = Checkpoint.open(dir)) {
            return c.tensors().size();
        }
    }

    @TearDown(Level.Trial)
    public void delete() {
        PendingOutputs.deleteRecursively(dir.getParent());
    }
}
