package dev.slimq.cli;

import java.util.Locale;

/** Human-readable sizes and counts for text output (JSON output always carries exact integers). */
final class Units {
    private Units() {
    }

    /** Decimal units, as disk and download sizes are quoted: 132.9 MB. */
    static String bytes(long b) {
        if (b < 1000) {
            return b + " B";
        }
        String[] u = {"kB", "MB", "GB", "TB", "PB"};
        double v = b;
        int i = -1;
        while (v >= 1000 && i < u.length - 1) {
            v /= 1000;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }

    /** Parameter counts: 33.4M, 1.10B. */
    static String count(long n) {
        if (n < 1_000) {
            return Long.toString(n);
        }
        if (n < 1_000_000) {
            return String.format(Locale.ROOT, "%.1fk", n / 1e3);
        }
        if (n < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.1fM", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.2fB", n / 1e9);
    }

    /** Parses sizes such as {@code 5GB}, {@code 500MB}, {@code 2GiB}, {@code 1000000}. */
    static long parseBytes(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long mul = 1;
        String[][] units = {{"KIB", "1024"}, {"MIB", "1048576"}, {"GIB", "1073741824"}, {"TIB", "1099511627776"},
            {"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"TB", "1000000000000"}, {"K", "1000"}, {"M", "1000000"},
            {"G", "1000000000"}, {"B", ""}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                t = t.substring(0, t.length() - u[0].length()).trim();
                mul = u[1].isEmpty() ? 1 : Long.parseLong(u[1]);
                break;
            }
        }
        double v = Double.parseDouble(t);
        if (!(v > 0) || v * mul > Long.MAX_VALUE) {
            throw new NumberFormatException("size must be positive: " + s);
        }
        return (long) Math.floor(v * mul);
    }
}
