#!/usr/bin/env bash
# Reproduces the width-parallel separable results from scratch (docs/separable.md): for each G in
# $GROUP_COUNTS trains the separable supernet and the non-separable reference (`shoal train separable`),
# searches the transmission policy and fine-tunes the choice (`shoal search-policy`), then prints
# the table (`shoal bench policy`). Every step checkpoints: run the script again after an
# interruption and it continues where it stopped (finished epochs, evaluations and fine-tunes are
# kept under $RUNS).
# Environment: DATA, RUNS, GROUP_COUNTS ("4", or e.g. "4 2 3"), EPOCHS, REFERENCE_EPOCHS, TRAIN_LIMIT,
# LEARNING_RATE, BUDGET, SEARCH_IMAGES, FINE_TUNE_IMAGES, THREADS, OUT.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

DATA="${DATA:-/usr/share/datasets/fashion-mnist}"
RUNS="${RUNS:-out/separable}"
GROUP_COUNTS="${GROUP_COUNTS:-4}"
EPOCHS="${EPOCHS:-3}"
REFERENCE_EPOCHS="${REFERENCE_EPOCHS:-$EPOCHS}"
TRAIN_LIMIT="${TRAIN_LIMIT:-55000}"
LEARNING_RATE="${LEARNING_RATE:-0.03}"
BUDGET="${BUDGET:-60}"
SEARCH_IMAGES="${SEARCH_IMAGES:-1000}"
FINE_TUNE_IMAGES="${FINE_TUNE_IMAGES:-$TRAIN_LIMIT}"
THREADS="${THREADS:-1}"
OUT="${OUT:-bench-results/policy}"

start=$(date +%s)
for g in $GROUP_COUNTS; do
  dir="$RUNS/g$g"
  echo "reproduce-separable: G=$g -> $dir ($(uptime))"
  ./shoal train separable --groups "$g" --data "$DATA" --epochs "$EPOCHS" --reference-epochs "$REFERENCE_EPOCHS" \
    --train-limit "$TRAIN_LIMIT" --learning-rate "$LEARNING_RATE" --threads "$THREADS" --seed 42 --out "$dir"
  ./shoal search-policy --model "$dir" --data "$DATA" --budget "$BUDGET" --search-images "$SEARCH_IMAGES" \
    --fine-tune-images "$FINE_TUNE_IMAGES" --threads "$THREADS" --seed 42 --out "$dir/search"
done
./shoal bench policy --models "$RUNS" --data "$DATA" --out "$OUT"
echo "reproduce-separable: $(( $(date +%s) - start )) s in all ($(uptime))"
