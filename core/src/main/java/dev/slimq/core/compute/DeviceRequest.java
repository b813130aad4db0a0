package dev.slimq.core.compute;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/**
 * What {@code --device} asked for: {@code auto} (the first GPU, else an OpenCL CPU device such as
 * PoCL, else the Java CPU backend), {@code cpu} (the Java CPU backend), {@code opencl} (the first
 * OpenCL GPU, else the first OpenCL device; an error when there is none) or {@code opencl:N} (device
 * {@code N} in the order {@code slimq devices} lists them).
 *
 * @param kind  the form of the request
 * @param index the device index for {@link Kind#OPENCL_INDEX}, else -1
 */
public record DeviceRequest(Kind kind, int index) {

    public enum Kind { AUTO, CPU, OPENCL, OPENCL_INDEX }

    public static final DeviceRequest AUTO = new DeviceRequest(Kind.AUTO, -1);
    public static final DeviceRequest CPU = new DeviceRequest(Kind.CPU, -1);
    public static final DeviceRequest OPENCL = new DeviceRequest(Kind.OPENCL, -1);

    public DeviceRequest {
        if ((kind == Kind.OPENCL_INDEX) != (index >= 0)) {
            throw new IllegalArgumentException("a device index goes with opencl:N only");
        }
    }

    /** Parses {@code auto|cpu|opencl|opencl:N}; anything else is a usage error. */
    public static DeviceRequest parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "auto":
                return AUTO;
            case "cpu":
                return CPU;
            case "opencl":
                return OPENCL;
            default:
                break;
        }
        if (s.startsWith("opencl:")) {
            String n = s.substring("opencl:".length());
            if (!n.isEmpty() && n.length() <= 6 && n.chars().allMatch(Character::isDigit)) {
                return new DeviceRequest(Kind.OPENCL_INDEX, Integer.parseInt(n));
            }
        }
        throw new SlimqException(Failure.USAGE, "--device must be auto, cpu, opencl or opencl:N (N a device number from `slimq devices`), got '" + text + "'");
    }

    /** True when only an OpenCL device satisfies the request (no fallback allowed). */
    public boolean requiresOpenCl() {
        return kind == Kind.OPENCL || kind == Kind.OPENCL_INDEX;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case AUTO -> "auto";
            case CPU -> "cpu";
            case OPENCL -> "opencl";
            case OPENCL_INDEX -> "opencl:" + index;
        };
    }
}
