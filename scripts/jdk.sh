# Sourced by the scripts: sets JAVA_HOME to a JDK of version 25 or newer, or exits with a clear message.
# It tries JAVA_HOME, then every JDK under /usr/lib/jvm (JVDPA_JVM_DIR names another directory to search).
jvdpa_java_major() { # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}
jvdpa_find_jdk() {
  local candidate major jvms=${JVDPA_JVM_DIR:-/usr/lib/jvm}
  for candidate in "${JAVA_HOME:-}" "$jvms"/*; do
    [ -n "$candidate" ] || continue
    major=$(jvdpa_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "jvdpa: no JDK 25 or newer found (looked at JAVA_HOME='${JAVA_HOME:-}' and $jvms/*)." >&2
  echo "jvdpa: install one (for example Temurin 25) under $jvms or point JAVA_HOME at it." >&2
  exit 1
}
jvdpa_find_jdk
