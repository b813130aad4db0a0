package dev.slimq.convert.gguf;

import java.util.Arrays;

/**
 * A tensor as GGUF describes it. {@code dims} are in ggml order: {@code dims[0]} is the innermost,
 * fastest-varying dimension (a Hugging Face {@code [out, in]} weight has dims {@code [in, out]};
 * gguf-py {@code gguf_writer.py} writes {@code tensor_shape[n_dims - 1 - i]}). {@code offset} is
 * relative to the start of the data section.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset) {
    public GgufTensorInfo {
        dims = dims.clone();
    }

    /** Shape in row-major (PyTorch / safetensors) order: dims reversed. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = dims[dims.length - 1 - i];
        }
        return s;
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }

    /** ggml order dims from a row-major shape. */
    public static long[] dimsOf(long[] shape) {
        long[] d = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            d[i] = shape[shape.length - 1 - i];
        }
        return d;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && Arrays.equals(t.dims, dims) && t.type == type && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
