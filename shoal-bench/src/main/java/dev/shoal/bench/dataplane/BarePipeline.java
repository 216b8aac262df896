package dev.shoal.bench.dataplane;

import dev.shoal.model.TensorData;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.Stage;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import dev.shoal.runtime.worker.WorkerProcess;
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
import java.util.List;

/**
 * A split run as a chain of {@link BareStage} processes on loopback, the last one answering to
 * this process: the least that running the same stages in separate processes costs on this host,
 * with no runtime in the way. Section (a) of {@code shoal bench dataplane} serves it beside the
 * pipeline, as the floor under it.
 */
final class BarePipeline implements AutoCloseable {
  private final List<WorkerProcess> processes = new ArrayList<>();
  private final ServerSocketChannel results;
  private SocketChannel first;
  private SocketChannel last;
  private final ByteBuffer length = ByteBuffer.allocateDirect(4);
  private final ByteBuffer output;
  private final TensorData expectedShape;

  /**
   * Starts one process per stage (the last first: each dials its next hop before it listens),
   * writing the stage models and the processes' logs under {@code dir}.
   *
   * @param example an output of the model, for the shape and type of the answers (one output only)
   */
  static BarePipeline start(Split split, TensorData example, Path dir) throws IOException {
    if (split.modelOutputs().size() != 1) {
      throw new IllegalArgumentException("the bare pipeline answers one model output, the model has "
          + split.modelOutputs());
    }
    return new BarePipeline(split, example, dir);
  }

  private BarePipeline(Split split, TensorData example, Path dir) throws IOException {
    this.expectedShape = example;
    this.output = ByteBuffer.allocateDirect(example.data().length).order(ByteOrder.nativeOrder());
    this.results = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
    try {
      Files.createDirectories(dir);
      List<Stage> stages = split.stages();
      String next = "127.0.0.1:" + results.socket().getLocalPort();
      for (int i = stages.size() - 1; i >= 0; i--) {
        Stage s = stages.get(i);
        Path model = dir.resolve(s.fileName());
        Files.write(model, s.model().toByteArray());
        List<String> send = i == stages.size() - 1 ? split.modelOutputs() : stages.get(i + 1).inputs();
        WorkerProcess p = WorkerProcess.startMain(List.of(), "bare-" + i, BareStage.class.getName(),
            List.of(model.toString(), next, String.join(",", send)), dir.resolve("bare-" + i + ".log"));
        processes.add(p);
        if (i == stages.size() - 1) {
          last = results.accept();
          last.socket().setTcpNoDelay(true);
        }
        next = p.address();
      }
      HostPort entry = HostPort.parse(next);
      first = SocketChannel.open(new InetSocketAddress(entry.host(), entry.port()));
      first.socket().setTcpNoDelay(true);
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The stage processes' ids, first stage last. */
  List<Long> pids() {
    return processes.stream().map(WorkerProcess::pid).toList();
  }

  /** Sends one input through every stage and returns the answer. */
  TensorData infer(TensorData input) throws IOException {
    ByteBuffer[] message = {BareStage.length(input.data().length), ByteBuffer.wrap(input.data())};
    BareStage.writeFully(first, message);
    length.clear();
    readFully(length);
    if (length.getInt(0) != output.capacity()) {
      throw new IOException("the last bare stage answered " + length.getInt(0) + " bytes, expected "
          + output.capacity());
    }
    output.clear();
    readFully(output);
    byte[] answer = new byte[output.capacity()];
    output.flip().get(answer);
    return new TensorData(expectedShape.name(), expectedShape.dtype(), expectedShape.shape(), answer);
  }

  private void readFully(ByteBuffer b) throws IOException {
    if (!BareStage.readFully(last, b)) {
      throw new EOFException("the last bare stage closed its connection");
    }
  }

  @Override
  public void close() {
    for (AutoCloseable c : new AutoCloseable[] {first, last, results}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing on the way out: nothing to save
      }
    }
    processes.forEach(WorkerProcess::close);
  }
}
