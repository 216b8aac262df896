package dev.shoal.runtime.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * A worker serves one coordinator at a time, under a lease: the first coordinator to call takes
 * it, every call it makes and every message on a stream it sends (heartbeats every 500 ms) renews
 * it for {@link #LEASE_MILLIS}, and it lapses after that long without one (6 missed heartbeats)
 * or when the holder releases it on shutdown. Meanwhile any other coordinator is refused with
 * FAILED_PRECONDITION naming the holder and when the lease ends, unless it asks to take over
 * ({@code shoal serve --take-over}). When the holder changes, the former holder's stage is
 * dropped ({@code holderChanged}), so epochs only need to grow within one lease: nobody can push a
 * later coordinator out with a huge epoch. Runs after {@link PeerAuthorization}; calls from
 * workers pass untouched. A coordinator's data connections ask through {@link #claimForData}.
 */
public final class WorkerLease implements ServerInterceptor {
  private static final Logger LOG = Logger.getLogger(WorkerLease.class.getName());
  public static final long LEASE_MILLIS = 3_000;
  /** The lease session of the coordinator making the current call, for the services. */
  public static final Context.Key<String> SESSION = Context.key("shoal-lease-session");

  private record Holder(String session, String description, long expiresMillis) {}

  private final String workerName;
  private final Runnable holderChanged;
  private Holder holder;

  /**
   * @param holderChanged runs (on the calling thread, before the new holder's call proceeds) when
   *     the lease passes to another coordinator or is released
   */
  public WorkerLease(String workerName, Runnable holderChanged) {
    this.workerName = workerName;
    this.holderChanged = holderChanged;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    PeerIdentity peer = PeerAuthorization.PEER.get();
    if (peer == null || peer.role() != NodeRole.COORDINATOR) {
      return next.startCall(call, headers);
    }
    String session = headers.get(CoordinatorSession.SESSION);
    if (session == null || session.isEmpty()) {
      return PeerAuthorization.refuse(call, Status.UNAUTHENTICATED, peer + " sent no lease session");
    }
    String description = headers.get(CoordinatorSession.HOLDER);
    String refusal = admit(session, description == null ? peer.toString() : description,
        headers.containsKey(CoordinatorSession.TAKE_OVER));
    if (refusal != null) {
      return PeerAuthorization.refuse(call, Status.FAILED_PRECONDITION, refusal);
    }
    ServerCall.Listener<Q> listener =
        Contexts.interceptCall(Context.current().withValue(SESSION, session), call, headers, next);
    if (call.getMethodDescriptor().getType().clientSendsOneMessage()) {
      return listener;
    }
    // A stream outlives its admission: each message renews the lease, or ends the stream once
    // another coordinator has taken the worker over.
    String who = description == null ? peer.toString() : description;
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) {
          return;
        }
        String refusal = admit(session, who, false);
        if (refusal != null) {
          refused = true;
          call.close(Status.FAILED_PRECONDITION.withDescription(refusal), new Metadata());
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) { // the call is closed already: nothing may answer on it
          super.onHalfClose();
        }
      }
    };
  }

  private record Claim(String refusal, boolean changed) {}

  private synchronized Claim claim(String session, String description, boolean takeOver, long now) {
    Holder h = holder;
    boolean ours = h != null && h.session().equals(session);
    if (h != null && !ours && now < h.expiresMillis() && !takeOver) {
      return new Claim("worker " + workerName + " is leased to " + h.description() + " until "
          + Instant.ofEpochMilli(h.expiresMillis()) + " (renewed by its heartbeats); stop it, or start "
          + "`shoal serve --take-over` to take the worker over", false);
    }
    if (h != null && !ours) {
      LOG.warning("worker " + workerName + ": " + (now < h.expiresMillis() ? "taken over from " + h.description()
          : "lease of " + h.description() + " expired") + "; now leased to " + description);
    } else if (h == null) {
      LOG.info("worker " + workerName + ": leased to " + description);
    }
    holder = new Holder(session, description, now + LEASE_MILLIS);
    return new Claim(null, h != null && !ours);
  }

  /**
   * A coordinator's data connection ({@code wire.DataServer}) asks for the lease as a call does: it
   * takes or renews it unless another coordinator holds it (never taking it over).
   *
   * @return why it is refused, or null
   */
  public String claimForData(String session, String description) {
    if (session.isEmpty()) {
      return "a coordinator's data connection without a lease session";
    }
    return admit(session, description, false);
  }

  /** Takes or renews the lease for {@code session}; drops the former holder's stages if it changed. */
  private String admit(String session, String description, boolean takeOver) {
    Claim claim = claim(session, description, takeOver, System.currentTimeMillis());
    if (claim.changed()) {
      holderChanged.run();
    }
    return claim.refusal();
  }

  /** True while {@code session} holds the lease. */
  public synchronized boolean heldBy(String session) {
    return holder != null && holder.session().equals(session) && System.currentTimeMillis() < holder.expiresMillis();
  }

  /** Ends the lease if {@code session} holds it (a coordinator shutting down); returns whether it did. */
  public boolean release(String session) {
    synchronized (this) {
      if (holder == null || !holder.session().equals(session)) {
        return false;
      }
      LOG.info("worker " + workerName + ": released by " + holder.description());
      holder = null;
    }
    holderChanged.run();
    return true;
  }

  /** For status: who holds the lease and until when, or that nobody does. */
  public synchronized String describe() {
    long now = System.currentTimeMillis();
    if (holder == null || now >= holder.expiresMillis()) {
      return "not leased";
    }
    return "leased to " + holder.description() + " until " + Instant.ofEpochMilli(holder.expiresMillis());
  }
}
