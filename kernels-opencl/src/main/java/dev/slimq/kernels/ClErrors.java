package dev.slimq.kernels;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Map;
import org.jocl.CLException;

/**
 * OpenCL status codes by name, with what they usually mean in practice, so a failure reads
 * {@code CL_OUT_OF_RESOURCES (-5): the device ran out of resources ...} instead of {@code -5}.
 */
final class ClErrors {
    private ClErrors() {
    }

    private static final Map<Integer, String[]> CODES = Map.ofEntries(
            e(0, "CL_SUCCESS", ""),
            e(-1, "CL_DEVICE_NOT_FOUND", "no device of the requested type"),
            e(-2, "CL_DEVICE_NOT_AVAILABLE", "the device is in use or turned off"),
            e(-3, "CL_COMPILER_NOT_AVAILABLE", "the driver has no OpenCL C compiler"),
            e(-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE", "device memory could not be allocated"),
            e(-5, "CL_OUT_OF_RESOURCES", "the device ran out of resources (registers, local memory) or a kernel faulted"),
            e(-6, "CL_OUT_OF_HOST_MEMORY", "the driver ran out of host memory"),
            e(-7, "CL_PROFILING_INFO_NOT_AVAILABLE", ""),
            e(-8, "CL_MEM_COPY_OVERLAP", ""),
            e(-9, "CL_IMAGE_FORMAT_MISMATCH", ""),
            e(-10, "CL_IMAGE_FORMAT_NOT_SUPPORTED", ""),
            e(-11, "CL_BUILD_PROGRAM_FAILURE", "the kernel source did not compile for this device"),
            e(-12, "CL_MAP_FAILURE", ""),
            e(-13, "CL_MISALIGNED_SUB_BUFFER_OFFSET", ""),
            e(-14, "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", ""),
            e(-15, "CL_COMPILE_PROGRAM_FAILURE", ""),
            e(-16, "CL_LINKER_NOT_AVAILABLE", ""),
            e(-17, "CL_LINK_PROGRAM_FAILURE", ""),
            e(-18, "CL_DEVICE_PARTITION_FAILED", ""),
            e(-19, "CL_KERNEL_ARG_INFO_NOT_AVAILABLE", ""),
            e(-30, "CL_INVALID_VALUE", ""),
            e(-31, "CL_INVALID_DEVICE_TYPE", ""),
            e(-32, "CL_INVALID_PLATFORM", ""),
            e(-33, "CL_INVALID_DEVICE", ""),
            e(-34, "CL_INVALID_CONTEXT", ""),
            e(-35, "CL_INVALID_QUEUE_PROPERTIES", ""),
            e(-36, "CL_INVALID_COMMAND_QUEUE", ""),
            e(-37, "CL_INVALID_HOST_PTR", ""),
            e(-38, "CL_INVALID_MEM_OBJECT", ""),
            e(-39, "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR", ""),
            e(-40, "CL_INVALID_IMAGE_SIZE", ""),
            e(-41, "CL_INVALID_SAMPLER", ""),
            e(-42, "CL_INVALID_BINARY", ""),
            e(-43, "CL_INVALID_BUILD_OPTIONS", ""),
            e(-44, "CL_INVALID_PROGRAM", ""),
            e(-45, "CL_INVALID_PROGRAM_EXECUTABLE", ""),
            e(-46, "CL_INVALID_KERNEL_NAME", ""),
            e(-47, "CL_INVALID_KERNEL_DEFINITION", ""),
            e(-48, "CL_INVALID_KERNEL", ""),
            e(-49, "CL_INVALID_ARG_INDEX", ""),
            e(-50, "CL_INVALID_ARG_VALUE", ""),
            e(-51, "CL_INVALID_ARG_SIZE", ""),
            e(-52, "CL_INVALID_KERNEL_ARGS", ""),
            e(-53, "CL_INVALID_WORK_DIMENSION", ""),
            e(-54, "CL_INVALID_WORK_GROUP_SIZE", "the work-group size does not suit this kernel on this device"),
            e(-55, "CL_INVALID_WORK_ITEM_SIZE", ""),
            e(-56, "CL_INVALID_GLOBAL_OFFSET", ""),
            e(-57, "CL_INVALID_EVENT_WAIT_LIST", ""),
            e(-58, "CL_INVALID_EVENT", ""),
            e(-59, "CL_INVALID_OPERATION", ""),
            e(-60, "CL_INVALID_GL_OBJECT", ""),
            e(-61, "CL_INVALID_BUFFER_SIZE", "a buffer is larger than the device allows in one allocation"),
            e(-62, "CL_INVALID_MIP_LEVEL", ""),
            e(-63, "CL_INVALID_GLOBAL_WORK_SIZE", ""),
            e(-64, "CL_INVALID_PROPERTY", ""),
            e(-65, "CL_INVALID_IMAGE_DESCRIPTOR", ""),
            e(-66, "CL_INVALID_COMPILER_OPTIONS", ""),
            e(-67, "CL_INVALID_LINKER_OPTIONS", ""),
            e(-68, "CL_INVALID_DEVICE_PARTITION_COUNT", ""),
            e(-69, "CL_INVALID_PIPE_SIZE", ""),
            e(-70, "CL_INVALID_DEVICE_QUEUE", ""),
            e(-71, "CL_INVALID_SPEC_ID", ""),
            e(-72, "CL_MAX_SIZE_RESTRICTION_EXCEEDED", ""),
            e(-1001, "CL_PLATFORM_NOT_FOUND_KHR", "no OpenCL platform: no ICD is installed (see /etc/OpenCL/vendors)"));

    private static Map.Entry<Integer, String[]> e(int code, String name, String meaning) {
        return Map.entry(code, new String[] {name, meaning});
    }

    /** {@code CL_OUT_OF_RESOURCES (-5)}, or {@code OpenCL error -1234} for codes outside the standard. */
    static String name(int code) {
        String[] n = CODES.get(code);
        return n == null ? "OpenCL error " + code : n[0] + " (" + code + ")";
    }

    /** The name plus its usual meaning, when there is one worth saying. */
    static String describe(int code) {
        String[] n = CODES.get(code);
        return n == null || n[1].isEmpty() ? name(code) : name(code) + ": " + n[1];
    }

    /** A one-line device failure for {@code what} (e.g. "clBuildProgram on NVIDIA H200"). */
    static SlimqException device(String what, CLException e) {
        return new SlimqException(Failure.DEVICE, "OpenCL " + what + " failed: " + describe(e.getStatus()), e);
    }
}
