package dev.slimq.cli;

import dev.slimq.core.progress.ProgressEvent;
import dev.slimq.core.progress.ProgressListener;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Renders progress on stderr: a redrawn bar on a terminal (at most ten redraws a second), a plain
 * line every few seconds otherwise or when {@code CI} is set (CI logs stay readable), nothing when
 * quiet. The bar is redrawn with a carriage return and space padding only, no ANSI escape codes,
 * so it needs nothing from the terminal and {@code NO_COLOR} / {@code TERM=dumb} are trivially met.
 */
final class ProgressRenderer implements ProgressListener {

    /** How progress is shown. */
    enum Mode {
        BAR, LINES, NONE;

        /**
         * The launcher knows whether stderr is a terminal ({@code [ -t 2 ]}) and says so in
         * {@code slimq.progress}; Java itself can only tell about stdin and stdout, which may be
         * redirected while stderr is still a terminal.
         */
        static Mode detect() {
            return detect(System.getProperty("slimq.progress"), System.getenv("CI"));
        }

        /**
         * {@code CI} set to anything but {@code false}/{@code 0} turns a bar into lines: CI runners
         * that allocate a pseudo-terminal would otherwise log every redraw.
         */
        static Mode detect(String property, String ci) {
            Mode m;
            if (property != null) {
                m = switch (property) {
                    case "bar" -> BAR;
                    case "none" -> NONE;
                    default -> LINES;
                };
            } else {
                java.io.Console c = System.console();
                m = c != null && c.isTerminal() ? BAR : LINES;
            }
            boolean inCi = ci != null && !ci.isEmpty() && !ci.equalsIgnoreCase("false") && !ci.equals("0");
            return m == BAR && inCi ? LINES : m;
        }
    }

    private static final long BAR_INTERVAL_NANOS = 100_000_000L;
    private static final long LINE_INTERVAL_NANOS = 5_000_000_000L;

    private final PrintWriter err;
    private final Mode mode;
    private long lastNanos = System.nanoTime();
    private boolean barShown;
    /** Length of the bar on screen: a shorter redraw pads with spaces to cover it. */
    private int barLength;

    ProgressRenderer(PrintWriter err, Mode mode) {
        this.err = err;
        this.mode = mode;
    }

    static ProgressListener of(PrintWriter err, Mode mode, boolean quiet) {
        return quiet || mode == Mode.NONE ? ProgressListener.NONE : new ProgressRenderer(err, mode);
    }

    @Override
    public synchronized void onProgress(ProgressEvent e) {
        long now = System.nanoTime();
        boolean done = e.finished() && e.total() > 0;
        long interval = mode == Mode.BAR ? BAR_INTERVAL_NANOS : LINE_INTERVAL_NANOS;
        if (!done && now - lastNanos < interval) {
            return;
        }
        if (done && mode == Mode.LINES && e.done() == 0) {
            return;
        }
        lastNanos = now;
        double frac = e.total() <= 0 ? 1 : Math.min(1, (double) e.done() / e.total());
        String amount = format(e.done(), e.unit()) + " / " + format(e.total(), e.unit());
        if (mode == Mode.BAR) {
            int width = 30;
            int filled = (int) Math.round(frac * width);
            String bar = String.format(Locale.ROOT, "%-8s [%s%s] %5.1f%% %s", e.task(), "#".repeat(filled), " ".repeat(width - filled), frac * 100, amount);
            err.print("\r" + bar + " ".repeat(Math.max(0, barLength - bar.length())));
            barLength = Math.max(barLength, bar.length());
            barShown = true;
            if (done) {
                clear();
            }
        } else if (!done) {
            err.println(String.format(Locale.ROOT, "slimq: %s %.1f%% (%s)", e.task(), frac * 100, amount));
        }
        err.flush();
    }

    /** Clears a bar left on screen (call before printing results). */
    synchronized void finish() {
        if (barShown) {
            clear();
            err.flush();
        }
    }

    private void clear() {
        err.print("\r" + " ".repeat(barLength) + "\r");
        barShown = false;
        barLength = 0;
    }

    static String format(long v, String unit) {
        if (!"bytes".equals(unit)) {
            return v + " " + unit;
        }
        return Units.bytes(v);
    }
}
