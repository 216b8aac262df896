package dev.shoal.runtime.gateway;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderValues;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObject;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.grpc.netty.shaded.io.netty.handler.codec.http.LastHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.QueryStringDecoder;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One HTTP/1.1 connection of the REST API, on its event loop: receives a request under the body
 * limit and the read deadline, hands the whole request to the {@link HttpApi} and writes the answer
 * when its future completes; the event loop never waits on a model. One request at a time; requests
 * a client pipelines behind it wait (unread) until it is answered.
 *
 * <p>A body reserves twice its size (the bytes and their decoded tensors) in the shared {@link
 * BufferBudget} before it is read, and holds it until the response is written. A client that goes
 * away cancels its inference.
 */
final class RestConnection extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = Logger.getLogger(RestConnection.class.getName());

  /** Where the connection is between requests. */
  private enum State {
    /** no request started; the idle timeout runs */
    IDLE,
    /** bytes of a request are arriving; the read timeout runs */
    READING,
    /** the head is in, its body waits for room in the buffer budget; the connection is not read */
    WAITING_FOR_ROOM,
    /** the request was refused early (413, 400); the rest of its body is read and dropped */
    DISCARDING,
    /** the whole request is in; the API is working on it */
    ANSWERING
  }

  private final RestServer server;
  private final ArrayDeque<HttpObject> pending = new ArrayDeque<>();
  private final Runnable roomGranted = this::roomGranted;
  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private ScheduledFuture<?> timer;
  private HttpRequest head;
  private boolean keepAlive;
  private ByteBuf body;
  private long reserved;
  /** bytes asked of the budget while the body waits for room */
  private long waitingFor;
  /** body parts that arrived in the same read as their head while it waited for room */
  private ArrayDeque<HttpObject> waitingBody;
  private long discarded;
  private boolean refusalWritten;
  private boolean discardDone;
  private CompletableFuture<RestResponse> answering;

  RestConnection(RestServer server) {
    this.server = server;
  }

  /** Sits before the HTTP decoder: the first raw byte of a request starts its read deadline. */
  final class FirstBytes extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
      if (state == State.IDLE) {
        state = State.READING;
        arm(server.options().readTimeout().toMillis(), "send its request");
      }
      c.fireChannelRead(msg);
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext c) {
    this.ctx = c;
  }

  @Override
  public void channelActive(ChannelHandlerContext c) {
    arm(server.options().idleTimeout().toMillis(), "start a request");
    c.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext c, Object msg) {
    if (!(msg instanceof HttpObject http)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    pending.add(http);
    drain();
  }

  /** Handles what has arrived, stopping at a request that must wait for the one before it. */
  private void drain() {
    while (!pending.isEmpty()) {
      HttpObject next = pending.peek();
      if (next instanceof HttpRequest && head != null) {
        ctx.channel().config().setAutoRead(false);
        return;
      }
      pending.poll();
      if (next instanceof HttpRequest request) {
        startRequest(request);
      }
      if (next instanceof HttpContent content) {
        bodyPart(content);
      }
    }
  }

  private void startRequest(HttpRequest request) {
    head = request;
    keepAlive = HttpUtil.isKeepAlive(request);
    if (state == State.IDLE) { // the head came in one read with the previous request's end
      state = State.READING;
      arm(server.options().readTimeout().toMillis(), "send its request");
    }
    if (request.decoderResult().isFailure()) {
      Throwable why = request.decoderResult().cause();
      refuse(RestResponse.error(400, "bad HTTP request: " + (why.getMessage() == null ? why : why.getMessage())));
      discardDone = true; // the decoder is out of step with the stream: nothing more can be read from it
      return;
    }
    long max = server.options().maxRequestBytes();
    long declared;
    try {
      declared = HttpUtil.getContentLength(request, -1L);
    } catch (NumberFormatException e) {
      refuse(RestResponse.error(400, "bad Content-Length header '" + request.headers().get(HttpHeaderNames.CONTENT_LENGTH)
          + "'"));
      discardDone = true;
      return;
    }
    boolean chunked = HttpUtil.isTransferEncodingChunked(request);
    if (declared > max) {
      refuse(RestResponse.error(413, tooLarge(declared + " bytes")));
      return;
    }
    if (declared <= 0 && !chunked) {
      body = Unpooled.EMPTY_BUFFER;
      return;
    }
    long need = 2 * (chunked ? max : declared);
    if (server.budget().reserveOrWait(need, roomGranted)) {
      reserved = need;
      openBody(declared);
    } else {
      waitingFor = need;
      state = State.WAITING_FOR_ROOM;
      ctx.channel().config().setAutoRead(false);
      arm(server.options().requestTimeout().toMillis(), "be given room for its body");
    }
  }

  private void roomGranted() {
    ctx.executor().execute(() -> {
      if (state != State.WAITING_FOR_ROOM || !ctx.channel().isActive()) {
        server.budget().release(waitingFor); // the wait was given up while the room was granted
        return;
      }
      reserved = waitingFor;
      state = State.READING;
      arm(server.options().readTimeout().toMillis(), "send its request");
      openBody(HttpUtil.getContentLength(head, -1L));
      ctx.channel().config().setAutoRead(true);
      ArrayDeque<HttpObject> early = new ArrayDeque<>(pending);
      pending.clear();
      if (waitingBody != null) {
        pending.addAll(waitingBody);
        waitingBody = null;
      }
      pending.addAll(early);
      drain();
    });
  }

  private void openBody(long declared) {
    int initial = (int) Math.min(declared > 0 ? declared : 64 * 1024, server.options().maxRequestBytes());
    body = ctx.alloc().directBuffer(initial, (int) server.options().maxRequestBytes());
    if (HttpUtil.is100ContinueExpected(head)) {
      ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
    }
  }

  private void bodyPart(HttpContent content) {
    try {
      switch (state) {
        case WAITING_FOR_ROOM -> {
          if (waitingBody == null) {
            waitingBody = new ArrayDeque<>();
          }
          waitingBody.add(content.retain());
          return;
        }
        case DISCARDING -> {
          discarded += content.content().readableBytes();
          if (content instanceof LastHttpContent || discarded > 2 * server.options().maxRequestBytes()) {
            discardDone = true;
            closeIfRefusalDone();
          }
          return;
        }
        case IDLE, ANSWERING -> {
          return; // the decoder's empty end marker after a request already refused and answered
        }
        case READING -> {
          ByteBuf part = content.content();
          long max = server.options().maxRequestBytes();
          if (body.readableBytes() + (long) part.readableBytes() > max) {
            discarded = body.readableBytes() + (long) part.readableBytes();
            refuse(RestResponse.error(413, tooLarge("more than " + max + " bytes")));
            if (content instanceof LastHttpContent) {
              discardDone = true;
              closeIfRefusalDone();
            }
            return;
          }
          body.writeBytes(part);
          if (content instanceof LastHttpContent) {
            answer();
          }
        }
      }
    } finally {
      content.release();
    }
  }

  private String tooLarge(String size) {
    return "request body of " + size + " exceeds the limit of " + server.options().maxRequestBytes() + " bytes";
  }

  private void answer() {
    cancelTimer();
    state = State.ANSWERING;
    RestRequest request = new RestRequest(head.method().name(), new QueryStringDecoder(head.uri()).path(),
        head.headers(), body);
    CompletableFuture<RestResponse> future;
    try {
      future = server.api().handle(request);
    } catch (RuntimeException e) {
      future = CompletableFuture.completedFuture(HttpApi.failure(request, e));
    }
    answering = future;
    future.whenComplete((response, failure) -> {
      RestResponse r = failure == null ? response : HttpApi.failure(request, failure);
      if (ctx.executor().inEventLoop()) {
        write(r);
      } else {
        ctx.executor().execute(() -> write(r));
      }
    });
  }

  private void write(RestResponse r) {
    if (!ctx.channel().isActive()) {
      r.body().release();
      return;
    }
    ctx.writeAndFlush(http(r, keepAlive)).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess() || !keepAlive) {
        ctx.close();
        return;
      }
      finishRequest();
    });
  }

  /** Answers a request before its body is read, then drops the rest of the body and closes. */
  private void refuse(RestResponse r) {
    state = State.DISCARDING;
    releaseBody();
    ctx.writeAndFlush(http(r, false)).addListener((ChannelFutureListener) f -> {
      refusalWritten = true;
      closeIfRefusalDone();
    });
  }

  private void closeIfRefusalDone() {
    if (refusalWritten && discardDone) {
      ctx.close();
    }
  }

  private static FullHttpResponse http(RestResponse r, boolean keepAlive) {
    FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(r.status()), r.body());
    out.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().readableBytes());
    r.headers().forEach((k, v) -> out.headers().set(k, v));
    out.headers().set(HttpHeaderNames.SERVER, Gateway.SERVER_NAME);
    if (!keepAlive) {
      out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return out;
  }

  /** The answer is out and the connection stays: ready for the next request. */
  private void finishRequest() {
    releaseBody();
    head = null;
    answering = null;
    state = State.IDLE;
    arm(server.options().idleTimeout().toMillis(), "start a request");
    ctx.channel().config().setAutoRead(true);
    drain();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
    if (reserved > 0) {
      server.budget().release(reserved);
      reserved = 0;
    }
  }

  private void arm(long millis, String what) {
    cancelTimer();
    timer = ctx.executor().schedule(() -> {
      if (state == State.WAITING_FOR_ROOM && ctx.channel().isActive()) {
        abandonWait();
        refuse(RestResponse.error(503, "the gateway is busy with other large requests; try again"));
        discardDone = true;
        return;
      }
      LOG.log(Level.FINE, "closing {0}: it did not {1} within {2} ms", new Object[] {ctx.channel(), what, millis});
      ctx.close();
    }, millis, TimeUnit.MILLISECONDS);
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** Gives up a queued wait for room; if the room was granted meanwhile, gives it back. */
  private void abandonWait() {
    // if the room was granted concurrently, roomGranted() sees the state changed and gives it back
    server.budget().cancel(roomGranted);
    state = State.DISCARDING;
    if (waitingBody != null) {
      waitingBody.forEach(ReferenceCountUtil::release);
      waitingBody = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext c) {
    cancelTimer();
    if (answering != null) {
      answering.cancel(true); // the client went away: stop its inference
    }
    if (state == State.WAITING_FOR_ROOM) {
      abandonWait();
    }
    releaseBody();
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    c.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
    LOG.log(Level.FINE, "connection " + c.channel() + " failed", cause);
    c.close();
  }
}
