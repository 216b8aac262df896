package dev.shoal.bench.dataplane;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The floor under any multi-process pipeline, one stage of it: a bare process that runs one stage's
 * ONNX Runtime session and nothing else. It reads its inputs from one upstream socket into direct
 * buffers that ONNX Runtime reads in place, has ONNX Runtime write the outputs into direct buffers
 * of its own, and writes those to the next stage's socket: blocking sockets, plaintext, no
 * framing beyond a length per tensor, no checksums, no event loop, no control plane. What a
 * request still pays through a chain of these is what separate processes cost on this host (the
 * kernel's copies and wake-ups, scheduling, caches), not any runtime's.
 *
 * <p>Arguments: the stage's ONNX file, the next hop's HOST:PORT (dialled first), and the names
 * of the outputs to send, in the order the next hop reads them. A message is, per tensor in that
 * order, a 4-byte big-endian length and the tensor's bytes (native order). Prints {@code listening
 * on HOST:PORT } once it listens for its one upstream connection. A request is one sample: a
 * dynamic dimension is taken as 1.
 */
public final class BareStage {

  private BareStage() {}

  public static void main(String[] args) throws IOException, OrtException {
    if (args.length != 3) {
      throw new IllegalArgumentException("usage: BareStage MODEL.onnx NEXT_HOST:PORT OUTPUT[,OUTPUT...]");
    }
    HostPort next = HostPort.parse(args[1]);
    List<String> send = List.of(args[2].split(","));
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = OnnxSession.sessionOptions(OnnxSession.Options.DEFAULT);
        OrtSession session = env.createSession(Files.readAllBytes(Path.of(args[0])), so);
        SocketChannel down = SocketChannel.open(new InetSocketAddress(next.host(), next.port()));
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
      down.socket().setTcpNoDelay(true);
      Map<String, Slot> inputs = slots(env, session.getInputInfo(), List.copyOf(session.getInputNames()));
      Map<String, Slot> outputs = slots(env, session.getOutputInfo(), send);
      System.out.println("listening on 127.0.0.1:" + server.socket().getLocalPort() + " ");
      System.out.flush();
      try (SocketChannel up = server.accept()) {
        up.socket().setTcpNoDelay(true);
        serve(session, up, down, inputs, outputs);
      }
    }
  }

  /** A tensor's direct buffer and the ONNX Runtime tensor over it, reused for every request. */
  private record Slot(ByteBuffer bytes, OnnxTensor tensor) {}

  private static Map<String, Slot> slots(OrtEnvironment env, Map<String, NodeInfo> info, List<String> names)
      throws OrtException {
    Map<String, Slot> out = new LinkedHashMap<>();
    for (String name : names) {
      if (!(info.get(name) != null && info.get(name).getInfo() instanceof TensorInfo t)) {
        throw new IllegalArgumentException("the stage has no tensor named '" + name + "'");
      }
      long[] shape = t.getShape().clone();
      long elements = 1;
      for (int i = 0; i < shape.length; i++) {
        shape[i] = shape[i] < 0 ? 1 : shape[i]; // one sample
        elements *= shape[i];
      }
      ByteBuffer bytes = ByteBuffer.allocateDirect(Math.toIntExact(elements * t.type.size)).order(ByteOrder.nativeOrder());
      out.put(name, new Slot(bytes, OnnxTensor.createTensor(env, bytes, shape, t.type)));
    }
    return out;
  }

  private static void serve(OrtSession session, SocketChannel up, SocketChannel down, Map<String, Slot> inputs,
      Map<String, Slot> outputs) throws IOException, OrtException {
    ByteBuffer length = ByteBuffer.allocateDirect(4);
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    inputs.forEach((name, slot) -> feeds.put(name, slot.tensor()));
    Map<String, OnnxValue> pinned = new LinkedHashMap<>();
    outputs.forEach((name, slot) -> pinned.put(name, slot.tensor()));
    List<ByteBuffer> message = new ArrayList<>();
    while (true) {
      for (Map.Entry<String, Slot> in : inputs.entrySet()) {
        length.clear();
        if (!readFully(up, length)) {
          return; // upstream closed: the benchmark is over
        }
        int n = length.getInt(0);
        ByteBuffer b = in.getValue().bytes();
        if (n != b.capacity()) {
          throw new IOException("input '" + in.getKey() + "': " + n + " bytes, expected " + b.capacity());
        }
        b.clear();
        if (!readFully(up, b)) {
          throw new EOFException("upstream closed inside input '" + in.getKey() + "'");
        }
      }
      try (OrtSession.Result ignored = session.run(feeds, pinned)) {
        message.clear();
        for (Slot out : outputs.values()) {
          message.add(length(out.bytes().capacity()));
          message.add(out.bytes().clear());
        }
        writeFully(down, message.toArray(ByteBuffer[]::new));
      }
    }
  }

  /** A tensor's length prefix. */
  static ByteBuffer length(int bytes) {
    return ByteBuffer.allocate(4).putInt(0, bytes);
  }

  /** Writes every part, in order. */
  static void writeFully(SocketChannel ch, ByteBuffer[] parts) throws IOException {
    while (parts[parts.length - 1].hasRemaining()) {
      ch.write(parts);
    }
  }

  /** Fills {@code b}; false if the connection ended first. */
  static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        return false;
      }
    }
    return true;
  }
}
