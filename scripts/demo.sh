#!/usr/bin/env bash
# The main job: install into .venv, seed a demo store with real small models and datasets,
# show it with the CLI, then start JupyterLab with the BlackLake panel open on it.
#
#   bash scripts/demo.sh                  # install, seed, CLI tour, then `blacklake lab --demo`
#   bash scripts/demo.sh --no-lab         # stop after the CLI tour (CI smoke tests)
#   BLACKLAKE_DEMO_NO_LAB=1 bash scripts/demo.sh     # the same
#   bash scripts/demo.sh -- --port 8899 --no-browser # arguments after -- go to `blacklake lab`
#
# The store lives in $BLACKLAKE_HOME (default: .demo-store in this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

no_lab="${BLACKLAKE_DEMO_NO_LAB:-0}"
lab_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-lab) no_lab=1 ;;
    --) shift; lab_args=("$@"); break ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

export BLACKLAKE_HOME="${BLACKLAKE_HOME:-$PWD/.demo-store}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing blacklake-ml"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0   # first, pinned (CPU wheel; unpinned pulls CUDA)
.venv/bin/pip install -q -e '.[search,models,convert,jupyter,notebook]' torch==2.13.0
bl=.venv/bin/blacklake
echo "== seeding a demo store in $BLACKLAKE_HOME"
.venv/bin/python -m blacklake_ml.demo
echo "== blacklake repo list";                     $bl repo list
echo "== blacklake log blacklake://demo-classifier/main"; $bl log blacklake://demo-classifier/main
echo "== blacklake ls blacklake://demo-classifier/main";  $bl ls blacklake://demo-classifier/main
echo "== blacklake diff (v1.0 -> finetune-de)"
$bl diff blacklake://demo-classifier/v1.0 blacklake://demo-classifier/finetune-de
echo "== blacklake version list demo-iris";        $bl version list demo-iris
echo "== blacklake search 'a small German sentiment model'"
$bl search "a small German sentiment model" -k 3
echo "== blacklake search 'iris flower species classifier' --filter framework=sklearn"
$bl search "iris flower species classifier" --filter framework=sklearn -k 3
echo "== blacklake similar blacklake://demo-sentiment-de/main/model.safetensors"
$bl similar blacklake://demo-sentiment-de/main/model.safetensors -n 5
echo "== blacklake stats";                         $bl stats
echo "== blacklake fsck";                          $bl fsck
echo
echo "Try: BLACKLAKE_HOME=$BLACKLAKE_HOME $bl get blacklake://demo-reviews/main/train.csv -o /tmp/train.csv"

if [ "$no_lab" != "0" ]; then
  echo "== not starting JupyterLab (--no-lab); to start it: $bl lab --demo"
  exit 0
fi
# Jupyter refuses to run as root unless told to (containers and CI machines run as root).
if [ "$(id -u)" = 0 ]; then
  lab_args=(--allow-root ${lab_args[@]+"${lab_args[@]}"})
fi
echo "== blacklake lab --demo (JupyterLab with the BlackLake panel; Ctrl-C twice to stop)"
exec "$bl" lab --demo ${lab_args[@]+"${lab_args[@]}"}
