package dev.shoal.runtime.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.lang.management.ManagementFactory;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The identity a coordinator process holds its worker leases under: a random session id (two
 * {@code shoal serve} sharing one certificate are still two owners) and a description of the
 * holder that a refused coordinator is shown. Every call on a coordinator's channels carries them
 * ({@link #interceptor}); a worker's {@link WorkerLease} grants, renews or refuses on them.
 */
public final class CoordinatorSession {
  static final Metadata.Key<String> SESSION =
      Metadata.Key.of("shoal-lease-session", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> HOLDER =
      Metadata.Key.of("shoal-lease-holder", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> TAKE_OVER =
      Metadata.Key.of("shoal-take-over", Metadata.ASCII_STRING_MARSHALLER);

  private final String id;
  private final String holder;
  private final boolean takeOver;

  CoordinatorSession(String nodeName, boolean takeOver) {
    byte[] random = new byte[8];
    new SecureRandom().nextBytes(random);
    this.id = HexFormat.of().formatHex(random);
    // RuntimeMXBean's name is "pid@host"
    this.holder = "coordinator '" + nodeName + "' (" + ManagementFactory.getRuntimeMXBean().getName()
        + ", session " + id + ")";
    this.takeOver = takeOver;
  }

  public String id() {
    return id;
  }

  /** How workers name this coordinator when they refuse another one. */
  public String holder() {
    return holder;
  }

  /**
   * Attaches the session to every call of one channel. With take-over, the channel's calls ask to
   * take the worker's lease until one succeeds; after that the lease is ours and renewed as usual,
   * so two coordinators started with take-over do not take a worker back and forth.
   */
  public ClientInterceptor interceptor() {
    return new ClientInterceptor() {
      private volatile boolean takeOverPending = takeOver;

      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(SESSION, id);
            headers.put(HOLDER, holder);
            if (takeOverPending) {
              headers.put(TAKE_OVER, "1");
            }
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onHeaders(Metadata h) {
                // the worker accepted the call, so the lease is ours
                takeOverPending = false;
                super.onHeaders(h);
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                if (status.isOk()) {
                  takeOverPending = false;
                }
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }
}
