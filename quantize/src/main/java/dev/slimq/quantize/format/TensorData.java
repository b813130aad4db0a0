package dev.slimq.quantize.format;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import dev.slimq.core.checkpoint.Checkpoint;
import dev.slimq.core.tensor.DType;
import dev.slimq.core.tensor.TensorInfo;
import dev.slimq.core.tensor.TensorView;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Set;

/**
 * Whole small tensors of a checkpoint as Java arrays, with the dtype and shape checks a reader of
 * untrusted files needs: every mismatch is a {@link Failure#BAD_INPUT} naming the tensor.
 */
final class TensorData {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorData() {
    }

    static SlimqException bad(String message) {
        return new SlimqException(Failure.BAD_INPUT, message);
    }

    static SlimqException unsupported(String message) {
        return new SlimqException(Failure.UNSUPPORTED, message);
    }

    static TensorInfo info(Checkpoint ckpt, String name) {
        if (!ckpt.contains(name)) {
            throw bad("tensor '" + name + "' is missing");
        }
        return ckpt.tensor(name);
    }

    /** The tensor's info after checking its dtype is one of {@code dtypes} and its shape is {@code shape}. */
    static TensorInfo expect(Checkpoint ckpt, String name, Set<DType> dtypes, long... shape) {
        TensorInfo t = info(ckpt, name);
        if (!dtypes.contains(t.dtype())) {
            throw bad("tensor '" + name + "' is " + t.dtype().wireName() + ", expected " + dtypeList(dtypes));
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw bad("tensor '" + name + "' has shape " + t.shapeString() + ", expected " + Arrays.toString(shape));
        }
        return t;
    }

    private static String dtypeList(Set<DType> dtypes) {
        return dtypes.stream().map(DType::wireName).sorted().reduce((a, b) -> a + " or " + b).orElse("?");
    }

    static int elements(TensorInfo t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw unsupported("tensor '" + t.name() + "' has " + n + " elements, more than one array holds");
        }
        return (int) n;
    }

    /** All elements of an I32 tensor. */
    static int[] ints(Checkpoint ckpt, TensorInfo t) {
        int n = elements(t);
        int[] out = new int[n];
        try (TensorView v = ckpt.map(t.name())) {
            for (int i = 0; i < n; i++) {
                out[i] = v.segment().get(I32, 4L * i);
            }
        }
        return out;
    }

    /** All elements of an integer tensor (I8, U8, I16, U16, I32, U32 or I64) as longs. */
    static long[] integers(Checkpoint ckpt, TensorInfo t) {
        int n = elements(t);
        long[] out = new long[n];
        try (TensorView v = ckpt.map(t.name())) {
            for (int i = 0; i < n; i++) {
                out[i] = switch (t.dtype()) {
                    case I8 -> v.segment().get(ValueLayout.JAVA_BYTE, i);
                    case U8 -> v.segment().get(ValueLayout.JAVA_BYTE, i) & 0xFF;
                    case I16 -> v.segment().get(I16, 2L * i);
                    case U16 -> v.segment().get(I16, 2L * i) & 0xFFFF;
                    case I32 -> v.segment().get(I32, 4L * i);
                    case U32 -> v.segment().get(I32, 4L * i) & 0xFFFFFFFFL;
                    case I64 -> v.segment().get(I64, 8L * i);
                    default -> throw bad("tensor '" + t.name() + "' is " + t.dtype().wireName() + ", expected an integer type");
                };
            }
        }
        return out;
    }

    /** All bytes of a U8 tensor. */
    static byte[] bytes(Checkpoint ckpt, TensorInfo t) {
        int n = elements(t);
        byte[] out = new byte[n];
        try (TensorView v = ckpt.map(t.name())) {
            if (n > 0) {
                v.segment().asByteBuffer().get(out);
            }
        }
        return out;
    }

    /** All elements of a float tensor, decoded exactly. */
    static float[] floats(Checkpoint ckpt, TensorInfo t) {
        int n = elements(t);
        float[] out = new float[n];
        try (TensorView v = ckpt.map(t.name())) {
            v.readFloats(0, out, 0, n);
        }
        return out;
    }

    /** A dimension that must fit an int (rows, columns). */
    static int dim(TensorInfo t, int i) {
        long d = t.dim(i);
        if (d > Integer.MAX_VALUE) {
            throw unsupported("tensor '" + t.name() + "' dimension " + i + " is " + d);
        }
        return (int) d;
    }
}
