// slimq OpenCL prelude: prepended to every program. Program-wide build options:
//   -DW=4|8|16         vector width in floats (and words per code tile), from the device's preferred width
//   -DSLIMQ_SUBGROUPS  the device has cl_khr_subgroups: team reductions may use sub_group_reduce_add
// All arithmetic is f32: half data (weights, scales, activations) is only ever read with vload_half*,
// because many GPUs have no fp16 arithmetic in OpenCL C.

#ifdef SLIMQ_SUBGROUPS
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#endif

#define SLIMQ_CAT_(a, b) a##b
#define SLIMQ_CAT(a, b) SLIMQ_CAT_(a, b)

#define floatW SLIMQ_CAT(float, W)
#define intW SLIMQ_CAT(int, W)
#define uintW SLIMQ_CAT(uint, W)
#define convert_floatW SLIMQ_CAT(convert_float, W)
#define as_intW SLIMQ_CAT(as_int, W)
#define vloada_halfW SLIMQ_CAT(vloada_half, W)

inline float slimq_hsum4(float4 v) { float2 a = v.lo + v.hi; return a.x + a.y; }
inline float slimq_hsum8(float8 v) { return slimq_hsum4(v.lo + v.hi); }
inline float slimq_hsum16(float16 v) { return slimq_hsum8(v.lo + v.hi); }
#define hsumW SLIMQ_CAT(slimq_hsum, W)

// Flags shared by the product kernels (bit values mirror OpenClKernels.FLAG_*).
#define SLIMQ_HALF_SCALES   1   // scales (and per-group zeros) are half
#define SLIMQ_GROUP_ZEROS   2   // per-group zeros; else every group's zero is zconst
#define SLIMQ_RESIDUALS     4   // CSR residuals present
#define SLIMQ_HALF_RESIDUAL 8   // residual values are half
#define SLIMQ_TRY_SUBGROUPS 16  // use sub-group reductions when the team is exactly one sub-group
#define SLIMQ_HALF_X        32  // activations are half (xh), else f32 (xf)

// SLIMQ_KERNEL_LOCALS opens every product kernel (OpenCL C allows __local variables only at kernel
// scope). SLIMQ_REDUCE_AND_STORE sums part[RB][NB] over the `team` lanes that share each row
// (lanes t = lid % team) and stores the totals from lane 0. Deterministic: a fixed tree, the same
// for every launch. Every work-item of the group reaches its barriers: `team` is uniform.
#ifdef SLIMQ_SUBGROUPS
#define SLIMQ_KERNEL_LOCALS __local int slimq_sg_bad;
#define SLIMQ_SUBGROUP_REDUCE(part)                                                                 \
    int slimq_use_sg = 0;                                                                           \
    if (flags & SLIMQ_TRY_SUBGROUPS) {                                                              \
        if (lid == 0) slimq_sg_bad = 0;                                                             \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
        /* The team is exactly one sub-group iff every lane agrees on size, id and position. */     \
        if ((int) get_sub_group_size() != team || (int) get_sub_group_local_id() != t               \
                || (int) get_sub_group_id() != lid / team) slimq_sg_bad = 1;                        \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
        slimq_use_sg = !slimq_sg_bad;                                                               \
    }                                                                                               \
    if (slimq_use_sg) {                                                                             \
        for (int i = 0; i < RB; i++)                                                                \
        for (int n = 0; n < NB; n++) part[i][n] = sub_group_reduce_add(part[i][n]);                 \
    } else
#else
#define SLIMQ_KERNEL_LOCALS
#define SLIMQ_SUBGROUP_REDUCE(part)
#endif

#define SLIMQ_REDUCE_AND_STORE(part)                                                                \
    if (team > 1) {                                                                                 \
        SLIMQ_SUBGROUP_REDUCE(part)                                                                 \
        {                                                                                           \
            for (int i = 0; i < RB; i++)                                                            \
            for (int n = 0; n < NB; n++) red[(i * NB + n) * lsz + lid] = part[i][n];                \
            barrier(CLK_LOCAL_MEM_FENCE);                                                           \
            for (int s = team >> 1; s > 0; s >>= 1) {                                               \
                if (t < s) {                                                                        \
                    for (int i = 0; i < RB; i++)                                                    \
                    for (int n = 0; n < NB; n++)                                                    \
                        red[(i * NB + n) * lsz + lid] += red[(i * NB + n) * lsz + lid + s];         \
                }                                                                                   \
                barrier(CLK_LOCAL_MEM_FENCE);                                                       \
            }                                                                                       \
            for (int i = 0; i < RB; i++)                                                            \
            for (int n = 0; n < NB; n++) part[i][n] = red[(i * NB + n) * lsz + lid];                \
        }                                                                                           \
    }                                                                                               \
    if (t == 0) {                                                                                   \
        for (int i = 0; i < RB; i++) {                                                              \
            if (r0 + i < rows) {                                                                    \
                for (int n = 0; n < NB; n++) {                                                      \
                    if (n0 + n < batch) y[(size_t) (n0 + n) * rows + r0 + i] = part[i][n];          \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
