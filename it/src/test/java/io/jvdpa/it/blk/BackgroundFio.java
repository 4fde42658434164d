package io.jvdpa.it.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.QemuGuest;
import java.time.Duration;

/**
 * fio writing and verifying the guest's vda in the background of its shell, so that it goes on while the test
 * stops, kills and restarts the back-end under it: crc32c on every block, fatal on the first mismatch, the last
 * 256 writes verified as it goes. Its exit status lands in a file the test waits for.
 */
public final class BackgroundFio {
    /**
     * fio's span: long enough that fio still runs through what the tests do to the back-end (up to five kills and
     * restarts, some 300 writes before the first and 200 between), short enough to verify within seconds.
     */
    private static final int MIB = 16;
    private static final String STATUS = "/tmp/fio.rc";
    private static final String OUTPUT = "/tmp/fio.out";
    private static final Duration SHORT = Duration.ofSeconds(30);
    /** The "write I/Os" field of /sys/block/NAME/stat (Documentation/block/stat.rst), counted from 0. */
    private static final int WRITES = 4;

    private final QemuGuest guest;

    private BackgroundFio(QemuGuest guest) {
        this.guest = guest;
    }

    /** Starts fio on /dev/vda with 16 requests in flight and returns at once. */
    public static BackgroundFio start(QemuGuest guest) {
        guest.execOk("rm -f " + STATUS + "; (fio --name=background --filename=/dev/vda --size=" + MIB + "M"
                + " --rw=randwrite --bs=4k --direct=1 --ioengine=libaio --iodepth=16 --verify=crc32c"
                + " --verify_fatal=1 --verify_backlog=256 >" + OUTPUT + " 2>&1; echo $? >" + STATUS + ")"
                + " >/dev/null 2>&1 &", SHORT);
        return new BackgroundFio(guest);
    }

    /** The write requests the guest has completed on vda so far. */
    public long writes() {
        return Long.parseLong(guest.execOk("cat /sys/block/vda/stat", SHORT).trim().split("\\s+")[WRITES]);
    }

    /** Waits until the guest has completed at least {@code writes} write requests on vda. */
    public void awaitWrites(long writes) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (writes() >= writes) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("fio did not get to " + writes + " writes within 2 minutes");
    }

    /** Waits up to {@code timeout} for fio to end, and checks it exited 0 with no I/O or verify error. */
    public void assertFinishedClean(Duration timeout) throws InterruptedException {
        String status = awaitStatus(timeout);
        String output = guest.execOk("cat " + OUTPUT, SHORT);
        assertThat(status).as("fio's exit status; its output:\n%s", output).isEqualTo("0");
        assertThat(output).contains("err= 0").doesNotContain("bad magic").doesNotContain("verify failed")
                .doesNotContainIgnoringCase("mismatch");
    }

    private String awaitStatus(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String out = guest.exec("cat " + STATUS + " 2>/dev/null", SHORT).output().trim();
            if (!out.isEmpty()) {
                return out;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("fio did not end within " + timeout + " (no " + STATUS + ")");
    }
}
