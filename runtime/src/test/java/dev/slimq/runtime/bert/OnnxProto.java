package dev.slimq.runtime.bert;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal reader of the ONNX protobuf wire format, for the golden test only: just enough of
 * {@code ModelProto -> GraphProto -> NodeProto / TensorProto} to take a float BERT export apart.
 *
 * <p>Written from the protobuf encoding spec (varint keys {@code field << 3 | wireType}; wire types 0
 * varint, 1 fixed64, 2 length-delimited, 5 fixed32) and onnx.proto's field numbers: ModelProto.graph
 * = 7; GraphProto.node = 1, initializer = 5; NodeProto.input = 1, output = 2, name = 3, op_type = 4,
 * attribute = 5; AttributeProto.name = 1, t = 5; TensorProto.dims = 1, data_type = 2, float_data = 4,
 * int64_data = 7, name = 8, raw_data = 9. Tensor payloads are little-endian in raw_data or packed in
 * float_data / int64_data. Unknown fields are skipped, as protobuf requires.
 */
final class OnnxProto {
    static final int FLOAT = 1;
    static final int INT64 = 7;

    /**
     * A tensor: dims, ONNX data type, and its values: {@code floats} for FLOAT, {@code longs} for
     * INT64 (the other one null; both null for any other type, which the golden test does not need).
     */
    record Tensor(String name, long[] dims, int dataType, float[] floats, long[] longs) {
        long count() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** A graph node with the one attribute kind the export's Constant nodes use (a tensor {@code value}). */
    record Node(String name, String opType, List<String> inputs, List<String> outputs, Tensor valueAttribute) {
    }

    /** The graph: nodes in order and initializers by name. */
    record Graph(List<Node> nodes, Map<String, Tensor> initializers) {
    }

    private final ByteBuffer buf;

    private OnnxProto(ByteBuffer buf) {
        this.buf = buf;
    }

    static Graph readModel(byte[] model) {
        OnnxProto m = new OnnxProto(ByteBuffer.wrap(model));
        ByteBuffer graph = null;
        while (m.buf.hasRemaining()) {
            long key = m.varint();
            if ((int) (key >>> 3) == 7 && (key & 7) == 2) {
                graph = m.bytes();
            } else {
                m.skip((int) (key & 7));
            }
        }
        if (graph == null) {
            throw new IllegalArgumentException("ModelProto without a graph");
        }
        return new OnnxProto(graph).graph();
    }

    private Graph graph() {
        List<Node> nodes = new ArrayList<>();
        Map<String, Tensor> init = new LinkedHashMap<>();
        while (buf.hasRemaining()) {
            long key = varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                nodes.add(new OnnxProto(bytes()).node());
            } else if (field == 5 && wire == 2) {
                Tensor t = new OnnxProto(bytes()).tensor();
                init.put(t.name(), t);
            } else {
                skip(wire);
            }
        }
        return new Graph(nodes, init);
    }

    private Node node() {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        Tensor value = null;
        while (buf.hasRemaining()) {
            long key = varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (wire != 2) {
                skip(wire);
                continue;
            }
            switch (field) {
                case 1 -> in.add(string());
                case 2 -> out.add(string());
                case 3 -> name = string();
                case 4 -> op = string();
                case 5 -> {
                    Tensor t = new OnnxProto(bytes()).attributeTensor();
                    if (t != null) {
                        value = t;
                    }
                }
                default -> skip(wire);
            }
        }
        return new Node(name, op, in, out, value);
    }

    /** The tensor of an AttributeProto named {@code value}, else null. */
    private Tensor attributeTensor() {
        String name = "";
        Tensor t = null;
        while (buf.hasRemaining()) {
            long key = varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                name = string();
            } else if (field == 5 && wire == 2) {
                t = new OnnxProto(bytes()).tensor();
            } else {
                skip(wire);
            }
        }
        return name.equals("value") ? t : null;
    }

    private Tensor tensor() {
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = "";
        ByteBuffer raw = null;
        List<Float> floats = new ArrayList<>();
        List<Long> longs = new ArrayList<>();
        while (buf.hasRemaining()) {
            long key = varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (field) {
                case 1 -> {
                    if (wire == 2) {
                        OnnxProto p = new OnnxProto(bytes());
                        while (p.buf.hasRemaining()) {
                            dims.add(p.varint());
                        }
                    } else {
                        dims.add(varint());
                    }
                }
                case 2 -> type = (int) varint();
                case 4 -> {
                    if (wire == 2) {
                        ByteBuffer b = bytes().order(ByteOrder.LITTLE_ENDIAN);
                        while (b.hasRemaining()) {
                            floats.add(b.getFloat());
                        }
                    } else {
                        floats.add(Float.intBitsToFloat(Integer.reverseBytes(buf.getInt())));
                    }
                }
                case 7 -> {
                    if (wire == 2) {
                        OnnxProto p = new OnnxProto(bytes());
                        while (p.buf.hasRemaining()) {
                            longs.add(p.varint());
                        }
                    } else {
                        longs.add(varint());
                    }
                }
                case 8 -> name = string();
                case 9 -> raw = bytes().order(ByteOrder.LITTLE_ENDIAN);
                default -> skip(wire);
            }
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        float[] f = null;
        long[] l = null;
        if (type == FLOAT) {
            if (raw != null) {
                f = new float[raw.remaining() / 4];
                raw.asFloatBuffer().get(f);
            } else {
                f = new float[floats.size()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = floats.get(i);
                }
            }
        } else if (type == INT64) {
            if (raw != null) {
                l = new long[raw.remaining() / 8];
                raw.asLongBuffer().get(l);
            } else {
                l = longs.stream().mapToLong(Long::longValue).toArray();
            }
        }
        Tensor t = new Tensor(name, d, type, f, l);
        long n = f != null ? f.length : l != null ? l.length : -1;
        if (n >= 0 && n != t.count()) {
            throw new IllegalArgumentException("tensor '" + name + "' holds " + n + " values for dims " + java.util.Arrays.toString(d));
        }
        return t;
    }

    private long varint() {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = buf.get();
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes");
    }

    private ByteBuffer bytes() {
        int len = Math.toIntExact(varint());
        ByteBuffer slice = buf.slice(buf.position(), len);
        buf.position(buf.position() + len);
        return slice;
    }

    private String string() {
        ByteBuffer b = bytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return new String(a, StandardCharsets.UTF_8);
    }

    private void skip(int wire) {
        switch (wire) {
            case 0 -> varint();
            case 1 -> buf.position(buf.position() + 8);
            case 2 -> bytes();
            case 5 -> buf.position(buf.position() + 4);
            default -> throw new IllegalArgumentException("protobuf wire type " + wire + " is not supported");
        }
    }
}
