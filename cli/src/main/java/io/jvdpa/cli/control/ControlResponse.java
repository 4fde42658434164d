package io.jvdpa.cli.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The answer to a {@link ControlRequest}, one line of JSON: {@code {"ok":true,"result":...}} or
 * {@code {"ok":false,"error":"no device named 'x'","kind":"not-found"}}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ControlResponse(boolean ok, JsonNode result, String error, ErrorKind kind) {
    public static ControlResponse success(JsonNode result) {
        return new ControlResponse(true, result, null, null);
    }

    public static ControlResponse failure(ErrorKind kind, String error) {
        return new ControlResponse(false, null, error, kind);
    }
}
