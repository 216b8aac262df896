package dev.shoal.runtime.worker;

import java.util.concurrent.atomic.AtomicLong;

/** Counters a worker reports in its Status reply. */
final class WorkerStats {
  final AtomicLong framesIn = new AtomicLong();
  final AtomicLong framesOut = new AtomicLong();
  final AtomicLong framesRejected = new AtomicLong();
  final AtomicLong bytesIn = new AtomicLong();
  final AtomicLong bytesOut = new AtomicLong();
  final AtomicLong computeNanos = new AtomicLong();
  final AtomicLong queueNanos = new AtomicLong();
  final AtomicLong framesExpired = new AtomicLong();
  final AtomicLong framesCancelled = new AtomicLong();
  final AtomicLong framesInProcess = new AtomicLong();
  final AtomicLong computedInline = new AtomicLong();
  final AtomicLong sendsHandedOff = new AtomicLong();
}
