#!/usr/bin/env bash
# Reproduces the variant-parallelism results from scratch: trains the MobileNetV2-style base, the
# variant family (jointly) and the class-parallel baseline on Fashion-MNIST, writes them to
# $MODELS (default models/fashion, the committed set), then runs `shoal bench variants`,
# `shoal bench availability` and `shoal bench response-time` on them.
#
# The defaults are the settings of the committed models (see docs/training.md): all 60,000
# training images, 8 epochs, fixed seed 42, one PyTorch thread per model.
# Environment: DATA, MODELS, EPOCHS, TRAIN_LIMIT, THREADS, OUT.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

DATA="${DATA:-/usr/share/datasets/fashion-mnist}"
MODELS="${MODELS:-models/fashion}"
EPOCHS="${EPOCHS:-8}"
TRAIN_LIMIT="${TRAIN_LIMIT:-60000}"
THREADS="${THREADS:-1}"
OUT="${OUT:-bench-results}"

if [ ! -d "$DATA" ] && [ "$DATA" = /usr/share/datasets/fashion-mnist ]; then
  echo "reproduce-variants: installing Debian's dataset-fashion-mnist (Fashion-MNIST into $DATA)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist
fi

common=(--data "$DATA" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" --seed 42)
echo "reproduce-variants: training into $MODELS (${EPOCHS} epochs on the first ${TRAIN_LIMIT} images of $DATA)"
./shoal train base "${common[@]}" --threads "$THREADS" --out "$MODELS/base"
./shoal train variants "${common[@]}" --threads "$THREADS" --out "$MODELS/variants"
./shoal train class "${common[@]}" --threads "$THREADS" --out "$MODELS/class-parallel"
./shoal bench variants --models "$MODELS" --data "$DATA" --out "$OUT/variants"
./shoal bench availability --models "$MODELS" --data "$DATA" --out "$OUT/availability"
./shoal bench response-time --models "$MODELS" --data "$DATA" --out "$OUT/response-time"
