package dev.shoal.runtime.fluid;

import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.PlanAdmin;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.runtime.wire.DataLoop;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.logging.Logger;

/**
 * A Fluid network served in its modes: a {@link PlanBackend} holding the high-accuracy and
 * high-throughput plans ({@link FluidProducer}), plus a third, virtual plan {@value #AUTO} that lets
 * {@link AutoMode} pick between them every 100 ms. Activating a mode through the admin API (or
 * {@link #activate}) switches at once; activating {@value #AUTO} hands the choice to the rule,
 * activating a mode takes it back. Every answer carries {@code shoal.fluid.mode} and {@code
 * shoal.fluid.subnets}; {@code /metrics} counts answers by both ({@code shoal_fluid_answers_total})
 * and the switches ({@code shoal_fluid_mode_switches_total}).
 */
public final class FluidBackend implements ServingBackend, PlanAdmin {
  private static final Logger LOG = Logger.getLogger(FluidBackend.class.getName());
  public static final String AUTO = "auto";
  private static final long TICK_MILLIS = 100;

  private static final Counter ANSWERS = Counter.builder()
      .name("shoal_fluid_answers_total")
      .help("Answers of a Fluid network by mode and by the sub-networks that computed them")
      .labelNames("model", "mode", "subnets")
      .register();
  private static final Counter SWITCHES = Counter.builder()
      .name("shoal_fluid_mode_switches_total")
      .help("Mode switches of a Fluid network, by the mode switched to and who switched (auto or admin)")
      .labelNames("model", "to", "by")
      .register();
  private static final Gauge HIGH_THROUGHPUT = Gauge.builder()
      .name("shoal_fluid_high_throughput")
      .help("1 while a Fluid network serves in high-throughput mode, 0 in high-accuracy mode")
      .labelNames("model")
      .register();

  private final PlanBackend plans;
  private final String model;
  private final AutoMode.Options autoOptions;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "fluid-auto-mode");
    t.setDaemon(true);
    return t;
  });
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong arrivals = new AtomicLong();
  private final AtomicLong completions = new AtomicLong();
  private final DoubleAdder latencySeconds = new DoubleAdder();
  private volatile AutoMode auto;

  /** @param plans a backend whose plans are a Fluid network's two modes (names as in {@link FluidProducer}) */
  public FluidBackend(PlanBackend plans, AutoMode.Options autoOptions) {
    this.plans = plans;
    this.model = plans.models().get(0).name();
    this.autoOptions = autoOptions;
    HIGH_THROUGHPUT.labelValues(model).set(plans.activePlan().equals(FluidProducer.HIGH_THROUGHPUT) ? 1 : 0);
    ticker.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /**
   * Deploys both modes of the Fluid network in {@code dir} on the workers (group k on the k-th
   * worker) and serves in {@code mode}: high-accuracy, high-throughput or auto.
   *
   * @param referenceSeconds per file, its compute on the reference host (see {@link FluidProducer})
   */
  public static FluidBackend start(Path dir, List<WorkerEndpoint> workers, PeerSecurity security, String mode,
      Map<String, Double> referenceSeconds, AutoMode.Options autoOptions) throws IOException {
    if (!List.of(FluidProducer.HIGH_ACCURACY, FluidProducer.HIGH_THROUGHPUT, AUTO).contains(mode)) {
      throw new IllegalArgumentException("unknown Fluid mode '" + mode + "' (" + FluidProducer.HIGH_ACCURACY + ", "
          + FluidProducer.HIGH_THROUGHPUT + " or " + AUTO + ")");
    }
    List<PlanProducer> modes = new ArrayList<>(FluidProducer.modes(dir,
        workers.stream().map(WorkerEndpoint::name).toList(), referenceSeconds));
    FluidBackend b = new FluidBackend(PlanBackend.start(workers, modes, security, PlanBackend.Options.DEFAULT),
        autoOptions);
    b.activate(b.model, mode);
    return b;
  }

  /** The backend underneath (its plans, workers, recoveries). */
  public PlanBackend backend() {
    return plans;
  }

  /** The mode serving now: high-accuracy or high-throughput. */
  public String mode() {
    return plans.activePlan();
  }

  /** Whether the auto rule chooses the mode. */
  public boolean isAuto() {
    return auto != null;
  }

  /** The auto rule's switches since auto mode was last activated (empty when not in auto mode). */
  public List<AutoMode.Switch> autoSwitches() {
    AutoMode a = auto;
    return a == null ? List.of() : a.switches();
  }

  @Override
  public List<ServedModel> models() {
    return plans.models();
  }

  @Override
  public boolean ready() {
    return plans.ready();
  }

  @Override
  public Optional<DataLoop> ioLoop() {
    return plans.ioLoop();
  }

  @Override
  public Optional<PlanAdmin> planAdmin() {
    return Optional.of(this);
  }

  @Override
  public CompletableFuture<InferenceResult> infer(InferenceCall call) {
    long start = System.nanoTime();
    inFlight.incrementAndGet();
    arrivals.incrementAndGet();
    CompletableFuture<InferenceResult> f = plans.infer(call);
    // the caller gets PlanBackend's own future, so that cancelling it forgets the request there
    f.whenComplete((r, t) -> {
      inFlight.decrementAndGet();
      latencySeconds.add((System.nanoTime() - start) / 1e9);
      completions.incrementAndGet();
      if (r != null) {
        ANSWERS.labelValues(model, r.parameters().getOrDefault(FluidProducer.PARAM_MODE, "?"),
            r.parameters().getOrDefault(FluidProducer.PARAM_SUBNETS, "?")).inc();
      }
    });
    return f;
  }

  @Override
  public List<PlanInfo> plans() {
    List<PlanInfo> out = new ArrayList<>();
    boolean isAuto = isAuto();
    for (PlanInfo p : plans.plans()) {
      out.add(new PlanInfo(p.model(), p.plan(), p.active() && !isAuto, p.summary()));
    }
    out.add(new PlanInfo(model, AUTO, isAuto, String.format(Locale.ROOT,
        "chooses %s or %s: to %s above %d in flight%s, back below %.0f%% of %s's measured capacity (%s)",
        FluidProducer.HIGH_ACCURACY, FluidProducer.HIGH_THROUGHPUT, FluidProducer.HIGH_THROUGHPUT,
        autoOptions.queueHigh(), autoOptions.latencyHigh() == null ? ""
            : " or a mean latency above " + autoOptions.latencyHigh().toMillis() + " ms",
        autoOptions.backFraction() * 100, FluidProducer.HIGH_ACCURACY,
        isAuto ? "now " + mode() : "not active")));
    return out;
  }

  @Override
  public void activate(String modelName, String plan) {
    if (!model.equals(modelName)) {
      throw new InferenceException(InferenceException.Kind.NOT_FOUND, "unknown model '" + modelName + "'");
    }
    if (plan.equals(AUTO)) {
      if (auto == null) {
        auto = new AutoMode(autoOptions);
        switchTo(auto.mode(), "auto");
      }
      return;
    }
    plans.activate(modelName, plan); // NOT_FOUND for an unknown plan, before auto mode ends
    auto = null;
    SWITCHES.labelValues(model, plan, "admin").inc();
    HIGH_THROUGHPUT.labelValues(model).set(plan.equals(FluidProducer.HIGH_THROUGHPUT) ? 1 : 0);
  }

  private void tick() {
    AutoMode a = auto;
    if (a == null) {
      return;
    }
    try {
      String before = a.mode();
      String now = a.tick(System.nanoTime(), inFlight.get(), arrivals.get(), completions.get(), latencySeconds.sum());
      if (!now.equals(before) && auto == a) {
        AutoMode.Switch s = a.switches().get(a.switches().size() - 1);
        LOG.info(() -> "model '" + model + "', auto mode: " + s.to() + " (" + s.reason() + ")");
        switchTo(now, "auto");
      }
    } catch (RuntimeException e) {
      LOG.warning("auto mode tick failed: " + e);
    }
  }

  private void switchTo(String mode, String by) {
    if (!plans.activePlan().equals(mode)) {
      plans.activate(model, mode);
      SWITCHES.labelValues(model, mode, by).inc();
    }
    HIGH_THROUGHPUT.labelValues(model).set(mode.equals(FluidProducer.HIGH_THROUGHPUT) ? 1 : 0);
  }

  @Override
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    lines.add("Fluid network '" + model + "': " + mode() + (isAuto() ? " (auto)" : "") + ", " + inFlight.get()
        + " in flight");
    autoSwitches().forEach(s -> lines.add("auto switch to " + s.to() + ": " + s.reason()));
    lines.addAll(plans.status());
    return lines;
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    plans.close();
  }
}
