package dev.slimq.core.compute;

/**
 * A batch of activations made resident in a backend: {@code batch} rows of {@code cols} values,
 * row-major, stored as {@link #type()}. Uploaded once and reusable against any weights with the same
 * {@code cols}; the backend derives whatever padded form a kernel needs.
 */
public interface Activations extends AutoCloseable {
    int batch();

    int cols();

    ActivationType type();

    @Override
    void close();
}
