package io.jvdpa.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class PacketQueueTest {
    @Test
    void framesFromManyThreadsArriveWholeAndInEachSendersOrder() throws Exception {
        PacketQueue q = new PacketQueue(64, 256);
        int producers = 4;
        int perProducer = 20_000;
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[producers];
        for (int t = 0; t < producers; t++) {
            int id = t;
            threads[t] = Thread.ofPlatform().start(() -> {
                Packet p = Packet.allocate(256);
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perProducer; i++) {
                    int length = 20 + (i % 200);
                    p.reset(0, length);
                    p.segment().asSlice(0, length).fill((byte) id);
                    p.putU16(0, id);
                    p.putU16(2, i & 0xFFFF);
                    p.setHeader(0, 0, 0, 0, id, i & 0xFFFF);
                    while (!q.offer(p)) {
                        Thread.onSpinWait();
                    }
                }
            });
        }
        go.countDown();
        int[] next = new int[producers];
        Packet view = Packet.view();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int n = 0; n < producers * perProducer; n++) {
            while (!q.peek(view)) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.onSpinWait();
            }
            int id = view.u16(0);
            int seq = next[id]++;
            assertThat(view.u16(2)).isEqualTo(seq & 0xFFFF);
            assertThat(view.length()).isEqualTo(20 + (seq % 200));
            assertThat(view.csumStart()).isEqualTo(id);
            assertThat(view.u8(view.length() - 1)).isEqualTo(id);
            q.remove();
        }
        assertThat(q.isEmpty()).isTrue();
        for (Thread t : threads) {
            t.join();
        }
    }

    @Test
    @Timeout(5)
    void aFullQueueAndAnOversizedFrameAreRefused() {
        PacketQueue q = new PacketQueue(4, 100);
        Packet p = Packet.allocate(200);
        p.reset(0, 60);
        for (int i = 0; i < 4; i++) {
            assertThat(q.offer(p)).isTrue();
        }
        assertThat(q.offer(p)).isFalse();
        p.reset(0, 200);
        q.clear();
        assertThat(q.offer(p)).isFalse();
    }
}
