package dev.shoal.train.separable;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.train.CheckpointedSgd;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.StepGuard;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.train.TrainingSession.EpochReport;
import dev.shoal.train.train.TrainingSession.Listener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.function.LongToDoubleFunction;

/**
 * Trains a {@link SeparableNet} with the project's recipe (SGD momentum, warm-up + cosine, weight
 * decay, label smoothing, crop + flip), optionally with a new transmission policy drawn for every
 * batch (one-shot supernet training), and saves a checkpoint after every epoch — weights, batch-norm
 * statistics, momentum buffers, step count — so that a run started again with the same settings
 * skips the finished epochs and continues exactly. Each epoch draws its shuffling, augmentation and
 * policies from its own seed, so a resumed run sees what an uninterrupted one would have.
 */
public final class SeparableTrainer implements AutoCloseable {

  /** Draws the policy one training batch follows. */
  @FunctionalInterface
  public interface PolicySource {
    TransmissionPolicy next(Random random);
  }

  /** What a checkpoint records besides the arrays; {@code config} must match to resume. */
  public record Checkpoint(TrainConfig config, int epochsDone, long steps, List<EpochReport> epochs) {}

  static final String CHECKPOINT = "checkpoint.json";
  static final String WEIGHTS = "checkpoint-weights.ndlist";
  static final String MOMENTUM = "checkpoint-momentum.ndlist";
  private static final int EVAL_BATCH = 500;
  /** Training images a policy's batch-norm statistics are recomputed on ({@link #recalibrate}). */
  public static final int CALIBRATION_IMAGES = 256;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final SeparableNet net;
  private final TrainConfig config;
  private final Model model;
  private final Trainer trainer;
  private final CheckpointedSgd sgd;
  private final int stepsPerEpoch;
  private final Shape sampleShape;
  private final Objective objective = new Objective.Single();

  public SeparableTrainer(SeparableNet net, TrainConfig config, int trainCount) {
    this(net, config, trainCount, step -> 1);
  }

  /**
   * As {@link #SeparableTrainer(SeparableNet, TrainConfig, int)}, with the schedule's learning rate
   * at each step multiplied by {@code rateScale} of the step (a test drives one step off the schedule).
   */
  SeparableTrainer(SeparableNet net, TrainConfig config, int trainCount, LongToDoubleFunction rateScale) {
    this.net = net;
    this.config = config;
    var arch = net.architecture();
    this.sampleShape = new Shape(1, arch.rows(), arch.cols());
    this.stepsPerEpoch = (trainCount + config.batchSize() - 1) / config.batchSize();
    Engine.getInstance().setRandomSeed((int) config.seed());
    this.sgd =
        new CheckpointedSgd(
            config.learningRate(), config.momentum(), config.weightDecay(), stepsPerEpoch,
            (long) stepsPerEpoch * config.epochs(), rateScale);
    DefaultTrainingConfig djl =
        new DefaultTrainingConfig(objective.asDjlLoss(config.labelSmoothing()))
            .optOptimizer(sgd)
            .optDevices(new Device[] {Device.cpu()})
            .optInitializer(
                new XavierInitializer(XavierInitializer.RandomType.GAUSSIAN, XavierInitializer.FactorType.IN, 2),
                Parameter.Type.WEIGHT);
    this.model = Model.newInstance("shoal-separable", Device.cpu());
    model.setBlock(net);
    this.trainer = model.newTrainer(djl);
    trainer.initialize(new Shape(config.batchSize()).addAll(sampleShape));
  }

  public SeparableNet net() {
    return net;
  }

  /** Steps of {@code epochs} at {@code batchSize}: one per batch, the last one partial. */
  public static long steps(List<EpochReport> epochs, int batchSize) {
    return epochs.stream().mapToLong(e -> (e.samples() + batchSize - 1) / batchSize).sum();
  }

  /**
   * Trains the configured epochs, resuming from {@code checkpointDir} when it holds a checkpoint of
   * the same settings; {@code policies} empty trains the network as it is (the reference, or one
   * fixed policy set beforehand). Returns every epoch's report, resumed ones included.
   */
  public List<EpochReport> fit(
      BatchMaker train, Optional<PolicySource> policies, Path checkpointDir, Listener listener) throws IOException {
    Files.createDirectories(checkpointDir);
    TransmissionPolicy fixed = net.policy();
    List<EpochReport> reports = new ArrayList<>();
    long steps = 0;
    int first = 1;
    StepGuard guard = new StepGuard(net, sgd);
    Optional<Checkpoint> saved = readCheckpoint(checkpointDir);
    if (saved.isPresent()) {
      Checkpoint c = saved.get();
      if (!c.config().equals(config)) {
        throw new IllegalStateException(
            checkpointDir + " holds a checkpoint of another run (" + c.config() + "); delete it or train with the "
                + "same settings");
      }
      restore(checkpointDir);
      reports.addAll(c.epochs());
      steps = c.steps();
      first = c.epochsDone() + 1;
    }
    for (int epoch = first; epoch <= config.epochs(); epoch++) {
      Random random = new Random(config.seed() * 1_000_003L + epoch);
      long start = System.nanoTime();
      int[] order = train.shuffledOrder(random);
      double lossSum = 0;
      int batches = 0;
      int counted = 0;
      for (int from = 0; from < order.length; from += config.batchSize()) {
        int to = Math.min(order.length, from + config.batchSize());
        if (policies.isPresent()) {
          net.usePolicy(policies.get().next(random));
        }
        int batchFrom = from;
        OptionalDouble loss =
            guard.step(trainer, steps, epoch, batches, batch -> {
              NDArray x = batch.create(
                  train.images(order, batchFrom, to, config.augmentation(), random), new Shape(to - batchFrom).addAll(sampleShape));
              NDArray y = batch.create(train.labels(order, batchFrom, to));
              NDList out = trainer.forward(new NDList(x));
              return objective.loss(new Objective.Targets(y, Optional.empty()), out, config.labelSmoothing());
            }, listener);
        if (loss.isPresent()) {
          lossSum += loss.getAsDouble();
          counted++;
        }
        steps++;
        batches++;
        if (batches % TrainingSession.STEP_REPORT_EVERY == 0) {
          listener.steps(epoch, batches, stepsPerEpoch, lossSum / Math.max(1, counted));
        }
      }
      EpochReport report = new EpochReport(epoch, lossSum / Math.max(1, counted), (System.nanoTime() - start) / 1e9, order.length);
      reports.add(report);
      if (policies.isPresent()) {
        net.usePolicy(fixed);
      }
      writeCheckpoint(checkpointDir, new Checkpoint(config, epoch, steps, reports));
      listener.epoch(report);
    }
    if (policies.isPresent() && fixed != null) {
      net.usePolicy(fixed);
    }
    return reports;
  }

  /**
   * Recomputes every batch-norm layer's running statistics for the network as it is now (its
   * current policy) from the first {@code count} images of {@code data}. A supernet's running
   * statistics average over all the policies it trained with and fit none of them: the G = 4
   * supernet scored 0.41 on validation exchanging at every block with them (one-shot NAS and
   * slimmable networks recalibrate per sub-network the same way). The statistics are zeroed and
   * the images run twice in training mode; each pass moves them by the layer's momentum m toward
   * the images' statistics, so after two they hold m(2 - m) of them, and m is read off the first
   * layer's mean.
   */
  public void recalibrate(BatchMaker data, int count) {
    List<NDArray> stats = new ArrayList<>();
    List<NDArray> means = new ArrayList<>();
    for (var p : net.getParameters()) {
      if (p.getKey().endsWith("runningMean") || p.getKey().endsWith("runningVar")) {
        NDArray a = p.getValue().getArray();
        a.set(new float[(int) a.size()]);
        stats.add(a);
        if (p.getKey().endsWith("runningMean")) {
          means.add(a);
        }
      }
    }
    int[] order = data.sequentialOrder();
    int n = Math.min(count, order.length);
    ParameterStore store = new ParameterStore(trainer.getManager(), false);
    List<float[]> once = new ArrayList<>();
    List<float[]> twice = new ArrayList<>();
    try (NDManager batch = trainer.getManager().newSubManager()) {
      NDArray x = batch.create(data.images(order, 0, n, Augmentation.NONE, null), new Shape(n).addAll(sampleShape));
      net.forward(store, new NDList(x), true);
      means.forEach(a -> once.add(a.toFloatArray()));
      net.forward(store, new NDList(x), true);
      means.forEach(a -> twice.add(a.toFloatArray()));
    }
    float largest = 0;
    double momentum = Double.NaN;
    for (int l = 0; l < once.size(); l++) {
      for (int i = 0; i < once.get(l).length; i++) {
        if (Math.abs(once.get(l)[i]) > largest) {
          largest = Math.abs(once.get(l)[i]);
          momentum = 2 - twice.get(l)[i] / (double) once.get(l)[i];
        }
      }
    }
    if (!(momentum > 0 && momentum <= 1)) {
      throw new IllegalStateException("could not read the batch-norm momentum while recalibrating (got " + momentum + ")");
    }
    float scale = (float) (1 / (momentum * (2 - momentum)));
    stats.forEach(a -> a.muli(scale));
  }

  /** Inference-mode logits {@code [count x classes]} for every image of {@code data}, in order. */
  public float[] logits(BatchMaker data) {
    int[] order = data.sequentialOrder();
    int classes = net.architecture().classes();
    float[] logits = new float[order.length * classes];
    ParameterStore store = new ParameterStore(trainer.getManager(), false);
    for (int from = 0; from < order.length; from += EVAL_BATCH) {
      int to = Math.min(order.length, from + EVAL_BATCH);
      try (NDManager batch = trainer.getManager().newSubManager()) {
        NDArray x = batch.create(data.images(order, from, to, Augmentation.NONE, null), new Shape(to - from).addAll(sampleShape));
        float[] out = net.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
        System.arraycopy(out, 0, logits, from * classes, out.length);
      }
    }
    return logits;
  }

  /** Saves the weights and batch-norm statistics (no optimiser state) to {@code file}. */
  public void saveWeights(Path file) throws IOException {
    atomicWrite(file, parameters().encode());
  }

  /** Loads weights saved by {@link #saveWeights} into this trainer's network. */
  public void loadWeights(Path file) throws IOException {
    try (NDManager tmp = trainer.getManager().newSubManager()) {
      copyInto(NDList.decode(tmp, Files.readAllBytes(file)), file);
    }
  }

  private NDList parameters() {
    NDList list = new NDList();
    for (var p : net.getParameters()) {
      NDArray a = p.getValue().getArray();
      a.setName(p.getKey());
      list.add(a);
    }
    return list;
  }

  private void copyInto(NDList saved, Path from) {
    Map<String, NDArray> byName = new java.util.HashMap<>();
    for (NDArray a : saved) {
      byName.put(a.getName(), a);
    }
    for (var p : net.getParameters()) {
      NDArray target = p.getValue().getArray();
      NDArray source = byName.get(p.getKey());
      if (source == null || !source.getShape().equals(target.getShape())) {
        throw new IllegalStateException(
            from + ": parameter " + p.getKey() + " is " + (source == null ? "missing" : source.getShape())
                + ", the network's is " + target.getShape() + " (another architecture or group count?)");
      }
      target.set(source.toByteBuffer());
    }
  }

  private void writeCheckpoint(Path dir, Checkpoint checkpoint) throws IOException {
    atomicWrite(dir.resolve(WEIGHTS), parameters().encode());
    Map<String, String> names = new java.util.HashMap<>();
    for (var p : net.getParameters()) {
      names.put(p.getValue().getId(), p.getKey());
    }
    NDList momentum = sgd.state(names);
    atomicWrite(dir.resolve(MOMENTUM), momentum.encode());
    momentum.close();
    // The JSON goes last: a checkpoint counts only once its arrays are complete.
    atomicWrite(dir.resolve(CHECKPOINT), JSON.writeValueAsBytes(checkpoint));
  }

  private void restore(Path dir) throws IOException {
    try (NDManager tmp = trainer.getManager().newSubManager()) {
      copyInto(NDList.decode(tmp, Files.readAllBytes(dir.resolve(WEIGHTS))), dir.resolve(WEIGHTS));
      Map<String, String> ids = new java.util.HashMap<>();
      for (var p : net.getParameters()) {
        ids.put(p.getKey(), p.getValue().getId());
      }
      sgd.restore(NDList.decode(tmp, Files.readAllBytes(dir.resolve(MOMENTUM))), ids, trainer.getManager());
    }
  }

  static Optional<Checkpoint> readCheckpoint(Path dir) throws IOException {
    Path file = dir.resolve(CHECKPOINT);
    return Files.isRegularFile(file) ? Optional.of(JSON.readValue(file.toFile(), Checkpoint.class)) : Optional.empty();
  }

  private static void atomicWrite(Path file, byte[] bytes) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".part");
    Files.write(tmp, bytes);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void close() {
    trainer.close();
    model.close();
  }
}
