#!/bin/sh
# A VM attached to the devices of examples/jvdpa.yaml, started with `jvdpa daemon --config examples/jvdpa.yaml`:
# net0 (virtio-net, jvdpa's gateway at 10.0.2.2) and disk0 (virtio-blk; reconnect=1 lets the disk survive a
# restart of the daemon with its requests in flight).
# Add the VM's boot media and anything else as arguments, e.g.
#   examples/qemu/vm.sh -drive file=debian.qcow2,if=virtio     or     -kernel vmlinuz -initrd initrd.img
# A vhost-user back-end maps guest RAM, so the RAM must be a shared memory backend (memfd, share=on).
# JVDPA_RUN: where the daemon's sockets are (/run/jvdpa); QEMU: the emulator.
run=${JVDPA_RUN:-/run/jvdpa}
exec "${QEMU:-qemu-system-x86_64}" \
  -machine pc,memory-backend=mem -accel kvm -accel tcg -m 1G \
  -object memory-backend-memfd,id=mem,size=1G,share=on \
  -chardev socket,id=net0-chr,path="$run/net0.sock" \
  -netdev vhost-user,id=net0,chardev=net0-chr \
  -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56 \
  -chardev socket,id=disk0-chr,path="$run/disk0.sock",reconnect=1 \
  -device vhost-user-blk-pci,chardev=disk0-chr,num-queues=1 \
  "$@"
