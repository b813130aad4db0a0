package dev.slimq.convert.arrow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimq.convert.ConvertService;
import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.stats.StatsCalculator;
import dev.slimq.core.stats.TensorStats;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import dev.slimq.testdata.SynthCheckpoint;
import dev.slimq.testdata.SynthSpec;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowExportTest {
    @TempDir
    Path dir;

    Path in;

    @BeforeEach
    void checkpoint() {
        in = dir.resolve("llama");
        SynthCheckpoint.write(SynthSpec.tinyLlama(), in);
    }

    private static ConvertService.Options arrow(boolean withData, int threads) {
        return new ConvertService.Options(ConvertService.Target.ARROW, Optional.empty(), Optional.empty(), false, 0, false, threads, Optional.empty(),
                withData);
    }

    private static Double d(Float8Vector v, int i) {
        return v.isNull(i) ? null : v.get(i);
    }

    /** Reads every batch and checks each row against the checkpoint and core's statistics. */
    private void check(Path out, boolean withData) throws Exception {
        try (RootAllocator alloc = new RootAllocator(); FileChannel ch = FileChannel.open(out, StandardOpenOption.READ);
                ArrowFileReader r = new ArrowFileReader(ch, alloc); Checkpoint ck = Checkpoint.open(in); WorkPool pool = new WorkPool(2)) {
            Schema schema = r.getVectorSchemaRoot().getSchema();
            List<String> names = schema.getFields().stream().map(Field::getName).toList();
            List<String> expected = TensorTable.columns(withData).stream().map(ArrowTableWriter.Column::name).toList();
            assertEquals(expected, names);
            assertEquals(ArrowType.Utf8.INSTANCE, schema.findField("name").getType());
            assertEquals(new ArrowType.Int(64, true), schema.findField("shape").getChildren().get(0).getType());
            assertEquals(new ArrowType.Int(32, true), schema.findField("layer").getType());
            assertTrue(schema.findField("layer").isNullable());
            assertFalse(schema.findField("name").isNullable());
            assertEquals("tensors", schema.getCustomMetadata().get("slimq.table"));
            List<TensorInfo> tensors = ck.tensors();
            ModelLayout layout = ck.layout();
            int row = 0;
            for (ArrowBlock block : r.getRecordBlocks()) {
                assertTrue(r.loadRecordBatch(block));
                VectorSchemaRoot root = r.getVectorSchemaRoot();
                for (int i = 0; i < root.getRowCount(); i++, row++) {
                    TensorInfo t = tensors.get(row);
                    assertEquals(t.name(), ((VarCharVector) root.getVector("name")).getObject(i).toString());
                    assertEquals(t.dtype().wireName(), ((VarCharVector) root.getVector("dtype")).getObject(i).toString());
                    List<?> shape = ((ListVector) root.getVector("shape")).getObject(i);
                    assertArrayEquals(t.shape(), shape.stream().mapToLong(x -> (Long) x).toArray());
                    assertEquals(t.elementCount(), ((BigIntVector) root.getVector("parameters")).get(i));
                    assertEquals(t.byteCount(), ((BigIntVector) root.getVector("bytes")).get(i));
                    TensorRole role = layout.role(t.name());
                    assertEquals(role.kind().name().toLowerCase(Locale.ROOT), ((VarCharVector) root.getVector("role")).getObject(i).toString());
                    IntVector layer = (IntVector) root.getVector("layer");
                    if (role.layer().isPresent()) {
                        assertEquals(role.layer().getAsInt(), layer.get(i));
                    } else {
                        assertTrue(layer.isNull(i));
                    }
                    try (TensorView v = ck.map(t.name())) {
                        TensorStats s = StatsCalculator.compute(v, pool, n -> {
                        });
                        assertEquals(s.min(), d((Float8Vector) root.getVector("min"), i));
                        assertEquals(s.max(), d((Float8Vector) root.getVector("max"), i));
                        assertEquals(s.mean(), d((Float8Vector) root.getVector("mean"), i));
                        assertEquals(s.std(), d((Float8Vector) root.getVector("std"), i));
                        assertEquals(s.absmax(), d((Float8Vector) root.getVector("absmax"), i));
                        assertEquals(s.beyond3Sigma(), d((Float8Vector) root.getVector("beyond_3sigma"), i));
                        assertEquals(s.nanCount(), ((BigIntVector) root.getVector("nan_count")).get(i));
                        assertEquals(s.infCount(), ((BigIntVector) root.getVector("inf_count")).get(i));
                        if (withData) {
                            ListVector lv = (ListVector) root.getVector("values");
                            Float4Vector data = (Float4Vector) lv.getDataVector();
                            int start = lv.getElementStartIndex(i);
                            int end = lv.getElementEndIndex(i);
                            assertEquals(t.elementCount(), end - start);
                            float[] want = new float[end - start];
                            v.readFloats(0, want, 0, want.length);
                            float[] got = new float[want.length];
                            for (int k = 0; k < got.length; k++) {
                                got[k] = data.get(start + k);
                            }
                            assertArrayEquals(want, got, t.name());
                        }
                    }
                }
            }
            assertEquals(tensors.size(), row);
        }
    }

    @Test
    void statisticsTableReadsBack() throws Exception {
        Path out = dir.resolve("t.arrow");
        ConvertService.Result res = ConvertService.run(in, out, arrow(false, 3));
        assertEquals("arrow", res.to());
        check(out, false);
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".partial")), "no temp file left");
        }
    }

    @Test
    void withDataHoldsTheValues() throws Exception {
        Path out = dir.resolve("d.arrow");
        ConvertService.run(in, out, arrow(true, 2));
        check(out, true);
    }

    @Test
    void deterministicAcrossRunsAndThreads() throws Exception {
        Path a = dir.resolve("a.arrow");
        Path b = dir.resolve("b.arrow");
        ConvertService.run(in, a, arrow(true, 1));
        ConvertService.run(in, b, arrow(true, 4));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        byte[] magic = java.util.Arrays.copyOf(Files.readAllBytes(a), 6);
        assertArrayEquals("ARROW1".getBytes(java.nio.charset.StandardCharsets.US_ASCII), magic, "Arrow IPC file format, not the stream format");
    }

    @Test
    void refusesMisuse() {
        SlimqException e = assertThrows(SlimqException.class, () -> new ConvertService.Options(ConvertService.Target.GGUF, Optional.empty(),
                Optional.empty(), false, 0, false, 1, Optional.empty(), true));
        assertEquals(Failure.USAGE, e.failure());
        e = assertThrows(SlimqException.class, () -> ConvertService.run(in, dir.resolve("x.parquet"), arrow(false, 1)));
        assertEquals(Failure.USAGE, e.failure());
        Path out = dir.resolve("e.arrow");
        ConvertService.run(in, out, arrow(false, 1));
        e = assertThrows(SlimqException.class, () -> ConvertService.run(in, out, arrow(false, 1)));
        assertEquals(Failure.USAGE, e.failure(), "existing output without --force");
    }

    @Test
    void writerNullsAndBatches() throws Exception {
        Path out = dir.resolve("w.arrow");
        List<ArrowTableWriter.Column> cols = List.of(new ArrowTableWriter.Column("s", ArrowTableWriter.Type.UTF8, true),
                new ArrowTableWriter.Column("v", ArrowTableWriter.Type.LIST_FLOAT32, true));
        try (ArrowTableWriter w = ArrowTableWriter.create(out, cols, java.util.Map.of(), 2)) {
            w.addRow("a", new float[] {1, 2});
            w.addRow(null, null);
            w.addRow("c", new float[] {3});
            w.commit();
        }
        try (RootAllocator alloc = new RootAllocator(); FileChannel ch = FileChannel.open(out, StandardOpenOption.READ);
                ArrowFileReader r = new ArrowFileReader(ch, alloc)) {
            assertEquals(2, r.getRecordBlocks().size());
            r.loadRecordBatch(r.getRecordBlocks().get(0));
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            assertEquals(2, root.getRowCount());
            assertTrue(root.getVector("s").isNull(1));
            assertNull(((ListVector) root.getVector("v")).getObject(1));
            assertEquals(List.of(1f, 2f), ((ListVector) root.getVector("v")).getObject(0));
            r.loadRecordBatch(r.getRecordBlocks().get(1));
            assertEquals(List.of(3f), ((ListVector) r.getVectorSchemaRoot().getVector("v")).getObject(0));
        }
    }
}
