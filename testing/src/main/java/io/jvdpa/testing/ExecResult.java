package io.jvdpa.testing;

import java.time.Duration;
import java.util.List;

/** What a command run on a guest's console printed (stdout and stderr together) and its exit status. */
public record ExecResult(String command, int exitCode, String output, Duration elapsed) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** This result if the command exited 0; otherwise a {@link GuestException} with its output. */
    public ExecResult requireSuccess() {
        if (exitCode != 0) {
            throw new GuestException("guest command exited " + exitCode + ": " + command + "\n--- output ---\n"
                    + output, List.of());
        }
        return this;
    }

    /** The output's lines. */
    public List<String> lines() {
        return output.isEmpty() ? List.of() : output.lines().toList();
    }
}
