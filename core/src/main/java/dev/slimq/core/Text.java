package dev.slimq.core;

import java.util.Comparator;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** String rules shared by the formats: one-line messages from untrusted names, and code point order. */
public final class Text {
    private Text() {
    }

    /**
     * Names come from untrusted files: keep a message on one line and of bounded length by
     * escaping control characters and the two Unicode line separators some consoles honour.
     */
    public static String oneLine(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        StringBuilder sb = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            boolean breaksLine = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
            sb.append(breaksLine ? String.format(Locale.ROOT, "\\u%04x", (int) c) : c);
        }
        return sb.toString();
    }

    /**
     * Code point order, which is UTF-8 byte order: what Rust's {@code String} comparison (the
     * safetensors reference writer) and Python's {@code sort_keys} use. {@link String#compareTo}
     * compares UTF-16 units and disagrees for names mixing characters above U+FFFF with ones in
     * U+E000..U+FFFF.
     */
    public static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    };

    /**
     * A tensor-name pattern as the command line takes it: a glob ({@code *} any run, {@code ?} one
     * character, everything else literal) over the full name, or a regular expression after {@code re:}.
     * One definition, so that quantize's selections and convert's dtype rules read patterns alike.
     *
     * @throws SlimqException with {@link Failure#USAGE} for an invalid regular expression
     */
    public static Pattern namePattern(String spec) {
        if (spec.startsWith("re:")) {
            try {
                return Pattern.compile(spec.substring(3));
            } catch (PatternSyntaxException e) {
                throw new SlimqException(Failure.USAGE, "invalid regular expression '" + oneLine(spec) + "': " + e.getDescription());
            }
        }
        StringBuilder re = new StringBuilder();
        for (char c : spec.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }
}
