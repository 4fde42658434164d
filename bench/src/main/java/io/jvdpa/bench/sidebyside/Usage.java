package io.jvdpa.bench.sidebyside;

/**
 * The harnesses' command lines. A bad one is refused before anything starts: the reason and the usage line on
 * stderr, exit status 2, no stack trace.
 */
final class Usage {
    /** A command line the harness cannot run. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    @FunctionalInterface
    interface Harness {
        void run(String[] args) throws Exception;
    }

    /** Runs {@code harness}; a {@link Refused} command line ends the process with status 2. */
    static void run(String program, String usage, String[] args, Harness harness) throws Exception {
        try {
            harness.run(args);
        } catch (Refused e) {
            System.err.println(program + ": " + e.getMessage());
            System.err.println("usage: " + program + " " + usage);
            System.exit(2);
        }
    }

    /** {@code value} as a count of 1 or more, or refused as {@code what}. */
    static int count(String value, String what) {
        if (!value.matches("[1-9]\\d{0,8}")) {
            throw new Refused(what + " must be a whole number, 1 or more, not \"" + value + "\"");
        }
        return Integer.parseInt(value);
    }

    private Usage() {}
}
