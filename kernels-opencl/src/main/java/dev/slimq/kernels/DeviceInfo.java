package dev.slimq.kernels;

import java.util.List;

/**
 * What an OpenCL device says about itself, in the order {@code slimq devices} lists devices.
 * Plain data (no OpenCL handles), so it can be printed, serialized and compared.
 *
 * @param index                  position in the listing: {@code --device opencl:INDEX}
 * @param type                   {@code GPU}, {@code CPU}, {@code ACCELERATOR} or {@code OTHER}
 * @param globalMemoryBytes      CL_DEVICE_GLOBAL_MEM_SIZE
 * @param maxAllocationBytes     CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer
 * @param globalCacheBytes       CL_DEVICE_GLOBAL_MEM_CACHE_SIZE (0 when the device has none)
 * @param localMemoryBytes       CL_DEVICE_LOCAL_MEM_SIZE
 * @param preferredVectorWidth   CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
 * @param languageVersion        CL_DEVICE_OPENCL_C_VERSION: the OpenCL C the compiler accepts
 * @param subGroups              cl_khr_subgroups is supported
 */
public record DeviceInfo(int index, String platform, String platformVersion, String name, String vendor, String type,
                         String version, String driverVersion, String languageVersion,
                         long globalMemoryBytes, long maxAllocationBytes, long globalCacheBytes, long localMemoryBytes,
                         int computeUnits, long maxWorkGroupSize, int preferredVectorWidth, int nativeVectorWidth,
                         boolean subGroups, boolean fp16, boolean fp64, List<String> extensions) {

    public DeviceInfo {
        extensions = List.copyOf(extensions);
    }

    /** The {@code --device} value that selects this device. */
    public String id() {
        return "opencl:" + index;
    }

    public boolean gpu() {
        return type.equals("GPU");
    }

    public boolean cpu() {
        return type.equals("CPU");
    }

    /** {@code opencl:0 NVIDIA H200 (GPU, NVIDIA Corporation, NVIDIA CUDA)}. */
    public String summary() {
        return id() + " " + name + " (" + type + ", " + vendor + ", " + platform + ")";
    }
}
