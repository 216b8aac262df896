package dev.shoal.runtime.gateway;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaders;

/**
 * One whole HTTP request as the REST API sees it. The body stays owned by the connection, which
 * releases it once the response is out; it is valid until the response future completes.
 *
 * @param path the decoded path, without the query
 */
record RestRequest(String method, String path, HttpHeaders headers, ByteBuf body) {}
