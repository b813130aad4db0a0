// Fused dequantize-and-multiply, y[b][r] = sum_c x[b][c] * (scale * (code - zero) + residual), for
// every bit width the tiled layout stores (TiledLayout in slimq-core). Instantiated by the host once
// per variant with:
//   KNAME  kernel name        BITS  2 | 4 | 8 (3-bit codes arrive in 4-bit fields)
//   RB     rows per work-item NB    batch rows per work-item (1 = GEMV)
//
// Layout: a row is tiles of W 32-bit words; word j of a tile holds 32/BITS codes, code k being the
// weight at tile offset j + W*k. So `words & (mask << BITS*k)` converted to float lines up with a
// plain vector load of W activations: one mask and one conversion per W codes, no shuffles.
//
// Work split: `team` lanes share RB rows and stride over chunks of `chunk_tiles` tiles (adjacent lanes
// read adjacent tiles: coalesced on GPUs), then reduce through local memory (or a sub-group). On CPU
// devices team = 1 and a chunk is a whole group, so a work-item streams its rows front to back.
//
// Zero points cost nothing in the loop: sum s*(q - z)*x = s*sum(q*x) - s*z*sum(x), with sum(x) per
// chunk precomputed by the host (xsum). Scales (and zeros) are half or f32 per flags; zeros are
// per group or the constant zconst (symmetric schemes).
//
// Padding columns hold code 0 and meet zero activations. Work-items past the last row clamp their
// reads to the last row and write nothing, so any row count works with any work-group size.

#define QP (32 / BITS)
#define QTILE (QP * W)
#define QMASK ((1u << BITS) - 1u)
#if RB * NB < 8
#define ND 2
#else
#define ND 1
#endif
// Activations: f32 (xf) or f16 (xh, read with vloada_half), chosen by SLIMQ_HALF_X at run time so
// one kernel serves both; the flag is uniform, and the compiler hoists the choice out of the loops.
#define XLOADW(off) (half_x ? vloada_halfW(0, xh + (off)) : *(__global const floatW *) (xf + (off)))
#define XLOAD1(off) (half_x ? vload_half((off), xh) : xf[off])

__kernel void KNAME(__global const uintW *restrict codes,
                    __global const half *restrict scales_h,
                    __global const float *restrict scales_f,
                    __global const half *restrict zeros_h,
                    __global const float *restrict zeros_f,
                    __global const uint *restrict res_ptr,
                    __global const uint *restrict res_col,
                    __global const half *restrict res_h,
                    __global const float *restrict res_f,
                    __global const float *restrict xf,
                    __global const half *restrict xh,
                    __global const float *restrict xsum,
                    __global float *restrict y,
                    __local float *red,
                    const int rows, const int kp, const int gp, const int chunk_tiles, const int batch,
                    const int team, const int flags, const float zconst)
{
    SLIMQ_KERNEL_LOCALS
    const int lid = (int) get_local_id(0);
    const int lsz = (int) get_local_size(0);
    const int t = lid % team;
    const int r0 = ((int) get_group_id(0) * (lsz / team) + lid / team) * RB;
    const int n0 = (int) get_global_id(1) * NB;
    const int tpr = kp / QTILE;
    const int nchunks = tpr / chunk_tiles;
    const int ngroups = kp / gp;
    const int cpg = nchunks / ngroups;
    const int half_scales = flags & SLIMQ_HALF_SCALES;
    const int group_zeros = flags & SLIMQ_GROUP_ZEROS;
    const int half_x = flags & SLIMQ_HALF_X;

    int rr[RB];
    __global const uintW *crow[RB];
    #pragma unroll
    for (int i = 0; i < RB; i++) {
        rr[i] = min(r0 + i, rows - 1);
        crow[i] = codes + (size_t) rr[i] * tpr;
    }
    floatW acc[RB][NB];
    float zacc[RB][NB];
    #pragma unroll
    for (int i = 0; i < RB; i++) {
        #pragma unroll
        for (int n = 0; n < NB; n++) {
            acc[i][n] = (floatW) 0.0f;
            zacc[i][n] = 0.0f;
        }
    }

    // The group of chunk c is c / cpg, tracked incrementally (an integer division per chunk costs
    // more than the chunk's arithmetic on CPUs).
    const int gstep = team / cpg;
    const int rstep = team % cpg;
    int g = t / cpg;
    int grem = t % cpg;
    for (int c = t; c < nchunks; c += team) {
        const int tile0 = c * chunk_tiles;
        size_t xc = (size_t) n0 * kp + (size_t) tile0 * QTILE;
        // ND independent partial sums per row and batch row: short FMA dependency chains.
        floatW d[RB][NB][ND];
        #pragma unroll
        for (int i = 0; i < RB; i++) {
            #pragma unroll
            for (int n = 0; n < NB; n++) {
                #pragma unroll
                for (int e = 0; e < ND; e++) d[i][n][e] = (floatW) 0.0f;
            }
        }
        for (int u = 0; u < chunk_tiles; u++) {
            uintW wv[RB];
            #pragma unroll
            for (int i = 0; i < RB; i++) wv[i] = crow[i][tile0 + u];
            #pragma unroll
            for (int k = 0; k < QP; k++) {
                // Codes are masked in place, never shifted: (w & mask << BITS*k) is q * 2^(BITS*k)
                // exactly, and the activations are scaled by 2^-(BITS*k) once for all RB rows, so
                // each product is q * x exactly as if the code had been shifted down.
                const float unscale = 1.0f / (float) (1u << (BITS * k));
                floatW xv[NB];
                #pragma unroll
                for (int n = 0; n < NB; n++) xv[n] = XLOADW(xc + (size_t) n * kp + k * W) * unscale;
                #pragma unroll
                for (int i = 0; i < RB; i++) {
                    const floatW q = convert_floatW(wv[i] & (QMASK << (BITS * k)));
                    #pragma unroll
                    for (int n = 0; n < NB; n++) d[i][n][k % ND] = fma(q, xv[n], d[i][n][k % ND]);
                }
            }
            xc += QTILE;
        }
        float xs[NB];
        #pragma unroll
        for (int n = 0; n < NB; n++) xs[n] = xsum[(size_t) (n0 + n) * nchunks + c];
        #pragma unroll
        for (int i = 0; i < RB; i++) {
            const int gi = rr[i] * ngroups + g;
            const float s = half_scales ? vload_half(gi, scales_h) : scales_f[gi];
            // With one zero for all groups, zacc collects sum(s * xsum) and is multiplied by it once.
            const float sz = group_zeros ? s * (half_scales ? vload_half(gi, zeros_h) : zeros_f[gi]) : s;
            #pragma unroll
            for (int n = 0; n < NB; n++) {
                floatW dd = d[i][n][0];
                #pragma unroll
                for (int e = 1; e < ND; e++) dd += d[i][n][e];
                acc[i][n] = fma((floatW) s, dd, acc[i][n]);
                zacc[i][n] = fma(sz, xs[n], zacc[i][n]);
            }
        }
        g += gstep;
        grem += rstep;
        if (grem >= cpg) {
            grem -= cpg;
            g++;
        }
    }

    float part[RB][NB];
    #pragma unroll
    for (int i = 0; i < RB; i++) {
        #pragma unroll
        for (int n = 0; n < NB; n++) part[i][n] = hsumW(acc[i][n]) - (group_zeros ? zacc[i][n] : zacc[i][n] * zconst);
    }

    if (flags & SLIMQ_RESIDUALS) {
        #pragma unroll
        for (int i = 0; i < RB; i++) {
            const uint kend = res_ptr[rr[i] + 1];
            for (uint k = res_ptr[rr[i]] + (uint) t; k < kend; k += (uint) team) {
                const float v = (flags & SLIMQ_HALF_RESIDUAL) ? vload_half(k, res_h) : res_f[k];
                const size_t col = res_col[k];
                #pragma unroll
                for (int n = 0; n < NB; n++) part[i][n] = fma(v, XLOAD1((size_t) (n0 + n) * kp + col), part[i][n]);
            }
        }
    }

    SLIMQ_REDUCE_AND_STORE(part)
}

#undef QP
#undef QTILE
#undef QMASK
#undef ND
#undef XLOADW
#undef XLOAD1
