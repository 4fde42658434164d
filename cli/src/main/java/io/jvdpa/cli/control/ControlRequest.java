package io.jvdpa.cli.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One request on the control socket, as one line of JSON: {@code {"command":"add","name":"net1","type":"net",
 * "args":["--socket-path","/run/jvdpa/net1.sock"]}}.
 *
 * @param command list, show, add, del, config or stats
 * @param name    the device, for every command but list
 * @param type    net or blk, for add
 * @param args    the device's flags, for add: exactly what {@code jvdpa net} or {@code jvdpa blk} takes
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ControlRequest(String command, String name, String type, List<String> args) {
    public static ControlRequest of(String command, String name) {
        return new ControlRequest(command, name, null, null);
    }
}
