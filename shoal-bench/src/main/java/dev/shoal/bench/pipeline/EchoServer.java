package dev.shoal.bench.pipeline;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;

/**
 * The transport baseline: a plain gRPC bidirectional stream that echoes raw bytes (no protobuf
 * message, no signature, no checksum, no codec), run as its own process like a worker. Prints
 * {@code echo listening on HOST:PORT}. Calls run on the transport thread ({@code directExecutor}):
 * the fastest gRPC-java can echo, without a hand-off to an executor thread and back.
 */
public final class EchoServer {
  static final MethodDescriptor<byte[], byte[]> ECHO = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("shoal.bench.Echo/Echo")
      .setRequestMarshaller(BytesMarshaller.INSTANCE)
      .setResponseMarshaller(BytesMarshaller.INSTANCE)
      .build();

  private EchoServer() {}

  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, 0))
        .maxInboundMessageSize(64 << 20)
        .directExecutor()
        .addService(ServerServiceDefinition.builder("shoal.bench.Echo")
            .addMethod(ECHO, ServerCalls.asyncBidiStreamingCall(EchoServer::echo))
            .build())
        .build()
        .start();
    System.out.println("echo listening on " + host + ":" + server.getPort() + " ");
    System.out.flush();
    server.awaitTermination();
  }

  private static StreamObserver<byte[]> echo(StreamObserver<byte[]> out) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {
        out.onNext(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        out.onCompleted();
      }
    };
  }

  /** byte[] as the message itself. */
  enum BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
