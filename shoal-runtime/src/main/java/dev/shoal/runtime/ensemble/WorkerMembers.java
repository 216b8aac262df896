package dev.shoal.runtime.ensemble;

import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.ServedModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Deploys the members of a fan-out plan on workers: member i runs as a one-stage pipeline (the
 * whole member model) pinned to worker i, so the runtime's deployment, heartbeats and
 * redeploy-on-return serve each member, and a member whose worker is down is simply not ready. A
 * worker holds one deployment at a time, so each member needs a worker of its own (extra workers
 * stay idle).
 */
public final class WorkerMembers {

  /** A member model to deploy: its name and ONNX bytes. */
  public record MemberModel(String name, byte[] onnx) {}

  private WorkerMembers() {}

  /**
   * Starts one pipeline per member; on any failure, those already started are closed.
   *
   * @throws IllegalArgumentException when there are fewer workers than members
   */
  public static List<EnsembleMember> deploy(List<MemberModel> models, List<WorkerEndpoint> workers,
      PeerSecurity security, PipelineBackend.Options options) {
    if (workers.size() < models.size()) {
      throw new IllegalArgumentException(models.size() + " members need " + models.size()
          + " workers (one each), only " + workers.size() + " given");
    }
    List<EnsembleMember> members = new ArrayList<>();
    try {
      for (int i = 0; i < models.size(); i++) {
        MemberModel m = models.get(i);
        WorkerEndpoint worker = workers.get(i);
        ServedModel served = signature(m);
        PipelineBackend backend;
        try {
          backend = PipelineBackend.start(served, List.of(worker),
              new FixedStagePlanner(List.of(m.onnx()), options.inputCodec()), security, options);
        } catch (InferenceException e) {
          throw new InferenceException(e.kind(), "member " + m.name() + " on worker " + worker.name() + " ("
              + worker.address() + "): " + e.getMessage());
        }
        members.add(new EnsembleMember(m.name() + "@" + worker.name(), backend, served.name()));
      }
      return members;
    } catch (RuntimeException e) {
      members.forEach(member -> member.backend().close());
      throw e;
    }
  }

  /** The member's inputs and outputs as ONNX Runtime reads them from the file. */
  private static ServedModel signature(MemberModel m) {
    try (OnnxSession s = OnnxSession.open(m.onnx(), OnnxSession.Options.DEFAULT)) {
      return new ServedModel(m.name(), "1", "onnxruntime_onnx", s.inputs(), s.outputs());
    }
  }
}
