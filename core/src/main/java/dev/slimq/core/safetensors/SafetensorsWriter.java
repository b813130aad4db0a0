package dev.slimq.core.safetensors;

import dev.slimq.core.IoFailures;
import dev.slimq.core.io.PendingOutputs;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.FloatCodec;
import dev.slimq.core.tensor.TensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Streams one safetensors file from a {@link WritePlan}, atomically.
 *
 * <p>The header is known from the plan, so each tensor's place in the file is fixed before any data
 * is produced: tensors may be written in any order and from several threads (each through its own
 * {@link TensorSink}), and the output is never held in memory. Bytes go to a hidden temp file in the
 * target's directory ({@code .NAME.partial}); {@link #commit} checks that every planned tensor was
 * written completely, flushes to disk and renames the temp file over the target in one step. Closing
 * without committing, an exception, SIGINT or SIGTERM delete the temp file; a SIGKILL leaves only the
 * hidden temp name. Nothing ever appears under the final name half-written.
 *
 * <p>A writer made by {@link #resume} picks up what an interrupted writer of the same plan left: the
 * temp file is kept when its header is the plan's, and each journaled tensor whose bytes still match
 * the journal's CRC32C counts as finished (a damaged one is written again). Such a writer keeps its
 * temp file and journal on SIGINT and SIGTERM, so an interrupted run can be resumed; its caller
 * decides when the leftovers belong to the same run (see {@code CheckpointWriter}).
 */
public final class SafetensorsWriter implements AutoCloseable {
    private static final int CHUNK = 1 << 20;

    private final Path target;
    private final Path temp;
    private final WritePlan plan;
    private final FileChannel channel;
    private final WriteJournal journal;
    private final Map<String, Boolean> finished = new ConcurrentHashMap<>();
    private final Map<String, Boolean> open = new ConcurrentHashMap<>();
    /** Tensors a previous run finished and this run has not rewritten: they may be written again. */
    private final Map<String, Boolean> resumed = new ConcurrentHashMap<>();
    private volatile boolean committed;
    private volatile boolean closed;

    private SafetensorsWriter(Path target, Path temp, WritePlan plan, FileChannel channel, WriteJournal journal) {
        this.target = target;
        this.temp = temp;
        this.plan = plan;
        this.channel = channel;
        this.journal = journal;
    }

    /** The hidden temp name used while writing {@code target}. */
    public static Path tempPathFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".partial");
    }

    /** The journal kept beside the temp file while writing {@code target}. */
    public static Path journalPathFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".journal");
    }

    /**
     * Starts writing {@code target}. Its directory must exist; an existing file under the target name
     * is left untouched until {@link #commit} replaces it (callers decide whether that is allowed).
     */
    public static SafetensorsWriter create(Path target, WritePlan plan) {
        return create(target, plan, true);
    }

    private static SafetensorsWriter create(Path target, WritePlan plan, boolean deleteOnSignal) {
        Path temp = tempPathFor(target);
        Path journalPath = journalPathFor(target);
        if (deleteOnSignal) {
            PendingOutputs.register(temp);
            PendingOutputs.register(journalPath);
        }
        FileChannel ch = null;
        try {
            Files.deleteIfExists(journalPath);
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, StandardOpenOption.READ);
            ByteBuffer head = ByteBuffer.allocate(8 + plan.headerLength()).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(plan.headerLength()).put(plan.headerRef()).flip();
            writeFully(ch, head, 0);
            return new SafetensorsWriter(target, temp, plan, ch, new WriteJournal(journalPath));
        } catch (IOException e) {
            abandon(ch, temp, journalPath);
            throw IoFailures.wrap("write", temp, e);
        }
    }

    /**
     * Starts or resumes writing {@code target}: when the temp file of an interrupted writer exists
     * with this plan's header, every journaled tensor whose bytes match its CRC32C is kept as finished
     * (see {@link #resumedTensors}); otherwise this is {@link #create}. The temp file and journal are
     * not deleted on SIGINT/SIGTERM, so that the run can be resumed after a clean interrupt too.
     */
    public static SafetensorsWriter resume(Path target, WritePlan plan) {
        Path temp = tempPathFor(target);
        Path journalPath = journalPathFor(target);
        if (!Files.isRegularFile(temp) || !Files.isRegularFile(journalPath)) {
            return create(target, plan, false);
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.READ);
            long dataStart = 8L + plan.headerLength();
            ByteBuffer head = ByteBuffer.allocate((int) dataStart);
            if (ch.size() >= dataStart) {
                while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                    // fill the header
                }
            }
            if (head.hasRemaining() || !sameHeader(head.flip(), plan)) {
                ch.close();
                return create(target, plan, false);
            }
            WriteJournal journal = new WriteJournal(journalPath);
            List<WriteJournal.Entry> kept = new ArrayList<>();
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            for (WriteJournal.Entry e : WriteJournal.read(journalPath).values()) {
                TensorInfo t = plan.contains(e.name()) ? plan.tensor(e.name()) : null;
                if (t != null && t.begin() == e.begin() && t.end() == e.end() && dataStart + e.end() <= ch.size()
                        && crc32c(ch, dataStart + e.begin(), dataStart + e.end(), buf) == e.crc32c()) {
                    kept.add(e);
                }
            }
            // Only verified entries stay: a damaged tensor is written again, and its old line must
            // not vouch for it if this run is interrupted too.
            journal.rewrite(kept);
            SafetensorsWriter w = new SafetensorsWriter(target, temp, plan, ch, journal);
            for (WriteJournal.Entry e : kept) {
                w.finished.put(e.name(), Boolean.TRUE);
                w.resumed.put(e.name(), Boolean.TRUE);
            }
            return w;
        } catch (IOException e) {
            abandon(ch, temp, journalPath);
            throw IoFailures.wrap("read", temp, e);
        }
    }

    private static boolean sameHeader(ByteBuffer head, WritePlan plan) {
        ByteBuffer expected = ByteBuffer.allocate(8 + plan.headerLength()).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(plan.headerLength()).put(plan.headerRef()).flip();
        return expected.equals(head);
    }

    private static int crc32c(FileChannel ch, long from, long to, ByteBuffer buf) throws IOException {
        CRC32C crc = new CRC32C();
        long pos = from;
        while (pos < to) {
            buf.clear().limit((int) Math.min(buf.capacity(), to - pos));
            int n = ch.read(buf, pos);
            if (n < 0) {
                return ~(int) crc.getValue(); // shorter than journaled: cannot match
            }
            pos += n;
            crc.update(buf.flip());
        }
        return (int) crc.getValue();
    }

    /** Names of the tensors kept from the interrupted run that {@link #resume} found. */
    public List<String> resumedTensors() {
        return new ArrayList<>(resumed.keySet());
    }

    /** True when the tensor is completely written (in this run or kept from an interrupted one). */
    public boolean isFinished(String name) {
        return finished.containsKey(name);
    }

    private static void abandon(FileChannel ch, Path temp, Path journal) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the write already failed
            }
        }
        PendingOutputs.deleteRecursively(temp);
        PendingOutputs.deleteRecursively(journal);
        PendingOutputs.unregister(temp);
        PendingOutputs.unregister(journal);
    }

    private static void writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
        long pos = position;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }

    public WritePlan plan() {
        return plan;
    }

    public Path target() {
        return target;
    }

    /** Names of the tensors completely written so far. */
    public List<String> finishedTensors() {
        return new ArrayList<>(finished.keySet());
    }

    /** Opens the sink for one planned tensor; each tensor is written exactly once. */
    public TensorSink open(String name) {
        if (closed) {
            throw new IllegalStateException("writer for " + target + " is closed");
        }
        TensorInfo t = plan.tensor(name);
        if (resumed.remove(name) != null) {
            finished.remove(name); // kept from an interrupted run, but the caller writes it again
        }
        if (finished.containsKey(name) || open.putIfAbsent(name, Boolean.TRUE) != null) {
            throw new IllegalStateException("tensor '" + name + "' is already being written or finished");
        }
        return new TensorSink(t);
    }

    /** Writes a whole tensor's bytes in one call. */
    public void write(String name, ByteBuffer bytes) {
        try (TensorSink s = open(name)) {
            s.write(bytes);
        }
    }

    /** Writes a whole tensor from floats, encoded in the tensor's planned dtype. */
    public void writeFloats(String name, float[] values) {
        try (TensorSink s = open(name)) {
            s.writeFloats(values, 0, values.length);
        }
    }

    /**
     * Checks that every planned tensor is finished, flushes data and metadata to disk and renames the
     * temp file to the target atomically (replacing an existing target).
     */
    public void commit() {
        if (committed) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("writer for " + target + " was closed without commit; its temp file is gone");
        }
        if (finished.size() != plan.tensors().size()) {
            List<String> missing = new ArrayList<>();
            for (TensorInfo t : plan.tensors()) {
                if (!finished.containsKey(t.name())) {
                    missing.add(t.name());
                }
            }
            throw new IllegalStateException(target + ": " + missing.size() + " planned tensors not written, e.g. '" + missing.getFirst() + "'");
        }
        try {
            channel.force(true);
            channel.close();
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
            PendingOutputs.unregister(temp);
            Files.deleteIfExists(journal.path());
            PendingOutputs.unregister(journal.path());
            syncDirectory(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw IoFailures.wrap("write", target, e);
        }
    }

    /** Makes the rename durable; not every file system allows opening a directory, hence best effort. */
    static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // durability of the rename only; the data itself is already flushed
        }
    }

    /** Without a prior {@link #commit}, deletes everything written. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!committed) {
            abandon(channel, temp, journal.path());
        }
    }

    /**
     * Sequential sink for one tensor's bytes, placed at its planned offset. Closing it checks that
     * exactly the planned number of bytes arrived and records the tensor in the journal.
     */
    public final class TensorSink implements AutoCloseable {
        private final TensorInfo info;
        private final long base;
        private final CRC32C crc = new CRC32C();
        private long written;
        private ByteBuffer scratch;
        private MemorySegment scratchSegment;
        private boolean done;

        private TensorSink(TensorInfo info) {
            this.info = info;
            this.base = 8L + plan.headerLength() + info.begin();
        }

        public TensorInfo info() {
            return info;
        }

        /** Bytes still expected. */
        public long remaining() {
            return info.byteCount() - written;
        }

        /** Appends raw bytes (already in the tensor's dtype, little-endian). */
        public void write(ByteBuffer src) {
            if (done) {
                throw new IllegalStateException("tensor '" + info.name() + "': sink already closed");
            }
            int n = src.remaining();
            if (n > remaining()) {
                throw new IllegalStateException("tensor '" + info.name() + "': " + (written + n) + " bytes written, plan has " + info.byteCount());
            }
            ByteBuffer view = src.duplicate();
            crc.update(view);
            try {
                writeFully(channel, src, base + written);
            } catch (IOException e) {
                throw IoFailures.wrap("write", temp, e);
            }
            written += n;
        }

        /** Appends raw bytes from a memory segment (e.g. a mapped input tensor, copied through). */
        public void write(MemorySegment src) {
            long off = 0;
            while (off < src.byteSize()) {
                int n = (int) Math.min(CHUNK, src.byteSize() - off);
                write(src.asSlice(off, n).asByteBuffer());
                off += n;
            }
        }

        /** Appends floats encoded in the tensor's dtype (F32, F64, F16, BF16 or an 8-bit float). */
        public void writeFloats(float[] src, int off, int len) {
            DType d = info.dtype();
            if (!FloatCodec.isEncodable(d)) {
                throw new IllegalArgumentException("tensor '" + info.name() + "' is " + d.wireName() + ": floats cannot be encoded into it");
            }
            int per = d.byteSize();
            java.util.Objects.checkFromIndexSize(off, len, src.length);
            if ((long) len * per > remaining()) {
                // Refuse before writing any chunk, as write(ByteBuffer) does.
                throw new IllegalStateException("tensor '" + info.name() + "': " + (written + (long) len * per)
                        + " bytes written, plan has " + info.byteCount());
            }
            if (scratch == null) {
                scratch = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
                // Made once, over the whole buffer: a segment made from the buffer later would only
                // cover its remaining bytes, which are none after the previous write consumed them.
                scratchSegment = MemorySegment.ofBuffer(scratch);
            }
            MemorySegment seg = scratchSegment;
            int step = CHUNK / per;
            for (int k = 0; k < len; k += step) {
                int n = Math.min(step, len - k);
                FloatCodec.encode(d, src, off + k, n, seg, 0);
                scratch.clear().limit(n * per);
                write(scratch);
            }
        }

        @Override
        public void close() {
            if (done) {
                return;
            }
            done = true;
            try {
                if (written != info.byteCount()) {
                    throw new IllegalStateException("tensor '" + info.name() + "': " + written + " of " + info.byteCount() + " bytes written");
                }
                journal.append(new WriteJournal.Entry(info.name(), info.begin(), info.end(), (int) crc.getValue()));
                // Mark finished before releasing the name, so no concurrent open() sees neither.
                finished.put(info.name(), Boolean.TRUE);
            } finally {
                open.remove(info.name());
            }
        }
    }
}
