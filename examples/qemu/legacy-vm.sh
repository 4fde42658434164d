#!/bin/sh
# The devices of examples/jvdpa.yaml offered to a legacy (virtio 0.9.5) driver only: an old guest kernel or
# firmware. jvdpa serves it from the same daemon; qemu-storage-daemon's disk would refuse it.
# Arguments and environment as for vm.sh.
run=${JVDPA_RUN:-/run/jvdpa}
exec "${QEMU:-qemu-system-x86_64}" \
  -machine pc,memory-backend=mem -accel kvm -accel tcg -m 1G \
  -object memory-backend-memfd,id=mem,size=1G,share=on \
  -chardev socket,id=net0-chr,path="$run/net0.sock" \
  -netdev vhost-user,id=net0,chardev=net0-chr \
  -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,disable-modern=on \
  -chardev socket,id=disk0-chr,path="$run/disk0.sock",reconnect=1 \
  -device vhost-user-blk-pci,chardev=disk0-chr,num-queues=1,disable-modern=on \
  "$@"
