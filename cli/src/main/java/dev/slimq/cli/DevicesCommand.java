package dev.slimq.cli;

import dev.slimq.kernels.DeviceInfo;
import dev.slimq.kernels.DeviceListing;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code slimq devices}: every OpenCL device with what decides how kernels run on it, the Java CPU
 * backend that always exists, and what {@code --device auto} would pick. Never fails for a missing
 * OpenCL: it says why there is none (only an explicit {@code --device opencl} request is an error).
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        header = "List compute devices: OpenCL platforms and devices, and the Java CPU backend.",
        description = {"Select one with --device opencl:N (N as listed), --device cpu, or --device auto:",
            "the first GPU, else an OpenCL CPU device such as PoCL, else the Java CPU backend."})
final class DevicesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        DeviceListing listing = DeviceListing.discover(run.threadCount());
        PrintWriter out = spec.commandLine().getOut();
        if (run.json) {
            JsonOutput.print(out, listing);
            return ExitCode.OK.code();
        }
        if (listing.opencl().isEmpty()) {
            out.println("OpenCL: no usable device — " + listing.openclProblem());
        } else {
            out.println("OpenCL devices");
        }
        for (DeviceInfo d : listing.opencl()) {
            out.printf(Locale.ROOT, "  %-10s %s (%s)%n", d.id(), d.name(), d.type());
            String pad = "             ";
            out.printf(Locale.ROOT, "%svendor %s; platform %s (%s)%n", pad, d.vendor(), d.platform(), d.platformVersion());
            out.printf(Locale.ROOT, "%sglobal memory %s (largest buffer %s), cache %s, local memory %s%n", pad, Units.bytes(d.globalMemoryBytes()),
                    Units.bytes(d.maxAllocationBytes()), Units.bytes(d.globalCacheBytes()), Units.bytes(d.localMemoryBytes()));
            out.printf(Locale.ROOT, "%scompute units %d, max work-group %d, float vector width %d preferred / %d native%n", pad, d.computeUnits(),
                    d.maxWorkGroupSize(), d.preferredVectorWidth(), d.nativeVectorWidth());
            out.printf(Locale.ROOT, "%ssub-groups %s, fp16 %s, fp64 %s; %s, %s, driver %s%n", pad, yesNo(d.subGroups()), yesNo(d.fp16()), yesNo(d.fp64()),
                    d.version(), d.languageVersion(), d.driverVersion());
            out.printf(Locale.ROOT, "%sextensions %s%n", pad, d.extensions().isEmpty() ? "(none)" : String.join(" ", d.extensions()));
        }
        out.printf(Locale.ROOT, "%-12s %s%n", "cpu", listing.cpu());
        out.println("--device auto picks " + listing.auto());
        out.flush();
        return ExitCode.OK.code();
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }
}
