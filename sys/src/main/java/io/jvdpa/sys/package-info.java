/**
 * Every Linux call jvdpa makes, through the FFM API: one class per kernel concept, each owning its
 * descriptor or mapping and closing it exactly once.
 *
 * <ul>
 *   <li>{@link io.jvdpa.sys.Fd}, {@link io.jvdpa.sys.MemFd}, {@link io.jvdpa.sys.Mapping}: descriptors, shared
 *       memory files and their mappings as {@link java.lang.foreign.MemorySegment}s.</li>
 *   <li>{@link io.jvdpa.sys.UnixServerSocket}, {@link io.jvdpa.sys.UnixSocket}, {@link io.jvdpa.sys.ReceivedFds}:
 *       the AF_UNIX stream sockets vhost-user runs on, with descriptor passing.</li>
 *   <li>{@link io.jvdpa.sys.EventFd}, {@link io.jvdpa.sys.Epoll}: virtqueue kicks and calls.</li>
 *   <li>{@link io.jvdpa.sys.Tap}, {@link io.jvdpa.sys.IoVec}: frames to and from the host network stack.</li>
 *   <li>{@link io.jvdpa.sys.FileIo}: positioned, scatter-gather and space-management calls for disk images.</li>
 * </ul>
 *
 * A failed call raises {@link io.jvdpa.sys.LinuxException} naming the call, its arguments and the errno;
 * a bad argument raises {@link java.lang.IllegalArgumentException} before any call is made. Every descriptor
 * is created close-on-exec. The paths a virtqueue takes per request (eventfd signal and drain, epoll wait,
 * TAP and file reads and writes) allocate nothing. Struct layouts and constants are those of x86_64 Linux.
 */
package io.jvdpa.sys;
