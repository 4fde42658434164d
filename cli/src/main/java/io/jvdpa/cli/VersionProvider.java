package io.jvdpa.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("/jvdpa-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        return new String[] {"jvdpa " + p.getProperty("version", "unknown"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
}
