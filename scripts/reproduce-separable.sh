#!/usr/bin/env bash
# Reproduces the width-parallel separable results from scratch (docs/separable.md): for each G in
# $GROUP_COUNTS trains the separable supernet (`shoal train separable --part SUPERNET`), searches the
# transmission policy and fine-tunes the choice (`shoal search-policy`); for each G in $RETRAIN_GROUPS
# trains the chosen policy (with RETRAIN_BASELINE=1 the every-block baseline too) alone from fresh
# weights for $RETRAIN_EPOCHS (`shoal train separable --policy`, the NAS protocol's retrain); for each
# G in $WIDE_GROUPS does the same for the network $WIDTH times wider (supernet, search without
# fine-tunes, the choice trained alone); then trains the non-separable reference for $EPOCHS and for
# $RETRAIN_EPOCHS (`--part REFERENCE`: the same network, recipe, seed and data whatever G is, so one
# reference serves every G; the second is the equal-steps control, `reference-<E>-epochs.onnx`) and
# prints the table (`shoal bench policy`).
# Every step checkpoints: run the script again after an interruption and it continues where it
# stopped (finished epochs, evaluations and fine-tunes are kept under $RUNS). Training runs under
# `nice -n 19` through ./shoal, which selects the PyTorch kernels that compute correctly here.
# Expected time with the defaults, one thread on the project's 2-core machine among other work: about
# 3 hours (2 h 56 min, 3 h 20 min under heavier load: the parts' measured times added up;
# docs/separable.md, "Expected time").
# Environment: DATA, RUNS, GROUP_COUNTS ("4 2", or e.g. "4 2 3"), EPOCHS, REFERENCE_EPOCHS, TRAIN_LIMIT,
# LEARNING_RATE, BUDGET, SEARCH_IMAGES, FINALISTS, FINE_TUNE_EPOCHS, FINE_TUNE_IMAGES,
# FINE_TUNE_LEARNING_RATE, RETRAIN_GROUPS ("2"; "" for none), RETRAIN_EPOCHS (4), RETRAIN_BASELINE (0; 1
# adds about 20 min), WIDE_GROUPS ("2"; "" for none), WIDTH (1.25: about the non-separable network's
# parameters at G = 2), THREADS, OUT. FINE_TUNE_EPOCHS unset gives the committed models' recipe
# (1 epoch for G = 4, 2 for any other G); set, it applies to every G.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

DATA="${DATA:-/usr/share/datasets/fashion-mnist}"
RUNS="${RUNS:-out/separable}"
GROUP_COUNTS="${GROUP_COUNTS:-4 2}"
EPOCHS="${EPOCHS:-2}"
REFERENCE_EPOCHS="${REFERENCE_EPOCHS:-$EPOCHS}"
TRAIN_LIMIT="${TRAIN_LIMIT:-55000}"
LEARNING_RATE="${LEARNING_RATE:-0.1}"
BUDGET="${BUDGET:-60}"
SEARCH_IMAGES="${SEARCH_IMAGES:-1000}"
FINALISTS="${FINALISTS:-3}"
FINE_TUNE_EPOCHS="${FINE_TUNE_EPOCHS:-}"
FINE_TUNE_IMAGES="${FINE_TUNE_IMAGES:-$TRAIN_LIMIT}"
FINE_TUNE_LEARNING_RATE="${FINE_TUNE_LEARNING_RATE:-0.05}"
RETRAIN_GROUPS="${RETRAIN_GROUPS-2}"
RETRAIN_EPOCHS="${RETRAIN_EPOCHS:-4}"
RETRAIN_BASELINE="${RETRAIN_BASELINE:-0}"
WIDE_GROUPS="${WIDE_GROUPS-2}"
WIDTH="${WIDTH:-1.25}"
THREADS="${THREADS:-1}"
OUT="${OUT:-bench-results/policy}"

if [ ! -d "$DATA" ] && [ "$DATA" = /usr/share/datasets/fashion-mnist ]; then
  echo "reproduce-separable: installing Debian's dataset-fashion-mnist (Fashion-MNIST into $DATA)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist
fi

recipe=(--data "$DATA" --train-limit "$TRAIN_LIMIT" --learning-rate "$LEARNING_RATE" --threads "$THREADS" --seed 42)
start=$(date +%s)
for g in $GROUP_COUNTS; do
  dir="$RUNS/g$g"
  fine_tune_epochs="${FINE_TUNE_EPOCHS:-$([ "$g" = 4 ] && echo 1 || echo 2)}"
  echo "reproduce-separable: G=$g -> $dir, fine-tunes of $fine_tune_epochs epochs ($(uptime))"
  nice -n 19 ./shoal train separable --part SUPERNET --groups "$g" --epochs "$EPOCHS" "${recipe[@]}" --out "$dir"
  nice -n 19 ./shoal search-policy --model "$dir" --data "$DATA" --budget "$BUDGET" --search-images "$SEARCH_IMAGES" \
    --finalists "$FINALISTS" --fine-tune-epochs "$fine_tune_epochs" --fine-tune-images "$FINE_TUNE_IMAGES" \
    --fine-tune-learning-rate "$FINE_TUNE_LEARNING_RATE" --threads "$THREADS" --seed 42 --out "$dir/search"
done
alone="alone-$RETRAIN_EPOCHS-epochs"
for g in $RETRAIN_GROUPS; do
  search="$RUNS/g$g/search"
  echo "reproduce-separable: G=$g, the chosen policy trained alone -> $search ($(uptime))"
  nice -n 19 ./shoal train separable --policy "$search/policy.json" --epochs "$RETRAIN_EPOCHS" "${recipe[@]}" \
    --out "$search" --name "searched-$alone"
  if [ "$RETRAIN_BASELINE" = 1 ]; then
    nice -n 19 ./shoal train separable --policy "$search/policies/baseline/policy.json" --epochs "$RETRAIN_EPOCHS" \
      "${recipe[@]}" --out "$search" --name "baseline-$alone"
  fi
done
for g in $WIDE_GROUPS; do
  dir="$RUNS/g$g-w$WIDTH"
  echo "reproduce-separable: G=$g at width $WIDTH -> $dir ($(uptime))"
  nice -n 19 ./shoal train separable --part SUPERNET --groups "$g" --width "$WIDTH" --epochs "$EPOCHS" "${recipe[@]}" \
    --out "$dir"
  nice -n 19 ./shoal search-policy --model "$dir" --data "$DATA" --budget "$BUDGET" --search-images "$SEARCH_IMAGES" \
    --finalists "$FINALISTS" --fine-tune-epochs 0 --threads "$THREADS" --seed 42 --out "$dir/search"
  nice -n 19 ./shoal train separable --policy "$dir/search/policy.json" --width "$WIDTH" --epochs "$RETRAIN_EPOCHS" \
    "${recipe[@]}" --out "$dir/search" --name "searched-$alone"
done
echo "reproduce-separable: the non-separable reference, $EPOCHS and $RETRAIN_EPOCHS epochs -> $RUNS/reference* ($(uptime))"
nice -n 19 ./shoal train separable --part REFERENCE --epochs "$REFERENCE_EPOCHS" "${recipe[@]}" --out "$RUNS/reference"
nice -n 19 ./shoal train separable --part REFERENCE --epochs "$RETRAIN_EPOCHS" "${recipe[@]}" \
  --out "$RUNS/reference-$RETRAIN_EPOCHS-epochs"
for search in "$RUNS"/g*/search; do
  cp "$RUNS/reference/reference.onnx" "$search/reference.onnx"
  cp "$RUNS/reference-$RETRAIN_EPOCHS-epochs/reference.onnx" "$search/reference-$RETRAIN_EPOCHS-epochs.onnx"
done
./shoal bench policy --models "$RUNS" --data "$DATA" --out "$OUT"
echo "reproduce-separable: $(( $(date +%s) - start )) s in all ($(uptime))"
