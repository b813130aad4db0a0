package dev.slimq.core.compute;

/**
 * A weight matrix made resident in one backend's preferred form (packed, padded, in device memory),
 * once, so every later product pays only for the product. Shape {@code [rows, cols]}: rows are output
 * features, cols the input features (K).
 *
 * <p>A handle belongs to the backend that made it; passing it to another backend is an error. Closing
 * releases its memory; closing the backend closes every handle it still owns.
 */
public interface PreparedWeights extends AutoCloseable {
    /** The tensor's name, for messages and reports. */
    String name();

    /** Output features. */
    int rows();

    /** Input features: the length of the dot products, K. */
    int cols();

    /**
     * Bytes one product streams from memory for the weights: codes (padding included), scales, zeros
     * and outlier storage, or the float weights. Activations and outputs are not counted.
     */
    long weightBytes();

    /** A short description of the stored form, e.g. {@code q4 g128 asym f16-scales int-zeros} or {@code f16}. */
    String format();

    @Override
    void close();
}
