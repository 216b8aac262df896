#!/usr/bin/env bash
# Reproduces the Fluid dynamic DNN results from scratch: trains Static, the Fluid networks for
# G = 2 and 3 (nested incremental training, phase by phase) and Dynamic on Fashion-MNIST, each unit
# checkpointed under $RUN so that running this again resumes where it stopped; copies the exported
# models (g2/, g3/: fluid.json and ONNX files) and the training record into $MODELS (default
# models/fashion/fluid, the committed set); then runs `shoal bench fluid`: the accuracy table and
# the serving sections (throughput, failure, auto: real worker processes on loopback), whose
# results (CSV, JSON, auto.svg) go to $OUT. Prints the time of each part.
#
# The defaults are the settings of the committed models (docs/fluid.md): the first 30,000 training
# images, 4 epochs, seed 42, one PyTorch thread. Environment: DATA, RUN, MODELS, EPOCHS,
# TRAIN_LIMIT, THREADS, OUT, ATTEMPTS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

DATA="${DATA:-/usr/share/datasets/fashion-mnist}"
RUN="${RUN:-out/fluid}"
MODELS="${MODELS:-models/fashion/fluid}"
EPOCHS="${EPOCHS:-4}"
TRAIN_LIMIT="${TRAIN_LIMIT:-30000}"
THREADS="${THREADS:-1}"
OUT="${OUT:-bench-results/fluid}"
ATTEMPTS="${ATTEMPTS:-4}"

if [ ! -d "$DATA" ] && [ "$DATA" = /usr/share/datasets/fashion-mnist ]; then
  echo "reproduce-fluid: installing Debian's dataset-fashion-mnist (Fashion-MNIST into $DATA)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist
fi

start=$(date +%s)
echo "reproduce-fluid: training into $RUN (${EPOCHS} epochs on the first ${TRAIN_LIMIT} images of $DATA)"
# A failed process (e.g. a NaN loss, docs/fluid.md) is started again; finished units are skipped.
for attempt in $(seq 1 "$ATTEMPTS"); do
  if ./shoal train fluid --groups 2,3 --data "$DATA" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" --seed 42 \
      --threads "$THREADS" --out "$RUN"; then
    break
  fi
  [ "$attempt" -lt "$ATTEMPTS" ] || { echo "reproduce-fluid: training failed $ATTEMPTS times" >&2; exit 1; }
  echo "reproduce-fluid: attempt $attempt failed, resuming"
done
echo "reproduce-fluid: trained in $(( $(date +%s) - start )) s"

mkdir -p "$MODELS"
for g in g2 g3; do
  rm -rf "${MODELS:?}/$g"
  cp -r "$RUN/$g" "$MODELS/$g"
done
cp "$RUN/checkpoints/progress.json" "$MODELS/training.json"
bench=$(date +%s)
./shoal bench fluid --models "$MODELS" --data "$DATA" --out "$OUT"
echo "reproduce-fluid: bench took $(( $(date +%s) - bench )) s; everything $(( $(date +%s) - start )) s"
