package dev.shoal.runtime.worker;

/**
 * The emulated device's timeline, shared by every stage the worker hosts: a device runs one frame
 * at a time, so a frame starts when it arrives or when the device finishes the previous one,
 * whichever is later (late wake-ups of a thread on a loaded host do not add up). It also counts
 * where device time went that the cost model does not know of: waiting for a frame, and running
 * past a frame's end because this host had not yet done the frame's own work (ONNX Runtime call,
 * routing the previous outputs) — the emulation falling behind the device it emulates.
 */
final class DeviceClock {
  private long freeAt;
  private long idleNanos;
  private long overrunNanos;

  /** Books {@code workNanos} of device time for a frame that arrived at {@code arrivedNanos}; returns when it ends. */
  synchronized long book(long arrivedNanos, long workNanos) {
    long now = System.nanoTime();
    if (freeAt != 0 && arrivedNanos > freeAt) {
      idleNanos += arrivedNanos - freeAt;
    }
    long start = Math.max(freeAt, arrivedNanos);
    long until = start + workNanos;
    if (now > until) {
      overrunNanos += now - until;
    }
    freeAt = Math.max(until, now);
    return until;
  }

  /** The frame booked until {@code until} was abandoned now: the device is free, unless a later frame is booked. */
  synchronized void release(long until) {
    if (freeAt == until) {
      freeAt = System.nanoTime();
    }
  }

  /** Device time spent waiting for frames, since the first one. */
  synchronized double idleSeconds() {
    return idleNanos / 1e9;
  }

  /** Device time lost because this host finished a frame's own work after the frame's booked end. */
  synchronized double overrunSeconds() {
    return overrunNanos / 1e9;
  }
}
