#!/usr/bin/env bash
# The main job: install into .venv, seed a demo store, and show it with the CLI.
# (JupyterLab with the panel joins this script when the Jupyter surface lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
export BLACKLAKE_HOME="${BLACKLAKE_HOME:-$PWD/.demo-store}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing blacklake-ml"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0   # first, pinned (CPU wheel; unpinned pulls CUDA)
.venv/bin/pip install -q -e '.[s3,postgres,search,models]'
bl=.venv/bin/blacklake
echo "== seeding a demo store in $BLACKLAKE_HOME"
.venv/bin/python -m blacklake_ml.demo
echo "== blacklake repo list";                     $bl repo list
echo "== blacklake log blacklake://demo-classifier/main"; $bl log blacklake://demo-classifier/main
echo "== blacklake ls blacklake://demo-classifier/main";  $bl ls blacklake://demo-classifier/main
echo "== blacklake diff (v1.0 -> finetune-de)"
$bl diff blacklake://demo-classifier/v1.0 blacklake://demo-classifier/finetune-de
echo "== blacklake search 'German fine-tune of an image classifier'"
$bl search "German fine-tune of an image classifier" -k 3
echo "== blacklake similar blacklake://demo-classifier/finetune-de/model.safetensors"
$bl similar blacklake://demo-classifier/finetune-de/model.safetensors -n 5
echo "== blacklake stats";                         $bl stats
echo "== blacklake fsck";                          $bl fsck
echo
echo "Try: BLACKLAKE_HOME=$BLACKLAKE_HOME $bl get blacklake://demo-reviews/main/train.csv -o /tmp/train.csv"
