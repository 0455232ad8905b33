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
# Round 2 (issue 16): ten more ordered Li conductors with a measured sigma (OBELiX), the MP
# structure of the same space group, supercell so that every perpendicular width is >= ~6.5 A
# (<= 100 atoms), 600 K production of 4 ps; 500 K afterwards for the runs whose D converges.
declare -A SRC2=( [Li3ClO]=mp-985585 [Li3P]=mp-736 [Li3N]=mp-2251 [LiTi2PO43]=mp-18640 \
  [Li4SnSe4]=mp-1194700 [Li2SnS3]=mp-1190364 [LiGaBr4]=mp-28326 [Li2SiS3]=mp-1210789 \
  [LiAlCl4]=mp-22983 [Li3PO4]=mp-2878 )
declare -A CELL2=( [Li3ClO]="2 2 2" [Li3P]="3 3 1" [Li3N]="3 3 2" [LiTi2PO43]="1 1 1" \
  [Li4SnSe4]="2 1 1" [Li2SnS3]="2 2 1" [LiGaBr4]="2 2 1" [Li2SiS3]="2 2 2" \
  [LiAlCl4]="2 2 1" [Li3PO4]="2 1 1" )
T2=${T2:-600}
for M in Li3ClO Li3N Li3P LiTi2PO43 Li4SnSe4 Li2SiS3 LiGaBr4 LiAlCl4 Li2SnS3 Li3PO4; do
  out="data/md/${M}_${T2}K.extxyz.gz"
  [ -f "$out" ] && { echo "skip $out"; continue; }
  # shellcheck disable=SC2086
  matmap md "mp_li/${SRC2[$M]}.cif" --material "$M" --temperature "$T2" --steps 2000 --equil-steps 250 \
    --timestep 2 --stride 5 --seed 0 --threads 1 --device cpu --supercell ${CELL2[$M]} -o "$out"
done
# 500 K (issue 16): the five materials whose Li diffuses measurably at 600 K in 4 ps get a second
# temperature of the 400-600 K window, same protocol (4 ps after 0.5 ps, seed 0).
declare -A SRC3=( [Li10GeP2S12]="mp_li/mp-696128.cif" [Li3PS4]="mp_li/mp-985583.cif" \
  [Li7P3S11]="mp_li/mp-641703.cif" [Li4SnSe4]="mp_li/mp-1194700.cif" [LiGaBr4]="mp_li/mp-28326.cif" )
declare -A CELL3=( [Li10GeP2S12]="1 1 1" [Li3PS4]="1 1 1" [Li7P3S11]="1 1 1" [Li4SnSe4]="2 1 1" \
  [LiGaBr4]="2 2 1" )
for M in Li10GeP2S12 Li3PS4 Li7P3S11 Li4SnSe4 LiGaBr4; do
  out="data/md/${M}_500K.extxyz.gz"
  [ -f "$out" ] && { echo "skip $out"; continue; }
  # shellcheck disable=SC2086
  matmap md "${SRC3[$M]}" --material "$M" --temperature 500 --steps 2000 --equil-steps 250 \
    --timestep 2 --stride 5 --seed 0 --threads 1 --device cpu --supercell ${CELL3[$M]} -o "$out"
done
echo "generation finished $(date -u +%FT%TZ)"
