#!/usr/bin/env bash
# Generate the CHGNet NVT trajectory set of data/md/ (see README.md there).
# Run from the repository root:  nice -n 15 bash data/md/generate.sh
# One process at a time, one torch thread; existing outputs are skipped (restartable).
set -euo pipefail
cd "$(dirname "$0")/../.."
declare -A SRC=( [Li10GeP2S12]=mp_li/mp-696128.cif [Li3PS4]=mp_li/mp-985583.cif [Li7P3S11]=mp_li/mp-641703.cif )
# LGPS was first run at 1200 K: with CHGNet its S/Ge framework flows at that temperature (kept
# as a flagged extra point); the Arrhenius set is 600/800/1000 K for every material.
for M in Li10GeP2S12 Li3PS4 Li7P3S11; do
  for T in 800 600 1000; do
    out="data/md/${M}_${T}K.extxyz.gz"
    [ -f "$out" ] && { echo "skip $out"; continue; }
    matmap md "${SRC[$M]}" --material "$M" --temperature "$T" --steps 2000 --equil-steps 250 \
      --timestep 2 --stride 5 --seed 0 --threads 1 --device cpu -o "$out"
  done
done
echo "generation finished $(date -u +%FT%TZ)"
