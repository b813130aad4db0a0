package dev.slimq.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.safetensors.SafetensorsWriter;
import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FloatWeightSourceTest {
    @TempDir
    Path dir;

    @Test
    void readsFloatDtypesAndRefusesIntegerStorage() {
        Path file = dir.resolve("model.safetensors");
        // 1.5, -2 and 0.15625 are exact in bf16; 0x3FC0 = 1.5, 0xC000 = -2, 0x3E20 = 0.15625.
        List<TensorInfo> plan = List.of(TensorInfo.planned("a.weight", DType.BF16, 3), TensorInfo.planned("b.weight", DType.F32, 2),
                TensorInfo.planned("c.qweight", DType.I32, 1));
        try (SafetensorsWriter w = SafetensorsWriter.create(file, WritePlan.of(plan))) {
            w.write("a.weight", ByteBuffer.wrap(new byte[] {(byte) 0xC0, 0x3F, 0x00, (byte) 0xC0, 0x20, 0x3E}));
            w.writeFloats("b.weight", new float[] {0.25f, -7f});
            w.write("c.qweight", ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
            w.commit();
        }
        try (Checkpoint ck = Checkpoint.open(file)) {
            WeightSource s = WeightSource.Opener.FLOAT.open(ck);
            assertSame(ck, s.checkpoint());
            assertEquals(3, s.tensors().size());
            assertTrue(s.contains("a.weight"));
            assertFalse(s.contains("z.weight"));
            assertArrayEquals(new float[] {1.5f, -2f, 0.15625f}, s.floats("a.weight"));
            assertArrayEquals(new float[] {0.25f, -7f}, s.floats("b.weight"));
            SlimqException e = assertThrows(SlimqException.class, () -> s.floats("c.qweight"));
            assertEquals(Failure.UNSUPPORTED, e.failure());
            assertTrue(e.getMessage().contains("slimq dequantize"), e.getMessage());
        }
    }
}
