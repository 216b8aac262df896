package dev.shoal.runtime.gateway;

import com.google.protobuf.MessageLite;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Puts gRPC inference messages inside the gateway's {@link BufferBudget}, the one REST bodies
 * share, so a burst of large messages on either API queues instead of exhausting the heap.
 *
 * <p>A gRPC message's size is known only once it has arrived, so a {@code ModelInfer} call asks
 * for its message (and HTTP/2 flow control lets the client send more than a window) only once
 * room for the worst case is reserved: twice the largest message, for the message and its
 * decoded tensors, as REST reserves twice a body of unknown length. When the message arrives the
 * reservation shrinks to what it can cost (its size plus its decoded tensors, at most 8 bytes per
 * message byte and at most the request limit), and the rest goes back when the call ends. A call
 * whose message has not arrived within the read timeout is ended with DEADLINE_EXCEEDED, as a
 * slow REST client is disconnected.
 */
final class GrpcBodyBudget implements ServerInterceptor {

  private static final String MODEL_INFER = GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName();

  private final BufferBudget budget;
  private final GatewayOptions options;
  private final ScheduledExecutorService timer;

  GrpcBodyBudget(BufferBudget budget, GatewayOptions options, ScheduledExecutorService timer) {
    this.budget = budget;
    this.options = options;
    this.timer = timer;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    if (!call.getMethodDescriptor().getFullMethodName().equals(MODEL_INFER)) {
      return next.startCall(call, headers);
    }
    Budgeted<Q, R> budgeted = new Budgeted<>(call);
    ServerCall.Listener<Q> listener = next.startCall(budgeted, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        budgeted.arrived(message instanceof MessageLite m ? m.getSerializedSize() : options.maxRequestBytes());
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        budgeted.end();
        super.onCancel();
      }

      @Override
      public void onComplete() {
        budgeted.end();
        super.onComplete();
      }
    };
  }

  /** A call whose message requests wait for room in the budget; what it holds goes back at its end. */
  private final class Budgeted<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final long worstCase = 2 * options.maxRequestBytes();
    private final Runnable granted = this::granted;
    /** Bytes this call holds in the budget. */
    private long held;
    private boolean waiting;
    private boolean ended;
    private boolean closed;
    private int requested;
    private ScheduledFuture<?> arrival;

    Budgeted(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public void request(int messages) {
      synchronized (this) {
        if (ended) {
          return;
        }
        if (held == 0) {
          requested += messages;
          if (waiting) {
            return;
          }
          if (!budget.reserveOrWait(worstCase, granted)) {
            waiting = true;
            arrival = timer.schedule(this::notArrived, options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return;
          }
          held = worstCase;
          arrival = timer.schedule(this::notArrived, options.readTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
      }
      super.request(messages);
    }

    private void granted() {
      int messages;
      synchronized (this) {
        if (ended) {
          budget.release(worstCase); // the call ended while its room was being granted
          return;
        }
        waiting = false;
        held = worstCase;
        messages = requested;
        arrival.cancel(false);
        arrival = timer.schedule(this::notArrived, options.readTimeout().toMillis(), TimeUnit.MILLISECONDS);
      }
      super.request(messages);
    }

    synchronized void arrived(long messageBytes) {
      if (arrival != null) {
        arrival.cancel(false);
      }
      long keep = Math.min(held, messageBytes + Math.min(options.maxRequestBytes(), 8 * messageBytes));
      budget.release(held - keep);
      held = keep;
    }

    private void notArrived() {
      boolean wasWaiting;
      synchronized (this) {
        if (ended) {
          return;
        }
        wasWaiting = waiting;
      }
      close(Status.DEADLINE_EXCEEDED.withDescription(wasWaiting
          ? "no room for the request within " + options.requestTimeout().toMillis() + " ms (the gateway is busy)"
          : "the request message did not arrive within " + options.readTimeout().toMillis() + " ms"), new Metadata());
    }

    /** The answer (or the timeout's refusal), once: what the call holds goes back as it is sent. */
    @Override
    public void close(Status status, Metadata trailers) {
      synchronized (this) {
        if (closed) {
          return; // the timeout closed the call as its message arrived
        }
        closed = true;
      }
      try {
        super.close(status, trailers);
      } finally {
        end();
      }
    }

    /** Gives back what the call holds, or its place in the queue; once. */
    void end() {
      long release;
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
        if (arrival != null) {
          arrival.cancel(false);
        }
        if (waiting && budget.cancel(granted)) {
          waiting = false;
        }
        release = held;
        held = 0;
      }
      budget.release(release);
    }
  }
}
