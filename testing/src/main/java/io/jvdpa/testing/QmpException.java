package io.jvdpa.testing;

/** QEMU answered a QMP command with an error: {@link #errorClass()} is QMP's class (e.g. "GenericError"). */
public final class QmpException extends HarnessException {
    private final String errorClass;

    public QmpException(String message, String errorClass) {
        super(message);
        this.errorClass = errorClass;
    }

    public String errorClass() {
        return errorClass;
    }
}
