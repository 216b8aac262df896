package dev.shoal.runtime.worker;

/**
 * The emulated device's timeline, shared by every stage the worker hosts: a device runs one frame
 * at a time, so a frame starts when it arrives or when the device finishes the previous one,
 * whichever is later (late wake-ups of a thread on a loaded host do not add up).
 */
final class DeviceClock {
  private long freeAt;

  /** Books {@code workNanos} of device time for a frame that arrived at {@code arrivedNanos}; returns when it ends. */
  synchronized long book(long arrivedNanos, long workNanos) {
    long start = Math.max(freeAt, arrivedNanos);
    long until = start + workNanos;
    freeAt = Math.max(until, System.nanoTime());
    return until;
  }

  /** The frame booked until {@code until} was abandoned now: the device is free, unless a later frame is booked. */
  synchronized void release(long until) {
    if (freeAt == until) {
      freeAt = System.nanoTime();
    }
  }
}
