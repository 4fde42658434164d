package io.jvdpa.sys;

import java.io.IOException;

/**
 * A Linux call failed. The message names the call, the arguments that matter and the errno, e.g.
 * {@code mmap(len=4096, offset=0): Invalid argument (EINVAL, errno 22)}.
 */
public class LinuxException extends IOException {
    private final String call;
    private final int errno;

    /**
     * @param call    the C function, e.g. {@code "mmap"}
     * @param details its arguments as they explain the failure, e.g. {@code "len=4096, offset=0"}; may be empty
     * @param errno   the errno the call left
     */
    public LinuxException(String call, String details, int errno) {
        super(call + "(" + details + "): " + Errno.description(errno) + " (" + Errno.name(errno) + ", errno " + errno
                + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The C function that failed, e.g. {@code "recvmsg"}. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
