package dev.shoal.runtime.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authorises each call on a worker's control plane by the caller's role, read from the
 * certificate it presented in the TLS handshake (the handshake itself already refused anything not
 * signed by the cluster CA): only a coordinator may call {@code WorkerControl} (deploy, heartbeat,
 * drain, status, release); a worker may only push frames, on the data port ({@code
 * wire.DataServer}, which reads the caller's role the same way, {@link #fromTls}). So a worker's
 * certificate cannot deploy to another worker. The caller's identity is put in the call's
 * {@link #PEER} context for the lease check and the services.
 */
public final class PeerAuthorization implements ServerInterceptor {
  public static final Context.Key<PeerIdentity> PEER = Context.key("shoal-peer");

  private final PeerSecurity security;

  public PeerAuthorization(PeerSecurity security) {
    this.security = security;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    PeerIdentity peer;
    try {
      peer = security.tls() ? fromTls(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))
          : plaintextPeer(headers.containsKey(CoordinatorSession.SESSION));
    } catch (IllegalArgumentException e) {
      return refuse(call, Status.UNAUTHENTICATED, e.getMessage() + " (" + method + ")");
    }
    if (peer.role() != NodeRole.COORDINATOR) {
      return refuse(call, Status.PERMISSION_DENIED, peer + " may only push frames, on the data port; " + method
          + " needs a coordinator certificate");
    }
    return Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers, next);
  }

  /**
   * The identity of the peer at the other end of a TLS session, from its certificate.
   *
   * @throws IllegalArgumentException when there is no session, no certificate, or it names no node
   */
  public static PeerIdentity fromTls(SSLSession session) {
    if (session == null) {
      throw new IllegalArgumentException("no TLS session");
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return PeerIdentity.of((X509Certificate) chain[0]);
    } catch (SSLPeerUnverifiedException e) {
      throw new IllegalArgumentException("the caller presented no certificate");
    }
  }

  /** Without TLS nothing is authenticated: a caller holding a lease session counts as a coordinator. */
  public static PeerIdentity plaintextPeer(boolean hasLeaseSession) {
    return hasLeaseSession
        ? new PeerIdentity("unauthenticated-coordinator", NodeRole.COORDINATOR)
        : new PeerIdentity("unauthenticated-worker", NodeRole.WORKER);
  }

  static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status, String why) {
    call.close(status.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
