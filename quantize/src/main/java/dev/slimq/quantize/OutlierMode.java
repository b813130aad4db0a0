package dev.slimq.quantize;

import dev.slimq.core.Failure;
import dev.slimq.core.SlimqException;
import java.util.Locale;

/**
 * {@code --outliers}: whether easyquant/finequant keep outliers as sparse residuals. {@code AUTO}
 * keeps them when the output format can store them and otherwise optimizes the range over all
 * weights, saying so in the summary and the report; {@code ON} with a format that cannot store them
 * is refused (exit 4, naming {@code --format slimq}).
 */
public enum OutlierMode {
    AUTO, ON, OFF;

    public static OutlierMode fromName(String s) {
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new SlimqException(Failure.USAGE, "unknown --outliers value '" + s + "'; use auto, on or off");
        }
    }
}
