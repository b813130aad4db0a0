package dev.slimq.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel programs as a GPU gets them — width 4, teams sharing a row, and the sub-group reduction
 * path ({@code -DSLIMQ_SUBGROUPS}) — compiled offline with clang for the generic SPIR target. PoCL on
 * the CPU reports no sub-groups, so the runtime tests never build that path; this proves it is valid
 * OpenCL C (types, builtins, the extension pragma) before a GPU ever sees it. clang-15 is what PoCL
 * itself depends on (libpocl2 pulls it in), so it is present wherever the OpenCL tests run.
 */
class OfflineCompileTest {
    @TempDir
    Path dir;

    static DeviceInfo gpu(boolean subGroups) {
        return new DeviceInfo(0, "test", "OpenCL 3.0", "gpu", "vendor", "GPU", "OpenCL 3.0", "1", "OpenCL C 3.0",
                16L << 30, 4L << 30, 4L << 20, 64 << 10, 64, 1024, 1, 1, subGroups, false, true,
                subGroups ? List.of("cl_khr_subgroups") : List.of());
    }

    private static String clang() {
        for (String c : new String[] {"/usr/bin/clang-15", "/usr/lib/llvm-15/bin/clang"}) {
            if (Files.isExecutable(Path.of(c))) {
                return c;
            }
        }
        throw new AssertionError("clang-15 not found: it comes with PoCL (apt-get install pocl-opencl-icd); scripts/install-opencl.sh installs it");
    }

    /** Compiles {@code source} with the build options the backend would pass; returns clang's diagnostics. */
    private String compile(String name, String source, String options) throws IOException, InterruptedException {
        Path cl = dir.resolve(name + ".cl");
        Files.writeString(cl, source, StandardCharsets.UTF_8);
        List<String> cmd = new ArrayList<>(List.of(clang(), "-x", "cl", "-cl-std=CL3.0",
                "-cl-ext=+cl_khr_subgroups,+__opencl_c_subgroups,+cl_khr_fp64,+__opencl_c_fp64",
                "-Xclang", "-finclude-default-header", "-target", "spir64", "-fsyntax-only", "-Werror=implicit-function-declaration"));
        cmd.addAll(List.of(options.split(" ")));
        cmd.add(cl.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "clang did not finish");
        assertEquals(0, p.exitValue(), name + " (" + options + "):\n" + out);
        return out;
    }

    @Test
    void gpuProgramsWithSubGroupReductionsCompile() throws Exception {
        LaunchPolicy p = LaunchPolicy.forDevice(gpu(true));
        assertTrue(p.subGroups() && p.maxTeam() > 1, "a GPU with cl_khr_subgroups gets teams and sub-group reductions");
        String options = KernelSources.options(p.width(), true);
        assertTrue(options.contains("-DSLIMQ_SUBGROUPS"), options);
        String diagnostics = compile("quant-sg", KernelSources.quantProgram(p), options);
        // the sub-group builtins were really in the compiled text, not preprocessed away
        assertTrue(KernelSources.quantProgram(p).contains("sub_group_reduce_add"));
        compile("dense-sg", KernelSources.denseProgram(p), options);
        assertTrue(!diagnostics.contains("error"), diagnostics);
    }

    @Test
    void gpuAndCpuProgramsWithoutSubGroupsCompile() throws Exception {
        LaunchPolicy g = LaunchPolicy.forDevice(gpu(false));
        compile("quant-gpu", KernelSources.quantProgram(g), KernelSources.options(g.width(), false));
        compile("dense-gpu", KernelSources.denseProgram(g), KernelSources.options(g.width(), false));
        compile("stream", KernelSources.streamProgram(), KernelSources.options(g.width(), false));
        for (int w : new int[] {8, 16}) {
            LaunchPolicy c = g.withWidth(w).withTeam(1, 1).withBlocking(8, 4, 4);
            compile("quant-w" + w, KernelSources.quantProgram(c), KernelSources.options(w, false));
        }
    }
}
