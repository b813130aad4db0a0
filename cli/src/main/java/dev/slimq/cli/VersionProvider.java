package dev.slimq.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code slimq --version}: the version Maven filtered into {@code version.properties}, the git commit
 * the build recorded in {@code build-commit.properties} (absent when built outside a git checkout)
 * and the Java runtime. The first line is stable for scripts: {@code slimq VERSION}.
 */
public final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        Properties commit = resource("build-commit.properties");
        String c = commit.getProperty("commit", "");
        String line1 = "slimq " + version();
        // Without git on the build machine the build writes the unexpanded ${git.commit}.
        if (c.matches("[0-9a-f]{7,64}")) {
            line1 += " (commit " + c.substring(0, Math.min(12, c.length()))
                    + ("true".equals(commit.getProperty("dirty")) ? ", modified" : "")
                    + ", " + commit.getProperty("commit_date", "") + ")";
        }
        return new String[] {
            line1,
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")"
        };
    }

    /** The project version of this build ({@code 0.1.0}, or {@code 0.1.0-SNAPSHOT} between releases). */
    public static String version() {
        String v = resource("version.properties").getProperty("version");
        return v == null || v.startsWith("${") ? "(development build)" : v;
    }

    private static Properties resource(String name) {
        Properties p = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream(name)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the build's " + name, e);
        }
        return p;
    }
}
