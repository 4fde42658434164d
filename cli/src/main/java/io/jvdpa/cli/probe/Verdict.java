package io.jvdpa.cli.probe;

/**
 * Whether a back-end serves one {@link DriverKind}.
 *
 * @param driver    the kind's label ("modern LE", ...)
 * @param supported yes, no, or unknown
 * @param proof     "features" when read from the offered bits, "exchange" when a request went through the rings
 * @param reason    what was seen
 */
public record Verdict(String driver, String supported, String proof, String reason) {
    public static final String YES = "yes";
    public static final String NO = "no";
    public static final String UNKNOWN = "unknown";

    static Verdict byFeatures(DriverKind kind, String supported, String reason) {
        return new Verdict(kind.label, supported, "features", reason);
    }

    static Verdict byExchange(DriverKind kind, String supported, String reason) {
        return new Verdict(kind.label, supported, "exchange", reason);
    }
}
