package dev.shoal.runtime.gateway;

import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;

/**
 * API keys on the gRPC service, with the REST API's rules: {@code ModelInfer} and {@code
 * ModelMetadata} need a key ({@code authorization: Bearer <key>} metadata) when the gateway has
 * keys; the health and server-metadata calls need one only when health is keyed.
 */
final class GrpcKeyCheck implements ServerInterceptor {

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Set<String> KEYED = Set.of(
      GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName(),
      GRPCInferenceServiceGrpc.getModelMetadataMethod().getFullMethodName());

  private final GatewaySecurity security;

  GrpcKeyCheck(GatewaySecurity security) {
    this.security = security;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    boolean needsKey = !security.keys().isEmpty()
        && (security.keyedHealth() || KEYED.contains(call.getMethodDescriptor().getFullMethodName()));
    if (needsKey) {
      String header = headers.get(AUTHORIZATION);
      if (security.keys().callerOfHeader(header).isEmpty()) {
        call.close(Status.UNAUTHENTICATED.withDescription(header == null
            ? "missing API key: send the metadata 'authorization: Bearer <key>'"
            : "the API key is not valid for this gateway"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    }
    return next.startCall(call, headers);
  }
}
