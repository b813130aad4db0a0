package dev.slimq.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import org.jocl.CL;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * Counts of the OpenCL objects one backend holds, kept next to every create and release, so a test
 * can prove that nothing leaks across thousands of layers (the driver keeps no such count for us).
 */
final class ClObjects {
    final AtomicInteger mems = new AtomicInteger();
    final AtomicInteger kernels = new AtomicInteger();
    final AtomicInteger programs = new AtomicInteger();
    final AtomicInteger queues = new AtomicInteger();
    final AtomicInteger contexts = new AtomicInteger();

    /** Every object still alive. */
    int live() {
        return mems.get() + kernels.get() + programs.get() + queues.get() + contexts.get();
    }

    cl_mem created(cl_mem m) {
        mems.incrementAndGet();
        return m;
    }

    void release(cl_mem m) {
        if (m != null) {
            CL.clReleaseMemObject(m);
            mems.decrementAndGet();
        }
    }

    void release(cl_kernel k) {
        if (k != null) {
            CL.clReleaseKernel(k);
            kernels.decrementAndGet();
        }
    }

    void release(cl_program p) {
        if (p != null) {
            CL.clReleaseProgram(p);
            programs.decrementAndGet();
        }
    }

    void release(cl_command_queue q) {
        if (q != null) {
            CL.clReleaseCommandQueue(q);
            queues.decrementAndGet();
        }
    }

    void release(cl_context c) {
        if (c != null) {
            CL.clReleaseContext(c);
            contexts.decrementAndGet();
        }
    }

    @Override
    public String toString() {
        return mems + " buffers, " + kernels + " kernels, " + programs + " programs, " + queues + " queues, " + contexts + " contexts";
    }
}
