#!/usr/bin/env bash
# Train the MuJoCo zoo agents still missing from the shipped zoo (docs/zoo.md) in two lanes, one torch
# thread each, checkpointed as they go. Rerun the same command to continue: finished agents are skipped and
# unfinished ones resume.
#   usage: scripts/train_zoo.sh [AGENTS_DIR]   (default $PARADOX_GYM_AGENTS, else $XDG_DATA_HOME/paradox_gym/agents,
#   by default ~/.local/share/paradox_gym/agents)
#   LANES="A" scripts/train_zoo.sh DIR   runs one lane only (default: both)
#   pkill -TERM -f "paradox-gym train"    stops every training at its current step (saved) and the lanes
# An entry ALGO:ENV@SEED trains with that seed into AGENTS_DIR/seed-SEED (a second try beside the first).
# Logs: AGENTS_DIR/logs/<algo>-<env>[-seed-SEED].log. Check a finished agent against its threshold and
# copy it into the shipped zoo as docs/zoo.md says. zoo-training/ in this repository holds the trainings still
# in progress (scripts/train_zoo.sh zoo-training): its checkpoints are small enough to keep between sessions.
set -u
OUT=${1:-${PARADOX_GYM_AGENTS:-${XDG_DATA_HOME:-$HOME/.local/share}/paradox_gym/agents}}
CMD=${PARADOX_GYM_CMD:-paradox-gym}
LANES=${LANES:-A B}
mkdir -p "$OUT/logs"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

lane() {
    for entry in "$@"; do
        pair=${entry%@*}
        algo=${pair%%:*}
        env=${pair#*:}
        name=$(echo "$algo-$env" | tr '[:upper:]' '[:lower:]')
        dir=$OUT seed=0 log=$name
        if [ "$entry" != "$pair" ]; then
            seed=${entry#*@} dir=$OUT/seed-$seed log=$name-seed-$seed
        fi
        if [ -f "$dir/$name.zip" ]; then
            echo "$log: done" >&2
            continue
        fi
        echo "$log: training (log $OUT/logs/$log.log)" >&2
        nice -n 10 $CMD train --algo "$algo" --env "$env" --seed "$seed" --out "$dir" --eval-episodes 10 \
            --no-progress --resume >> "$OUT/logs/$log.log" 2>&1
        status=$?
        if [ $status -eq 130 ] || [ $status -eq 143 ]; then  # Ctrl-C or SIGTERM: checkpointed, lane stops
            echo "$log: stopped at a checkpoint; run this script again to continue" >&2
            return
        fi
        [ $status -eq 0 ] || echo "$log: failed (exit $status), see its log" >&2
    done
}

# Every MuJoCo agent of docs/zoo.md is shipped at its threshold, so both lanes are empty. To train one
# again, name it in a lane (e.g. A) lane SAC:HalfCheetah-v5 & ;;, or SAC:HalfCheetah-v5@1 for a second seed).
for name in $LANES; do
    case $name in
        A) ;;
        B) ;;
        *) echo "unknown lane $name (lanes: A B)" >&2; exit 2 ;;
    esac
done
wait
