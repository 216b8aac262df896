package dev.shoal.runtime.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Refuses every call that does not carry a valid signature made with the cluster secret: missing,
 * malformed, signed with another key, older than {@link #MAX_SKEW_MILLIS} or already seen (a
 * replayed header) all end with UNAUTHENTICATED before any service code runs.
 */
public final class AuthServerInterceptor implements ServerInterceptor {
  /** Allowed clock difference between cluster hosts; signatures are remembered this long. */
  static final long MAX_SKEW_MILLIS = 120_000;

  private final ClusterSecret secret;
  private final Map<String, Long> seenNonces = new ConcurrentHashMap<>();
  private volatile long lastPurge;

  public AuthServerInterceptor(ClusterSecret secret) {
    this.secret = secret;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String refusal = check(call.getMethodDescriptor().getFullMethodName(),
        headers.get(AuthClientInterceptor.HEADER), System.currentTimeMillis());
    if (refusal != null) {
      call.close(Status.UNAUTHENTICATED.withDescription(refusal), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }

  private String check(String method, String header, long now) {
    if (header == null) {
      return "missing shoal-auth credentials for " + method;
    }
    CallSignature.Parsed p = CallSignature.parse(header);
    if (p == null) {
      return "malformed shoal-auth credentials for " + method;
    }
    if (Math.abs(now - p.millis()) > MAX_SKEW_MILLIS) {
      return "shoal-auth signature expired or from the future (clock skew > "
          + MAX_SKEW_MILLIS / 1000 + " s) for " + method;
    }
    if (!CallSignature.verify(secret, method, p)) {
      return "shoal-auth signature does not match this cluster's secret for " + method;
    }
    purgeOld(now);
    if (seenNonces.putIfAbsent(p.nonce(), p.millis()) != null) {
      return "replayed shoal-auth signature for " + method;
    }
    return null;
  }

  private void purgeOld(long now) {
    if (now - lastPurge < MAX_SKEW_MILLIS) {
      return;
    }
    lastPurge = now;
    for (Iterator<Long> it = seenNonces.values().iterator(); it.hasNext(); ) {
      if (now - it.next() > 2 * MAX_SKEW_MILLIS) {
        it.remove();
      }
    }
  }
}
