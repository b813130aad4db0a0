// Read bandwidth probe: a streaming sum over n vectors of W floats, four independent accumulators,
// one float written per work-item so nothing can be optimized away.
//   contiguous = 1: each work-item sums its own contiguous slice (CPUs: one stream per core);
//   contiguous = 0: grid-stride, adjacent work-items read adjacent vectors (GPUs: coalesced).
// The host makes n a multiple of the global size.

__kernel void stream_read(__global const floatW *restrict a, __global float *restrict out, const long n, const int contiguous)
{
    const size_t gid = get_global_id(0);
    const size_t gs = get_global_size(0);
    floatW s0 = (floatW) 0.0f, s1 = s0, s2 = s0, s3 = s0;
    if (contiguous) {
        const size_t per = (size_t) n / gs;
        __global const floatW *p = a + gid * per;
        __global const floatW *end = p + per;
        for (; p + 4 <= end; p += 4) {
            s0 += p[0];
            s1 += p[1];
            s2 += p[2];
            s3 += p[3];
        }
        for (; p < end; p++) s0 += p[0];
    } else {
        size_t i = gid;
        for (; i + 3 * gs < (size_t) n; i += 4 * gs) {
            s0 += a[i];
            s1 += a[i + gs];
            s2 += a[i + 2 * gs];
            s3 += a[i + 3 * gs];
        }
        for (; i < (size_t) n; i += gs) s0 += a[i];
    }
    out[gid] = hsumW((s0 + s1) + (s2 + s3));
}
