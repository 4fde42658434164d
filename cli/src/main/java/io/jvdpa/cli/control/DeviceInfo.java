package io.jvdpa.cli.control;

import java.util.List;

/**
 * A hosted device in {@code dev list} and {@code dev show}.
 *
 * @param mode          server (listens on the socket) or client (connects to the front-end's)
 * @param connected     whether a front-end is connected now
 * @param connections   front-end connections served so far
 * @param driver        the driver kind: unknown (none yet), modern or legacy
 * @param status        the virtio device status the front-end set, by name
 * @param queuesStarted rings running now
 * @param profile       what the device serves, queue count included
 * @param refusals      driver set-ups refused by the profile so far
 * @param lastRefusal   why the last one was refused, or null
 * @param args          the flags the device was created with
 */
public record DeviceInfo(String name, String type, String socketPath, String mode, boolean connected,
                         int connections, String driver, List<String> status, int queuesStarted, ProfileInfo profile,
                         long refusals, String lastRefusal, List<String> args) {}
