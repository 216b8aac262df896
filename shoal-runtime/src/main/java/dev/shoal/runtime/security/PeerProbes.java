package dev.shoal.runtime.security;

import com.google.protobuf.ByteString;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Calls an attacker on the cluster network makes on a worker's port, each answered with what came
 * of it: without a certificate, with another cluster's, with a worker's where a coordinator's is
 * needed, and captured TLS traffic ({@link RecordingProxy}) replayed. {@code PeerSecurityProcessTest}
 * asserts the outcomes; {@code shoal bench hardening} reports them beside the answers under load.
 */
public final class PeerProbes {

  private PeerProbes() {}

  /** What a call got: OK, or the gRPC status code and its description. */
  public record Outcome(Status.Code code, String detail) {
    public boolean accepted() {
      return code == Status.Code.OK;
    }

    @Override
    public String toString() {
      return code + (detail == null || detail.isEmpty() ? "" : ": " + detail);
    }
  }

  /** A heartbeat (a coordinator's call) on {@code channel}, which is shut down afterwards. */
  public static Outcome heartbeat(ManagedChannel channel) {
    CompletableFuture<Outcome> answer = new CompletableFuture<>();
    try {
      StreamObserver<HeartbeatRequest> beats = WorkerControlGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .heartbeat(new StreamObserver<>() {
            @Override
            public void onNext(HeartbeatReply reply) {
              answer.complete(new Outcome(Status.Code.OK, ""));
            }

            @Override
            public void onError(Throwable t) {
              Status s = Status.fromThrowable(t);
              answer.complete(new Outcome(s.getCode(), s.getDescription()));
            }

            @Override
            public void onCompleted() {
              answer.complete(new Outcome(Status.Code.UNKNOWN, "the worker ended the stream unanswered"));
            }
          });
      beats.onNext(HeartbeatRequest.getDefaultInstance());
      return answer.get(); // the call's deadline ends the wait
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(Status.Code.CANCELLED, "interrupted");
    } finally {
      channel.shutdownNow();
    }
  }

  /** Deploys {@code model} as stage "s0" under {@code epoch} on {@code channel}, which is shut down afterwards. */
  public static Outcome deploy(ManagedChannel channel, byte[] model, long epoch) {
    try {
      WorkerControlGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).deploy(
          DeployRequest.newBuilder().setPlanEpoch(epoch).setStageId("s0").setOnnxModel(ByteString.copyFrom(model))
              .setSha256Hex(Checksums.sha256Hex(model)).build());
      return new Outcome(Status.Code.OK, "");
    } catch (StatusRuntimeException e) {
      return new Outcome(e.getStatus().getCode(), e.getStatus().getDescription());
    } finally {
      channel.shutdownNow();
    }
  }

  /** A channel without TLS. */
  public static ManagedChannel plaintext(String address) {
    GrpcChannels.HostPort hp = GrpcChannels.HostPort.parse(address);
    return NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext().build();
  }

  /** TLS that trusts the cluster CA of {@code trusting} and expects worker {@code peer}, presenting no certificate. */
  public static ManagedChannel withoutCertificate(NodeCredentials trusting, String peer, String address) {
    GrpcChannels.HostPort hp = GrpcChannels.HostPort.parse(address);
    try {
      return NettyChannelBuilder.forAddress(hp.host(), hp.port()).overrideAuthority(peer)
          .sslContext(GrpcSslContexts.forClient().trustManager(new PeerTrustManager(trusting.ca(), peer,
              NodeRole.WORKER)).protocols(PeerSecurity.TLS_PROTOCOL).build()).build();
    } catch (SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Mutual TLS as {@code who}, expecting worker {@code peer} at {@code address}. */
  public static ManagedChannel as(NodeCredentials who, String peer, String address) {
    return GrpcChannels.client(peer, address, PeerSecurity.mutualTls(who), 1 << 20);
  }

  /**
   * Credentials of another cluster's node that trust our CA: the refusal of its certificate is then
   * the worker's, not the caller's own check.
   */
  public static NodeCredentials impostor(NodeCredentials foreign, NodeCredentials ours) {
    return new NodeCredentials(foreign.identity(), ours.ca(), foreign.certificate(), foreign.key());
  }

  /**
   * What a replay got: the captured bytes were written to a fresh connection and the worker's
   * answer read until it closed (or 5 s passed).
   *
   * @param closedByWorker the worker ended the connection (TLS refuses records made for another session)
   */
  public record Replay(int bytesSent, int bytesBack, boolean closedByWorker, double millis) {}

  /** Sends {@code captured} (a client's side of a TLS connection) to {@code address} as it was. */
  public static Replay replay(byte[] captured, String address) throws IOException {
    GrpcChannels.HostPort hp = GrpcChannels.HostPort.parse(address);
    long start = System.nanoTime();
    int sent = 0;
    int back = 0;
    boolean closed = false;
    try (Socket s = new Socket(hp.host(), hp.port())) {
      s.setSoTimeout(5_000);
      try {
        s.getOutputStream().write(captured);
        sent = captured.length;
      } catch (IOException refusedMidway) {
        // the worker closed the connection before taking all of it
      }
      byte[] buf = new byte[16 * 1024];
      InputStream in = s.getInputStream();
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          back += n;
        }
        closed = true;
      } catch (SocketTimeoutException stillOpen) {
        closed = false;
      } catch (IOException reset) {
        closed = true;
      }
    }
    return new Replay(sent, back, closed, (System.nanoTime() - start) / 1e6);
  }
}
