package dev.shoal.runtime.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

/** Signs every outgoing call with the cluster secret. */
public final class AuthClientInterceptor implements ClientInterceptor {
  static final Metadata.Key<String> HEADER =
      Metadata.Key.of("shoal-auth", Metadata.ASCII_STRING_MARSHALLER);

  private final ClusterSecret secret;

  public AuthClientInterceptor(ClusterSecret secret) {
    this.secret = secret;
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        headers.put(HEADER,
            CallSignature.sign(secret, method.getFullMethodName(), System.currentTimeMillis()));
        super.start(listener, headers);
      }
    };
  }
}
