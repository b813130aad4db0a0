package dev.slimq.convert.arrow;

import dev.slimq.core.IoFailures;
import dev.slimq.core.io.PendingOutputs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The one Arrow writer in slimq: a table of typed columns written row by row as an Arrow IPC
 * <em>file</em> (the random-access format with footer, {@code ArrowFileWriter}; pyarrow's
 * {@code pa.ipc.open_file}, {@code pandas.read_feather}, {@code polars.read_ipc} and DuckDB's
 * arrow extension read it). {@code convert --to arrow} uses it ({@link TensorTable}); future
 * {@code --report-arrow} outputs should reuse it with their own columns rather than add another
 * writer.
 *
 * <p>The output is atomic: rows go to a hidden temp file next to the target, registered with
 * {@link PendingOutputs}, renamed over the target by {@link #commit()}; {@link #close()} without a
 * commit deletes it. The bytes depend only on the schema, metadata and rows (no timestamps, no
 * paths): rows are buffered into record batches of at most {@code batchRows} rows, or fewer once a
 * batch holds {@value #BATCH_LIST_VALUES} list elements, so batch boundaries are a function of the
 * data as well.
 *
 * <p>Values per column type: {@code UTF8} a {@link String}, {@code INT32} an {@link Integer},
 * {@code INT64} a {@link Long}, {@code FLOAT64} a {@link Double}, {@code LIST_INT64} a
 * {@code long[]}, {@code LIST_FLOAT32} a {@code float[]}; {@code null} for a null in a nullable
 * column. A list column's elements are not nullable; its child field is named {@code item}, as
 * pyarrow names it.
 */
public final class ArrowTableWriter implements AutoCloseable {
    /** Column types the writer supports. */
    public enum Type { UTF8, INT32, INT64, FLOAT64, LIST_INT64, LIST_FLOAT32 }

    /** One column. */
    public record Column(String name, Type type, boolean nullable) {
        public Column {
            Objects.requireNonNull(name);
            Objects.requireNonNull(type);
        }
    }

    /** A batch is written once its list columns hold this many elements (keeps batches bounded). */
    static final int BATCH_LIST_VALUES = 1 << 24;

    private final Path target;
    private final Path temp;
    private final List<Column> columns;
    private final int batchRows;
    private final BufferAllocator allocator;
    private final VectorSchemaRoot root;
    private final ArrowFileWriter writer;
    private int rows;
    private long listValues;
    private long totalRows;
    private boolean committed;
    private boolean closed;

    private ArrowTableWriter(Path target, Path temp, List<Column> columns, int batchRows, BufferAllocator allocator, VectorSchemaRoot root,
            ArrowFileWriter writer) {
        this.target = target;
        this.temp = temp;
        this.columns = columns;
        this.batchRows = batchRows;
        this.allocator = allocator;
        this.root = root;
        this.writer = writer;
    }

    /** The Arrow schema of {@code columns} with {@code metadata} as schema-level custom metadata. */
    public static Schema schema(List<Column> columns, Map<String, String> metadata) {
        List<Field> fields = new ArrayList<>();
        for (Column c : columns) {
            FieldType ft = new FieldType(c.nullable(), arrowType(c.type()), null);
            List<Field> children = switch (c.type()) {
                case LIST_INT64 -> List.of(new Field("item", FieldType.notNullable(new ArrowType.Int(64, true)), null));
                case LIST_FLOAT32 -> List.of(new Field("item", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null));
                default -> null;
            };
            fields.add(new Field(c.name(), ft, children));
        }
        return new Schema(fields, metadata.isEmpty() ? null : new LinkedHashMap<>(metadata));
    }

    private static ArrowType arrowType(Type t) {
        return switch (t) {
            case UTF8 -> ArrowType.Utf8.INSTANCE;
            case INT32 -> new ArrowType.Int(32, true);
            case INT64 -> new ArrowType.Int(64, true);
            case FLOAT64 -> new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
            case LIST_INT64, LIST_FLOAT32 -> ArrowType.List.INSTANCE;
        };
    }

    /**
     * Starts a table at {@code target} (an existing file there is replaced at commit; callers check
     * for it first, as {@code OutputPaths.check} does).
     */
    public static ArrowTableWriter create(Path target, List<Column> columns, Map<String, String> metadata, int batchRows) {
        if (batchRows < 1) {
            throw new IllegalArgumentException("batchRows must be at least 1");
        }
        List<Column> cols = List.copyOf(columns);
        Path temp = target.toAbsolutePath().resolveSibling("." + target.getFileName() + ".partial");
        PendingOutputs.register(temp);
        BufferAllocator alloc = null;
        VectorSchemaRoot root = null;
        FileChannel ch = null;
        try {
            Files.createDirectories(temp.getParent());
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            alloc = new RootAllocator(Long.MAX_VALUE);
            root = VectorSchemaRoot.create(schema(cols, metadata), alloc);
            root.allocateNew();
            ArrowFileWriter w = new ArrowFileWriter(root, null, ch);
            w.start();
            return new ArrowTableWriter(target, temp, cols, batchRows, alloc, root, w);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            closeQuietly(root);
            closeQuietly(alloc);
            PendingOutputs.deleteRecursively(temp);
            PendingOutputs.unregister(temp);
            if (e instanceof IOException io) {
                throw IoFailures.wrap("write", target, io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Appends one row: one value per column, in column order (see the class comment for types). */
    public void addRow(Object... values) {
        if (committed || closed) {
            throw new IllegalStateException("table " + target + " is already " + (committed ? "committed" : "closed"));
        }
        if (values.length != columns.size()) {
            throw new IllegalArgumentException(values.length + " values for " + columns.size() + " columns");
        }
        for (int c = 0; c < values.length; c++) {
            Column col = columns.get(c);
            Object v = values[c];
            FieldVector fv = root.getVector(c);
            if (v == null) {
                if (!col.nullable()) {
                    throw new IllegalArgumentException("column '" + col.name() + "' is not nullable");
                }
                switch (col.type()) {
                    case UTF8 -> ((VarCharVector) fv).setNull(rows);
                    case INT32 -> ((IntVector) fv).setNull(rows);
                    case INT64 -> ((BigIntVector) fv).setNull(rows);
                    case FLOAT64 -> ((Float8Vector) fv).setNull(rows);
                    case LIST_INT64, LIST_FLOAT32 -> ((ListVector) fv).setNull(rows);
                }
                continue;
            }
            switch (col.type()) {
                case UTF8 -> ((VarCharVector) fv).setSafe(rows, ((String) v).getBytes(StandardCharsets.UTF_8));
                case INT32 -> ((IntVector) fv).setSafe(rows, (Integer) v);
                case INT64 -> ((BigIntVector) fv).setSafe(rows, (Long) v);
                case FLOAT64 -> ((Float8Vector) fv).setSafe(rows, (Double) v);
                case LIST_INT64 -> {
                    long[] a = (long[]) v;
                    ListVector lv = (ListVector) fv;
                    int off = lv.startNewValue(rows);
                    BigIntVector data = (BigIntVector) lv.getDataVector();
                    for (int k = 0; k < a.length; k++) {
                        data.setSafe(off + k, a[k]);
                    }
                    lv.endValue(rows, a.length);
                    listValues += a.length;
                }
                case LIST_FLOAT32 -> {
                    float[] a = (float[]) v;
                    ListVector lv = (ListVector) fv;
                    int off = lv.startNewValue(rows);
                    Float4Vector data = (Float4Vector) lv.getDataVector();
                    for (int k = 0; k < a.length; k++) {
                        data.setSafe(off + k, a[k]);
                    }
                    lv.endValue(rows, a.length);
                    listValues += a.length;
                }
            }
        }
        rows++;
        totalRows++;
        if (rows >= batchRows || listValues >= BATCH_LIST_VALUES) {
            flush();
        }
    }

    /** Rows added so far. */
    public long rowCount() {
        return totalRows;
    }

    private void flush() {
        if (rows == 0) {
            return;
        }
        root.setRowCount(rows);
        try {
            writer.writeBatch();
        } catch (IOException e) {
            throw IoFailures.wrap("write", target, e);
        }
        for (FieldVector v : root.getFieldVectors()) {
            v.reset();
        }
        rows = 0;
        listValues = 0;
    }

    /** Writes the last batch and the footer, syncs, and renames the temp file over the target. */
    public void commit() {
        if (committed) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("table " + target + " is closed");
        }
        flush();
        try {
            writer.end();
            writer.close(); // closes the channel; reopened below to sync
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
            PendingOutputs.unregister(temp);
        } catch (IOException e) {
            throw IoFailures.wrap("write", target, e);
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(writer);
        closeQuietly(root);
        closeQuietly(allocator);
        if (!committed) {
            PendingOutputs.deleteRecursively(temp);
            PendingOutputs.unregister(temp);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort: failing already, or closing what is committed
        }
    }
}
