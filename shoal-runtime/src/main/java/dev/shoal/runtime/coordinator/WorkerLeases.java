package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.ReleaseRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A coordinator shutting down hands its workers back, so the next coordinator need not wait for the leases to lapse. */
public final class WorkerLeases {
  /** Room for a fresh TLS handshake on a busy host. */
  private static final long RELEASE_DEADLINE_MILLIS = 5_000;

  private WorkerLeases() {}

  /** Releases this coordinator's lease on every worker at once; returns how many it held (those that answered in time). */
  public static int release(List<WorkerEndpoint> workers, PeerSecurity security) {
    List<CompletableFuture<Boolean>> calls = workers.stream()
        .map(w -> CompletableFuture.supplyAsync(() -> releaseOne(w, security))).toList();
    return (int) calls.stream().filter(CompletableFuture::join).count();
  }

  private static boolean releaseOne(WorkerEndpoint w, PeerSecurity security) {
    ManagedChannel ch = GrpcChannels.client(w.name(), w.address(), security, 1 << 20);
    try {
      return WorkerControlGrpc.newBlockingStub(ch).withDeadlineAfter(RELEASE_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .release(ReleaseRequest.getDefaultInstance()).getReleased();
    } catch (StatusRuntimeException e) {
      return false; // down, or leased to another coordinator: nothing of ours to release
    } finally {
      ch.shutdownNow();
    }
  }
}
