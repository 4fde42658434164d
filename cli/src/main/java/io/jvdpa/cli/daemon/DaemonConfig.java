package io.jvdpa.cli.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's config file (YAML): an optional control socket and the devices, each with a name, a type and
 * the flags {@code jvdpa TYPE} takes, written without their dashes:
 * <pre>
 * control-socket: /run/jvdpa/control.sock
 * devices:
 *   - name: net0
 *     type: net
 *     socket-path: /run/jvdpa/net0.sock
 *     network: gateway
 *   - name: disk0
 *     type: blk
 *     socket-path: /run/jvdpa/disk0.sock
 *     image: /var/lib/jvdpa/disk0.img
 *     read-only: true
 * </pre>
 * A switch is on with {@code true}; a list value repeats its flag.
 *
 * @param controlSocket the control socket's path, or null for the default
 */
public record DaemonConfig(Path controlSocket, List<Entry> devices) {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> TOP_LEVEL = Set.of("control-socket", "devices");

    /** One device: what {@code jvdpa dev add NAME TYPE ARGS...} would say. */
    public record Entry(String name, String type, List<String> args) {}

    /** A config file that cannot be used; the message names the file and what is wrong. */
    public static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        ConfigException(String message) {
            super(message);
        }
    }

    public static DaemonConfig load(Path file, DeviceTypes types) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e);
        }
        return parse(text, file.toString(), types);
    }

    static DaemonConfig parse(String text, String source, DeviceTypes types) throws ConfigException {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            var where = e.getLocation();
            throw new ConfigException(source + (where != null ? ":" + where.getLineNr() : "") + ": not valid YAML: "
                    + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException(source + ": empty; it needs a 'devices' list");
        }
        if (!root.isObject()) {
            throw new ConfigException(source + ": expected a mapping with 'devices' at the top");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!TOP_LEVEL.contains(key)) {
                throw new ConfigException(source + ": unknown top-level key '" + key + "' (control-socket, devices)");
            }
        }
        Path control = null;
        JsonNode c = root.get("control-socket");
        if (c != null && !c.isNull()) {
            if (!c.isTextual() || c.asText().isBlank()) {
                throw new ConfigException(source + ": control-socket must be a path");
            }
            control = Path.of(c.asText());
        }
        JsonNode devs = root.get("devices");
        List<Entry> entries = new ArrayList<>();
        if (devs != null && !devs.isNull()) {
            if (!devs.isArray()) {
                throw new ConfigException(source + ": 'devices' must be a list of devices");
            }
            for (int i = 0; i < devs.size(); i++) {
                entries.add(entry(devs.get(i), source + ": device " + (i + 1), types));
            }
        }
        List<String> names = entries.stream().map(Entry::name).toList();
        for (String n : names) {
            if (names.indexOf(n) != names.lastIndexOf(n)) {
                throw new ConfigException(source + ": two devices are named '" + n + "'");
            }
        }
        return new DaemonConfig(control, entries);
    }

    private static Entry entry(JsonNode node, String where, DeviceTypes types) throws ConfigException {
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping (name, type and flags)");
        }
        String name = text(node, "name", where);
        where = where + " (" + name + ")";
        String type = text(node, "type", where);
        DeviceFactory factory = types.get(type).orElseThrow(() -> new ConfigException(
                "unknown device type '" + type + "' (one of " + String.join(", ", types.names()) + ")"));
        List<String> args = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String key = f.getKey();
            if (key.equals("name") || key.equals("type")) {
                continue;
            }
            String flag = "--" + key;
            JsonNode v = f.getValue();
            if (v.isArray()) {
                for (JsonNode item : v) {
                    args.add(flag + "=" + scalar(item, where, key));
                }
            } else if (v.isBoolean() && factory.isSwitch(flag)) {
                if (v.booleanValue()) {
                    args.add(flag);
                }
            } else {
                args.add(flag + "=" + scalar(v, where, key));
            }
        }
        return new Entry(name, type, args);
    }

    private static String text(JsonNode node, String key, String where) throws ConfigException {
        JsonNode v = node.get(key);
        if (v == null || !v.isValueNode() || v.isNull() || v.asText().isBlank()) {
            throw new ConfigException(where + ": '" + key + "' is missing");
        }
        return v.asText();
    }

    /** A flag's value as the command line would carry it; YAML's true/false are the flags' on/off. */
    private static String scalar(JsonNode v, String where, String key) throws ConfigException {
        if (v.isBoolean()) {
            return v.booleanValue() ? "on" : "off";
        }
        if (!v.isValueNode() || v.isNull()) {
            throw new ConfigException(where + ": '" + key + "' must be a single value or a list of values");
        }
        return v.asText();
    }
}
