package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.ReleaseRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A coordinator shutting down hands its workers back, so the next coordinator need not wait for the leases to lapse. */
public final class WorkerLeases {
  private static final long RELEASE_DEADLINE_MILLIS = 1_000;

  private WorkerLeases() {}

  /** Releases this coordinator's lease on each worker that answers within a second; returns how many it held. */
  public static int release(List<WorkerEndpoint> workers, PeerSecurity security) {
    int released = 0;
    for (WorkerEndpoint w : workers) {
      ManagedChannel ch = GrpcChannels.client(w.name(), w.address(), security, 1 << 20);
      try {
        if (WorkerControlGrpc.newBlockingStub(ch).withDeadlineAfter(RELEASE_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
            .release(ReleaseRequest.getDefaultInstance()).getReleased()) {
          released++;
        }
      } catch (StatusRuntimeException e) {
        // down or leased to another coordinator: nothing of ours to release
      } finally {
        ch.shutdownNow();
      }
    }
    return released;
  }
}
