package dev.slimq.convert.arrow;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.layout.ModelLayout;
import dev.slimq.core.layout.TensorRole;
import dev.slimq.core.parallel.WorkPool;
import dev.slimq.core.stats.StatsCalculator;
import dev.slimq.core.stats.TensorStats;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code slimq convert IN OUT.arrow --to arrow [--with-data]}: one row per tensor, in checkpoint
 * order, written with {@link ArrowTableWriter}.
 *
 * <p>Columns: {@code name}, {@code dtype} (safetensors spelling), {@code shape} (list&lt;int64&gt;),
 * {@code parameters}, {@code bytes}, {@code role} (the layout's kind, lower case: linear, embedding,
 * lm_head, norm, bias, position_embedding, other), {@code linear} (the projection for linear weights,
 * else null), {@code layer} (null outside transformer layers), the statistics of
 * {@link StatsCalculator} ({@code min}, {@code max}, {@code mean}, {@code std}, {@code absmax},
 * {@code beyond_3sigma} as a fraction of finite values; null for non-float dtypes and for tensors
 * without finite values), {@code nan_count}, {@code inf_count}, and with {@code withData} a
 * {@code values} column (list&lt;float32&gt;, the tensor decoded to float in row-major order; null
 * for non-float tensors).
 */
public final class TensorTable {
    /** Most values {@code --with-data} writes in one file (Arrow list offsets are 32-bit). */
    public static final long MAX_VALUES = (1L << 31) - 1;

    private TensorTable() {
    }

    /** The columns, {@code values} last when {@code withData}. */
    public static List<ArrowTableWriter.Column> columns(boolean withData) {
        List<ArrowTableWriter.Column> c = new ArrayList<>(List.of(
                new ArrowTableWriter.Column("name", ArrowTableWriter.Type.UTF8, false),
                new ArrowTableWriter.Column("dtype", ArrowTableWriter.Type.UTF8, false),
                new ArrowTableWriter.Column("shape", ArrowTableWriter.Type.LIST_INT64, false),
                new ArrowTableWriter.Column("parameters", ArrowTableWriter.Type.INT64, false),
                new ArrowTableWriter.Column("bytes", ArrowTableWriter.Type.INT64, false),
                new ArrowTableWriter.Column("role", ArrowTableWriter.Type.UTF8, false),
                new ArrowTableWriter.Column("linear", ArrowTableWriter.Type.UTF8, true),
                new ArrowTableWriter.Column("layer", ArrowTableWriter.Type.INT32, true),
                new ArrowTableWriter.Column("min", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("max", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("mean", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("std", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("absmax", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("beyond_3sigma", ArrowTableWriter.Type.FLOAT64, true),
                new ArrowTableWriter.Column("nan_count", ArrowTableWriter.Type.INT64, false),
                new ArrowTableWriter.Column("inf_count", ArrowTableWriter.Type.INT64, false)));
        if (withData) {
            c.add(new ArrowTableWriter.Column("values", ArrowTableWriter.Type.LIST_FLOAT32, true));
        }
        return c;
    }

    static boolean hasFloats(TensorInfo t) {
        return t.dtype().isFloat() && FloatCodec.isDecodable(t.dtype());
    }

    /** Writes the table for {@code ck} to {@code out}; returns the rows written (one per tensor). */
    public static int write(Checkpoint ck, Path out, boolean withData, WorkPool pool) {
        List<TensorInfo> tensors = ck.tensors();
        if (withData) {
            long total = 0;
            for (TensorInfo t : tensors) {
                if (hasFloats(t)) {
                    total += t.elementCount();
                }
            }
            if (total > MAX_VALUES) {
                throw new SlimqException(Failure.UNSUPPORTED, "--with-data would write " + total + " values, more than the " + MAX_VALUES
                        + " one Arrow file holds here; drop --with-data (statistics only) or convert a smaller checkpoint");
            }
        }
        ModelLayout layout = ck.layout();
        // Rows per batch: many small rows per batch without data; with data, batches also close at
        // ArrowTableWriter.BATCH_LIST_VALUES elements.
        try (ArrowTableWriter w = ArrowTableWriter.create(out, columns(withData), Map.of("slimq.table", "tensors", "slimq.table_version", "1"), 1024)) {
            for (TensorInfo t : tensors) {
                TensorRole role = layout.role(t.name());
                Object[] row = new Object[withData ? 17 : 16];
                row[0] = t.name();
                row[1] = t.dtype().wireName();
                row[2] = t.shape();
                row[3] = t.elementCount();
                row[4] = t.byteCount();
                row[5] = role.kind().name().toLowerCase(Locale.ROOT);
                row[6] = role.linear().map(l -> l.name().toLowerCase(Locale.ROOT)).orElse(null);
                row[7] = role.layer().isPresent() ? role.layer().getAsInt() : null;
                row[14] = 0L;
                row[15] = 0L;
                if (hasFloats(t)) {
                    try (TensorView v = ck.map(t.name())) {
                        TensorStats s = StatsCalculator.compute(v, pool, n -> {
                        });
                        if (s.finite() > 0) {
                            row[8] = s.min();
                            row[9] = s.max();
                            row[10] = s.mean();
                            row[11] = s.std();
                            row[12] = s.absmax();
                            row[13] = s.beyond3Sigma();
                        }
                        row[14] = s.nanCount();
                        row[15] = s.infCount();
                        if (withData) {
                            float[] x = new float[Math.toIntExact(t.elementCount())];
                            v.readFloats(0, x, 0, x.length);
                            row[16] = x;
                        }
                    }
                }
                w.addRow(row);
            }
            w.commit();
        }
        return tensors.size();
    }
}
