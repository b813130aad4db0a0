package dev.slimq.kernels;

import static org.jocl.CL.CL_DEVICE_EXTENSIONS;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_CACHE_SIZE;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT;
import static org.jocl.CL.CL_DEVICE_OPENCL_C_VERSION;
import static org.jocl.CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ACCELERATOR;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_CPU;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VENDOR;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_DRIVER_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.CL_PLATFORM_VERSION;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Finding OpenCL: loads the library through JOCL (with CL exceptions enabled, so no status code is
 * ever silently ignored), lists platforms and devices in a stable order, and reports plainly why
 * there are none — missing {@code libOpenCL.so}, no installed ICD, or a driver error.
 */
public final class OpenClRuntime {
    private OpenClRuntime() {
    }

    /**
     * The result of a discovery: the devices (possibly none) and, when there are none because OpenCL
     * itself is unusable, why, in one line.
     */
    public static final class Discovery {
        private final List<DeviceInfo> devices;
        private final String problem;
        private final List<cl_platform_id> platformIds;
        private final List<cl_device_id> deviceIds;

        Discovery(List<DeviceInfo> devices, String problem, List<cl_platform_id> platformIds, List<cl_device_id> deviceIds) {
            this.devices = List.copyOf(devices);
            this.problem = problem;
            this.platformIds = platformIds;
            this.deviceIds = deviceIds;
        }

        public List<DeviceInfo> devices() {
            return devices;
        }

        /** Why OpenCL cannot be used at all, or null when it loaded and platforms were listed. */
        public String problem() {
            return problem;
        }

        cl_platform_id platform(int index) {
            return platformIds.get(index);
        }

        cl_device_id device(int index) {
            return deviceIds.get(index);
        }

        /** One line saying why no device can be used: the problem, or that platforms have no devices. */
        public String whyNone() {
            return problem != null ? problem : "the OpenCL platforms report no devices";
        }
    }

    private static String loadProblem;
    private static boolean loaded;

    /** Loads JOCL and libOpenCL once; returns why that failed, or null. */
    static synchronized String load() {
        if (loaded) {
            return loadProblem;
        }
        loaded = true;
        try {
            CL.setExceptionsEnabled(true);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError (no libOpenCL.so / JOCL native library) or a failed class init.
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            loadProblem = "the OpenCL library could not be loaded (libOpenCL.so; install an OpenCL ICD loader, "
                    + "e.g. ocl-icd-libopencl1, and a driver or PoCL): " + msg;
        }
        return loadProblem;
    }

    /** Every OpenCL device of every platform, platforms in the order the ICD loader reports them. */
    public static Discovery discover() {
        String problem = load();
        if (problem != null) {
            return new Discovery(List.of(), problem, List.of(), List.of());
        }
        cl_platform_id[] platforms;
        try {
            int[] n = new int[1];
            CL.clGetPlatformIDs(0, null, n);
            platforms = new cl_platform_id[n[0]];
            if (n[0] > 0) {
                CL.clGetPlatformIDs(n[0], platforms, null);
            }
        } catch (CLException e) {
            String why = e.getStatus() == -1001 ? "no OpenCL platform is installed (no ICD under /etc/OpenCL/vendors; e.g. install pocl-opencl-icd or a GPU driver)"
                    : "listing OpenCL platforms failed: " + ClErrors.describe(e.getStatus());
            return new Discovery(List.of(), why, List.of(), List.of());
        }
        if (platforms.length == 0) {
            return new Discovery(List.of(), "no OpenCL platform is installed (no ICD under /etc/OpenCL/vendors)", List.of(), List.of());
        }
        List<DeviceInfo> infos = new ArrayList<>();
        List<cl_platform_id> pids = new ArrayList<>();
        List<cl_device_id> dids = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            String pname;
            cl_device_id[] devices;
            try {
                pname = platformString(p, CL_PLATFORM_NAME);
                int[] n = new int[1];
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
                devices = new cl_device_id[n[0]];
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n[0], devices, null);
            } catch (CLException e) {
                failures.add(ClErrors.name(e.getStatus()));
                continue; // a platform without devices (CL_DEVICE_NOT_FOUND) or a broken driver: skip it
            }
            for (cl_device_id d : devices) {
                try {
                    infos.add(describe(infos.size(), p, pname, d));
                    pids.add(p);
                    dids.add(d);
                } catch (CLException e) {
                    failures.add(ClErrors.name(e.getStatus()));
                }
            }
        }
        String problem2 = infos.isEmpty() && !failures.isEmpty() ? "the OpenCL platforms report no usable device (" + String.join(", ", failures) + ")" : null;
        return new Discovery(infos, problem2, pids, dids);
    }

    /** Fails with {@link Failure#DEVICE} unless OpenCL is usable and has a device. */
    static Discovery requireDevices(String request) {
        Discovery d = discover();
        if (d.devices().isEmpty()) {
            throw new SlimqException(Failure.DEVICE, "--device " + request + ": no usable OpenCL device: " + d.whyNone());
        }
        return d;
    }

    private static DeviceInfo describe(int index, cl_platform_id p, String platformName, cl_device_id d) {
        long type = deviceLong(d, CL_DEVICE_TYPE);
        String typeName = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU" : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACCELERATOR" : "OTHER";
        List<String> ext = Arrays.stream(deviceString(d, CL_DEVICE_EXTENSIONS).trim().split("\\s+")).filter(s -> !s.isEmpty()).sorted().toList();
        return new DeviceInfo(index, platformName, platformString(p, CL_PLATFORM_VERSION), deviceString(d, CL_DEVICE_NAME).trim(),
                deviceString(d, CL_DEVICE_VENDOR).trim(), typeName, deviceString(d, CL_DEVICE_VERSION).trim(),
                deviceString(d, CL_DRIVER_VERSION).trim(), deviceString(d, CL_DEVICE_OPENCL_C_VERSION).trim(),
                deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceLong(d, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE), deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS), deviceSize(d, CL_DEVICE_MAX_WORK_GROUP_SIZE),
                deviceInt(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT), deviceInt(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT),
                ext.contains("cl_khr_subgroups"), ext.contains("cl_khr_fp16"), ext.contains("cl_khr_fp64"), ext);
    }

    static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }
}
