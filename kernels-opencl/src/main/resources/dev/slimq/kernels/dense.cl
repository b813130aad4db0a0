// Float GEMV/GEMM for the speed comparison, written like the quantized kernels (same work split,
// same reduction) so the comparison measures the weight format and nothing else. Instantiated per
// variant with:
//   KNAME  kernel name   WHALF 1: f16 weights (vloada_half), 0: f32 weights
//   RB     rows per work-item   NB batch rows per work-item
// Activations are f32 or f16 per the SLIMQ_HALF_X flag, as in quant.cl.
// Rows are padded to kp (a multiple of W) with zeros, and so are the activations.

#define XLOADW(off) (half_x ? vloada_halfW(0, xh + (off)) : *(__global const floatW *) (xf + (off)))
#if WHALF
#define WT half
#define WLOADW(p) vloada_halfW(0, (p))
#else
#define WT float
#define WLOADW(p) (*(__global const floatW *) (p))
#endif

__kernel void KNAME(__global const WT *restrict w,
                    __global const float *restrict xf,
                    __global const half *restrict xh,
                    __global float *restrict y,
                    __local float *red,
                    const int rows, const int kp, const int batch, const int team, const int flags)
{
    SLIMQ_KERNEL_LOCALS
    const int lid = (int) get_local_id(0);
    const int lsz = (int) get_local_size(0);
    const int t = lid % team;
    const int r0 = ((int) get_group_id(0) * (lsz / team) + lid / team) * RB;
    const int n0 = (int) get_global_id(1) * NB;
    const int np = kp / W;
    const int half_x = flags & SLIMQ_HALF_X;

    __global const WT *wrow[RB];
    #pragma unroll
    for (int i = 0; i < RB; i++) wrow[i] = w + (size_t) min(r0 + i, rows - 1) * kp;
    const size_t xrow = (size_t) n0 * kp;
    floatW acc[RB][NB];
    #pragma unroll
    for (int i = 0; i < RB; i++) {
        #pragma unroll
        for (int n = 0; n < NB; n++) acc[i][n] = (floatW) 0.0f;
    }

    for (int p = t; p < np; p += team) {
        const size_t off = (size_t) p * W;
        floatW xv[NB];
        #pragma unroll
        for (int n = 0; n < NB; n++) xv[n] = XLOADW(xrow + (size_t) n * kp + off);
        #pragma unroll
        for (int i = 0; i < RB; i++) {
            const floatW wv = WLOADW(wrow[i] + off);
            #pragma unroll
            for (int n = 0; n < NB; n++) acc[i][n] = fma(wv, xv[n], acc[i][n]);
        }
    }

    float part[RB][NB];
    #pragma unroll
    for (int i = 0; i < RB; i++) {
        #pragma unroll
        for (int n = 0; n < NB; n++) part[i][n] = hsumW(acc[i][n]);
    }

    SLIMQ_REDUCE_AND_STORE(part)
}

#undef XLOADW
#undef WT
#undef WLOADW
