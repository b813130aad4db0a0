package dev.slimq.core.compute;

/**
 * How activations are stored where the kernel reads them. Arithmetic is always f32: many GPUs have no
 * fp16 arithmetic in OpenCL, so half activations are only a storage (bandwidth) choice, widened on load.
 */
public enum ActivationType {
    /** IEEE binary32, as given. */
    F32,
    /** IEEE binary16, rounded to nearest even from the given floats; overflow becomes infinity. */
    F16;

    /** The value a kernel sees for {@code v} stored in this type. */
    public float round(float v) {
        return this == F16 ? Float.float16ToFloat(Float.floatToFloat16(v)) : v;
    }
}
